"""CutListCreator's 30/60/90 stages (examples/cutlistcreator-30-60-90): each stack file loads,
builds, and sits where its estimate puts it, with the README stating the same figures.

A stage whose estimate fits its budget is an example (``examples/*/Pulumi.*.yaml``, which CI plans
and requires to pass); one that does not stays under ``drafts/`` with its figures in the README.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from infra.config.loader import load_stack_file
from infra.cost.estimate import Estimate
from infra.cost.section import phase_estimate
from infra.plan.capture import run_program
from infra.stack import build_phase

EXAMPLE = Path(__file__).resolve().parent.parent / "examples/cutlistcreator-30-60-90"
STAGES = sorted([*EXAMPLE.glob("Pulumi.*.yaml"), *EXAMPLE.glob("drafts/Pulumi.*.yaml")])


@functools.cache
def stage_estimate(path: Path) -> Estimate:
    config = load_stack_file(path)
    run = run_program(lambda: build_phase(config), project="scaleplan", stack=config.environment.phase)
    return phase_estimate(config, run)


def test_every_seed_stage_has_a_stack_file() -> None:
    assert sorted(path.name for path in STAGES) == ["Pulumi.day30.yaml", "Pulumi.day60.yaml", "Pulumi.day90.yaml"]


@pytest.mark.parametrize("path", STAGES, ids=[p.name for p in STAGES])
def test_a_stage_is_an_example_exactly_when_it_fits_its_budget(path: Path) -> None:
    budget = load_stack_file(path).budget.monthly_usd
    fits = stage_estimate(path).total_usd <= budget
    assert fits == (path.parent == EXAMPLE), (
        f"{path.relative_to(EXAMPLE)}: estimate ${stage_estimate(path).total_usd:,.2f} against ${budget:,.2f}"
    )


@pytest.mark.parametrize("path", STAGES, ids=[p.name for p in STAGES])
def test_the_readme_states_each_stages_estimate(path: Path) -> None:
    readme = (EXAMPLE / "README.md").read_text()
    assert f"${stage_estimate(path).total_usd:,.2f}" in readme
