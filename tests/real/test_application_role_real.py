"""The application's least-privilege identity, created by ``infra/database/sql/application_role.sql``
on a real PostgreSQL 15 and used through a real PgBouncer running each pooled phase's
rendered ``pgbouncer.ini`` with production client auth (SCRAM over TLS).

Two logins alternate on rotation; both act as the one owner role. The local master is a
superuser, the RDS master is not: what the master may grant on RDS is not tested here."""

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
from infra.database.roles import APPLICATION_LOGINS, application_role_sql
from infra.pgbouncer.ini import PoolRole, ServerEndpoint, render_ini
from tests.conftest import PHASES, phase_config

pytestmark = pytest.mark.slow

APP_ROLE = "app"
APP_SCHEMA = "app"
LOGINS = tuple(f"{APP_ROLE}_{suffix}" for suffix in APPLICATION_LOGINS)
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
) -> Iterator[tuple[LocalPostgres, LocalPgBouncer, dict[str, str]]]:
    """The phase's database with the master's own tables, the application role, and PgBouncer."""
    phase = str(request.param)
    database = phase_config(phase).database
    pgbouncer = phase_config(phase).pgbouncer
    assert pgbouncer is not None
    passwords = {login: secrets.token_urlsafe(24) for login in LOGINS}
    with running_postgres(
        max_connections=database.connection_budget().max_connections,
        user=database.master_username,
        database=database.database_name,
    ) as postgres:
        # What the master owns and the application was never granted.
        postgres.sql("CREATE TABLE public.orders (id int)")
        postgres.sql("CREATE SCHEMA billing")
        postgres.sql("CREATE TABLE billing.invoices (id int)")
        for _ in range(2):  # idempotent: every deployment and every rotation runs it again
            for login, password in passwords.items():
                variables = {
                    "app_role": APP_ROLE,
                    "app_login": login,
                    "app_password": password,
                    "app_schema": APP_SCHEMA,
                }
                postgres.script(application_role_sql(), variables)
        endpoint = ServerEndpoint(hosts=PRIMARY.hosts, port=PRIMARY.port, database=postgres.database)
        ini = render_ini(pgbouncer, PoolRole.READ_WRITE, endpoint)
        with running_pgbouncer(postgres, ini, trust_clients=False, extra_users=passwords) as (bouncer, _local):
            yield postgres, bouncer, passwords


def _as_app(bouncer: LocalPgBouncer, postgres: LocalPostgres, login: str, password: str, sql: str) -> tuple[int, str]:
    env = {**os.environ, "PGPASSWORD": password, "PGSSLMODE": "require", "PGCONNECT_TIMEOUT": "10"}
    command = [
        "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(bouncer.port),
        "-U", login, "-d", postgres.database, "-c", sql,
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=60)
    return result.returncode, (result.stdout + result.stderr).strip()


Fixture = tuple[LocalPostgres, LocalPgBouncer, dict[str, str]]


@pytest.mark.parametrize("login", LOGINS)
def test_each_login_connects_through_pgbouncer_as_the_owner_role(through_pgbouncer: Fixture, login: str) -> None:
    postgres, bouncer, passwords = through_pgbouncer
    code, output = _as_app(bouncer, postgres, login, passwords[login], "SELECT session_user || ' ' || current_user")
    assert (code, output) == (0, f"{login} {APP_ROLE}")
    assert _as_app(bouncer, postgres, login, "wrong", "SELECT 1")[0] != 0


@pytest.mark.parametrize("login", LOGINS)
def test_what_either_login_creates_belongs_to_the_owner_role(through_pgbouncer: Fixture, login: str) -> None:
    postgres, bouncer, passwords = through_pgbouncer
    table = f"jobs_{login}"
    code, output = _as_app(bouncer, postgres, login, passwords[login], f"CREATE TABLE IF NOT EXISTS {table} (id int)")
    assert code == 0, output
    owner = postgres.sql(
        f"SELECT tableowner FROM pg_tables WHERE schemaname = '{APP_SCHEMA}' AND tablename = '{table}'"
    )
    assert owner == APP_ROLE
    # The other login, after a rotation, can still change it: ownership did not follow the login.
    other = next(other for other in LOGINS if other != login)
    code, output = _as_app(
        bouncer, postgres, other, passwords[other], f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS n int"
    )
    assert code == 0, output


def test_a_new_password_for_one_login_leaves_the_other_serving(through_pgbouncer: Fixture) -> None:
    """The alternating-users rotation: change the standby login's password, the active one is untouched."""
    postgres, bouncer, passwords = through_pgbouncer
    standby, active = LOGINS
    variables = {
        "app_role": APP_ROLE,
        "app_login": standby,
        "app_password": secrets.token_urlsafe(24),
        "app_schema": APP_SCHEMA,
    }
    postgres.script(application_role_sql(), variables)
    try:
        assert _as_app(bouncer, postgres, active, passwords[active], "SELECT 1") == (0, "1")
    finally:
        variables["app_password"] = passwords[standby]
        postgres.script(application_role_sql(), variables)


@pytest.mark.parametrize("login", LOGINS)
@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        ("CREATE ROLE intruder", "permission denied to create role"),
        ("ALTER ROLE app CREATEROLE", "permission denied"),
        ("SET ROLE postgres_master", "permission denied to set role"),
        ("DROP TABLE public.orders", "must be owner of table orders"),
        ("ALTER TABLE public.orders ADD COLUMN note text", "must be owner of table orders"),
        ("SELECT * FROM public.orders", "permission denied for table orders"),
        ("SELECT * FROM billing.invoices", "permission denied for schema billing"),
        ("CREATE SCHEMA elsewhere", "permission denied for database"),
        ("CREATE TABLE public.sneaky (id int)", "permission denied for schema public"),
    ],
)
def test_application_logins_are_refused(through_pgbouncer: Fixture, login: str, sql: str, refusal: str) -> None:
    postgres, bouncer, passwords = through_pgbouncer
    sql = sql.replace("postgres_master", postgres.user)
    code, output = _as_app(bouncer, postgres, login, passwords[login], sql)
    assert code != 0, f"{sql} was allowed"
    assert refusal in output, output
