"""The review as one pull-request comment: guardrails and dangerous changes first, the rest
folded in ``<details>``, always under GitHub's 65,536-character comment limit.

A report too long for the limit keeps its summary, guardrails and every dangerous change, and
shortens the folded detail step by step (fewer items per list, shorter values) until it fits;
the JSON report keeps everything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from infra.review.diagram import mermaid
from infra.review.diff import Action, PlanDiff, ResourceChange, accepted_risks, newly_accepted

COMMENT_LIMIT = 65_536
"""GitHub's limit on a comment body, in characters."""

MARKER = "<!-- scaleplan-review -->"
"""First line of the comment, so the workflow finds and updates its own comment."""

DETAIL_STEPS: tuple[tuple[int | None, int], ...] = ((None, 200), (100, 120), (30, 80), (10, 60), (0, 40))
"""(items shown per folded list, characters per value) tried in turn until the report fits."""


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _delta(before: float, after: float) -> str:
    change = after - before
    percent = f" ({change / before * 100:+.1f}%)" if before else ""
    return f"{'+' if change >= 0 else '-'}${abs(change):,.2f}{percent}"


def _value(value: Any, width: int) -> str:
    text = "(none)" if value is None else json.dumps(value) if not isinstance(value, str) else value
    text = text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _summary(diff: PlanDiff) -> list[str]:
    before_capacity = (diff.before or {}).get("capacity", {}).get("data", {})
    after_capacity = (diff.after or {}).get("capacity", {}).get("data", {})
    rows = [
        ("monthly cost", _money(diff.cost_before), _money(diff.cost_after), _delta(diff.cost_before, diff.cost_after)),
        (
            "budget",
            _money(float((diff.before or {}).get("budget_usd", 0))),
            _money(float((diff.after or {}).get("budget_usd", 0))),
            "",
        ),
        (
            "resources",
            str(len((diff.before or {}).get("resources", []))),
            str(len((diff.after or {}).get("resources", []))),
            "",
        ),
    ]
    for figure in ("users_max", "peak_requests_per_second", "required_vcpus", "available_vcpus"):
        if figure in before_capacity or figure in after_capacity:
            rows.append(
                (
                    figure.replace("_", " "),
                    str(before_capacity.get(figure, "")),
                    str(after_capacity.get(figure, "")),
                    "",
                )
            )
    lines = [f"| | {diff.before_label} | {diff.after_label} | change |", "|---|---:|---:|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    counts = ", ".join(f"{len(diff.of_action(action))} {action.value}" for action in Action)
    return [*lines, "", f"Resources: {counts}."]


def _guardrails(diff: PlanDiff) -> list[str]:
    return [f"- {'✅' if g.passed else '❌'} **{g.name}**: {g.detail}" for g in diff.guardrails]


def _accepted_risks(diff: PlanDiff, width: int) -> list[str]:
    """The after side's accepted risks, each with its reason and what the pack waived; the
    ones this change newly accepts flagged."""
    held = accepted_risks(diff.after)
    if not held:
        return []
    new = set(newly_accepted(diff))
    lines = [f"**Accepted risks of {diff.after_label}**", "", "| risk | reason | waived findings |", "|---|---|---|"]
    for risk, entry in sorted(held.items()):
        flag = " ⚠️ new" if risk in new else ""
        waived = "; ".join(entry.get("waived", [])) or "none"
        lines.append(f"| `{risk}`{flag} | {_value(entry.get('reason'), width)} | {_value(waived, width)} |")
    return [*lines, ""]


def _change_line(change: ResourceChange, width: int, inputs_shown: int | None) -> list[str]:
    flag = " **stateful**" if change.stateful else ""
    head = f"- `{change.type}` **{change.name}** {change.action.value}{flag}"
    if change.action is Action.REPLACE:
        head += f", replaced by {', '.join(f'`{p}`' for p in change.replaced_by)}"
        if not change.create_before_delete:
            head += " (deleted before its replacement is created)"
    inputs = change.inputs if inputs_shown is None else change.inputs[:inputs_shown]
    lines = [head] + [f"  - `{i.path}`: {_value(i.before, width)} → {_value(i.after, width)}" for i in inputs]
    if len(inputs) < len(change.inputs):
        lines.append(f"  - … {len(change.inputs) - len(inputs)} more inputs (JSON report)")
    return lines


def _folded(title: str, lines: list[str]) -> list[str]:
    return ["<details>", f"<summary>{title}</summary>", "", *lines, "", "</details>", ""]


def _limited(items: Sequence[Any], shown: int | None) -> tuple[Sequence[Any], str | None]:
    if shown is None or len(items) <= shown:
        return items, None
    return items[:shown], f"- … {len(items) - shown} more (JSON report)"


def render_diff(diff: PlanDiff, *, shown: int | None = None, width: int = 200, diagram: bool = True) -> str:
    """One diff as Markdown; ``shown`` limits the items of each folded list."""
    lines = [f"### {diff.title}", "", *_summary(diff), ""]
    if diff.guardrails:
        lines += ["**Guardrails**", "", *_guardrails(diff), ""]
    lines += _accepted_risks(diff, width)
    lines += [f"> ⚠️ {note}" for note in diff.notes]
    if diff.notes:
        lines.append("")
    dangerous = diff.dangerous
    if dangerous:
        lines += ["**Stateful replacements, deletions and delete-first replacements**", ""]
        for change in dangerous:  # never shortened: this is what the review is for
            lines += _change_line(change, width, None)
        lines.append("")
    for action, title in (
        (Action.REPLACE, "Replaced"),
        (Action.CHANGE, "Changed in place"),
        (Action.ADD, "Added"),
        (Action.REMOVE, "Removed"),
    ):
        changes = [c for c in diff.of_action(action) if not c.dangerous]
        if not changes:
            continue
        items, more = _limited(changes, shown)
        body = [line for change in items for line in _change_line(change, width, shown)]
        lines += _folded(f"{title} ({len(changes)})", body + ([more] if more else []))
    if diff.cost_by_service:
        rows, more = _limited(diff.cost_by_service, shown)
        body = ["| service | before | after | change |", "|---|---:|---:|---:|"]
        body += [f"| {s} | {_money(b)} | {_money(a)} | {_delta(b, a)} |" for s, b, a in rows]
        lines += _folded("Monthly cost by service", body + ([more] if more else []))
    if diff.cost_by_resource:
        rows_r, more = _limited(diff.cost_by_resource, shown)
        body = ["| resource | before | after | change |", "|---|---:|---:|---:|"]
        body += [f"| {n} | {_money(b)} | {_money(a)} | {_delta(b, a)} |" for _, n, b, a in rows_r]
        lines += _folded(
            f"Monthly cost by resource ({len(diff.cost_by_resource)} changed)", body + ([more] if more else [])
        )
    if diff.findings_added or diff.findings_resolved:
        body = [f"- new: {f.pack}/{f.policy} on {f.resource}: {_value(f.message, width)}" for f in diff.findings_added]
        body += [f"- resolved: {f.pack}/{f.policy} on {f.resource}" for f in diff.findings_resolved]
        items_f, more = _limited(body, shown)
        lines += _folded("Policy verdicts (mandatory findings)", [*items_f, *([more] if more else [])])
    if diagram and diff.after is not None:
        lines += _folded(f"Architecture of {diff.after_label}", ["```mermaid", mermaid(diff.after["resources"]), "```"])
    return "\n".join(lines)


def render(diffs: Sequence[PlanDiff], *, heading: str, notes: Sequence[str] = (), limit: int = COMMENT_LIMIT) -> str:
    """Every diff in one comment, shortened until it fits ``limit``."""
    failed = [diff for diff in diffs if diff.failed]
    status = "❌ guardrails failed" if failed else "✅ guardrails passed"
    top = [MARKER, f"## {heading}: {status}", "", *notes]
    if notes:
        top.append("")
    for shown, width in DETAIL_STEPS:
        for with_diagram in (True, False):
            body = "\n".join([*top, *(render_diff(d, shown=shown, width=width, diagram=with_diagram) for d in diffs)])
            if len(body) <= limit:
                return body
    # Still too long: the summary and guardrails of each diff only, cut at the limit.
    summary = "\n".join([*top, *(f"### {d.title}\n" + "\n".join(_guardrails(d)) for d in diffs)])
    cut = "\n\n… (shortened to fit one comment; the JSON report has everything)"
    return summary if len(summary) <= limit else summary[: limit - len(cut)] + cut
