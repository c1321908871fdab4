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

    error_rate_percent: PercentAbove
    """ALB target 5xx responses as a share of requests."""
    response_time_p95_seconds: SecondsAbove
    """ALB p95 ``TargetResponseTime``."""
    cpu_percent: PercentAbove
    """CPU of the database instances, the cache engines and the Auto Scaling groups."""
    database_connections_percent: PercentAbove
    """Open connections as a share of the instance class's ``max_connections``."""
    database_storage_used_percent: PercentAbove
    """Used share of the allocated storage (alarmed as ``FreeStorageSpace`` below the rest)."""
    cache_hit_rate_percent: PercentBelow
    """Hits as a share of lookups, per cache node."""
    replica_lag_seconds: SecondsAbove
    """How far each read replica trails the primary."""
    evaluation_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    """One-minute periods that must all breach before an alarm fires (and all recover before OK)."""
    cache_min_lookups_per_minute: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    """Below this many lookups a minute a node's hit rate is noise (an idle replica, a deploy), not a signal."""
    budget_scope: BudgetScope = BudgetScope.ACCOUNT
    budget_forecast_percent: Annotated[int, Field(gt=0, le=200)] = 100
    """Notify when AWS forecasts the month's spend to pass this share of ``scaleplan:budget.monthly_usd``."""
