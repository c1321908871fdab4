"""PgBouncer on EKS, between the workloads and the RDS PostgreSQL primary and read replicas.

Design: one Deployment per pool role (``rw`` to the primary, ``ro`` to the read replicas),
each with its own ConfigMap, ClusterIP Service, PodDisruptionBudget and CPU autoscaler.
PgBouncer listens on a single port, so "one Deployment, two ports" is not an option; two
Deployments keep a read burst from starving the write pool of PgBouncer's single CPU
thread, let an application choose the pool by host name alone (both pools expose the
database under its real name), and make each pool's connection budget a simple product.

Credentials never pass through Pulumi: External Secrets (Helm release, pinned chart)
copies the RDS-managed master secret into a Kubernetes Secret with an IRSA role that can
read exactly that secret, and Reloader rolls the pods when it changes (docs/pgbouncer.md).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.compute.irsa import ROLE_ARN_ANNOTATION, ClusterOidc, ServiceAccountRoleArgs
from infra.config.pgbouncer import Login, MetricsConfig, PgBouncerConfig, ResourcesConfig
from infra.helm import Chart, helm_release
from infra.naming import Service, physical_name
from infra.pgbouncer import metrics
from infra.pgbouncer.ini import INI_PATH, LISTEN_PORT, POD_FILES, PoolRole, ServerEndpoint, pool_size, render_ini
from infra.secrets.policy import secret_reader_statements
from infra.tagging import kubernetes_labels, with_name

RDS_CA_DIR = Path(__file__).resolve().parent / "rds_ca"
RUN_AS_ID = 65532
"""An unprivileged UID/GID owning nothing in the image: PgBouncer only reads its files."""
EXTERNAL_SECRETS_REPO = "https://charts.external-secrets.io"
RELOADER_REPO = "https://stakater.github.io/stakater-charts"
CERT_MANAGER_REPO = "https://charts.jetstack.io"
RELOAD_ANNOTATION = "secret.reloader.stakater.com/reload"
CONFIG_CHECKSUM_ANNOTATION = "scaleplan.io/config-sha256"
USERLIST_KEY = "userlist.txt"
# RDS-managed master passwords never contain '"', so the ini-style quoting is safe.
USERLIST_TEMPLATE = '"{{ .username }}" "{{ .password }}"\n'
IRSA_SKIP_CONTAINERS_ANNOTATION = "eks.amazonaws.com/skip-containers"
"""The EKS Pod Identity Webhook gives the IRSA token to every container but those named here."""
PGBOUNCER_CONTAINER = "pgbouncer"
EXPORTER_CONTAINER = "pgbouncer-exporter"
AGENT_CONTAINER = "cloudwatch-agent"
AGENT_CONFIG_FILE = "cwagentconfig.json"
AGENT_WRITABLE_DIRS = (
    "/opt/aws/amazon-cloudwatch-agent/etc",
    "/opt/aws/amazon-cloudwatch-agent/logs",
    "/opt/aws/amazon-cloudwatch-agent/var",
    "/tmp",
)
"""Where the agent writes (its translated config, its own log, its state) under a read-only root."""


RDS_CA_BUNDLE = RDS_CA_DIR / "global-bundle.pem"
"""AWS's global RDS CA bundle: every commercial region's CAs (provenance in rds_ca/SOURCE.md)."""


def rds_ca_bundle() -> str:
    """The Amazon RDS certificate authorities of every region (PEM): RDS server certificates of
    any region verify against it, so a phase moved to another region needs no file of its own."""
    return RDS_CA_BUNDLE.read_text(encoding="ascii")


def userlist_template(logins: Sequence[str]) -> str:
    """The auth_file as an External Secrets template: the master's line, then one per
    application login (its password is the property of the same name in the logins secret)."""
    return USERLIST_TEMPLATE + "".join(f'"{login}" "{{{{ .{login} }}}}"\n' for login in logins)


def secret_reader_policy(
    secret_arn: str,
    kms_key_arn: str | None,
    region: str,
    extra_statements: Sequence[dict[str, object]] = (),
) -> str:
    """IAM policy: read exactly the master secret (and the application logins' secret, when
    given), decrypting only through Secrets Manager."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadRdsMasterSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn,
        }
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "DecryptRdsMasterSecret",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            }
        )
    statements.extend(extra_statements)
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _ini_text(values: list[Any], *, config: PgBouncerConfig, role: PoolRole, database: str) -> str:
    """``[port, host, ...]`` -> the rendered ini of ``role``."""
    endpoint = ServerEndpoint(hosts=tuple(str(host) for host in values[1:]), port=int(values[0]), database=database)
    return render_ini(config, role, endpoint).text()


def config_checksum(ini_text: str) -> str:
    return hashlib.sha256(ini_text.encode()).hexdigest()


def log_group_name(environment: str) -> str:
    """The pool metrics' log group: ``/ftw-prod-pgbouncer-metrics``."""
    return "/" + physical_name(environment, "pgbouncer", "metrics", service=Service.LOG_GROUP)


@dataclass(frozen=True, kw_only=True)
class PgBouncerArgs:
    config: PgBouncerConfig
    environment: str
    region: str
    tags: Mapping[str, str]
    provider: k8s.Provider
    """The cluster's Kubernetes provider, created once in the composition module."""
    oidc: ClusterOidc
    """The cluster's OIDC provider, which the credentials-reader IRSA role trusts."""
    primary_host: pulumi.Input[str]
    replica_hosts: Sequence[pulumi.Input[str]] = ()
    port: pulumi.Input[int] = 5432
    database_name: str
    master_secret_arn: pulumi.Input[str]
    """The RDS-managed master user secret (JSON with ``username`` and ``password``)."""
    master_secret_kms_key_arn: pulumi.Input[str] | None = None
    """Its CMK; ``None`` when RDS uses the AWS-managed ``aws/secretsmanager`` key."""
    server_ca_bundle_pem: str
    """Roots that sign the RDS server certificates (:func:`rds_ca_bundle`)."""
    account_id: pulumi.Input[str] | None = None
    application_logins_secret_name: str | None = None
    """Secret holding each application login's password (a property per login), created by
    :class:`~infra.database.identity.ApplicationDatabaseIdentity`; ``None``: master only."""
    application_logins_kms_key_arn: pulumi.Input[str] | None = None
    cluster_name: str = ""
    """The EKS cluster's name: the ``ClusterName`` dimension of the pool metrics."""
    logs_kms_key_arn: pulumi.Input[str] | None = None
    """CMK of the pool metrics' log group (required with ``config.metrics``)."""
    after: Sequence[pulumi.Resource] = ()
    """What every in-cluster object here waits for: the AWS Load Balancer Controller's
    release, whose webhook fails closed on the Services these charts and pools create
    (a component's ``depends_on`` is not handed down to its children)."""


class PgBouncer(pulumi.ComponentResource):
    """PgBouncer Deployments (read-write and, with read replicas, read-only) and their plumbing.

    Defaults: TLS to RDS with ``verify-full`` against the RDS CA bundle, TLS required from
    clients, SCRAM authentication, non-root read-only pods with no capabilities and the
    runtime's seccomp profile, Pod Security ``restricted`` on the namespace, no AWS
    credentials in the PgBouncer pods.
    """

    namespace: pulumi.Output[str]
    """The namespace PgBouncer runs in."""
    service_hosts: dict[str, pulumi.Output[str]]
    """In-cluster DNS name of each pool's Service, by role (``rw``, ``ro``)."""
    credentials_role_arn: pulumi.Output[str]
    """The IRSA role External Secrets assumes to read the master secret."""
    external_secrets_release: k8s.helm.v3.Release
    """The External Secrets operator (and its CRDs): other namespaces' stores depend on it."""
    secret_store: k8s.apiextensions.CustomResource
    """The namespace's ``SecretStore`` (its role reads the master secret and the application logins)."""
    secret_store_name: str
    metrics_log_group_name: str | None
    """The log group the pool metrics arrive in (``None`` without ``config.metrics``)."""
    metrics_role_arn: pulumi.Output[str] | None
    """The IRSA role of the pods' CloudWatch agent (``None`` without ``config.metrics``)."""
    pool_sizes: dict[str, int]
    """``default_pool_size`` of each pool role this component runs (``rw``, and ``ro`` with replicas)."""

    def __init__(self, name: str, args: PgBouncerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:database:PgBouncer", name, None, opts)
        cfg = args.config
        on_k8s = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=list(args.after))
        labels = kubernetes_labels(args.tags)

        def k8s_name(*parts: str) -> str:
            return physical_name(args.environment, "pgbouncer", *parts, service=Service.KUBERNETES)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=cfg.namespace,
                labels={
                    **labels,
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            ),
            opts=on_k8s,
        )
        ns = namespace.metadata.name

        # --- credentials: External Secrets with an IRSA role for exactly the master secret
        external_secrets = helm_release(
            f"{name}-external-secrets",
            release="external-secrets",
            chart=Chart("external-secrets", cfg.external_secrets_chart_version, EXTERNAL_SECRETS_REPO),
            namespace="external-secrets",
            create_namespace=True,
            values={"installCRDs": True},
            opts=on_k8s,
        )
        self.external_secrets_release = external_secrets
        reloader = helm_release(
            f"{name}-reloader",
            release="reloader",
            chart=Chart("reloader", cfg.reloader_chart_version, RELOADER_REPO),
            namespace="reloader",
            create_namespace=True,
            # Only Deployments that name a Secret in their annotation are rolled.
            values={"reloader": {"autoReloadAll": False, "reloadOnCreate": False}},
            opts=on_k8s,
        )
        secrets_account = k8s_name("secrets")
        identity = cfg.application_identity
        logins = (
            [identity.login_name(login) for login in Login]
            if identity is not None and args.application_logins_secret_name is not None
            else []
        )
        policy = pulumi.Output.all(
            args.master_secret_arn, args.master_secret_kms_key_arn, args.account_id, args.application_logins_kms_key_arn
        ).apply(
            lambda values: secret_reader_policy(
                values[0],
                values[1],
                args.region,
                secret_reader_statements(
                    region=args.region,
                    account_id=str(values[2]),
                    secret_names=[args.application_logins_secret_name],
                    kms_key_arns=[values[3]] if values[3] else [],
                    sid="ApplicationLogins",
                )
                if logins and args.application_logins_secret_name is not None
                else (),
            )
        )
        reader_role = args.oidc.service_account_role(
            f"{name}-secrets",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace=cfg.namespace,
                service_account=secrets_account,
                policy_json=policy,
                tags=args.tags,
            ),
            parent=self,
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-secrets-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=secrets_account,
                namespace=ns,
                labels=labels,
                annotations={ROLE_ARN_ANNOTATION: reader_role.arn},
            ),
            automount_service_account_token=False,
            opts=on_k8s,
        )
        store_name = k8s_name("rds")
        store = k8s.apiextensions.CustomResource(
            f"{name}-secret-store",
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=store_name, namespace=ns, labels=labels),
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": args.region,
                        "auth": {"jwt": {"serviceAccountRef": {"name": secrets_account}}},
                    }
                }
            },
            opts=pulumi.ResourceOptions.merge(on_k8s, pulumi.ResourceOptions(depends_on=[external_secrets])),
        )
        self.secret_store = store
        self.secret_store_name = store_name
        credentials_secret = k8s_name("credentials")
        stats = self._stats_login(
            name, cfg.metrics, namespace=ns, labels=labels, secret_name=k8s_name("stats"), opts=on_k8s
        )
        template: pulumi.Input[str] = (
            userlist_template(logins)
            if stats is None
            else stats.userlist_line.apply(lambda line: userlist_template(logins) + line)
        )
        k8s.apiextensions.CustomResource(
            f"{name}-credentials",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=credentials_secret, namespace=ns, labels=labels),
            spec={
                "refreshInterval": f"{cfg.credentials_refresh_seconds}s",
                "secretStoreRef": {"name": store_name, "kind": "SecretStore"},
                "target": {
                    "name": credentials_secret,
                    "creationPolicy": "Owner",
                    "template": {
                        "engineVersion": "v2",
                        "type": "Opaque",
                        "data": {USERLIST_KEY: template},
                    },
                },
                "data": [
                    *(
                        {"secretKey": key, "remoteRef": {"key": args.master_secret_arn, "property": key}}
                        for key in ("username", "password")
                    ),
                    *(
                        {
                            "secretKey": login,
                            "remoteRef": {"key": args.application_logins_secret_name, "property": login},
                        }
                        for login in logins
                    ),
                ],
            },
            opts=pulumi.ResourceOptions.merge(on_k8s, pulumi.ResourceOptions(depends_on=[store])),
        )

        # --- TLS: the RDS roots for the server side, a cert-manager certificate for clients
        server_ca = k8s.core.v1.ConfigMap(
            f"{name}-server-ca",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=k8s_name("server-ca"), namespace=ns, labels=labels),
            data={"ca.pem": args.server_ca_bundle_pem},
            opts=on_k8s,
        )
        roles = [PoolRole.READ_WRITE]
        if cfg.read_only_pool is not None and args.replica_hosts:
            roles.append(PoolRole.READ_ONLY)
        client_tls_secret = k8s_name("client-tls")
        dns_names = [
            host
            for role in roles
            for host in (
                f"{k8s_name(role.value)}.{cfg.namespace}.svc",
                f"{k8s_name(role.value)}.{cfg.namespace}.svc.cluster.local",
            )
        ]
        client_tls = self._client_certificate(
            name, cfg, namespace=ns, labels=labels, secret_name=client_tls_secret, dns_names=dns_names, opts=on_k8s
        )
        self.metrics_log_group_name = None
        self.metrics_role_arn = None
        account_annotations: dict[str, pulumi.Input[str]] = {}
        if cfg.metrics is not None:
            metrics_role = self._metrics_sink(name, args, service_account=k8s_name())
            self.metrics_log_group_name = log_group_name(args.environment)
            self.metrics_role_arn = metrics_role.arn
            account_annotations[ROLE_ARN_ANNOTATION] = metrics_role.arn
        pods_account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=k8s_name(), namespace=ns, labels=labels, annotations=account_annotations or None
            ),
            # No API token in the pods; the IRSA web-identity token (an STS audience token, useless
            # against the Kubernetes API) is projected by EKS into the agent container only.
            automount_service_account_token=False,
            opts=on_k8s,
        )

        self.pool_sizes = {role.value: pool_size(cfg, role) for role in roles}
        self.service_hosts = {}
        for role in roles:
            hosts = [args.primary_host] if role is PoolRole.READ_WRITE else list(args.replica_hosts)
            ini_text = pulumi.Output.all(args.port, *hosts).apply(
                functools.partial(_ini_text, config=cfg, role=role, database=args.database_name)
            )
            self.service_hosts[role.value] = self._pool(
                name,
                role,
                args,
                ini_text=ini_text,
                namespace=ns,
                labels=labels,
                names=_PoolNames(
                    workload=k8s_name(role.value),
                    service_account=pods_account.metadata.name,
                    server_ca=server_ca.metadata.name,
                    credentials=credentials_secret,
                    client_tls=client_tls_secret,
                    stats=k8s_name("stats") if stats is not None else None,
                ),
                opts=pulumi.ResourceOptions.merge(on_k8s, pulumi.ResourceOptions(depends_on=[reloader, client_tls])),
            )

        self.namespace = ns
        self.credentials_role_arn = reader_role.arn
        self.register_outputs(
            {
                "namespace": self.namespace,
                "service_hosts": self.service_hosts,
                "credentials_role_arn": self.credentials_role_arn,
                "metrics_role_arn": self.metrics_role_arn,
            }
        )

    def _stats_login(
        self,
        name: str,
        cfg: MetricsConfig | None,
        *,
        namespace: pulumi.Input[str],
        labels: Mapping[str, str],
        secret_name: str,
        opts: pulumi.ResourceOptions,
    ) -> _StatsLogin | None:
        """The exporter's ``stats_users`` login: a random password in a Secret the exporter reads,
        and its SCRAM verifier (not the password) in PgBouncer's auth_file."""
        if cfg is None:
            return None
        password = random.RandomPassword(
            f"{name}-stats-password", length=40, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        # The SCRAM salt: random and public (it is in the verifier), drawn once like the password.
        salt = random.RandomPassword(
            f"{name}-stats-salt", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        k8s.core.v1.Secret(
            f"{name}-stats",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace, labels=dict(labels)),
            type="Opaque",
            string_data={"password": password.result},
            opts=opts,
        )
        line = pulumi.Output.all(password.result, salt.result).apply(
            lambda values: metrics.stats_userlist_line(cfg.stats_user, str(values[0]), str(values[1]))
        )
        return _StatsLogin(userlist_line=line)

    def _metrics_sink(self, name: str, args: PgBouncerArgs, *, service_account: str) -> aws.iam.Role:
        """The log group the agents write EMF events to, and the IRSA role that may write only there."""
        cfg = args.config.metrics
        if cfg is None or not args.cluster_name or args.logs_kms_key_arn is None:
            raise ValueError("pool metrics need config.metrics, cluster_name and logs_kms_key_arn")
        group_name = log_group_name(args.environment)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-metrics-logs",
            name=group_name,
            retention_in_days=cfg.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=with_name(args.tags, group_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = args.oidc.service_account_role(
            f"{name}-metrics",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace=args.config.namespace,
                service_account=service_account,
                policy_json=log_group.arn.apply(metrics.log_writer_policy),
                tags=args.tags,
            ),
            parent=self,
        )
        return role

    def _client_certificate(
        self,
        name: str,
        cfg: PgBouncerConfig,
        *,
        namespace: pulumi.Input[str],
        labels: Mapping[str, str],
        secret_name: str,
        dns_names: Sequence[str],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        """cert-manager, a private CA in the namespace, and PgBouncer's serving certificate.

        The CA is namespaced (self-signed issuer -> CA certificate -> CA issuer), so nothing
        outside PgBouncer's namespace can get a certificate from it. Clients that verify use
        ``ca.crt`` from the serving certificate's Secret.
        """
        cert_manager = helm_release(
            f"{name}-cert-manager",
            release="cert-manager",
            chart=Chart("cert-manager", cfg.cert_manager_chart_version, CERT_MANAGER_REPO),
            namespace="cert-manager",
            create_namespace=True,
            values={"crds": {"enabled": True}},
            opts=opts,
        )
        after_crds = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[cert_manager]))
        ca_secret = f"{secret_name}-ca"

        def resource(
            logical: str, kind: str, resource_name: str, spec: Mapping[str, Any]
        ) -> k8s.apiextensions.CustomResource:
            return k8s.apiextensions.CustomResource(
                f"{name}-{logical}",
                api_version="cert-manager.io/v1",
                kind=kind,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=resource_name, namespace=namespace, labels=dict(labels)),
                spec=dict(spec),
                opts=after_crds,
            )

        resource("self-signed", "Issuer", f"{secret_name}-self-signed", {"selfSigned": {}})
        resource(
            "client-tls-ca",
            "Certificate",
            ca_secret,
            {
                "isCA": True,
                "commonName": ca_secret,
                "secretName": ca_secret,
                "duration": "87600h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"name": f"{secret_name}-self-signed", "kind": "Issuer", "group": "cert-manager.io"},
            },
        )
        resource("ca-issuer", "Issuer", ca_secret, {"ca": {"secretName": ca_secret}})
        return resource(
            "client-tls",
            "Certificate",
            secret_name,
            {
                "secretName": secret_name,
                "dnsNames": list(dns_names),
                "duration": "2160h",
                "renewBefore": "360h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "issuerRef": {"name": ca_secret, "kind": "Issuer", "group": "cert-manager.io"},
            },
        )

    def _pool(
        self,
        name: str,
        role: PoolRole,
        args: PgBouncerArgs,
        *,
        ini_text: pulumi.Output[str],
        namespace: pulumi.Input[str],
        labels: Mapping[str, str],
        names: _PoolNames,
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        """ConfigMap, Deployment, Service, PodDisruptionBudget and autoscaler of one pool."""
        cfg = args.config
        selector = {"app.kubernetes.io/name": "pgbouncer", "app.kubernetes.io/component": role.value}
        pool_labels = {**labels, **selector}
        metrics_config: pulumi.Output[str] | None = None
        if cfg.metrics is not None and self.metrics_log_group_name is not None:
            agent_json = metrics.agent_config(
                cluster_name=args.cluster_name,
                log_group_name=self.metrics_log_group_name,
                database=args.database_name,
                region=args.region,
            )
            scrape = metrics.prometheus_scrape_config(role, interval_seconds=cfg.metrics.scrape_interval_seconds)
            digest = config_checksum(agent_json + scrape)[:10]
            metrics_config = k8s.core.v1.ConfigMap(
                f"{name}-{role.value}-metrics-config",
                # Named after its content, like the ini's ConfigMap below, for the same reason.
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"{names.workload}-metrics-{digest}", namespace=namespace, labels=pool_labels
                ),
                data={AGENT_CONFIG_FILE: agent_json, Path(metrics.PROMETHEUS_CONFIG_PATH).name: scrape},
                opts=opts,
            ).metadata.name
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-{role.value}-config",
            # Named after its content: a changed ini is a new ConfigMap created beside the one
            # the running pods mount (the Deployment then rolls to it), not a delete-first
            # replacement under a fixed name (the provider replaces a ConfigMap on data change).
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=ini_text.apply(lambda text: f"{names.workload}-{config_checksum(text)[:10]}"),
                namespace=namespace,
                labels=pool_labels,
            ),
            data={"pgbouncer.ini": ini_text},
            opts=opts,
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-{role.value}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=names.workload,
                namespace=namespace,
                labels=pool_labels,
                annotations={RELOAD_ANNOTATION: f"{names.credentials},{names.client_tls}"},
            ),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=cfg.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # Never more pods than the autoscaler's maximum, which the connection budget counts.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_surge=0, max_unavailable=1),
                ),
                template=_pod_template(
                    cfg,
                    labels=pool_labels,
                    selector=selector,
                    checksum=ini_text.apply(config_checksum),
                    names=names,
                    config_map=config_map.metadata.name,
                    metrics_config=metrics_config,
                ),
            ),
            # The autoscaler owns the replica count after creation.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])),
        )
        service = k8s.core.v1.Service(
            f"{name}-{role.value}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=names.workload, namespace=namespace, labels=pool_labels),
            spec=k8s.core.v1.ServiceSpecArgs(
                type="ClusterIP",
                selector=selector,
                ports=[
                    k8s.core.v1.ServicePortArgs(
                        name="postgres", port=LISTEN_PORT, target_port="pgbouncer", protocol="TCP"
                    )
                ],
            ),
            opts=opts,
        )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{role.value}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=names.workload, namespace=namespace, labels=pool_labels),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                max_unavailable=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)
            ),
            opts=opts,
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-{role.value}-hpa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=names.workload, namespace=namespace, labels=pool_labels),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(
                    api_version="apps/v1", kind="Deployment", name=deployment.metadata.name
                ),
                min_replicas=cfg.autoscaling.min_replicas,
                max_replicas=cfg.autoscaling.max_replicas,
                metrics=[
                    # PgBouncer's own CPU, not the pod's: the metrics sidecars' requests would
                    # otherwise dilute the utilisation the autoscaler follows.
                    k8s.autoscaling.v2.MetricSpecArgs(
                        type="ContainerResource",
                        container_resource=k8s.autoscaling.v2.ContainerResourceMetricSourceArgs(
                            container=PGBOUNCER_CONTAINER,
                            name="cpu",
                            target=k8s.autoscaling.v2.MetricTargetArgs(
                                type="Utilization",
                                average_utilization=cfg.autoscaling.target_cpu_utilization_percent,
                            ),
                        ),
                    )
                ],
            ),
            opts=opts,
        )
        return pulumi.Output.concat(service.metadata.name, ".", namespace, ".svc")


@dataclass(frozen=True, kw_only=True)
class _PoolNames:
    workload: str
    service_account: pulumi.Input[str]
    server_ca: pulumi.Input[str]
    credentials: str
    client_tls: str
    stats: str | None = None
    """The Secret with the exporter's password; ``None`` without pool metrics."""


@dataclass(frozen=True, kw_only=True)
class _StatsLogin:
    userlist_line: pulumi.Output[str]
    """The exporter's auth_file line (its SCRAM verifier)."""


def _resources(resources: ResourcesConfig) -> k8s.core.v1.ResourceRequirementsArgs:
    return k8s.core.v1.ResourceRequirementsArgs(
        requests={"cpu": f"{resources.cpu_request_millicores}m", "memory": f"{resources.memory_request_mib}Mi"},
        limits={"cpu": f"{resources.cpu_limit_millicores}m", "memory": f"{resources.memory_limit_mib}Mi"},
    )


def _restricted(run_as: int | None = None) -> k8s.core.v1.SecurityContextArgs:
    """Every container's: non-root, read-only root, no privilege escalation, no capabilities.
    ``run_as`` pins the sidecars' user too: their images' own ``USER`` may be root, and a
    container's setting does not depend on the pod's staying as it is."""
    return k8s.core.v1.SecurityContextArgs(
        run_as_non_root=True,
        run_as_user=run_as,
        run_as_group=run_as,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        privileged=False,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )


def _metrics_containers(
    cfg: MetricsConfig, *, stats_secret: str
) -> tuple[list[k8s.core.v1.ContainerArgs], list[k8s.core.v1.VolumeArgs]]:
    """The exporter and the CloudWatch agent. Neither listens beyond loopback, so neither has a
    container port or a probe (the kubelet probes the pod IP): a dead exporter shows as the pool
    metrics going missing, which the clients-waiting alarm reports (INSUFFICIENT_DATA)."""
    exporter = k8s.core.v1.ContainerArgs(
        name=EXPORTER_CONTAINER,
        image=cfg.exporter_image,
        image_pull_policy="IfNotPresent",
        args=[f"--web.listen-address=127.0.0.1:{metrics.EXPORTER_PORT}"],
        env=[
            k8s.core.v1.EnvVarArgs(
                name=metrics.STATS_PASSWORD_ENV,
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=stats_secret, key="password")
                ),
            ),
            # Kubernetes expands $(PGBOUNCER_STATS_PASSWORD) from the variable above.
            k8s.core.v1.EnvVarArgs(
                name=metrics.CONNECTION_STRING_ENV, value=metrics.exporter_connection_string(cfg.stats_user)
            ),
        ],
        resources=_resources(cfg.exporter_resources),
        security_context=_restricted(RUN_AS_ID),
    )
    writable = [(f"agent-scratch-{index}", path) for index, path in enumerate(AGENT_WRITABLE_DIRS)]
    agent = k8s.core.v1.ContainerArgs(
        name=AGENT_CONTAINER,
        image=cfg.agent_image,
        image_pull_policy="IfNotPresent",
        resources=_resources(cfg.agent_resources),
        security_context=_restricted(RUN_AS_ID),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="agent-config", mount_path=metrics.AGENT_CONFIG_DIR, read_only=True),
            k8s.core.v1.VolumeMountArgs(
                name="prometheus-config",
                mount_path=str(Path(metrics.PROMETHEUS_CONFIG_PATH).parent),
                read_only=True,
            ),
            *(k8s.core.v1.VolumeMountArgs(name=volume, mount_path=path) for volume, path in writable),
        ],
    )
    volumes = [
        *(
            k8s.core.v1.VolumeArgs(name=volume, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi"))
            for volume, _ in writable
        ),
    ]
    return [exporter, agent], volumes


def _pod_template(
    cfg: PgBouncerConfig,
    *,
    labels: Mapping[str, str],
    selector: Mapping[str, str],
    checksum: pulumi.Input[str],
    names: _PoolNames,
    config_map: pulumi.Input[str],
    metrics_config: pulumi.Input[str] | None = None,
) -> k8s.core.v1.PodTemplateSpecArgs:
    sidecars: list[k8s.core.v1.ContainerArgs] = []
    sidecar_volumes: list[k8s.core.v1.VolumeArgs] = []
    annotations: dict[str, pulumi.Input[str]] = {CONFIG_CHECKSUM_ANNOTATION: checksum}
    if cfg.metrics is not None and metrics_config is not None and names.stats is not None:
        sidecars, sidecar_volumes = _metrics_containers(cfg.metrics, stats_secret=names.stats)
        sidecar_volumes += [
            k8s.core.v1.VolumeArgs(
                name=volume,
                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                    name=metrics_config, default_mode=0o444, items=[k8s.core.v1.KeyToPathArgs(key=key, path=key)]
                ),
            )
            for volume, key in (
                ("agent-config", AGENT_CONFIG_FILE),
                ("prometheus-config", Path(metrics.PROMETHEUS_CONFIG_PATH).name),
            )
        ]
        # Only the agent writes to AWS: PgBouncer and the exporter get no AWS credentials.
        annotations[IRSA_SKIP_CONTAINERS_ANNOTATION] = f"{PGBOUNCER_CONTAINER},{EXPORTER_CONTAINER}"
    probe_port = k8s.core.v1.TCPSocketActionArgs(port="pgbouncer")
    mounts = [
        ("config", str(Path(INI_PATH).parent)),
        ("auth", str(Path(POD_FILES.auth_file).parent)),
        ("server-ca", str(Path(POD_FILES.server_ca_file).parent)),
        ("client-tls", str(Path(POD_FILES.client_cert_file).parent)),
    ]
    spread = [
        # Zones strictly (an AZ outage must leave pods), hosts as far as the nodes allow.
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key=key,
            when_unsatisfiable=when,
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        )
        for key, when in (
            ("topology.kubernetes.io/zone", "DoNotSchedule"),
            ("kubernetes.io/hostname", "ScheduleAnyway"),
        )
    ]
    return k8s.core.v1.PodTemplateSpecArgs(
        metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(labels), annotations=annotations),
        spec=k8s.core.v1.PodSpecArgs(
            service_account_name=names.service_account,
            automount_service_account_token=False,
            enable_service_links=False,
            termination_grace_period_seconds=30,
            security_context=k8s.core.v1.PodSecurityContextArgs(
                run_as_non_root=True,
                run_as_user=RUN_AS_ID,
                run_as_group=RUN_AS_ID,
                fs_group=RUN_AS_ID,
                seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
            ),
            topology_spread_constraints=spread,
            # The digest names one architecture's manifest: never schedule it on another.
            node_selector={"kubernetes.io/arch": cfg.image_architecture.value},
            containers=[
                k8s.core.v1.ContainerArgs(
                    name=PGBOUNCER_CONTAINER,
                    image=cfg.image,
                    image_pull_policy="IfNotPresent",
                    command=["pgbouncer", INI_PATH],
                    ports=[k8s.core.v1.ContainerPortArgs(name="pgbouncer", container_port=LISTEN_PORT, protocol="TCP")],
                    readiness_probe=k8s.core.v1.ProbeArgs(
                        tcp_socket=probe_port, period_seconds=5, failure_threshold=2, timeout_seconds=2
                    ),
                    liveness_probe=k8s.core.v1.ProbeArgs(
                        tcp_socket=probe_port,
                        initial_delay_seconds=10,
                        period_seconds=10,
                        failure_threshold=3,
                        timeout_seconds=2,
                    ),
                    resources=_resources(cfg.resources),
                    security_context=_restricted(),
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name=volume, mount_path=path, read_only=True)
                        for volume, path in mounts
                    ],
                ),
                *sidecars,
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name="config", config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=config_map, default_mode=0o444)
                ),
                k8s.core.v1.VolumeArgs(
                    name="auth",
                    secret=k8s.core.v1.SecretVolumeSourceArgs(
                        secret_name=names.credentials,
                        default_mode=0o440,
                        items=[k8s.core.v1.KeyToPathArgs(key=USERLIST_KEY, path=Path(POD_FILES.auth_file).name)],
                    ),
                ),
                k8s.core.v1.VolumeArgs(
                    name="server-ca",
                    config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(name=names.server_ca, default_mode=0o444),
                ),
                k8s.core.v1.VolumeArgs(
                    name="client-tls",
                    secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=names.client_tls, default_mode=0o440),
                ),
                *sidecar_volumes,
            ],
        ),
    )
