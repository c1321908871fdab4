"""Shared fixtures: stack files, validated configs and whole phases built under mocks."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from infra.plan.lazy_sdk import install

# Before any provider SDK is imported: the suite builds every phase, and loading only the SDK
# modules it uses keeps it fast. Installed here and by the offline plan, never by the program.
install()

from infra.config import PhaseConfig  # noqa: E402 - after the lazy SDK loader
from infra.config.loader import load_stack_file  # noqa: E402
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
