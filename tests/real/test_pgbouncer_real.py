"""A real PgBouncer 1.18 in front of a real PostgreSQL 15, running each phase's pooling config.

For every phase whose stack file configures PgBouncer, the phase's own ``pgbouncer.ini``
is rendered and moved onto loopback (:func:`infra.pgbouncer.ini.for_loopback`: hosts,
ports, file paths and -- for the load runs -- client-side auth and TLS), PostgreSQL is
started with the ``max_connections`` the phase's database gets, and pgbench drives
``max_client_conn`` clients through the pool. The server side stays as in production:
SCRAM from the auth_file, TLS with ``verify-full`` against a CA.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from bench.local_postgres import (
    BinariesUnavailableError,
    ConnectionSampler,
    LocalPostgres,
    ensure_binaries,
    initialize,
    pgbench,
    running_pgbouncer,
    running_postgres,
)
from infra.pgbouncer.ini import PgBouncerIni, PoolRole, ServerEndpoint, render_ini
from tests.conftest import PHASES, phase_config

pytestmark = pytest.mark.slow

LOAD_SECONDS = 10
# Stand-ins for the RDS endpoints; for_loopback replaces them with localhost.
PRIMARY = ServerEndpoint(hosts=("primary.example.rds.amazonaws.com",), port=5432, database="app")
REPLICAS = ServerEndpoint(hosts=("replica-1.example.rds.amazonaws.com",), port=5432, database="app")


def _pooled_phases() -> list[str]:
    return [phase for phase in PHASES if phase_config(phase).pgbouncer is not None]


def _roles(phase: str) -> list[PoolRole]:
    config = phase_config(phase).pgbouncer
    assert config is not None
    return [PoolRole.READ_WRITE] + ([PoolRole.READ_ONLY] if config.read_only_pool is not None else [])


@pytest.fixture(scope="module")
def binaries() -> None:
    try:
        ensure_binaries()
    except BinariesUnavailableError as exc:
        pytest.skip(f"PostgreSQL 15 and PgBouncer are not installed and cannot be installed here: {exc}")


@pytest.fixture(scope="module", params=_pooled_phases())
def phase_postgres(request: pytest.FixtureRequest, binaries: None) -> Iterator[tuple[str, LocalPostgres]]:
    """PostgreSQL sized like the phase's database, with pgbench tables; stopped on teardown."""
    phase = str(request.param)
    database = phase_config(phase).database
    with running_postgres(
        max_connections=database.connection_budget().max_connections,
        user=database.master_username,
        database=database.database_name,
    ) as postgres:
        initialize(postgres)
        yield phase, postgres


def _ini(phase: str, role: PoolRole, database: str) -> tuple[PgBouncerIni, int, int]:
    config = phase_config(phase).pgbouncer
    assert config is not None
    endpoint = PRIMARY if role is PoolRole.READ_WRITE else REPLICAS
    ini = render_ini(config, role, ServerEndpoint(hosts=endpoint.hosts, port=endpoint.port, database=database))
    pool = int(ini.settings["default_pool_size"]) + int(ini.settings["reserve_pool_size"])
    return ini, pool, int(ini.settings["min_pool_size"])


def test_configured_clients_fit_every_pool(phase_postgres: tuple[str, LocalPostgres]) -> None:
    """Each pool role of the phase, in turn, at ``max_client_conn`` clients."""
    phase, postgres = phase_postgres
    config = phase_config(phase).pgbouncer
    assert config is not None
    assert postgres.sql("SHOW max_connections") == str(phase_config(phase).database.connection_budget().max_connections)
    for role in _roles(phase):
        ini, pool_limit, min_pool = _ini(phase, role, postgres.database)
        with running_pgbouncer(postgres, ini, trust_clients=True) as (bouncer, local):
            assert local.settings["max_client_conn"] == str(config.max_client_conn)
            with ConnectionSampler(postgres) as sampler:
                result = pgbench(
                    host="127.0.0.1",
                    port=bouncer.port,
                    postgres=postgres,
                    clients=config.max_client_conn,
                    seconds=LOAD_SECONDS,
                    select_only=role is PoolRole.READ_ONLY,
                    tls=False,
                )
            log = bouncer.log()
        print(
            f"{phase}/{role.value}: {result.clients} clients, {result.processed} transactions, "
            f"{result.failed} failed, {result.tps:.0f} tps; server connections peak {sampler.peak} "
            f"(limit {pool_limit}) over {len(sampler.samples)} samples"
        )
        assert result.failed == 0, result.output[-2000:]
        assert result.processed > 0, result.output[-2000:]
        assert "no more connections allowed" not in log
        assert len(sampler.samples) >= LOAD_SECONDS
        assert min_pool <= sampler.peak <= pool_limit, f"{phase}/{role.value}"


def test_production_client_auth_and_tls(phase_postgres: tuple[str, LocalPostgres]) -> None:
    """Without the load-run relaxation: SCRAM and TLS from clients work, and are enforced."""
    phase, postgres = phase_postgres
    ini, _, _ = _ini(phase, PoolRole.READ_WRITE, postgres.database)
    with running_pgbouncer(postgres, ini, trust_clients=False) as (bouncer, local):
        assert local.settings["auth_type"] == "scram-sha-256"
        assert local.settings["client_tls_sslmode"] == "require"
        result = pgbench(
            host="127.0.0.1", port=bouncer.port, postgres=postgres, clients=10, seconds=3, select_only=True, tls=True
        )
        assert result.failed == 0
        assert result.processed > 0
        assert "tls=TLSv1.3" in bouncer.log() or "tls=TLSv1.2" in bouncer.log()
        assert _psql_through(bouncer.port, postgres, password="wrong", sslmode="require") != 0
        assert _psql_through(bouncer.port, postgres, password=postgres.password, sslmode="disable") != 0
        assert _psql_through(bouncer.port, postgres, password=postgres.password, sslmode="require") == 0


def _psql_through(port: int, postgres: LocalPostgres, *, password: str, sslmode: str) -> int:
    env = {**os.environ, "PGPASSWORD": password, "PGSSLMODE": sslmode, "PGCONNECT_TIMEOUT": "10"}
    command = ["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", postgres.user, "-d", postgres.database]
    result = subprocess.run([*command, "-c", "SELECT 1"], env=env, capture_output=True, text=True, check=False)
    return result.returncode
