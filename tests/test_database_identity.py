"""The application's own database logins: passwords, secrets, PgBouncer's auth_file lines and
the Job that makes the roles, as each EKS phase builds them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.config.loader import parse_phase_config
from infra.config.pgbouncer import Login
from infra.database.identity import logins_document, setup_script
from infra.database.roles import application_role_sql
from infra.pgbouncer.component import userlist_template
from tests.conftest import PHASES, built_phase, phase_config
from tests.test_cache import secret_value
from tests.test_config_rejections import DELETE, changed, rejection

EKS_PHASES = [p for p in PHASES if phase_config(p).pgbouncer is not None]
JOB = "kubernetes:batch/v1:Job"


def _job(phase: str) -> dict[str, Any]:
    return dict(built_phase(phase).one(JOB, "app-database-job").inputs)


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_application_secret_names_the_active_login_through_pgbouncer(phase: str) -> None:
    run = built_phase(phase)
    secret = run.one("aws:secretsmanager/secret:Secret", "app-database-credential")
    assert secret.inputs["name"] == "ftw-prod-app/database"
    assert secret.inputs["kmsKeyId"] == run.one("aws:kms/key:Key", "keys-cache").outputs["arn"]
    assert secret.protect
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion", "app-database-credential-version")
    # A Pulumi secret: encrypted in state, like the cache AUTH token.
    document = json.loads(str(secret_value(version.inputs["secretString"])))
    password = run.one("random:index/randomPassword:RandomPassword", "app-database-a-password").outputs["result"]
    assert document == {
        "username": "app_a",
        "password": password,
        "host": built_phase(phase).stack_outputs["pgbouncer_hosts"]["rw"],
        "port": 6432,
        "dbname": phase_config(phase).database.database_name,
        "sslmode": "require",
    }


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_pgbouncer_knows_both_logins(phase: str) -> None:
    run = built_phase(phase)
    spec = run.one("kubernetes:external-secrets.io/v1:ExternalSecret", "pgbouncer-credentials").inputs["spec"]
    userlist = spec["target"]["template"]["data"]["userlist.txt"]
    assert userlist.startswith('"{{ .username }}" "{{ .password }}"\n"app_a" "{{ .app_a }}"\n"app_b" "{{ .app_b }}"\n')
    # After them, only the metrics exporter's line, which holds a SCRAM verifier, not a password.
    assert [line.split(" ")[0] for line in userlist.splitlines()[3:]] == ['"pgbouncer_stats"']
    logins = [item for item in spec["data"] if item["remoteRef"]["key"] == "ftw-prod-pgbouncer/app-logins"]
    assert [(item["secretKey"], item["remoteRef"]["property"]) for item in logins] == [
        ("app_a", "app_a"),
        ("app_b", "app_b"),
    ]
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "pgbouncer-secrets-policy").inputs["policy"])
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadApplicationLogins")
    assert read["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-prod-pgbouncer/app-logins-??????"
    ]


def test_userlist_and_logins_document() -> None:
    assert userlist_template([]) == '"{{ .username }}" "{{ .password }}"\n'
    assert json.loads(logins_document(["p1", "p2"], logins=["app_a", "app_b"])) == {"app_a": "p1", "app_b": "p2"}


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_job_runs_the_sql_file_for_both_logins_over_verified_tls(phase: str) -> None:
    run = built_phase(phase)
    job = _job(phase)
    identity = phase_config(phase).pgbouncer.application_identity  # type: ignore[union-attr]
    assert identity is not None
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == identity.psql_image
    assert container["command"] == ["sh", "-c", setup_script(identity)]
    for login in ("app_a", "app_b"):
        assert f"-v app_login={login} " in container["command"][2]
    env = {item["name"]: item for item in container["env"]}
    assert env["PGSSLMODE"]["value"] == "verify-full"
    assert env["PGHOST"]["value"] == run.one("aws:rds/instance:Instance", "database-primary").outputs["address"]
    assert env["PGUSER"]["valueFrom"]["secretKeyRef"] == {"name": "ftw-prod-app-db-master", "key": "username"}
    files = run.one("kubernetes:core/v1:ConfigMap", "app-database-files").inputs["data"]
    assert files["application_role.sql"] == application_role_sql()
    assert "-----BEGIN CERTIFICATE-----" in files["ca.pem"]
    # The Job waits for the master's credentials, which wait for the External Secrets release.
    master = run.one("kubernetes:external-secrets.io/v1:ExternalSecret", "app-database-master")
    assert master.urn in run.one(JOB, "app-database-job").dependencies
    assert master.inputs["spec"]["secretStoreRef"] == {"name": "ftw-prod-pgbouncer-rds", "kind": "SecretStore"}


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_job_pod_is_restricted(phase: str) -> None:
    pod = _job(phase)["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = pod["containers"][0]["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert pod["containers"][0]["resources"]["limits"] == {"cpu": "250m", "memory": "128Mi"}


def test_a_new_generation_reruns_the_job_with_a_new_password() -> None:
    """Generation 1 has no keeper (no new password for live environments); 2 is a new one."""
    run = built_phase("growth")
    assert "keepers" not in run.one("random:index/randomPassword:RandomPassword", "app-database-b-password").inputs
    assert _job("growth")["metadata"]["annotations"] == {"scaleplan.io/password-generations": "a=1,b=1"}


def test_rejects_an_image_not_pinned_by_digest() -> None:
    config = changed("pgbouncer.application_identity.psql_image", "postgres:16")
    (line,) = rejection(config)
    assert line.startswith("Pulumi.growth.yaml: scaleplan:pgbouncer.application_identity.psql_image: must be pinned")


def test_rejects_a_missing_login_generation() -> None:
    (line,) = rejection(changed("pgbouncer.application_identity.password_generations.b", DELETE))
    assert line == (
        "Pulumi.growth.yaml: scaleplan:pgbouncer.application_identity.password_generations: needs a generation "
        "for each login a and b (missing b)"
    )


def test_generations_and_active_login_parse() -> None:
    config = parse_phase_config(
        changed("pgbouncer.application_identity", {"active_login": "b", "password_generations": {"a": 3, "b": 2}}),
        "Pulumi.growth.yaml",
    )
    identity = config.pgbouncer.application_identity  # type: ignore[union-attr]
    assert identity is not None
    assert identity.active_login is Login.B
    assert identity.login_name(Login.B) == "app_b"
