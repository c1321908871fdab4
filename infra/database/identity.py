"""The application's own database identity: two alternating logins acting as one owner role,
made by a one-shot Kubernetes Job that runs ``sql/application_role.sql`` as the master user."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.config.pgbouncer import ApplicationIdentityConfig, Login
from infra.database.roles import application_role_sql
from infra.naming import Service, physical_name
from infra.pgbouncer.ini import LISTEN_PORT
from infra.tagging import with_name

PASSWORD_LENGTH = 40
SQL_KEY = "application_role.sql"
CA_KEY = "ca.pem"
JOB_BACKOFF_LIMIT = 6
"""Retries of the Job's pod: the master's Kubernetes Secret appears when External Secrets first syncs."""


def credential_document(values: Sequence[object], *, login: str, port: int, database: str) -> str:
    """The application's secret: what a PostgreSQL client needs to reach PgBouncer as ``login``."""
    host, password = values
    return json.dumps(
        {
            "username": login,
            "password": password,
            "host": host,
            "port": port,
            "dbname": database,
            "sslmode": "require",
        }
    )


def logins_document(values: Sequence[object], *, logins: Sequence[str]) -> str:
    """PgBouncer's view: each login's password, keyed by login name."""
    return json.dumps(dict(zip(logins, values, strict=True)))


def setup_script(config: ApplicationIdentityConfig) -> str:
    """The Job's shell: run the SQL file once per login, as the master user, over verified TLS."""
    runs = [
        f"psql -v ON_ERROR_STOP=1 -v app_role={config.role} -v app_login={config.login_name(login)} "
        f'-v app_password="$APP_PASSWORD_{login.value.upper()}" -v app_schema={config.schema_name} '
        f"-f /sql/{SQL_KEY}"
        for login in Login
    ]
    return "set -eu\n" + "\n".join(runs) + "\n"


@dataclass(frozen=True, kw_only=True)
class ApplicationDatabaseIdentityArgs:
    config: ApplicationIdentityConfig
    environment: str
    credential_secret_name: str
    """The application's secret (under its prefix): the active login, host, port, database."""
    logins_secret_name: str
    """PgBouncer's secret: every login's password (its auth_file lines)."""
    kms_key_arn: pulumi.Input[str]
    namespace: pulumi.Input[str]
    """PgBouncer's namespace: the Job runs there, beside the master's synced credentials."""
    secret_store_name: pulumi.Input[str]
    """PgBouncer's ``SecretStore``, whose role reads the RDS master secret."""
    master_secret_arn: pulumi.Input[str]
    primary_host: pulumi.Input[str]
    port: pulumi.Input[int]
    database_name: str
    pgbouncer_host: pulumi.Input[str]
    """The read-write PgBouncer Service the application connects to."""
    server_ca_bundle_pem: str
    labels: Mapping[str, str]
    tags: Mapping[str, str]
    depends_on: Sequence[pulumi.Resource]
    """The External Secrets release (its CRDs) and PgBouncer's store."""


class ApplicationDatabaseIdentity(pulumi.ComponentResource):
    """Passwords for both logins, the application's secret naming the active one, PgBouncer's
    secret listing both, and a Job that makes the roles (re-run when a generation changes).

    Declare it with the AWS and the cluster's Kubernetes providers. The passwords are Pulumi
    secrets (encrypted in state), like the cache AUTH token.
    """

    credential_secret_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApplicationDatabaseIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("scaleplan:database:ApplicationDatabaseIdentity", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=True)
        passwords: dict[Login, random.RandomPassword] = {}
        for login in Login:
            generation = cfg.password_generations[login]
            passwords[login] = random.RandomPassword(
                f"{name}-{login.value}-password",
                length=PASSWORD_LENGTH,
                special=False,
                min_lower=4,
                min_upper=4,
                min_numeric=4,
                # A new generation is a new password; generation 1 has no keeper.
                keepers={"generation": str(generation)} if generation > 1 else None,
                opts=child,
            )
        logins = [cfg.login_name(login) for login in Login]

        credential = aws.secretsmanager.Secret(
            f"{name}-credential",
            name=args.credential_secret_name,
            description=f"{args.environment}: the application's database login (through PgBouncer)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=30,
            tags=with_name(args.tags, args.credential_secret_name),
            opts=stateful,
        )
        active = cfg.active_login
        aws.secretsmanager.SecretVersion(
            f"{name}-credential-version",
            secret_id=credential.id,
            secret_string=pulumi.Output.all(args.pgbouncer_host, passwords[active].result).apply(
                lambda values: credential_document(
                    values, login=cfg.login_name(active), port=LISTEN_PORT, database=args.database_name
                )
            ),
            opts=child,
        )
        logins_secret = aws.secretsmanager.Secret(
            f"{name}-logins",
            name=args.logins_secret_name,
            description=f"{args.environment}: PgBouncer's auth_file lines of the application's logins",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=30,
            tags=with_name(args.tags, args.logins_secret_name),
            opts=stateful,
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-logins-version",
            secret_id=logins_secret.id,
            secret_string=pulumi.Output.all(*(passwords[login].result for login in Login)).apply(
                lambda values: logins_document(values, logins=logins)
            ),
            opts=child,
        )

        # --- the Job: the master's credentials from External Secrets, the logins' from Pulumi
        def k8s_name(*parts: str) -> str:
            return physical_name(args.environment, "app-db", *parts, service=Service.KUBERNETES)

        labels = {"app.kubernetes.io/managed-by": "pulumi", **args.labels}
        master_name = k8s_name("master")
        master = k8s.apiextensions.CustomResource(
            f"{name}-master",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=master_name, namespace=args.namespace, labels=labels),
            spec={
                "refreshInterval": "300s",
                "secretStoreRef": {"name": args.secret_store_name, "kind": "SecretStore"},
                "target": {"name": master_name, "creationPolicy": "Owner"},
                "data": [
                    {"secretKey": key, "remoteRef": {"key": args.master_secret_arn, "property": key}}
                    for key in ("username", "password")
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        passwords_secret = k8s.core.v1.Secret(
            f"{name}-passwords",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=k8s_name("passwords"), namespace=args.namespace, labels=labels),
            type="Opaque",
            string_data={f"APP_PASSWORD_{login.value.upper()}": passwords[login].result for login in Login},
            opts=child,
        )
        files = k8s.core.v1.ConfigMap(
            f"{name}-files",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=k8s_name("files"), namespace=args.namespace, labels=labels),
            data={SQL_KEY: application_role_sql(), CA_KEY: args.server_ca_bundle_pem},
            opts=child,
        )
        generations = ",".join(f"{login.value}={cfg.password_generations[login]}" for login in Login)
        k8s.batch.v1.Job(
            f"{name}-job",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                namespace=args.namespace,
                labels=labels,
                # A changed generation (or SQL) changes the template: the Job is replaced and runs again.
                annotations={"scaleplan.io/password-generations": generations},
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=JOB_BACKOFF_LIMIT,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels, annotations={"scaleplan.io/password-generations": generations}
                    ),
                    spec=_pod_spec(
                        cfg,
                        args,
                        master_name=master_name,
                        passwords_name=passwords_secret.metadata.name,
                        files_name=files.metadata.name,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[master, passwords_secret, files]),
        )
        self.credential_secret_arn = credential.arn
        self.register_outputs({"credential_secret_arn": self.credential_secret_arn})


def _pod_spec(
    cfg: ApplicationIdentityConfig,
    args: ApplicationDatabaseIdentityArgs,
    *,
    master_name: str,
    passwords_name: pulumi.Input[str],
    files_name: pulumi.Input[str],
) -> k8s.core.v1.PodSpecArgs:
    """Pod Security ``restricted``: non-root, no privilege escalation, no capabilities, the
    runtime's seccomp profile, a read-only root filesystem and no service-account token."""

    def from_secret(name: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarSourceArgs:
        return k8s.core.v1.EnvVarSourceArgs(secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=name, key=key))

    env = [
        k8s.core.v1.EnvVarArgs(name="PGHOST", value=args.primary_host),
        k8s.core.v1.EnvVarArgs(name="PGPORT", value=pulumi.Output.from_input(args.port).apply(str)),
        k8s.core.v1.EnvVarArgs(name="PGDATABASE", value=args.database_name),
        k8s.core.v1.EnvVarArgs(name="PGSSLMODE", value="verify-full"),
        k8s.core.v1.EnvVarArgs(name="PGSSLROOTCERT", value=f"/sql/{CA_KEY}"),
        k8s.core.v1.EnvVarArgs(name="PGCONNECT_TIMEOUT", value="10"),
        k8s.core.v1.EnvVarArgs(name="PGUSER", value_from=from_secret(master_name, "username")),
        k8s.core.v1.EnvVarArgs(name="PGPASSWORD", value_from=from_secret(master_name, "password")),
        *(
            k8s.core.v1.EnvVarArgs(
                name=f"APP_PASSWORD_{login.value.upper()}",
                value_from=from_secret(passwords_name, f"APP_PASSWORD_{login.value.upper()}"),
            )
            for login in Login
        ),
    ]
    return k8s.core.v1.PodSpecArgs(
        restart_policy="OnFailure",
        automount_service_account_token=False,
        security_context=k8s.core.v1.PodSecurityContextArgs(
            run_as_non_root=True,
            run_as_user=70,
            run_as_group=70,
            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
        ),
        containers=[
            k8s.core.v1.ContainerArgs(
                name="psql",
                image=cfg.psql_image,
                command=["sh", "-c", setup_script(cfg)],
                env=env,
                volume_mounts=[k8s.core.v1.VolumeMountArgs(name="files", mount_path="/sql", read_only=True)],
                resources=k8s.core.v1.ResourceRequirementsArgs(
                    requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "250m", "memory": "128Mi"}
                ),
                security_context=k8s.core.v1.SecurityContextArgs(
                    allow_privilege_escalation=False,
                    read_only_root_filesystem=True,
                    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                ),
            )
        ],
        volumes=[
            k8s.core.v1.VolumeArgs(name="files", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=files_name))
        ],
    )
