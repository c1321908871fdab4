"""The Postgres component under mocks: in isolation with every security input, then per phase."""

from __future__ import annotations

import functools
import json

import pulumi
import pytest

from infra.config.database import DatabaseConfig
from infra.database.component import Postgres, PostgresArgs, replica_zone
from infra.database.parameters import postgres_parameters
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.tagging import REQUIRED_TAG_KEYS
from tests.conftest import PHASES, built_phase, phase_config

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
DATA_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
TAGS = {
    "project": "scaleplan",
    "phase": "scale",
    "environment": "ftw-test",
    "cost-center": "cc",
    "managed-by": "pulumi",
}

INSTANCE = "aws:rds/instance:Instance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def database_config(**overrides: object) -> DatabaseConfig:
    values: dict[str, object] = {
        "instance_class": "db.r6g.large",
        "engine_version": "16",
        "allocated_storage_gib": 200,
        "max_allocated_storage_gib": 1000,
        "multi_az": True,
        "read_replica_count": 3,
        "sizing": {
            "queries_per_request": 4,
            "query_time_ms": 50,
            "queries_per_second_per_vcpu": 1000,
            "read_query_share": 0.9,
            "storage_kib_per_user": 25,
            "hot_data_share": 1.0,
            "client_connections_per_application_vcpu": 5,
        },
        **overrides,
    }
    return DatabaseConfig.model_validate_json(json.dumps(values), strict=True)


@functools.cache
def isolated_run() -> ProgramRun:
    def program() -> None:
        database = Postgres(
            "db",
            PostgresArgs(
                config=database_config(),
                environment="ftw-test",
                availability_zones=ZONES,
                vpc_id="vpc-0123456789abcdef0",
                subnet_ids={zone: f"subnet-isolated-{zone[-1]}" for zone in ZONES},
                client_security_group_ids={"pgbouncer": "sg-pgbouncer", "app": "sg-app"},
                kms_key_arn=DATA_KEY,
                logs_kms_key_arn=LOGS_KEY,
                tags=TAGS,
            ),
        )
        pulumi.export("address", database.address)
        pulumi.export("secret_arn", database.master_user_secret_arn)
        pulumi.export("replicas", database.replica_addresses)

    return run_program(program, project="scaleplan", stack="test")


def children(run: ProgramRun) -> list[CapturedResource]:
    component = run.one("scaleplan:database:Postgres")
    return run.children_of(component.urn)


def test_component_children_are_exactly_these() -> None:
    counts: dict[str, int] = {}
    for child in children(isolated_run()):
        counts[child.type] = counts.get(child.type, 0) + 1
    assert counts == {
        SECURITY_GROUP: 1,
        INGRESS: 2,
        "aws:rds/subnetGroup:SubnetGroup": 1,
        "aws:rds/parameterGroup:ParameterGroup": 1,
        "aws:iam/role:Role": 2,  # enhanced monitoring, AWS Backup
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 3,
        "aws:cloudwatch/logGroup:LogGroup": 8,  # postgresql + upgrade for the primary and 3 replicas
        INSTANCE: 4,
        "aws:backup/vault:Vault": 1,
        "aws:backup/plan:Plan": 1,
        "aws:backup/selection:Selection": 1,
    }


def test_logical_names_derive_from_the_component_name() -> None:
    names = {child.name for child in children(isolated_run())}
    assert {"db-primary", "db-replica-1", "db-replica-2", "db-replica-3", "db-sg", "db-subnet-group"} <= names
    assert all(name.startswith("db-") for name in names)


def test_security_group_admits_only_the_named_clients_on_5432() -> None:
    run = isolated_run()
    group = run.one(SECURITY_GROUP, "db-sg")
    assert group.inputs["description"] == "PostgreSQL: port 5432 from the named client security groups only"
    assert "ingress" not in group.inputs
    assert "egress" not in group.inputs
    rules = {rule.name: rule.inputs for rule in run.of_type(INGRESS)}
    assert set(rules) == {"db-from-app", "db-from-pgbouncer"}
    for client, rule in (("app", rules["db-from-app"]), ("pgbouncer", rules["db-from-pgbouncer"])):
        assert rule["referencedSecurityGroupId"] == f"sg-{client}"
        assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 5432, 5432)
        assert rule["description"] == f"PostgreSQL from {client}"
        assert "cidrIpv4" not in rule
        assert rule["securityGroupId"] == group.outputs["id"]


def test_subnet_group_is_the_isolated_subnets_in_zone_order() -> None:
    group = isolated_run().one("aws:rds/subnetGroup:SubnetGroup")
    assert group.inputs["subnetIds"] == ["subnet-isolated-a", "subnet-isolated-b", "subnet-isolated-c"]
    assert group.inputs["name"] == "ftw-test-postgres"
    assert group.protect


def test_parameter_group_forces_tls_and_sets_memory_from_the_class() -> None:
    group = isolated_run().one("aws:rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "postgres16"
    assert group.inputs["name"] == "ftw-test-postgres-postgres16"
    parameters = {p["name"]: (p["value"], p["applyMethod"]) for p in group.inputs["parameters"]}
    assert parameters == {p.name: (p.value, p.apply_method) for p in postgres_parameters(16, slow_query_log_ms=500)}
    assert parameters["rds.force_ssl"] == ("1", "immediate")
    # Slow-query logging (issue 12): statements of 500 ms or more go to the exported postgresql log.
    assert parameters["log_min_duration_statement"] == ("500", "immediate")
    assert parameters["max_connections"] == ("256", "pending-reboot")
    assert parameters["shared_buffers"] == ("524288", "pending-reboot")


def test_primary_has_every_secure_default() -> None:
    run = isolated_run()
    primary = run.one(INSTANCE, "db-primary").inputs
    expected = {
        "identifier": "ftw-test-postgres",
        "engine": "postgres",
        "engineVersion": "16",
        "instanceClass": "db.r6g.large",
        "username": "app_admin",
        "dbName": "app",
        "manageMasterUserPassword": True,
        "masterUserSecretKmsKeyId": DATA_KEY,
        "storageEncrypted": True,
        "kmsKeyId": DATA_KEY,
        "storageType": "gp3",
        "allocatedStorage": 200,
        "maxAllocatedStorage": 1000,
        "multiAz": True,
        "publiclyAccessible": False,
        "dbSubnetGroupName": "ftw-test-postgres",
        "parameterGroupName": "ftw-test-postgres-postgres16",
        "backupRetentionPeriod": 7,
        "backupWindow": "03:00-04:00",
        "maintenanceWindow": "sun:04:30-sun:05:30",
        "deletionProtection": True,
        "skipFinalSnapshot": False,
        "finalSnapshotIdentifier": "ftw-test-postgres-final",
        "deleteAutomatedBackups": False,
        "copyTagsToSnapshot": True,
        "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": DATA_KEY,
        "performanceInsightsRetentionPeriod": 7,
        "monitoringInterval": 60,
        "monitoringRoleArn": "arn:aws:iam::123456789012:role/ftw-test-postgres-monitoring",
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "iamDatabaseAuthenticationEnabled": True,
        "autoMinorVersionUpgrade": True,
        "allowMajorVersionUpgrade": False,
        "caCertIdentifier": "rds-ca-rsa2048-g1",
        "port": 5432,
        "vpcSecurityGroupIds": [run.one(SECURITY_GROUP, "db-sg").outputs["id"]],
    }
    assert {key: primary.get(key) for key in expected} == expected
    assert "password" not in primary
    assert "availabilityZone" not in primary  # RDS places a Multi-AZ primary and its standby


def test_primary_is_protected_and_waits_for_its_log_groups_and_monitoring() -> None:
    run = isolated_run()
    primary = run.one(INSTANCE, "db-primary")
    assert primary.protect
    depends = {run.by_urn(urn).name for urn in primary.dependencies}
    assert {"db-postgresql-logs", "db-upgrade-logs", "db-monitoring-policy"} <= depends


def test_replicas_are_keyed_by_index_in_the_other_zones_with_their_own_monitoring() -> None:
    run = isolated_run()
    primary = run.one(INSTANCE, "db-primary")
    zones = {}
    for index in (1, 2, 3):
        replica = run.one(INSTANCE, f"db-replica-{index}")
        inputs = replica.inputs
        zones[index] = inputs["availabilityZone"]
        assert replica.protect
        assert inputs["identifier"] == f"ftw-test-postgres-replica-{index}"
        assert inputs["replicateSourceDb"] == primary.outputs["identifier"]
        assert inputs["instanceClass"] == "db.r6g.large"
        assert inputs["storageEncrypted"] is True
        assert inputs["kmsKeyId"] == DATA_KEY
        assert inputs["performanceInsightsKmsKeyId"] == DATA_KEY
        assert inputs["monitoringInterval"] == 60
        assert inputs["monitoringRoleArn"].endswith(":role/ftw-test-postgres-monitoring")
        assert inputs["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
        assert inputs["iamDatabaseAuthenticationEnabled"] is True
        assert inputs["publiclyAccessible"] is False
        assert inputs["deletionProtection"] is True
        assert inputs["parameterGroupName"] == "ftw-test-postgres-postgres16"
        assert "username" not in inputs
        assert "dbSubnetGroupName" not in inputs  # same-region replicas use the source's
        assert inputs["tags"]["replica-of"] == "ftw-test-postgres"
    assert zones == {1: "us-east-1b", 2: "us-east-1c", 3: "us-east-1a"}


def test_replica_zone_is_stable_as_the_count_grows() -> None:
    assert [replica_zone(i, ZONES) for i in range(1, 6)] == [
        "us-east-1b",
        "us-east-1c",
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]


def test_log_groups_are_encrypted_with_retention() -> None:
    groups = {g.inputs["name"]: g.inputs for g in isolated_run().of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert "/aws/rds/instance/ftw-test-postgres/postgresql" in groups
    assert "/aws/rds/instance/ftw-test-postgres-replica-3/upgrade" in groups
    for group in groups.values():
        assert group["kmsKeyId"] == LOGS_KEY
        assert group["retentionInDays"] == 30


def test_daily_snapshots_kept_thirty_days_in_a_cmk_vault() -> None:
    run = isolated_run()
    vault = run.one("aws:backup/vault:Vault")
    assert vault.inputs["kmsKeyArn"] == DATA_KEY
    assert vault.inputs["forceDestroy"] is False
    assert vault.protect
    (rule,) = run.one("aws:backup/plan:Plan").inputs["rules"]
    assert rule["schedule"] == "cron(0 6 ? * * *)"
    assert rule["lifecycle"] == {"deleteAfter": 30}
    assert rule["targetVaultName"] == vault.outputs["name"]
    selection = run.one("aws:backup/selection:Selection").inputs
    assert selection["resources"] == [run.one(INSTANCE, "db-primary").outputs["arn"]]
    role = run.one("aws:iam/role:Role", "db-backup-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "backup.amazonaws.com"
    }
    assert selection["iamRoleArn"] == role.outputs["arn"]


def test_monitoring_role_is_for_rds_enhanced_monitoring() -> None:
    run = isolated_run()
    role = run.one("aws:iam/role:Role", "db-monitoring-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "monitoring.rds.amazonaws.com"
    }
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "db-monitoring-policy")
    assert attachment.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"


def test_every_taggable_child_carries_the_standard_tags() -> None:
    for child in children(isolated_run()):
        if child.type in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:backup/selection:Selection"):
            continue  # not taggable
        tags = child.inputs.get("tags")
        assert tags is not None, child.name
        assert {key: tags[key] for key in REQUIRED_TAG_KEYS} == {key: TAGS[key] for key in REQUIRED_TAG_KEYS}


def test_outputs_are_endpoints_and_the_secret_reference() -> None:
    outputs = isolated_run().stack_outputs
    assert outputs["address"] == "ftw-test-postgres.c" + outputs["address"].split(".c", 1)[1]
    assert outputs["address"].endswith(".us-east-1.rds.amazonaws.com")
    assert outputs["secret_arn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-")
    assert set(outputs["replicas"]) == {"replica-1", "replica-2", "replica-3"}


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_builds_its_database(phase: str) -> None:
    config = phase_config(phase).database
    run = built_phase(phase)
    instances = {r.name: r for r in run.of_type(INSTANCE)}
    expected = {"database-primary", *(f"database-replica-{i}" for i in range(1, config.read_replica_count + 1))}
    assert set(instances) == expected
    assert all(instance.protect for instance in instances.values())
    primary = instances["database-primary"].inputs
    assert primary["instanceClass"] == config.instance_class
    assert primary["multiAz"] is config.multi_az
    key = next(k for k in run.of_type("aws:kms/key:Key") if k.name == "keys-database")
    assert primary["kmsKeyId"] == key.outputs["arn"]
    assert key.protect
    group = run.one("aws:rds/subnetGroup:SubnetGroup", "database-subnet-group")
    isolated = [s.outputs["id"] for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "isolated"]
    assert sorted(group.inputs["subnetIds"]) == sorted(isolated)
    assert run.stack_outputs["database_address"].startswith("ftw-prod-postgres.")
    assert set(run.stack_outputs["database_replica_addresses"]) == {
        f"replica-{i}" for i in range(1, config.read_replica_count + 1)
    }


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_admits_only_security_groups_of_the_stack(phase: str) -> None:
    run = built_phase(phase)
    known = {group.outputs["id"] for group in run.of_type(SECURITY_GROUP)}
    known |= {c.outputs["vpcConfig"]["clusterSecurityGroupId"] for c in run.of_type("aws:eks/cluster:Cluster")}
    rules = {r.name: r.inputs for r in run.of_type(INGRESS) if r.name.startswith(("database-from-", "cache-from-"))}
    for name, rule in rules.items():
        assert rule["referencedSecurityGroupId"] in known, name
        assert "cidrIpv4" not in rule, name
    config = phase_config(phase)
    if config.eks is not None:
        assert {"database-from-eks-nodes", "cache-from-eks-nodes"} <= set(rules)
    if config.compute.auto_scaling_group is not None:
        assert {"database-from-app", "cache-from-app"} <= set(rules)
