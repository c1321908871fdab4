"""PostgreSQL settings derived from an instance class's memory: pure functions, no Pulumi.

The memory model, stated once so that every figure can be checked by hand:

- ``shared_buffers`` is 25% of memory (the PostgreSQL documentation's starting point and
  the RDS default), ``effective_cache_size`` 75% (shared buffers plus the OS page cache;
  the FlowForge seed uses the same ratios: 16 GB / 48 GB on a 64 GB host).
- ``work_mem`` grows with memory at 1/4096 of it (16 MiB on 64 GiB, as the seed's tuning
  says), never below PostgreSQL's 4 MiB default nor above 64 MiB.
- A quarter of memory is set aside for backends. Each connection is budgeted 8 MiB of
  private overhead plus two ``work_mem`` allocations (a sort and a hash in one query), and
  ``max_connections`` is how many such connections fit, capped at RDS's 5,000. This is well
  below the RDS default formula (``DBInstanceClassMemory/9531392``, e.g. 1,802 on 16 GiB),
  which lets connections overcommit memory; connection pooling (PgBouncer) is how more
  clients are served.
- ``maintenance_work_mem`` is 1/16 of memory, between 64 MiB and 2 GiB.

The connection budget that PgBouncer's pools must fit inside is :func:`connection_budget`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MIB_PER_GIB = 1024
KIB_PER_MIB = 1024
PAGE_KIB = 8
"""``shared_buffers`` and ``effective_cache_size`` are set in 8 kB pages on RDS."""

BACKEND_OVERHEAD_MIB = 8
WORK_MEM_ALLOCATIONS_PER_CONNECTION = 2
CONNECTION_MEMORY_SHARE = 0.25
MAX_CONNECTIONS_CAP = 5000
MIN_CONNECTIONS = 25

SUPERUSER_RESERVED_CONNECTIONS = 3
"""PostgreSQL's ``superuser_reserved_connections`` default, which RDS keeps."""
RDS_SUPERUSER_RESERVED_CONNECTIONS = 2
"""RDS's ``rds.rds_superuser_reserved_connections`` default (the master user's slots)."""
ADMIN_HEADROOM_CONNECTIONS = 5
"""Kept free of pools for migrations, a psql session and monitoring agents."""

# Parameter group family of each PostgreSQL major version, as RDS names it
# (``aws rds describe-db-engine-versions --engine postgres`` -> DBParameterGroupFamily).
# Versions older than 13 are past RDS standard support and are not offered.
POSTGRES_FAMILIES: dict[int, str] = {
    13: "postgres13",
    14: "postgres14",
    15: "postgres15",
    16: "postgres16",
    17: "postgres17",
}

STATIC_PARAMETERS = frozenset({"shared_buffers", "max_connections"})
"""Parameters that take effect only after a reboot: RDS rejects ``apply_method=immediate``
for them, so they are applied ``pending-reboot`` (at the next maintenance reboot)."""


def parameter_group_family(engine_version: str) -> str | None:
    """``"16.4"`` or ``"16"`` -> ``"postgres16"``; ``None`` for a version with no known family."""
    match = re.fullmatch(r"(\d+)(?:\.\d+)?", engine_version)
    if match is None:
        return None
    return POSTGRES_FAMILIES.get(int(match.group(1)))


def _work_mem_exact_mib(memory_gib: float) -> float:
    return max(4.0, min(64.0, memory_gib * MIB_PER_GIB / 4096))


def work_mem_mib(memory_gib: float) -> int:
    return math.floor(_work_mem_exact_mib(memory_gib))


def max_connections(memory_gib: float) -> int:
    """Connections that fit in the backend share of ``memory_gib`` (see the module docstring).

    4 GiB -> 64, 8 GiB -> 128, 16 GiB -> 256, 32 GiB -> 341, 64 GiB -> 409.
    """
    if memory_gib <= 0:
        raise ValueError(f"memory_gib must be > 0 (got {memory_gib})")
    # The unrounded work_mem keeps this monotonic: a bigger class never gets fewer connections.
    per_connection_mib = BACKEND_OVERHEAD_MIB + WORK_MEM_ALLOCATIONS_PER_CONNECTION * _work_mem_exact_mib(memory_gib)
    fitted = math.floor(memory_gib * MIB_PER_GIB * CONNECTION_MEMORY_SHARE / per_connection_mib)
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS_CAP, fitted))


def reserved_connections() -> int:
    """Connections of ``max_connections`` that no application pool may use."""
    return SUPERUSER_RESERVED_CONNECTIONS + RDS_SUPERUSER_RESERVED_CONNECTIONS + ADMIN_HEADROOM_CONNECTIONS


@dataclass(frozen=True)
class ConnectionBudget:
    """How many server connections one PostgreSQL instance offers to application pools."""

    max_connections: int
    reserved: int

    @property
    def available(self) -> int:
        """``max_connections`` minus the reserve: the most all pools together may open."""
        return self.max_connections - self.reserved


def connection_budget(memory_gib: float) -> ConnectionBudget:
    return ConnectionBudget(max_connections=max_connections(memory_gib), reserved=reserved_connections())


@dataclass(frozen=True)
class PostgresParameter:
    name: str
    value: str
    apply_method: str
    """``immediate`` or ``pending-reboot``."""


@dataclass(frozen=True)
class MemorySettings:
    shared_buffers_kib: int
    effective_cache_size_kib: int
    work_mem_kib: int
    maintenance_work_mem_kib: int
    max_connections: int


def memory_settings(memory_gib: float) -> MemorySettings:
    """The memory-derived settings for an instance with ``memory_gib`` of RAM, in KiB."""
    memory_kib = math.floor(memory_gib * MIB_PER_GIB * KIB_PER_MIB)
    maintenance_mib = max(64, min(2048, math.floor(memory_gib * MIB_PER_GIB / 16)))
    return MemorySettings(
        shared_buffers_kib=memory_kib // 4,
        effective_cache_size_kib=memory_kib * 3 // 4,
        work_mem_kib=work_mem_mib(memory_gib) * KIB_PER_MIB,
        maintenance_work_mem_kib=maintenance_mib * KIB_PER_MIB,
        max_connections=max_connections(memory_gib),
    )


def _apply_method(name: str) -> str:
    return "pending-reboot" if name in STATIC_PARAMETERS else "immediate"


def postgres_parameters(memory_gib: float, *, slow_query_log_ms: int | None = None) -> tuple[PostgresParameter, ...]:
    """Every parameter the program sets, sorted by name, in RDS units.

    ``rds.force_ssl=1`` refuses unencrypted connections; the memory settings follow
    :func:`memory_settings`; page-sized ones are converted to 8 kB pages. With
    ``slow_query_log_ms``, ``log_min_duration_statement`` (milliseconds, dynamic) logs every
    statement that runs at least that long.
    """
    settings = memory_settings(memory_gib)
    values = {
        "rds.force_ssl": "1",
        "shared_buffers": str(settings.shared_buffers_kib // PAGE_KIB),
        "effective_cache_size": str(settings.effective_cache_size_kib // PAGE_KIB),
        "work_mem": str(settings.work_mem_kib),
        "maintenance_work_mem": str(settings.maintenance_work_mem_kib),
        "max_connections": str(settings.max_connections),
    }
    if slow_query_log_ms is not None:
        values["log_min_duration_statement"] = str(slow_query_log_ms)
    return tuple(PostgresParameter(name, values[name], _apply_method(name)) for name in sorted(values))
