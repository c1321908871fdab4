"""The capacity model: from users to peak requests per second to the compute a phase needs.

Pure functions with no Pulumi in them, so they are tested directly and reused by the config
validators, the compute sizing and the offline plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.config.capacity import CapacityConfig


@dataclass(frozen=True)
class Demand:
    """The load a phase must serve at its top end."""

    daily_active_users: float
    peak_concurrent_users: float
    peak_requests_per_second: float
    average_requests_per_second: float
    required_vcpus: int
    """Whole vCPUs that serve the peak with the configured headroom."""
    demand_vcpus: float
    """The same before rounding up: what sustained (burstable: baseline) vCPUs must cover."""


def daily_active_users(users: int, daily_active_ratio: float) -> float:
    return users * daily_active_ratio


def peak_concurrent_users(daily_active: float, peak_concurrency_ratio: float) -> float:
    return daily_active * peak_concurrency_ratio


def peak_requests_per_second(concurrent_users: float, requests_per_user_per_second: float) -> float:
    return concurrent_users * requests_per_user_per_second


def demand_vcpus(rate: float, headroom_factor: float, rate_per_vcpu: float) -> float:
    """vCPUs (fractional) that serve ``rate`` with ``headroom_factor`` to spare, rounded to 9 places so
    that float noise never decides a comparison."""
    return round(rate * headroom_factor / rate_per_vcpu, 9)


def required_vcpus(peak_rps: float, headroom_factor: float, requests_per_second_per_vcpu: float) -> int:
    """Whole vCPUs needed to serve ``peak_rps`` with ``headroom_factor`` to spare."""
    # Round before ceil so that float noise (600 * 1.5 / 50 = 18.000000000000004) does not add a vCPU.
    return max(1, math.ceil(round(peak_rps * headroom_factor / requests_per_second_per_vcpu, 9)))


def demand(capacity: CapacityConfig) -> Demand:
    dau = daily_active_users(capacity.users_max, capacity.daily_active_ratio)
    concurrent = peak_concurrent_users(dau, capacity.peak_concurrency_ratio)
    peak = peak_requests_per_second(concurrent, capacity.requests_per_concurrent_user_per_second)
    return Demand(
        daily_active_users=dau,
        peak_concurrent_users=concurrent,
        peak_requests_per_second=peak,
        average_requests_per_second=peak / capacity.peak_to_average_ratio,
        required_vcpus=required_vcpus(peak, capacity.headroom_factor, capacity.requests_per_second_per_vcpu),
        demand_vcpus=demand_vcpus(peak, capacity.headroom_factor, capacity.requests_per_second_per_vcpu),
    )


HOURS_PER_MONTH = 730
"""The cost catalog's month (infra/cost/prices.yaml ``hours_per_month``; a test keeps them equal)."""


def average_vcpus(rate: float, rate_per_vcpu: float) -> float:
    """vCPUs busy on average at ``rate``: no headroom, which is spare capacity kept for the peak
    and never used on average (surplus credits are billed on the CPU actually used)."""
    return round(rate / rate_per_vcpu, 9)


def surplus_credit_vcpu_hours(average: float, baseline: float, hours: float = HOURS_PER_MONTH) -> float:
    """vCPU-hours a month that a burstable server in unlimited mode uses above the credits it
    earns: AWS bills them when the 24-hour average exceeds the baseline. Taken from the monthly
    average, i.e. every day like the average day (a busier day costs more, a quieter one less)."""
    return round(max(0.0, average - baseline) * hours, 6)


def application_surplus_credit_vcpu_hours(capacity: CapacityConfig, desired_baseline_vcpus: float) -> float:
    """The application's average load (peak / ``peak_to_average_ratio``) above the credit baseline
    of its instances at their desired size."""
    load = demand(capacity)
    return surplus_credit_vcpu_hours(
        average_vcpus(load.average_requests_per_second, capacity.requests_per_second_per_vcpu), desired_baseline_vcpus
    )


@dataclass(frozen=True)
class CapacityCheck:
    required_vcpus: int
    available_vcpus: float
    """vCPUs at maximum sizes that serve the peak: a burstable type counts at its CPU-credit
    baseline (``InstanceType.sustained_vcpus``), or at its full vCPUs under ``burst_sizing:
    unlimited``; every other type at its vCPUs."""
    demand_vcpus: float
    """``required_vcpus`` before rounding up: what ``available_vcpus`` must cover. A whole vCPU of
    demand is not rounded up for a fraction of one: two t4g.nano sustain 0.2 vCPUs, enough for a
    demand of 0.05, not for 1."""

    @property
    def passes(self) -> bool:
        # Some compute, however small the demand: a demand rounded to 0 still needs a server.
        return self.available_vcpus > 0 and round(self.available_vcpus, 9) >= self.demand_vcpus

    @property
    def shortfall_vcpus(self) -> float:
        return round(max(0.0, self.demand_vcpus - self.available_vcpus), 2)


def check_capacity(capacity: CapacityConfig, available_vcpus: float) -> CapacityCheck:
    load = demand(capacity)
    return CapacityCheck(
        required_vcpus=load.required_vcpus, available_vcpus=available_vcpus, demand_vcpus=load.demand_vcpus
    )
