"""The plan's policy section: every pack under ``policies/`` run over the phase, as a preview would.

Each pack runs with the settings derived from the phase's own stack file
(:func:`infra.policy.packs.for_config`), never with the committed files of another plan.
The section fails on any mandatory violation, and when a pack cannot run (a policy raised,
a config does not match its schema): a pack that did not run has not passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register
from infra.policy.config import PolicyConfigError
from infra.policy.launch import PolicyPackError, discover_packs
from infra.policy.packs import for_config, run_packs
from infra.policy.runner import PackReport, StackContext
from infra.tagging import PROJECT

TITLE = "Policy verdicts"
COLUMNS = ("pack", "level", "policy", "resource", "message")


def _resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "(stack)"


def _stack_name(run: ProgramRun, default: str) -> str:
    """The stack the run was made for, from its URNs (``urn:pulumi:<stack>::...``)."""
    for resource in run.resources:
        if resource.urn.startswith("urn:pulumi:"):
            return resource.urn.split("::", 1)[0].removeprefix("urn:pulumi:")
    return default


def rows_of(reports: list[PackReport]) -> list[list[Cell]]:
    """Mandatory findings first, then advisory ones, each in the order the packs reported them."""
    diagnostics = [d for report in reports for d in report.mandatory] + [
        d for report in reports for d in report.advisory
    ]
    return [[d.pack, d.enforcement.value, d.policy, _resource_name(d.urn), d.detail] for d in diagnostics]


@dataclass(frozen=True)
class PolicyRun:
    """Every pack's report on one phase's run, and the packs that could not run."""

    reports: tuple[PackReport, ...]
    errors: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...]


_LAST: list[tuple[PhaseConfig, ProgramRun, PolicyRun]] = []
"""The last phase judged, so that the sections after this one (accepted risks) read the same
verdicts instead of running the packs a second time."""


def policy_run(config: PhaseConfig, run: ProgramRun) -> PolicyRun:
    """Each pack run over ``run`` with the settings ``config`` derives (once per config and run)."""
    for seen_config, seen_run, result in _LAST:
        if seen_config is config and seen_run is run:
            return result
    stack = StackContext(project=PROJECT, stack=_stack_name(run, config.environment.phase))
    reports: list[PackReport] = []
    errors: list[tuple[Cell, ...]] = []
    notes: list[str] = []
    for pack_dir in discover_packs():
        try:
            [pack] = for_config(config, f"the {stack.stack} stack file", [pack_dir])
            [report] = run_packs([pack], run.resources, stack)
        except (PolicyPackError, PolicyConfigError) as error:
            errors.append((pack_dir.name, "error", "", "", str(error)))
            notes.append(f"{pack_dir.name}: could not run, so nothing it checks has passed")
            continue
        reports.append(report)
        notes.append(
            f"{report.pack}: {len(report.settings)} policies, {len(report.mandatory)} mandatory and "
            f"{len(report.advisory)} advisory findings over {len(run.resources)} resources; {pack.shown_source}"
        )
    result = PolicyRun(tuple(reports), tuple(errors), tuple(notes))
    _LAST[:] = [(config, run, result)]
    return result


@register
def policy_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """One row per finding; a pack that cannot run is a failed row of its own, not a pass,
    and does not hide what the other packs found."""
    judged = policy_run(config, run)
    reports, errors, notes = list(judged.reports), [list(row) for row in judged.errors], list(judged.notes)
    mandatory = sum(len(r.mandatory) for r in reports)
    return Section(
        title=TITLE,
        columns=COLUMNS,
        rows=errors + rows_of(reports),
        notes=notes,
        failed=mandatory > 0 or bool(errors),
        data={
            "mandatory": mandatory,
            "advisory": sum(len(r.advisory) for r in reports),
            "errors": len(errors),
            "packs": {
                r.pack: {
                    "policies": len(r.settings),
                    "mandatory": [[d.policy, d.urn, d.detail] for d in r.mandatory],
                    "advisory": [[d.policy, d.urn, d.detail] for d in r.advisory],
                }
                for r in reports
            },
        },
    )
