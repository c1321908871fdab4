"""Which moves need intermediate stack files is read from the stack files, not from phase names
(infra/config/transitions.py): any plan whose phase on an Auto Scaling group is followed by one on
EKS only gets the same two steps, named after its own phases."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from infra.config.transitions import COMPUTE_KEY, DIRECTORY, TransitionError, main, render, steps
from infra.plan.examples import example_dirs
from tests.conftest import ROOT, stack_file

CUTLIST_DAY30 = ROOT / "examples/cutlistcreator-30-60-90/Pulumi.day30.yaml"


def _plan(folder: Path, files: dict[str, Path]) -> Path:
    folder.mkdir()
    for stack, source in files.items():
        shutil.copy(source, folder / f"Pulumi.{stack}.yaml")
    return folder


def test_the_shipped_plan_has_the_two_steps_from_foundation_to_growth() -> None:
    assert [step.file_name for step in steps()] == ["foundation-to-growth-1.yaml", "foundation-to-growth-2.yaml"]
    assert [step.auto_scaling_group_percent for step in steps()] == [100, 0]


def test_another_plan_gets_the_steps_under_its_own_names(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "plan", {"small": stack_file("foundation"), "large": stack_file("growth")})
    found = steps(plan)
    assert [step.path for step in found] == [plan / DIRECTORY / f"small-to-large-{n}.yaml" for n in (1, 2)]
    values = yaml.safe_load(render(found[0]))["config"]
    kept = yaml.safe_load(stack_file("foundation").read_text())["config"][COMPUTE_KEY]["auto_scaling_group"]
    assert values[COMPUTE_KEY]["auto_scaling_group"] == kept
    assert "Generated from Pulumi.small.yaml and Pulumi.large.yaml" in render(found[0])


def test_no_example_plan_moves_from_a_group_to_a_cluster() -> None:
    assert {directory.name: steps(directory) for directory in example_dirs()} == {
        directory.name: () for directory in example_dirs()
    }


def test_a_move_without_a_load_balancer_to_shift_requests_is_refused_naming_both_files(tmp_path: Path) -> None:
    # CutListCreator's day 30 reaches its group through a Cloudflare Tunnel, with no load balancer.
    plan = _plan(tmp_path / "plan", {"tunnel": CUTLIST_DAY30, "cluster": stack_file("growth")})
    with pytest.raises(
        TransitionError, match=r"Pulumi\.tunnel\.yaml -> Pulumi\.cluster\.yaml: .*scaleplan:load_balancer"
    ):
        steps(plan)


def test_the_command_writes_another_plans_steps_beside_its_files_only(tmp_path: Path) -> None:
    plan = _plan(tmp_path / "plan", {"small": stack_file("foundation"), "large": stack_file("growth")})
    assert main(["--stack-dir", str(plan)]) == 0
    assert sorted(path.name for path in (plan / DIRECTORY).iterdir()) == [
        "small-to-large-1.yaml",
        "small-to-large-2.yaml",
    ]
    assert not list(ROOT.glob("policies/*/config/small-to-large-*.json"))


def test_a_bad_plan_folder_exits_2_with_the_files_errors_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text("config:\n  scaleplan:network: 3\n")
    assert main(["--stack-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.broken.yaml: scaleplan:network: must be a mapping of keys to values (got 3)" in err
    assert "Traceback" not in err
    assert main(["--stack-dir", str(tmp_path / "none")]) == 2
    assert "no stack file Pulumi.<stack>.yaml" in capsys.readouterr().err
