"""``scaleplan:operations``: alert thresholds, alarm evaluation and the budget's scope.

Each watched signal has a ``warning`` and/or a ``critical`` level (the FairTradeWorker
alert rules, seeds 000/001: critical at error rate > 5%, p95 > 2 s, CPU > 90%, database
connections > 95%; warning at error rate > 2%, p95 > 1 s, CPU > 80%, cache hit rate < 70%,
disk > 80%). A level left out raises no alarm at that level. The budget amount and its alert
percentages stay in ``scaleplan:budget``; notifications go to
``scaleplan:environment.owner_email``.
"""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from infra.config.base import ConfigModel
from infra.config.errors import field_error

Percent = Annotated[float, Field(gt=0, lt=100)]
Seconds = Annotated[float, Field(gt=0, le=3600)]
Count = Annotated[float, Field(ge=0, le=1_000_000)]


class Levels(ConfigModel):
    """A warning and a critical level of one signal; at least one of them."""

    rising: ClassVar[bool] = True
    """True when a higher value is worse (CPU), False when a lower one is (cache hit rate)."""
    unit: ClassVar[str] = ""
    warning: float | None = None
    critical: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        warning, critical = self.warning, self.critical
        if warning is None and critical is None:
            raise field_error("warning", "state a warning or a critical level (or both); neither is set")
        if warning is not None and critical is not None:
            if self.rising and warning >= critical:
                raise field_error(
                    "warning",
                    f"must be below critical {critical:g}{self.unit}: a warning comes before the page "
                    f"(got {warning:g}{self.unit})",
                )
            if not self.rising and warning <= critical:
                raise field_error(
                    "warning",
                    f"must be above critical {critical:g}{self.unit}: for this signal lower is worse, so "
                    f"a warning comes at a higher value than the page (got {warning:g}{self.unit})",
                )
        return self


class PercentAbove(Levels):
    """Alarm when the percentage rises above a level."""

    unit: ClassVar[str] = "%"
    warning: Percent | None = None
    critical: Percent | None = None


class PercentBelow(Levels):
    """Alarm when the percentage falls below a level."""

    rising: ClassVar[bool] = False
    unit: ClassVar[str] = "%"
    warning: Percent | None = None
    critical: Percent | None = None


class SecondsAbove(Levels):
    """Alarm when a duration rises above a level."""

    unit: ClassVar[str] = " s"
    warning: Seconds | None = None
    critical: Seconds | None = None


class CountAbove(Levels):
    """Alarm when a count (per minute, or of hosts) rises above a level."""

    warning: Count | None = None
    critical: Count | None = None


class CountBelow(Levels):
    """Alarm when a count falls below a level (healthy targets)."""

    rising: ClassVar[bool] = False
    warning: Count | None = None
    critical: Count | None = None


class MinutesSustained(Levels):
    """Alarm when a condition holds for this many minutes in a row (a longer spell is worse)."""

    unit: ClassVar[str] = " min"
    warning: Annotated[int, Field(ge=1, le=60)] | None = None
    critical: Annotated[int, Field(ge=1, le=60)] | None = None


class SubscriptionProtocol(enum.StrEnum):
    """How a topic reaches a person or a system (the SNS protocols this program allows)."""

    EMAIL = "email"
    """Mail; AWS sends a confirmation link that must be clicked once."""
    HTTPS = "https"
    """A pager's or chat's webhook (PagerDuty, Opsgenie, Slack via AWS Chatbot's HTTPS endpoint)."""


class Subscription(ConfigModel):
    protocol: SubscriptionProtocol
    endpoint: Annotated[str, Field(min_length=3, max_length=2048)]

    @model_validator(mode="after")
    def _endpoint_fits_protocol(self) -> Subscription:
        if self.protocol is SubscriptionProtocol.EMAIL and (
            "@" not in self.endpoint or self.endpoint.startswith(("http://", "https://"))
        ):
            raise field_error("endpoint", f"must be an e-mail address for protocol email (got {self.endpoint!r})")
        if self.protocol is SubscriptionProtocol.HTTPS and not self.endpoint.startswith("https://"):
            raise field_error(
                "endpoint",
                f"must be an https:// URL for protocol https: alerts never travel in clear (got {self.endpoint!r})",
            )
        return self


class AlertTopic(ConfigModel):
    """Who one severity reaches: the environment owner by e-mail and/or listed subscriptions."""

    owner_email: bool = True
    """Subscribe ``scaleplan:environment.owner_email`` to this topic."""
    subscriptions: tuple[Subscription, ...] = ()

    @model_validator(mode="after")
    def _each_endpoint_once(self) -> AlertTopic:
        endpoints = [s.endpoint for s in self.subscriptions]
        repeated = sorted({e for e in endpoints if endpoints.count(e) > 1})
        if repeated:
            # SNS keeps one subscription per endpoint: two resources would share it, and deleting
            # either would unsubscribe both.
            raise field_error("subscriptions", f"lists an endpoint twice: {', '.join(repeated)}")
        return self


class AlertTopics(ConfigModel):
    """One SNS topic per severity, so that critical alarms page and warnings mail."""

    critical: AlertTopic
    warning: AlertTopic


AWS_COMMERCIAL_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1", "mx-central-1",
        "sa-east-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1",
        "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "af-south-1", "ap-east-1",
        "ap-east-2", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    }
)  # fmt: skip
"""AWS commercial regions (AWS General Reference, "Regional endpoints"), where a DR copy may go."""


class DisasterRecoveryConfig(ConfigModel):
    """A copy of the database's backups in a second region (infra/database/component.py)."""

    region: str
    """Where the AWS Backup copies and the replicated automated backups go; not the primary region."""
    copy_retention_days: Annotated[int, Field(ge=7, le=35 * 100)] = 30
    """How long each copied daily snapshot is kept in the DR vault."""

    @model_validator(mode="after")
    def _known_region(self) -> DisasterRecoveryConfig:
        if self.region not in AWS_COMMERCIAL_REGIONS:
            raise field_error(
                "region",
                f"must be an AWS commercial region such as us-west-2 or eu-west-1 (got {self.region!r})",
            )
        return self


class RecoveryConfig(ConfigModel):
    """The recovery objectives the phase declares; the config is refused when what the phase
    builds cannot meet them (infra/observability/recovery.py states the model)."""

    rpo_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)]
    """Most data, in minutes before the incident, that may be lost."""
    rto_minutes: Annotated[int, Field(ge=1, le=7 * 24 * 60)]
    """Longest time to be serving again, in minutes."""
    survives_region_loss: bool = False
    """Whether the objectives must hold when the whole region is lost (needs ``disaster_recovery``)."""
    disaster_recovery: DisasterRecoveryConfig | None = None
    """Copy backups to a second region; off when unset."""


class BudgetScope(enum.StrEnum):
    """What the monthly budget counts."""

    ACCOUNT = "account"
    """Every cost in the account: right when the account holds only this environment, and it
    cannot silently read $0."""
    ENVIRONMENT_TAG = "environment_tag"
    """Only costs tagged ``environment: <name>``. The ``environment`` cost allocation tag must
    be activated in Billing first, or the budget tracks nothing (see docs/operations.md)."""


class OperationsConfig(ConfigModel):
    """Alarm levels per signal; alarms exist only for what the phase creates."""

    error_rate_percent: PercentAbove | None = None
    """ALB target 5xx responses as a share of requests; required exactly when the phase has an ALB."""
    response_time_p95_seconds: SecondsAbove | None = None
    """ALB p95 ``TargetResponseTime``; required exactly when the phase has an ALB."""
    cpu_percent: PercentAbove
    """CPU of the database instances, the cache engines and the Auto Scaling groups."""
    database_connections_percent: PercentAbove
    """Open connections as a share of the instance class's ``max_connections``."""
    database_storage_used_percent: PercentAbove
    """Used share of the allocated storage (alarmed as ``FreeStorageSpace`` below the rest)."""
    cache_hit_rate_percent: PercentBelow | None = None
    """Hits as a share of lookups, per cache node; required exactly when the phase has a cache."""
    replica_lag_seconds: SecondsAbove
    """How far each read replica trails the primary."""
    alert_topics: AlertTopics
    """The critical and the warning topic and who each reaches."""
    recovery: RecoveryConfig
    """The phase's RPO and RTO."""
    response_time_p99_seconds: SecondsAbove | None = None
    """ALB p99 ``TargetResponseTime``: the tail the p95 hides."""
    load_balancer_error_rate_percent: PercentAbove | None = None
    """5xx the ALB itself answers (no healthy target, timeouts) as a share of all responses."""
    unhealthy_targets: CountAbove | None = None
    """Targets failing health checks, per target group (``UnHealthyHostCount`` above the level)."""
    healthy_targets: CountBelow | None = None
    """Healthy targets of each target group that carries traffic (``HealthyHostCount`` below the level)."""
    database_memory_used_percent: PercentAbove | None = None
    """Used share of the instance class's memory (alarmed as ``FreeableMemory`` below the rest)."""
    cache_memory_percent: PercentAbove | None = None
    """``DatabaseMemoryUsagePercentage`` of each cache node: used memory of ``maxmemory``."""
    cache_evictions_per_minute: CountAbove | None = None
    """Keys evicted a minute per cache node: the cache is too small for its working set."""
    node_memory_percent: PercentAbove | None = None
    """Memory of the hottest EKS node (Container Insights ``node_memory_utilization``: working set
    of the node's allocatable memory); raises alarms only where Container Insights runs."""
    node_disk_percent: PercentAbove | None = None
    """Root filesystem used on the fullest EKS node (Container Insights ``node_filesystem_utilization``)."""
    pod_cpu_percent: PercentAbove | None = None
    """CPU of the busiest pod of each watched namespace as a share of its CPU limit (Container
    Insights ``pod_cpu_utilization_over_pod_limit``; pods without a limit publish none)."""
    pod_memory_percent: PercentAbove | None = None
    """Memory of the pod of each watched namespace nearest its memory limit, where the kernel
    kills it (Container Insights ``pod_memory_utilization_over_pod_limit``)."""
    pgbouncer_clients_waiting_minutes: MinutesSustained | None = None
    """Minutes in a row that some PgBouncer pool had clients queued for a server connection
    (``cl_waiting`` above 0); raises alarms only where PgBouncer publishes pool metrics."""
    pgbouncer_max_wait_seconds: SecondsAbove | None = None
    """Age of the oldest client still waiting for a server connection, worst pool of any pod (``maxwait``)."""
    pgbouncer_pool_utilisation_percent: PercentAbove | None = None
    """Server connections in use (``sv_active``) as a share of the pool's ``default_pool_size``, busiest pool."""
    evaluation_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    """One-minute periods that must all breach before an alarm fires (and all recover before OK)."""
    cache_min_lookups_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    """Below this many lookups a minute a node's hit rate is noise (an idle replica, a deploy), not a signal."""
    budget_scope: BudgetScope = BudgetScope.ACCOUNT
    budget_forecast_percent: Annotated[int, Field(gt=0, le=200)] = 100
    """Notify when AWS forecasts the month's spend to pass this share of ``scaleplan:budget.monthly_usd``."""

    @model_validator(mode="after")
    def _every_severity_reaches_someone(self) -> OperationsConfig:
        for level in ("critical", "warning"):
            topic: AlertTopic = getattr(self.alert_topics, level)
            if not topic.owner_email and not topic.subscriptions:
                raise field_error(
                    f"alert_topics.{level}",
                    f"the {level} topic has no recipient: its alarms would notify no one; set owner_email: true "
                    "or list subscriptions (email or https)",
                )
        return self

    def signals(self) -> dict[str, Levels]:
        """Every configured signal's levels by its key in the stack file."""
        found = {name: getattr(self, name) for name in type(self).model_fields}
        return {name: value for name, value in found.items() if isinstance(value, Levels)}
