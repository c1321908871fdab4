"""The CloudWatch dashboard of every phase: built from the alarm table, so every alarm appears
on it, and every metric it draws is one CloudWatch publishes in that namespace with those
dimensions (infra/observability/metrics.py, with the AWS pages it comes from)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.observability.dashboard import MAX_ALARMS_PER_STATUS_WIDGET
from infra.observability.metrics import metric_problem
from tests.conftest import PHASES, built_phase, phase_config
from tests.test_observability_phases import ALARM, children

DEPLOYMENT = "kubernetes:apps/v1:Deployment"

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"


def body(phase: str) -> dict[str, Any]:
    (dashboard,) = children(built_phase(phase), DASHBOARD)
    parsed: dict[str, Any] = json.loads(dashboard.inputs["dashboardBody"])
    return parsed


@pytest.mark.parametrize("phase", PHASES)
def test_every_alarm_is_on_the_status_panel_of_its_severity(phase: str) -> None:
    run = built_phase(phase)
    alarms = children(run, ALARM)
    status = [w for w in body(phase)["widgets"] if w["type"] == "alarm"]
    shown: dict[str, list[str]] = {}
    for widget in status:
        level = widget["properties"]["title"].split()[0]
        assert len(widget["properties"]["alarms"]) <= MAX_ALARMS_PER_STATUS_WIDGET
        shown.setdefault(level, []).extend(widget["properties"]["alarms"])
    for level in ("critical", "warning"):
        expected = sorted(a.outputs["arn"] for a in alarms if a.inputs["tags"]["severity"] == level)
        assert sorted(shown[level]) == expected


@pytest.mark.parametrize("phase", PHASES)
def test_every_alarm_threshold_is_drawn_on_its_graph(phase: str) -> None:
    alarms = {a.name.removeprefix("operations-"): a for a in children(built_phase(phase), ALARM)}
    drawn: dict[str, float] = {}
    for widget in body(phase)["widgets"]:
        if widget["type"] != "metric":
            continue
        for line in widget["properties"]["annotations"]["horizontal"]:
            drawn[line["label"].split(":")[0]] = line["value"]
    assert set(drawn) == set(alarms)
    for key, alarm in alarms.items():
        assert drawn[key] == alarm.inputs["threshold"], key


def _metric_rows(widget: dict[str, Any]) -> list[list[Any]]:
    return [row for row in widget["properties"]["metrics"] if isinstance(row[0], str)]


@pytest.mark.parametrize("phase", PHASES)
def test_every_drawn_metric_exists_in_its_namespace_with_those_dimensions(phase: str) -> None:
    run = built_phase(phase)
    graphs = [w for w in body(phase)["widgets"] if w["type"] == "metric"]
    assert graphs
    known_values = {
        *(r.outputs.get("arnSuffix") for r in run.of_type("aws:lb/loadBalancer:LoadBalancer")),
        *(r.outputs.get("arnSuffix") for r in run.of_type("aws:lb/targetGroup:TargetGroup")),
        *(r.inputs.get("identifier") for r in run.of_type("aws:rds/instance:Instance")),
        *(g.outputs.get("name") for g in run.of_type("aws:autoscaling/group:Group")),
        *(
            g.outputs["resources"][0]["autoscalingGroups"][0]["name"]
            for g in run.of_type("aws:eks/nodeGroup:NodeGroup")
        ),
        # Container Insights: the cluster by name, pods by the namespace they run in.
        *(c.inputs.get("name") for c in run.of_type("aws:eks/cluster:Cluster")),
        *(n.inputs["metadata"]["name"] for n in run.of_type("kubernetes:core/v1:Namespace")),
        # PgBouncer's pool metrics: the pool roles and the database they serve (the cluster is above).
        *(d.inputs["metadata"]["labels"]["app.kubernetes.io/component"] for d in run.of_type(DEPLOYMENT)),
        phase_config(phase).database.database_name,
    }
    (group,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    for widget in graphs:
        assert widget["properties"]["region"] == "us-east-1"
        assert widget["x"] + widget["width"] <= 24
        for row in _metric_rows(widget):
            namespace, metric, *rest = row
            pairs, options = rest[:-1], rest[-1]
            dimensions = dict(zip(pairs[::2], pairs[1::2], strict=True))
            assert metric_problem(namespace, metric, frozenset(dimensions)) is None, (
                widget["properties"]["title"],
                row,
            )
            for name, value in dimensions.items():
                if name == "CacheClusterId":
                    assert value.startswith(f"{group.inputs['replicationGroupId']}-")
                else:
                    assert value in known_values, (name, value)
            assert options["stat"] in {"Sum", "Average", "Maximum", "Minimum"} or options["stat"].startswith("p")


def test_a_misspelt_metric_is_caught_by_the_table() -> None:
    # The check above is not vacuous: a name CloudWatch does not publish fails it.
    assert metric_problem("AWS/ElastiCache", "Evicted", frozenset({"CacheClusterId"})) is not None
    assert metric_problem("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", frozenset({"TargetGroup", "LoadBalancer"}))


def test_dashboard_is_named_for_the_environment_and_exported() -> None:
    run = built_phase("growth")
    (dashboard,) = children(run, DASHBOARD)
    assert dashboard.inputs["dashboardName"] == "ftw-prod-operations"
    assert run.stack_outputs["dashboard_name"] == "ftw-prod-operations"
