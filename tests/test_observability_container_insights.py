"""Container Insights rows of the alarm table (infra/observability/alarms.py): the hottest EKS
node's CPU, memory and disk and each watched namespace's pods against their limits. Pure
definitions, no mocks; no phase runs Container Insights yet (docs/operations.md says why), so
the phase-wide dashboard tests do not cover these rows and the dashboard check is repeated here."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.errors import PhaseConfigError
from infra.observability.alarms import AlarmDefinition, Level, Watched, alarm_definitions
from infra.observability.dashboard import dashboard_body
from infra.observability.metrics import CONTAINER_INSIGHTS_SOURCE, KNOWN_METRICS, metric_problem
from tests.test_observability_alarms import ops

CLUSTER = "ftw-prod"

# The seeds' levels (002: memory > 75% warning / > 90% critical, disk > 95% critical; CPU 80/90).
LEVELS = {
    "node_memory_percent": {"warning": 75, "critical": 90},
    "node_disk_percent": {"critical": 95},
    "pod_cpu_percent": {"warning": 80, "critical": 90},
    "pod_memory_percent": {"warning": 75, "critical": 90},
}


def ci_alarms(**overrides: object) -> dict[str, AlarmDefinition]:
    watched = Watched(load_balancer=False, container_insights_cluster=CLUSTER, pod_namespaces=["app", "pgbouncer"])
    return {a.key: a for a in alarm_definitions(ops(**{**LEVELS, **overrides}), watched)}


def test_without_container_insights_no_node_or_pod_rows_exist() -> None:
    # The levels alone raise nothing: an absent part emits no rows (a phase without EKS, or
    # an EKS phase that does not run Container Insights).
    watched = Watched(load_balancer=False, node_groups=["general"], pod_namespaces=["app"])
    keys = {a.key for a in alarm_definitions(ops(**LEVELS), watched)}
    assert keys == {"nodes-general-cpu-warning", "nodes-general-cpu-critical"}


def test_cluster_and_namespaces_get_every_configured_level() -> None:
    assert set(ci_alarms()) == {
        "cluster-nodes-cpu-warning",
        "cluster-nodes-cpu-critical",
        "cluster-nodes-memory-warning",
        "cluster-nodes-memory-critical",
        "cluster-nodes-disk-critical",
        *(f"pods-{ns}-{signal}-{level}" for ns in ("app", "pgbouncer") for signal in ("cpu", "memory")
          for level in ("warning", "critical")),
    }  # fmt: skip


def test_node_alarms_take_the_worst_node_of_the_cluster() -> None:
    alarms = ci_alarms()
    for key, metric, level, threshold in [
        ("cluster-nodes-memory-critical", "node_memory_utilization", Level.CRITICAL, 90),
        ("cluster-nodes-memory-warning", "node_memory_utilization", Level.WARNING, 75),
        ("cluster-nodes-disk-critical", "node_filesystem_utilization", Level.CRITICAL, 95),
        ("cluster-nodes-cpu-critical", "node_cpu_utilization", Level.CRITICAL, 90),
    ]:
        alarm = alarms[key]
        (query,) = alarm.metrics
        assert (query.namespace, query.metric_name, query.stat) == ("ContainerInsights", metric, "Maximum"), key
        assert query.dimensions == {"ClusterName": CLUSTER}
        assert (alarm.level, alarm.comparison, alarm.threshold) == (level, "GreaterThanThreshold", threshold)
        # Silence is the agent or the nodes gone: INSUFFICIENT_DATA, never a quiet OK.
        assert alarm.treat_missing_data == "missing", key


def test_pod_alarms_compare_the_worst_pod_of_each_namespace_with_its_limit() -> None:
    alarm = ci_alarms()["pods-app-memory-critical"]
    (query,) = alarm.metrics
    assert query.metric_name == "pod_memory_utilization_over_pod_limit"
    assert query.stat == "Maximum"
    assert query.dimensions == {"Namespace": "app", "ClusterName": CLUSTER}
    assert (alarm.comparison, alarm.threshold) == ("GreaterThanThreshold", 90)
    # A namespace without running pods publishes nothing: not breaching.
    assert alarm.treat_missing_data == "notBreaching"
    cpu = ci_alarms()["pods-pgbouncer-cpu-warning"]
    assert cpu.metrics[0].metric_name == "pod_cpu_utilization_over_pod_limit"
    assert cpu.threshold == 80


def test_a_signal_left_out_raises_no_row() -> None:
    alarms = ci_alarms(node_disk_percent=None, pod_cpu_percent=None)
    assert not [key for key in alarms if "-disk-" in key or key.startswith(("pods-app-cpu", "pods-pgbouncer-cpu"))]
    assert "cluster-nodes-memory-critical" in alarms
    assert "pods-app-memory-critical" in alarms


def test_every_container_insights_query_is_published_with_its_dimensions() -> None:
    for alarm in ci_alarms().values():
        for query in alarm.metrics:
            assert metric_problem(query.namespace, query.metric_name, frozenset(query.dimensions)) is None
    # Per-node dimension sets exist too, but a pod metric is never published per node.
    assert metric_problem(
        "ContainerInsights", "pod_memory_utilization_over_pod_limit", frozenset({"ClusterName", "NodeName"})
    )
    assert metric_problem("ContainerInsights", "node_memory_utilization", frozenset({"Namespace", "ClusterName"}))
    assert all(m.source == CONTAINER_INSIGHTS_SOURCE for m in KNOWN_METRICS["ContainerInsights"].values())


def test_dashboard_draws_every_container_insights_alarm_with_known_metrics() -> None:
    definitions = list(ci_alarms().values())
    arns = {d.key: f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:ftw-prod-{d.key}" for d in definitions}
    body: dict[str, Any] = dashboard_body(definitions, region="us-east-1", refs={}, alarm_arns=arns)
    shown = [arn for w in body["widgets"] if w["type"] == "alarm" for arn in w["properties"]["alarms"]]
    assert sorted(shown) == sorted(arns.values())
    drawn: dict[str, float] = {}
    for widget in body["widgets"]:
        if widget["type"] != "metric":
            continue
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], str):
                namespace, metric, *rest = row
                pairs = rest[:-1]
                assert metric_problem(namespace, metric, frozenset(pairs[::2])) is None, row
        for line in widget["properties"]["annotations"]["horizontal"]:
            drawn[line["label"].split(":")[0]] = line["value"]
    assert drawn == {d.key: d.threshold for d in definitions}


@pytest.mark.parametrize("key", ["node_memory_percent", "node_disk_percent", "pod_cpu_percent", "pod_memory_percent"])
def test_rejects_a_container_insights_level_out_of_range(key: str) -> None:
    with pytest.raises((PhaseConfigError, ValueError)):
        ops(**{key: {"critical": 100}})


def test_component_creates_the_container_insights_alarms_on_the_given_cluster() -> None:
    from tests.test_observability_component import run_operations

    run = run_operations(
        config=ops(node_memory_percent={"warning": 75, "critical": 90}, node_disk_percent={"critical": 95}),
        load_balancer_arn_suffix=None,
        auto_scaling_group_names={},
        database_replica_identifiers={},
        cache_node_ids={},
        container_insights_cluster=CLUSTER,
        pod_namespaces=["app"],
    )
    alarms = {a.name: a.inputs for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    disk = alarms["operations-cluster-nodes-disk-critical"]
    assert (disk["namespace"], disk["metricName"], disk["statistic"]) == (
        "ContainerInsights",
        "node_filesystem_utilization",
        "Maximum",
    )
    assert disk["dimensions"] == {"ClusterName": CLUSTER}
    assert (disk["comparisonOperator"], disk["threshold"], disk["treatMissingData"]) == (
        "GreaterThanThreshold",
        95,
        "missing",
    )
    assert disk["tags"]["severity"] == "critical"
    assert alarms["operations-cluster-nodes-memory-warning"]["threshold"] == 75
    # No pod levels configured: no pod alarms, though the namespace is watched.
    assert not [name for name in alarms if name.startswith("operations-pods-")]
