"""The pool-metrics path against a real PgBouncer 1.18 and PostgreSQL 15 (``-m slow``).

The phase's rendered ini (with ``stats_users``) runs with production client auth (SCRAM over
TLS); the auth_file holds the stats login's SCRAM verifier as :mod:`infra.pgbouncer.metrics`
computes it. Checked: that login reaches the admin console over loopback TLS, may read but not
administer, and sees ``cl_waiting`` rise above 0 when more clients than the pool run slow
queries; ``maxwait`` and ``sv_active`` are there too. These are the ``SHOW POOLS`` columns the
pinned exporter (prometheus-community/pgbouncer_exporter v0.12.1) publishes as the metrics the
agent sends and the alarms watch.

No exporter runs here. Debian's ``prometheus-pgbouncer-exporter`` 1.7 is another program (a
Python exporter with its own names, ``pgbouncer_waiting_clients``, and no ``maxwait`` or
``sv_active``), and it stops at start against PgBouncer 1.18 (``KeyError: 'total_requests'``:
``SHOW STATS`` lost that column in PgBouncer 1.8); the pinned image cannot be pulled here.
docs/pgbouncer.md states what that leaves unverified.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from collections.abc import Iterator

import pytest

from bench.local_postgres import (
    BinariesUnavailableError,
    LocalPostgres,
    ensure_binaries,
    running_pgbouncer,
    running_postgres,
)
from infra.pgbouncer import metrics
from infra.pgbouncer.ini import PoolRole, ServerEndpoint, render_ini
from tests.conftest import phase_config

pytestmark = pytest.mark.slow

PHASE = "growth"
STATS_PASSWORD = "StatsPassword0123456789abcdef"
STATS_SALT = "SaltOfTwentyFourChars012"
SLOW_QUERY_SECONDS = 1
CONSOLE = ("psql", "-X", "-h", "127.0.0.1", "-U", "pgbouncer_stats", "-d", "pgbouncer")


@pytest.fixture(scope="module")
def postgres() -> Iterator[LocalPostgres]:
    try:
        ensure_binaries()
    except BinariesUnavailableError as exc:
        pytest.skip(f"PostgreSQL 15 and PgBouncer are not installed and cannot be installed here: {exc}")
    database = phase_config(PHASE).database
    with running_postgres(
        max_connections=database.connection_budget().max_connections,
        user=database.master_username,
        database=database.database_name,
    ) as server:
        yield server


def _console(port: int, command: str) -> subprocess.CompletedProcess[str]:
    """``command`` on PgBouncer's admin console as the stats login, over TLS like the exporter."""
    env = {**os.environ, "PGPASSWORD": STATS_PASSWORD, "PGSSLMODE": "require", "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run(
        [*CONSOLE, "--csv", "-p", str(port), "-c", command],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def _pools(port: int, database: str) -> list[dict[str, str]]:
    result = _console(port, "SHOW POOLS")
    assert result.returncode == 0, result.stderr
    return [row for row in csv.DictReader(io.StringIO(result.stdout)) if row["database"] == database]


def _slow_clients(postgres: LocalPostgres, port: int, clients: int, seconds: int) -> subprocess.Popen[str]:
    script = postgres.workdir.path / "slow.sql"
    script.write_text(f"SELECT pg_sleep({SLOW_QUERY_SECONDS});\n")
    env = {**os.environ, "PGPASSWORD": postgres.password, "PGSSLMODE": "require"}
    command = ["pgbench", "-n", "-h", "127.0.0.1", "-p", str(port), "-U", postgres.user]
    command += ["-c", str(clients), "-j", "4", "-T", str(seconds), "-f", str(script), postgres.database]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_stats_login_reads_the_pools_and_sees_clients_queue(postgres: LocalPostgres) -> None:
    config = phase_config(PHASE).pgbouncer
    assert config is not None
    assert config.metrics is not None
    ini = render_ini(
        config,
        PoolRole.READ_WRITE,
        ServerEndpoint(hosts=("primary.example.rds.amazonaws.com",), port=5432, database=postgres.database),
    )
    assert ini.settings["stats_users"] == "pgbouncer_stats"
    verifier = metrics.scram_verifier(STATS_PASSWORD, STATS_SALT.encode())
    pool_limit = int(ini.settings["max_db_connections"])
    with running_pgbouncer(postgres, ini, trust_clients=False, extra_users={"pgbouncer_stats": verifier}) as (
        bouncer,
        _,
    ):
        # Least privilege: it reads, it cannot administer; a wrong password is refused.
        assert _console(bouncer.port, "SHOW VERSION").returncode == 0
        refused = _console(bouncer.port, "RELOAD")
        assert refused.returncode != 0
        assert "admin access needed" in refused.stderr, refused.stderr
        wrong = subprocess.run(
            [*CONSOLE, "-p", str(bouncer.port), "-c", "SHOW POOLS"],
            env={**os.environ, "PGPASSWORD": "wrong", "PGSSLMODE": "require"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert wrong.returncode != 0
        load = _slow_clients(postgres, bouncer.port, clients=pool_limit + 15, seconds=8)
        try:
            waiting, active = 0, 0
            deadline = time.monotonic() + 7
            while time.monotonic() < deadline:
                for row in _pools(bouncer.port, postgres.database):
                    assert {"cl_waiting", "maxwait", "sv_active"} <= set(row), row
                    waiting = max(waiting, int(row["cl_waiting"]))
                    active = max(active, int(row["sv_active"]))
                time.sleep(0.5)
        finally:
            output = load.communicate(timeout=60)[0]
        print(f"{PHASE}: peak cl_waiting {waiting}, peak sv_active {active} (pool limit {pool_limit})")
        assert "aborted" not in output, output[-2000:]
        assert waiting > 0, "more clients than the pool, all in slow queries, and nobody waited"
        assert 0 < active <= pool_limit
