"""Each phase's estimated monthly cost against its budget and target, and its cost per user.

Run from the repository root: ``uv run python -m bench.cost`` (add ``--lines N`` for the top
N cost lines of each phase). Builds every stack file in the project root under mocks, as the
offline plan does, in the plan's order (ascending ``capacity.users_max``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from infra.config import PhaseConfig
from infra.config.phases import load_plan
from infra.cost.estimate import Estimate
from infra.cost.section import phase_estimate
from infra.plan.capture import run_program
from infra.stack import build_phase


@dataclass(frozen=True)
class PhaseCost:
    phase: str
    estimate: Estimate
    budget_usd: float
    target_ratio: float
    users_max: int

    @property
    def ratio(self) -> float:
        return self.estimate.total_usd / self.budget_usd

    @property
    def usd_per_user(self) -> float:
        return self.estimate.total_usd / self.users_max


def phase_cost(phase: str, config: PhaseConfig) -> PhaseCost:
    def program() -> None:
        build_phase(config)

    run = run_program(program, project="scaleplan", stack=phase)
    return PhaseCost(
        phase=phase,
        estimate=phase_estimate(config, run),
        budget_usd=config.budget.monthly_usd,
        target_ratio=config.budget.estimate_target_percent / 100,
        users_max=config.capacity.users_max,
    )


def render(costs: list[PhaseCost], lines: int) -> str:
    out = [
        f"{'phase':<11}{'estimate':>12}{'budget':>10}{'ratio':>8}{'target':>8}  {'verdict':<8}"
        f"{'users':>9}{'USD/user':>10}"
    ]
    width = max([11, *(len(cost.phase) + 1 for cost in costs)])
    out[0] = f"{'phase':<{width}}" + out[0][11:]
    for cost in costs:
        verdict = "ok" if cost.ratio <= cost.target_ratio else "OVER"
        out.append(
            f"{cost.phase:<{width}}{cost.estimate.total_usd:>12,.2f}{cost.budget_usd:>10,.0f}{cost.ratio:>8.1%}"
            f"{cost.target_ratio:>8.0%}  {verdict:<8}{cost.users_max:>9,}{cost.usd_per_user:>10.4f}"
        )
        for line in cost.estimate.top(lines):
            out.append(f"    {line.monthly_usd:>10,.2f}  {line.name}: {line.item}")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=0, help="also print each phase's top N cost lines")
    args = parser.parse_args()
    configs, problems = load_plan()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(render([phase_cost(stack, config) for stack, config in configs.items()], args.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
