"""``scaleplan:operations`` in every stack file, and the stack files it refuses, line for line."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.loader import parse_phase_config
from infra.config.operations import BudgetScope
from tests.conftest import PHASES, phase_config
from tests.test_config_rejections import DELETE, base_config, changed, rejection

SEED_LEVELS = {
    # seeds 000/001, infrastructure/alerts.yml
    "error_rate_percent": (2, 5),
    "response_time_p95_seconds": (1, 2),
    "cpu_percent": (80, 90),
    "database_connections_percent": (None, 95),
    "database_storage_used_percent": (80, 95),  # 95% critical: seed 002 (FTW day-1 runbook)
    "cache_hit_rate_percent": (70, None),
    # seed 002: memory > 75% warning, > 90% critical
    "database_memory_used_percent": (75, 90),
    # the ALB's own 5xx at the seeds' error-rate levels
    "load_balancer_error_rate_percent": (2, 5),
}


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_states_the_seed_levels(phase: str) -> None:
    ops = phase_config(phase).operations
    for field, (warning, critical) in SEED_LEVELS.items():
        levels = getattr(ops, field)
        assert (levels.warning, levels.critical) == (warning, critical), field
    assert ops.budget_scope is BudgetScope.ACCOUNT
    # Critical pages, warnings mail: both reach the owner until a pager is listed.
    assert ops.alert_topics.critical.owner_email
    assert ops.alert_topics.warning.owner_email


CASES: list[tuple[str, str, Any, str]] = [
    (
        "warning_equal_to_critical",
        "operations.error_rate_percent",
        {"warning": 5},
        "scaleplan:operations.error_rate_percent.warning: must be below critical 5%: a warning comes before "
        "the page (got 5%)",
    ),
    (
        "warning_above_critical_seconds",
        "operations.response_time_p95_seconds",
        {"warning": 3},
        "scaleplan:operations.response_time_p95_seconds.warning: must be below critical 2 s: a warning comes "
        "before the page (got 3 s)",
    ),
    (
        "hit_rate_warning_below_critical",
        "operations.cache_hit_rate_percent",
        {"warning": 60, "critical": 70},
        "scaleplan:operations.cache_hit_rate_percent.warning: must be above critical 70%: for this signal lower "
        "is worse, so a warning comes at a higher value than the page (got 60%)",
    ),
    (
        "percent_above_range",
        "operations.cpu_percent.critical",
        120,
        "scaleplan:operations.cpu_percent.critical: must be < 100 (got 120)",
    ),
    (
        "percent_zero",
        "operations.database_connections_percent.critical",
        0,
        "scaleplan:operations.database_connections_percent.critical: must be > 0 (got 0)",
    ),
    (
        "quoted_level",
        "operations.cpu_percent.warning",
        "80",
        "scaleplan:operations.cpu_percent.warning: must be a number, not quoted text; remove the quotes (got '80')",
    ),
    (
        "unknown_level",
        "operations.error_rate_percent.page",
        10,
        "scaleplan:operations.error_rate_percent.page: unknown key; allowed keys here: critical, warning",
    ),
    (
        "unknown_budget_scope",
        "operations.budget_scope",
        "tag",
        "scaleplan:operations.budget_scope: must be one of 'account' or 'environment_tag' (got 'tag')",
    ),
    (
        "evaluation_minutes_zero",
        "operations.evaluation_minutes",
        0,
        "scaleplan:operations.evaluation_minutes: must be >= 1 (got 0)",
    ),
    (
        "unknown_signal",
        "operations.queue_depth",
        {"warning": 5},
        "scaleplan:operations.queue_depth: unknown key; allowed keys here: alert_topics, budget_forecast_percent, "
        "budget_scope, cache_evictions_per_minute, cache_hit_rate_percent, cache_memory_percent, "
        "cache_min_lookups_per_minute, cpu_percent, database_connections_percent, database_memory_used_percent, "
        "database_storage_used_percent, error_rate_percent, evaluation_minutes, healthy_targets, "
        "load_balancer_error_rate_percent, node_disk_percent, node_memory_percent, "
        "pgbouncer_clients_waiting_minutes, pgbouncer_max_wait_seconds, pgbouncer_pool_utilisation_percent, "
        "pod_cpu_percent, pod_memory_percent, recovery, replica_lag_seconds, response_time_p95_seconds, "
        "response_time_p99_seconds, unhealthy_targets",
    ),
    (
        "negative_evictions",
        "operations.cache_evictions_per_minute.warning",
        -1,
        "scaleplan:operations.cache_evictions_per_minute.warning: must be >= 0 (got -1)",
    ),
    (
        "memory_at_100",
        "operations.database_memory_used_percent.critical",
        100,
        "scaleplan:operations.database_memory_used_percent.critical: must be < 100 (got 100)",
    ),
    (
        "healthy_targets_warning_below_critical",
        "operations.healthy_targets",
        {"warning": 1, "critical": 2},
        "scaleplan:operations.healthy_targets.warning: must be above critical 2: for this signal lower is worse, "
        "so a warning comes at a higher value than the page (got 1)",
    ),
    (
        "alarms_without_a_recipient",
        "operations.alert_topics.critical",
        {"owner_email": False},
        "scaleplan:operations.alert_topics.critical: the critical topic has no recipient: its alarms would notify "
        "no one; set owner_email: true or list subscriptions (email or https)",
    ),
    (
        "missing_topic",
        "operations.alert_topics.warning",
        DELETE,
        "scaleplan:operations.alert_topics.warning: required, but missing from the stack file",
    ),
    (
        "plain_http_endpoint",
        "operations.alert_topics.warning.subscriptions",
        [{"protocol": "https", "endpoint": "http://chat.test/hook"}],
        "scaleplan:operations.alert_topics.warning.subscriptions[0].endpoint: must be an https:// URL for protocol "
        "https: alerts never travel in clear (got 'http://chat.test/hook')",
    ),
    (
        "sms_protocol",
        "operations.alert_topics.warning.subscriptions",
        [{"protocol": "sms", "endpoint": "+15550100"}],
        "scaleplan:operations.alert_topics.warning.subscriptions[0].protocol: must be one of 'email' or 'https' "
        "(got 'sms')",
    ),
    (
        "endpoint_twice",
        "operations.alert_topics.critical.subscriptions",
        [{"protocol": "email", "endpoint": "a@b.org"}, {"protocol": "email", "endpoint": "a@b.org"}],
        "scaleplan:operations.alert_topics.critical.subscriptions: lists an endpoint twice: a@b.org",
    ),
    (
        "url_as_email",
        "operations.alert_topics.warning.subscriptions",
        [{"protocol": "email", "endpoint": "https://x"}],
        "scaleplan:operations.alert_topics.warning.subscriptions[0].endpoint: must be an e-mail address for "
        "protocol email (got 'https://x')",
    ),
    (
        "missing_operations",
        "operations",
        DELETE,
        "scaleplan:operations: required, but missing from the stack file",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_rejects_bad_operations(path: str, value: Any, expected: str) -> None:
    assert rejection(changed(path, value)) == [f"Pulumi.growth.yaml: {expected}"]


def test_rejects_a_signal_with_no_level() -> None:
    config = base_config()
    config["scaleplan:operations"]["replica_lag_seconds"] = {}  # changed() would merge, keeping the levels
    assert rejection(config) == [
        "Pulumi.growth.yaml: scaleplan:operations.replica_lag_seconds.warning: state a warning or a critical "
        "level (or both); neither is set"
    ]


def test_accepts_the_environment_tag_scope() -> None:
    config = parse_phase_config(changed("operations.budget_scope", "environment_tag"), "Pulumi.growth.yaml")
    assert config.operations.budget_scope is BudgetScope.ENVIRONMENT_TAG
