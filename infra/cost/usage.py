"""Suggested ``scaleplan:usage`` figures, derived from the capacity model and the seed plan.

The stack files state usage explicitly; ``tests/test_cost_usage.py`` checks that no phase
states less than these suggestions, so that a phase is never priced on usage its own
capacity model says it exceeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.capacity import demand
from infra.config.capacity import CapacityConfig
from infra.config.network import InterfaceEndpoint, NatStrategy, NetworkConfig
from infra.config.usage import UsageConfig

SECONDS_PER_MONTH = 730 * 3600
_DAYS = 365 / 12


@dataclass(frozen=True, kw_only=True)
class SeedRatios:
    """Per-user and per-request ratios; each says where it comes from."""

    bandwidth_gb_per_user_month: float
    """Seed 000: 39 TB/month of bandwidth at 300k users."""
    cdn_cache_hit_ratio: float
    """Seed 000: 95% CDN cache hit ratio target."""
    stored_media_gb_per_user: float
    """Seed 001: ~6.2 TB stored in year 1 (photos 2.46 TB, videos 3.66 TB, documents 40 GB) at 300k users."""
    media_uploads_per_user_month: float
    """Seed 001: 3,000+ photos/day at 300k users."""
    class_a_operations_per_upload: float
    """Assumption: one PutObject plus one multipart/list call on average."""
    average_media_object_bytes: float
    """Seed 001: 2.46 TB of photos from 3,000 photos/day over a year."""
    nat_bytes_per_request: float
    """Assumption: third-party API calls (OpenAI, Stripe, Twilio, SendGrid) and image pulls per request."""
    log_bytes_per_request: float
    """Assumption: access log line, application log lines and the VPC flow-log share per request."""
    requests_per_connection: float
    """Assumption: keep-alive requests per new ALB connection from the CDN."""
    listener_rules_evaluated_per_request: float
    """Assumption: rules evaluated per request; the first 10 are free, so this is what exceeds them."""
    database_gb_per_user: float
    """Seed 001: ~7.5 GB of key-value data at 300k users."""
    backup_copies: float
    """Assumption: a full copy plus a month of daily increments is about two copies."""
    ecr_storage_gb: float
    """Assumption: 30 retained images of ~0.15 GB (seed 001: multi-stage Node 20 Alpine image)."""
    access_log_bytes_per_request: float
    """Assumption: one gzip-compressed ALB access-log entry (~1 KB of text compresses ~10x)."""


FAIRTRADEWORKER = SeedRatios(
    bandwidth_gb_per_user_month=39_000 / 300_000,
    cdn_cache_hit_ratio=0.95,
    stored_media_gb_per_user=(2_460 + 3_660 + 40) / 300_000,
    media_uploads_per_user_month=3_000 * 365 / 12 / 300_000,
    class_a_operations_per_upload=2,
    average_media_object_bytes=2.46e12 / (3_000 * 365),
    nat_bytes_per_request=5_000,
    log_bytes_per_request=1_000,
    requests_per_connection=10,
    listener_rules_evaluated_per_request=0,
    database_gb_per_user=7.5 / 300_000,
    backup_copies=2,
    ecr_storage_gb=30 * 0.15,
    access_log_bytes_per_request=100,
)

# The dimensions of one ALB LCU (https://aws.amazon.com/elasticloadbalancing/pricing/).
_LCU_NEW_CONNECTIONS_PER_SECOND = 25
_LCU_PROCESSED_GB_PER_HOUR = 1
_LCU_RULE_EVALUATIONS_PER_SECOND = 1_000


def requests_per_month(capacity: CapacityConfig) -> float:
    return demand(capacity).average_requests_per_second * SECONDS_PER_MONTH


def alb_lcus(capacity: CapacityConfig, origin_gb_per_month: float, seed: SeedRatios) -> float:
    """Average LCUs: the largest of the new-connection, processed-bytes and rule dimensions."""
    average_rps = demand(capacity).average_requests_per_second
    return max(
        average_rps / seed.requests_per_connection / _LCU_NEW_CONNECTIONS_PER_SECOND,
        origin_gb_per_month / 730 / _LCU_PROCESSED_GB_PER_HOUR,
        average_rps * seed.listener_rules_evaluated_per_request / _LCU_RULE_EVALUATIONS_PER_SECOND,
    )


def _up(value: float) -> float:
    """Whole gigabytes (or LCU tenths), rounded up so that a suggestion never understates."""
    return float(math.ceil(round(value, 6)))


def suggest_usage(
    capacity: CapacityConfig,
    network: NetworkConfig,
    *,
    seed: SeedRatios = FAIRTRADEWORKER,
    has_alb: bool = True,
    has_r2: bool = True,
    access_log_retention_days: int = 0,
) -> UsageConfig:
    """The usage a phase's capacity implies.

    - Internet egress: all CDN cache misses, priced as if the AWS origin served every one
      (an upper bound: misses on media go to R2, whose egress is free).
    - R2 reads: every miss is also priced as a media read (the same upper bound, other side).
    - Logs go through the ``logs`` interface endpoint when the phase has one, else through NAT.
    - S3 holds the ALB access logs kept ``access_log_retention_days`` (0: none written to S3).
    """
    users = capacity.users_max
    requests = requests_per_month(capacity)
    origin_gb = users * seed.bandwidth_gb_per_user_month * (1 - seed.cdn_cache_hit_ratio)
    log_gb = requests * seed.log_bytes_per_request / 1e9
    logs_via_endpoint = InterfaceEndpoint.LOGS in network.interface_endpoints
    has_nat = network.nat_strategy is not NatStrategy.NONE
    nat_gb = requests * seed.nat_bytes_per_request / 1e9 + (0 if logs_via_endpoint else log_gb)
    uploads = users * seed.media_uploads_per_user_month
    return UsageConfig(
        nat_processed_gb_per_month=_up(nat_gb) if has_nat else 0.0,
        internet_egress_gb_per_month=_up(origin_gb),
        interface_endpoint_processed_gb_per_month=_up(log_gb) if logs_via_endpoint else 0.0,
        log_ingestion_gb_per_month=_up(log_gb),
        alb_average_lcus=math.ceil(alb_lcus(capacity, origin_gb, seed) * 10) / 10 if has_alb else 0.0,
        r2_storage_gb=_up(users * seed.stored_media_gb_per_user) if has_r2 else 0.0,
        r2_class_a_operations_per_month=math.ceil(uploads * seed.class_a_operations_per_upload) if has_r2 else 0,
        r2_class_b_operations_per_month=(math.ceil(origin_gb * 1e9 / seed.average_media_object_bytes) if has_r2 else 0),
        rds_backup_storage_gb_beyond_free=0.0,
        aws_backup_storage_gb=_up(users * seed.database_gb_per_user * seed.backup_copies),
        s3_storage_gb=_up(requests * seed.access_log_bytes_per_request / 1e9 * access_log_retention_days / _DAYS),
        ecr_storage_gb=_up(seed.ecr_storage_gb),
    )
