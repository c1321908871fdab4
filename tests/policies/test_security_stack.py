"""Stack-wide rules (protect, tags), through the real analyzer protocol."""

from __future__ import annotations

import pytest

from infra.policy.config import parse_config
from infra.policy.runner import resource
from infra.policy.taggable import TAGGABLE_FILE, render, scan_taggable_types
from tests.policies.conftest import PackUnderTest
from tests.policies.test_security_rds import TAGS

PROTECT = "scaleplan-stateful-resource-require-protect"
TAGS_POLICY = "aws-taggable-resource-require-tags"


@pytest.mark.parametrize(
    "type_",
    [
        "aws:rds/instance:Instance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "cloudflare:index/r2Bucket:R2Bucket",
    ],
)
def test_stateful_resource_must_be_protected(security_pack: PackUnderTest, type_: str) -> None:
    kept = resource(type_, "kept", {"tags": TAGS}, protect=True)
    loose = resource(type_, "loose", {"tags": TAGS})
    assert security_pack.stack_violations([kept, loose], PROTECT) == [
        (
            loose.urn,
            f"{type_} 'loose' holds state but is not protected; pass opts=pulumi.ResourceOptions(protect=True).",
        )
    ]


def test_stateless_resources_need_no_protect(security_pack: PackUnderTest) -> None:
    subnet = resource("aws:ec2/subnet:Subnet", "subnet", {"tags": TAGS})
    assert security_pack.stack_violations([subnet], PROTECT) == []


def test_stateful_types_come_from_config(security_pack: PackUnderTest) -> None:
    bucket = resource("aws:s3/bucketV2:BucketV2", "logs", {"tags": TAGS})
    config = {PROTECT: {"types": ["aws:rds/instance:Instance"]}}
    assert security_pack.stack_violations([bucket], PROTECT, config) == []


def test_tagged_resource_passes(security_pack: PackUnderTest) -> None:
    assert security_pack.violations(resource("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS}), TAGS_POLICY) == []


def test_rejects_taggable_resource_missing_tags(security_pack: PackUnderTest) -> None:
    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"tags": {"project": "scaleplan", "phase": "", "environment": "x"}})
    assert security_pack.violations(vpc, TAGS_POLICY) == [
        "aws:ec2/vpc:Vpc 'vpc' lacks the tags phase, cost-center; set tags=standard_tags(...) explicitly "
        "(provider default tags do not show in inputs)."
    ]


def test_rejects_taggable_resource_without_tags(security_pack: PackUnderTest) -> None:
    rule = resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "in", {"description": "x"})
    assert security_pack.violations(rule, TAGS_POLICY) == [
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule 'in' lacks the tags project, phase, environment, "
        "cost-center; set tags=standard_tags(...) explicitly (provider default tags do not show in inputs)."
    ]


def test_untaggable_resources_are_not_asked_for_tags(security_pack: PackUnderTest) -> None:
    route = resource("aws:ec2/route:Route", "route", {"destinationCidrBlock": "0.0.0.0/0"})
    assert security_pack.violations(route, TAGS_POLICY) == []


def test_required_tags_come_from_config(security_pack: PackUnderTest) -> None:
    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS})
    config = {TAGS_POLICY: {"requiredTags": ["project", "owner"]}}
    assert security_pack.violations(vpc, TAGS_POLICY, config) == [
        "aws:ec2/vpc:Vpc 'vpc' lacks the tags owner; set tags=standard_tags(...) explicitly "
        "(provider default tags do not show in inputs)."
    ]


def test_taggable_type_list_matches_the_installed_pulumi_aws() -> None:
    # Regenerate with `uv run python -m infra.policy.taggable` after upgrading pulumi-aws.
    types = scan_taggable_types()
    assert {"aws:ec2/vpc:Vpc", "aws:rds/instance:Instance", "aws:kms/key:Key"} <= set(types)
    assert "aws:ec2/route:Route" not in types
    assert TAGGABLE_FILE.read_text() == render(types)


def test_list_shaped_tags_of_autoscaling_groups_are_read(security_pack: PackUnderTest) -> None:
    blocks = [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in TAGS.items() if k != "phase"]
    group = resource("aws:autoscaling/group:Group", "asg", {"tags": blocks})
    assert security_pack.violations(group, TAGS_POLICY) == [
        "aws:autoscaling/group:Group 'asg' lacks the tags phase; set tags=standard_tags(...) explicitly "
        "(provider default tags do not show in inputs)."
    ]


def test_pack_under_test_reconfigures_a_process_another_test_reconfigured(security_pack: PackUnderTest) -> None:
    vpc = resource("aws:ec2/vpc:Vpc", "vpc", {"tags": TAGS})
    assert security_pack.violations(vpc, TAGS_POLICY) == []
    security_pack.process.configure(security_pack.stack, parse_config({TAGS_POLICY: {"requiredTags": ["absent"]}}))
    assert security_pack.violations(vpc, TAGS_POLICY) == []
