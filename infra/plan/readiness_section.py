"""The plan's last section: what a deployment would still refuse in this stack file."""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.config.placeholders import placeholders
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register


@register
def readiness_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Placeholders left in the file: the plan reads them, ``pulumi preview``/``up`` refuse them.

    Not a failure of the plan: the committed phase files hold placeholders by design, and
    reviewers of an environment's own file see here whether it is ready to deploy.
    """
    found = placeholders(config)
    rows: list[list[Cell]] = [[placeholder.key, placeholder.value, placeholder.reason] for placeholder in found]
    note = (
        f"{len(found)} placeholders: `pulumi preview` and `pulumi up` refuse this file until each holds "
        "this environment's own value (the Cloudflare account and zone IDs too)"
        if found
        else "no placeholders: ready for `pulumi preview`"
    )
    return Section(
        title="Before deploying",
        columns=("key", "placeholder", "why"),
        rows=rows,
        notes=[note],
        data={"placeholders": len(found)},
    )
