"""Recovery objectives: what the data tier a phase builds can recover, against the RPO and RTO
the phase declares. Pure functions, no Pulumi.

The model, stated once so every figure can be checked by hand:

- Recovery point. RDS point-in-time recovery (on in every phase: ``backup_retention_days`` is
  at least 7) restores to any second up to the latest restorable time, which trails the
  present by about 5 minutes because RDS uploads the transaction logs every 5 minutes
  (Amazon RDS User Guide, "Restoring a DB instance to a specified time"). A loss that takes
  the instance with it (or an operator error found late) cannot be recovered closer than
  that, so no RPO below :data:`PITR_LOG_UPLOAD_MINUTES` is met. The Multi-AZ standby is
  synchronous and loses nothing on a host or AZ failure, but it replicates mistakes too.
- Recovery time. A restore always creates a new instance (docs/runbooks/restore.md), then
  the names are swapped. AWS publishes no restore-time figure: it grows with the transaction
  log to replay and the volume size. :data:`RESTORE_MINUTES` is this program's planning
  figure, to be replaced by what a restore drill measures.
- Region loss. Without ``operations.recovery.disaster_recovery`` nothing leaves the region, so
  an objective that must survive the loss of the region is refused. With it, AWS Backup copies
  each daily snapshot to a vault in the DR region and RDS replicates the automated backups
  there. AWS publishes no lag for replicated automated backups, so only the daily copy is
  credited: after a region loss the newest copy can be :data:`DR_COPY_INTERVAL_MINUTES` old,
  and a region-loss objective needs an RPO at least that long. The RTO check is the same
  database restore (in the DR region); rebuilding the rest of the stack there is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.database import DatabaseConfig
from infra.config.operations import RecoveryConfig

PITR_LOG_UPLOAD_MINUTES = 5
"""RDS uploads transaction logs for point-in-time recovery every 5 minutes."""
RESTORE_MINUTES = 60
"""Planning figure for a point-in-time restore to a new instance plus the name swap (not measured here)."""
DR_COPY_INTERVAL_MINUTES = 24 * 60
"""The backup plan's rule runs daily (``cron(0 H ? * * *)``) and copies each snapshot to the DR vault."""


@dataclass(frozen=True)
class RecoveryAssessment:
    rpo_minutes: int
    rto_minutes: int
    achievable_rpo_minutes: int
    restore_estimate_minutes: int
    covers_region_loss: bool
    region_loss_rpo_minutes: int | None
    """Age of the newest copy outside the region at worst; None when nothing leaves the region."""
    dr_region: str | None
    pitr_window_days: int
    """How far back point-in-time recovery reaches (``backup_retention_days``)."""
    problems: tuple[tuple[str, str], ...]
    """``(key path under scaleplan:, message)`` for each objective the build cannot meet."""

    def summary(self) -> str:
        region = "region loss covered" if self.covers_region_loss else "region loss not covered"
        if self.dr_region is not None:
            region += f" (daily copy to {self.dr_region}: up to {self.region_loss_rpo_minutes} min lost)"
        return (
            f"RPO {self.rpo_minutes} min (point-in-time recovery to {self.achievable_rpo_minutes} min ago, "
            f"over {self.pitr_window_days} days), "
            f"RTO {self.rto_minutes} min (restore planned at {self.restore_estimate_minutes} min); {region}"
        )


def assess_recovery(recovery: RecoveryConfig, database: DatabaseConfig) -> RecoveryAssessment:
    """What the phase's data tier can recover, and which declared objective it cannot meet."""
    problems: list[tuple[str, str]] = []
    if recovery.rpo_minutes < PITR_LOG_UPLOAD_MINUTES:
        problems.append(
            (
                "operations.recovery.rpo_minutes",
                f"must be at least {PITR_LOG_UPLOAD_MINUTES}: point-in-time recovery restores to at most "
                f"{PITR_LOG_UPLOAD_MINUTES} minutes ago (RDS uploads transaction logs every "
                f"{PITR_LOG_UPLOAD_MINUTES} minutes), and nothing else this program builds keeps a closer copy "
                f"(got {recovery.rpo_minutes})",
            )
        )
    if recovery.rto_minutes < RESTORE_MINUTES:
        problems.append(
            (
                "operations.recovery.rto_minutes",
                f"must be at least {RESTORE_MINUTES}: a restore creates a new instance and swaps names, "
                f"planned at {RESTORE_MINUTES} minutes (docs/runbooks/restore.md) (got {recovery.rto_minutes})",
            )
        )
    dr = recovery.disaster_recovery
    if recovery.survives_region_loss and dr is None:
        problems.append(
            (
                "operations.recovery.survives_region_loss",
                "must be false: no backup leaves the region (set operations.recovery.disaster_recovery to copy "
                "them to a second region), so nothing can be restored after losing it (got true)",
            )
        )
    elif recovery.survives_region_loss and recovery.rpo_minutes < DR_COPY_INTERVAL_MINUTES:
        problems.append(
            (
                "operations.recovery.rpo_minutes",
                f"must be at least {DR_COPY_INTERVAL_MINUTES} when survives_region_loss is true: the backup plan "
                f"copies a snapshot to the DR region once a day, so a region loss can lose up to "
                f"{DR_COPY_INTERVAL_MINUTES} minutes (got {recovery.rpo_minutes})",
            )
        )
    return RecoveryAssessment(
        rpo_minutes=recovery.rpo_minutes,
        rto_minutes=recovery.rto_minutes,
        achievable_rpo_minutes=PITR_LOG_UPLOAD_MINUTES,
        restore_estimate_minutes=RESTORE_MINUTES,
        covers_region_loss=recovery.survives_region_loss and not problems,
        region_loss_rpo_minutes=DR_COPY_INTERVAL_MINUTES if dr is not None else None,
        dr_region=dr.region if dr is not None else None,
        pitr_window_days=database.backup_retention_days,
        problems=tuple(problems),
    )
