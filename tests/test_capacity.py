"""The capacity model: users -> daily active -> concurrent -> peak RPS -> vCPUs."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.capacity import check_capacity, demand, required_vcpus
from infra.config.capacity import CapacityConfig

# The seed plan's ratios (seeds 000 and 001): DAU 40% of users, 12.5% of DAU at once at
# peak, 300k users -> ~600 RPS peak and ~200 average.
SEED = {
    "daily_active_ratio": 0.4,
    "peak_concurrency_ratio": 0.125,
    "requests_per_concurrent_user_per_second": 0.04,
    "peak_to_average_ratio": 3.0,
    "headroom_factor": 1.5,
    "requests_per_second_per_vcpu": 25.0,
}


def capacity(users: int, **overrides: float) -> CapacityConfig:
    return CapacityConfig(users_max=users, **{**SEED, **overrides})


def test_seed_300k_users_give_600_peak_rps() -> None:
    load = demand(capacity(300_000))
    assert load.daily_active_users == pytest.approx(120_000)
    assert load.peak_concurrent_users == pytest.approx(15_000)
    assert load.peak_requests_per_second == pytest.approx(600)
    assert load.average_requests_per_second == pytest.approx(200)
    # 600 RPS x 1.5 headroom / 25 RPS per vCPU = 36, not 37 from float noise.
    assert load.required_vcpus == 36


@pytest.mark.parametrize(
    ("users", "dau", "concurrent"),
    [(5_000, 2_000, 250), (25_000, 10_000, 1_250), (100_000, 40_000, 5_000), (300_000, 120_000, 15_000)],
)
def test_matches_the_seed_phase_table(users: int, dau: int, concurrent: int) -> None:
    load = demand(capacity(users))
    assert load.daily_active_users == pytest.approx(dau)
    assert load.peak_concurrent_users == pytest.approx(concurrent)


def test_required_vcpus_never_drops_below_one() -> None:
    assert required_vcpus(0.001, 1.0, 1000) == 1


def test_a_fraction_of_a_vcpu_is_covered_by_sustained_fractions() -> None:
    # 5,000 users: 10 requests/s x 1.5 / 25 per vCPU = 0.6 vCPUs, rounded up to 1 for display only.
    check = check_capacity(capacity(5_000), available_vcpus=0.8)
    assert (check.passes, check.required_vcpus, check.demand_vcpus, check.shortfall_vcpus) == (True, 1, 0.6, 0)
    short = check_capacity(capacity(5_000), available_vcpus=0.2)
    assert (short.passes, short.shortfall_vcpus) == (False, 0.4)


def test_check_reports_the_shortfall() -> None:
    check = check_capacity(capacity(300_000), available_vcpus=30)
    assert (check.passes, check.required_vcpus, check.shortfall_vcpus) == (False, 36, 6)
    assert check_capacity(capacity(300_000), available_vcpus=36).passes


users_st = st.integers(min_value=1, max_value=100_000_000)
ratio_st = st.floats(min_value=0.001, max_value=1.0)
capacity_st = st.builds(
    CapacityConfig,
    users_max=users_st,
    daily_active_ratio=ratio_st,
    peak_concurrency_ratio=ratio_st,
    requests_per_concurrent_user_per_second=st.floats(min_value=0.001, max_value=100),
    peak_to_average_ratio=st.floats(min_value=1, max_value=20),
    headroom_factor=st.floats(min_value=1, max_value=5),
    requests_per_second_per_vcpu=st.floats(min_value=0.1, max_value=10_000),
)


@given(capacity_st, users_st)
def test_demand_is_monotonic_in_users(config: CapacityConfig, other_users: int) -> None:
    fewer, more = sorted((config.users_max, other_users))
    low = demand(config.model_copy(update={"users_max": fewer}))
    high = demand(config.model_copy(update={"users_max": more}))
    assert low.peak_requests_per_second <= high.peak_requests_per_second
    assert low.average_requests_per_second <= high.average_requests_per_second
    assert low.required_vcpus <= high.required_vcpus


@given(capacity_st)
def test_required_vcpus_cover_peak_with_headroom_and_no_more(config: CapacityConfig) -> None:
    load = demand(config)
    target = load.peak_requests_per_second * config.headroom_factor
    served = load.required_vcpus * config.requests_per_second_per_vcpu
    assert served >= target * (1 - 1e-9)
    # One vCPU fewer would not do (unless the minimum of one already covers it).
    if load.required_vcpus > 1:
        assert (load.required_vcpus - 1) * config.requests_per_second_per_vcpu < target * (1 + 1e-9)


@given(capacity_st, st.floats(min_value=1, max_value=5))
def test_more_headroom_never_needs_fewer_vcpus(config: CapacityConfig, other: float) -> None:
    low, high = sorted((config.headroom_factor, other))
    assert (
        demand(config.model_copy(update={"headroom_factor": low})).required_vcpus
        <= demand(config.model_copy(update={"headroom_factor": high})).required_vcpus
    )


@given(capacity_st)
def test_average_is_peak_over_the_ratio(config: CapacityConfig) -> None:
    load = demand(config)
    assert math.isclose(load.average_requests_per_second * config.peak_to_average_ratio, load.peak_requests_per_second)


@given(capacity_st, st.integers(min_value=0, max_value=100_000))
def test_check_passes_exactly_when_available_covers_required(config: CapacityConfig, available: int) -> None:
    check = check_capacity(config, available)
    # Whole vCPUs available: covering the unrounded demand is covering its whole-vCPU ceiling.
    assert check.passes == (available >= check.required_vcpus)
    assert check.shortfall_vcpus == round(max(0.0, check.demand_vcpus - available), 2)
