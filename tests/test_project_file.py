"""Pulumi.yaml agrees with the phase config model and the stack files, as the CLI checks it."""

from __future__ import annotations

import yaml

from infra.config import PhaseConfig
from tests.conftest import PHASES, ROOT, stack_file


def _declared() -> dict[str, dict[str, object]]:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    declared: dict[str, dict[str, object]] = project["config"]
    return declared


def _stated(phase: str) -> set[str]:
    config = yaml.safe_load(stack_file(phase).read_text())["config"]
    return {key.removeprefix("scaleplan:") for key in config if key.startswith("scaleplan:")}


def test_project_runs_the_infra_package_with_uv() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "scaleplan"
    assert project["main"] == "infra/"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv"}}
    assert (ROOT / "infra" / "__main__.py").is_file()


def test_every_declared_key_is_a_described_root_field() -> None:
    for key, declaration in _declared().items():
        assert key in PhaseConfig.model_fields, key
        assert declaration.get("description"), key


def test_declared_keys_are_exactly_the_required_root_fields() -> None:
    # A key declared without a default is one the CLI demands in every stack file
    # ("Stack 'x' is missing configuration value"), so optional sections must not be declared.
    required = {name for name, field in PhaseConfig.model_fields.items() if field.is_required()}
    assert set(_declared()) == required


def test_every_phase_states_every_declared_key(phase: str) -> None:
    assert set(_declared()) <= _stated(phase)


def test_stack_files_use_only_known_keys() -> None:
    for phase in PHASES:
        assert _stated(phase) <= set(PhaseConfig.model_fields), phase
