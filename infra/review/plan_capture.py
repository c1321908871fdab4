"""One side of a review: the plan of a phase as data, from whichever checkout runs it.

This file is run as a script (``python plan_capture.py PHASE STACK_FILE``) with the working
directory and ``sys.path`` set to the checkout being reviewed: the PR's head, or its base in a
temporary git worktree. It therefore imports nothing of *this* checkout at module level, only
the standard library, and reaches the reviewed checkout through the few entry points that
every revision of the program has had: ``infra.config.loader.load_stack_file``,
``infra.plan.report.run_phase`` and ``build_sections``, and ``infra.cost.section.phase_estimate``.
It prints one JSON document (:func:`capture`) on standard output.

Resources are written as the phase snapshots write them (type, logical name, protect, inputs),
with provider-computed IDs and ARNs replaced by ``<logical name.property>``, so that two
captures compare by what they declare rather than by mock IDs.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MOCK_ACCOUNT_ID = "123456789012"
"""The account the mocks put in every ARN: part of no reference."""

OMITTED_INPUTS = frozenset({"tags", "tagsAll"})
"""Tags repeat on every resource (their own test guards them); left out to keep diffs readable."""

_HANDLE = re.compile(r"(?:^|[.\]])(?:id|\w*Id|arn|\w*Arn|\w*[eE]ndpoint|issuer|\w*Url|dnsName|address|data)$")
"""Output properties that other resources hold as references: IDs, ARNs, endpoints."""


def _leaves(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, text) of every string inside ``value``."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return []


def references(resources: Any) -> dict[str, str]:
    """Provider-computed values (IDs, ARNs, nested ones too) -> ``<logical name.property>``."""
    refs: dict[str, str] = {}
    for resource in resources:
        given = {text for _, text in _leaves(dict(resource.inputs))}
        for path, text in _leaves(dict(resource.outputs)):
            # The mock account ID is in every ARN: it is not a reference to anything. Other
            # computed values (a replica's inherited engine name) are plain words, not handles.
            if text in given or text == MOCK_ACCOUNT_ID or len(text) < 8 or not _HANDLE.search(path):
                continue
            refs.setdefault(text, f"<{resource.name}.{path}>")
    return refs


def normalize(value: Any, refs: Mapping[str, str], ordered_refs: list[str]) -> Any:
    """``value`` with references written by name, floats that are integers as ints, keys sorted."""
    if isinstance(value, str):
        return _named_references(value, refs, ordered_refs)
    if isinstance(value, float):
        return (int(value) if value.is_integer() else value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): normalize(v, refs, ordered_refs) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [normalize(v, refs, ordered_refs) for v in value]
    return value if value is None or isinstance(value, bool | int) else str(value)


def _named_references(text: str, refs: Mapping[str, str], ordered_refs: list[str]) -> str:
    if text in refs:
        return refs[text]
    for raw in ordered_refs:
        if raw in text:
            text = text.replace(raw, refs[raw])
    return text


def resource_key(urn: str) -> str:
    """A resource's URN without its stack (``project::qualified type::name``): the same resource
    matches across stacks, so a phase compares with the next phase it is promoted to."""
    return urn.split("::", 1)[1] if "::" in urn else urn


def snapshot_entries(resources: Any) -> list[dict[str, Any]]:
    """Every resource as (key, type, name, protect, inputs, ...), sorted by type and name."""
    refs = references(resources)
    # Longest first, so an ARN is replaced before an ID that it contains.
    ordered_refs = sorted(refs, key=len, reverse=True)
    entries = [
        {
            "key": resource_key(resource.urn),
            "type": resource.type,
            "name": resource.name,
            "custom": bool(resource.custom),
            "protect": bool(resource.protect),
            "delete_before_replace": bool(getattr(resource, "delete_before_replace", False)),
            "inputs": normalize(
                {k: v for k, v in resource.inputs.items() if k not in OMITTED_INPUTS}, refs, ordered_refs
            ),
        }
        for resource in resources
        if not resource.type.startswith("pulumi:providers:")
    ]
    return sorted(entries, key=lambda entry: (entry["type"], entry["name"]))


def _section_data(sections: Any, title: str) -> dict[str, Any]:
    for section in sections:
        if section.title == title:
            return {"failed": bool(section.failed), "data": normalize(dict(section.data), {}, [])}
    return {"failed": False, "data": {}, "missing": True}


def _cost_lines(config: Any, run: Any) -> list[dict[str, Any]]:
    """Each priced line of the reviewed checkout's estimate (empty when it cannot price)."""
    try:
        from infra.cost.section import phase_estimate  # noqa: PLC0415 - the reviewed checkout's

        result = phase_estimate(config, run)
    except Exception:  # noqa: BLE001 - a checkout that cannot price shows no lines; its section says why
        return []
    return [
        {
            "key": resource_key(line.urn) if line.urn else line.name,
            "name": line.name,
            "type": line.type,
            "item": line.item,
            "monthly_usd": round(float(line.monthly_usd), 2),
        }
        for line in result.lines
    ]


def _accepted_risks(config: Any, sections: Any) -> dict[str, Any]:
    """Risk -> {reason, waived: ["<policy> on <resource>", ...]}: the stack file's
    ``scaleplan:accepted_risks`` (absent from revisions before it existed) and what the plan's
    "Accepted risks" section says each waived."""
    declared = getattr(config, "accepted_risks", None) or {}
    section = _section_data(sections, "Accepted risks")["data"].get("risks", {})
    return {
        str(getattr(risk, "value", risk)): {
            "reason": str(reason),
            "waived": [
                f"{policy} on {resource}"
                for policy, resource, _ in section.get(str(getattr(risk, "value", risk)), {}).get("waived", [])
            ],
        }
        for risk, reason in sorted(declared.items(), key=lambda item: str(item[0]))
    }


def capture(phase: str, stack_file: Path) -> dict[str, Any]:
    """The plan of ``phase`` from ``stack_file``, by the checkout on ``sys.path``, as data."""
    from infra.config.loader import load_stack_file  # noqa: PLC0415 - the reviewed checkout's
    from infra.plan.report import build_sections, run_phase  # noqa: PLC0415

    config = load_stack_file(stack_file)
    run = run_phase(config, phase)
    return document(phase, stack_file.name, config, run, build_sections(config, run))


def document(phase: str, stack_file: str, config: Any, run: Any, sections: Any) -> dict[str, Any]:
    """A phase's plan as data, from its config, its mocked run and its plan sections."""
    return {
        "phase": phase,
        "stack_file": stack_file,
        "budget_usd": float(config.budget.monthly_usd),
        "resources": snapshot_entries(run.resources),
        "cost": _section_data(sections, "Cost"),
        "cost_lines": _cost_lines(config, run),
        "capacity": _section_data(sections, "Capacity"),
        "policy": _section_data(sections, "Policy verdicts"),
        "accepted_risks": _accepted_risks(config, sections),
        "failed_sections": sorted(section.title for section in sections if section.failed),
    }


def main(argv: list[str]) -> int:
    """``plan_capture.py PHASE STACK_FILE [PHASE STACK_FILE ...]``: one JSON list on stdout."""
    if len(argv) < 2 or len(argv) % 2:
        print("usage: plan_capture.py PHASE STACK_FILE [PHASE STACK_FILE ...]", file=sys.stderr)
        return 2
    pairs = list(zip(argv[0::2], argv[1::2], strict=True))
    try:
        documents = [capture(phase, Path(path)) for phase, path in pairs]
    except Exception as exc:  # noqa: BLE001 - one line for the caller, which names the revision
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    json.dump(documents, sys.stdout, sort_keys=True)
    return 0


if __name__ == "__main__":
    # Run as a script inside the reviewed checkout: its root (the working directory) must win
    # over this file's folder, which Python put first on sys.path.
    sys.path[0] = str(Path.cwd())
    raise SystemExit(main(sys.argv[1:]))
