"""The plan's capacity section: the demand of the phase and the compute that serves it."""

from __future__ import annotations

from infra.capacity import check_capacity, demand
from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register


@register
def capacity_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Users to peak requests per second to vCPUs, against what the compute config can reach.

    Fails when the compute at its maximum sizes cannot serve the peak with the headroom, or the
    data tier cannot carry it; the config validator already refuses such a file, so this guards
    the report, not the user.
    """
    capacity = config.capacity
    load = demand(capacity)
    check = check_capacity(capacity, config.compute.sustained_application_vcpus())
    rows: list[list[Cell]] = [
        ["users (top of phase)", capacity.users_max, "scaleplan:capacity.users_max"],
        [
            "daily active users",
            round(load.daily_active_users),
            f"{capacity.daily_active_ratio:g} of users",
        ],
        [
            "peak concurrent users",
            round(load.peak_concurrent_users),
            f"{capacity.peak_concurrency_ratio:g} of daily active",
        ],
        [
            "peak requests/s",
            round(load.peak_requests_per_second, 1),
            f"{capacity.requests_per_concurrent_user_per_second:g} per concurrent user",
        ],
        [
            "average requests/s",
            round(load.average_requests_per_second, 1),
            f"peak / {capacity.peak_to_average_ratio:g}",
        ],
        [
            "required vCPUs",
            check.required_vcpus,
            f"peak × {capacity.headroom_factor:g} headroom / {capacity.requests_per_second_per_vcpu:g} req/s per vCPU",
        ],
        [
            "available vCPUs",
            check.available_vcpus,
            "application compute at maximum sizes, sustained (burstable types at their CPU-credit baseline, "
            "or at full vCPUs under burst_sizing: unlimited)",
        ],
    ]
    # The data tier, from the same peak (the data tier section shows the arithmetic).
    requirements = config.data_tier_requirements()
    rows.extend(
        [
            f"{requirement.what} needed / available",
            requirement.needed_of_available(),
            f"scaleplan:{requirement.key}",
        ]
        for requirement in requirements
    )
    short = [requirement for requirement in requirements if not requirement.passes]
    verdict = (
        f"compute covers the peak: {check.available_vcpus:g} sustained vCPUs available for "
        f"{check.demand_vcpus:g} needed"
        if check.passes
        else f"compute is {check.shortfall_vcpus:g} vCPUs short of the {check.demand_vcpus:g} the peak needs"
    )
    data_verdict = (
        f"the data tier carries the peak: {len(requirements)} figures checked"
        if not short
        else "the data tier cannot carry the peak: " + "; ".join(requirement.figures() for requirement in short)
    )
    return Section(
        title="Capacity",
        columns=("figure", "value", "from"),
        rows=rows,
        notes=[verdict, data_verdict],
        failed=not check.passes or bool(short),
        data={
            "users_max": capacity.users_max,
            "daily_active_users": round(load.daily_active_users, 1),
            "peak_concurrent_users": round(load.peak_concurrent_users, 1),
            "peak_requests_per_second": round(load.peak_requests_per_second, 1),
            "average_requests_per_second": round(load.average_requests_per_second, 1),
            "required_vcpus": check.required_vcpus,
            "available_vcpus": check.available_vcpus,
            "shortfall_vcpus": check.shortfall_vcpus,
            "demand_vcpus": check.demand_vcpus,
            "data_tier_short": [requirement.what for requirement in short],
        },
    )
