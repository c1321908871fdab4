"""The application's least-privilege role, created by ``infra/database/sql/application_role.sql``
on a real PostgreSQL 15 and used through a real PgBouncer running each pooled phase's
rendered ``pgbouncer.ini`` with production client auth (SCRAM over TLS)."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from bench.local_postgres import (
    BinariesUnavailableError,
    LocalPgBouncer,
    LocalPostgres,
    ensure_binaries,
    running_pgbouncer,
    running_postgres,
)
from infra.database.roles import application_role_sql
from infra.pgbouncer.ini import PoolRole, ServerEndpoint, render_ini
from tests.conftest import PHASES, phase_config

pytestmark = pytest.mark.slow

APP_ROLE = "app"
APP_SCHEMA = "app"
PRIMARY = ServerEndpoint(hosts=("primary.example.rds.amazonaws.com",), port=5432, database="app")


@pytest.fixture(scope="module")
def binaries() -> None:
    try:
        ensure_binaries()
    except BinariesUnavailableError as exc:
        pytest.skip(f"PostgreSQL 15 and PgBouncer are not installed and cannot be installed here: {exc}")


@pytest.fixture(scope="module", params=[p for p in PHASES if phase_config(p).pgbouncer is not None])
def through_pgbouncer(
    request: pytest.FixtureRequest, binaries: None
) -> Iterator[tuple[LocalPostgres, LocalPgBouncer, str]]:
    """The phase's database with the master's own tables, the application role, and PgBouncer."""
    phase = str(request.param)
    database = phase_config(phase).database
    pgbouncer = phase_config(phase).pgbouncer
    assert pgbouncer is not None
    password = secrets.token_urlsafe(24)
    with running_postgres(
        max_connections=database.connection_budget().max_connections,
        user=database.master_username,
        database=database.database_name,
    ) as postgres:
        # What the master owns and the application was never granted.
        postgres.sql("CREATE TABLE public.orders (id int)")
        postgres.sql("CREATE SCHEMA billing")
        postgres.sql("CREATE TABLE billing.invoices (id int)")
        variables = {"app_role": APP_ROLE, "app_password": password, "app_schema": APP_SCHEMA}
        for _ in range(2):  # idempotent: every deployment and every rotation runs it again
            postgres.script(application_role_sql(), variables)
        endpoint = ServerEndpoint(hosts=PRIMARY.hosts, port=PRIMARY.port, database=postgres.database)
        ini = render_ini(pgbouncer, PoolRole.READ_WRITE, endpoint)
        with running_pgbouncer(postgres, ini, trust_clients=False, extra_users={APP_ROLE: password}) as (
            bouncer,
            _local,
        ):
            yield postgres, bouncer, password


def _as_app(bouncer: LocalPgBouncer, postgres: LocalPostgres, password: str, sql: str) -> tuple[int, str]:
    env = {**os.environ, "PGPASSWORD": password, "PGSSLMODE": "require", "PGCONNECT_TIMEOUT": "10"}
    command = [
        "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(bouncer.port),
        "-U", APP_ROLE, "-d", postgres.database, "-c", sql,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)
    return result.returncode, (result.stdout + result.stderr).strip()


def test_application_role_connects_through_pgbouncer(
    through_pgbouncer: tuple[LocalPostgres, LocalPgBouncer, str],
) -> None:
    postgres, bouncer, password = through_pgbouncer
    assert _as_app(bouncer, postgres, password, "SELECT current_user") == (0, APP_ROLE)
    assert _as_app(bouncer, postgres, "wrong", "SELECT 1")[0] != 0


def test_application_role_owns_its_schema(through_pgbouncer: tuple[LocalPostgres, LocalPgBouncer, str]) -> None:
    postgres, bouncer, password = through_pgbouncer
    code, output = _as_app(bouncer, postgres, password, "CREATE TABLE IF NOT EXISTS jobs (id int); SELECT 1")
    assert code == 0, output
    assert postgres.sql("SELECT tableowner FROM pg_tables WHERE schemaname = 'app' AND tablename = 'jobs'") == APP_ROLE


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        ("CREATE ROLE intruder", "permission denied to create role"),
        ("ALTER ROLE app CREATEROLE", "permission denied"),
        ("DROP TABLE public.orders", "must be owner of table orders"),
        ("ALTER TABLE public.orders ADD COLUMN note text", "must be owner of table orders"),
        ("SELECT * FROM public.orders", "permission denied for table orders"),
        ("SELECT * FROM billing.invoices", "permission denied for schema billing"),
        ("CREATE SCHEMA elsewhere", "permission denied for database"),
        ("CREATE TABLE public.sneaky (id int)", "permission denied for schema public"),
    ],
)
def test_application_role_is_refused(
    through_pgbouncer: tuple[LocalPostgres, LocalPgBouncer, str], sql: str, refusal: str
) -> None:
    postgres, bouncer, password = through_pgbouncer
    code, output = _as_app(bouncer, postgres, password, sql)
    assert code != 0, f"{sql} was allowed"
    assert refusal in output, output
