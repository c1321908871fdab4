"""The application's least-privilege PostgreSQL role: the SQL that creates it, in one file."""

from __future__ import annotations

from pathlib import Path

APPLICATION_ROLE_SQL = Path(__file__).parent / "sql" / "application_role.sql"
"""Idempotent psql script (variables ``app_role``, ``app_login``, ``app_password``, ``app_schema``),
run as the master user once per login; ``tests/real/test_application_role_real.py`` runs it
against a real PostgreSQL through a real PgBouncer."""

APPLICATION_LOGINS = ("a", "b")
"""Suffixes of the two logins that alternate on rotation (``app_a``, ``app_b``)."""


def application_role_sql() -> str:
    return APPLICATION_ROLE_SQL.read_text()
