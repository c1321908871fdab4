"""The pure PostgreSQL sizing: memory settings, max_connections, the connection budget, families."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.catalog import rds_instance_classes
from infra.database.parameters import (
    PostgresParameter,
    connection_budget,
    max_connections,
    memory_settings,
    parameter_group_family,
    postgres_parameters,
    reserved_connections,
)

memory = st.floats(min_value=0.5, max_value=1024, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(("memory_gib", "expected"), [(4, 64), (8, 128), (16, 256), (32, 341), (64, 409), (1024, 1927)])
def test_max_connections_fits_the_backend_share_of_memory(memory_gib: float, expected: int) -> None:
    assert max_connections(memory_gib) == expected


def test_max_connections_rejects_no_memory() -> None:
    with pytest.raises(ValueError, match=r"memory_gib must be > 0 \(got 0\)"):
        max_connections(0)


def test_reserve_is_superuser_rds_superuser_and_admin_slots() -> None:
    assert reserved_connections() == 3 + 2 + 5
    budget = connection_budget(16)
    assert (budget.max_connections, budget.reserved, budget.available) == (256, 10, 246)


def test_memory_settings_of_a_16_gib_class() -> None:
    settings = memory_settings(16)
    assert settings.shared_buffers_kib == 4 * 1024 * 1024
    assert settings.effective_cache_size_kib == 12 * 1024 * 1024
    assert settings.work_mem_kib == 4 * 1024
    assert settings.maintenance_work_mem_kib == 1024 * 1024
    assert settings.max_connections == 256


def test_seed_tuning_on_64_gib_shared_buffers_16_gb_cache_48_gb_work_mem_16_mb() -> None:
    settings = memory_settings(64)
    assert settings.shared_buffers_kib == 16 * 1024 * 1024
    assert settings.effective_cache_size_kib == 48 * 1024 * 1024
    assert settings.work_mem_kib == 16 * 1024
    assert settings.maintenance_work_mem_kib == 2 * 1024 * 1024


def test_parameters_in_rds_units_with_static_ones_pending_reboot() -> None:
    assert postgres_parameters(16) == (
        PostgresParameter("effective_cache_size", "1572864", "immediate"),  # 12 GiB in 8 kB pages
        PostgresParameter("maintenance_work_mem", "1048576", "immediate"),  # kB
        PostgresParameter("max_connections", "256", "pending-reboot"),
        PostgresParameter("rds.force_ssl", "1", "immediate"),
        PostgresParameter("shared_buffers", "524288", "pending-reboot"),  # 4 GiB in 8 kB pages
        PostgresParameter("work_mem", "4096", "immediate"),  # kB
    )


@pytest.mark.parametrize(
    ("version", "family"),
    [
        ("13", "postgres13"),
        ("14.12", "postgres14"),
        ("15.7", "postgres15"),
        ("16", "postgres16"),
        ("17.2", "postgres17"),
    ],
)
def test_engine_version_maps_to_its_family(version: str, family: str) -> None:
    assert parameter_group_family(version) == family


@pytest.mark.parametrize("version", ["12.19", "9.6", "18", "16.x", "", "postgres16"])
def test_engine_version_without_a_family_has_none(version: str) -> None:
    assert parameter_group_family(version) is None


@given(memory)
def test_connections_and_buffers_never_exceed_memory(memory_gib: float) -> None:
    settings = memory_settings(memory_gib)
    per_connection_kib = 8 * 1024 + 2 * settings.work_mem_kib
    worst_case_kib = settings.shared_buffers_kib + settings.max_connections * per_connection_kib
    if settings.max_connections > 25:  # above the floor, the budget is what limits connections
        assert worst_case_kib <= memory_gib * 1024 * 1024 / 2 + 1
    assert settings.effective_cache_size_kib == 3 * settings.shared_buffers_kib or (
        abs(settings.effective_cache_size_kib - 3 * settings.shared_buffers_kib) <= 3
    )


@given(memory, memory)
def test_more_memory_never_means_fewer_connections(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert max_connections(low) <= max_connections(high)
    assert 25 <= max_connections(low) <= 5000


SMALL_CLASSES = {"db.t4g.micro": 15, "db.t4g.small": 22}
"""The classes under 4 GiB leave few connections to pools (25 and 32 less the 10 reserved); each
phase's pools and direct clients are checked against them (infra/data_tier_capacity.py)."""


def test_every_catalog_class_leaves_connections_for_pools() -> None:
    for name, spec in rds_instance_classes().items():
        assert connection_budget(spec.memory_gib).available >= SMALL_CLASSES.get(name, 50), name
    assert {name: connection_budget(rds_instance_classes()[name].memory_gib).available for name in SMALL_CLASSES} == (
        SMALL_CLASSES
    )


RDS_DEFAULT_BYTES_PER_CONNECTION = 9_531_392
"""RDS for PostgreSQL's default ``max_connections`` is LEAST({DBInstanceClassMemory/9531392}, 5000)
(RDS User Guide, "Maximum number of database connections")."""


def test_no_class_gets_more_connections_than_the_rds_default() -> None:
    # Our memory-derived max_connections stays at or under what RDS itself would set, even on the
    # smallest class (DBInstanceClassMemory is a little under the nominal memory, so the default is
    # a little under this bound; the margin below is wide).
    for name, spec in rds_instance_classes().items():
        default = min(math.floor(spec.memory_gib * 2**30 / RDS_DEFAULT_BYTES_PER_CONNECTION), 5000)
        assert max_connections(spec.memory_gib) <= default // 2, (name, default)


def test_slow_query_logging_sets_log_min_duration_statement_only_when_asked() -> None:
    names = {p.name for p in postgres_parameters(16)}
    assert "log_min_duration_statement" not in names
    (slow,) = [p for p in postgres_parameters(16, slow_query_log_ms=250) if p.name == "log_min_duration_statement"]
    assert (slow.value, slow.apply_method) == ("250", "immediate")
