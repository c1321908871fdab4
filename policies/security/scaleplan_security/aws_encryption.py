"""Secrets, topics, log groups and backup vaults encrypted with our keys; our keys rotated, recoverable and private."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import Check, is_true, listing, number, resource_policy
from ._documents import public_allows

SECRET = "aws:secretsmanager/secret:Secret"
TOPIC = "aws:sns/topic:Topic"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
BACKUP_VAULT = "aws:backup/vault:Vault"
BACKUP_REPLICATION = "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication"
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


def _deletion_window(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumDays"]
    days = args.props.get("deletionWindowInDays")
    if days is not None and days < minimum:
        report(
            f"KMS key '{args.name}' can be deleted after {number(days)} days; set deletion_window_in_days to at "
            f"least {number(minimum)} so a mistaken deletion can be cancelled.",
            None,
        )


def _key_policy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    public = public_allows(args.props.get("policy"))
    if public:
        report(
            f"KMS key '{args.name}' policy allows everyone (Principal '*') in statements {listing(public)} "
            "without a condition; name the principals or add kms:CallerAccount / kms:ViaService conditions.",
            None,
        )


def _vault_force_destroy(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_true(args.props.get("forceDestroy")):
        report(
            f"Backup vault '{args.name}' sets forceDestroy=true, so deleting it deletes every recovery point; "
            "set force_destroy=False.",
            None,
        )


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
        "aws-backup-vault-require-customer-managed-key",
        "Backup vaults must be encrypted with a customer-managed KMS key.",
        [BACKUP_VAULT],
        _customer_key("Backup vault", "kmsKeyArn", "kms_key_arn"),
    ),
    resource_policy(
        "aws-backup-vault-disallow-force-destroy",
        "Backup vaults must not be deletable with their recovery points.",
        [BACKUP_VAULT],
        _vault_force_destroy,
    ),
    resource_policy(
        "aws-rds-automated-backups-replication-require-customer-managed-key",
        "Automated backups replicated to another region must be encrypted with a customer-managed KMS key.",
        [BACKUP_REPLICATION],
        _customer_key("Replicated automated backups", "kmsKeyId", "kms_key_id"),
    ),
    resource_policy(
        "aws-kms-key-require-deletion-window",
        "KMS keys must keep a long deletion window.",
        [KEY],
        _deletion_window,
        {"minimumDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 30}},
    ),
    resource_policy(
        "aws-kms-key-disallow-public-policy",
        "KMS key policies must not allow everyone without a condition.",
        [KEY],
        _key_policy,
    ),
    resource_policy(
        "aws-kms-key-enable-rotation",
        "Symmetric KMS keys must rotate automatically.",
        [KEY],
        _rotation,
    ),
]
