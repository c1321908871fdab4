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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from infra.plan.capture import ProgramRun
from infra.plan.mocks import ACCOUNT_ID
from infra.review.plan_capture import MOCK_ACCOUNT_ID, OMITTED_INPUTS, normalize, references
from infra.tagging import REQUIRED_TAG_KEYS
from tests.conftest import built_phase, phase_config

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


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


def snapshot_of(run: ProgramRun) -> list[dict[str, Any]]:
    """The run as a sorted list of (type, name, protect, inputs), stable across machines."""
    refs = references(run.resources)
    # Longest first, so an ARN is replaced before an ID that it contains.
    ordered_refs = sorted(refs, key=len, reverse=True)
    entries = [
        {
            "type": resource.type,
            "name": resource.name,
            "protect": resource.protect,
            "inputs": normalize(
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


def test_mock_account_of_the_capture_is_the_mocks_account() -> None:
    # plan_capture runs inside other checkouts and cannot import the mocks: its copy must agree.
    assert MOCK_ACCOUNT_ID == ACCOUNT_ID
