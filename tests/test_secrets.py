"""The application's secrets: config rules, the secrets each phase creates, how they reach the
pods on EKS, the cache AUTH token's rotation, and the outputs a user needs after ``up``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.cache.component import Cache, CacheArgs
from infra.config.loader import parse_phase_config
from infra.config.secrets import looks_like_a_secret_value
from infra.plan.capture import run_program
from infra.plan.outputs_section import outputs_section
from infra.secrets.policy import secret_arn_pattern
from tests.conftest import PHASES, built_phase, phase_config
from tests.test_config_rejections import DELETE, base_config, changed, rejection

SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
SECRET_STORE = "kubernetes:external-secrets.io/v1:SecretStore"
SEED_CREDENTIALS = ("openai", "twilio", "sendgrid", "stripe", "trueway", "r2")
"""Seed 001's third-party services, and the R2 access key of the application."""


def _credentials(**first: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = base_config()["scaleplan:secrets"]["credentials"]
    return [{**entries[0], **first}, *entries[1:]]


# --- config


def test_rejects_a_secret_name_outside_the_application_prefix() -> None:
    config = changed("secrets.credentials", _credentials(name="ftw-prod-db/openai"))
    assert rejection(config) == [
        "Pulumi.growth.yaml: scaleplan:secrets.credentials[0].name: must start with the application's prefix "
        "'ftw-prod-app/', the only names its role may read (got 'ftw-prod-db/openai')"
    ]


def test_rejects_the_prefix_alone_as_a_name() -> None:
    config = changed("secrets.credentials", _credentials(name="ftw-prod-app/"))
    assert rejection(config)[0].startswith("Pulumi.growth.yaml: scaleplan:secrets.credentials[0].name: must start")


def test_foundation_prefix_is_the_instances_one() -> None:
    config = changed("secrets.credentials", _credentials(name="other-app/openai"), phase="foundation")
    assert "the application's prefix 'ftw-prod-app/'" in rejection(config, "Pulumi.foundation.yaml")[0]


@pytest.mark.parametrize(
    ("description", "what"),
    [
        ("OpenAI key sk-proj-" + "A1b2C3d4E5f6G7h8I9j0", "an OpenAI or Stripe key"),
        ("Stripe sk_live_" + "51HxYzAbCdEfGhIjKlMnOp", "an OpenAI or Stripe key"),
        ("SendGrid SG." + "abcdefghijklmnop1234.ABCDEFGHIJKLMNOPqrst5678", "a SendGrid key"),
        ("Twilio AC" + "0123456789abcdef0123456789abcdef", "a Twilio SID or key"),
        ("R2 key AKIA" + "ABCDEFGHIJKLMNOP", "an AWS access key ID"),
        ("token 8f2Kq9XzL1mN4pR7sT0vW3yB", "a random token"),
    ],
)
def test_rejects_a_secret_value_in_the_stack_file(description: str, what: str) -> None:
    config = changed("secrets.credentials", _credentials(description=description))
    (line,) = rejection(config)
    assert line.startswith(f"Pulumi.growth.yaml: scaleplan:secrets.credentials[0].description: looks like {what}: ")
    assert "aws secretsmanager put-secret-value" in line


def test_rejects_a_value_key() -> None:
    config = changed("secrets.credentials", _credentials(value="hunter2"))
    assert rejection(config)[0].startswith("Pulumi.growth.yaml: scaleplan:secrets.credentials[0].value: unknown key")


@pytest.mark.parametrize("days", [0, 6, 31])
def test_rejects_a_recovery_window_outside_7_to_30_days(days: int) -> None:
    (line,) = rejection(changed("secrets.recovery_window_days", days))
    assert line.startswith("Pulumi.growth.yaml: scaleplan:secrets.recovery_window_days: must be")


def test_rejects_a_name_listed_twice() -> None:
    entries = base_config()["scaleplan:secrets"]["credentials"]
    config = changed("secrets.credentials", [*entries, entries[0]])
    assert rejection(config) == [
        f"Pulumi.growth.yaml: scaleplan:secrets.credentials[{len(entries)}].name: names a secret already listed "
        "above (got 'ftw-prod-app/openai')"
    ]


def test_rejects_secrets_on_a_cluster_without_external_secrets() -> None:
    (line,) = rejection(changed("pgbouncer", DELETE))
    assert line.startswith("Pulumi.growth.yaml: scaleplan:secrets: reach the application's pods through External")


@pytest.mark.parametrize("phase", PHASES)
def test_committed_descriptions_read_as_prose(phase: str) -> None:
    secrets = phase_config(phase).secrets
    assert secrets is not None
    for credential in secrets.credentials:
        assert looks_like_a_secret_value(credential.description) is None
        assert looks_like_a_secret_value(credential.name) is None


# --- the secrets each phase creates


@pytest.mark.parametrize("phase", PHASES)
def test_each_credential_is_a_protected_secret_on_a_customer_key(phase: str) -> None:
    run = built_phase(phase)
    config = phase_config(phase)
    assert config.secrets is not None
    cache_key = run.one("aws:kms/key:Key", "keys-cache").outputs["arn"]
    for key in SEED_CREDENTIALS:
        secret = run.one(SECRET, f"app-secrets-{key}")
        assert secret.inputs["name"] == f"ftw-prod-app/{key}"
        assert secret.inputs["kmsKeyId"] == cache_key
        assert secret.inputs["recoveryWindowInDays"] == config.secrets.recovery_window_days == 30
        assert secret.inputs["description"].startswith("ftw-prod: ")
        assert secret.protect


@pytest.mark.parametrize("phase", PHASES)
def test_no_application_secret_has_a_value_in_state(phase: str) -> None:
    run = built_phase(phase)
    app_secret_ids = {run.one(SECRET, f"app-secrets-{key}").outputs["id"] for key in SEED_CREDENTIALS}
    app_secret_ids |= {run.one(SECRET, f"app-secrets-{key}").outputs["arn"] for key in SEED_CREDENTIALS}
    for version in run.of_type(VERSION):
        assert version.inputs["secretId"] not in app_secret_ids, version.name


def test_secret_arn_pattern_matches_one_name_only() -> None:
    pattern = secret_arn_pattern("us-east-1", "123456789012", "ftw-prod-app/r2")
    assert pattern == "arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-prod-app/r2-??????"


# --- External Secrets in the application's namespace


@pytest.mark.parametrize("phase", ["growth", "scale", "optimize"])
def test_every_readable_secret_reaches_the_app_namespace_through_its_own_role(phase: str) -> None:
    run = built_phase(phase)
    eks = phase_config(phase).eks
    assert eks is not None
    store = run.one(SECRET_STORE, "app-secrets-sync-store")
    assert store.inputs["metadata"]["namespace"] == eks.application.namespace
    assert store.inputs["spec"]["provider"]["aws"] == {
        "service": "SecretsManager",
        "region": "us-east-1",
        # The application's own service account, so the operator reads what the app may read.
        "auth": {"jwt": {"serviceAccountRef": {"name": eks.application.service_account}}},
    }
    synced = {}
    for external in run.of_type(EXTERNAL_SECRET):
        if external.name.startswith("app-secrets-sync-"):
            spec = external.inputs["spec"]
            assert external.inputs["metadata"]["namespace"] == eks.application.namespace
            assert spec["refreshInterval"] == "3600s"
            assert spec["secretStoreRef"] == {"name": "secrets-manager", "kind": "SecretStore"}
            assert spec["target"] == {"name": external.inputs["metadata"]["name"], "creationPolicy": "Owner"}
            synced[external.inputs["metadata"]["name"]] = spec["dataFrom"][0]["extract"]["key"]
            assert store.urn in external.dependencies
    assert synced == {
        **{key: f"ftw-prod-app/{key}" for key in SEED_CREDENTIALS},
        "ftw-prod-cache-auth-token": "ftw-prod-cache/auth-token",
        "database": "ftw-prod-app/database",
    }


def test_refresh_interval_comes_from_config() -> None:
    config = parse_phase_config(changed("secrets.refresh_interval_seconds", 300), "Pulumi.growth.yaml")
    assert config.secrets is not None
    assert config.secrets.refresh_interval_seconds == 300
    (line,) = rejection(changed("secrets.refresh_interval_seconds", 30))
    assert line.startswith("Pulumi.growth.yaml: scaleplan:secrets.refresh_interval_seconds: must be >= 60")


# --- the cache AUTH token rotates without dropping clients


@pytest.mark.parametrize("phase", PHASES)
def test_cache_auth_token_changes_are_rotations(phase: str) -> None:
    run = built_phase(phase)
    group = run.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert group.inputs["authTokenUpdateStrategy"] == "ROTATE"
    token = run.one("random:index/randomPassword:RandomPassword", "cache-auth-token")
    # Generation 1 keeps the token a live environment has: no keeper, so no new password.
    assert "keepers" not in token.inputs


def test_a_new_generation_is_a_new_token() -> None:
    config = parse_phase_config(changed("cache.auth_token_generation", 2), "Pulumi.growth.yaml")
    assert config.cache.auth_token_generation == 2

    def program() -> None:
        Cache(
            "cache",
            CacheArgs(
                config=config.cache,
                environment="ftw-test",
                availability_zones=config.network.availability_zones,
                vpc_id="vpc-1",
                subnet_ids={zone: f"subnet-{zone}" for zone in config.network.availability_zones},
                client_security_group_ids={"app": "sg-app"},
                kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/cache",
                logs_kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/logs",
                tags={},
            ),
        )

    run = run_program(program, project="scaleplan", stack="test")
    token = run.one("random:index/randomPassword:RandomPassword", "cache-auth-token")
    assert token.inputs["keepers"] == {"generation": "2"}


# --- outputs after `pulumi up`


@pytest.mark.parametrize("phase", PHASES)
def test_outputs_name_the_application_role_secrets_and_buckets(phase: str) -> None:
    run = built_phase(phase)
    outputs = run.stack_outputs
    role = "platform-app-role" if phase_config(phase).eks is not None else "app-role"
    assert outputs["application_role_arn"] == run.one("aws:iam/role:Role", role).outputs["arn"]
    assert outputs["application_secret_arns"] == {
        f"ftw-prod-app/{key}": run.one(SECRET, f"app-secrets-{key}").outputs["arn"] for key in SEED_CREDENTIALS
    }
    assert outputs["cache_auth_token_secret_arn"] == run.one(SECRET, "cache-auth-token-secret").outputs["arn"]
    assert set(outputs["bucket_names"]) == set(phase_config(phase).edge.buckets)
    assert "database_address" in outputs


@pytest.mark.parametrize("phase", ["growth", "scale", "optimize"])
def test_eks_phases_output_the_kubeconfig_command(phase: str) -> None:
    outputs = built_phase(phase).stack_outputs
    assert outputs["kubeconfig_command"] == "aws eks update-kubeconfig --name ftw-prod-eks --region us-east-1"
    assert set(outputs["pgbouncer_hosts"]) >= {"rw"}


def test_plan_lists_the_outputs_a_user_needs_first() -> None:
    section = outputs_section(phase_config("growth"), built_phase("growth"))
    names = [row[0] for row in section.rows]
    needed = ["application_role_arn", "application_secret_arns", "bucket_names", "kubeconfig_command"]
    assert set(needed) <= set(names[: len(names) - 7])
    assert section.data["outputs"] == len(built_phase("growth").stack_outputs)
    row = next(row for row in section.rows if row[0] == "kubeconfig_command")
    assert row[2] == "aws eks update-kubeconfig --name ftw-prod-eks --region us-east-1"
    json.dumps(section.data)
