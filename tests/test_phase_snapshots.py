"""Every phase built whole: tags on every taggable AWS resource, and a reviewed snapshot.

The snapshot (``tests/snapshots/<phase>.json``) is the golden file a reviewer reads to see
what a change does to each phase: every resource's type, logical name, protect flag and
inputs, with references to other resources written as ``<name.property>`` so that the
file shows the wiring rather than mock IDs. It is never a substitute for the explicit
assertions in the component tests.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from infra.plan.capture import ProgramRun
from infra.plan.mocks import ACCOUNT_ID
from infra.tagging import REQUIRED_TAG_KEYS
from tests.conftest import built_phase, phase_config

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
OMITTED_INPUTS = frozenset({"tags", "tagsAll"})
"""Tags repeat on every resource and have their own test; leaving them out keeps diffs readable."""


# --- tags ------------------------------------------------------------------------------


@functools.cache
def takes_tags(type_token: str) -> bool:
    """Whether the SDK's resource class for ``type_token`` has a ``tags`` input.

    Found through the SDK's own registry of type tokens to classes, so the answer follows
    the installed pulumi-aws rather than a list kept by hand.
    """
    package, module, _ = type_token.split(":")
    registered = rpc._RESOURCE_MODULES.get(f"{package}:{module}")
    if not registered:
        raise LookupError(f"{type_token} is not a registered resource type of the installed SDKs")
    info = registered[0].mod_info  # type: ignore[attr-defined]
    cls = getattr(importlib.import_module(info["fqn"]), info["classes"][type_token])
    return "tags" in inspect.signature(cls._internal_init).parameters


def tag_map(tags: Any) -> dict[str, Any]:
    """Tags as a mapping; Auto Scaling groups take a list of ``{key, value, propagateAtLaunch}``."""
    if isinstance(tags, list):
        return {tag.get("key"): tag.get("value") for tag in tags if isinstance(tag, Mapping)}
    return dict(tags or {})


def test_reads_tags_in_both_shapes() -> None:
    assert tag_map([{"key": "project", "value": "scaleplan", "propagateAtLaunch": True}]) == {"project": "scaleplan"}
    assert tag_map({"project": "scaleplan"}) == {"project": "scaleplan"}
    assert tag_map(None) == {}


def test_taggability_comes_from_the_sdk() -> None:
    assert takes_tags("aws:ec2/vpc:Vpc")
    assert takes_tags("aws:kms/key:Key")
    assert not takes_tags("aws:ec2/route:Route")
    assert not takes_tags("aws:kms/alias:Alias")


def test_every_taggable_aws_resource_carries_the_standard_tags(phase: str) -> None:
    env = phase_config(phase).environment
    expected = {"project": "scaleplan", "phase": phase, "environment": env.name, "cost-center": env.cost_center}
    assert set(expected) == set(REQUIRED_TAG_KEYS)
    run = built_phase(phase)
    checked = 0
    missing = []
    for resource in run.resources:
        if not resource.custom or resource.is_provider or not resource.type.startswith("aws:"):
            continue
        if not takes_tags(resource.type):
            continue
        checked += 1
        tags = tag_map(resource.inputs.get("tags"))
        wrong = {key: tags.get(key) for key, value in expected.items() if tags.get(key) != value}
        if wrong:
            missing.append(f"{resource.type} {resource.name}: {wrong}")
    assert not missing, f"{len(missing)} taggable resources lack the standard tags {expected}:\n" + "\n".join(missing)
    assert checked >= 30


# --- snapshots ---------------------------------------------------------------------------


def _leaves(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(dotted path, text) of every string inside ``value``."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list | tuple):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    return []


_HANDLE = re.compile(r"(?:^|[.\]])(?:id|\w*Id|arn|\w*Arn|\w*[eE]ndpoint|issuer|\w*Url|dnsName|address|data)$")
"""Output properties that other resources hold as references: IDs, ARNs, endpoints."""


def _references(run: ProgramRun) -> dict[str, str]:
    """Provider-computed values (IDs, ARNs, nested ones too) -> ``<logical name.property>``."""
    refs: dict[str, str] = {}
    for resource in run.resources:
        given = {text for _, text in _leaves(dict(resource.inputs))}
        for path, text in _leaves(dict(resource.outputs)):
            # The mock account ID is in every ARN: it is not a reference to anything. Other
            # computed values (a replica's inherited engine name) are plain words, not handles.
            if text in given or text == ACCOUNT_ID or len(text) < 8 or not _HANDLE.search(path):
                continue
            refs.setdefault(text, f"<{resource.name}.{path}>")
    return refs


def _normalize(value: Any, refs: Mapping[str, str], ordered_refs: list[str]) -> Any:
    if isinstance(value, str):
        if value in refs:
            return refs[value]
        for raw in ordered_refs:
            if raw in value:
                value = value.replace(raw, refs[raw])
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _normalize(v, refs, ordered_refs) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_normalize(v, refs, ordered_refs) for v in value]
    return value


def snapshot_of(run: ProgramRun) -> list[dict[str, Any]]:
    """The run as a sorted list of (type, name, protect, inputs), stable across machines."""
    refs = _references(run)
    # Longest first, so an ARN is replaced before an ID that it contains.
    ordered_refs = sorted(refs, key=len, reverse=True)
    entries = [
        {
            "type": resource.type,
            "name": resource.name,
            "protect": resource.protect,
            "inputs": _normalize(
                {k: v for k, v in resource.inputs.items() if k not in OMITTED_INPUTS}, refs, ordered_refs
            ),
        }
        for resource in run.resources
    ]
    return sorted(entries, key=lambda entry: (entry["type"], entry["name"]))


def _differences(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    old = {(e["type"], e["name"]): e for e in expected}
    new = {(e["type"], e["name"]): e for e in actual}
    lines = [f"  + {t} {n}" for t, n in sorted(new.keys() - old.keys())]
    lines += [f"  - {t} {n}" for t, n in sorted(old.keys() - new.keys())]
    for key in sorted(old.keys() & new.keys()):
        before, after = old[key], new[key]
        if before == after:
            continue
        changed = sorted(
            k
            for k in before["inputs"].keys() | after["inputs"].keys()
            if before["inputs"].get(k) != after["inputs"].get(k)
        )
        if before["protect"] != after["protect"]:
            changed.append("protect")
        lines.append(f"  ~ {key[0]} {key[1]}: {', '.join(changed)}")
    return lines


def test_phase_matches_its_reviewed_snapshot(phase: str) -> None:
    path = SNAPSHOTS / f"{phase}.json"
    actual = snapshot_of(built_phase(phase))
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        return
    how = (
        "To accept what the program now declares, run `UPDATE_SNAPSHOTS=1 uv run pytest "
        f"tests/test_phase_snapshots.py`, review `git diff tests/snapshots/{phase}.json` (a renamed logical "
        "name or a changed replacement-triggering input replaces a live resource; see CHANGELOG.md), and "
        "commit the snapshot with the change that caused it."
    )
    if not path.exists():
        pytest.fail(f"no snapshot for {phase} at {path}. {how}")
    expected = json.loads(path.read_text())
    if expected != actual:
        lines = _differences(expected, actual)
        shown = "\n".join(lines[:40]) + (f"\n  ... and {len(lines) - 40} more" if len(lines) > 40 else "")
        pytest.fail(f"{phase} no longer matches {path.name} (+ added, - removed, ~ changed inputs):\n{shown}\n{how}")


def test_snapshot_shows_wiring_not_mock_ids() -> None:
    entries = {(e["type"], e["name"]): e for e in snapshot_of(built_phase("growth"))}
    subnet = entries[("aws:ec2/subnet:Subnet", "network-private-us-east-1a")]
    assert subnet["inputs"]["vpcId"] == "<network-vpc.id>"
    assert subnet["inputs"]["cidrBlock"] == "10.40.0.0/19"
    log_group = entries[("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")]
    assert log_group["inputs"]["kmsKeyId"] == "<keys-logs.arn>"
    assert log_group["inputs"]["retentionInDays"] == 30
    assert entries[("aws:kms/key:Key", "keys-logs")]["protect"] is True
