"""Operations: the alerts topic, people-facing CloudWatch alarms and the monthly AWS Budget."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra.config.budget import BudgetConfig
from infra.config.operations import BudgetScope, OperationsConfig
from infra.naming import Service, physical_name
from infra.observability.alarms import (
    AlarmDefinition,
    DatabaseInstance,
    Level,
    PgBouncerPools,
    Ref,
    Watched,
    alarm_definitions,
)
from infra.observability.dashboard import dashboard_body
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
    node_group_autoscaling_group_names: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The Auto Scaling group of each EKS node pool, by pool name."""
    database_identifier: str | None = None
    """RDS identifier of the primary."""
    database_replica_identifiers: Mapping[str, str] = field(default_factory=dict)
    """RDS identifiers of the read replicas by replica key."""
    database_max_connections: int = 0
    """``max_connections`` of the instance class (infra/database/parameters.py)."""
    database_allocated_storage_gib: int = 0
    database_memory_gib: float = 0
    """Memory of the instance class (infra/catalog), for the memory alarms."""
    target_group_arn_suffixes: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """``targetgroup/<name>/<id>`` of each target group by slot."""
    live_target_groups: Sequence[str] = ()
    """Slots whose target group the listener sends traffic to (weight above 0)."""
    cache_node_ids: Mapping[str, str] = field(default_factory=dict)
    """``CacheClusterId`` of each cache node by stable key (infra/observability/alarms.cache_node_ids)."""
    container_insights_cluster: str | None = None
    """EKS cluster name, when Container Insights publishes its node and pod metrics; ``None`` raises
    no Container Insights alarms (no phase installs the add-on yet: docs/operations.md)."""
    pod_namespaces: Sequence[str] = ()
    """Namespaces whose pods the Container Insights pod alarms watch."""
    pgbouncer: PgBouncerPools | None = None
    """PgBouncer's pools, when its pods publish pool metrics (infra/pgbouncer/metrics.py)."""


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
        node_groups=sorted(args.node_group_autoscaling_group_names),
        database_instances=instances,
        database_max_connections=args.database_max_connections,
        database_allocated_storage_gib=args.database_allocated_storage_gib,
        database_memory_gib=args.database_memory_gib,
        target_groups={slot: slot in args.live_target_groups for slot in args.target_group_arn_suffixes},
        cache_nodes=dict(sorted(args.cache_node_ids.items())),
        container_insights_cluster=args.container_insights_cluster,
        pod_namespaces=sorted(args.pod_namespaces),
        pgbouncer=args.pgbouncer,
    )


def _refs(args: OperationsArgs) -> dict[str, pulumi.Input[str]]:
    refs: dict[str, pulumi.Input[str]] = {f"asg:{slot}": group for slot, group in args.auto_scaling_group_names.items()}
    if args.load_balancer_arn_suffix is not None:
        refs["load_balancer"] = args.load_balancer_arn_suffix
    refs.update({f"node_group:{pool}": group for pool, group in args.node_group_autoscaling_group_names.items()})
    refs.update({f"target_group:{slot}": suffix for slot, suffix in args.target_group_arn_suffixes.items()})
    return refs


def _dashboard_json(
    values: Mapping[str, str] | list[str], *, definitions: Sequence[AlarmDefinition], region: str
) -> str:
    resolved = dict(values) if isinstance(values, Mapping) else {}
    refs = {key.removeprefix("ref:"): value for key, value in resolved.items() if key.startswith("ref:")}
    arns = {key.removeprefix("arn:"): value for key, value in resolved.items() if key.startswith("arn:")}
    return json.dumps(dashboard_body(definitions, region=region, refs=refs, alarm_arns=arns), sort_keys=True)


def budget_level(notification_type: str, threshold_percent: float) -> Level:
    """Spend past the whole budget pages; an early threshold or a forecast is a warning."""
    return Level.CRITICAL if notification_type == "ACTUAL" and threshold_percent >= 100 else Level.WARNING


def subscription_key(endpoint: str) -> str:
    """A stable logical-name suffix for a subscription, independent of its place in the list."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:8]


def _topic_policy_for(values: Sequence[str], *, region: str) -> str:
    topic_arn, account_id = values
    return topic_policy(topic_arn, account_id, region)


class Operations(pulumi.ComponentResource):
    """Alerting for a phase: a critical and a warning SNS topic, alarms at both levels, a
    dashboard of every alarm, and a monthly budget.

    Both topics are encrypted with the given CMK, reach the recipients the config lists for
    their severity (the environment owner by e-mail unless turned off; e-mail and HTTPS
    subscriptions for a pager or chat), and may be published to only by this account's
    CloudWatch alarms and AWS Budgets, over TLS. Each alarm notifies its severity's topic when
    it fires and when it recovers. Alarms exist only for what the phase runs. The dashboard is
    built from the same definitions, so every alarm appears on it. The budget (COST, MONTHLY,
    ``scaleplan:budget.monthly_usd``) notifies the owner's address directly and the topic of
    each notification's severity: spend past 100% is critical, earlier thresholds and the
    forecast are warnings.
    """

    topic_arn: pulumi.Output[str]
    """The critical topic (what pages)."""
    topic_arns: dict[str, pulumi.Output[str]]
    """Topic ARN by severity (``critical``, ``warning``)."""
    alarm_names: dict[str, pulumi.Output[str]]
    """CloudWatch alarm name by alarm key."""
    dashboard_name: pulumi.Output[str]
    """Name of the phase's CloudWatch dashboard."""
    budget_name: pulumi.Output[str]
    """Name of the monthly AWS Budget."""

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:observability:Operations", name, None, opts)
        topics: dict[Level, aws.sns.Topic] = {}
        policies: list[aws.sns.TopicPolicy] = []
        for level in (Level.CRITICAL, Level.WARNING):
            topic, policy = self._topic(name, level, args)
            topics[level] = topic
            policies.append(policy)

        refs = _refs(args)
        definitions = alarm_definitions(args.config, watched(args))
        self.alarm_names = {}
        alarm_arns: dict[str, pulumi.Output[str]] = {}
        for definition in definitions:
            alarm = self._alarm(name, definition, args, refs, topics[definition.level])
            self.alarm_names[definition.key] = alarm.name
            alarm_arns[definition.key] = alarm.arn

        dashboard_name = physical_name(args.environment, "operations", service=Service.GENERIC)
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=dashboard_name,
            dashboard_body=pulumi.Output.all(
                **{f"ref:{key}": value for key, value in refs.items()},
                **{f"arn:{key}": value for key, value in alarm_arns.items()},
            ).apply(functools.partial(_dashboard_json, definitions=definitions, region=args.region)),
            opts=pulumi.ResourceOptions(parent=self),
        )

        budget = self._budget(name, args, topics, policies)

        self.topic_arn = topics[Level.CRITICAL].arn
        self.topic_arns = {level.value: topic.arn for level, topic in topics.items()}
        self.dashboard_name = dashboard.dashboard_name
        self.budget_name = budget.name
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "topic_arns": self.topic_arns,
                "alarm_names": self.alarm_names,
                "dashboard_name": self.dashboard_name,
                "budget_name": self.budget_name,
            }
        )

    def _topic(self, name: str, level: Level, args: OperationsArgs) -> tuple[aws.sns.Topic, aws.sns.TopicPolicy]:
        """One severity's encrypted topic, its publish policy and its subscriptions."""
        child = pulumi.ResourceOptions(parent=self)
        settings = getattr(args.config.alert_topics, level.value)
        topic_name = physical_name(args.environment, "alerts", level.value, service=Service.SNS_TOPIC)
        topic = aws.sns.Topic(
            f"{name}-alerts-{level.value}",
            name=topic_name,
            display_name=f"{args.environment} {level.value} alerts",
            kms_master_key_id=args.kms_key_arn,
            tags={**with_name(args.tags, topic_name), "severity": level.value},
            opts=child,
        )
        policy = aws.sns.TopicPolicy(
            f"{name}-alerts-{level.value}-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, args.account_id).apply(
                functools.partial(_topic_policy_for, region=args.region)
            ),
            opts=child,
        )
        if settings.owner_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-{level.value}-owner-email",
                topic=topic.arn,
                protocol="email",
                endpoint=args.owner_email,
                opts=child,
            )
        for subscription in settings.subscriptions:
            aws.sns.TopicSubscription(
                f"{name}-alerts-{level.value}-{subscription.protocol.value}-{subscription_key(subscription.endpoint)}",
                topic=topic.arn,
                protocol=subscription.protocol.value,
                endpoint=subscription.endpoint,
                opts=child,
            )
        return topic, policy

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
        self,
        name: str,
        args: OperationsArgs,
        topics: Mapping[Level, aws.sns.Topic],
        policies: Sequence[aws.sns.TopicPolicy],
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
                    subscriber_sns_topic_arns=[
                        topics[budget_level(notification.notification_type, notification.threshold_percent)].arn
                    ],
                )
                for notification in budget_notifications(args.budget, args.config)
            ],
            tags=with_name(args.tags, budget_name),
            # AWS Budgets checks that it may publish to the topic when the notification is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(policies)),
        )
