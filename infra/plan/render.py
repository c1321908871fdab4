"""Renderers of plan reports: terminal table, Markdown and JSON.

They render :class:`~infra.plan.sections.Section` values generically (title, columns, rows,
notes, data) and know nothing about what any section is about.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from infra.plan.report import PhaseReport
from infra.plan.sections import Cell, Section


def format_cell(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer():
            return f"{value:,.0f}"
        # Ratios and shares need their digits (0.376 -> 0.376, not 0.4); amounts two decimals.
        text = f"{value:.3g}" if abs(value) < 1 else f"{value:,.2f}"
        return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def comparison(reports: Sequence[PhaseReport]) -> tuple[list[str], list[list[Cell]]]:
    """One row per headline figure (a top-level scalar in a section's ``data``), one column per phase."""
    keys: list[tuple[str, str]] = []
    values: dict[tuple[str, str], dict[str, Cell]] = {}
    for report in reports:
        for section in report.sections:
            for key, value in section.data.items():
                if not _is_scalar(value):
                    continue
                row_key = (section.title, key)
                if row_key not in values:
                    keys.append(row_key)
                    values[row_key] = {}
                values[row_key][report.stack] = value  # type: ignore[assignment]
    columns = ["figure", *(report.stack for report in reports)]
    rows: list[list[Cell]] = [
        [f"{title}: {key}", *(values[(title, key)].get(report.stack) for report in reports)] for title, key in keys
    ]
    rows.append(["failed sections", *(sum(s.failed for s in report.sections) for report in reports)])
    return columns, rows


# --- terminal table -----------------------------------------------------------------


def _text_table(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
    cells = [[format_cell(value) for value in row] for row in rows]
    widths = [len(column) for column in columns]
    for row in cells:
        for index, text in enumerate(row):
            widths[index] = max(widths[index], len(text))
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows if row[i] is not None)
        and any(row[i] is not None for row in rows)
        for i in range(len(columns))
    ]

    def line(texts: Sequence[str]) -> str:
        padded = [t.rjust(w) if numeric[i] else t.ljust(w) for i, (t, w) in enumerate(zip(texts, widths, strict=True))]
        return "  ".join(padded).rstrip()

    return [line(columns), line(["-" * w for w in widths]), *(line(row) for row in cells)]


def _section_text(section: Section) -> list[str]:
    marker = "  [FAILED]" if section.failed else ""
    lines = [f"{section.title}{marker}"]
    if section.rows:
        lines += ["  " + line for line in _text_table(section.columns, section.rows)]
    lines += [f"  * {note}" for note in section.notes]
    return lines


def render_table(reports: Sequence[PhaseReport]) -> str:
    lines: list[str] = []
    for report in reports:
        status = "FAILED" if report.failed else "ok"
        heading = f"Phase {report.stack} ({report.stack_file}): {status}"
        lines += [heading, "=" * len(heading), ""]
        for section in report.sections:
            lines += [*_section_text(section), ""]
    if len(reports) > 1:
        columns, rows = comparison(reports)
        lines += ["Comparison", "==========", *_text_table(columns, rows), ""]
    return "\n".join(lines)


# --- Markdown -----------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> list[str]:
    return [
        "| " + " | ".join(_md_escape(c) for c in columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
        *("| " + " | ".join(_md_escape(format_cell(v)) for v in row) + " |" for row in rows),
    ]


def render_markdown(reports: Sequence[PhaseReport]) -> str:
    lines: list[str] = []
    for report in reports:
        status = "**FAILED**" if report.failed else "ok"
        lines += [f"## Phase `{report.stack}`: {status}", "", f"From `{report.stack_file}`.", ""]
        for section in report.sections:
            lines += [f"### {section.title}{' (FAILED)' if section.failed else ''}", ""]
            if section.rows:
                lines += [*_md_table(section.columns, section.rows), ""]
            if section.notes:
                lines += [*(f"- {_md_escape(note)}" for note in section.notes), ""]
    if len(reports) > 1:
        columns, rows = comparison(reports)
        lines += ["## Comparison", "", *_md_table(columns, rows), ""]
    return "\n".join(lines)


# --- JSON ---------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types; non-finite floats become null, unknown objects text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return str(value)


def _section_json(section: Section) -> dict[str, Any]:
    return {
        "title": section.title,
        "failed": section.failed,
        "columns": list(section.columns),
        "rows": [list(row) for row in section.rows],
        "notes": list(section.notes),
        "data": section.data,
    }


def render_json(reports: Sequence[PhaseReport]) -> str:
    document: dict[str, Any] = {
        "failed": any(report.failed for report in reports),
        "phases": [
            {
                "stack": report.stack,
                "stack_file": report.stack_file,
                "failed": report.failed,
                "sections": [_section_json(section) for section in report.sections],
            }
            for report in reports
        ],
    }
    if len(reports) > 1:
        columns, rows = comparison(reports)
        document["comparison"] = {"columns": columns, "rows": rows}
    return json.dumps(jsonable(document), indent=2, allow_nan=False)


RENDERERS: dict[str, Callable[[Sequence[PhaseReport]], str]] = {
    "table": render_table,
    "markdown": render_markdown,
    "json": render_json,
}
