"""The application's least-privilege PostgreSQL role: the SQL that creates it, in one file."""

from __future__ import annotations

from pathlib import Path

APPLICATION_ROLE_SQL = Path(__file__).parent / "sql" / "application_role.sql"
"""Idempotent psql script (variables ``app_role``, ``app_password``, ``app_schema``), run as the
master user; ``tests/real/test_application_role_real.py`` runs it against a real PostgreSQL."""


def application_role_sql() -> str:
    return APPLICATION_ROLE_SQL.read_text()
