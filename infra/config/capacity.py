"""``scaleplan:capacity``: the demand a phase must serve, in the seed plan's own terms."""

from __future__ import annotations

import enum
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


class BurstSizing(enum.StrEnum):
    """How the checks count a burstable (T) class, and what its CPU above the baseline costs.

    - ``baseline``: the class counts at its CPU-credit baseline (t4g.large: 2 x 30% = 0.6
      vCPUs), so the load never outruns the credits it earns and no surplus credit is ever
      billed. Conservative: it buys several times the vCPUs a short peak needs.
    - ``unlimited``: the class runs in AWS's unlimited mode (EC2 T4g's default, and the only
      mode of RDS db.t4g): the peak is checked against its full vCPUs, and the plan's daily
      average load against its baseline; the average above the baseline is billed as surplus
      CPU credits, which ``scaleplan:usage`` must state at least as the capacity model computes
      them (:mod:`infra.capacity`, :mod:`infra.data_tier_capacity`), priced per vCPU-hour in
      infra/cost/prices.yaml.
    """

    BASELINE = "baseline"
    UNLIMITED = "unlimited"
