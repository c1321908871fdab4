"""Secrets Manager secrets: never deleted at once, never overwritten in another region."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import is_true, items, mapping, number, resource_policy

SECRET = "aws:secretsmanager/secret:Secret"


def _recovery_window(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumDays"]
    days = args.props.get("recoveryWindowInDays")
    if days is not None and days < minimum:
        shown = "0 (deleted at once, unrecoverable)" if days == 0 else f"{number(days)} days"
        report(
            f"Secret '{args.name}' has recovery window {shown}; set recovery_window_in_days to at least "
            f"{number(minimum)} (or leave it unset for AWS's 30).",
            None,
        )


def _force_overwrite(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_true(args.props.get("forceOverwriteReplicaSecret")):
        report(
            f"Secret '{args.name}' sets forceOverwriteReplicaSecret=true, which overwrites a secret of the same "
            "name in a replica region; set force_overwrite_replica_secret=False.",
            None,
        )


def _replica_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for replica in items(args.props.get("replicas")):
        if not mapping(replica).get("kmsKeyId"):
            report(
                f"Secret '{args.name}' replicates to {replica.get('region')} with the AWS-managed key; set "
                "replicas[].kms_key_id to a customer-managed KMS key in that region.",
                None,
            )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-secretsmanager-secret-require-recovery-window",
        "Secrets must keep a recovery window so a deletion can be undone.",
        [SECRET],
        _recovery_window,
        {"minimumDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 7}},
    ),
    resource_policy(
        "aws-secretsmanager-secret-disallow-force-overwrite-replica",
        "Secrets must not overwrite existing secrets in replica regions.",
        [SECRET],
        _force_overwrite,
    ),
    resource_policy(
        "aws-secretsmanager-secret-require-replica-customer-managed-key",
        "Secret replicas must be encrypted with a customer-managed KMS key.",
        [SECRET],
        _replica_keys,
    ),
]
