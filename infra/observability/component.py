"""Operations: the alerts topic, people-facing CloudWatch alarms and the monthly AWS Budget."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.config.budget import BudgetConfig
from infra.config.operations import BudgetScope, OperationsConfig
from infra.naming import Service, physical_name
from infra.observability.alarms import AlarmDefinition, DatabaseInstance, Ref, Watched, alarm_definitions
from infra.observability.policies import budget_notifications, environment_cost_filter, topic_policy
from infra.tagging import with_name

PRIMARY = "primary"


@dataclass(frozen=True, kw_only=True)
class OperationsArgs:
    config: OperationsConfig
    budget: BudgetConfig
    environment: str
    region: str
    account_id: pulumi.Input[str]
    owner_email: str
    """Subscribed to the topic (by e-mail) and to the budget directly."""
    kms_key_arn: pulumi.Input[str]
    """CMK of the topic; its policy must let CloudWatch and AWS Budgets use it."""
    tags: Mapping[str, str]
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    """``app/<name>/<id>`` of the ALB; ``None`` raises no load balancer alarms."""
    auto_scaling_group_names: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Auto Scaling group name by slot, when the phase runs the groups."""
    database_identifier: str | None = None
    """RDS identifier of the primary."""
    database_replica_identifiers: Mapping[str, str] = field(default_factory=dict)
    """RDS identifiers of the read replicas by replica key."""
    database_max_connections: int = 0
    """``max_connections`` of the instance class (infra/database/parameters.py)."""
    database_allocated_storage_gib: int = 0
    cache_node_ids: Mapping[str, str] = field(default_factory=dict)
    """``CacheClusterId`` of each cache node by stable key (infra/observability/alarms.cache_node_ids)."""


def watched(args: OperationsArgs) -> Watched:
    """What ``args`` says the phase runs."""
    instances: list[DatabaseInstance] = []
    if args.database_identifier is not None:
        instances.append(DatabaseInstance(key=PRIMARY, identifier=args.database_identifier, is_replica=False))
    instances += [
        DatabaseInstance(key=key, identifier=identifier, is_replica=True)
        for key, identifier in sorted(args.database_replica_identifiers.items())
    ]
    return Watched(
        load_balancer=args.load_balancer_arn_suffix is not None,
        auto_scaling_groups=sorted(args.auto_scaling_group_names),
        database_instances=instances,
        database_max_connections=args.database_max_connections,
        database_allocated_storage_gib=args.database_allocated_storage_gib,
        cache_nodes=dict(sorted(args.cache_node_ids.items())),
    )


def _refs(args: OperationsArgs) -> dict[str, pulumi.Input[str]]:
    refs: dict[str, pulumi.Input[str]] = {f"asg:{slot}": group for slot, group in args.auto_scaling_group_names.items()}
    if args.load_balancer_arn_suffix is not None:
        refs["load_balancer"] = args.load_balancer_arn_suffix
    return refs


def _topic_policy_for(values: Sequence[str], *, region: str) -> str:
    topic_arn, account_id = values
    return topic_policy(topic_arn, account_id, region)


class Operations(pulumi.ComponentResource):
    """Alerting for a phase: an SNS topic, alarms at warning and critical levels, a monthly budget.

    The topic is encrypted with the given CMK, mails the environment owner (AWS sends a
    confirmation e-mail that must be accepted once), and may be published to only by this
    account's CloudWatch alarms and AWS Budgets, over TLS. Each alarm notifies the topic when
    it fires and when it recovers. Alarms exist only for what the phase runs. The budget
    (COST, MONTHLY, ``scaleplan:budget.monthly_usd``) notifies the topic and the owner's
    address directly at each actual-spend threshold and when the month's forecast passes
    ``budget_forecast_percent``.
    """

    topic_arn: pulumi.Output[str]
    """The alerts topic: subscribe more endpoints (chat, paging) here."""
    alarm_names: dict[str, pulumi.Output[str]]
    """CloudWatch alarm name by alarm key."""
    budget_name: pulumi.Output[str]
    """Name of the monthly AWS Budget."""

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:observability:Operations", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)

        topic_name = physical_name(env, "alerts", service=Service.SNS_TOPIC)
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=topic_name,
            display_name=f"{env} alerts",
            kms_master_key_id=args.kms_key_arn,
            tags=with_name(args.tags, topic_name),
            opts=child,
        )
        policy = aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                functools.partial(_topic_policy_for, region=args.region)
            ),
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-alerts-owner-email",
            topic=topic.arn,
            protocol="email",
            endpoint=args.owner_email,
            opts=child,
        )

        refs = _refs(args)
        self.alarm_names = {}
        for definition in alarm_definitions(args.config, watched(args)):
            alarm = self._alarm(name, definition, args, refs, topic)
            self.alarm_names[definition.key] = alarm.name

        budget = self._budget(name, args, topic, policy)

        self.topic_arn = topic.arn
        self.budget_name = budget.name
        self.register_outputs(
            {"topic_arn": self.topic_arn, "alarm_names": self.alarm_names, "budget_name": self.budget_name}
        )

    def _alarm(
        self,
        name: str,
        definition: AlarmDefinition,
        args: OperationsArgs,
        refs: Mapping[str, pulumi.Input[str]],
        topic: aws.sns.Topic,
    ) -> aws.cloudwatch.MetricAlarm:
        def dimensions(values: Mapping[str, str | Ref]) -> dict[str, pulumi.Input[str]]:
            return {key: refs[value.key] if isinstance(value, Ref) else value for key, value in values.items()}

        alarm_name = physical_name(args.environment, definition.key, service=Service.CLOUDWATCH_ALARM)
        # One metric: the alarm's own metric fields. Metric math: one query per metric, and the
        # expression as the value compared.
        single = definition.metrics[0] if definition.expression is None else None
        percentile = single is not None and single.stat.startswith("p")
        queries = None
        if definition.expression is not None:
            queries = [
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=metric.id,
                    return_data=False,
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace=metric.namespace,
                        metric_name=metric.metric_name,
                        dimensions=dimensions(metric.dimensions),
                        period=definition.period_seconds,
                        stat=metric.stat,
                    ),
                )
                for metric in definition.metrics
            ]
            queries.append(
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="value", expression=definition.expression, label=definition.signal, return_data=True
                )
            )
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{definition.key}",
            name=alarm_name,
            alarm_description=definition.describe(),
            comparison_operator=definition.comparison,
            threshold=definition.threshold,
            evaluation_periods=definition.evaluation_periods,
            datapoints_to_alarm=definition.evaluation_periods,
            treat_missing_data=definition.treat_missing_data,
            namespace=single.namespace if single else None,
            metric_name=single.metric_name if single else None,
            dimensions=dimensions(single.dimensions) if single else None,
            period=definition.period_seconds if single else None,
            statistic=single.stat if single and not percentile else None,
            extended_statistic=single.stat if single and percentile else None,
            metric_queries=queries,
            actions_enabled=True,
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            tags={**with_name(args.tags, alarm_name), "severity": definition.level.value},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _budget(
        self, name: str, args: OperationsArgs, topic: aws.sns.Topic, policy: aws.sns.TopicPolicy
    ) -> aws.budgets.Budget:
        budget_name = physical_name(args.environment, "monthly", service=Service.BUDGET)
        cost_filters = None
        if args.config.budget_scope is BudgetScope.ENVIRONMENT_TAG:
            cost_filters = [
                aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[environment_cost_filter(args.environment)])
            ]
        return aws.budgets.Budget(
            f"{name}-budget",
            name=budget_name,
            budget_type="COST",
            limit_amount=f"{args.budget.monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=cost_filters,
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    notification_type=notification.notification_type,
                    threshold=notification.threshold_percent,
                    threshold_type="PERCENTAGE",
                    subscriber_email_addresses=[args.owner_email],
                    subscriber_sns_topic_arns=[topic.arn],
                )
                for notification in budget_notifications(args.budget, args.config)
            ],
            tags=with_name(args.tags, budget_name),
            # AWS Budgets checks that it may publish to the topic when the notification is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
