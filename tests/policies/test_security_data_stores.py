"""ElastiCache, Secrets Manager, SNS, CloudWatch Logs and KMS rules, through the real analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy.runner import resource
from tests.policies.conftest import DELETE, PackUnderTest, mutate
from tests.policies.test_security_rds import KEY, TAGS

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE: dict[str, Any] = {
    "description": "sessions and hot reads",
    "engine": "valkey",
    "atRestEncryptionEnabled": True,
    "kmsKeyId": KEY,
    "transitEncryptionEnabled": True,
    "transitEncryptionMode": "required",
    "authToken": "s3cr3t-token-from-secrets-manager-0123456789",
    "automaticFailoverEnabled": True,
    "multiAzEnabled": True,
    "numCacheClusters": 2,
    "snapshotRetentionLimit": 7,
    "tags": TAGS,
}


def test_compliant_replication_group_passes_every_rule(security_pack: PackUnderTest) -> None:
    assert security_pack.all_violations(resource(REPLICATION_GROUP, "cache", CACHE)) == {}


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        (
            "aws-elasticache-replicationgroup-enable-at-rest-encryption",
            "atRestEncryptionEnabled",
            False,
            "ElastiCache replication group 'cache' does not encrypt at rest; set at_rest_encryption_enabled=True.",
        ),
        (
            "aws-elasticache-replicationgroup-enable-at-rest-encryption",
            "kmsKeyId",
            DELETE,
            "ElastiCache replication group 'cache' encrypts at rest with the AWS-managed key; "
            "set kms_key_id to a customer-managed KMS key ARN.",
        ),
        (
            "aws-elasticache-replicationgroup-enable-in-transit-encryption",
            "transitEncryptionEnabled",
            DELETE,
            "ElastiCache replication group 'cache' does not encrypt in transit; set transit_encryption_enabled=True.",
        ),
        (
            "aws-elasticache-replicationgroup-enable-in-transit-encryption",
            "transitEncryptionMode",
            "preferred",
            "ElastiCache replication group 'cache' accepts plaintext connections "
            "(transitEncryptionMode=preferred); set transit_encryption_mode='required'.",
        ),
        (
            "aws-elasticache-replicationgroup-require-auth",
            "authToken",
            DELETE,
            "ElastiCache replication group 'cache' accepts unauthenticated clients; "
            "set auth_token (from a secret) or user_group_ids.",
        ),
        (
            "aws-elasticache-replicationgroup-enable-automatic-failover",
            "automaticFailoverEnabled",
            False,
            "ElastiCache replication group 'cache' has automaticFailoverEnabled=False and multiAzEnabled=True; "
            "set automatic_failover_enabled=True and multi_az_enabled=True with at least one replica. Or, where the "
            "phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.single_cache_node with "
            "the reason.",
        ),
        (
            "aws-elasticache-replicationgroup-enable-automatic-failover",
            "multiAzEnabled",
            DELETE,
            "ElastiCache replication group 'cache' has automaticFailoverEnabled=True and multiAzEnabled=None; "
            "set automatic_failover_enabled=True and multi_az_enabled=True with at least one replica. Or, where the "
            "phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.single_cache_node with "
            "the reason.",
        ),
        (
            "aws-elasticache-replicationgroup-require-snapshot-retention",
            "snapshotRetentionLimit",
            0,
            "ElastiCache replication group 'cache' keeps snapshots for 0 days; "
            "set snapshot_retention_limit to at least 1.",
        ),
    ],
)
def test_rejects_replication_group(
    security_pack: PackUnderTest, policy: str, path: str, value: object, message: str
) -> None:
    group = resource(REPLICATION_GROUP, "cache", mutate(CACHE, path, value))
    assert security_pack.all_violations(group) == {policy: [message]}


def test_rbac_user_groups_satisfy_auth(security_pack: PackUnderTest) -> None:
    group = resource(REPLICATION_GROUP, "cache", mutate(mutate(CACHE, "authToken", DELETE), "userGroupIds", ["app"]))
    assert security_pack.violations(group, "aws-elasticache-replicationgroup-require-auth") == []


def test_failover_is_waived_only_by_its_accepted_risk(security_pack: PackUnderTest) -> None:
    group = resource(REPLICATION_GROUP, "cache", mutate(CACHE, "automaticFailoverEnabled", False))
    policy = "aws-elasticache-replicationgroup-enable-automatic-failover"
    config = {policy: {"enforcementLevel": "advisory", "acceptedRisk": "single_cache_node"}}
    report = security_pack.analyze(group, config)
    assert [(d.enforcement.value, d.policy, d.detail) for d in report.diagnostics] == [
        (
            "advisory",
            policy,
            "ElastiCache replication group 'cache' has automaticFailoverEnabled=False and multiAzEnabled=True; "
            "set automatic_failover_enabled=True and multi_az_enabled=True with at least one replica. Waived: the "
            "stack accepts the risk single_cache_node (scaleplan:accepted_risks).",
        )
    ]


@pytest.mark.parametrize(
    ("type_", "policy", "props", "message"),
    [
        (
            "aws:secretsmanager/secret:Secret",
            "aws-secretsmanager-secret-require-customer-managed-key",
            {"kmsKeyId": "alias/aws/secretsmanager"},
            "Secret 'thing' is encrypted with the AWS-managed key alias/aws/secretsmanager; "
            "set kms_key_id to a customer-managed KMS key ARN.",
        ),
        (
            "aws:secretsmanager/secret:Secret",
            "aws-secretsmanager-secret-require-customer-managed-key",
            {},
            "Secret 'thing' is encrypted with no key (the AWS-managed key); "
            "set kms_key_id to a customer-managed KMS key ARN.",
        ),
        (
            "aws:sns/topic:Topic",
            "aws-sns-topic-require-customer-managed-key",
            {},
            "SNS topic 'thing' is encrypted with no key (the AWS-managed key); "
            "set kms_master_key_id to a customer-managed KMS key ARN.",
        ),
        (
            "aws:cloudwatch/logGroup:LogGroup",
            "aws-cloudwatch-loggroup-require-customer-managed-key",
            {"retentionInDays": 30},
            "Log group 'thing' is encrypted with no key (the AWS-managed key); "
            "set kms_key_id to a customer-managed KMS key ARN.",
        ),
        (
            "aws:kms/key:Key",
            "aws-kms-key-enable-rotation",
            {"enableKeyRotation": False},
            "KMS key 'thing' does not rotate; set enable_key_rotation=True.",
        ),
    ],
)
def test_rejects_missing_customer_key_or_rotation(
    security_pack: PackUnderTest, type_: str, policy: str, props: dict[str, Any], message: str
) -> None:
    assert security_pack.all_violations(resource(type_, "thing", {**props, "tags": TAGS})) == {policy: [message]}


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        ("aws:secretsmanager/secret:Secret", {"kmsKeyId": KEY}),
        ("aws:sns/topic:Topic", {"kmsMasterKeyId": KEY}),
        ("aws:cloudwatch/logGroup:LogGroup", {"kmsKeyId": KEY, "retentionInDays": 30}),
        ("aws:kms/key:Key", {"enableKeyRotation": True, "customerMasterKeySpec": "SYMMETRIC_DEFAULT"}),
        ("aws:kms/key:Key", {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}),
    ],
)
def test_compliant_encrypted_resources_pass(security_pack: PackUnderTest, type_: str, props: dict[str, Any]) -> None:
    assert security_pack.all_violations(resource(type_, "thing", {**props, "tags": TAGS})) == {}
