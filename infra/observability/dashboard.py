"""The phase's CloudWatch dashboard, drawn from the alarm definitions: pure functions, no Pulumi.

Because it is built from the same :class:`AlarmDefinition` list as the alarms, every alarm
appears on it twice: in the status panel of its severity (CloudWatch's ``alarm`` widget, at
most 100 alarms each) and on the graph of its signal, with each level's threshold drawn as a
line. The body follows the CloudWatch dashboard body structure
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from infra.observability.alarms import AlarmDefinition, Level, MetricQuery, Ref

GRID_COLUMNS = 24
GRAPH_WIDTH = 8
GRAPH_HEIGHT = 6
STATUS_HEIGHT = 4
MAX_ALARMS_PER_STATUS_WIDGET = 100
"""CloudWatch's limit on the ``alarms`` list of one alarm status widget."""


def widget_key(definition: AlarmDefinition) -> str:
    """The graph an alarm is drawn on: its key without the level (both levels share one graph)."""
    return definition.key.removesuffix(f"-{definition.level.value}")


def _dimension_values(query: MetricQuery, refs: Mapping[str, str]) -> list[str]:
    flat: list[str] = []
    for name, value in query.dimensions.items():
        flat += [name, refs[value.key] if isinstance(value, Ref) else value]
    return flat


def _metrics(definition: AlarmDefinition, refs: Mapping[str, str]) -> list[list[Any]]:
    """The graph's ``metrics`` array: each queried metric, and the alarm's expression when it has one."""
    rows: list[list[Any]] = []
    single = definition.expression is None
    for query in definition.metrics:
        options: dict[str, Any] = {"id": query.id, "stat": query.stat, "label": query.metric_name}
        if not single:
            options["visible"] = False  # only the expression the alarm compares is drawn
        rows.append([query.namespace, query.metric_name, *_dimension_values(query, refs), options])
    if not single:
        rows.append([{"expression": definition.expression, "id": "value", "label": definition.signal}])
    return rows


def _status_widgets(definitions: Sequence[AlarmDefinition], alarm_arns: Mapping[str, str]) -> list[dict[str, Any]]:
    widgets: list[dict[str, Any]] = []
    y = 0
    for level in (Level.CRITICAL, Level.WARNING):
        arns = [alarm_arns[d.key] for d in definitions if d.level is level]
        for start in range(0, len(arns), MAX_ALARMS_PER_STATUS_WIDGET):
            chunk = arns[start : start + MAX_ALARMS_PER_STATUS_WIDGET]
            widgets.append(
                {
                    "type": "alarm",
                    "x": 0,
                    "y": y,
                    "width": GRID_COLUMNS,
                    "height": STATUS_HEIGHT,
                    "properties": {
                        "title": f"{level.value} alarms",
                        "alarms": chunk,
                        "sortBy": "stateUpdatedTimestamp",
                    },
                }
            )
            y += STATUS_HEIGHT
    return widgets


def dashboard_body(
    definitions: Sequence[AlarmDefinition],
    *,
    region: str,
    refs: Mapping[str, str],
    alarm_arns: Mapping[str, str],
) -> dict[str, Any]:
    """Status panels by severity, then one graph per signal and resource in definition order."""
    widgets = _status_widgets(definitions, alarm_arns)
    top = max((w["y"] + w["height"] for w in widgets), default=0)
    graphs: dict[str, list[AlarmDefinition]] = {}
    for definition in definitions:
        graphs.setdefault(widget_key(definition), []).append(definition)
    per_row = GRID_COLUMNS // GRAPH_WIDTH
    for index, members in enumerate(graphs.values()):
        first = members[0]
        widgets.append(
            {
                "type": "metric",
                "x": (index % per_row) * GRAPH_WIDTH,
                "y": top + (index // per_row) * GRAPH_HEIGHT,
                "width": GRAPH_WIDTH,
                "height": GRAPH_HEIGHT,
                "properties": {
                    "title": f"{first.subject}: {first.signal}",
                    "region": region,
                    "view": "timeSeries",
                    "period": first.period_seconds,
                    "metrics": _metrics(first, refs),
                    "annotations": {
                        "horizontal": [
                            {
                                "label": f"{member.key}: {member.level.value} {member.shown_threshold}",
                                "value": member.threshold,
                                "color": "#d62728" if member.level is Level.CRITICAL else "#ff7f0e",
                            }
                            for member in members
                        ]
                    },
                },
            }
        )
    return {"start": "-PT6H", "periodOverride": "inherit", "widgets": widgets}
