"""The ``sizing`` blocks of the data tier: the load coefficients that size each tier from the users.

``scaleplan:database.sizing``, ``scaleplan:cache.sizing`` and ``scaleplan:pgbouncer.sizing``.
Every field is required: none has a universal default, so each stack file states its figure and,
in a comment, where it comes from. The arithmetic lives in :mod:`infra.data_tier_capacity`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from infra.config.base import ConfigModel

Share = Annotated[float, Field(gt=0, le=1)]


class DatabaseSizing(ConfigModel):
    """What one application request asks of PostgreSQL."""

    queries_per_request: Annotated[float, Field(gt=0, le=1000)]
    """SQL statements one application request runs, on average."""
    query_time_ms: Annotated[float, Field(gt=0, le=60_000)]
    """Mean time a statement holds a connection (Little's law: concurrency = rate x time)."""
    queries_per_second_per_vcpu: Annotated[float, Field(gt=0, le=1_000_000)]
    """Statements one database vCPU completes per second at the target latency."""
    read_query_share: Share
    """Share of statements that are reads; with read replicas, reads go to them and the
    primary keeps the writes (without replicas the primary carries everything)."""
    storage_kib_per_user: Annotated[float, Field(gt=0, le=1_073_741_824)]
    """Database data (tables and indexes) per registered user at the top of the phase."""
    hot_data_share: Share
    """Share of the data that must be in memory (shared buffers and page cache)."""
    client_connections_per_application_vcpu: Annotated[int, Field(ge=1, le=1000)]
    """Connections the application's pool opens per application vCPU (a setting of the
    application that this file commits it to): to PgBouncer where there is one, else to
    PostgreSQL directly."""


class CacheSizing(ConfigModel):
    """The cache's working set: sessions, and the hot data of active users."""

    sessions_per_concurrent_user: Annotated[float, Field(gt=0, le=1000)]
    """Sessions held per peak concurrent user (a session outlives the visit that made it)."""
    session_kib: Annotated[float, Field(gt=0, le=1_048_576)]
    """Size of one stored session, key and overhead included."""
    hot_data_kib_per_active_user: Annotated[float, Field(ge=0, le=1_048_576)]
    """Cached data each daily active user keeps hot."""
    hit_ratio_target: Share
    """Share of reads the cache must answer; taken as the share of the hot data kept (the
    upper bound under uniform access; skewed access needs less)."""


class PgBouncerSizing(ConfigModel):
    """What one application request asks of the pooler."""

    transactions_per_request: Annotated[float, Field(gt=0, le=1000)]
    """Transactions (each holds a server connection in transaction mode) per request."""
    transaction_time_ms: Annotated[float, Field(gt=0, le=600_000)]
    """Mean time a transaction holds a server connection, from BEGIN to COMMIT."""
