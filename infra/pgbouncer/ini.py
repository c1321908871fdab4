"""Rendering ``pgbouncer.ini``: a pure function of the phase config and the database endpoints.

One PgBouncer Deployment per pool role (read-write to the primary, read-only to the read
replicas), so each role's ini has exactly one ``[databases]`` entry, named like the real
database: an application switches between the pools by host name only. Credentials are
never in the ini: ``auth_file`` points at a file mounted from a Kubernetes Secret that
External Secrets writes from the RDS-managed master secret.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from infra.config.pgbouncer import ClientTlsMode, PgBouncerConfig

LISTEN_PORT = 6432
TLS_PROTOCOLS = "tlsv1.2,tlsv1.3"

_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$")
_DATABASE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class PoolRole(enum.StrEnum):
    """Which server a pool talks to; the value is the stable key in logical names."""

    READ_WRITE = "rw"
    READ_ONLY = "ro"


@dataclass(frozen=True, kw_only=True)
class ServerEndpoint:
    """Where one pool's server connections go."""

    hosts: tuple[str, ...]
    """One host for the primary; every read replica for the read-only pool (round-robin)."""
    port: int
    database: str

    def __post_init__(self) -> None:
        if not self.hosts:
            raise ValueError("a server endpoint needs at least one host")
        for host in self.hosts:
            if not _HOST.match(host):
                raise ValueError(f"not a host name PgBouncer can take: {host!r}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"not a TCP port: {self.port}")
        if not _DATABASE.match(self.database):
            raise ValueError(f"not a plain PostgreSQL database name: {self.database!r}")


@dataclass(frozen=True, kw_only=True)
class Files:
    """Paths the ini names; in the pod each is a read-only volume mount."""

    auth_file: str
    server_ca_file: str
    client_cert_file: str
    client_key_file: str


POD_FILES = Files(
    auth_file="/etc/pgbouncer/auth/userlist.txt",
    server_ca_file="/etc/pgbouncer/server-ca/ca.pem",
    client_cert_file="/etc/pgbouncer/client-tls/tls.crt",
    client_key_file="/etc/pgbouncer/client-tls/tls.key",
)
INI_PATH = "/etc/pgbouncer/config/pgbouncer.ini"


@dataclass(frozen=True)
class PgBouncerIni:
    """The ini as data, so a transformation can change one key and leave the rest alone."""

    databases: Mapping[str, Mapping[str, str]]
    """Alias -> connection parameters (``host``, ``port``, ``dbname``, ...)."""
    settings: Mapping[str, str]
    """The ``[pgbouncer]`` section, in order."""

    def text(self) -> str:
        lines = ["; Rendered by scaleplan (infra/pgbouncer/ini.py); edit the stack file, not this.", "[databases]"]
        for alias, params in self.databases.items():
            lines.append(f"{alias} = " + " ".join(f"{key}={value}" for key, value in params.items()))
        lines += ["", "[pgbouncer]"]
        lines += [f"{key} = {value}".rstrip() for key, value in self.settings.items()]
        return "\n".join(lines) + "\n"


def _pool(config: PgBouncerConfig, role: PoolRole) -> tuple[int, int, int]:
    """(default, min, reserve) pool sizes of ``role``."""
    if role is PoolRole.READ_WRITE:
        return config.default_pool_size, config.min_pool_size, config.reserve_pool_size
    read_only = config.read_only_pool
    if read_only is None:
        raise ValueError("scaleplan:pgbouncer has no read_only_pool to render")
    return read_only.default_pool_size, read_only.min_pool_size, read_only.reserve_pool_size


def pool_size(config: PgBouncerConfig, role: PoolRole) -> int:
    """``default_pool_size`` of ``role``'s pool: server connections per user and database pair."""
    return _pool(config, role)[0]


def render_ini(
    config: PgBouncerConfig, role: PoolRole, server: ServerEndpoint, files: Files = POD_FILES
) -> PgBouncerIni:
    """The ini of one pool role. Every pool number comes from ``config``."""
    default_pool, min_pool, reserve_pool = _pool(config, role)
    databases = {
        server.database: {
            "host": ",".join(server.hosts),
            "port": str(server.port),
            "dbname": server.database,
        }
    }
    settings: dict[str, str] = {
        "listen_addr": "0.0.0.0",  # inside the pod; the ClusterIP Service is the boundary
        "listen_port": str(LISTEN_PORT),
        "unix_socket_dir": "",
        "logfile": "",
        "pidfile": "",
        "pool_mode": config.pool_mode.value,
        "max_client_conn": str(config.max_client_conn),
        "default_pool_size": str(default_pool),
        "min_pool_size": str(min_pool),
        "reserve_pool_size": str(reserve_pool),
        "reserve_pool_timeout": str(config.reserve_pool_timeout_seconds),
        # The hard cap behind the connection budget: pool plus reserve, whatever users connect.
        "max_db_connections": str(default_pool + reserve_pool),
        "server_lifetime": str(config.server_lifetime_seconds),
        "server_idle_timeout": str(config.server_idle_timeout_seconds),
        "auth_type": "scram-sha-256",
        "auth_file": files.auth_file,
        "server_tls_sslmode": config.server_tls_mode.value,
        "server_tls_ca_file": files.server_ca_file,
        "server_tls_protocols": TLS_PROTOCOLS,
        "client_tls_sslmode": config.client_tls_mode.value,
    }
    if config.client_tls_mode is not ClientTlsMode.DISABLE:
        settings |= {
            "client_tls_cert_file": files.client_cert_file,
            "client_tls_key_file": files.client_key_file,
            "client_tls_protocols": TLS_PROTOCOLS,
        }
    if config.metrics is not None:
        # The metrics exporter's login: SHOW commands on the admin console, nothing else.
        settings["stats_users"] = config.metrics.stats_user
    settings |= {
        # JDBC drivers send it at startup; refusing it would refuse every Java client.
        "ignore_startup_parameters": "extra_float_digits",
        "tcp_keepalive": "1",
    }
    return PgBouncerIni(databases=databases, settings=settings)


def for_loopback(
    ini: PgBouncerIni, *, server_port: int, listen_port: int, files: Files, trust_clients: bool = False
) -> PgBouncerIni:
    """The same ini pointed at a local PostgreSQL, for the real-component test.

    Changes only: the server host and port (``localhost``), the listen address and port
    (loopback), and the file paths. With ``trust_clients`` the *client* side also drops TLS
    and SCRAM (``auth_type = trust``, ``client_tls_sslmode = disable``), so that thousands of
    local clients do not spend the test in handshakes; PgBouncer still authenticates to
    PostgreSQL with SCRAM from ``auth_file`` over verified TLS. Every pool setting stays as
    the phase's config rendered it.
    """
    databases = {
        alias: {**params, "host": "localhost", "port": str(server_port)} for alias, params in ini.databases.items()
    }
    settings = dict(ini.settings)
    settings |= {"listen_addr": "127.0.0.1", "listen_port": str(listen_port)}
    path_keys = {
        "auth_file": files.auth_file,
        "server_tls_ca_file": files.server_ca_file,
        "client_tls_cert_file": files.client_cert_file,
        "client_tls_key_file": files.client_key_file,
    }
    settings |= {key: value for key, value in path_keys.items() if key in settings}
    if trust_clients:
        settings |= {"auth_type": "trust", "client_tls_sslmode": ClientTlsMode.DISABLE.value}
        for key in ("client_tls_cert_file", "client_tls_key_file", "client_tls_protocols"):
            settings.pop(key, None)
    return replace(ini, databases=databases, settings=settings)
