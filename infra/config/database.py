"""``scaleplan:database``: the RDS PostgreSQL primary, its replicas, backups and sizing."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from infra.catalog import DataNodeClass, rds_instance_classes
from infra.catalog.versions import RDS_POSTGRESQL_VERSIONS_FILE, listed, rds_postgresql_majors
from infra.config.base import ConfigModel
from infra.config.capacity import BurstSizing
from infra.config.errors import field_error
from infra.config.network import LOG_RETENTION_DAYS
from infra.config.sizing import DatabaseSizing
from infra.config.windows import (
    DailyWindow,
    WeeklyWindow,
    daily_minutes,
    daily_windows_overlap,
    hour_window,
    windows_overlap,
)
from infra.database.parameters import (
    POSTGRES_FAMILIES,
    ConnectionBudget,
    connection_budget,
    parameter_group_family,
)

# Performance Insights keeps 7 days free, or a whole number of months up to 2 years.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = (7, *(31 * months for months in range(1, 24)), 731)

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")]


class DatabaseLogType(enum.StrEnum):
    """PostgreSQL logs RDS can export to CloudWatch Logs."""

    POSTGRESQL = "postgresql"
    UPGRADE = "upgrade"


class DatabaseConfig(ConfigModel):
    """One PostgreSQL primary (optionally Multi-AZ) and ``read_replica_count`` read replicas.

    Sizing knobs are required; every security and durability knob defaults to the safe value.
    """

    instance_class: str
    """An RDS class from infra/catalog/rds_instance_classes.yaml; replicas use the same class."""
    engine_version: Annotated[str, Field(pattern=r"^\d+(\.\d+)?$")]
    """``16`` (major only: minor upgrades are automatic) or ``16.4``."""
    allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)]
    max_allocated_storage_gib: Annotated[int, Field(ge=20, le=65536)]
    """Storage autoscaling ceiling."""
    multi_az: bool
    """A standby in another zone. ``false`` is refused unless the phase names the risk
    ``single_az_database`` under ``scaleplan:accepted_risks`` (infra/config/risks.py)."""
    read_replica_count: Annotated[int, Field(ge=0, le=5)]
    sizing: DatabaseSizing
    """What a request asks of PostgreSQL; the class, replicas and storage are checked against
    the phase's peak with it (infra/data_tier_capacity.py)."""

    burst_sizing: BurstSizing = BurstSizing.BASELINE
    """``unlimited``: a db.t4g class (always in unlimited mode on RDS) counts at its full vCPUs
    at the peak, and the daily average above its credit baseline is priced as surplus credits
    (``usage.rds_surplus_credit_vcpu_hours_per_month``). Only for burstable classes."""

    backup_retention_days: Annotated[int, Field(ge=7, le=35)] = 7
    """Automated backups, i.e. point-in-time recovery, kept this long."""
    backup_window: DailyWindow = "03:00-04:00"
    maintenance_window: WeeklyWindow = "sun:04:30-sun:05:30"
    snapshot_retention_days: Annotated[int, Field(ge=7, le=36500)] = 30
    """Daily AWS Backup snapshots into a CMK-encrypted vault, kept this long."""
    snapshot_start_hour_utc: Annotated[int, Field(ge=0, le=23)] = 6
    """AWS Backup starts the daily snapshot within the hour after this; it must stay clear of
    the RDS backup and maintenance windows, where AWS Backup jobs for RDS fail or wait."""

    database_name: Identifier = "app"
    master_username: Identifier = "app_admin"
    """Replaces the instance if changed; the password is managed by RDS in Secrets Manager."""
    allow_major_version_upgrade: bool = False
    monitoring_interval_seconds: Literal[1, 5, 10, 15, 30, 60] = 60
    performance_insights_retention_days: int = 7
    log_exports: tuple[DatabaseLogType, ...] = (DatabaseLogType.POSTGRESQL, DatabaseLogType.UPGRADE)
    log_retention_days: int = 30
    slow_query_log_ms: Annotated[int, Field(ge=0, le=3_600_000)] | None = 500
    """``log_min_duration_statement``: statements running at least this long are written to the
    ``postgresql`` log (exported to CloudWatch Logs), with their duration; ``0`` logs every
    statement, ``null`` turns slow-query logging off. 500 ms is half the seeds' p95 warning."""

    @model_validator(mode="after")
    def _known_class_and_version(self) -> DatabaseConfig:
        catalog = rds_instance_classes()
        if self.instance_class not in catalog:
            raise field_error(
                "instance_class",
                f"unknown RDS instance class {self.instance_class!r}; allowed: {', '.join(sorted(catalog))}",
            )
        if self.burst_sizing is BurstSizing.UNLIMITED and not catalog[self.instance_class].burstable:
            raise field_error(
                "burst_sizing",
                f"unlimited applies to burstable (db.t4g) classes only, and {self.instance_class} is not one; "
                "remove burst_sizing or pick a db.t4g class (got unlimited)",
            )
        if parameter_group_family(self.engine_version) is None:
            majors = ", ".join(str(major) for major in sorted(POSTGRES_FAMILIES))
            raise field_error(
                "engine_version",
                f"PostgreSQL {self.engine_version!r} has no known parameter group family; "
                f"allowed major versions: {majors}",
            )
        return self

    @model_validator(mode="after")
    def _version_and_class_in_catalog(self) -> DatabaseConfig:
        # The dated version catalog: the major must be one RDS offers, on this instance class.
        majors = rds_postgresql_majors()
        major = majors.get(self.major_version)
        if major is None:
            raise field_error(
                "engine_version",
                f"RDS for PostgreSQL {self.major_version} is not in the version catalog "
                f"({RDS_POSTGRESQL_VERSIONS_FILE}); allowed major versions: "
                f"{', '.join(str(known) for known in sorted(majors))} (got {self.engine_version!r})",
            )
        if self.instance_class in rds_instance_classes() and self.instance_class not in major.classes:
            raise field_error(
                "instance_class",
                f"the catalog lists no RDS for PostgreSQL {major.major} on {self.instance_class}; allowed: "
                f"{listed(major.classes)} (got {self.instance_class!r})",
            )
        return self

    @model_validator(mode="after")
    def _storage_autoscales(self) -> DatabaseConfig:
        # RDS requires the ceiling to be at least 10% above the allocated storage.
        floor = -(-self.allocated_storage_gib * 11 // 10)
        if self.max_allocated_storage_gib < floor:
            raise field_error(
                "max_allocated_storage_gib",
                f"must be at least 10% above allocated_storage_gib {self.allocated_storage_gib}, "
                f"i.e. >= {floor} (got {self.max_allocated_storage_gib})",
            )
        return self

    @model_validator(mode="after")
    def _windows(self) -> DatabaseConfig:
        if daily_minutes(self.backup_window) < 30:
            raise field_error("backup_window", f"must be at least 30 minutes long (got {self.backup_window!r})")
        if windows_overlap(self.backup_window, self.maintenance_window):
            raise field_error(
                "maintenance_window",
                f"must not overlap backup_window {self.backup_window!r} (got {self.maintenance_window!r})",
            )
        snapshot = hour_window(self.snapshot_start_hour_utc)
        if daily_windows_overlap(snapshot, self.backup_window) or windows_overlap(snapshot, self.maintenance_window):
            raise field_error(
                "snapshot_start_hour_utc",
                f"the AWS Backup start window {snapshot} must not overlap backup_window {self.backup_window!r} "
                f"or maintenance_window {self.maintenance_window!r} (got {self.snapshot_start_hour_utc})",
            )
        return self

    @model_validator(mode="after")
    def _retention_values(self) -> DatabaseConfig:
        if self.performance_insights_retention_days not in PERFORMANCE_INSIGHTS_RETENTION_DAYS:
            raise field_error(
                "performance_insights_retention_days",
                f"must be 7, a multiple of 31 up to 713, or 731 (got {self.performance_insights_retention_days})",
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise field_error(
                "log_retention_days",
                f"must be a CloudWatch Logs retention period, one of {', '.join(map(str, LOG_RETENTION_DAYS))} "
                f"(got {self.log_retention_days})",
            )
        if len(set(self.log_exports)) != len(self.log_exports):
            raise field_error("log_exports", "lists a log type twice")
        if self.slow_query_log_ms is not None and DatabaseLogType.POSTGRESQL not in self.log_exports:
            raise field_error(
                "log_exports",
                "must include postgresql while slow_query_log_ms is set: slow queries are written to that log, "
                "and without the export nobody outside the instance reads them "
                f"(got {[t.value for t in self.log_exports]})",
            )
        return self

    @property
    def instance(self) -> DataNodeClass:
        """The catalog entry of ``instance_class`` (vCPUs, memory)."""
        return rds_instance_classes()[self.instance_class]

    @property
    def peak_vcpus(self) -> float:
        """vCPUs of one server the CPU check counts at the peak: a burstable class at its credit
        baseline, or at its full vCPUs under ``burst_sizing: unlimited`` (the surplus is priced)."""
        spec = self.instance
        return float(spec.vcpus) if self.burst_sizing is BurstSizing.UNLIMITED else spec.sustained_vcpus

    @property
    def major_version(self) -> int:
        """``16`` for ``engine_version`` ``16`` or ``16.4``."""
        return int(self.engine_version.split(".")[0])

    @property
    def parameter_group_family(self) -> str:
        family = parameter_group_family(self.engine_version)
        assert family is not None  # checked by _known_class_and_version
        return family

    def connection_budget(self) -> ConnectionBudget:
        """``max_connections`` of this class and the reserve no pool may use (for PgBouncer)."""
        return connection_budget(self.instance.memory_gib)
