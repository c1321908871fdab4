"""Every stack file loads into a valid phase config, and the loader reports unreadable files."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml

from infra.capacity import demand
from infra.config import PhaseConfigError
from infra.config.loader import decode_pulumi_config, load_stack_file, parse_phase_config
from infra.config.phases import load_plan, plan_order, stack_files
from tests.conftest import PHASES, phase_config, stack_file

# The seed plan's phase table (seed 000): users at the top of each phase and monthly cost.
SEED_USERS = {"foundation": 5_000, "growth": 25_000, "scale": 100_000, "optimize": 300_000}
SEED_MONTHLY_USD = {"foundation": 750, "growth": 2_100, "scale": 4_750, "optimize": 7_000}


def test_each_stack_file_is_a_valid_phase(phase: str) -> None:
    config = load_stack_file(stack_file(phase))
    assert config.environment.phase == phase


def test_every_phase_has_a_stack_file() -> None:
    assert sorted(PHASES) == sorted(stack_files())
    for phase in PHASES:
        assert stack_file(phase).is_file()


def test_the_plan_order_is_the_stack_files_by_users() -> None:
    configs, problems = load_plan()
    assert problems == []
    assert list(configs) == list(PHASES)


def test_plan_order_follows_users_not_names() -> None:
    # Any names, in the order of the capacity steps they declare; equal steps by stack name.
    configs = {
        "zeta": phase_config("foundation"),
        "alpha": phase_config("optimize"),
        "beta": phase_config("growth"),
        "aardvark": phase_config("growth"),
    }
    assert plan_order(configs) == ["zeta", "aardvark", "beta", "alpha"]


def test_a_plan_needs_a_stack_file(tmp_path: Path) -> None:
    configs, [problem] = load_plan(tmp_path)
    assert configs == {}
    assert str(problem) == f"{tmp_path}: no stack file Pulumi.<stack>.yaml: a plan needs at least one phase"


def test_the_plan_reports_every_bad_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: scaleplan\n")  # the project file is not a phase
    (tmp_path / "Pulumi.a.yaml").write_text(": not yaml")
    (tmp_path / "Pulumi.b.yaml").write_text("config: {}\n")
    (tmp_path / "Pulumi.growth.yaml").write_text(stack_file("growth").read_text())
    configs, problems = load_plan(tmp_path)
    assert list(configs) == ["growth"]
    assert [problem.source for problem in problems] == ["Pulumi.a.yaml", "Pulumi.b.yaml"]


def test_phases_follow_the_seed_plan(phase: str) -> None:
    config = phase_config(phase)
    assert config.capacity.users_max == SEED_USERS[phase]
    assert config.budget.monthly_usd == SEED_MONTHLY_USD[phase]


def test_optimize_phase_serves_the_seed_peak() -> None:
    load = demand(phase_config("optimize").capacity)
    assert round(load.peak_requests_per_second) == 600
    assert round(load.average_requests_per_second) == 200


def test_every_phase_has_compute_for_its_peak(phase: str) -> None:
    config = phase_config(phase)
    assert config.compute.max_application_vcpus() >= demand(config.capacity).required_vcpus


def test_phases_share_one_environment_and_one_network() -> None:
    # Physical names and subnets must not move when an environment goes to the next phase.
    configs = [phase_config(phase) for phase in PHASES]
    assert len({c.environment.name for c in configs}) == 1
    assert len({c.environment.region for c in configs}) == 1
    assert (
        len({(c.network.vpc_cidr, c.network.availability_zones, c.network.subnet_prefix_lengths) for c in configs}) == 1
    )


def test_users_grow_from_phase_to_phase() -> None:
    users = [phase_config(phase).capacity.users_max for phase in PHASES]
    assert users == sorted(users)
    assert len(set(users)) == len(users)


def test_ignores_other_namespaces(phase: str) -> None:
    values = {**_config_section(stack_file(phase)), "aws:region": "eu-west-1", "pulumi:tags": {"a": "b"}}
    assert parse_phase_config(values, "x") == phase_config(phase)


def test_decodes_structured_values_the_engine_passes_as_json() -> None:
    raw = {"scaleplan:budget": json.dumps({"monthly_usd": 750}), "scaleplan:label": "plain text"}
    assert decode_pulumi_config(raw) == {"scaleplan:budget": {"monthly_usd": 750}, "scaleplan:label": "plain text"}


def test_config_error_is_a_run_error_with_one_line_per_problem() -> None:
    error = PhaseConfigError("Pulumi.growth.yaml", ["scaleplan:a: x", "scaleplan:b: y"])
    assert isinstance(error, pulumi.RunError)
    assert str(error) == "Pulumi.growth.yaml: scaleplan:a: x\nPulumi.growth.yaml: scaleplan:b: y"


def test_rejects_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text("config:\n  scaleplan:network: [unclosed\n")
    with pytest.raises(PhaseConfigError) as error:
        load_stack_file(path)
    assert str(error.value).startswith("Pulumi.bad.yaml: not valid YAML: ")


def test_rejects_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PhaseConfigError) as error:
        load_stack_file(tmp_path / "Pulumi.nowhere.yaml")
    assert str(error.value) == "Pulumi.nowhere.yaml: cannot be read: No such file or directory"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty; a stack file is a mapping with a top-level 'config:' mapping"),
        ("- a list\n", "must be a mapping with a top-level 'config:' mapping (got a list)"),
        ("config: 3\n", "config: must be a mapping of keys to values (got a scalar)"),
        ("encryptionsalt: x\n", "has no top-level 'config:' mapping (top-level keys: encryptionsalt)"),
    ],
)
def test_rejects_a_file_without_a_config_mapping(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "Pulumi.empty.yaml"
    path.write_text(text)
    with pytest.raises(PhaseConfigError) as error:
        load_stack_file(path)
    assert str(error.value) == f"Pulumi.empty.yaml: {problem}"


def _config_section(path: Path) -> dict[str, object]:
    document = yaml.safe_load(path.read_text())
    section: dict[str, object] = document["config"]
    return section
