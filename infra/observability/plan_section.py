"""The plan's operations section: each people-facing alarm with its level, and the budget's notifications.

Read from the mocked run, not the config, so the report shows what the program declared; it
fails when an alarm would notify no one or the budget differs from ``scaleplan:budget``.
"""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.observability.recovery import assess_recovery
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


_SEVERITY_ORDER = {"critical": 0, "warning": 1}


def _severity(resource: CapturedResource) -> str:
    return str((resource.inputs.get("tags") or {}).get("severity", ""))


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
    if inputs.get("metricName") in ("FreeStorageSpace", "FreeableMemory") and isinstance(threshold, int | float):
        return f"{value} {operator} {threshold / 1024**3:g} GiB"
    return f"{value} {operator} {_n(threshold)}"


def _recipients(config: PhaseConfig, level: str) -> str:
    topic = getattr(config.operations.alert_topics, level)
    who = ([config.environment.owner_email] if topic.owner_email else []) + [
        f"{s.protocol.value}:{s.endpoint}" for s in topic.subscriptions
    ]
    return f"{level} reaches {', '.join(who)}"


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
    topic_arns = {
        str((r.inputs.get("tags") or {}).get("severity")): r.outputs.get("arn") for r in children if r.type == _TOPIC
    }
    alarms = sorted(
        (r for r in children if r.type == _ALARM),
        key=lambda r: (_SEVERITY_ORDER.get(_severity(r), 9), str(r.inputs.get("name"))),
    )
    problems: list[str] = []
    rows: list[list[Cell]] = []
    for alarm in alarms:
        inputs = alarm.inputs
        topic_arn = topic_arns.get(_severity(alarm))
        if topic_arn is None or inputs.get("alarmActions") != [topic_arn] or inputs.get("okActions") != [topic_arn]:
            problems.append(f"alarm {inputs.get('name')} does not notify the {_severity(alarm)} topic")
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
            severities = [
                level for level, arn in topic_arns.items() if arn in (notification.get("subscriberSnsTopicArns") or [])
            ]
            notifications.append({"type": kind, "percent": percent, "severity": ",".join(severities)})
            rows.append(
                [
                    f"budget {budget.inputs.get('name')} ({kind.lower()})",
                    ",".join(severities) or "no topic",
                    f"{'spent' if kind == 'ACTUAL' else 'forecast for the month'} > {_n(percent)}% "
                    f"(${limit * percent / 100:,.2f} of ${limit:,.2f})",
                    "",
                    "",
                ]
            )
    if len(budgets) != 1:
        problems.append(f"expected one monthly budget, found {len(budgets)}")
    levels = [str(row[1]) for row in rows[: len(alarms)]]
    recovery = assess_recovery(config.operations.recovery, config.database)
    exported = run.stack_outputs.get("recovery_objectives")
    if not isinstance(exported, dict) or exported.get("rpo_minutes") != recovery.rpo_minutes:
        problems.append("the stack does not export the phase's recovery objectives")
    return Section(
        title="Operations",
        columns=_COLUMNS,
        rows=rows,
        notes=[
            f"{len(alarms)} alarms ({levels.count('critical')} critical, {levels.count('warning')} warning) notify "
            "the topic of their severity when they fire and recover; "
            + "; ".join(_recipients(config, level) for level in ("critical", "warning")),
            f"recovery objectives: {recovery.summary()}",
            *problems,
        ],
        failed=bool(problems),
        data={
            "alarms": len(alarms),
            "alarms_by_severity": {
                level: sorted(str(a.inputs.get("name")) for a in alarms if _severity(a) == level)
                for level in _SEVERITY_ORDER
            },
            "budget_usd": monthly,
            "rpo_minutes": recovery.rpo_minutes,
            "rto_minutes": recovery.rto_minutes,
            "budget_notifications": notifications,
        },
    )
