"""The plan's operations section: each people-facing alarm with its level, and the budget's notifications.

Read from the mocked run, not the config, so the report shows what the program declared; it
fails when an alarm would notify no one or the budget differs from ``scaleplan:budget``.
"""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import Cell, Section, register

COMPONENT = "scaleplan:observability:Operations"
_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
_TOPIC = "aws:sns/topic:Topic"
_BUDGET = "aws:budgets/budget:Budget"
_COLUMNS = ("alarm or notification", "level", "condition", "CloudWatch compares", "missing data")


def _n(value: object) -> str:
    """Numbers come back from the engine as floats: ``2.0`` -> ``2``."""
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _compares(alarm: CapturedResource) -> str:
    inputs = alarm.inputs
    operator = {"GreaterThanThreshold": ">", "LessThanThreshold": "<"}.get(
        str(inputs.get("comparisonOperator")), str(inputs.get("comparisonOperator"))
    )
    if inputs.get("metricQueries"):
        value = next(q.get("expression") for q in inputs["metricQueries"] if q.get("returnData"))
    else:
        value = f"{inputs.get('extendedStatistic') or inputs.get('statistic')}({inputs.get('metricName')})"
    threshold = inputs.get("threshold")
    if inputs.get("metricName") == "FreeStorageSpace" and isinstance(threshold, int | float):
        return f"{value} {operator} {threshold / 1024**3:g} GiB"
    return f"{value} {operator} {_n(threshold)}"


@register
def operations_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Who is told what, and when: the alarms over what the phase runs, and the budget."""
    components = run.of_type(COMPONENT)
    if len(components) != 1:
        return Section(
            title="Operations",
            columns=_COLUMNS,
            notes=[f"expected one operations component, found {len(components)}"],
            failed=True,
        )
    children = run.children_of(components[0].urn)
    topics = [r for r in children if r.type == _TOPIC]
    topic_arn = topics[0].outputs.get("arn") if len(topics) == 1 else None
    alarms = sorted((r for r in children if r.type == _ALARM), key=lambda r: str(r.inputs.get("name")))
    problems: list[str] = []
    rows: list[list[Cell]] = []
    for alarm in alarms:
        inputs = alarm.inputs
        if topic_arn is None or inputs.get("alarmActions") != [topic_arn] or inputs.get("okActions") != [topic_arn]:
            problems.append(f"alarm {inputs.get('name')} does not notify the alerts topic")
        rows.append(
            [
                str(inputs.get("name")),
                str((inputs.get("tags") or {}).get("severity", "")),
                str(inputs.get("alarmDescription", "")),
                _compares(alarm),
                str(inputs.get("treatMissingData")),
            ]
        )
    budgets = [r for r in children if r.type == _BUDGET]
    monthly = config.budget.monthly_usd
    notifications: list[dict[str, object]] = []
    for budget in budgets:
        limit = float(budget.inputs.get("limitAmount", "nan"))
        if limit != monthly:
            problems.append(
                f"budget {budget.inputs.get('name')} is ${limit:,.2f}, not scaleplan:budget ${monthly:,.2f}"
            )
        for notification in budget.inputs.get("notifications") or []:
            percent = float(notification.get("threshold", 0))
            kind = str(notification.get("notificationType"))
            notifications.append({"type": kind, "percent": percent})
            rows.append(
                [
                    f"budget {budget.inputs.get('name')}",
                    kind.lower(),
                    f"{'spent' if kind == 'ACTUAL' else 'forecast for the month'} > {_n(percent)}% "
                    f"(${limit * percent / 100:,.2f} of ${limit:,.2f})",
                    "",
                    "",
                ]
            )
    if len(budgets) != 1:
        problems.append(f"expected one monthly budget, found {len(budgets)}")
    levels = [str(row[1]) for row in rows[: len(alarms)]]
    return Section(
        title="Operations",
        columns=_COLUMNS,
        rows=rows,
        notes=[
            f"{len(alarms)} alarms ({levels.count('critical')} critical, {levels.count('warning')} warning) notify "
            f"{config.environment.owner_email} through the alerts topic when they fire and recover",
            *problems,
        ],
        failed=bool(problems),
        data={
            "alarms": len(alarms),
            "budget_usd": monthly,
            "budget_notifications": notifications,
        },
    )
