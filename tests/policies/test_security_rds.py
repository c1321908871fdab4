"""RDS rules of the security pack, through the real analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy.runner import resource
from tests.policies.conftest import DELETE, PackUnderTest, mutate

KEY = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
TAGS = {"project": "scaleplan", "phase": "growth", "environment": "ftw-prod", "cost-center": "ftw-platform"}
INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"

COMPLIANT: dict[str, Any] = {
    "identifier": "ftw-prod-db",
    "engine": "postgres",
    "publiclyAccessible": False,
    "storageEncrypted": True,
    "kmsKeyId": KEY,
    "multiAz": True,
    "backupRetentionPeriod": 7,
    "deletionProtection": True,
    "iamDatabaseAuthenticationEnabled": True,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "monitoringInterval": 60,
    "monitoringRoleArn": "arn:aws:iam::123456789012:role/ftw-prod-rds-monitoring",
    "performanceInsightsEnabled": True,
    "performanceInsightsKmsKeyId": KEY,
    "parameterGroupName": "ftw-prod-db-pg16",
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "ftw-prod-db-final",
    "manageMasterUserPassword": True,
    "masterUserSecretKmsKeyId": KEY,
    "deleteAutomatedBackups": False,
    "caCertIdentifier": "rds-ca-rsa2048-g1",
    "tags": TAGS,
}


def test_compliant_instance_passes_every_rule(security_pack: PackUnderTest) -> None:
    assert security_pack.all_violations(resource(INSTANCE, "db", COMPLIANT)) == {}


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        (
            "aws-rds-instance-disallow-public-access",
            "publiclyAccessible",
            True,
            "RDS instance 'db' has publiclyAccessible=true; set publicly_accessible=False "
            "so it is reachable only from inside the VPC.",
        ),
        (
            "aws-rds-instance-disallow-unencrypted-storage",
            "storageEncrypted",
            False,
            "RDS instance 'db' does not set storageEncrypted=true; set storage_encrypted=True.",
        ),
        (
            "aws-rds-instance-disallow-unencrypted-storage",
            "storageEncrypted",
            DELETE,
            "RDS instance 'db' does not set storageEncrypted=true; set storage_encrypted=True.",
        ),
        (
            "aws-rds-instance-require-customer-managed-key",
            "kmsKeyId",
            DELETE,
            "RDS instance 'db' has no kmsKeyId, so its storage would use the AWS-managed key; "
            "set kms_key_id to a customer-managed KMS key ARN.",
        ),
        (
            "aws-rds-instance-require-multi-az",
            "multiAz",
            False,
            "RDS instance 'db' is single-AZ (multiAz=False); set multi_az=True. Or, where the phase cannot afford "
            "it, accept the risk in the open: scaleplan:accepted_risks.single_az_database with the reason.",
        ),
        (
            "aws-rds-instance-require-backup-retention",
            "backupRetentionPeriod",
            3,
            "RDS instance 'db' keeps backups for 3 days; set backup_retention_period to at least 7 days.",
        ),
        (
            "aws-rds-instance-require-backup-retention",
            "backupRetentionPeriod",
            DELETE,
            "RDS instance 'db' keeps backups for unset (AWS default 7 days is not stated); "
            "set backup_retention_period to at least 7 days.",
        ),
        (
            "aws-rds-instance-enable-deletion-protection",
            "deletionProtection",
            False,
            "RDS instance 'db' does not set deletionProtection=true; set deletion_protection=True.",
        ),
        (
            "aws-rds-instance-enable-iam-authentication",
            "iamDatabaseAuthenticationEnabled",
            DELETE,
            "RDS instance 'db' does not enable IAM database authentication; "
            "set iam_database_authentication_enabled=True.",
        ),
        (
            "aws-rds-instance-require-log-exports",
            "enabledCloudwatchLogsExports",
            ["postgresql"],
            "RDS instance 'db' does not export upgrade logs to CloudWatch; "
            "set enabled_cloudwatch_logs_exports to include postgresql, upgrade.",
        ),
        (
            "aws-rds-instance-enable-enhanced-monitoring",
            "monitoringInterval",
            0,
            "RDS instance 'db' has monitoringInterval=0; set monitoring_interval to one of "
            "1, 5, 10, 15, 30, 60 seconds with a monitoring_role_arn.",
        ),
        (
            "aws-rds-instance-enable-enhanced-monitoring",
            "monitoringRoleArn",
            DELETE,
            "RDS instance 'db' enables enhanced monitoring without monitoringRoleArn; set it.",
        ),
        (
            "aws-rds-instance-enable-performance-insights",
            "performanceInsightsEnabled",
            False,
            "RDS instance 'db' does not enable Performance Insights; "
            "set performance_insights_enabled=True with performance_insights_kms_key_id.",
        ),
        (
            "aws-rds-instance-enable-performance-insights",
            "performanceInsightsKmsKeyId",
            DELETE,
            "RDS instance 'db' encrypts Performance Insights with the AWS-managed key; "
            "set performance_insights_kms_key_id to a customer-managed KMS key ARN.",
        ),
    ],
)
def test_rejects_instance(security_pack: PackUnderTest, policy: str, path: str, value: object, message: str) -> None:
    instance = resource(INSTANCE, "db", mutate(COMPLIANT, path, value))
    assert security_pack.all_violations(instance) == {policy: [message]}


def test_single_az_is_waived_only_by_its_accepted_risk(security_pack: PackUnderTest) -> None:
    instance = resource(INSTANCE, "db", mutate(COMPLIANT, "multiAz", False))
    config = {
        "aws-rds-instance-require-multi-az": {"enforcementLevel": "advisory", "acceptedRisk": "single_az_database"}
    }
    report = security_pack.analyze(instance, config)
    assert [(d.enforcement.value, d.policy, d.detail) for d in report.diagnostics] == [
        (
            "advisory",
            "aws-rds-instance-require-multi-az",
            "RDS instance 'db' is single-AZ (multiAz=False); set multi_az=True. Waived: the stack accepts the risk "
            "single_az_database (scaleplan:accepted_risks).",
        )
    ]


def test_backup_retention_minimum_comes_from_config(security_pack: PackUnderTest) -> None:
    instance = resource(INSTANCE, "db", COMPLIANT)
    config = {"aws-rds-instance-require-backup-retention": {"minimumDays": 14}}
    assert security_pack.violations(instance, "aws-rds-instance-require-backup-retention", config) == [
        "RDS instance 'db' keeps backups for 7 days; set backup_retention_period to at least 14 days."
    ]


def test_monitoring_interval_above_the_configured_maximum(security_pack: PackUnderTest) -> None:
    instance = resource(INSTANCE, "db", COMPLIANT)
    config = {"aws-rds-instance-enable-enhanced-monitoring": {"maximumIntervalSeconds": 15}}
    assert security_pack.violations(instance, "aws-rds-instance-enable-enhanced-monitoring", config) == [
        "RDS instance 'db' has monitoringInterval=60; set monitoring_interval to one of 1, 5, 10, 15 seconds "
        "with a monitoring_role_arn."
    ]


# -- TLS through the parameter group (stack rule) ------------------------------------------

PARAMETERS_COMPLIANT: dict[str, Any] = {
    "name": "ftw-prod-db-pg16",
    "family": "postgres16",
    "parameters": [{"name": "rds.force_ssl", "value": "1", "applyMethod": "pending-reboot"}],
    "tags": TAGS,
}


def tls_violations(pack: PackUnderTest, instance: dict[str, Any], group: dict[str, Any] | None) -> list[str]:
    resources = []
    links: dict[str, list[str]] = {}
    if group is not None:
        parameter_group = resource(PARAMETER_GROUP, "db-params", group)
        resources.append(parameter_group)
        links = {"parameterGroupName": [parameter_group.urn]}
    db = resource(INSTANCE, "db", instance, property_dependencies=links, protect=True)
    found = pack.stack_violations([*resources, db], "aws-rds-instance-require-tls")
    assert all(urn == db.urn for urn, _ in found)
    return [message for _, message in found]


def test_tls_forced_by_the_parameter_group_passes(security_pack: PackUnderTest) -> None:
    assert tls_violations(security_pack, COMPLIANT, PARAMETERS_COMPLIANT) == []


def test_tls_group_found_by_name_without_a_property_dependency(security_pack: PackUnderTest) -> None:
    group = resource(PARAMETER_GROUP, "db-params", PARAMETERS_COMPLIANT)
    db = resource(INSTANCE, "db", COMPLIANT, protect=True)
    assert security_pack.stack_violations([group, db], "aws-rds-instance-require-tls") == []


def test_rejects_parameter_group_without_force_ssl(security_pack: PackUnderTest) -> None:
    group = mutate(PARAMETERS_COMPLIANT, "parameters", [{"name": "log_min_duration_statement", "value": "500"}])
    assert tls_violations(security_pack, COMPLIANT, group) == [
        "RDS instance 'db' uses parameter group 'db-params' with rds.force_ssl=unset; "
        "set the parameter rds.force_ssl=1."
    ]


def test_rejects_parameter_group_with_force_ssl_off(security_pack: PackUnderTest) -> None:
    group = mutate(PARAMETERS_COMPLIANT, "parameters.0.value", "0")
    assert tls_violations(security_pack, COMPLIANT, group) == [
        "RDS instance 'db' uses parameter group 'db-params' with rds.force_ssl=0; set the parameter rds.force_ssl=1."
    ]


def test_rejects_the_default_parameter_group(security_pack: PackUnderTest) -> None:
    assert tls_violations(security_pack, mutate(COMPLIANT, "parameterGroupName", DELETE), None) == [
        "RDS instance 'db' uses the default parameter group, which does not force TLS; "
        "give it a parameter group that sets rds.force_ssl=1."
    ]


def test_rejects_a_parameter_group_outside_the_stack(security_pack: PackUnderTest) -> None:
    assert tls_violations(security_pack, COMPLIANT, None) == [
        "RDS instance 'db' uses parameter group 'ftw-prod-db-pg16', which this stack does not declare, "
        "so rds.force_ssl=1 cannot be verified; manage the parameter group in the program."
    ]


REPLICA: dict[str, Any] = {
    **COMPLIANT,
    "replicateSourceDb": "ftw-prod-db",
    "multiAz": False,
    "backupRetentionPeriod": 0,
    "availabilityZone": "us-east-1b",
}


def test_read_replica_relies_on_the_primary_for_multi_az_and_backups(security_pack: PackUnderTest) -> None:
    # A replica is redundancy for reads; recovery comes from the primary's standby and backups.
    assert security_pack.all_violations(resource(INSTANCE, "replica", REPLICA)) == {}


def test_read_replica_is_still_held_to_every_other_rule(security_pack: PackUnderTest) -> None:
    replica = resource(INSTANCE, "replica", mutate(REPLICA, "publiclyAccessible", True))
    assert list(security_pack.all_violations(replica)) == ["aws-rds-instance-disallow-public-access"]
