"""What the offline plan reports, as a list of section builders.

Each concern that has something to tell a reviewer (resources, capacity, compute, data tier,
cost, policy verdicts) contributes one builder: a pure function of the validated config and
the mocked run that returns a :class:`Section`. The renderers (terminal table, Markdown,
JSON) know nothing about any concern.
"""

from __future__ import annotations

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
    """Machine-readable figures for the JSON format (totals, ratios)."""


SectionBuilder = Callable[[PhaseConfig, ProgramRun], Section]

SECTIONS: list[SectionBuilder] = []
"""Builders in report order. Each concern registers its builder here with one line."""
