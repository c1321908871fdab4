"""Secrets, topics and log groups encrypted with our keys; our keys rotated."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import Check, is_true, resource_policy

SECRET = "aws:secretsmanager/secret:Secret"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
_AWS_MANAGED_ALIASES = ("alias/aws/",)


def _customer_key(kind: str, prop: str, setting: str) -> Check:
    def check(args: ResourceValidationArgs, report: ReportViolation) -> None:
        key = args.props.get(prop)
        if not key or str(key).startswith(_AWS_MANAGED_ALIASES):
            shown = "no key (the AWS-managed key)" if not key else f"the AWS-managed key {key}"
            report(
                f"{kind} '{args.name}' is encrypted with {shown}; set {setting} to a customer-managed KMS key ARN.",
                None,
            )

    return check


def _rotation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not is_true(args.props.get("enableKeyRotation")):
        report(f"KMS key '{args.name}' does not rotate; set enable_key_rotation=True.", None)


POLICIES: list[Policy] = [
    resource_policy(
        "aws-secretsmanager-secret-require-customer-managed-key",
        "Secrets Manager secrets must be encrypted with a customer-managed KMS key.",
        [SECRET],
        _customer_key("Secret", "kmsKeyId", "kms_key_id"),
    ),
    resource_policy(
        "aws-sns-topic-require-customer-managed-key",
        "SNS topics must be encrypted with a customer-managed KMS key.",
        [TOPIC],
        _customer_key("SNS topic", "kmsMasterKeyId", "kms_master_key_id"),
    ),
    resource_policy(
        "aws-cloudwatch-loggroup-require-customer-managed-key",
        "CloudWatch log groups must be encrypted with a customer-managed KMS key.",
        [LOG_GROUP],
        _customer_key("Log group", "kmsKeyId", "kms_key_id"),
    ),
    resource_policy(
        "aws-kms-key-enable-rotation",
        "Symmetric KMS keys must rotate automatically.",
        [KEY],
        _rotation,
    ),
]
