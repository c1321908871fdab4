"""The plan's cost section: the top cost lines, the total, and the total against the budget."""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.cost.catalog import UnknownPriceError, UnknownRegionError, price_catalog
from infra.cost.estimate import Estimate, estimate, from_captured
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register

TOP_LINES = 10


def phase_estimate(config: PhaseConfig, run: ProgramRun) -> Estimate:
    """The phase's estimate at the prices of its own region (``scaleplan:environment.region``)."""
    return estimate(from_captured(run.resources), config.usage, region=config.environment.region)


def budget_ratio(total_usd: float, config: PhaseConfig) -> float:
    return total_usd / config.budget.monthly_usd


@register
def cost_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Fails when the estimate exceeds the budget, or when something cannot be priced."""
    budget = config.budget
    target = budget.estimate_target_percent / 100
    try:
        result = phase_estimate(config, run)
    except UnknownPriceError as exc:
        regional = isinstance(exc, UnknownRegionError) or config.environment.region != price_catalog().region
        problem = f"scaleplan:environment.region {config.environment.region!r}: {exc}" if regional else str(exc)
        return Section(title="Cost", columns=("problem",), rows=[[problem]], notes=["cannot estimate"], failed=True)
    total = result.total_usd
    ratio = budget_ratio(total, config)
    rows: list[list[Cell]] = [
        [
            line.name,
            line.item,
            round(line.quantity, 2),
            line.unit,
            f"{line.unit_price_usd:.4f}",
            round(line.monthly_usd, 2),
        ]
        for line in result.top(TOP_LINES)
    ]
    notes = [
        f"estimated ${total:,.2f}/month over {len(result.lines)} lines (top {min(TOP_LINES, len(result.lines))} shown)",
        f"budget ${budget.monthly_usd:,.2f}/month: {ratio:.1%} of it, target at most {target:.0%} "
        f"({'within' if ratio <= target else 'ABOVE'} target)",
        "730 h/month; groups at desired size; spot at the catalog's documented discount; "
        "unit prices and sources in infra/cost/prices.yaml",
    ]
    if result.usage_without_carrier:
        notes.append(
            "stated usage with no resource to carry it (not priced): " + ", ".join(result.usage_without_carrier)
        )
    return Section(
        title="Cost",
        columns=("resource", "item", "quantity", "unit", "unit USD", "monthly USD"),
        rows=rows,
        notes=notes,
        failed=total > budget.monthly_usd,
        data={
            "total_usd": round(total, 2),
            "budget_usd": budget.monthly_usd,
            "budget_ratio": round(ratio, 4),
            "target_ratio": target,
            "within_target": ratio <= target,
            "lines": len(result.lines),
        },
    )
