"""Operations in every phase built whole under mocks: the alarms follow what the phase runs,
levels and budget equal the phase file, and every notification reaches the encrypted topic."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
import yaml

from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.mocks import ACCOUNT_ID
from infra.tagging import REQUIRED_TAG_KEYS
from tests.conftest import PHASES, built_phase, phase_config, stack_file

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPONENT = "scaleplan:observability:Operations"
GIB = 1024**3


@functools.cache
def phase_file(phase: str) -> dict[str, Any]:
    """The stack file's ``scaleplan:`` values as written, read without the config models."""
    config: dict[str, Any] = yaml.safe_load(stack_file(phase).read_text())["config"]
    return {key.removeprefix("scaleplan:"): value for key, value in config.items()}


def component(run: ProgramRun) -> CapturedResource:
    return run.one(COMPONENT)


def children(run: ProgramRun, type_token: str) -> list[CapturedResource]:
    return [r for r in run.children_of(component(run).urn) if r.type == type_token]


def topic_arns(run: ProgramRun) -> dict[str, str]:
    return {t.inputs["tags"]["severity"]: t.outputs["arn"] for t in children(run, "aws:sns/topic:Topic")}


def alarms(phase: str) -> dict[str, CapturedResource]:
    """People-facing alarms by key (logical name without the component's prefix)."""
    return {a.name.removeprefix("operations-"): a for a in children(built_phase(phase), ALARM)}


def levels(values: dict[str, Any]) -> list[tuple[str, float]]:
    return [(level, values[level]) for level in ("warning", "critical") if level in values]


def container_insights_keys(file: dict[str, Any], cpu: list[str]) -> set[str]:
    """With Container Insights installed: the cluster's hottest node, and the pods of the
    application's and PgBouncer's namespaces against their limits."""
    eks = file.get("eks") or {}
    if not (eks.get("charts") or {}).get("container_insights"):
        return set()
    ops = file["operations"]
    keys = {f"cluster-nodes-cpu-{lvl}" for lvl in cpu}
    keys |= {f"cluster-nodes-memory-{lvl}" for lvl, _ in levels(ops.get("node_memory_percent", {}))}
    keys |= {f"cluster-nodes-disk-{lvl}" for lvl, _ in levels(ops.get("node_disk_percent", {}))}
    namespaces = [eks["application"]["namespace"]]
    if "pgbouncer" in file:
        namespaces.append(file["pgbouncer"].get("namespace", "pgbouncer"))
    for namespace in namespaces:
        keys |= {f"pods-{namespace}-cpu-{lvl}" for lvl, _ in levels(ops.get("pod_cpu_percent", {}))}
        keys |= {f"pods-{namespace}-memory-{lvl}" for lvl, _ in levels(ops.get("pod_memory_percent", {}))}
    return keys


def expected_keys(phase: str) -> set[str]:
    """Alarm keys the phase file implies, derived here from the file's own words."""
    file = phase_file(phase)
    ops = file["operations"]
    keys = {f"alb-error-rate-{lvl}" for lvl, _ in levels(ops["error_rate_percent"])}
    keys |= {f"alb-p95-{lvl}" for lvl, _ in levels(ops["response_time_p95_seconds"])}
    keys |= {f"alb-p99-{lvl}" for lvl, _ in levels(ops.get("response_time_p99_seconds", {}))}
    keys |= {f"alb-elb-5xx-{lvl}" for lvl, _ in levels(ops.get("load_balancer_error_rate_percent", {}))}
    weights = file["load_balancer"]["weights"]
    # Instance target groups for the Auto Scaling group, ip ones for pods (both while moving).
    target_types = (["instance"] if file["compute"].get("auto_scaling_group") else []) + (
        ["ip"] if file["compute"].get("node_pools") else []
    )
    backend = file["load_balancer"].get("backend_weights") or {}
    shares = {"instance": backend.get("auto_scaling_group", 100), "ip": backend.get("node_pools", 100)}
    for target_type in target_types:
        for slot, weight in weights.items():
            group = f"{target_type}-{slot}"
            keys |= {f"tg-{group}-unhealthy-{lvl}" for lvl, _ in levels(ops.get("unhealthy_targets", {}))}
            if weight * shares[target_type] > 0:
                keys |= {f"tg-{group}-healthy-{lvl}" for lvl, _ in levels(ops.get("healthy_targets", {}))}
    cpu = [lvl for lvl, _ in levels(ops["cpu_percent"])]
    group = file["compute"].get("auto_scaling_group")
    for slot in group["container"]["images"] if group else ():
        keys |= {f"app-{slot}-cpu-{lvl}" for lvl in cpu}
    for pool in file["compute"].get("node_pools") or {}:
        keys |= {f"nodes-{pool}-cpu-{lvl}" for lvl in cpu}
    database = file["database"]
    instances = ["primary", *(f"replica-{n}" for n in range(1, database["read_replica_count"] + 1))]
    for instance in instances:
        keys |= {f"postgres-{instance}-cpu-{lvl}" for lvl in cpu}
        keys |= {f"postgres-{instance}-connections-{lvl}" for lvl, _ in levels(ops["database_connections_percent"])}
        keys |= {f"postgres-{instance}-storage-{lvl}" for lvl, _ in levels(ops["database_storage_used_percent"])}
        keys |= {f"postgres-{instance}-memory-{lvl}" for lvl, _ in levels(ops.get("database_memory_used_percent", {}))}
        if instance != "primary":
            keys |= {f"postgres-{instance}-lag-{lvl}" for lvl, _ in levels(ops["replica_lag_seconds"])}
    cache = file["cache"]
    assert cache["cluster_mode"] == "enabled"  # every phase file; node keys below are cluster-mode keys
    for shard in range(1, cache["shards"] + 1):
        for node in range(1, cache["replicas_per_shard"] + 2):
            node_key = f"{shard:04d}-{node:03d}"
            keys |= {f"cache-{node_key}-hit-rate-{lvl}" for lvl, _ in levels(ops["cache_hit_rate_percent"])}
            keys |= {f"cache-{node_key}-engine-cpu-{lvl}" for lvl in cpu}
            keys |= {f"cache-{node_key}-memory-{lvl}" for lvl, _ in levels(ops.get("cache_memory_percent", {}))}
            keys |= {
                f"cache-{node_key}-evictions-{lvl}" for lvl, _ in levels(ops.get("cache_evictions_per_minute", {}))
            }
    keys |= container_insights_keys(file, cpu)
    return keys | pgbouncer_keys(file)


def pgbouncer_keys(file: dict[str, Any]) -> set[str]:
    """PgBouncer's pool alarms, where the phase publishes pool metrics."""
    ops = file["operations"]
    pgbouncer = file.get("pgbouncer") or {}
    if not pgbouncer.get("metrics"):
        return set()
    # A read-only pool exists where the database has replicas to serve it.
    replicas = file["database"]["read_replica_count"]
    roles = ["rw"] + (["ro"] if pgbouncer.get("read_only_pool") and replicas else [])
    return {
        f"pgbouncer-{role}-{signal}-{lvl}"
        for role in roles
        for signal, row in (
            ("clients-waiting", "pgbouncer_clients_waiting_minutes"),
            ("max-wait", "pgbouncer_max_wait_seconds"),
            ("utilisation", "pgbouncer_pool_utilisation_percent"),
        )
        for lvl, _ in levels(ops.get(row, {}))
    }


@pytest.mark.parametrize(
    ("phase", "count"),
    # ALB 7 (target and ALB 5xx x 2, p95 x 2, p99) + target groups 3 (unhealthy blue and green,
    # no healthy blue); primary 7 (CPU 2, connections, storage 2, memory 2); replica 9 (+ lag 2);
    # cache node 5 (hit rate, engine CPU 2, memory, evictions); Auto Scaling group or EKS node
    # pool 2 each (CPU)
    # foundation: 10 + group 2 + primary 7 + 2 nodes x 5
    # growth: 10 + pools 2 x 2 + primary 7 + 2 nodes x 5 (EKS runs the app: no group)
    # scale: 10 + pools 2 x 2 + primary 7 + 1 replica x 9 + 4 nodes x 5
    # optimize: 10 + pools 2 x 2 + primary 7 + 2 replicas x 9 + 4 nodes x 5
    # and in every EKS phase Container Insights 13: hottest node CPU 2, memory 2, disk 1; pods of
    # app and pgbouncer, CPU 2 and memory 2 each; PgBouncer 6 per pool role (clients waiting, max
    # wait, utilisation x 2): growth rw, scale and optimize rw and ro
    [("foundation", 29), ("growth", 44 + 6), ("scale", 63 + 12), ("optimize", 72 + 12)],
)
def test_exact_alarm_set_follows_what_the_phase_runs(phase: str, count: int) -> None:
    found = alarms(phase)
    assert set(found) == expected_keys(phase)
    assert len(found) == count


@pytest.mark.parametrize("phase", PHASES)
def test_levels_equal_the_phase_file(phase: str) -> None:
    ops = phase_file(phase)["operations"]
    found = alarms(phase)
    for level, value in levels(ops["error_rate_percent"]):
        assert found[f"alb-error-rate-{level}"].inputs["threshold"] == value
    for level, value in levels(ops["response_time_p95_seconds"]):
        assert found[f"alb-p95-{level}"].inputs["threshold"] == value
    for level, value in levels(ops["cpu_percent"]):
        cpu = [a for key, a in found.items() if key.endswith(f"cpu-{level}")]
        assert cpu
        assert {a.inputs["threshold"] for a in cpu} == {value}
    for level, value in levels(ops["cache_hit_rate_percent"]):
        hits = [a for key, a in found.items() if key.endswith(f"hit-rate-{level}")]
        assert {(a.inputs["threshold"], a.inputs["comparisonOperator"]) for a in hits} == {(value, "LessThanThreshold")}
    for level, value in levels(ops["replica_lag_seconds"]):
        for alarm in (a for key, a in found.items() if key.endswith(f"lag-{level}")):
            assert alarm.inputs["threshold"] == value


@pytest.mark.parametrize("phase", PHASES)
def test_database_thresholds_derive_from_the_instance_class_and_storage(phase: str) -> None:
    config = phase_config(phase)
    ops = phase_file(phase)["operations"]
    max_connections = config.database.connection_budget().max_connections
    allocated_gib = phase_file(phase)["database"]["allocated_storage_gib"]
    found = alarms(phase)
    for level, percent in levels(ops["database_connections_percent"]):
        assert found[f"postgres-primary-connections-{level}"].inputs["threshold"] == pytest.approx(
            max_connections * percent / 100
        )
    for level, percent in levels(ops["database_storage_used_percent"]):
        storage = found[f"postgres-primary-storage-{level}"].inputs
        assert storage["metricName"] == "FreeStorageSpace"
        assert storage["comparisonOperator"] == "LessThanThreshold"
        assert storage["threshold"] == pytest.approx(allocated_gib * GIB * (100 - percent) / 100, abs=1)


@pytest.mark.parametrize("phase", PHASES)
def test_every_alarm_notifies_the_topic_of_its_severity_when_it_fires_and_recovers(phase: str) -> None:
    run = built_phase(phase)
    arns = topic_arns(run)
    for key, alarm in alarms(phase).items():
        topic_arn = arns[key.rsplit("-", 1)[1]]
        assert alarm.inputs["alarmActions"] == [topic_arn], key
        assert alarm.inputs["okActions"] == [topic_arn], key
        assert alarm.inputs["actionsEnabled"] is True
        ops = phase_config(phase).operations
        if "-clients-waiting-" in key:
            # The clients-waiting level is the spell itself, in minutes (tests/test_pgbouncer_metrics.py).
            spell = getattr(ops.pgbouncer_clients_waiting_minutes, key.rsplit("-", 1)[1])
            assert alarm.inputs["evaluationPeriods"] == spell, key
        else:
            assert alarm.inputs["evaluationPeriods"] == ops.evaluation_minutes, key
        tags = alarm.inputs["tags"]
        assert set(REQUIRED_TAG_KEYS) <= set(tags)
        assert tags["severity"] == key.rsplit("-", 1)[1]
    assert run.stack_outputs["alerts_topic_arn"] == arns["critical"]
    assert run.stack_outputs["alerts_topic_arns"] == arns


@pytest.mark.parametrize("phase", PHASES)
def test_alarm_dimensions_name_the_resources_the_phase_created(phase: str) -> None:
    run = built_phase(phase)
    found = alarms(phase)
    lb_suffix = run.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    assert found["alb-p95-critical"].inputs["dimensions"] == {"LoadBalancer": lb_suffix}
    assert found["alb-p95-critical"].inputs["extendedStatistic"] == "p95"
    error_rate = found["alb-error-rate-critical"].inputs
    assert [q["metric"]["dimensions"] for q in error_rate["metricQueries"] if "metric" in q] == [
        {"LoadBalancer": lb_suffix},
        {"LoadBalancer": lb_suffix},
    ]
    rds = {r.inputs["identifier"] for r in run.of_type("aws:rds/instance:Instance")}
    watched_rds = {
        a.inputs["dimensions"]["DBInstanceIdentifier"] for a in found.values() if a.inputs.get("namespace") == "AWS/RDS"
    }
    assert watched_rds == rds
    (group,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    cache_ids = {
        a.inputs["dimensions"]["CacheClusterId"]
        for a in found.values()
        if a.inputs.get("metricName") == "EngineCPUUtilization"
    }
    config = phase_config(phase).cache
    assert len(cache_ids) == config.shards * (config.replicas_per_shard + 1)
    assert all(node.startswith(f"{group.inputs['replicationGroupId']}-") for node in cache_ids)
    groups = {g.outputs["name"] for g in run.of_type("aws:autoscaling/group:Group")}
    # EKS managed node groups run in Auto Scaling groups EKS creates and reports.
    groups |= {
        g.outputs["resources"][0]["autoscalingGroups"][0]["name"] for g in run.of_type("aws:eks/nodeGroup:NodeGroup")
    }
    assert groups
    watched_groups = {
        a.inputs["dimensions"]["AutoScalingGroupName"] for a in found.values() if a.inputs.get("namespace") == "AWS/EC2"
    }
    assert watched_groups == groups


@pytest.mark.parametrize("phase", PHASES)
def test_topic_is_encrypted_with_the_alerts_key_that_alarms_and_budgets_may_use(phase: str) -> None:
    run = built_phase(phase)
    key = run.one("aws:kms/key:Key", "keys-alerts")
    topics = children(run, "aws:sns/topic:Topic")
    assert len(topics) == 2
    assert all(topic.inputs["kmsMasterKeyId"] == key.outputs["arn"] for topic in topics)
    assert key.protect
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}
    services = statements["ServicesEncrypt"]
    assert sorted(services["Principal"]["Service"]) == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com"]
    assert "kms:GenerateDataKey*" in services["Action"]
    assert "kms:Decrypt*" in services["Action"]


@pytest.mark.parametrize("phase", PHASES)
def test_topic_policy_and_owner_subscription(phase: str) -> None:
    run = built_phase(phase)
    arns = topic_arns(run)
    policies = {p.inputs["arn"]: p for p in children(run, "aws:sns/topicPolicy:TopicPolicy")}
    assert set(policies) == set(arns.values())
    for arn, policy in policies.items():
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        for sid, service in (("CloudWatchAlarmsPublish", "cloudwatch"), ("BudgetsPublish", "budgets")):
            assert statements[sid]["Principal"] == {"Service": f"{service}.amazonaws.com"}
            assert statements[sid]["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
            assert statements[sid]["Resource"] == arn
    subscriptions = {
        (s.inputs["topic"], s.inputs["protocol"], s.inputs["endpoint"])
        for s in children(run, "aws:sns/topicSubscription:TopicSubscription")
    }
    owner = phase_file(phase)["environment"]["owner_email"]
    assert subscriptions == {(arns["critical"], "email", owner), (arns["warning"], "email", owner)}


@pytest.mark.parametrize("phase", PHASES)
def test_budget_amount_and_notifications_equal_the_phase_file(phase: str) -> None:
    run = built_phase(phase)
    (budget,) = children(run, "aws:budgets/budget:Budget")
    arns = topic_arns(run)
    file = phase_file(phase)
    inputs = budget.inputs
    assert (inputs["budgetType"], inputs["timeUnit"], inputs["limitUnit"]) == ("COST", "MONTHLY", "USD")
    assert float(inputs["limitAmount"]) == file["budget"]["monthly_usd"]
    # The phase files state no alert_thresholds_percent: scaleplan:budget's default applies.
    thresholds = file["budget"].get("alert_thresholds_percent", [50, 80, 100])
    forecast = file["operations"].get("budget_forecast_percent", 100)
    assert [(n["notificationType"], n["threshold"]) for n in inputs["notifications"]] == [
        *(("ACTUAL", t) for t in sorted(thresholds)),
        ("FORECASTED", forecast),
    ]
    for notification in inputs["notifications"]:
        assert notification["comparisonOperator"] == "GREATER_THAN"
        assert notification["thresholdType"] == "PERCENTAGE"
        assert notification["subscriberEmailAddresses"] == [file["environment"]["owner_email"]]
        # Spend past the whole budget pages; earlier thresholds and the forecast warn.
        paging = notification["notificationType"] == "ACTUAL" and notification["threshold"] >= 100
        assert notification["subscriberSnsTopicArns"] == [arns["critical" if paging else "warning"]]
    assert "costFilters" not in inputs  # budget_scope: account in every phase file
    for policy in children(run, "aws:sns/topicPolicy:TopicPolicy"):
        assert policy.urn in budget.dependencies


@pytest.mark.parametrize("phase", PHASES)
def test_new_signals_watch_the_created_target_groups_and_the_class_memory(phase: str) -> None:
    run = built_phase(phase)
    found = alarms(phase)
    config = phase_config(phase)
    suffixes = {tg.outputs["arnSuffix"] for tg in run.of_type("aws:lb/targetGroup:TargetGroup")}
    lb_suffix = run.one("aws:lb/loadBalancer:LoadBalancer").outputs["arnSuffix"]
    target_alarms = [a for key, a in found.items() if key.startswith("tg-")]
    assert target_alarms
    for alarm in target_alarms:
        assert alarm.inputs["dimensions"]["LoadBalancer"] == lb_suffix
        assert alarm.inputs["dimensions"]["TargetGroup"] in suffixes
    memory_gib = config.database.instance.memory_gib
    for level, percent in levels(phase_file(phase)["operations"]["database_memory_used_percent"]):
        memory = found[f"postgres-primary-memory-{level}"].inputs
        assert memory["metricName"] == "FreeableMemory"
        assert memory["comparisonOperator"] == "LessThanThreshold"
        assert memory["threshold"] == pytest.approx(memory_gib * GIB * (100 - percent) / 100, abs=1)
