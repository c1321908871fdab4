"""The plan's version-support section: how long each pinned version stays in standard support."""

from __future__ import annotations

from datetime import date

from infra.catalog.support import WARN_WITHIN_DAYS, SupportLevel, run_date, support_statuses
from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register


def support_section(config: PhaseConfig, today: date) -> Section:
    """Every pinned version with its end of standard support, judged on ``today``.

    Fails (the plan exits 1) when a version is already out of standard support; a version
    leaving it within the warning window is listed as a warning and does not fail the plan.
    """
    statuses = support_statuses(config, today)
    rows: list[list[Cell]] = [
        [
            status.key,
            status.pinned,
            status.end_of_standard_support.isoformat() if status.end_of_standard_support else None,
            status.days_left,
            status.level.value,
            status.message,
        ]
        for status in statuses
    ]
    warnings = [status for status in statuses if status.level is SupportLevel.WARNING]
    failures = [status for status in statuses if status.level is SupportLevel.ERROR]
    notes = [
        f"judged on {today.isoformat()} (--today or SCALEPLAN_TODAY to change); a version is a warning "
        f"{WARN_WITHIN_DAYS} days before it leaves standard support, an error once it has left it",
        *(f"warning: {status.key}: {status.pinned} {status.message}" for status in warnings),
        *(f"error: {status.key}: {status.pinned} {status.message}" for status in failures),
    ]
    return Section(
        title="Version support",
        columns=("key", "pinned", "standard support ends", "days left", "status", "note"),
        rows=rows,
        notes=notes,
        failed=bool(failures),
        data={
            "version_warnings": len(warnings),
            "version_errors": len(failures),
            "judged": {"on": today.isoformat(), "warn_within_days": WARN_WITHIN_DAYS},
        },
    )


@register
def version_support_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """The registered builder: judged on :func:`run_date`."""
    del run  # the section reads the stack file's pins, not the resources
    return support_section(config, run_date())
