"""The plan's policy section: every pack under ``policies/`` run over the phase, as a preview would.

Each pack runs with its ``policies/<pack>/config/<phase>.json`` (see :mod:`infra.policy.packs`).
The section fails on any mandatory violation, and when a pack cannot run (a policy raised,
a config does not match its schema): a pack that did not run has not passed.
"""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register
from infra.policy.config import PolicyConfigError
from infra.policy.packs import for_phase, run_packs
from infra.policy.runner import PackReport, PolicyPackError, StackContext
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


@register
def policy_section(config: PhaseConfig, run: ProgramRun) -> Section:
    phase = config.environment.phase.value
    runs = for_phase(phase)
    try:
        reports = run_packs(runs, run.resources, StackContext(project=PROJECT, stack=_stack_name(run, phase)))
    except (PolicyPackError, PolicyConfigError) as error:
        return Section(
            title=TITLE,
            columns=("problem",),
            rows=[[str(error)]],
            notes=["a policy pack could not run, so nothing it checks has passed"],
            failed=True,
            data={"error": str(error)},
        )
    mandatory = sum(len(r.mandatory) for r in reports)
    advisory = sum(len(r.advisory) for r in reports)
    notes = [
        f"{r.pack}: {len(r.settings)} policies, {len(r.mandatory)} mandatory and {len(r.advisory)} advisory "
        f"findings over {len(run.resources)} resources; config "
        f"{run_.config_file.relative_to(run_.pack_dir.parent.parent) if run_.config_file else 'pack defaults'}"
        for r, run_ in zip(reports, runs, strict=True)
    ]
    return Section(
        title=TITLE,
        columns=COLUMNS,
        rows=rows_of(reports),
        notes=notes,
        failed=mandatory > 0,
        data={
            "mandatory": mandatory,
            "advisory": advisory,
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
