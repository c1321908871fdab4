"""Every phase estimated and itemised; the foundation phase checked by hand, line by line."""

from __future__ import annotations

import math

import pytest

from infra.cost.catalog import price_catalog
from infra.cost.estimate import ACCOUNT
from infra.cost.section import cost_section, phase_estimate
from infra.pgbouncer import metrics
from infra.pgbouncer.ini import PoolRole
from tests.conftest import PHASES, built_phase, phase_config

RATES = price_catalog()


def usd(section: str, item: str) -> float:
    return RATES.rate(section, item).value


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_is_estimated_and_itemised(phase: str) -> None:
    result = phase_estimate(phase_config(phase), built_phase(phase))
    assert result.total_usd > 0
    assert result.total_usd == pytest.approx(sum(line.quantity * line.unit_price_usd for line in result.lines))
    for line in result.lines:
        assert line.source, line
        assert line.as_of, line
        assert line.name == ACCOUNT or line.urn.startswith("urn:pulumi:"), line
    # Every priced resource of the run appears in the estimate by name.
    nat_names = {r.name for r in built_phase(phase).of_type("aws:ec2/natGateway:NatGateway")}
    assert nat_names <= {line.name for line in result.lines}


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_is_within_budget(phase: str) -> None:
    config = phase_config(phase)
    section = cost_section(config, built_phase(phase))
    assert not section.failed, section.notes
    assert section.data["total_usd"] <= config.budget.monthly_usd


def test_foundation_estimate_by_hand() -> None:
    """The foundation phase priced by hand from the catalog: quantity x unit price, one line each.

    When the program gains a resource, this test fails with the names it does not cover:
    price the new lines here by hand too.
    """
    config = phase_config("foundation")
    hours = 730
    days_per_month = 365 / 12
    db, asg, usage = config.database, config.compute.auto_scaling_group, config.usage
    # The figures the quantities below come from, as the stack file states them.
    assert (db.instance_class, db.multi_az, db.allocated_storage_gib, db.read_replica_count) == (
        "db.t4g.medium",
        True,
        50,
        0,
    )
    assert asg is not None
    assert (asg.instance_type, asg.desired_capacity, asg.root_volume_gib) == ("t4g.large", 2, 20)
    assert (config.cache.engine.value, config.cache.node_type, config.cache.shards) == ("valkey", "cache.t4g.small", 1)
    assert config.cache.replicas_per_shard == 1
    assert config.network.nat_strategy.value == "single"
    assert config.edge.zone_plan.value == "free"
    assert (usage.nat_processed_gb_per_month, usage.log_ingestion_gb_per_month, usage.alb_average_lcus) == (53, 9, 0.1)
    assert (usage.r2_storage_gb, usage.aws_backup_storage_gb, usage.s3_storage_gb) == (103, 1, 3)
    assert usage.internet_egress_gb_per_month == 33  # inside the 100 GB free allowance: no egress line

    log_groups = (
        "network-flow-logs",
        "database-postgresql-logs",
        "database-upgrade-logs",
        "cache-slow-log",
        "app-logs",
    )
    ingested_gb = 9 / len(log_groups)  # usage shared evenly; every group keeps 30 days
    per_log_group = ingested_gb * usd("cloudwatch", "logs_ingestion_gb") + ingested_gb * 30 / days_per_month * usd(
        "cloudwatch", "logs_storage_gb_month"
    )
    expected = {
        "keys-logs": 1 * usd("kms", "key_month"),
        "keys-database": 1 * usd("kms", "key_month"),
        "keys-cache": 1 * usd("kms", "key_month"),
        "keys-volumes": 1 * usd("kms", "key_month"),
        "cache-auth-token-secret": 1 * usd("secrets_manager", "secret_month"),
        **dict.fromkeys(
            (f"app-secrets-{key}" for key in ("openai", "twilio", "sendgrid", "stripe", "trueway", "r2")),
            1 * usd("secrets_manager", "secret_month"),
        ),
        "network-nat-us-east-1a-eip": hours * usd("ec2_public_ipv4_hour", "ipv4"),
        "network-nat-us-east-1a": hours * usd("vpc", "nat_gateway_hour") + 53 * usd("vpc", "nat_gateway_gb"),
        "database-primary": (
            hours * usd("rds_postgresql_single_az_hour", "db.t4g.medium") * 2  # Multi-AZ doubles
            + 50 * usd("rds_storage_gb_month_single_az", "gp3") * 2
            + 0 * usd("rds_extra", "backup_storage_gb_month_beyond_free")
        ),
        "database-backup-vault": 1 * usd("aws_backup_gb_month", "rds_snapshot"),
        "cache-replication-group": 2 * hours * usd("elasticache_valkey_node_hour", "cache.t4g.small"),  # 1 x (1 + 1)
        "app-blue": 2 * hours * usd("ec2_on_demand_hour", "t4g.large") + 2 * 20 * usd("ebs_gb_month", "gp3"),
        "app-blue-cpu-high-alarm": usd("cloudwatch", "alarm_standard_month"),
        "app-blue-cpu-low-alarm": usd("cloudwatch", "alarm_standard_month"),
        "app-blue-latency-high-alarm": usd("cloudwatch", "alarm_standard_month"),
        "alb-alb": hours * usd("elb", "alb_hour")
        + 0.1 * hours * usd("elb", "alb_lcu_hour")
        + 3 * hours * usd("ec2_public_ipv4_hour", "ipv4"),  # internet-facing: one IPv4 per AZ
        "alb-access-logs": 3 * usd("storage_gb_month", "s3_standard"),
        # The free plan has no subscription resource (Cloudflare API error 1207) and costs nothing.
        ACCOUNT: math.ceil(103 - 10) * usd("cloudflare_r2", "standard_storage_gb_month"),  # 10 GB free
        # R2 operations (3,042 Class A, 14,467 Class B) are inside the free tier.
        **dict.fromkeys(log_groups, per_log_group),
        # Operations (infra/observability): the alerts topic's key, and each alarm per metric it
        # reads (error and hit rates are metric math over two metrics). Topic, subscription,
        # topic policy and the budget (no actions) are free.
        "keys-alerts": 1 * usd("kms", "key_month"),
        **dict.fromkeys(
            (
                f"operations-{key}"
                for key in (
                    "alb-p95-warning",
                    "alb-p95-critical",
                    "app-blue-cpu-warning",
                    "app-blue-cpu-critical",
                    "postgres-primary-cpu-warning",
                    "postgres-primary-cpu-critical",
                    "postgres-primary-connections-critical",
                    "postgres-primary-storage-warning",
                    "cache-0001-001-engine-cpu-warning",
                    "cache-0001-001-engine-cpu-critical",
                    "cache-0001-002-engine-cpu-warning",
                    "cache-0001-002-engine-cpu-critical",
                    "alb-p99-critical",
                    "tg-instance-blue-healthy-critical",
                    "tg-instance-blue-unhealthy-warning",
                    "tg-instance-green-unhealthy-warning",
                    "postgres-primary-memory-warning",
                    "postgres-primary-memory-critical",
                    "postgres-primary-storage-critical",
                    "cache-0001-001-memory-warning",
                    "cache-0001-001-evictions-warning",
                    "cache-0001-002-memory-warning",
                    "cache-0001-002-evictions-warning",
                )
            ),
            usd("cloudwatch", "alarm_standard_month"),
        ),
        **dict.fromkeys(
            (
                f"operations-{key}"
                for key in (
                    "alb-error-rate-warning",
                    "alb-error-rate-critical",
                    "cache-0001-001-hit-rate-warning",
                    "cache-0001-002-hit-rate-warning",
                    "alb-elb-5xx-warning",  # ALB 5xx over all responses: two metrics
                    "alb-elb-5xx-critical",
                )
            ),
            2 * usd("cloudwatch", "alarm_standard_month"),
        ),
        # The phase's dashboard ($3 a month; the free tier's 3 dashboards of up to 50 metrics
        # are not counted on: this one draws more).
        "operations-dashboard": usd("cloudwatch", "dashboard_month"),
    }

    result = phase_estimate(config, built_phase("foundation"))
    by_name: dict[str, float] = {}
    for line in result.lines:
        by_name[line.name] = by_name.get(line.name, 0.0) + line.monthly_usd
    uncovered = sorted(set(by_name) - set(expected))
    assert not uncovered, f"lines not priced by hand in this test: {uncovered}"
    assert by_name == pytest.approx(expected)
    assert result.total_usd == pytest.approx(sum(expected.values()))


# PgBouncer's pool metrics: 3 gauges under one dimension set for each pool's sidecar config.


@pytest.mark.parametrize("phase", PHASES)
def test_pgbouncer_pool_metrics_are_priced_as_custom_metrics_per_pool(phase: str) -> None:
    config = phase_config(phase)
    lines = [line for line in phase_estimate(config, built_phase(phase)).lines if "EMF metrics" in line.item]
    if config.pgbouncer is None or config.pgbouncer.metrics is None:
        assert lines == []
        return
    roles = [PoolRole.READ_WRITE] + ([PoolRole.READ_ONLY] if config.pgbouncer.read_only_pool is not None else [])
    assert sum(line.quantity for line in lines) == metrics.custom_metric_count(roles)
    assert {line.unit_price_usd for line in lines} == {usd("cloudwatch", "custom_metric_month")}
    assert {line.name for line in lines} == {f"pgbouncer-{role.value}-metrics-config" for role in roles}
