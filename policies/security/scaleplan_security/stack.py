"""Stack-wide rules: stateful resources are protected; taggable AWS resources carry the required tags."""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import items, listing, resource_policy

STATEFUL_TYPES = [
    "aws:rds/instance:Instance",
    "aws:rds/cluster:Cluster",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "cloudflare:index/r2Bucket:R2Bucket",
]
"""Resources whose deletion loses data or the means to read it."""

TAGGABLE_AWS_TYPES = frozenset(
    line.strip()
    for line in resources.files(__package__).joinpath("aws_taggable_types.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)
"""Every pulumi_aws resource type with a ``tags`` input (generated; see the file's header)."""


def _protected(args: StackValidationArgs, report: ReportViolation) -> None:
    stateful = set(args.get_config()["types"])
    for resource in args.resources:
        if resource.resource_type in stateful and not resource.opts.protect:
            report(
                f"{resource.resource_type} '{resource.name}' holds state but is not protected; "
                "pass opts=pulumi.ResourceOptions(protect=True).",
                resource.urn,
            )


def _tag_map(value: object) -> Mapping[str, Any]:
    """Tags as a mapping: most types take ``{key: value}``, a few (autoscaling groups) a list of
    ``{key, value, propagateAtLaunch}`` blocks."""
    if isinstance(value, Mapping):
        return value
    return {str(tag.get("key")): tag.get("value") for tag in items(value) if isinstance(tag, Mapping)}


def _tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    tags = _tag_map(args.props.get("tags"))
    missing = [key for key in args.get_config()["requiredTags"] if not tags.get(key)]
    if missing:
        report(
            f"{args.resource_type} '{args.name}' lacks the tags {listing(missing)}; "
            "set tags=standard_tags(...) explicitly (provider default tags do not show in inputs).",
            None,
        )


POLICIES: list[Policy] = [
    StackValidationPolicy(
        name="scaleplan-stateful-resource-require-protect",
        description="Stateful resources must be protected from deletion by Pulumi.",
        validate=_protected,
        config_schema=PolicyConfigSchema(
            properties={"types": {"type": "array", "items": {"type": "string"}, "default": STATEFUL_TYPES}}
        ),
    ),
    resource_policy(
        "aws-taggable-resource-require-tags",
        "Taggable AWS resources must carry the required tags.",
        sorted(TAGGABLE_AWS_TYPES),
        _tags,
        {
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["project", "phase", "environment", "cost-center"],
            }
        },
    ),
]
