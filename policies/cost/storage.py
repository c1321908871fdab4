"""EBS volumes: gp3, never gp2."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from infra.cost.policy_config import GP2
from policies.cost.props import items, mapping


def gp2_volumes(resource_type: str, props: Mapping[str, Any]) -> Iterator[str]:
    """Where a resource asks for gp2 (a description for the message)."""
    if resource_type == "aws:ebs/volume:Volume" and props.get("type") == "gp2":
        yield "the volume"
    elif resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        for device in items(props.get("blockDeviceMappings")):
            if mapping(mapping(device).get("ebs")).get("volumeType") == "gp2":
                yield f"block device {mapping(device).get('deviceName')}"
    elif resource_type == "aws:ec2/instance:Instance":
        if mapping(props.get("rootBlockDevice")).get("volumeType") == "gp2":
            yield "the root volume"
        for device in items(props.get("ebsBlockDevices")):
            if mapping(device).get("volumeType") == "gp2":
                yield f"block device {mapping(device).get('deviceName')}"
    elif (
        resource_type == "kubernetes:storage.k8s.io/v1:StorageClass"
        and mapping(props.get("parameters")).get("type") == "gp2"
    ):
        yield "the storage class"


def _validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where in gp2_volumes(args.resource_type, args.props):
        report(f"{where} of {args.name} is gp2; use gp3 (cheaper per GB-month, 3,000 IOPS baseline at any size)", None)


policy = ResourceValidationPolicy(
    name=GP2,
    description="EBS volumes, launch-template and instance block devices, and EBS storage classes use gp3, not gp2.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_validate,
)
