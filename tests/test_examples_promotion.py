"""Moving a live environment through an example plan's stages replaces nothing it cannot (``-m slow``).

The rule tests/test_promotion.py holds for the four root phases, held for every other plan the
repository ships: each example's stages in the plan's order (ascending ``users_max``), a stage
that stays in a ``drafts/`` folder included, since a team applies the drafts' files to the same
live environment once they fit. Each stage is built once under mocks (about 2-3 s each, some
30 s in all: hence the marker; CI runs it with the real-component suite).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import pytest

from infra.config.loader import load_stack_file
from infra.config.phases import plan_order, stack_files
from infra.plan.capture import ProgramRun, run_program
from infra.plan.examples import example_dirs
from infra.stack import build_phase
from tests.test_promotion import manual_migrations, promotion_findings

pytestmark = pytest.mark.slow

DRAFTS = "drafts"


def _stages(directory: Path) -> list[Path]:
    """An example's stack files, its drafts' too, in the plan's order."""
    files = {**stack_files(directory), **stack_files(directory / DRAFTS)}
    configs = {stack: load_stack_file(path) for stack, path in files.items()}
    return [files[stack] for stack in plan_order(configs)]


MOVES = [(directory.name, *pair) for directory in example_dirs() for pair in itertools.pairwise(_stages(directory))]


@functools.cache
def _run(path: Path) -> ProgramRun:
    config = load_stack_file(path)
    # One live stack promoted from file to file: the stack name is the same on both sides.
    return run_program(lambda: build_phase(config), project="scaleplan", stack="live")


def test_every_example_with_more_than_one_stage_has_its_moves_checked() -> None:
    checked = {example for example, _, _ in MOVES}
    assert {directory.name for directory in example_dirs() if len(_stages(directory)) > 1} == checked
    assert ("cutlistcreator-30-60-90", "Pulumi.day60.yaml", "Pulumi.day90.yaml") in {
        (example, earlier.name, later.name) for example, earlier, later in MOVES
    }


@pytest.mark.parametrize(
    ("example", "earlier", "later"), MOVES, ids=[f"{e}:{a.stem[7:]}->{b.stem[7:]}" for e, a, b in MOVES]
)
def test_an_example_stage_promotes_without_losing_or_replacing_state(example: str, earlier: Path, later: Path) -> None:
    before, after = _run(earlier), _run(later)
    assert [str(finding) for finding in promotion_findings(before, after)] == [], example
    assert [change.name_and_prop for change in manual_migrations(before, after)] == [], example
