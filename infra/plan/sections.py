"""What the offline plan reports, as a list of section builders.

Each concern that has something to tell a reviewer (resources, capacity, compute, data tier,
cost, policy verdicts) contributes one builder: a pure function of the validated config and
the mocked run that returns a :class:`Section`. The renderers (terminal table, Markdown,
JSON) know nothing about any concern.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun

Cell = str | int | float | bool | None


@dataclass(frozen=True)
class Section:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]] = ()
    notes: Sequence[str] = ()
    """Free-text lines shown under the table (totals, explanations)."""
    failed: bool = False
    """True when the section found a blocking problem (a mandatory policy violation, a
    capacity shortfall); the plan command then exits non-zero."""
    data: dict[str, object] = field(default_factory=dict)
    """Machine-readable figures for the JSON format (totals, ratios). Top-level scalar values
    are the section's headline figures: ``plan all`` compares them across phases, so keep
    them few and put detail in nested lists or dicts."""


SectionBuilder = Callable[[PhaseConfig, ProgramRun], Section]

SECTIONS: list[SectionBuilder] = []
"""Builders in report order, filled by :func:`register` as the modules below are imported."""

SECTION_MODULES: tuple[str, ...] = (
    "infra.plan.resources_section",
    "infra.plan.capacity_section",
    "infra.compute.plan_section",
    "infra.compute.traffic_section",
    "infra.database.plan_section",
    "infra.edge.plan_section",
    "infra.observability.plan_section",
    "infra.cost.section",
    "infra.policy.section",
    "infra.plan.risks_section",
    "infra.plan.support_section",
    "infra.plan.outputs_section",
    "infra.plan.readiness_section",
)
"""Modules that register a builder, in report order. Each concern adds its module here with
one line. Named, not imported, because every builder module imports :class:`Section` from
this one; :func:`section_builders` imports them when a report is made."""


def register(builder: SectionBuilder) -> SectionBuilder:
    """Decorator for a concern's builder: ``@register`` above ``def cost_section(config, run)``."""
    if builder not in SECTIONS:
        SECTIONS.append(builder)
    return builder


def section_builders() -> tuple[SectionBuilder, ...]:
    """Every registered builder, in the order of :data:`SECTION_MODULES`."""
    for module in SECTION_MODULES:
        importlib.import_module(module)
    order = {module: index for index, module in enumerate(SECTION_MODULES)}
    return tuple(sorted(SECTIONS, key=lambda builder: order.get(builder.__module__, len(order))))
