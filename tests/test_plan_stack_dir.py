"""``python -m infra.plan --stack-dir DIR``: a directory of stack files planned in capacity order,
and the one-line reason per failure a CI log ends with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.config import PhaseConfigError
from infra.plan.cli import EXIT_INVALID_CONFIG, EXIT_SECTION_FAILED, _load_stacks, failure_lines, main, parse_args
from infra.plan.report import PhaseReport
from infra.plan.sections import Section
from tests.conftest import ROOT


def _plan_dir(tmp_path: Path, *phases: str) -> Path:
    for phase in phases:
        shutil.copy(ROOT / f"Pulumi.{phase}.yaml", tmp_path / f"Pulumi.{phase}.yaml")
    return tmp_path


def test_stack_dir_without_a_stack_plans_all_of_it(tmp_path: Path) -> None:
    args = parse_args(["--stack-dir", str(tmp_path)])
    assert args.phase == "all"
    assert args.stack_dir == tmp_path


def test_rejects_stack_dir_with_stack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["growth", "--stack-dir", str(tmp_path), "--stack-file", "Pulumi.growth.yaml"])
    assert "give it or --stack-file, not both" in capsys.readouterr().err


def test_rejects_a_stack_dir_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--stack-dir", str(tmp_path / "nowhere")])
    assert f"--stack-dir {tmp_path / 'nowhere'}: no such directory" in capsys.readouterr().err


def test_rejects_no_stack_and_no_stack_dir(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args([])
    assert "name a stack to plan, or all (or give --stack-dir DIR)" in capsys.readouterr().err


def test_stack_dir_stacks_come_in_capacity_order_not_name_order(tmp_path: Path) -> None:
    plan_dir = _plan_dir(tmp_path, "optimize", "growth", "foundation")
    loaded = _load_stacks(parse_args(["--stack-dir", str(plan_dir)]))
    assert loaded is not None
    configs, files, problems = loaded
    assert list(configs) == ["foundation", "growth", "optimize"]  # 5k, 25k, 300k users
    assert files["growth"] == plan_dir / "Pulumi.growth.yaml"
    assert problems == []


def test_one_stack_of_a_stack_dir_by_name(tmp_path: Path) -> None:
    plan_dir = _plan_dir(tmp_path, "growth", "scale")
    loaded = _load_stacks(parse_args(["growth", "--stack-dir", str(plan_dir)]))
    assert loaded is not None
    assert list(loaded[0]) == ["growth"]


def test_an_invalid_file_in_a_stack_dir_is_named_by_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_dir = _plan_dir(tmp_path, "growth")
    text = (plan_dir / "Pulumi.growth.yaml").read_text().replace("monthly_usd: 2100", "monthly_usd: -1")
    assert "monthly_usd: -1" in text
    (plan_dir / "Pulumi.growth.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["--stack-dir", str(plan_dir)]) == EXIT_INVALID_CONFIG
    assert "Pulumi.growth.yaml: scaleplan:budget.monthly_usd: " in capsys.readouterr().err


def test_an_empty_stack_dir_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack-dir", str(tmp_path)]) == EXIT_INVALID_CONFIG
    assert "no stack file Pulumi.<stack>.yaml: a plan needs at least one phase" in capsys.readouterr().err


def _report(stack: str, *sections: Section) -> PhaseReport:
    return PhaseReport(stack=stack, stack_file=f"examples/x/Pulumi.{stack}.yaml", sections=sections)


def test_failure_lines_name_each_failed_check() -> None:
    over_budget = Section(
        title="Cost", columns=("resource",), failed=True, data={"total_usd": 9876.5, "budget_usd": 8500}
    )
    finding = Section(
        title="Policy verdicts",
        columns=("pack", "level", "policy", "resource", "message"),
        rows=[
            ["scaleplan-security", "advisory", "p1", "r", "fine"],
            ["scaleplan-security", "mandatory", "p2", "db", "public"],
        ],
        failed=True,
    )
    passing = Section(title="Capacity", columns=("figure",), rows=[["users", 1]])
    build_error = PhaseConfigError("examples/x/Pulumi.big.yaml", ["scaleplan:eks: cannot build", "second line"])
    assert failure_lines([_report("day-1", passing, over_budget, finding)], {"big": build_error}) == [
        "FAILED big: build error: examples/x/Pulumi.big.yaml: scaleplan:eks: cannot build",
        "FAILED day-1 (examples/x/Pulumi.day-1.yaml): over budget: estimated $9,876.50/month is above the "
        "$8,500.00 budget",
        "FAILED day-1 (examples/x/Pulumi.day-1.yaml): mandatory policy finding: scaleplan-security mandatory p2 db "
        "public",
    ]


def test_a_cost_section_that_cannot_price_is_not_called_over_budget() -> None:
    unpriced = Section(
        title="Cost", columns=("problem",), rows=[["no price for 'x'"]], notes=["cannot estimate"], failed=True
    )
    assert failure_lines([_report("day-1", unpriced)], {}) == [
        "FAILED day-1 (examples/x/Pulumi.day-1.yaml): cost estimate: no price for 'x'"
    ]


def test_a_capacity_shortfall_is_named_as_such() -> None:
    short = Section(
        title="Capacity",
        columns=("figure", "value", "from"),
        rows=[["users (top of phase)", 5000, "x"]],
        notes=["compute is short: 10 vCPUs needed, 4 available"],
        failed=True,
    )
    assert failure_lines([_report("day-1", short)], {}) == [
        "FAILED day-1 (examples/x/Pulumi.day-1.yaml): capacity shortfall: compute is short: 10 vCPUs needed, "
        "4 available"
    ]


def test_passing_plans_print_no_failure_line() -> None:
    assert failure_lines([_report("day-1", Section(title="Cost", columns=("x",)))], {}) == []


@pytest.mark.slow
def test_an_over_budget_stage_fails_the_stack_dir_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Whole plan under mocks (~10 s): the growth phase at a budget below its estimate.
    plan_dir = _plan_dir(tmp_path, "growth")
    text = (plan_dir / "Pulumi.growth.yaml").read_text().replace("monthly_usd: 2100", "monthly_usd: 100")
    (plan_dir / "Pulumi.growth.yaml").write_text(text)
    assert main(["--stack-dir", str(plan_dir)]) == EXIT_SECTION_FAILED
    err = capsys.readouterr().err
    assert "): over budget: estimated $" in err
    assert "is above the $100.00 budget" in err
