"""Suggested usage from the capacity model, and the stack files never stating less."""

from __future__ import annotations

import pytest

from infra.config.network import NatStrategy
from infra.cost.usage import FAIRTRADEWORKER, requests_per_month, suggest_usage
from tests.conftest import PHASES, phase_config


@pytest.mark.parametrize("phase", PHASES)
def test_stack_usage_is_not_below_the_capacity_model(phase: str) -> None:
    config = phase_config(phase)
    stated = config.usage.model_dump()
    logs = config.load_balancer.access_logs
    retention = logs.retention_days if logs.enabled and logs.existing_bucket_name is None else 0
    suggested = suggest_usage(config.capacity, config.network, access_log_retention_days=retention).model_dump()
    below = {key: (stated[key], value) for key, value in suggested.items() if stated[key] < value}
    assert not below, f"Pulumi.{phase}.yaml states less usage than its capacity implies: {below}"


def test_optimize_usage_reproduces_the_seed_figures() -> None:
    config = phase_config("optimize")
    assert config.capacity.users_max == 300_000
    usage = suggest_usage(config.capacity, config.network)
    # Seed 000: 39 TB/month at 300k users, 95% cache hit -> 5% of 39,000 GB reach the origin.
    assert usage.internet_egress_gb_per_month == pytest.approx(39_000 * 0.05)
    # Seed 001: ~6.2 TB stored after year 1.
    assert usage.r2_storage_gb == pytest.approx(6_160)
    # 600 RPS peak / 3 = 200 RPS average, over 730 hours.
    assert requests_per_month(config.capacity) == pytest.approx(200 * 730 * 3600)


def test_logs_go_through_nat_without_a_logs_endpoint() -> None:
    config = phase_config("growth")
    assert "logs" not in config.network.interface_endpoints
    usage = suggest_usage(config.capacity, config.network)
    requests = requests_per_month(config.capacity)
    assert usage.interface_endpoint_processed_gb_per_month == 0
    expected = requests * (FAIRTRADEWORKER.nat_bytes_per_request + FAIRTRADEWORKER.log_bytes_per_request) / 1e9
    assert usage.nat_processed_gb_per_month == pytest.approx(expected, abs=1)


def test_no_nat_traffic_without_nat() -> None:
    config = phase_config("growth")
    network = config.network.model_copy(update={"nat_strategy": NatStrategy.NONE})
    assert suggest_usage(config.capacity, network).nat_processed_gb_per_month == 0
