"""How long each version a phase pins stays in standard support, judged on a given date.

Pure functions of a validated config and a date, so that tests pin the date. The offline plan
shows every pinned version with its end of standard support (:mod:`infra.plan.support_section`);
a version that leaves standard support within :data:`WARN_WITHIN_DAYS` is a warning, and one
already out of it is an error: the plan exits non-zero and ``pulumi up`` refuses the stack file
(:func:`refuse_unsupported_versions`), before AWS upgrades it under the stack or bills extended
support.

The run date is :func:`run_date`: set by the plan's ``--today``, else the ``SCALEPLAN_TODAY``
environment variable (``YYYY-MM-DD``), else today's date (UTC).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from infra.catalog.versions import eks_versions, elasticache_engine_versions, rds_postgresql_majors
from infra.config import PhaseConfig
from infra.config.eks import SupportType
from infra.config.errors import PhaseConfigError

WARN_WITHIN_DAYS = 90
"""A pinned version that leaves standard support within this many days is a warning."""
TODAY_ENV = "SCALEPLAN_TODAY"

_override: date | None = None


def set_run_date(today: date | None) -> None:
    """Judge support on ``today`` instead of the real date (``None`` restores the default)."""
    global _override  # noqa: PLW0603 - one process-wide setting, made by the plan command's flag
    _override = today


def parse_run_date(text: str) -> date:
    """``2027-03-01`` -> a date; ``ValueError`` naming the expected form otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date in the form YYYY-MM-DD (got {text!r})") from None


def run_date() -> date:
    """The date support is judged on: ``--today``, else ``$SCALEPLAN_TODAY``, else today (UTC)."""
    if _override is not None:
        return _override
    text = os.environ.get(TODAY_ENV)
    if text:
        try:
            return parse_run_date(text)
        except ValueError as exc:
            raise PhaseConfigError(TODAY_ENV, [str(exc)]) from None
    return datetime.now(UTC).date()


class SupportLevel(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class SupportStatus:
    """One pinned version judged on one date."""

    key: str
    """The stack-file key that pins it (``scaleplan:eks.kubernetes_version``)."""
    pinned: str
    """What is pinned, as a reader names it (``EKS Kubernetes 1.35``)."""
    end_of_standard_support: date | None
    """``None``: no end date has been announced."""
    days_left: int | None
    level: SupportLevel
    message: str


def judge(
    key: str,
    pinned: str,
    end: date | None,
    today: date,
    past_end: str,
    *,
    past_end_level: SupportLevel = SupportLevel.ERROR,
) -> SupportStatus:
    """The status of a version whose standard support ends on ``end`` (``None``: not announced).

    Standard support ends at the start of ``end`` (UTC): on that day the version is out of it.
    ``past_end`` says what happens then, and the fix; ``past_end_level`` is how serious it is.
    """
    if end is None:
        return SupportStatus(key, pinned, None, None, SupportLevel.OK, "no end of standard support announced")
    days_left = (end - today).days
    if days_left <= 0:
        message = f"left standard support on {end.isoformat()}: {past_end}"
        return SupportStatus(key, pinned, end, days_left, past_end_level, message)
    if days_left <= WARN_WITHIN_DAYS:
        message = f"leaves standard support on {end.isoformat()}, in {days_left} days: plan the upgrade now"
        return SupportStatus(key, pinned, end, days_left, SupportLevel.WARNING, message)
    return SupportStatus(key, pinned, end, days_left, SupportLevel.OK, f"standard support until {end.isoformat()}")


def _eks_status(config: PhaseConfig, today: date) -> SupportStatus | None:
    if config.eks is None:
        return None
    eks = config.eks
    version = eks_versions()[eks.kubernetes_version]
    key = "scaleplan:eks.kubernetes_version"
    pinned = f"EKS Kubernetes {version.version}"
    if eks.support_type is SupportType.STANDARD or today < version.end_of_standard_support:
        return judge(
            key,
            pinned,
            version.end_of_standard_support,
            today,
            "with support_type STANDARD, EKS upgrades the control plane to the next version on its own "
            "schedule and a new cluster on it is refused or upgraded; pin a newer version from the catalog",
        )
    # support_type EXTENDED, past the end of standard support: allowed, at the extended fee, until
    # extended support ends too.
    days_left = (version.end_of_standard_support - today).days
    if today >= version.end_of_extended_support:
        return SupportStatus(
            key,
            pinned,
            version.end_of_standard_support,
            days_left,
            SupportLevel.ERROR,
            f"left extended support too on {version.end_of_extended_support.isoformat()}: EKS upgrades the "
            "control plane; pin a newer version from the catalog",
        )
    return SupportStatus(
        key,
        pinned,
        version.end_of_standard_support,
        days_left,
        SupportLevel.WARNING,
        f"in extended support since {version.end_of_standard_support.isoformat()} (support_type EXTENDED: "
        f"billed the extended per-cluster-hour fee) until {version.end_of_extended_support.isoformat()}",
    )


def _database_status(config: PhaseConfig, today: date) -> SupportStatus:
    major = rds_postgresql_majors()[config.database.major_version]
    return judge(
        "scaleplan:database.engine_version",
        f"RDS for PostgreSQL {major.major}",
        major.end_of_standard_support,
        today,
        "RDS enrolls the instance in RDS Extended Support (billed per vCPU-hour); upgrade to a newer major",
    )


def _cache_status(config: PhaseConfig, today: date) -> SupportStatus | None:
    cache = config.cache
    if cache is None:
        return None
    entry = elasticache_engine_versions()[(cache.engine.value, cache.engine_version)]
    return judge(
        "scaleplan:cache.engine_version",
        f"ElastiCache {entry.engine} {entry.version}",
        entry.end_of_standard_support,
        today,
        "ElastiCache bills extended support or upgrades the engine; pin a newer version from the catalog",
    )


def support_statuses(config: PhaseConfig, today: date) -> list[SupportStatus]:
    """Every version ``config`` pins, judged on ``today`` (EKS only where the phase runs it)."""
    statuses = [_eks_status(config, today), _database_status(config, today), _cache_status(config, today)]
    return [status for status in statuses if status is not None]


def errors(statuses: Sequence[SupportStatus]) -> list[SupportStatus]:
    return [status for status in statuses if status.level is SupportLevel.ERROR]


def refuse_unsupported_versions(config: PhaseConfig, source: str, today: date) -> None:
    """Refuse a stack file that pins a version already out of standard support on ``today``."""
    found = errors(support_statuses(config, today))
    if found:
        raise PhaseConfigError(
            source,
            [f"{status.key}: {status.pinned} {status.message} (judged on {today.isoformat()})" for status in found],
        )
