"""Operations built in isolation under mocks: its exact children, names, tags and security inputs."""

from __future__ import annotations

import collections
import functools
import json

import pulumi

from infra.config.budget import BudgetConfig
from infra.observability.component import Operations, OperationsArgs
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from tests.test_observability_alarms import ops

TAGS = {
    "project": "scaleplan",
    "phase": "growth",
    "environment": "ftw-test",
    "cost-center": "ftw",
    "managed-by": "pulumi",
}
KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
ACCOUNT = "123456789012"
LB = "app/ftw-test-alb/0123456789abcdef"


def run_operations(**overrides: object) -> ProgramRun:
    def program() -> None:
        values: dict[str, object] = {
            "config": ops(),
            "budget": BudgetConfig(monthly_usd=2100),
            "environment": "ftw-test",
            "region": "us-east-1",
            "account_id": ACCOUNT,
            "owner_email": "owner@example.com",
            "kms_key_arn": KEY,
            "tags": TAGS,
            "load_balancer_arn_suffix": LB,
            "auto_scaling_group_names": {"blue": "ftw-test-app-blue"},
            "database_identifier": "ftw-test-postgres",
            "database_replica_identifiers": {"replica-1": "ftw-test-postgres-replica-1"},
            "database_max_connections": 128,
            "database_allocated_storage_gib": 100,
            "cache_node_ids": {"001": "ftw-test-cache-001", "002": "ftw-test-cache-002"},
            **overrides,
        }
        operations = Operations("operations", OperationsArgs(**values))
        pulumi.export("topic_arn", operations.topic_arn)
        pulumi.export("alarm_names", operations.alarm_names)

    return run_program(program, project="scaleplan", stack="test")


@functools.cache
def full_run() -> ProgramRun:
    return run_operations()


def children(run: ProgramRun) -> list[CapturedResource]:
    return run.children_of(run.one("scaleplan:observability:Operations").urn)


def test_children_are_exactly_these() -> None:
    counts = collections.Counter(r.type for r in children(full_run()))
    # ALB 4 + group 2 + primary 4 + replica 6 + 2 nodes x 3
    assert counts == {
        "aws:sns/topic:Topic": 2,
        "aws:sns/topicPolicy:TopicPolicy": 2,
        "aws:sns/topicSubscription:TopicSubscription": 2,
        "aws:budgets/budget:Budget": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 22,
        "aws:cloudwatch/dashboard:Dashboard": 1,
    }
    assert all(r.name.startswith("operations-") for r in children(full_run()))


def test_every_taggable_child_carries_the_tags_and_its_name() -> None:
    for resource in children(full_run()):
        if resource.type in (
            "aws:sns/topicPolicy:TopicPolicy",
            "aws:sns/topicSubscription:TopicSubscription",
            "aws:cloudwatch/dashboard:Dashboard",  # dashboards take no tags
        ):
            continue
        tags = resource.inputs["tags"]
        assert {k: tags[k] for k in TAGS} == TAGS, resource.name
        assert tags["Name"] == resource.inputs["name"], resource.name


def topics(run: ProgramRun) -> dict[str, CapturedResource]:
    return {t.inputs["tags"]["severity"]: t for t in run.of_type("aws:sns/topic:Topic")}


def test_topics_per_severity_are_encrypted_with_the_given_key_and_named_for_the_environment() -> None:
    found = topics(full_run())
    assert set(found) == {"critical", "warning"}
    for level, topic in found.items():
        assert topic.inputs["kmsMasterKeyId"] == KEY
        assert topic.inputs["name"] == f"ftw-test-alerts-{level}"


def test_topic_policies_are_scoped_to_the_account() -> None:
    run = full_run()
    arns = {t.outputs["arn"] for t in topics(run).values()}
    policies = run.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert {p.inputs["arn"] for p in policies} == arns
    for found in policies:
        policy = json.loads(found.inputs["policy"])
        publishers = {
            s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Allow" and s["Sid"] != "AccountManages"
        }
        assert set(publishers) == {"CloudWatchAlarmsPublish", "BudgetsPublish"}
        for statement in publishers.values():
            assert statement["Resource"] == found.inputs["arn"]
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


def test_each_alarm_notifies_the_topic_of_its_severity_when_it_fires_and_recovers() -> None:
    run = full_run()
    arns = {level: t.outputs["arn"] for level, t in topics(run).items()}
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        level = alarm.inputs["tags"]["severity"]
        assert alarm.inputs["alarmActions"] == [arns[level]], alarm.name
        assert alarm.inputs["okActions"] == [arns[level]], alarm.name


def test_subscriptions_come_from_the_config_per_severity() -> None:
    config = ops(
        alert_topics={
            "critical": {"subscriptions": [{"protocol": "https", "endpoint": "https://pager.test/hook"}]},
            "warning": {"owner_email": False, "subscriptions": [{"protocol": "email", "endpoint": "team@test.org"}]},
        }
    )
    run = run_operations(config=config)
    arns = {level: t.outputs["arn"] for level, t in topics(run).items()}
    found = {
        (s.inputs["topic"], s.inputs["protocol"], s.inputs["endpoint"])
        for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert found == {
        (arns["critical"], "email", "owner@example.com"),
        (arns["critical"], "https", "https://pager.test/hook"),
        (arns["warning"], "email", "team@test.org"),
    }


def test_budget_pages_past_the_whole_budget_and_warns_before() -> None:
    run = full_run()
    arns = {level: t.outputs["arn"] for level, t in topics(run).items()}
    notifications = run.one("aws:budgets/budget:Budget").inputs["notifications"]
    routed = {(n["notificationType"], n["threshold"]): n["subscriberSnsTopicArns"] for n in notifications}
    assert routed == {
        ("ACTUAL", 50): [arns["warning"]],
        ("ACTUAL", 80): [arns["warning"]],
        ("ACTUAL", 100): [arns["critical"]],
        ("FORECASTED", 100): [arns["warning"]],
    }
    assert all(n["subscriberEmailAddresses"] == ["owner@example.com"] for n in notifications)


def test_alarm_dimensions_resolve_the_given_references() -> None:
    alarms = {a.name: a.inputs for a in full_run().of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms["operations-alb-p95-critical"]["dimensions"] == {"LoadBalancer": LB}
    assert alarms["operations-app-blue-cpu-warning"]["dimensions"] == {"AutoScalingGroupName": "ftw-test-app-blue"}
    assert alarms["operations-postgres-replica-1-lag-warning"]["dimensions"] == {
        "DBInstanceIdentifier": "ftw-test-postgres-replica-1"
    }
    hit_rate = alarms["operations-cache-002-hit-rate-warning"]
    assert "metricName" not in hit_rate
    assert [q["id"] for q in hit_rate["metricQueries"]] == ["hits", "misses", "value"]
    assert [q.get("returnData") for q in hit_rate["metricQueries"]] == [False, False, True]
    assert hit_rate["metricQueries"][0]["metric"] == {
        "namespace": "AWS/ElastiCache",
        "metricName": "CacheHits",
        "dimensions": {"CacheClusterId": "ftw-test-cache-002"},
        "period": 60,
        "stat": "Sum",
    }
    assert alarms["operations-alb-p95-critical"]["extendedStatistic"] == "p95"
    assert "statistic" not in alarms["operations-alb-p95-critical"]


def test_only_what_is_given_is_watched() -> None:
    run = run_operations(
        load_balancer_arn_suffix=None,
        auto_scaling_group_names={},
        database_replica_identifiers={},
        cache_node_ids={},
    )
    names = sorted(a.name for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    assert names == [
        "operations-postgres-primary-connections-critical",
        "operations-postgres-primary-cpu-critical",
        "operations-postgres-primary-cpu-warning",
        "operations-postgres-primary-storage-warning",
    ]


def test_environment_tag_scope_filters_the_budget() -> None:
    budget = run_operations(config=ops(budget_scope="environment_tag")).one("aws:budgets/budget:Budget")
    assert budget.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:environment$ftw-test"]}]
    assert budget.inputs["limitAmount"] == "2100.00"


def test_outputs_name_the_topic_and_every_alarm() -> None:
    run = full_run()
    assert run.stack_outputs["topic_arn"] == topics(run)["critical"].outputs["arn"]
    assert len(run.stack_outputs["alarm_names"]) == 22
    assert run.stack_outputs["alarm_names"]["alb-p95-critical"] == "ftw-test-alb-p95-critical"
