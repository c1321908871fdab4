"""``scaleplan:pgbouncer``: the connection pooler between the EKS workloads and PostgreSQL.

Absent in phases without EKS (the application connects to RDS directly there). The pool
numbers are the seed's FlowForge baseline; the cross-check that every PgBouncer replica's
server connections fit the database's ``max_connections`` lives in :mod:`infra.pgbouncer.budget`
and is applied by the root model, which sees the database too.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated

from pydantic import Field, model_validator

from infra.config.base import ConfigModel
from infra.config.errors import field_error
from infra.config.network import LOG_RETENTION_DAYS
from infra.config.sizing import PgBouncerSizing

IMAGE_BY_DIGEST = re.compile(
    r"^[a-z0-9]([a-z0-9._/-]*[a-z0-9])?"  # registry/repository
    r"(:[0-9A-Za-z][0-9A-Za-z._-]{0,127})?"  # optional tag, for humans
    r"@sha256:[0-9a-f]{64}$"
)
"""``registry/repository[:tag]@sha256:<digest>``: pinned by digest, so a re-pushed tag can
never change what runs (the tag is kept only for humans)."""

KubernetesName = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
"""An RFC 1123 label: what Kubernetes allows for a namespace name."""

PoolSize = Annotated[int, Field(ge=0, le=1000)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]


class ImageArchitecture(enum.StrEnum):
    """CPU architecture of the pinned image (Kubernetes ``kubernetes.io/arch`` values)."""

    ARM64 = "arm64"
    AMD64 = "amd64"

    @property
    def catalog_name(self) -> str:
        """The name infra/catalog/ec2_instance_types.yaml uses."""
        return "x86_64" if self is ImageArchitecture.AMD64 else "arm64"


class PoolMode(enum.StrEnum):
    """When a server connection goes back to the pool (PgBouncer's ``pool_mode``)."""

    TRANSACTION = "transaction"
    """After each transaction: many clients share few server connections. Session state
    (SET, advisory locks, LISTEN, WITH HOLD cursors) does not survive between transactions."""
    SESSION = "session"
    """When the client disconnects: full PostgreSQL semantics, one server connection per client."""


class ServerTlsMode(enum.StrEnum):
    """TLS from PgBouncer to PostgreSQL (``server_tls_sslmode``); only modes that encrypt."""

    REQUIRE = "require"
    VERIFY_CA = "verify-ca"
    VERIFY_FULL = "verify-full"
    """Checks the RDS certificate chain *and* that the host name matches: the default."""


class ClientTlsMode(enum.StrEnum):
    """TLS from the applications to PgBouncer (``client_tls_sslmode``)."""

    DISABLE = "disable"
    ALLOW = "allow"
    PREFER = "prefer"
    REQUIRE = "require"


class AutoscalingConfig(ConfigModel):
    """The HorizontalPodAutoscaler on CPU. ``max_replicas`` bounds the connection budget."""

    min_replicas: Annotated[int, Field(ge=2, le=100)]
    max_replicas: Annotated[int, Field(ge=2, le=100)]
    target_cpu_utilization_percent: Annotated[int, Field(ge=10, le=95)] = 70

    @model_validator(mode="after")
    def _ordered(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise field_error(
                "min_replicas", f"must be <= max_replicas ({self.max_replicas}) (got {self.min_replicas})"
            )
        return self


class ReadOnlyPoolConfig(ConfigModel):
    """The pool to the read replicas, per PgBouncer replica and per replica target."""

    default_pool_size: Annotated[int, Field(ge=1, le=1000)]
    min_pool_size: PoolSize
    reserve_pool_size: PoolSize
    replicas_down_tolerated: Annotated[int, Field(ge=0, le=15)] | None = None
    """Read replicas that may be down while the connection budget still holds on the others.

    PgBouncer opens each new server connection to the next replica host in turn (round-robin),
    so with ``n`` replicas up each takes about ``1/n`` of the pool. ``None`` (the default)
    budgets for all but one replica down: each replica alone must take the whole pool. A
    number ``k`` budgets each replica for the pool spread over ``read_replica_count - k``:
    while more than ``k`` are down, the survivors refuse the excess connections (PgBouncer
    retries on the next host, clients wait in its queue) instead of the pool fitting.
    """

    @model_validator(mode="after")
    def _min_within_default(self) -> ReadOnlyPoolConfig:
        _check_min_pool(self.min_pool_size, self.default_pool_size)
        return self


class ResourcesConfig(ConfigModel):
    """Requests and limits of the PgBouncer container. PgBouncer is single-threaded, so
    more than one CPU per pod buys nothing: scale out with replicas instead."""

    cpu_request_millicores: Annotated[int, Field(ge=50, le=1000)]
    cpu_limit_millicores: Annotated[int, Field(ge=50, le=1000)]
    memory_request_mib: Annotated[int, Field(ge=32, le=4096)]
    memory_limit_mib: Annotated[int, Field(ge=32, le=4096)]

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ResourcesConfig:
        if self.cpu_request_millicores > self.cpu_limit_millicores:
            raise field_error(
                "cpu_request_millicores",
                f"must be <= cpu_limit_millicores ({self.cpu_limit_millicores}) (got {self.cpu_request_millicores})",
            )
        if self.memory_request_mib > self.memory_limit_mib:
            raise field_error(
                "memory_request_mib",
                f"must be <= memory_limit_mib ({self.memory_limit_mib}) (got {self.memory_request_mib})",
            )
        return self


PgName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,40}$")]


class MetricsConfig(ConfigModel):
    """Pool metrics into CloudWatch: two sidecars in every PgBouncer pod (docs/pgbouncer.md).

    ``pgbouncer_exporter`` reads PgBouncer's admin console over loopback as a ``stats_users``
    login (SHOW commands only) and serves Prometheus text on loopback; the CloudWatch agent
    scrapes it and sends the selected pool gauges as embedded-metric-format log events to one
    log group, from which CloudWatch extracts the metrics (no ``PutMetricData``).
    """

    exporter_image: Annotated[str, Field(min_length=1, max_length=512)]
    """prometheus-community/pgbouncer_exporter, pinned by digest."""
    agent_image: Annotated[str, Field(min_length=1, max_length=512)]
    """The CloudWatch agent, pinned by digest."""
    exporter_resources: ResourcesConfig
    agent_resources: ResourcesConfig
    scrape_interval_seconds: Annotated[int, Field(ge=10, le=60)] = 60
    """How often the agent scrapes; 60 s matches the alarms' one-minute periods."""
    log_retention_days: int = 30
    """How long the EMF log events are kept; the metrics extracted from them are CloudWatch's own."""
    stats_user: PgName = "pgbouncer_stats"
    """The exporter's login: listed in ``stats_users`` only, so it can run SHOW and nothing else."""

    @model_validator(mode="after")
    def _pinned_and_kept(self) -> MetricsConfig:
        for key in ("exporter_image", "agent_image"):
            value = getattr(self, key)
            if not IMAGE_BY_DIGEST.match(value):
                raise field_error(
                    key,
                    "must be pinned by digest, as registry/repository[:tag]@sha256:<64 hex digits> "
                    f"(got {value!r}); find the digest with `crane digest <image>:<tag>`",
                )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise field_error(
                "log_retention_days",
                f"must be a CloudWatch Logs retention period, one of {', '.join(map(str, LOG_RETENTION_DAYS))} "
                f"(got {self.log_retention_days})",
            )
        return self


class Login(enum.StrEnum):
    """The application's two alternating database logins (``<role>_a``, ``<role>_b``)."""

    A = "a"
    B = "b"


class ApplicationIdentityConfig(ConfigModel):
    """The application's least-privilege database identity, made by a one-shot Job.

    ``role`` owns the application's schema and cannot log in; two logins act as it and
    alternate on rotation: raise the standby login's generation (new password, both known to
    PgBouncer), wait one ``credentials_refresh_seconds``, then switch ``active_login``.
    """

    role: PgName = "app"
    schema_name: PgName = "app"
    active_login: Login = Login.A
    """The login the application's secret names."""
    password_generations: dict[Login, Annotated[int, Field(ge=1)]]
    """Raise one to give that login a new password (the standby one: never the active)."""
    psql_image: Annotated[str, Field(min_length=1, max_length=512)]
    """A PostgreSQL client image pinned by digest; the Job runs ``psql`` from it."""

    @model_validator(mode="after")
    def _pinned_and_both_logins(self) -> ApplicationIdentityConfig:
        if not IMAGE_BY_DIGEST.match(self.psql_image):
            raise field_error(
                "psql_image",
                "must be pinned by digest, as registry/repository[:tag]@sha256:<64 hex digits> "
                f"(got {self.psql_image!r})",
            )
        missing = [login.value for login in Login if login not in self.password_generations]
        if missing:
            raise field_error(
                "password_generations", f"needs a generation for each login a and b (missing {', '.join(missing)})"
            )
        return self

    def login_name(self, login: Login) -> str:
        return f"{self.role}_{login.value}"


class PgBouncerConfig(ConfigModel):
    image: Annotated[str, Field(min_length=1, max_length=512)]
    image_architecture: ImageArchitecture
    """The architecture of the manifest the digest names: pods are scheduled only on such
    nodes, and some node pool must have it."""
    namespace: KubernetesName = "pgbouncer"
    replicas: Annotated[int, Field(ge=2, le=100)]
    """Replicas at creation; the autoscaler moves them between its bounds afterwards."""
    autoscaling: AutoscalingConfig
    pool_mode: PoolMode
    max_client_conn: Annotated[int, Field(ge=1, le=100_000)]
    """Client connections one PgBouncer replica accepts."""
    default_pool_size: Annotated[int, Field(ge=1, le=1000)]
    """Server connections one replica keeps to the primary (read-write pool)."""
    min_pool_size: PoolSize
    reserve_pool_size: PoolSize
    """Extra server connections a replica may open when clients wait longer than
    ``reserve_pool_timeout_seconds``; counted in the connection budget."""
    reserve_pool_timeout_seconds: Annotated[int, Field(ge=0, le=3600)]
    server_lifetime_seconds: Annotated[int, Field(ge=60, le=86_400)]
    server_idle_timeout_seconds: Seconds
    read_only_pool: ReadOnlyPoolConfig | None = None
    sizing: PgBouncerSizing
    """Transactions per request and their length; the pools are checked against the peak with it."""
    """Pool to the read replicas; ``None`` when the database has none."""
    resources: ResourcesConfig
    server_tls_mode: ServerTlsMode = ServerTlsMode.VERIFY_FULL
    client_tls_mode: ClientTlsMode = ClientTlsMode.REQUIRE
    """The serving certificate comes from a private CA that cert-manager keeps in the namespace."""
    credentials_refresh_seconds: Annotated[int, Field(ge=60, le=86_400)] = 300
    """How often External Secrets re-reads the RDS-managed secret; bounds how long PgBouncer
    may run with a rotated-away password (see docs/pgbouncer.md)."""
    external_secrets_chart_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = "0.20.4"
    reloader_chart_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")] = "2.2.5"
    cert_manager_chart_version: Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+$")] = "v1.16.2"
    application_identity: ApplicationIdentityConfig | None = None
    """The application's own database logins (docs/pgbouncer.md); ``None``: only the master user."""
    metrics: MetricsConfig | None = None
    """Pool metrics into CloudWatch (exporter and agent sidecars); ``None``: no pool metrics, no pool alarms."""

    @model_validator(mode="after")
    def _image_pinned(self) -> PgBouncerConfig:
        if not IMAGE_BY_DIGEST.match(self.image):
            raise field_error(
                "image",
                "must be pinned by digest, as registry/repository[:tag]@sha256:<64 hex digits> "
                f"(got {self.image!r}); find the digest with `crane digest <image>:<tag>`",
            )
        return self

    @model_validator(mode="after")
    def _sizes_consistent(self) -> PgBouncerConfig:
        _check_min_pool(self.min_pool_size, self.default_pool_size)
        autoscaling = self.autoscaling
        if not autoscaling.min_replicas <= self.replicas <= autoscaling.max_replicas:
            raise field_error(
                "replicas",
                f"must be between autoscaling.min_replicas {autoscaling.min_replicas} and "
                f"autoscaling.max_replicas {autoscaling.max_replicas} (got {self.replicas})",
            )
        if self.server_idle_timeout_seconds > self.server_lifetime_seconds:
            raise field_error(
                "server_idle_timeout_seconds",
                f"must be <= server_lifetime_seconds ({self.server_lifetime_seconds}) "
                f"(got {self.server_idle_timeout_seconds})",
            )
        return self

    def server_connections_per_replica(self) -> int:
        """The most server connections one replica opens to the primary: pool plus reserve."""
        return self.default_pool_size + self.reserve_pool_size

    def read_only_connections_per_replica(self) -> int:
        """The most server connections one replica opens to any one read replica."""
        pool = self.read_only_pool
        return 0 if pool is None else pool.default_pool_size + pool.reserve_pool_size


def _check_min_pool(min_pool_size: int, default_pool_size: int) -> None:
    if min_pool_size > default_pool_size:
        raise field_error("min_pool_size", f"must be <= default_pool_size ({default_pool_size}) (got {min_pool_size})")
