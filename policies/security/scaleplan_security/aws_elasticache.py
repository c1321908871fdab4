"""ElastiCache (Redis/Valkey) replication groups: encrypted at rest and in transit, authenticated, recoverable."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import is_true, items, number, resource_policy, waivable_policy

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def _at_rest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("atRestEncryptionEnabled")):
        report(
            f"ElastiCache replication group '{args.name}' does not encrypt at rest; "
            "set at_rest_encryption_enabled=True.",
            None,
        )
    elif not args.props.get("kmsKeyId"):
        report(
            f"ElastiCache replication group '{args.name}' encrypts at rest with the AWS-managed key; "
            "set kms_key_id to a customer-managed KMS key ARN.",
            None,
        )


def _in_transit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("transitEncryptionEnabled")):
        report(
            f"ElastiCache replication group '{args.name}' does not encrypt in transit; "
            "set transit_encryption_enabled=True.",
            None,
        )
    elif args.props.get("transitEncryptionMode") == "preferred":
        report(
            f"ElastiCache replication group '{args.name}' accepts plaintext connections "
            "(transitEncryptionMode=preferred); set transit_encryption_mode='required'.",
            None,
        )


def _auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("authToken") and not items(args.props.get("userGroupIds")):
        report(
            f"ElastiCache replication group '{args.name}' accepts unauthenticated clients; "
            "set auth_token (from a secret) or user_group_ids.",
            None,
        )


def _failover(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("automaticFailoverEnabled")) or not is_true(args.props.get("multiAzEnabled")):
        report(
            f"ElastiCache replication group '{args.name}' has automaticFailoverEnabled="
            f"{args.props.get('automaticFailoverEnabled')!r} and multiAzEnabled={args.props.get('multiAzEnabled')!r}; "
            "set automatic_failover_enabled=True and multi_az_enabled=True with at least one replica.",
            None,
        )


def _snapshots(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumDays"]
    retention = args.props.get("snapshotRetentionLimit") or 0
    if retention < minimum:
        report(
            f"ElastiCache replication group '{args.name}' keeps snapshots for {number(retention)} days; "
            f"set snapshot_retention_limit to at least {number(minimum)}.",
            None,
        )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-elasticache-replicationgroup-enable-at-rest-encryption",
        "ElastiCache replication groups must encrypt at rest with a customer-managed KMS key.",
        [REPLICATION_GROUP],
        _at_rest,
    ),
    resource_policy(
        "aws-elasticache-replicationgroup-enable-in-transit-encryption",
        "ElastiCache replication groups must require TLS.",
        [REPLICATION_GROUP],
        _in_transit,
    ),
    resource_policy(
        "aws-elasticache-replicationgroup-require-auth",
        "ElastiCache replication groups must require authentication.",
        [REPLICATION_GROUP],
        _auth,
    ),
    waivable_policy(
        "aws-elasticache-replicationgroup-enable-automatic-failover",
        "ElastiCache replication groups must fail over automatically (waived only by the accepted risk "
        "single_cache_node).",
        [REPLICATION_GROUP],
        _failover,
        risk="single_cache_node",
    ),
    resource_policy(
        "aws-elasticache-replicationgroup-require-snapshot-retention",
        "ElastiCache replication groups must keep snapshots.",
        [REPLICATION_GROUP],
        _snapshots,
        {"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 1}},
    ),
]
