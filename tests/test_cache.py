"""The Cache component under mocks: in isolation with every security input, then per phase."""

from __future__ import annotations

import functools
import json

import pulumi
import pytest

from infra.cache.component import Cache, CacheArgs
from infra.config.cache import CacheConfig
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.tagging import REQUIRED_TAG_KEYS
from tests.conftest import PHASES, built_phase, phase_config

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
CACHE_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/66666666-7777-8888-9999-000000000000"
TAGS = {
    "project": "scaleplan",
    "phase": "scale",
    "environment": "ftw-test",
    "cost-center": "cc",
    "managed-by": "pulumi",
}
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""Pulumi's marker of a secret value on the wire."""


def secret_value(value: object) -> object:
    """The plaintext inside a secret-wrapped input; fails if ``value`` is not a secret."""
    assert isinstance(value, dict), value
    assert value[SECRET_SIG] == "1b47061264138c4ac30d75fd1eb44270"
    return value["value"]


def cache_config(**overrides: object) -> CacheConfig:
    values: dict[str, object] = {
        "engine": "valkey",
        "engine_version": "8.0",
        "node_type": "cache.t4g.medium",
        "cluster_mode": "enabled",
        "shards": 3,
        "replicas_per_shard": 2,
        "sizing": {
            "sessions_per_concurrent_user": 8,
            "session_kib": 2,
            "hot_data_kib_per_active_user": 25,
            "hit_ratio_target": 0.95,
        },
        **overrides,
    }
    return CacheConfig.model_validate_json(json.dumps(values), strict=True)


def run_cache(config: CacheConfig) -> ProgramRun:
    def program() -> None:
        cache = Cache(
            "cache",
            CacheArgs(
                config=config,
                environment="ftw-test",
                availability_zones=ZONES,
                vpc_id="vpc-0123456789abcdef0",
                subnet_ids={zone: f"subnet-isolated-{zone[-1]}" for zone in ZONES},
                client_security_group_ids={"app": "sg-app"},
                kms_key_arn=CACHE_KEY,
                logs_kms_key_arn=LOGS_KEY,
                tags=TAGS,
            ),
        )
        pulumi.export("endpoint", cache.endpoint)
        pulumi.export("secret_arn", cache.auth_token_secret_arn)

    return run_program(program, project="scaleplan", stack="test")


@functools.cache
def cluster_run() -> ProgramRun:
    return run_cache(cache_config())


def children(run: ProgramRun) -> list[CapturedResource]:
    return run.children_of(run.one("scaleplan:cache:Cache").urn)


def test_component_children_are_exactly_these() -> None:
    counts: dict[str, int] = {}
    for child in children(cluster_run()):
        counts[child.type] = counts.get(child.type, 0) + 1
    assert counts == {
        SECURITY_GROUP: 1,
        INGRESS: 1,
        "aws:elasticache/subnetGroup:SubnetGroup": 1,
        "aws:elasticache/parameterGroup:ParameterGroup": 1,
        "random:index/randomPassword:RandomPassword": 1,
        "aws:secretsmanager/secret:Secret": 1,
        "aws:secretsmanager/secretVersion:SecretVersion": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        GROUP: 1,
    }
    assert all(child.name.startswith("cache-") for child in children(cluster_run()))


def test_replication_group_is_encrypted_tls_only_and_authenticated() -> None:
    run = cluster_run()
    group = run.one(GROUP)
    inputs = group.inputs
    expected = {
        "replicationGroupId": "ftw-test-cache",
        "engine": "valkey",
        "engineVersion": "8.0",
        "nodeType": "cache.t4g.medium",
        "port": 6379,
        "atRestEncryptionEnabled": True,
        "kmsKeyId": CACHE_KEY,
        "transitEncryptionEnabled": True,
        "transitEncryptionMode": "required",
        "autoMinorVersionUpgrade": True,
        "snapshotRetentionLimit": 7,
        "snapshotWindow": "05:00-06:00",
        "maintenanceWindow": "sun:06:30-sun:07:30",
        "finalSnapshotIdentifier": "ftw-test-cache-final",
        "subnetGroupName": "ftw-test-cache",
        "parameterGroupName": "ftw-test-cache-valkey8-cluster",
        "securityGroupIds": [run.one(SECURITY_GROUP).outputs["id"]],
    }
    assert {key: inputs.get(key) for key in expected} == expected
    assert group.protect
    token = run.one("random:index/randomPassword:RandomPassword")
    assert token.inputs["length"] == 64
    assert token.inputs["overrideSpecial"] == "!&#$^<>-"  # no space, '"', '/' or '@', as AUTH requires
    assert secret_value(inputs["authToken"]) == token.outputs["result"]


def test_auth_token_is_a_secret_in_state_and_never_plain() -> None:
    group = cluster_run().one(GROUP)
    struct = group.inputs_struct.fields["authToken"].struct_value
    assert struct.fields["4dabf18193072939515e22adb298388d"].string_value == "1b47061264138c4ac30d75fd1eb44270"


def test_cluster_mode_shards_with_replicas_and_failover() -> None:
    inputs = cluster_run().one(GROUP).inputs
    assert inputs["clusterMode"] == "enabled"
    assert (inputs["numNodeGroups"], inputs["replicasPerNodeGroup"]) == (3, 2)
    assert "numCacheClusters" not in inputs
    assert inputs["automaticFailoverEnabled"] is True
    assert inputs["multiAzEnabled"] is True


def test_without_cluster_mode_one_primary_and_its_replicas() -> None:
    run = run_cache(cache_config(cluster_mode="disabled", shards=1, replicas_per_shard=2))
    inputs = run.one(GROUP).inputs
    assert inputs["clusterMode"] == "disabled"
    assert inputs["numCacheClusters"] == 3
    assert "numNodeGroups" not in inputs
    assert inputs["parameterGroupName"] == "ftw-test-cache-valkey8-single"
    parameters = {
        p["name"]: p["value"] for p in run.one("aws:elasticache/parameterGroup:ParameterGroup").inputs["parameters"]
    }
    assert parameters["cluster-enabled"] == "no"
    assert run.stack_outputs["endpoint"].startswith("master.ftw-test-cache.")


def test_no_replicas_means_no_multi_az() -> None:
    config = cache_config(cluster_mode="disabled", shards=1, replicas_per_shard=0)
    inputs = run_cache(config).one(GROUP).inputs
    assert inputs["multiAzEnabled"] is False
    assert inputs["automaticFailoverEnabled"] is False
    assert inputs["numCacheClusters"] == 1


def test_parameter_group_evicts_lru_and_enables_cluster_mode() -> None:
    group = cluster_run().one("aws:elasticache/parameterGroup:ParameterGroup").inputs
    assert group["family"] == "valkey8"
    assert {p["name"]: p["value"] for p in group["parameters"]} == {
        "cluster-enabled": "yes",
        "maxmemory-policy": "allkeys-lru",
    }


def test_security_group_admits_only_the_named_clients_on_6379() -> None:
    run = cluster_run()
    group = run.one(SECURITY_GROUP)
    assert group.inputs["description"] == "Cache: port 6379 from the named client security groups only"
    assert "ingress" not in group.inputs
    (rule,) = run.of_type(INGRESS)
    assert rule.name == "cache-from-app"
    assert rule.inputs["referencedSecurityGroupId"] == "sg-app"
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 6379, 6379)
    assert "cidrIpv4" not in rule.inputs


def test_subnet_group_is_the_isolated_subnets() -> None:
    group = cluster_run().one("aws:elasticache/subnetGroup:SubnetGroup")
    assert group.inputs["subnetIds"] == ["subnet-isolated-a", "subnet-isolated-b", "subnet-isolated-c"]
    assert group.protect


def test_token_secret_is_cmk_encrypted_and_holds_the_connection_document() -> None:
    run = cluster_run()
    secret = run.one("aws:secretsmanager/secret:Secret")
    assert secret.inputs["kmsKeyId"] == CACHE_KEY
    assert secret.inputs["name"] == "ftw-test-cache/auth-token"
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.protect
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretId"] == secret.outputs["id"]
    document = json.loads(str(secret_value(version.inputs["secretString"])))
    assert document == {
        "host": run.stack_outputs["endpoint"],
        "port": 6379,
        "tls": True,
        "auth_token": run.one("random:index/randomPassword:RandomPassword").outputs["result"],
        "cluster_mode": "enabled",
    }
    assert run.stack_outputs["endpoint"].startswith("clustercfg.ftw-test-cache.")
    assert run.stack_outputs["secret_arn"] == secret.outputs["arn"]


def test_slow_log_goes_to_an_encrypted_group() -> None:
    run = cluster_run()
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup")
    assert log_group.inputs["kmsKeyId"] == LOGS_KEY
    assert log_group.inputs["retentionInDays"] == 30
    (delivery,) = run.one(GROUP).inputs["logDeliveryConfigurations"]
    assert delivery == {
        "destination": log_group.inputs["name"],
        "destinationType": "cloudwatch-logs",
        "logFormat": "json",
        "logType": "slow-log",
    }


def test_every_taggable_child_carries_the_standard_tags() -> None:
    for child in children(cluster_run()):
        if child.type.startswith("random:") or child.type == "aws:secretsmanager/secretVersion:SecretVersion":
            continue  # not taggable
        tags = child.inputs.get("tags")
        assert tags is not None, child.name
        assert {key: tags[key] for key in REQUIRED_TAG_KEYS} == {key: TAGS[key] for key in REQUIRED_TAG_KEYS}


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_builds_its_cache(phase: str) -> None:
    config = phase_config(phase).cache
    run = built_phase(phase)
    group = run.one(GROUP, "cache-replication-group")
    assert group.protect
    assert group.inputs["nodeType"] == config.node_type
    assert (group.inputs["numNodeGroups"], group.inputs["replicasPerNodeGroup"]) == (
        config.shards,
        config.replicas_per_shard,
    )
    key = next(k for k in run.of_type("aws:kms/key:Key") if k.name == "keys-cache")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    assert run.stack_outputs["cache_endpoint"].startswith("clustercfg.ftw-prod-cache.")
    assert run.stack_outputs["cache_port"] == 6379
