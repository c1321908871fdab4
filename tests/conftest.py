"""Shared fixtures: stack files, validated configs and whole phases built under mocks."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.plan.lazy_sdk import install

# Before any provider SDK is imported: the suite builds every phase, and loading only the SDK
# modules it uses keeps it fast. Installed here and by the offline plan, never by the program.
install()

from infra.config import PhaseConfig  # noqa: E402 - after the lazy SDK loader
from infra.config.errors import PhaseConfigError  # noqa: E402
from infra.config.loader import load_stack_file, parse_phase_config  # noqa: E402
from infra.plan.capture import ProgramRun, run_program  # noqa: E402
from infra.stack import build_phase  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("foundation", "growth", "scale", "optimize")


def stack_file(phase: str) -> Path:
    return ROOT / f"Pulumi.{phase}.yaml"


@functools.cache
def phase_config(phase: str) -> PhaseConfig:
    return load_stack_file(stack_file(phase))


@functools.cache
def built_phase(phase: str) -> ProgramRun:
    """The whole program for ``phase`` run once under mocks, shared by every test."""
    config = phase_config(phase)
    return run_program(lambda: build_phase(config), project="scaleplan", stack=phase)


@pytest.fixture(params=PHASES)
def phase(request: pytest.FixtureRequest) -> str:
    return str(request.param)


CATALOG_DATE = "2026-12-03"
"""The day the version catalogs were read: the date support is judged on in tests (infra/catalog/support.py)."""


@pytest.fixture(autouse=True)
def _support_judged_on_the_catalog_date(monkeypatch: pytest.MonkeyPatch) -> None:
    # Deterministic: a test that loads a stack file the way `pulumi up` does must not start
    # failing on the day a pinned version leaves standard support. One test judges the
    # committed pins on the real date on purpose (tests/test_version_support.py).
    monkeypatch.setenv("SCALEPLAN_TODAY", CATALOG_DATE)


TEST_SOURCE = "Pulumi.test.yaml"
"""The file name config errors of edited copies are reported under."""


def growth_values() -> dict[str, Any]:
    """The growth stack file's config: a compliant baseline that each test changes once."""
    document = yaml.safe_load(stack_file("growth").read_text())
    return copy.deepcopy(document["config"])


def rejection(mutate: Callable[[dict[str, Any]], None]) -> str:
    """The error of the growth config changed by ``mutate`` (which must make it invalid)."""
    values = growth_values()
    mutate(values)
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, TEST_SOURCE)
    return str(caught.value)
