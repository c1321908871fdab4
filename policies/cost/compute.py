"""EC2 capacity: instance families, the node ceiling, and spot for burst pools."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from infra.cost.policy_config import BURST_SPOT, FAMILIES, MAX_NODES
from policies.cost.props import items, mapping, number, tag_values

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
AUTO_SCALING_GROUP = "aws:autoscaling/group:Group"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


def instance_types(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    """Every EC2 instance type a resource may launch."""
    if resource_type in (INSTANCE, LAUNCH_TEMPLATE) and props.get("instanceType"):
        yield str(props["instanceType"])
    elif resource_type == NODE_GROUP:
        yield from (str(t) for t in items(props.get("instanceTypes")))
    elif resource_type == AUTO_SCALING_GROUP:
        template = mapping(mapping(props.get("mixedInstancesPolicy")).get("launchTemplate"))
        yield from (str(o["instanceType"]) for o in items(template.get("overrides")) if mapping(o).get("instanceType"))


def _families(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = sorted(args.get_config()["allowed_families"])
    for name in instance_types(args.resource_type, args.props):
        if name.split(".")[0] not in allowed:
            report(
                f"instance type {name!r} is not in a family allowed in this phase ({', '.join(allowed)}); "
                "use one of them, or add the type to scaleplan:compute",
                None,
            )


families_policy = ResourceValidationPolicy(
    name=FAMILIES,
    description=(
        "EC2 instances, launch templates, node groups and ASG overrides use only the phase's instance families."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_families,
    config_schema=PolicyConfigSchema(
        properties={"allowed_families": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
        required=["allowed_families"],
    ),
)


def node_ceilings(resources: list[Any]) -> list[tuple[str, int]]:
    """(name, most nodes it can run) of every ASG, node group and standalone instance."""
    ceilings = []
    for r in resources:
        if r.resource_type == AUTO_SCALING_GROUP:
            ceilings.append((r.name, int(number(r.props.get("maxSize")))))
        elif r.resource_type == NODE_GROUP:
            ceilings.append((r.name, int(number(mapping(r.props.get("scalingConfig")).get("maxSize")))))
        elif r.resource_type == INSTANCE:
            ceilings.append((r.name, 1))
    return ceilings


def _max_nodes(args: StackValidationArgs, report: ReportViolation) -> None:
    limit = int(args.get_config()["max_nodes"])
    ceilings = node_ceilings(args.resources)
    total = sum(n for _, n in ceilings)
    if total > limit:
        groups = ", ".join(f"{name} {n}" for name, n in ceilings)
        report(f"the stack can scale to {total} EC2 nodes, above this phase's maximum of {limit} ({groups})", None)


max_nodes_policy = StackValidationPolicy(
    name=MAX_NODES,
    description="Auto Scaling groups, node groups and instances together can scale to at most the phase's node count.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_max_nodes,
    config_schema=PolicyConfigSchema(
        properties={"max_nodes": {"type": "integer", "minimum": 0}}, required=["max_nodes"]
    ),
)


def _burst_spot(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != NODE_GROUP:
        return
    config = args.get_config()
    key = str(config["burst_label_key"])
    markers = {**tag_values(args.props), **{str(k): str(v) for k, v in mapping(args.props.get("labels")).items()}}
    value = markers.get(key)
    capacity = str(args.props.get("capacityType") or "ON_DEMAND")
    if value in config["burst_label_values"] and capacity != "SPOT":
        report(
            f"node group {args.name} is a burst pool ({key}={value}) but runs {capacity}; burst pools must use SPOT",
            None,
        )


burst_spot_policy = ResourceValidationPolicy(
    name=BURST_SPOT,
    description="EKS node groups marked as burst pools (label or tag) run on spot capacity.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_burst_spot,
    config_schema=PolicyConfigSchema(
        properties={
            "burst_label_key": {"type": "string", "default": "scaleplan.io/pool"},
            "burst_label_values": {"type": "array", "items": {"type": "string"}, "default": ["burst"]},
        }
    ),
)
