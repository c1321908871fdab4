"""Pure alarm, topic-policy and budget-notification logic of infra/observability, without mocks."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.config.budget import BudgetConfig
from infra.config.operations import OperationsConfig
from infra.observability.alarms import (
    BYTES_PER_GIB,
    AlarmDefinition,
    DatabaseInstance,
    Level,
    Ref,
    Watched,
    alarm_definitions,
    cache_node_ids,
    connections_threshold,
    free_storage_threshold_bytes,
)
from infra.observability.metrics import metric_problem
from infra.observability.policies import budget_notifications, environment_cost_filter, topic_policy


def ops(**overrides: object) -> OperationsConfig:
    """The seed's levels (000/001), with ``overrides`` as a stack file would state them."""
    values: dict[str, object] = {
        "error_rate_percent": {"warning": 2, "critical": 5},
        "response_time_p95_seconds": {"warning": 1, "critical": 2},
        "cpu_percent": {"warning": 80, "critical": 90},
        "database_connections_percent": {"critical": 95},
        "database_storage_used_percent": {"warning": 80},
        "cache_hit_rate_percent": {"warning": 70},
        "replica_lag_seconds": {"warning": 30, "critical": 300},
        "alert_topics": {"critical": {}, "warning": {}},
        "recovery": {"rpo_minutes": 60, "rto_minutes": 240},
        **overrides,
    }
    return OperationsConfig.model_validate_json(json.dumps(values), strict=True)


PRIMARY = DatabaseInstance(key="primary", identifier="ftw-prod-postgres", is_replica=False)
REPLICA = DatabaseInstance(key="replica-1", identifier="ftw-prod-postgres-replica-1", is_replica=True)


def by_key(watched: Watched, config: OperationsConfig | None = None) -> dict[str, AlarmDefinition]:
    return {alarm.key: alarm for alarm in alarm_definitions(config or ops(), watched)}


# --- cache node IDs and derived thresholds ------------------------------------------------


def test_cache_node_ids_in_cluster_mode_are_shard_and_node_numbered() -> None:
    assert cache_node_ids("ftw-prod-cache", cluster_mode=True, shards=2, replicas_per_shard=1) == {
        "0001-001": "ftw-prod-cache-0001-001",
        "0001-002": "ftw-prod-cache-0001-002",
        "0002-001": "ftw-prod-cache-0002-001",
        "0002-002": "ftw-prod-cache-0002-002",
    }


def test_cache_node_ids_without_cluster_mode_ignore_shards() -> None:
    assert cache_node_ids("ftw-prod-cache", cluster_mode=False, shards=3, replicas_per_shard=2) == {
        "001": "ftw-prod-cache-001",
        "002": "ftw-prod-cache-002",
        "003": "ftw-prod-cache-003",
    }


def test_connections_threshold_is_the_percent_of_max_connections() -> None:
    assert connections_threshold(95, 128) == 121.6
    assert connections_threshold(95, 64) == 60.8
    assert connections_threshold(80, 409) == 327.2


def test_free_storage_threshold_is_the_unused_rest_of_the_allocation() -> None:
    assert free_storage_threshold_bytes(80, 100) == 20 * BYTES_PER_GIB
    assert free_storage_threshold_bytes(90, 50) == 5 * BYTES_PER_GIB


# --- which alarms exist ---------------------------------------------------------------------


def test_nothing_watched_raises_no_alarms() -> None:
    assert alarm_definitions(ops(), Watched(load_balancer=False)) == ()


def test_load_balancer_alone_gets_error_rate_and_p95_at_both_levels() -> None:
    assert set(by_key(Watched(load_balancer=True))) == {
        "alb-error-rate-warning",
        "alb-error-rate-critical",
        "alb-p95-warning",
        "alb-p95-critical",
    }


def test_a_level_left_out_raises_no_alarm_at_that_level() -> None:
    alarms = by_key(Watched(load_balancer=True), ops(error_rate_percent={"critical": 5}))
    assert "alb-error-rate-warning" not in alarms
    assert "alb-error-rate-critical" in alarms


def test_each_auto_scaling_group_gets_cpu_alarms() -> None:
    alarms = alarm_definitions(ops(), Watched(load_balancer=False, auto_scaling_groups=["blue", "green"]))
    assert [a.key for a in alarms] == [
        "app-blue-cpu-warning",
        "app-blue-cpu-critical",
        "app-green-cpu-warning",
        "app-green-cpu-critical",
    ]
    assert alarms[0].metrics[0].dimensions == {"AutoScalingGroupName": Ref("asg:blue")}
    assert alarms[0].metrics[0].namespace == "AWS/EC2"


def test_primary_gets_cpu_connections_and_storage_but_no_lag() -> None:
    watched = Watched(
        load_balancer=False,
        database_instances=[PRIMARY],
        database_max_connections=128,
        database_allocated_storage_gib=100,
    )
    assert set(by_key(watched)) == {
        "postgres-primary-cpu-warning",
        "postgres-primary-cpu-critical",
        "postgres-primary-connections-critical",
        "postgres-primary-storage-warning",
    }


def test_replicas_also_get_lag_alarms() -> None:
    watched = Watched(
        load_balancer=False,
        database_instances=[PRIMARY, REPLICA],
        database_max_connections=128,
        database_allocated_storage_gib=100,
    )
    alarms = by_key(watched)
    assert {key for key in alarms if "lag" in key} == {
        "postgres-replica-1-lag-warning",
        "postgres-replica-1-lag-critical",
    }
    lag = alarms["postgres-replica-1-lag-critical"]
    assert lag.threshold == 300
    assert lag.metrics[0].dimensions == {"DBInstanceIdentifier": "ftw-prod-postgres-replica-1"}
    # A replica being created reports no lag yet: that must not page.
    assert lag.treat_missing_data == "notBreaching"


def test_each_cache_node_gets_hit_rate_and_engine_cpu() -> None:
    nodes = cache_node_ids("ftw-prod-cache", cluster_mode=True, shards=1, replicas_per_shard=1)
    alarms = by_key(Watched(load_balancer=False, cache_nodes=nodes))
    assert set(alarms) == {
        "cache-0001-001-hit-rate-warning",
        "cache-0001-001-engine-cpu-warning",
        "cache-0001-001-engine-cpu-critical",
        "cache-0001-002-hit-rate-warning",
        "cache-0001-002-engine-cpu-warning",
        "cache-0001-002-engine-cpu-critical",
    }


def test_repeated_keys_are_refused() -> None:
    watched = Watched(
        load_balancer=False,
        database_instances=[PRIMARY, PRIMARY],
        database_max_connections=64,
        database_allocated_storage_gib=50,
    )
    with pytest.raises(ValueError, match="alarm keys must be unique; repeated: postgres-primary-connections-critical"):
        alarm_definitions(ops(), watched)


def test_database_alarms_refuse_missing_sizes() -> None:
    watched = Watched(load_balancer=False, database_instances=[PRIMARY], database_max_connections=128)
    with pytest.raises(
        ValueError,
        match=r"database_memory_gib above 0 \(got 128, 0 and 0\)",
    ):
        alarm_definitions(ops(), watched)


# --- what each alarm compares ---------------------------------------------------------------


def test_error_rate_is_target_5xx_over_requests_and_quiet_when_idle() -> None:
    alarm = by_key(Watched(load_balancer=True))["alb-error-rate-critical"]
    assert alarm.expression == "100 * FILL(errors, 0) / requests"
    assert [(m.id, m.metric_name, m.stat) for m in alarm.metrics] == [
        ("errors", "HTTPCode_Target_5XX_Count", "Sum"),
        ("requests", "RequestCount", "Sum"),
    ]
    assert all(m.dimensions == {"LoadBalancer": Ref("load_balancer")} for m in alarm.metrics)
    assert (alarm.comparison, alarm.threshold) == ("GreaterThanThreshold", 5)
    assert alarm.treat_missing_data == "notBreaching"


def test_p95_uses_the_percentile_of_target_response_time() -> None:
    alarm = by_key(Watched(load_balancer=True))["alb-p95-warning"]
    (metric,) = alarm.metrics
    assert (metric.metric_name, metric.stat) == ("TargetResponseTime", "p95")
    assert alarm.expression is None
    assert alarm.threshold == 1


def test_connections_and_storage_thresholds_come_from_the_instance() -> None:
    watched = Watched(
        load_balancer=False,
        database_instances=[PRIMARY],
        database_max_connections=256,
        database_allocated_storage_gib=200,
    )
    alarms = by_key(watched)
    connections = alarms["postgres-primary-connections-critical"]
    assert connections.threshold == 243.2  # 95% of 256
    assert connections.metrics[0].metric_name == "DatabaseConnections"
    storage = alarms["postgres-primary-storage-warning"]
    assert storage.comparison == "LessThanThreshold"
    assert storage.threshold == 40 * BYTES_PER_GIB  # 20% of 200 GiB free
    assert storage.metrics[0].metric_name == "FreeStorageSpace"
    assert storage.shown_threshold == "> 80%"


def test_hit_rate_falls_below_and_ignores_idle_minutes() -> None:
    nodes = {"001": "ftw-prod-cache-001"}
    alarm = by_key(Watched(load_balancer=False, cache_nodes=nodes), ops(cache_min_lookups_per_minute=250))[
        "cache-001-hit-rate-warning"
    ]
    assert alarm.comparison == "LessThanThreshold"
    assert alarm.threshold == 70
    assert alarm.expression == "IF(hits + misses >= 250, 100 * hits / (hits + misses))"
    assert alarm.treat_missing_data == "notBreaching"
    assert alarm.describe() == "warning: cache node ftw-prod-cache-001 hit rate < 70% for 5 min"


def test_host_metrics_keep_their_state_when_data_stops() -> None:
    watched = Watched(
        load_balancer=False,
        auto_scaling_groups=["blue"],
        database_instances=[PRIMARY],
        database_max_connections=128,
        database_allocated_storage_gib=100,
        cache_nodes={"001": "ftw-prod-cache-001"},
    )
    choices = {a.key: a.treat_missing_data for a in alarm_definitions(ops(), watched)}
    assert {choices[k] for k in choices if "cpu" in k or "connections" in k or "storage" in k} == {"missing"}


def test_evaluation_minutes_apply_to_every_alarm() -> None:
    watched = Watched(
        load_balancer=True, database_instances=[PRIMARY], database_max_connections=64, database_allocated_storage_gib=50
    )
    alarms = alarm_definitions(ops(evaluation_minutes=3), watched)
    assert {(a.evaluation_periods, a.period_seconds) for a in alarms} == {(3, 60)}


@given(
    warning=st.floats(min_value=0.5, max_value=98, allow_nan=False),
    gap=st.floats(min_value=0.5, max_value=50, allow_nan=False),
)
def test_warning_always_fires_before_critical(warning: float, gap: float) -> None:
    critical = min(warning + gap, 99.5)
    config = ops(cpu_percent={"warning": warning, "critical": critical})
    alarms = by_key(Watched(load_balancer=False, auto_scaling_groups=["blue"]), config)
    low, high = alarms["app-blue-cpu-warning"], alarms["app-blue-cpu-critical"]
    assert low.level is Level.WARNING
    assert high.level is Level.CRITICAL
    assert low.threshold < high.threshold


# --- topic policy and budget notifications --------------------------------------------------


def test_topic_policy_lets_only_this_accounts_alarms_and_budgets_publish() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:ftw-prod-alerts"
    statements = {s["Sid"]: s for s in json.loads(topic_policy(topic, "123456789012", "us-east-1"))["Statement"]}
    assert set(statements) == {"AccountManages", "CloudWatchAlarmsPublish", "BudgetsPublish", "DenyInsecureTransport"}
    alarms = statements["CloudWatchAlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == "sns:Publish"
    assert alarms["Resource"] == topic
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:*"},
    }
    budgets = statements["BudgetsPublish"]
    assert budgets["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert budgets["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:budgets::123456789012:*"},
    }
    deny = statements["DenyInsecureTransport"]
    assert (deny["Effect"], deny["Principal"], deny["Condition"]) == (
        "Deny",
        "*",
        {"Bool": {"aws:SecureTransport": "false"}},
    )
    assert all(s["Resource"] == topic for s in statements.values())


def test_budget_notifies_each_actual_threshold_once_in_order_then_the_forecast() -> None:
    budget = BudgetConfig(monthly_usd=2100, alert_thresholds_percent=(100, 50, 80, 50))
    notes = budget_notifications(budget, ops(budget_forecast_percent=90))
    assert [(n.notification_type, n.threshold_percent) for n in notes] == [
        ("ACTUAL", 50),
        ("ACTUAL", 80),
        ("ACTUAL", 100),
        ("FORECASTED", 90),
    ]


def test_environment_cost_filter_names_the_user_tag() -> None:
    assert environment_cost_filter("ftw-prod") == "user:environment$ftw-prod"


# --- the signals of issue 12: memory, disk critical, ALB 5xx, p99, targets, evictions ------------

SEED_002 = {
    "database_memory_used_percent": {"warning": 75, "critical": 90},
    "database_storage_used_percent": {"warning": 80, "critical": 95},
    "load_balancer_error_rate_percent": {"warning": 2, "critical": 5},
    "response_time_p99_seconds": {"critical": 4},
    "unhealthy_targets": {"warning": 0},
    "healthy_targets": {"critical": 1},
    "cache_memory_percent": {"warning": 90},
    "cache_evictions_per_minute": {"warning": 1000},
}


def test_database_memory_alarms_compare_freeable_memory_with_the_class_memory() -> None:
    watched = Watched(
        load_balancer=False,
        database_instances=[PRIMARY, REPLICA],
        database_max_connections=128,
        database_allocated_storage_gib=100,
        database_memory_gib=4,
    )
    alarms = {a.key: a for a in alarm_definitions(ops(**SEED_002), watched)}
    critical = alarms["postgres-primary-memory-critical"]
    assert critical.metrics[0].metric_name == "FreeableMemory"
    assert critical.metrics[0].stat == "Minimum"
    assert critical.comparison == "LessThanThreshold"
    # 90% of 4 GiB used is less than 0.4 GiB freeable.
    assert critical.threshold == math.floor(4 * 1024**3 * 0.1)
    assert alarms["postgres-replica-1-memory-warning"].threshold == 1024**3
    assert critical.treat_missing_data == "missing"
    assert alarms["postgres-primary-storage-critical"].threshold == math.floor(100 * 1024**3 * 0.05)


def test_database_memory_alarms_refuse_an_unknown_class_memory() -> None:
    watched = Watched(
        load_balancer=False,
        database_instances=[PRIMARY],
        database_max_connections=128,
        database_allocated_storage_gib=100,
    )
    with pytest.raises(ValueError, match=r"database_memory_gib above 0"):
        alarm_definitions(ops(**SEED_002), watched)


def test_load_balancer_5xx_counts_what_the_alb_answered_itself_over_all_responses() -> None:
    alarms = {a.key: a for a in alarm_definitions(ops(**SEED_002), Watched(load_balancer=True))}
    elb = alarms["alb-elb-5xx-critical"]
    assert [(m.metric_name, m.stat) for m in elb.metrics] == [
        ("HTTPCode_ELB_5XX_Count", "Sum"),
        ("RequestCount", "Sum"),
    ]
    assert elb.metrics[0].dimensions == {"LoadBalancer": Ref("load_balancer")}
    # RequestCount leaves out requests answered before a target was chosen: add them back.
    assert elb.expression is not None
    assert "(FILL(requests, 0) + FILL(elb, 0))" in elb.expression
    assert elb.threshold == 5
    assert elb.treat_missing_data == "notBreaching"
    p99 = alarms["alb-p99-critical"]
    assert (p99.metrics[0].metric_name, p99.metrics[0].stat, p99.threshold) == ("TargetResponseTime", "p99", 4)
    assert "alb-p99-warning" not in alarms


def test_target_groups_alarm_on_unhealthy_targets_and_live_ones_on_no_healthy_target() -> None:
    watched = Watched(load_balancer=True, target_groups={"blue": True, "green": False})
    alarms = {a.key: a for a in alarm_definitions(ops(**SEED_002), watched)}
    assert {key for key in alarms if key.startswith("tg-")} == {
        "tg-blue-unhealthy-warning",
        "tg-green-unhealthy-warning",
        "tg-blue-healthy-critical",  # green carries no traffic: it may have no target at all
    }
    healthy = alarms["tg-blue-healthy-critical"]
    assert healthy.metrics[0].metric_name == "HealthyHostCount"
    assert healthy.metrics[0].dimensions == {
        "TargetGroup": Ref("target_group:blue"),
        "LoadBalancer": Ref("load_balancer"),
    }
    assert (healthy.comparison, healthy.threshold) == ("LessThanThreshold", 1)
    unhealthy = alarms["tg-green-unhealthy-warning"]
    assert (unhealthy.metrics[0].metric_name, unhealthy.comparison, unhealthy.threshold) == (
        "UnHealthyHostCount",
        "GreaterThanThreshold",
        0,
    )


def test_cache_nodes_alarm_on_memory_and_evictions() -> None:
    nodes = cache_node_ids("ftw-prod-cache", cluster_mode=True, shards=1, replicas_per_shard=0)
    alarms = {a.key: a for a in alarm_definitions(ops(**SEED_002), Watched(load_balancer=False, cache_nodes=nodes))}
    memory = alarms["cache-0001-001-memory-warning"]
    assert (memory.metrics[0].metric_name, memory.metrics[0].stat, memory.threshold) == (
        "DatabaseMemoryUsagePercentage",
        "Maximum",
        90,
    )
    assert memory.treat_missing_data == "missing"
    evictions = alarms["cache-0001-001-evictions-warning"]
    assert (evictions.metrics[0].metric_name, evictions.metrics[0].stat, evictions.threshold) == (
        "Evictions",
        "Sum",
        1000,
    )
    assert evictions.metrics[0].dimensions == {"CacheClusterId": "ftw-prod-cache-0001-001"}


def test_every_alarm_query_is_a_metric_cloudwatch_publishes_with_those_dimensions() -> None:
    watched = Watched(
        load_balancer=True,
        auto_scaling_groups=["blue"],
        target_groups={"blue": True, "green": False},
        database_instances=[PRIMARY, REPLICA],
        database_max_connections=128,
        database_allocated_storage_gib=100,
        database_memory_gib=8,
        cache_nodes=cache_node_ids("c", cluster_mode=True, shards=2, replicas_per_shard=1),
    )
    for alarm in alarm_definitions(ops(**SEED_002), watched):
        for query in alarm.metrics:
            assert metric_problem(query.namespace, query.metric_name, frozenset(query.dimensions)) is None, alarm.key


def test_metric_table_names_what_cloudwatch_does_not_publish() -> None:
    assert metric_problem("AWS/ApplicationELB", "HealthyHostCount", frozenset({"LoadBalancer"})) == (
        "AWS/ApplicationELB HealthyHostCount is not published with dimensions {LoadBalancer} "
        "(published with {LoadBalancer, TargetGroup}; "
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html)"
    )
    assert metric_problem("AWS/RDS", "FreeMemory", frozenset({"DBInstanceIdentifier"})) is not None
    assert metric_problem("AWS/Nope", "CPUUtilization", frozenset()) is not None
