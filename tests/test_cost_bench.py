"""The cost benchmark's table: estimate, budget, ratio against the target, cost per user."""

from __future__ import annotations

from bench.cost import PhaseCost, render
from infra.cost.section import phase_estimate
from tests.conftest import built_phase, phase_config


def test_bench_row_shows_ratio_target_and_cost_per_user() -> None:
    config = phase_config("optimize")
    result = phase_estimate(config, built_phase("optimize"))
    cost = PhaseCost("optimize", result, config.budget.monthly_usd, 0.30, config.capacity.users_max)
    row = render([cost], lines=1).splitlines()[1]
    ratio = result.total_usd / 7000
    assert row.split()[:5] == ["optimize", f"{result.total_usd:,.2f}", "7,000", f"{ratio:.1%}", "30%"]
    assert row.split()[5] == ("ok" if ratio <= 0.30 else "OVER")
    assert row.split()[-1] == f"{result.total_usd / 300_000:.4f}"
