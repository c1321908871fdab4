"""``scaleplan:budget``: what a phase may spend each month."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from infra.config.base import ConfigModel


class BudgetConfig(ConfigModel):
    monthly_usd: Annotated[float, Field(gt=0, le=10_000_000)]
    alert_thresholds_percent: Annotated[
        tuple[Annotated[int, Field(gt=0, le=200)], ...], Field(min_length=1, max_length=5)
    ] = (50, 80, 100)
    """Actual-spend percentages of ``monthly_usd`` that notify the environment owner."""
    estimate_target_percent: Annotated[int, Field(gt=0, le=100)] = 50
    """The estimated steady-state cost (infra/cost) should stay at or under this share of
    ``monthly_usd``, leaving room for what an estimate cannot see (bursts, support, tax)."""
