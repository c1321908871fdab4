"""The plan's "Accepted risks" section: the secure defaults this phase relaxes, in the open.

Each risk the stack file declares under ``scaleplan:accepted_risks``, with the reason the team
gave, the security rules its declaration waives (:data:`infra.policy.settings.WAIVERS`) and
what those rules found on this phase: the pack still reports each waived finding, as advisory,
and this section lists them, so that a reader sees what was accepted and where.
"""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register
from infra.policy.runner import Diagnostic

TITLE = "Accepted risks"
COLUMNS = ("risk", "reason", "rules waived", "waived findings")


def _resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "(stack)"


@register
def accepted_risks_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """One row per accepted risk; no rows (and no pack run) when the phase accepts none."""
    # Imported here: the policy modules import this package's section registry.
    from infra.policy.section import policy_run  # noqa: PLC0415
    from infra.policy.settings import waived_policies  # noqa: PLC0415

    if not config.accepted_risks:
        return Section(
            title=TITLE,
            columns=COLUMNS,
            notes=["none: this phase relaxes no secure default (scaleplan:accepted_risks is empty)"],
            data={"accepted": 0, "risks": {}},
        )
    waived = waived_policies(config)
    findings: list[Diagnostic] = [
        diagnostic
        for report in policy_run(config, run).reports
        for diagnostic in report.advisory
        if diagnostic.policy in waived
    ]
    rows: list[list[Cell]] = []
    risks: dict[str, object] = {}
    for risk, reason in sorted(config.accepted_risks.items()):
        policies = sorted(policy for policy, waiving in waived.items() if waiving is risk)
        found = [d for d in findings if waived[d.policy] is risk]
        shown = [f"{d.policy} on {_resource_name(d.urn)}" for d in found]
        rows.append([risk.value, reason, ", ".join(policies), "; ".join(shown) or "none"])
        risks[risk.value] = {
            "reason": reason,
            "waives": policies,
            "waived": [[d.policy, _resource_name(d.urn), d.detail] for d in found],
        }
    return Section(
        title=TITLE,
        columns=COLUMNS,
        rows=rows,
        notes=[
            f"{len(rows)} secure defaults relaxed, each declared with its reason under scaleplan:accepted_risks; "
            f"the security pack reports what each waived rule found as advisory ({len(findings)} findings)"
        ],
        data={"accepted": len(rows), "waived_findings": len(findings), "risks": risks},
    )
