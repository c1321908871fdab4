"""RDS PostgreSQL: a protected, encrypted primary, its read replicas and their backups."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config.database import DatabaseConfig
from infra.database.parameters import postgres_parameters
from infra.naming import Service, physical_name
from infra.network.ingress import admit_client_groups
from infra.tagging import with_name

POSTGRES_PORT = 5432
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
"""Server certificate authority clients verify against (``sslmode=verify-full``)."""
ENHANCED_MONITORING_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
BACKUP_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
RESTORE_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"


@dataclass(frozen=True, kw_only=True)
class PostgresArgs:
    config: DatabaseConfig
    environment: str
    availability_zones: Sequence[str]
    """The network's zones, in order; replica ``n`` goes to zone ``n`` (wrapping), so replica 1
    is never in the first zone and the set of replicas spans the zones."""
    vpc_id: pulumi.Input[str]
    subnet_ids: Mapping[str, pulumi.Input[str]]
    """Isolated (data-tier) subnet IDs by AZ."""
    client_security_group_ids: Mapping[str, pulumi.Input[str]]
    """Security groups allowed to connect on 5432, by a stable name (``app``, ``pgbouncer``)."""
    kms_key_arn: pulumi.Input[str]
    """CMK for storage, the managed master password, Performance Insights and the backup vault."""
    logs_kms_key_arn: pulumi.Input[str]
    """CMK for the exported PostgreSQL log groups."""
    tags: Mapping[str, str]
    disaster_recovery: DisasterRecoveryArgs | None = None
    """Copy backups to a second region; None keeps them in the primary region only."""


@dataclass(frozen=True, kw_only=True)
class DisasterRecoveryArgs:
    provider: aws.Provider
    """The explicit AWS provider of the DR region (created once in infra/stack.py)."""
    region: str
    kms_key_arn: pulumi.Input[str]
    """CMK in the DR region for the copy vault and the replicated automated backups."""
    copy_retention_days: int


def replica_names(count: int) -> list[str]:
    """Stable replica keys: ``replica-1`` stays ``replica-1`` when the count grows."""
    return [f"replica-{index}" for index in range(1, count + 1)]


def replica_zone(index: int, zones: Sequence[str]) -> str:
    """Zone of replica ``index`` (1-based): the zones after the first, then round again."""
    return zones[index % len(zones)]


def _assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


class Postgres(pulumi.ComponentResource):
    """An RDS PostgreSQL primary with read replicas, in the isolated subnets.

    Defaults are the secure ones: storage, the RDS-managed master password, Performance
    Insights and the daily AWS Backup snapshots are encrypted with the given CMK; TLS is
    forced (``rds.force_ssl``); only the named client security groups reach port 5432; IAM
    authentication is on; the primary has deletion protection, a final snapshot and
    ``protect``; logs go to CMK-encrypted log groups with a retention period.
    """

    identifier: str
    """RDS identifier of the primary (stable across phases)."""
    address: pulumi.Output[str]
    """Hostname of the primary (the writer)."""
    port: pulumi.Output[int]
    """PostgreSQL port."""
    arn: pulumi.Output[str]
    """ARN of the primary."""
    master_user_secret_arn: pulumi.Output[str]
    """Secrets Manager secret RDS keeps the master password in (a reference, not the password)."""
    replica_addresses: dict[str, pulumi.Output[str]]
    """Hostnames of the read replicas by replica key."""
    security_group_id: pulumi.Output[str]
    """The database's own security group."""

    def __init__(self, name: str, args: PostgresArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:database:Postgres", name, None, opts)
        cfg = args.config
        env = args.environment
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=True)
        self.identifier = physical_name(env, "postgres", service=Service.RDS_IDENTIFIER)

        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=physical_name(env, "postgres", service=Service.SECURITY_GROUP),
            description="PostgreSQL: port 5432 from the named client security groups only",
            vpc_id=args.vpc_id,
            tags=with_name(tags, physical_name(env, "postgres", service=Service.SECURITY_GROUP)),
            opts=child,
        )
        admit_client_groups(
            name,
            security_group_id=security_group.id,
            clients=args.client_security_group_ids,
            port=POSTGRES_PORT,
            service="PostgreSQL",
            tags=tags,
            opts=child,
        )
        self.security_group_id = security_group.id

        subnet_group_name = physical_name(env, "postgres", service=Service.DB_SUBNET_GROUP)
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnet-group",
            name=subnet_group_name,
            description=f"{env}: PostgreSQL in the isolated subnets",
            subnet_ids=[args.subnet_ids[zone] for zone in args.availability_zones],
            tags=with_name(tags, subnet_group_name),
            opts=stateful,
        )

        # The family is in the name, so a major upgrade creates the new group beside the old.
        parameter_group_name = physical_name(
            env, "postgres", cfg.parameter_group_family, service=Service.RDS_PARAMETER_GROUP
        )
        parameter_group = aws.rds.ParameterGroup(
            f"{name}-parameters",
            name=parameter_group_name,
            family=cfg.parameter_group_family,
            # The description replaces the group when changed, so it must not name the class.
            description=f"{env}: PostgreSQL {cfg.parameter_group_family}, TLS only, memory from the class",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=p.name, value=p.value, apply_method=p.apply_method)
                for p in postgres_parameters(cfg.instance.memory_gib, slow_query_log_ms=cfg.slow_query_log_ms)
            ],
            tags=with_name(tags, parameter_group_name),
            opts=child,
        )

        monitoring_role = aws.iam.Role(
            f"{name}-monitoring-role",
            name=physical_name(env, "postgres-monitoring", service=Service.IAM_ROLE),
            description="RDS enhanced monitoring publishes OS metrics to CloudWatch",
            assume_role_policy=_assume_role_policy("monitoring.rds.amazonaws.com"),
            tags=tags,
            opts=child,
        )
        monitoring_attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring_role.name,
            policy_arn=ENHANCED_MONITORING_POLICY_ARN,
            opts=child,
        )

        primary_logs = self._log_groups(name, self.identifier, args)
        primary = aws.rds.Instance(
            f"{name}-primary",
            identifier=self.identifier,
            engine="postgres",
            engine_version=cfg.engine_version,
            allow_major_version_upgrade=cfg.allow_major_version_upgrade,
            auto_minor_version_upgrade=True,
            instance_class=cfg.instance_class,
            db_name=cfg.database_name,
            username=cfg.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            iam_database_authentication_enabled=True,
            port=POSTGRES_PORT,
            ca_cert_identifier=CA_CERTIFICATE,
            storage_type="gp3",
            allocated_storage=cfg.allocated_storage_gib,
            max_allocated_storage=cfg.max_allocated_storage_gib,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            multi_az=cfg.multi_az,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            publicly_accessible=False,
            parameter_group_name=parameter_group.name,
            backup_retention_period=cfg.backup_retention_days,
            backup_window=cfg.backup_window,
            maintenance_window=cfg.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{self.identifier}-final",
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=cfg.performance_insights_retention_days,
            monitoring_interval=cfg.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=[log.value for log in cfg.log_exports],
            apply_immediately=False,
            tags=with_name(tags, self.identifier),
            opts=pulumi.ResourceOptions(parent=self, protect=True, depends_on=[monitoring_attachment, *primary_logs]),
        )
        self.address = primary.address
        self.port = primary.port
        self.arn = primary.arn
        self.master_user_secret_arn = primary.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn if secrets and secrets[0].secret_arn else ""
        )

        self.replica_addresses = {}
        for index, key in enumerate(replica_names(cfg.read_replica_count), start=1):
            replica_identifier = physical_name(env, "postgres", key, service=Service.RDS_IDENTIFIER)
            replica_logs = self._log_groups(f"{name}-{key}", replica_identifier, args)
            replica = aws.rds.Instance(
                f"{name}-{key}",
                identifier=replica_identifier,
                replicate_source_db=primary.identifier,
                availability_zone=replica_zone(index, args.availability_zones),
                instance_class=cfg.instance_class,
                auto_minor_version_upgrade=True,
                iam_database_authentication_enabled=True,
                port=POSTGRES_PORT,
                ca_cert_identifier=CA_CERTIFICATE,
                storage_type="gp3",
                # Ignored at creation (a replica starts with its source's storage), stated so
                # that the plan and the cost estimate see the storage AWS bills for it.
                allocated_storage=cfg.allocated_storage_gib,
                max_allocated_storage=cfg.max_allocated_storage_gib,
                storage_encrypted=True,
                kms_key_id=args.kms_key_arn,
                multi_az=False,
                vpc_security_group_ids=[security_group.id],
                publicly_accessible=False,
                parameter_group_name=parameter_group.name,
                # A replica is rebuilt from its source, so it keeps no backups of its own, and
                # RDS cannot take a final snapshot of a read replica.
                backup_retention_period=0,
                maintenance_window=cfg.maintenance_window,
                copy_tags_to_snapshot=True,
                deletion_protection=True,
                skip_final_snapshot=True,
                performance_insights_enabled=True,
                performance_insights_kms_key_id=args.kms_key_arn,
                performance_insights_retention_period=cfg.performance_insights_retention_days,
                monitoring_interval=cfg.monitoring_interval_seconds,
                monitoring_role_arn=monitoring_role.arn,
                enabled_cloudwatch_logs_exports=[log.value for log in cfg.log_exports],
                apply_immediately=False,
                tags={**with_name(tags, replica_identifier), "replica-of": self.identifier},
                opts=pulumi.ResourceOptions(
                    parent=self, protect=True, depends_on=[monitoring_attachment, *replica_logs]
                ),
            )
            self.replica_addresses[key] = replica.address

        self._snapshots(name, args, primary)

        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "arn": self.arn,
                "master_user_secret_arn": self.master_user_secret_arn,
                "replica_addresses": self.replica_addresses,
                "security_group_id": self.security_group_id,
            }
        )

    def _log_groups(self, prefix: str, identifier: str, args: PostgresArgs) -> list[aws.cloudwatch.LogGroup]:
        """The groups RDS would otherwise create itself, unencrypted and kept forever."""
        groups = []
        for log in args.config.log_exports:
            group_name = f"/aws/rds/instance/{identifier}/{log.value}"
            groups.append(
                aws.cloudwatch.LogGroup(
                    f"{prefix}-{log.value}-logs",
                    name=group_name,
                    retention_in_days=args.config.log_retention_days,
                    kms_key_id=args.logs_kms_key_arn,
                    tags=with_name(args.tags, group_name),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return groups

    def _snapshots(self, name: str, args: PostgresArgs, primary: aws.rds.Instance) -> None:
        """Daily snapshots kept ``snapshot_retention_days`` in a CMK-encrypted AWS Backup vault.

        Automated backups give point-in-time recovery for ``backup_retention_days`` (at most
        35); the vault keeps the longer daily history the seed asks for.
        """
        cfg = args.config
        env = args.environment
        tags = args.tags
        vault_name = physical_name(env, "postgres", service=Service.BACKUP)
        vault = aws.backup.Vault(
            f"{name}-backup-vault",
            name=vault_name,
            kms_key_arn=args.kms_key_arn,
            force_destroy=False,
            tags=with_name(tags, vault_name),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        dr = args.disaster_recovery
        copy_actions: list[aws.backup.PlanRuleCopyActionArgs] = []
        if dr is not None:
            dr_vault_name = physical_name(env, "postgres-dr", service=Service.BACKUP)
            dr_vault = aws.backup.Vault(
                f"{name}-dr-backup-vault",
                name=dr_vault_name,
                region=dr.region,
                kms_key_arn=dr.kms_key_arn,
                force_destroy=False,
                tags=with_name(tags, dr_vault_name),
                opts=pulumi.ResourceOptions(parent=self, provider=dr.provider, protect=True),
            )
            copy_actions.append(
                aws.backup.PlanRuleCopyActionArgs(
                    destination_vault_arn=dr_vault.arn,
                    lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=dr.copy_retention_days),
                )
            )
            # Point-in-time recovery in the DR region too: RDS replicates the snapshots and
            # transaction logs of the primary (PostgreSQL supports it), encrypted with the DR key.
            aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-dr-automated-backups",
                source_db_instance_arn=primary.arn,
                region=dr.region,
                kms_key_id=dr.kms_key_arn,
                retention_period=cfg.backup_retention_days,
                opts=pulumi.ResourceOptions(parent=self, provider=dr.provider),
            )
        plan_name = physical_name(env, "postgres-daily", service=Service.BACKUP)
        plan = aws.backup.Plan(
            f"{name}-backup-plan",
            name=plan_name,
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule=f"cron(0 {cfg.snapshot_start_hour_utc} ? * * *)",
                    start_window=60,
                    completion_window=360,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=cfg.snapshot_retention_days),
                    recovery_point_tags=tags,
                    copy_actions=copy_actions or None,
                )
            ],
            tags=with_name(tags, plan_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        backup_role = aws.iam.Role(
            f"{name}-backup-role",
            name=physical_name(env, "postgres-backup", service=Service.IAM_ROLE),
            description="AWS Backup snapshots and restores the PostgreSQL primary",
            assume_role_policy=_assume_role_policy("backup.amazonaws.com"),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-backup-{purpose}-policy",
                role=backup_role.name,
                policy_arn=arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for purpose, arn in (("backup", BACKUP_POLICY_ARN), ("restore", RESTORE_POLICY_ARN))
        ]
        aws.backup.Selection(
            f"{name}-backup-selection",
            name=physical_name(env, "postgres-primary", service=Service.BACKUP),
            plan_id=plan.id,
            iam_role_arn=backup_role.arn,
            resources=[primary.arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
