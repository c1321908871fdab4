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
        "aws:sns/topic:Topic": 1,
        "aws:sns/topicPolicy:TopicPolicy": 1,
        "aws:sns/topicSubscription:TopicSubscription": 1,
        "aws:budgets/budget:Budget": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 22,
    }
    assert all(r.name.startswith("operations-") for r in children(full_run()))


def test_every_taggable_child_carries_the_tags_and_its_name() -> None:
    for resource in children(full_run()):
        if resource.type in ("aws:sns/topicPolicy:TopicPolicy", "aws:sns/topicSubscription:TopicSubscription"):
            continue
        tags = resource.inputs["tags"]
        assert {k: tags[k] for k in TAGS} == TAGS, resource.name
        assert tags["Name"] == resource.inputs["name"], resource.name


def test_topic_is_encrypted_with_the_given_key_and_named_for_the_environment() -> None:
    topic = full_run().one("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == KEY
    assert topic.inputs["name"] == "ftw-test-alerts"


def test_topic_policy_is_scoped_to_the_account() -> None:
    run = full_run()
    topic_arn = run.one("aws:sns/topic:Topic").outputs["arn"]
    policy = json.loads(run.one("aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    publishers = {s["Sid"]: s for s in policy["Statement"] if s["Effect"] == "Allow" and s["Sid"] != "AccountManages"}
    assert set(publishers) == {"CloudWatchAlarmsPublish", "BudgetsPublish"}
    for statement in publishers.values():
        assert statement["Resource"] == topic_arn
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}


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
    assert run.stack_outputs["topic_arn"] == run.one("aws:sns/topic:Topic").outputs["arn"]
    assert len(run.stack_outputs["alarm_names"]) == 22
    assert run.stack_outputs["alarm_names"]["alb-p95-critical"] == "ftw-test-alb-p95-critical"
