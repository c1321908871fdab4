"""Rendering pgbouncer.ini, and moving it onto loopback for the real-component test."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.pgbouncer.ini import POD_FILES, Files, PoolRole, ServerEndpoint, for_loopback, render_ini
from tests.pgbouncer_fixtures import pgbouncer_config

PRIMARY = ServerEndpoint(hosts=("ftw-prod-db.c1a2b3.us-east-1.rds.amazonaws.com",), port=5432, database="app")
REPLICAS = ServerEndpoint(
    hosts=(
        "ftw-prod-db-replica-1.c1a2b3.us-east-1.rds.amazonaws.com",
        "ftw-prod-db-replica-2.c1a2b3.us-east-1.rds.amazonaws.com",
    ),
    port=5432,
    database="app",
)

EXPECTED_READ_WRITE = """\
; Rendered by scaleplan (infra/pgbouncer/ini.py); edit the stack file, not this.
[databases]
app = host=ftw-prod-db.c1a2b3.us-east-1.rds.amazonaws.com port=5432 dbname=app

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
logfile =
pidfile =
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 25
min_pool_size = 10
reserve_pool_size = 5
reserve_pool_timeout = 3
max_db_connections = 30
server_lifetime = 3600
server_idle_timeout = 600
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/auth/userlist.txt
server_tls_sslmode = verify-full
server_tls_ca_file = /etc/pgbouncer/server-ca/ca.pem
server_tls_protocols = tlsv1.2,tlsv1.3
client_tls_sslmode = require
client_tls_cert_file = /etc/pgbouncer/client-tls/tls.crt
client_tls_key_file = /etc/pgbouncer/client-tls/tls.key
client_tls_protocols = tlsv1.2,tlsv1.3
stats_users = pgbouncer_stats
ignore_startup_parameters = extra_float_digits
tcp_keepalive = 1
"""


def test_renders_the_read_write_pool_exactly() -> None:
    assert render_ini(pgbouncer_config(), PoolRole.READ_WRITE, PRIMARY).text() == EXPECTED_READ_WRITE


def test_read_only_pool_spreads_over_every_replica_with_its_own_sizes() -> None:
    ini = render_ini(pgbouncer_config(), PoolRole.READ_ONLY, REPLICAS)
    assert ini.databases == {
        "app": {
            "host": "ftw-prod-db-replica-1.c1a2b3.us-east-1.rds.amazonaws.com,"
            "ftw-prod-db-replica-2.c1a2b3.us-east-1.rds.amazonaws.com",
            "port": "5432",
            "dbname": "app",
        }
    }
    sizes = {key: ini.settings[key] for key in ("default_pool_size", "min_pool_size", "reserve_pool_size")}
    assert sizes == {"default_pool_size": "20", "min_pool_size": "5", "reserve_pool_size": "5"}
    assert ini.settings["max_db_connections"] == "25"


def test_server_connections_are_capped_at_pool_plus_reserve() -> None:
    ini = render_ini(pgbouncer_config(default_pool_size=40, reserve_pool_size=7), PoolRole.READ_WRITE, PRIMARY)
    assert ini.settings["max_db_connections"] == "47"


def test_no_credentials_in_the_ini() -> None:
    text = render_ini(pgbouncer_config(), PoolRole.READ_WRITE, PRIMARY).text()
    assert "password" not in text
    assert "auth_user" not in text
    assert "user=" not in text
    assert "auth_file = /etc/pgbouncer/auth/userlist.txt" in text


def test_session_mode_and_other_tls_modes_come_from_config() -> None:
    config = pgbouncer_config(pool_mode="session", server_tls_mode="verify-ca", client_tls_mode="disable")
    ini = render_ini(config, PoolRole.READ_WRITE, PRIMARY)
    assert ini.settings["pool_mode"] == "session"
    assert ini.settings["server_tls_sslmode"] == "verify-ca"
    assert ini.settings["client_tls_sslmode"] == "disable"
    assert "client_tls_cert_file" not in ini.settings


def test_rejects_read_only_role_without_read_only_pool() -> None:
    with pytest.raises(ValueError, match="no read_only_pool"):
        render_ini(pgbouncer_config(read_only_pool=None), PoolRole.READ_ONLY, REPLICAS)


@pytest.mark.parametrize("host", ["", "db host", "db;host", "db=host"])
def test_rejects_hosts_that_would_corrupt_the_ini(host: str) -> None:
    with pytest.raises(ValueError, match="host"):
        ServerEndpoint(hosts=(host,), port=5432, database="app")


LOCAL_FILES = Files(
    auth_file="/tmp/x/userlist.txt",
    server_ca_file="/tmp/x/ca.pem",
    client_cert_file="/tmp/x/server.crt",
    client_key_file="/tmp/x/server.key",
)
LOOPBACK_KEYS = {
    "listen_addr",
    "listen_port",
    "auth_file",
    "server_tls_ca_file",
    "client_tls_cert_file",
    "client_tls_key_file",
}


@given(server_port=st.integers(1024, 65535), listen_port=st.integers(1024, 65535))
def test_loopback_changes_only_addresses_and_paths(server_port: int, listen_port: int) -> None:
    ini = render_ini(pgbouncer_config(), PoolRole.READ_WRITE, PRIMARY)
    local = for_loopback(ini, server_port=server_port, listen_port=listen_port, files=LOCAL_FILES)
    assert local.databases == {"app": {"host": "localhost", "port": str(server_port), "dbname": "app"}}
    assert local.settings["listen_addr"] == "127.0.0.1"
    assert local.settings["listen_port"] == str(listen_port)
    changed = {key for key in ini.settings if ini.settings[key] != local.settings[key]}
    assert changed <= LOOPBACK_KEYS
    assert list(local.settings) == list(ini.settings)


def test_loopback_with_trusted_clients_drops_only_client_auth_and_tls() -> None:
    ini = render_ini(pgbouncer_config(), PoolRole.READ_WRITE, PRIMARY)
    local = for_loopback(ini, server_port=5433, listen_port=6433, files=LOCAL_FILES, trust_clients=True)
    assert local.settings["auth_type"] == "trust"
    assert local.settings["client_tls_sslmode"] == "disable"
    removed = set(ini.settings) - set(local.settings)
    assert removed == {"client_tls_cert_file", "client_tls_key_file", "client_tls_protocols"}
    changed = {key for key in local.settings if ini.settings[key] != local.settings[key]}
    assert changed <= LOOPBACK_KEYS | {"auth_type", "client_tls_sslmode"}
    # The server side keeps SCRAM from the auth file and verified TLS.
    assert local.settings["server_tls_sslmode"] == "verify-full"
    assert local.settings["auth_file"] == LOCAL_FILES.auth_file


def test_pod_files_live_in_separate_mounts() -> None:
    directories = {
        path.rsplit("/", 1)[0] for path in (POD_FILES.auth_file, POD_FILES.server_ca_file, POD_FILES.client_cert_file)
    }
    assert len(directories) == 3
