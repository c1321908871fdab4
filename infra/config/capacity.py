"""``scaleplan:capacity``: the demand a phase must serve, in the seed plan's own terms."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from infra.config.base import ConfigModel

Ratio = Annotated[float, Field(gt=0, le=1)]


class CapacityConfig(ConfigModel):
    """Users at the top of the phase and the ratios that turn them into peak load.

    The seed plan's figures: 40% of users active daily, 12.5% of those at once at peak,
    and 300k users giving ~600 requests/s at peak, i.e. 0.04 requests/s per concurrent user.
    """

    users_max: Annotated[int, Field(gt=0, le=100_000_000)]
    daily_active_ratio: Ratio
    peak_concurrency_ratio: Ratio
    """Share of daily active users online at the busiest moment."""
    requests_per_concurrent_user_per_second: Annotated[float, Field(gt=0, le=100)]
    peak_to_average_ratio: Annotated[float, Field(ge=1, le=20)]
    """Peak RPS over average RPS (seed: ~600 / ~200 = 3)."""
    headroom_factor: Annotated[float, Field(ge=1, le=5)]
    """Spare capacity above the computed peak (1.5 = 50% above peak)."""
    requests_per_second_per_vcpu: Annotated[float, Field(gt=0, le=10_000)]
    """Measured application throughput of one vCPU at the target latency."""
