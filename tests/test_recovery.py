"""Recovery objectives (issue 12): each phase declares RPO and RTO, the config is refused when the
data tier it builds cannot meet them, and the stack outputs and the plan state them."""

from __future__ import annotations

from typing import Any

import pytest

from infra.observability.plan_section import operations_section
from infra.observability.recovery import PITR_LOG_UPLOAD_MINUTES, RESTORE_MINUTES, assess_recovery
from tests.conftest import PHASES, built_phase, phase_config
from tests.test_config_rejections import changed, rejection


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_declares_the_seed_objectives_and_meets_them(phase: str) -> None:
    config = phase_config(phase)
    recovery = config.operations.recovery
    # seeds 000/001: RPO 1 h, RTO 4 h
    assert (recovery.rpo_minutes, recovery.rto_minutes) == (60, 240)
    assert not recovery.survives_region_loss
    assessment = assess_recovery(recovery, config.database)
    assert assessment.problems == ()
    assert assessment.achievable_rpo_minutes <= recovery.rpo_minutes
    assert assessment.restore_estimate_minutes <= recovery.rto_minutes


@pytest.mark.parametrize("phase", PHASES)
def test_stack_outputs_and_plan_state_the_objectives(phase: str) -> None:
    run = built_phase(phase)
    assert run.stack_outputs["recovery_objectives"] == {
        "rpo_minutes": 60,
        "rto_minutes": 240,
        "achievable_rpo_minutes": PITR_LOG_UPLOAD_MINUTES,
        "restore_estimate_minutes": RESTORE_MINUTES,
        "covers_region_loss": False,
    }
    section = operations_section(phase_config(phase), run)
    assert not section.failed, section.notes
    assert (section.data["rpo_minutes"], section.data["rto_minutes"]) == (60, 240)
    assert (
        "recovery objectives: RPO 60 min (point-in-time recovery to 5 min ago, over 7 days), RTO 240 min "
        "(restore planned at 60 min); region loss not covered"
    ) in section.notes


CASES: list[tuple[str, str, Any, str]] = [
    (
        # FlowForge (seed 003) asks for RPO 1 min: nothing here keeps a copy that close.
        "rpo_below_log_shipping",
        "operations.recovery.rpo_minutes",
        1,
        "scaleplan:operations.recovery.rpo_minutes: must be at least 5: point-in-time recovery restores to at most "
        "5 minutes ago (RDS uploads transaction logs every 5 minutes), and nothing else this program builds keeps a "
        "closer copy (got 1)",
    ),
    (
        "rto_below_a_restore",
        "operations.recovery.rto_minutes",
        15,
        "scaleplan:operations.recovery.rto_minutes: must be at least 60: a restore creates a new instance and swaps "
        "names, planned at 60 minutes (docs/runbooks/restore.md) (got 15)",
    ),
    (
        "region_loss_without_a_copy",
        "operations.recovery.survives_region_loss",
        True,
        "scaleplan:operations.recovery.survives_region_loss: must be false: no backup leaves the region (set "
        "operations.recovery.disaster_recovery to copy them to a second region), so nothing can be restored after "
        "losing it (got true)",
    ),
    (
        "rpo_beyond_a_week",
        "operations.recovery.rpo_minutes",
        20000,
        "scaleplan:operations.recovery.rpo_minutes: must be <= 10080 (got 20000)",
    ),
    (
        "rpo_zero",
        "operations.recovery.rpo_minutes",
        0,
        "scaleplan:operations.recovery.rpo_minutes: must be >= 1 (got 0)",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_rejects_objectives_the_build_cannot_meet(path: str, value: Any, expected: str) -> None:
    assert rejection(changed(path, value)) == [f"Pulumi.growth.yaml: {expected}"]
