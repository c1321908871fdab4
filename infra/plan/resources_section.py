"""The plan's resources section: what ``pulumi up`` would create, per top-level component."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from ipaddress import IPv4Network
from typing import Any

from infra.config import PhaseConfig
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import Cell, Section, register

SIZING_INPUTS: tuple[str, ...] = (
    "cidrBlock",
    "instanceType",
    "instanceTypes",
    "instanceClass",
    "nodeType",
    "allocatedStorage",
    "maxAllocatedStorage",
    "numCacheClusters",
    "minSize",
    "desiredCapacity",
    "maxSize",
    "scalingConfig",
    "retentionInDays",
    "vpcEndpointType",
    "trafficType",
    "replicas",
    "chart",
)
"""Inputs that say how big or what kind a resource is, shown beside its count when set."""


def top_level_of(resource: CapturedResource, by_urn: Mapping[str, CapturedResource]) -> CapturedResource:
    """The ancestor of ``resource`` whose parent is the stack (or ``resource`` itself)."""
    current = resource
    seen = {current.urn}
    while current.parent in by_urn and current.parent not in seen:
        current = by_urn[current.parent]
        seen.add(current.urn)
    return current


def group_by_top_level(resources: Sequence[CapturedResource]) -> dict[str, list[CapturedResource]]:
    """Resources keyed by the logical name of their top-level component, groups sorted by name.

    A top-level component is listed with its descendants but not counted among them;
    top-level custom resources (providers) form one ``(providers)`` or ``(stack)`` group,
    listed first. Sorted because registrations reach the mocks in an order that varies from
    run to run, and two plans of the same phase should read (and diff) the same.
    """
    by_urn = {resource.urn: resource for resource in resources}
    groups: dict[str, list[CapturedResource]] = defaultdict(list)
    for resource in resources:
        top = top_level_of(resource, by_urn)
        if top is resource:
            if not resource.custom:
                groups.setdefault(resource.name, [])
                continue
            label = "(providers)" if resource.is_provider else "(stack)"
        else:
            label = top.name
        groups[label].append(resource)
    return dict(sorted(groups.items()))  # "(" sorts before any logical name


def _sizing_value(key: str, value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        # Numbers cross the engine boundary as protobuf doubles: 30 arrives as 30.0.
        return str(int(value))
    if key == "cidrBlock" and isinstance(value, str):
        try:
            return f"/{IPv4Network(value).prefixlen}"
        except ValueError:
            return value
    if isinstance(value, list | tuple):
        return "+".join(str(item) for item in value)
    if isinstance(value, Mapping):
        return ",".join(
            f"{k}={_sizing_value(key, v)}" for k, v in sorted(value.items()) if not isinstance(v, Mapping | list)
        )
    return str(value)


def sizing_summary(resources: Iterable[CapturedResource]) -> str:
    """``cidrBlock /19×3, /24×6``: the distinct sizing inputs of resources of one type."""
    parts: list[str] = []
    resources = list(resources)
    for key in SIZING_INPUTS:
        values = Counter(_sizing_value(key, r.inputs[key]) for r in resources if r.inputs.get(key) is not None)
        if not values:
            continue
        shown = ", ".join(value if count == 1 else f"{value}×{count}" for value, count in sorted(values.items()))
        parts.append(f"{key} {shown}")
    return "; ".join(parts)


@register
def resources_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Counts per type under each top-level component, with their key sizing inputs."""
    rows: list[list[Cell]] = []
    components: dict[str, dict[str, int]] = {}
    custom_total = 0
    for group, members in group_by_top_level(run.resources).items():
        by_type: dict[str, list[CapturedResource]] = defaultdict(list)
        for resource in members:
            by_type[resource.type].append(resource)
        components[group] = {type_token: len(items) for type_token, items in sorted(by_type.items())}
        for type_token, items in sorted(by_type.items()):
            rows.append([group, type_token, len(items), sizing_summary(items)])
        custom_total += sum(1 for resource in members if resource.custom and not resource.is_provider)
    protected = sorted(f"{r.type} {r.name}" for r in run.resources if r.protect)
    notes = [
        f"{custom_total} cloud resources in {len(components)} top-level groups; "
        f"{len(protected)} protected against deletion"
    ]
    return Section(
        title="Resources",
        columns=("component", "type", "count", "sizing"),
        rows=rows,
        notes=notes,
        data={
            "cloud_resources": custom_total,
            "protected": len(protected),
            "components": components,
            "protected_resources": protected,
        },
    )
