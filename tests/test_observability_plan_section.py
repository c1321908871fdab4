"""The plan's operations section, from each phase's mocked run, and the problems it reports."""

from __future__ import annotations

import dataclasses

import pytest

from infra.observability.plan_section import operations_section
from infra.plan.capture import ProgramRun
from infra.plan.sections import section_builders
from tests.conftest import PHASES, built_phase, phase_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def test_the_section_is_registered() -> None:
    assert operations_section in section_builders()


@pytest.mark.parametrize("phase", PHASES)
def test_lists_every_alarm_and_budget_notification(phase: str) -> None:
    config, run = phase_config(phase), built_phase(phase)
    section = operations_section(config, run)
    assert not section.failed, section.notes
    alarm_names = {r.inputs["name"] for r in run.of_type(ALARM) if r.parent.endswith("Operations::operations")}
    alarm_rows = [row for row in section.rows if not str(row[0]).startswith("budget ")]
    assert {row[0] for row in alarm_rows} == alarm_names
    assert section.data["alarms"] == len(alarm_names)
    budget_rows = [row for row in section.rows if str(row[0]).startswith("budget ")]
    thresholds = sorted(config.budget.alert_thresholds_percent)
    assert [(str(row[0]).split("(")[1][:-1], str(row[2]).split(" > ")[1].split("%")[0]) for row in budget_rows] == [
        *(("actual", f"{t:g}") for t in thresholds),
        ("forecasted", f"{config.operations.budget_forecast_percent:g}"),
    ]
    # spend past the whole budget pages; earlier thresholds and the forecast warn
    assert [row[1] for row in budget_rows] == [
        *("critical" if t >= 100 else "warning" for t in thresholds),
        "warning",
    ]
    assert section.data["budget_usd"] == config.budget.monthly_usd
    # alarms are listed by severity: every critical one before every warning
    severities = [row[1] for row in alarm_rows]
    assert severities == sorted(severities, key=["critical", "warning"].index)
    by_severity = section.data["alarms_by_severity"]
    assert set(by_severity["critical"]) | set(by_severity["warning"]) == alarm_names
    assert all(name.endswith("-critical") for name in by_severity["critical"])


def test_shows_the_compared_value_of_each_kind() -> None:
    rows = {row[0]: row for row in operations_section(phase_config("foundation"), built_phase("foundation")).rows}
    assert rows["ftw-prod-alb-error-rate-critical"][3] == "100 * FILL(errors, 0) / requests > 5"
    assert rows["ftw-prod-alb-p95-warning"][3] == "p95(TargetResponseTime) > 1"
    assert rows["ftw-prod-postgres-primary-storage-warning"][3] == "Minimum(FreeStorageSpace) < 10 GiB"  # 20% of 50
    assert rows["ftw-prod-postgres-primary-connections-critical"][3] == "Maximum(DatabaseConnections) > 60.8"
    assert rows["ftw-prod-alb-p95-warning"][1:3] == [
        "warning",
        "warning: load balancer p95 response time > 1 s for 5 min",
    ]


def test_fails_when_an_alarm_notifies_no_one() -> None:
    run = built_phase("foundation")
    resources = tuple(
        dataclasses.replace(r, inputs={**r.inputs, "alarmActions": []})
        if r.type == ALARM and r.name == "operations-alb-p95-critical"
        else r
        for r in run.resources
    )
    section = operations_section(phase_config("foundation"), ProgramRun(resources, run.stack_outputs))
    assert section.failed
    assert "alarm ftw-prod-alb-p95-critical does not notify the critical topic" in section.notes


def test_fails_when_the_budget_differs_from_the_stack_file() -> None:
    config = phase_config("foundation")
    other = config.model_copy(update={"budget": config.budget.model_copy(update={"monthly_usd": 900.0})})
    section = operations_section(other, built_phase("foundation"))
    assert section.failed
    assert "budget ftw-prod-monthly is $750.00, not scaleplan:budget $900.00" in section.notes
