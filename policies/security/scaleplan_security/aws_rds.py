"""RDS instances: private, encrypted with our key, highly available where required, recoverable, audited."""

from __future__ import annotations

from pulumi_policy import (
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import is_true, items, listing, number, resource_policy, waivable_policy

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
_MONITORING_INTERVALS = [1, 5, 10, 15, 30, 60]
CURRENT_CAS = ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"]
"""RDS certificate authorities that are valid today (rds-ca-2019 expired in August 2024)."""


def _public_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_true(args.props.get("publiclyAccessible")):
        report(
            f"RDS instance '{args.name}' has publiclyAccessible=true; set publicly_accessible=False "
            "so it is reachable only from inside the VPC.",
            None,
        )


def _storage_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("storageEncrypted")):
        report(f"RDS instance '{args.name}' does not set storageEncrypted=true; set storage_encrypted=True.", None)


def _customer_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not args.props.get("kmsKeyId"):
        report(
            f"RDS instance '{args.name}' has no kmsKeyId, so its storage would use the AWS-managed key; "
            "set kms_key_id to a customer-managed KMS key ARN.",
            None,
        )


def _is_replica(args: ResourceValidationArgs) -> bool:
    """Read replicas copy a primary: its Multi-AZ standby and its backups are what recover the data."""
    return bool(args.props.get("replicateSourceDb"))


def _multi_az(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args):
        return
    if not is_true(args.props.get("multiAz")):
        shown = args.props.get("multiAz")
        report(f"RDS instance '{args.name}' is single-AZ (multiAz={shown!r}); set multi_az=True.", None)


def _backup_retention(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args):
        return
    minimum = args.get_config()["minimumDays"]
    retention = args.props.get("backupRetentionPeriod")
    if retention is None or retention < minimum:
        shown = "unset (AWS default 7 days is not stated)" if retention is None else f"{number(retention)} days"
        report(
            f"RDS instance '{args.name}' keeps backups for {shown}; "
            f"set backup_retention_period to at least {number(minimum)} days.",
            None,
        )


def _deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("deletionProtection")):
        report(f"RDS instance '{args.name}' does not set deletionProtection=true; set deletion_protection=True.", None)


def _iam_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("iamDatabaseAuthenticationEnabled")):
        report(
            f"RDS instance '{args.name}' does not enable IAM database authentication; "
            "set iam_database_authentication_enabled=True.",
            None,
        )


def _log_exports(args: ResourceValidationArgs, report: ReportViolation) -> None:
    required = list(args.get_config()["logTypes"])
    exported = set(items(args.props.get("enabledCloudwatchLogsExports")))
    missing = [log for log in required if log not in exported]
    if missing:
        report(
            f"RDS instance '{args.name}' does not export {listing(missing)} logs to CloudWatch; "
            f"set enabled_cloudwatch_logs_exports to include {listing(required)}.",
            None,
        )


def _enhanced_monitoring(args: ResourceValidationArgs, report: ReportViolation) -> None:
    maximum = args.get_config()["maximumIntervalSeconds"]
    interval = args.props.get("monitoringInterval") or 0
    if interval == 0 or interval > maximum:
        report(
            f"RDS instance '{args.name}' has monitoringInterval={number(interval)}; "
            f"set monitoring_interval to one of {listing(i for i in _MONITORING_INTERVALS if i <= maximum)} seconds "
            "with a monitoring_role_arn.",
            None,
        )
    elif not args.props.get("monitoringRoleArn"):
        report(f"RDS instance '{args.name}' enables enhanced monitoring without monitoringRoleArn; set it.", None)


def _performance_insights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("performanceInsightsEnabled")):
        report(
            f"RDS instance '{args.name}' does not enable Performance Insights; "
            "set performance_insights_enabled=True with performance_insights_kms_key_id.",
            None,
        )
    elif not args.props.get("performanceInsightsKmsKeyId"):
        report(
            f"RDS instance '{args.name}' encrypts Performance Insights with the AWS-managed key; "
            "set performance_insights_kms_key_id to a customer-managed KMS key ARN.",
            None,
        )


def _final_snapshot(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args):
        return
    if is_true(args.props.get("skipFinalSnapshot")):
        report(
            f"RDS instance '{args.name}' sets skipFinalSnapshot=true, so deleting it loses the data; set "
            "skip_final_snapshot=False with a final_snapshot_identifier.",
            None,
        )
    elif not args.props.get("finalSnapshotIdentifier"):
        report(
            f"RDS instance '{args.name}' has no finalSnapshotIdentifier, so its deletion cannot take the final "
            "snapshot; set final_snapshot_identifier.",
            None,
        )


def _managed_password(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args):
        return
    if not is_true(args.props.get("manageMasterUserPassword")) or args.props.get("password"):
        report(
            f"RDS instance '{args.name}' does not let RDS manage the master password "
            f"(manageMasterUserPassword={args.props.get('manageMasterUserPassword')!r}); set "
            "manage_master_user_password=True and no password, so it lives in Secrets Manager and rotates.",
            None,
        )
    elif not args.props.get("masterUserSecretKmsKeyId"):
        report(
            f"RDS instance '{args.name}' keeps its master password secret under the AWS-managed key; set "
            "master_user_secret_kms_key_id to a customer-managed KMS key ARN.",
            None,
        )


def _keep_automated_backups(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if _is_replica(args):
        return
    value = args.props.get("deleteAutomatedBackups")
    if value is None or is_true(value):
        shown = "unset (the provider's default deletes them)" if value is None else "true"
        report(
            f"RDS instance '{args.name}' has deleteAutomatedBackups={shown}, so deleting the instance deletes its "
            "backups; set delete_automated_backups=False.",
            None,
        )


def _minor_upgrades(args: ResourceValidationArgs, report: ReportViolation) -> None:
    value = args.props.get("autoMinorVersionUpgrade")
    if value is not None and not is_true(value):
        report(
            f"RDS instance '{args.name}' turns off automatic minor version upgrades, so security patches wait; "
            "set auto_minor_version_upgrade=True.",
            None,
        )


def _current_ca(args: ResourceValidationArgs, report: ReportViolation) -> None:
    ca = args.props.get("caCertIdentifier")
    if ca is not None and ca not in CURRENT_CAS:
        report(
            f"RDS instance '{args.name}' uses certificate authority {ca!r}; set ca_cert_identifier to one of "
            f"{listing(CURRENT_CAS)}.",
            None,
        )


def _force_ssl(group: PolicyResource) -> str | None:
    """The ``rds.force_ssl`` value a parameter group sets, if any."""
    for parameter in items(group.props.get("parameters")):
        if parameter.get("name") == "rds.force_ssl":
            return str(parameter.get("value"))
    return None


def _tls_enforced(args: StackValidationArgs, report: ReportViolation) -> None:
    groups = [r for r in args.resources if r.resource_type == PARAMETER_GROUP]
    for instance in (r for r in args.resources if r.resource_type == INSTANCE):
        group_name = instance.props.get("parameterGroupName")
        if not group_name:
            report(
                f"RDS instance '{instance.name}' uses the default parameter group, which does not force TLS; "
                "give it a parameter group that sets rds.force_ssl=1.",
                instance.urn,
            )
            continue
        linked = {d.urn for d in instance.property_dependencies.get("parameterGroupName", [])}
        matches = [g for g in groups if g.urn in linked or g.props.get("name") == group_name]
        if not matches:
            report(
                f"RDS instance '{instance.name}' uses parameter group '{group_name}', which this stack does not "
                "declare, so rds.force_ssl=1 cannot be verified; manage the parameter group in the program.",
                instance.urn,
            )
            continue
        value = _force_ssl(matches[0])
        if value not in ("1", "1.0"):
            report(
                f"RDS instance '{instance.name}' uses parameter group '{matches[0].name}' with "
                f"rds.force_ssl={value if value is not None else 'unset'}; set the parameter rds.force_ssl=1.",
                instance.urn,
            )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-rds-instance-disallow-public-access",
        "RDS instances must not be publicly accessible.",
        [INSTANCE],
        _public_access,
    ),
    resource_policy(
        "aws-rds-instance-disallow-unencrypted-storage",
        "RDS instances must encrypt their storage.",
        [INSTANCE],
        _storage_encrypted,
    ),
    resource_policy(
        "aws-rds-instance-require-customer-managed-key",
        "RDS instance storage must be encrypted with a customer-managed KMS key.",
        [INSTANCE],
        _customer_key,
    ),
    waivable_policy(
        "aws-rds-instance-require-multi-az",
        "Primary RDS instances must be Multi-AZ (waived only by the accepted risk single_az_database).",
        [INSTANCE],
        _multi_az,
        risk="single_az_database",
    ),
    resource_policy(
        "aws-rds-instance-require-backup-retention",
        "Primary RDS instances must keep automated backups long enough to recover.",
        [INSTANCE],
        _backup_retention,
        {"minimumDays": {"type": "integer", "minimum": 1, "maximum": 35, "default": 7}},
    ),
    resource_policy(
        "aws-rds-instance-enable-deletion-protection",
        "RDS instances must have deletion protection.",
        [INSTANCE],
        _deletion_protection,
    ),
    resource_policy(
        "aws-rds-instance-enable-iam-authentication",
        "RDS instances must enable IAM database authentication.",
        [INSTANCE],
        _iam_auth,
    ),
    resource_policy(
        "aws-rds-instance-require-log-exports",
        "RDS instances must export their database logs to CloudWatch.",
        [INSTANCE],
        _log_exports,
        {"logTypes": {"type": "array", "items": {"type": "string"}, "default": ["postgresql", "upgrade"]}},
    ),
    resource_policy(
        "aws-rds-instance-enable-enhanced-monitoring",
        "RDS instances must enable enhanced monitoring.",
        [INSTANCE],
        _enhanced_monitoring,
        {"maximumIntervalSeconds": {"type": "integer", "enum": _MONITORING_INTERVALS, "default": 60}},
    ),
    resource_policy(
        "aws-rds-instance-enable-performance-insights",
        "RDS instances must enable Performance Insights encrypted with a customer-managed key.",
        [INSTANCE],
        _performance_insights,
    ),
    resource_policy(
        "aws-rds-instance-disallow-skip-final-snapshot",
        "Primary RDS instances must take a final snapshot when deleted.",
        [INSTANCE],
        _final_snapshot,
    ),
    resource_policy(
        "aws-rds-instance-require-managed-master-password",
        "RDS master passwords must be managed by RDS in Secrets Manager under a customer-managed key.",
        [INSTANCE],
        _managed_password,
    ),
    resource_policy(
        "aws-rds-instance-disallow-delete-automated-backups",
        "RDS instances must keep their automated backups when deleted.",
        [INSTANCE],
        _keep_automated_backups,
    ),
    resource_policy(
        "aws-rds-instance-enable-auto-minor-version-upgrade",
        "RDS instances must take minor version (security) upgrades.",
        [INSTANCE],
        _minor_upgrades,
    ),
    resource_policy(
        "aws-rds-instance-require-current-ca",
        "RDS instances must use a certificate authority that has not expired.",
        [INSTANCE],
        _current_ca,
    ),
    StackValidationPolicy(
        name="aws-rds-instance-require-tls",
        description="RDS instances must force TLS through their parameter group (rds.force_ssl=1).",
        validate=_tls_enforced,
    ),
]
