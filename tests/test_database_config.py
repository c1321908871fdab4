"""``scaleplan:database`` values that cannot describe a safe database, each refused with one exact line.

Every case starts from the real growth stack file and changes one database key.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import yaml

from infra.config import PhaseConfigError
from infra.config.loader import parse_phase_config
from tests.conftest import PHASES, phase_config, stack_file

SOURCE = "Pulumi.test.yaml"


@functools.cache
def _growth() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(stack_file("growth").read_text())["config"]
    return config


def with_database(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(_growth())
    config["scaleplan:database"].update(changes)
    return config


def rejection(**changes: Any) -> list[str]:
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(with_database(**changes), SOURCE)
    return list(error.value.problems)


def test_growth_database_block_is_valid() -> None:
    config = parse_phase_config(with_database(), SOURCE)
    assert config.database.instance_class == "db.t4g.large"


def test_rejects_backup_retention_below_seven_days() -> None:
    assert rejection(backup_retention_days=3) == ["scaleplan:database.backup_retention_days: must be >= 7 (got 3)"]


def test_rejects_backup_retention_above_what_rds_keeps() -> None:
    assert rejection(backup_retention_days=90) == ["scaleplan:database.backup_retention_days: must be <= 35 (got 90)"]


def test_rejects_class_outside_the_catalog() -> None:
    assert rejection(instance_class="db.r5.large") == [
        "scaleplan:database.instance_class: unknown RDS instance class 'db.r5.large'; allowed: db.m6g.large, "
        "db.m6g.xlarge, db.m7g.2xlarge, db.m7g.large, db.m7g.xlarge, db.r6g.large, db.r6g.xlarge, "
        "db.r7g.2xlarge, db.r7g.large, db.r7g.xlarge, db.t4g.large, db.t4g.medium, db.t4g.micro, db.t4g.small"
    ]


def test_rejects_engine_version_with_no_family() -> None:
    assert rejection(engine_version="11.22") == [
        "scaleplan:database.engine_version: PostgreSQL '11.22' has no known parameter group family; "
        "allowed major versions: 13, 14, 15, 16, 17"
    ]


def test_rejects_engine_version_that_is_not_a_version() -> None:
    assert rejection(engine_version="latest") == [
        r"scaleplan:database.engine_version: must match the pattern ^\d+(\.\d+)?$ (got 'latest')"
    ]


def test_rejects_single_az_unless_the_risk_is_accepted() -> None:
    assert rejection(multi_az=False, read_replica_count=2) == [
        "scaleplan:database.multi_az: false runs the PostgreSQL primary in one zone (a zone outage stops writes "
        "until a restore), a risk this phase has not accepted; set multi_az: true, or accept it in the open with "
        "the reason under scaleplan:accepted_risks.single_az_database (got false)"
    ]


def test_accepts_single_az_when_the_file_accepts_the_risk() -> None:
    values = with_database(multi_az=False)
    values["scaleplan:accepted_risks"] = {"single_az_database": "a restore from backup is an accepted outage"}
    config = parse_phase_config(values, SOURCE)
    assert config.database.multi_az is False


def test_require_multi_az_is_gone_for_accepted_risks() -> None:
    # The old switch is refused by name, so a file that still sets it learns of the change.
    [problem] = rejection(require_multi_az=False)
    assert problem.startswith("scaleplan:database.require_multi_az: unknown key; allowed keys here: ")
    assert "multi_az," in problem


def test_rejects_too_many_replicas() -> None:
    assert rejection(read_replica_count=6) == ["scaleplan:database.read_replica_count: must be <= 5 (got 6)"]


def test_rejects_storage_ceiling_too_close_to_allocation() -> None:
    assert rejection(allocated_storage_gib=100, max_allocated_storage_gib=105) == [
        "scaleplan:database.max_allocated_storage_gib: must be at least 10% above allocated_storage_gib 100, "
        "i.e. >= 110 (got 105)"
    ]


def test_rejects_storage_below_the_gp3_minimum() -> None:
    assert rejection(allocated_storage_gib=10) == ["scaleplan:database.allocated_storage_gib: must be >= 20 (got 10)"]


def test_rejects_short_backup_window() -> None:
    assert rejection(backup_window="03:00-03:15") == [
        "scaleplan:database.backup_window: must be at least 30 minutes long (got '03:00-03:15')"
    ]


def test_rejects_maintenance_window_overlapping_backups() -> None:
    assert rejection(maintenance_window="sun:03:30-sun:04:30") == [
        "scaleplan:database.maintenance_window: must not overlap backup_window '03:00-04:00' "
        "(got 'sun:03:30-sun:04:30')"
    ]


def test_rejects_maintenance_window_overlapping_a_window_past_midnight() -> None:
    assert rejection(backup_window="23:30-00:30", maintenance_window="mon:00:00-mon:01:00") == [
        "scaleplan:database.maintenance_window: must not overlap backup_window '23:30-00:30' "
        "(got 'mon:00:00-mon:01:00')"
    ]


def test_rejects_aws_backup_start_inside_the_rds_backup_window() -> None:
    assert rejection(snapshot_start_hour_utc=3) == [
        "scaleplan:database.snapshot_start_hour_utc: the AWS Backup start window 03:00-04:00 must not overlap "
        "backup_window '03:00-04:00' or maintenance_window 'sun:04:30-sun:05:30' (got 3)"
    ]


def test_rejects_aws_backup_start_inside_the_maintenance_window() -> None:
    assert rejection(snapshot_start_hour_utc=5) == [
        "scaleplan:database.snapshot_start_hour_utc: the AWS Backup start window 05:00-06:00 must not overlap "
        "backup_window '03:00-04:00' or maintenance_window 'sun:04:30-sun:05:30' (got 5)"
    ]


def test_rejects_snapshot_retention_below_a_week() -> None:
    assert rejection(snapshot_retention_days=5) == ["scaleplan:database.snapshot_retention_days: must be >= 7 (got 5)"]


def test_rejects_performance_insights_retention_aws_does_not_offer() -> None:
    assert rejection(performance_insights_retention_days=30) == [
        "scaleplan:database.performance_insights_retention_days: must be 7, a multiple of 31 up to 713, or 731 (got 30)"
    ]


def test_rejects_monitoring_interval_aws_does_not_offer() -> None:
    assert rejection(monitoring_interval_seconds=0) == [
        "scaleplan:database.monitoring_interval_seconds: must be 1, 5, 10, 15, 30 or 60 (got 0)"
    ]


def test_rejects_unknown_key() -> None:
    (line,) = rejection(storage_gb=100)
    assert line.startswith("scaleplan:database.storage_gb: unknown key; allowed keys here: allocated_storage_gib, ")


def test_rejects_missing_sizing_knob() -> None:
    config = with_database()
    del config["scaleplan:database"]["read_replica_count"]
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(config, SOURCE)
    assert error.value.problems == ("scaleplan:database.read_replica_count: required, but missing from the stack file",)


def test_error_lines_name_the_file() -> None:
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(with_database(backup_retention_days=3), "Pulumi.growth.yaml")
    assert str(error.value) == "Pulumi.growth.yaml: scaleplan:database.backup_retention_days: must be >= 7 (got 3)"


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_keeps_the_safe_defaults(phase: str) -> None:
    database = phase_config(phase).database
    assert database.multi_az
    assert not phase_config(phase).accepted_risks
    assert database.backup_retention_days >= 7
    assert database.snapshot_retention_days == 30
    assert database.engine_version == "16"


def test_every_phase_logs_slow_queries_to_the_exported_postgresql_log() -> None:
    from infra.config.database import DatabaseLogType
    from tests.conftest import PHASES, phase_config

    for phase in PHASES:
        database = phase_config(phase).database
        assert database.slow_query_log_ms == 500, phase
        assert DatabaseLogType.POSTGRESQL in database.log_exports, phase


def test_rejects_slow_query_logging_without_the_postgresql_export() -> None:
    from tests.test_config_rejections import changed, rejection

    assert rejection(changed("database.log_exports", ["upgrade"])) == [
        "Pulumi.growth.yaml: scaleplan:database.log_exports: must include postgresql while slow_query_log_ms is set: "
        "slow queries are written to that log, and without the export nobody outside the instance reads them "
        "(got ['upgrade'])"
    ]
