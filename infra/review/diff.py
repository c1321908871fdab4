"""What a change does: two captured plans compared resource by resource, with cost, capacity
and policy verdicts before and after, and the guardrails a reviewer relies on.

A side is the JSON document :mod:`infra.review.plan_capture` prints for one phase. The two
sides are either two phases of one checkout (``growth`` -> ``scale``: the promotion about to
run against a live environment) or one phase at two revisions (a pull request's base and head).

Which changed inputs replace a resource comes from the providers' own replacement rules
(:mod:`infra.provider_schemas.replacement`, derived from their sources); stateful resources
replaced or removed are what a reviewer must see first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

Plan = Mapping[str, Any]
"""One side: the document :func:`infra.review.plan_capture.capture` returns."""


class ReplacementRules(Protocol):
    """What the diff needs of the providers' replacement rules."""

    def replaced_by(self, type_token: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]: ...

    def is_stateful(self, type_token: str) -> bool: ...

    def physical_name_paths(self, type_token: str) -> frozenset[str]: ...


def provider_rules() -> ReplacementRules:
    """The rules derived from the providers' sources (the default for every report)."""
    from infra.provider_schemas import replacement  # noqa: PLC0415 - loads its data files

    return replacement


class Action(StrEnum):
    ADD = "add"
    CHANGE = "change"
    REPLACE = "replace"
    REMOVE = "remove"


@dataclass(frozen=True)
class InputChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ResourceChange:
    key: str
    """The URN without its stack: the same resource across phases and revisions."""
    type: str
    name: str
    action: Action
    stateful: bool
    """A database, cache, key, secret, bucket...: data is lost if it is replaced or removed."""
    inputs: tuple[InputChange, ...] = ()
    replaced_by: tuple[str, ...] = ()
    """The changed inputs that force a replacement."""
    create_before_delete: bool = True
    """False when the replacement must delete first: ``deleteBeforeReplace``, or a fixed
    physical name the new resource cannot take while the old one holds it (an outage)."""

    @property
    def dangerous(self) -> bool:
        """Replaced or removed while stateful, or replaced without create-before-delete."""
        if self.action in (Action.REPLACE, Action.REMOVE) and self.stateful:
            return True
        return self.action is Action.REPLACE and not self.create_before_delete


@dataclass(frozen=True)
class Finding:
    pack: str
    policy: str
    resource: str
    message: str


@dataclass(frozen=True)
class Guardrail:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Limits:
    """Guardrails: what fails the check."""

    max_cost_increase_percent: float | None = None
    """A monthly cost increase above this share of the base fails; None: never."""
    allow_stateful_replacement: bool = False
    allow_mandatory_findings: bool = False
    allow_new_accepted_risks: bool = False
    """Report, but do not fail on, a risk the head accepts that the base did not."""


@dataclass(frozen=True)
class PlanDiff:
    title: str
    before_label: str
    after_label: str
    before: Plan | None
    after: Plan | None
    resources: tuple[ResourceChange, ...]
    cost_by_service: tuple[tuple[str, float, float], ...]
    cost_by_resource: tuple[tuple[str, str, float, float], ...]
    """(key, name, before USD, after USD) for each resource whose cost differs."""
    findings_added: tuple[Finding, ...]
    findings_resolved: tuple[Finding, ...]
    guardrails: tuple[Guardrail, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def failed(self) -> bool:
        return any(not guardrail.passed for guardrail in self.guardrails)

    def of_action(self, action: Action) -> list[ResourceChange]:
        return [change for change in self.resources if change.action is action]

    @property
    def dangerous(self) -> list[ResourceChange]:
        return [change for change in self.resources if change.dangerous]

    @property
    def cost_before(self) -> float:
        return _total(self.before)

    @property
    def cost_after(self) -> float:
        return _total(self.after)


def _total(plan: Plan | None) -> float:
    if plan is None:
        return 0.0
    return float(plan.get("cost", {}).get("data", {}).get("total_usd") or 0.0)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves: ``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}``; empty containers kept."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def input_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[InputChange, ...]:
    """Every leaf that differs, sorted by path."""
    old, new = flatten(dict(before)), flatten(dict(after))
    return tuple(
        InputChange(path, old.get(path), new.get(path))
        for path in sorted(old.keys() | new.keys())
        if old.get(path) != new.get(path)
    )


def _stateful(entry: Mapping[str, Any], rules: ReplacementRules) -> bool:
    return bool(entry.get("protect")) or rules.is_stateful(str(entry["type"]))


def _name_collides(was: Mapping[str, Any], now: Mapping[str, Any], rules: ReplacementRules) -> bool:
    """Whether the replacement keeps a physical name that an input fixes: the new resource
    cannot be created while the old one holds it, so the old one must be deleted first. A
    replacement that also changes the name (a content-hashed name) creates before it deletes."""
    try:
        paths = rules.physical_name_paths(str(now["type"]))
    except KeyError:
        return True
    old, new = flatten(dict(was.get("inputs", {}))), flatten(dict(now.get("inputs", {})))
    return any(new.get(path) not in (None, "") and new.get(path) == old.get(path) for path in paths)


UNKNOWN_RULES = "(no replacement rules for this type: assumed to replace)"


def _forcing(rules: ReplacementRules, now: Mapping[str, Any], was: Mapping[str, Any]) -> tuple[str, ...]:
    """The changed inputs that replace the resource; a type the rules do not know is assumed
    replaced, so that a reviewer checks it rather than trusts it."""
    try:
        return tuple(rules.replaced_by(str(now["type"]), was.get("inputs", {}), now.get("inputs", {})))
    except KeyError:
        return (UNKNOWN_RULES,)


def resource_changes(before: Plan | None, after: Plan | None, rules: ReplacementRules) -> tuple[ResourceChange, ...]:
    old = {entry["key"]: entry for entry in (before or {}).get("resources", [])}
    new = {entry["key"]: entry for entry in (after or {}).get("resources", [])}
    changes: list[ResourceChange] = []
    for key in sorted(new.keys() - old.keys()):
        entry = new[key]
        changes.append(ResourceChange(key, entry["type"], entry["name"], Action.ADD, _stateful(entry, rules)))
    for key in sorted(old.keys() - new.keys()):
        entry = old[key]
        changes.append(ResourceChange(key, entry["type"], entry["name"], Action.REMOVE, _stateful(entry, rules)))
    for key in sorted(old.keys() & new.keys()):
        was, now = old[key], new[key]
        inputs = input_changes(was.get("inputs", {}), now.get("inputs", {}))
        protect_changed = bool(was.get("protect")) != bool(now.get("protect"))
        if not inputs and not protect_changed:
            continue
        if protect_changed:
            inputs = (*inputs, InputChange("(protect)", bool(was.get("protect")), bool(now.get("protect"))))
        stateful = _stateful(was, rules) or _stateful(now, rules)
        forcing = _forcing(rules, now, was) if now["custom"] else ()
        if was["type"] != now["type"]:
            forcing = ("(type)",)
        if forcing:
            before_first = bool(now.get("delete_before_replace")) or _name_collides(was, now, rules)
            changes.append(
                ResourceChange(
                    key,
                    now["type"],
                    now["name"],
                    Action.REPLACE,
                    stateful,
                    inputs,
                    tuple(forcing),
                    create_before_delete=not before_first,
                )
            )
        else:
            changes.append(ResourceChange(key, now["type"], now["name"], Action.CHANGE, stateful, inputs))
    order = {Action.REPLACE: 0, Action.REMOVE: 1, Action.CHANGE: 2, Action.ADD: 3}
    return tuple(sorted(changes, key=lambda c: (not c.dangerous, order[c.action], c.type, c.name)))


def service_of(type_token: str) -> str:
    """``aws:rds/instance:Instance`` -> ``aws:rds``; lines with no resource -> ``(account)``."""
    if ":" not in type_token:
        return "(account)"
    package, module = type_token.split(":")[:2]
    return f"{package}:{module.split('/')[0]}" if package == "aws" else package


def _cost_by(plan: Plan | None, key_of: Any) -> dict[Any, float]:
    totals: dict[Any, float] = defaultdict(float)
    for line in (plan or {}).get("cost_lines", []):
        totals[key_of(line)] += float(line["monthly_usd"])
    return totals


def cost_by_service(before: Plan | None, after: Plan | None) -> tuple[tuple[str, float, float], ...]:
    old = _cost_by(before, lambda line: service_of(line["type"]))
    new = _cost_by(after, lambda line: service_of(line["type"]))
    rows = [(service, round(old.get(service, 0.0), 2), round(new.get(service, 0.0), 2)) for service in old | new]
    return tuple(sorted(rows, key=lambda row: -abs(row[2] - row[1])))


def cost_by_resource(before: Plan | None, after: Plan | None) -> tuple[tuple[str, str, float, float], ...]:
    old = _cost_by(before, lambda line: (line["key"], line["name"]))
    new = _cost_by(after, lambda line: (line["key"], line["name"]))
    rows = [
        (key, name, round(old.get((key, name), 0.0), 2), round(new.get((key, name), 0.0), 2))
        for key, name in old | new
        if round(old.get((key, name), 0.0), 2) != round(new.get((key, name), 0.0), 2)
    ]
    return tuple(sorted(rows, key=lambda row: -abs(row[3] - row[2])))


def mandatory_findings(plan: Plan | None) -> set[Finding]:
    packs = (plan or {}).get("policy", {}).get("data", {}).get("packs", {})
    return {
        Finding(pack, str(policy), str(urn).rsplit("::", 1)[-1], str(message))
        for pack, report in packs.items()
        for policy, urn, message in report.get("mandatory", [])
    }


def accepted_risks(plan: Plan | None) -> dict[str, Any]:
    """Risk -> {reason, waived}: what the side's stack file accepts (empty for a side without any)."""
    return dict((plan or {}).get("accepted_risks", {}))


def newly_accepted(diff: PlanDiff) -> list[str]:
    """Risks the after side accepts that the before side did not (all of them for a new phase)."""
    if diff.after is None:
        return []
    return sorted(set(accepted_risks(diff.after)) - set(accepted_risks(diff.before)))


def _accepted_risk_guardrail(diff: PlanDiff, limits: Limits) -> Guardrail:
    new = newly_accepted(diff)
    held = accepted_risks(diff.after)
    if new:
        detail = "; ".join(f"newly accepted {risk}: {held[risk]['reason']}" for risk in new)
        detail += " (a secure default relaxed by this change: its reviewer accepts it too)"
    else:
        kept = ", ".join(sorted(held)) or "none"
        detail = f"no risk newly accepted (accepted: {kept})"
    return Guardrail("accepted risks", limits.allow_new_accepted_risks or not new, detail)


def guardrails(diff: PlanDiff, limits: Limits) -> tuple[Guardrail, ...]:
    """Each check with a line saying what passed or which resource, cost or finding failed it."""
    checks: list[Guardrail] = []
    dangerous = diff.dangerous
    checks.append(
        Guardrail(
            "stateful replacement",
            limits.allow_stateful_replacement or not dangerous,
            "; ".join(_danger_line(change) for change in dangerous)
            or "no stateful resource is replaced or removed, and every replacement creates before it deletes",
        )
    )
    checks.append(_accepted_risk_guardrail(diff, limits))
    if diff.after is not None:
        found = sorted(mandatory_findings(diff.after), key=lambda f: (f.pack, f.policy, f.resource))
        checks.append(
            Guardrail(
                "mandatory policy findings",
                limits.allow_mandatory_findings or not found,
                "; ".join(f"{f.pack}/{f.policy} on {f.resource}: {f.message}" for f in found) or "no mandatory finding",
            )
        )
    if limits.max_cost_increase_percent is not None and diff.before is not None and diff.after is not None:
        before, after = diff.cost_before, diff.cost_after
        increase = (after - before) / before * 100 if before else (100.0 if after else 0.0)
        checks.append(
            Guardrail(
                "cost increase",
                increase <= limits.max_cost_increase_percent,
                f"${before:,.2f} -> ${after:,.2f}/month ({increase:+.1f}%, "
                f"limit +{limits.max_cost_increase_percent:g}%)",
            )
        )
    return tuple(checks)


def _danger_line(change: ResourceChange) -> str:
    what = "removed" if change.action is Action.REMOVE else f"replaced by {', '.join(change.replaced_by)}"
    if change.action is Action.REPLACE and not change.create_before_delete:
        what += " (deleted before the new one exists)"
    return f"{change.type} {change.name} {what}"


def budget_notes(before: Plan | None, after: Plan | None) -> list[str]:
    """A budget raised in the change under review: the cost pack's settings derive from the
    stack file under review, so the same change loosens the check that judges it."""
    if before is None or after is None:
        return []
    old, new = float(before.get("budget_usd", 0)), float(after.get("budget_usd", 0))
    if new > old:
        return [
            f"the monthly budget rises from ${old:,.2f} to ${new:,.2f} in this change: the cost pack's "
            "limits come from the stack file under review, so this change also loosens the check that judges it"
        ]
    return []


def compare(
    before: Plan | None,
    after: Plan | None,
    *,
    title: str,
    before_label: str,
    after_label: str,
    limits: Limits | None = None,
    rules: ReplacementRules | None = None,
    same_phase: bool = True,
) -> PlanDiff:
    """The diff of two plans, with guardrails evaluated against ``limits``.

    ``same_phase`` is False for a promotion (two phases): a budget change is then the plan's
    intent, not a loosened check.
    """
    rules = rules or provider_rules()
    old_findings, new_findings = mandatory_findings(before), mandatory_findings(after)
    diff = PlanDiff(
        title=title,
        before_label=before_label,
        after_label=after_label,
        before=before,
        after=after,
        resources=resource_changes(before, after, rules),
        cost_by_service=cost_by_service(before, after),
        cost_by_resource=cost_by_resource(before, after),
        findings_added=tuple(sorted(new_findings - old_findings, key=lambda f: (f.pack, f.policy, f.resource))),
        findings_resolved=tuple(sorted(old_findings - new_findings, key=lambda f: (f.pack, f.policy, f.resource))),
        notes=tuple(budget_notes(before, after) if same_phase else ()),
    )
    return PlanDiff(**{**diff.__dict__, "guardrails": guardrails(diff, limits or Limits())})


def failed_guardrails(diffs: Iterable[PlanDiff]) -> list[str]:
    """One line per failed guardrail over several diffs: what the check prints before failing."""
    return [
        f"{diff.title}: {guardrail.name}: {guardrail.detail}"
        for diff in diffs
        for guardrail in diff.guardrails
        if not guardrail.passed
    ]


def as_json(diffs: Sequence[PlanDiff]) -> dict[str, Any]:
    """The diffs for machines: every change, cost line and guardrail."""
    return {
        "failed": any(diff.failed for diff in diffs),
        "diffs": [
            {
                "title": diff.title,
                "before": diff.before_label,
                "after": diff.after_label,
                "failed": diff.failed,
                "guardrails": [g.__dict__ for g in diff.guardrails],
                "notes": list(diff.notes),
                "cost": {
                    "before_usd": round(diff.cost_before, 2),
                    "after_usd": round(diff.cost_after, 2),
                    "delta_usd": round(diff.cost_after - diff.cost_before, 2),
                    "by_service": [{"service": s, "before_usd": b, "after_usd": a} for s, b, a in diff.cost_by_service],
                    "by_resource": [
                        {"key": k, "name": n, "before_usd": b, "after_usd": a} for k, n, b, a in diff.cost_by_resource
                    ],
                },
                "capacity": {
                    "before": (diff.before or {}).get("capacity", {}).get("data", {}),
                    "after": (diff.after or {}).get("capacity", {}).get("data", {}),
                },
                "accepted_risks": {
                    "before": accepted_risks(diff.before),
                    "after": accepted_risks(diff.after),
                    "new": newly_accepted(diff),
                },
                "policy": {
                    "added": [f.__dict__ for f in diff.findings_added],
                    "resolved": [f.__dict__ for f in diff.findings_resolved],
                },
                "resources": [
                    {
                        "key": c.key,
                        "type": c.type,
                        "name": c.name,
                        "action": c.action.value,
                        "stateful": c.stateful,
                        "dangerous": c.dangerous,
                        "replaced_by": list(c.replaced_by),
                        "create_before_delete": c.create_before_delete,
                        "inputs": [{"path": i.path, "before": i.before, "after": i.after} for i in c.inputs],
                    }
                    for c in diff.resources
                ],
            }
            for diff in diffs
        ],
    }
