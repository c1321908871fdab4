"""docs/runbooks: every alarm the program creates, in every phase, is named by some runbook, and
every alarm name a runbook gives matches an alarm some phase creates (no stale names)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from tests.conftest import PHASES, built_phase, phase_config

RUNBOOKS = Path(__file__).resolve().parent.parent / "docs" / "runbooks"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PAGES = (
    "traffic-spike",
    "bad-deploy-rollback",
    "database-failover",
    "restore",
    "cache-failure",
    "promotion",
    "pgbouncer-saturation",
)
_NAME = re.compile(r"`(<env>-[a-z0-9<>-]+)`")
_PLACEHOLDER = re.compile(r"<([a-z]+)>")
_VALUES = {"level": "(?:warning|critical)", "slot": "(?:blue|green)"}


def alarms_section(text: str) -> str:
    """The page's "Alarms that lead here" section (the first one)."""
    section = text.split("\n## ", 2)[1]
    return section if section.startswith("Alarms that lead here") else ""


def alarm_patterns() -> dict[str, tuple[str, str]]:
    """Every alarm name (in backticks) the runbooks' alarm sections give, as ``(page, name)``."""
    found: dict[str, tuple[str, str]] = {}
    for page in PAGES:
        for name in _NAME.findall(alarms_section((RUNBOOKS / f"{page}.md").read_text())):
            found[name] = (page, name)
    return found


def to_regex(pattern: str, environment: str) -> re.Pattern[str]:
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        key = match.group(1)
        parts.append(re.escape(environment) if key == "env" else _VALUES.get(key, "[a-z0-9]+(?:-[a-z0-9]+)*"))
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("".join(parts))


@functools.cache
def alarm_names(phase: str) -> frozenset[str]:
    return frozenset(str(a.inputs["name"]) for a in built_phase(phase).of_type(ALARM))


def test_every_situation_has_its_page_and_each_starts_from_alarm_names() -> None:
    for page in PAGES:
        assert _NAME.search(alarms_section((RUNBOOKS / f"{page}.md").read_text())), page


@pytest.mark.parametrize("phase", PHASES)
def test_every_alarm_the_phase_creates_is_named_by_a_runbook(phase: str) -> None:
    environment = phase_config(phase).environment.name
    patterns = [to_regex(p, environment) for p in alarm_patterns()]
    unnamed = sorted(name for name in alarm_names(phase) if not any(p.fullmatch(name) for p in patterns))
    assert not unnamed, f"alarms no runbook names: {unnamed}"


def test_every_alarm_name_in_a_runbook_exists_in_some_phase() -> None:
    every = {(phase_config(phase).environment.name, name) for phase in PHASES for name in alarm_names(phase)}
    stale = [
        where
        for pattern, where in alarm_patterns().items()
        if not any(to_regex(pattern, environment).fullmatch(name) for environment, name in every)
    ]
    assert not stale, f"runbooks name alarms no phase creates: {stale}"


def test_the_pattern_check_is_not_vacuous() -> None:
    regex = to_regex("<env>-cache-<node>-memory-warning", "ftw-prod")
    assert regex.fullmatch("ftw-prod-cache-0001-002-memory-warning")
    assert not regex.fullmatch("ftw-prod-cache-0001-002-memory-critical")
    assert not to_regex("<env>-alb-p95-<level>", "ftw-prod").fullmatch("ftw-prod-alb-p95-page")
