"""The data tier's capacity model: PostgreSQL, the cache and PgBouncer sized from the peak.

Plain cases with the figures worked by hand, properties with hypothesis, and one rejection per
tier: each starts from a committed stack file and shrinks one thing below what the peak needs.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.config import PhaseConfig
from infra.config.cache import MaxMemoryPolicy
from infra.data_tier_capacity import (
    ELASTICACHE_RESERVED_MEMORY_PERCENT,
    cache_requirement,
    cache_working_set_gib,
    data_gib,
    littles_law,
    per_server_query_rates,
    usable_cache_memory_gib,
)
from tests.conftest import PHASES, phase_config
from tests.test_config_rejections import base_config, changed, rejection


def updated(phase: str, key: str, **values: Any) -> dict[str, Any]:
    """The ``phase`` config with ``values`` set in ``scaleplan:<key>``."""
    config = base_config(phase)
    config[f"scaleplan:{key}"].update(values)
    return config


def requirement(config: PhaseConfig, what: str) -> tuple[float, float]:
    (found,) = [r for r in config.data_tier_requirements() if r.what == what]
    return found.needed, found.available


# --- the arithmetic, by hand ---------------------------------------------------------------


def test_littles_law_is_rate_times_time() -> None:
    # 2,400 statements/s each holding a connection 50 ms keep 120 connections busy.
    assert littles_law(2400, 50) == pytest.approx(120)


def test_reads_go_to_the_replicas_and_writes_stay_on_the_primary() -> None:
    assert per_server_query_rates(2400, 0.9, 2) == pytest.approx((240, 1080))


def test_without_replicas_the_primary_carries_every_statement() -> None:
    assert per_server_query_rates(2400, 0.9, 0) == (2400, None)


def test_storage_per_user_from_the_seed() -> None:
    # Seed: ~7.5 GB of data at 300k users, i.e. ~25 KiB each.
    assert data_gib(300_000, 25) == pytest.approx(7.15, abs=0.01)


def test_cache_working_set_counts_every_session_and_the_kept_hot_data() -> None:
    # 15,000 concurrent x 8 sessions x 2 KiB = 240,000 KiB; 120,000 active x 25 KiB x 0.95 = 2,850,000 KiB.
    gib = cache_working_set_gib(
        peak_concurrent_users=15_000,
        daily_active_users=120_000,
        sessions_per_concurrent_user=8,
        session_kib=2,
        hot_data_kib_per_active_user=25,
        kept_share=0.95,
    )
    assert gib == pytest.approx((240_000 + 2_850_000) / 1024 / 1024)


def test_elasticache_reserved_memory_is_not_data_memory() -> None:
    assert ELASTICACHE_RESERVED_MEMORY_PERCENT == 25
    assert usable_cache_memory_gib(3.09, 2) == pytest.approx(3.09 * 0.75 * 2)


def test_optimize_cache_figures() -> None:
    # 3,090,000 KiB x 1.5 headroom = 4.42 GiB, against 2 x 3.09 GiB x 0.75 = 4.635 GiB.
    needed, available = requirement(phase_config("optimize"), "cache memory")
    assert needed == pytest.approx(4.42, abs=0.01)
    assert available == pytest.approx(4.635)


def test_noeviction_must_hold_all_the_hot_data() -> None:
    config = phase_config("optimize")
    lru = cache_requirement(config.capacity, config.cache)
    noeviction = cache_requirement(
        config.capacity, config.cache.model_copy(update={"maxmemory_policy": MaxMemoryPolicy.NOEVICTION})
    )
    # The hot data at 100% rather than the 95% hit ratio: 120,000 x 25 KiB x 0.05 x 1.5 more.
    assert noeviction.needed - lru.needed == pytest.approx(120_000 * 25 * 0.05 * 1.5 / 1024 / 1024)
    assert "noeviction" in noeviction.arithmetic


def test_pgbouncer_pools_are_judged_at_the_autoscaler_floor() -> None:
    config = phase_config("optimize")
    assert config.pgbouncer is not None
    floor = config.pgbouncer.autoscaling.min_replicas
    _, available = requirement(config, "PgBouncer read-only server connections")
    assert config.pgbouncer.read_only_pool is not None
    assert available == floor * config.pgbouncer.read_only_pool.default_pool_size
    assert floor < config.pgbouncer.autoscaling.max_replicas  # the floor, not the ceiling


def test_optimize_pgbouncer_and_database_figures() -> None:
    config = phase_config("optimize")
    # 600 requests/s x 2 transactions x 100 ms x 1.5 = 180 busy, 0.9 of them read-only.
    assert requirement(config, "PgBouncer read-only server connections") == (162, 175)
    assert requirement(config, "PgBouncer read-write server connections") == (18, 175)
    # 600 x 4 = 2,400 statements/s; each of 2 replicas 1,080 x 1.5 / 1,000 = 1.62 vCPUs of 2.
    assert requirement(config, "database each read replica vCPUs") == (1.62, 2)
    # 1,080 x 50 ms x 1.5 = 81 connections of 256 - 10.
    assert requirement(config, "database each read replica connections") == (81, 246)


def test_direct_clients_are_checked_only_without_pgbouncer() -> None:
    whats = {r.what for r in phase_config("foundation").data_tier_requirements()}
    assert "database client connections (no PgBouncer)" in whats
    assert "PgBouncer client connections" not in whats
    whats = {r.what for r in phase_config("scale").data_tier_requirements()}
    assert "database client connections (no PgBouncer)" not in whats
    assert "PgBouncer client connections" in whats


@pytest.mark.parametrize("phase", PHASES)
def test_committed_phases_carry_their_peak(phase: str) -> None:
    short = [r.line() for r in phase_config(phase).data_tier_requirements() if not r.passes]
    assert short == []


# --- properties -----------------------------------------------------------------------------

rates = st.floats(min_value=0, max_value=1e6, allow_nan=False)
shares = st.floats(min_value=0.01, max_value=1, allow_nan=False)


@given(qps=rates, share=shares, replicas=st.integers(min_value=1, max_value=5))
def test_split_keeps_every_statement(qps: float, share: float, replicas: int) -> None:
    primary, each = per_server_query_rates(qps, share, replicas)
    assert each is not None
    assert primary + each * replicas == pytest.approx(qps, rel=1e-9, abs=1e-6)


@given(qps=rates, share=shares, replicas=st.integers(min_value=1, max_value=4))
def test_another_replica_never_adds_load_to_a_replica(qps: float, share: float, replicas: int) -> None:
    _, fewer = per_server_query_rates(qps, share, replicas)
    _, more = per_server_query_rates(qps, share, replicas + 1)
    assert fewer is not None
    assert more is not None
    assert more <= fewer


@given(
    concurrent=st.floats(min_value=0, max_value=1e7),
    extra=st.floats(min_value=0, max_value=1e7),
    kept=shares,
    more_kept=shares,
)
def test_working_set_grows_with_users_and_hit_ratio(
    concurrent: float, extra: float, kept: float, more_kept: float
) -> None:
    def gib(users: float, share: float) -> float:
        return cache_working_set_gib(
            peak_concurrent_users=users,
            daily_active_users=users * 8,
            sessions_per_concurrent_user=8,
            session_kib=2,
            hot_data_kib_per_active_user=25,
            kept_share=share,
        )

    low, high = sorted((kept, more_kept))
    assert gib(concurrent, low) <= gib(concurrent + extra, high) * (1 + 1e-12)


@given(rate=rates, time_ms=st.floats(min_value=0, max_value=1e4), factor=st.floats(min_value=1, max_value=10))
def test_littles_law_is_linear(rate: float, time_ms: float, factor: float) -> None:
    assert littles_law(rate * factor, time_ms) == pytest.approx(littles_law(rate, time_ms) * factor, rel=1e-9)


# --- rejections: each tier too small for its peak -------------------------------------------


def test_rejects_an_undersized_database_class() -> None:
    # Optimize at 40 KiB per user: 300,000 x 40 KiB x 1.5 = 17.17 GiB of hot data against
    # 0.75 x db.r6g.large's 16 GiB = 12 GiB. (A smaller class trips the PgBouncer budget first.)
    config = changed("database.sizing.storage_kib_per_user", 40, "optimize")
    (line,) = rejection(config, "Pulumi.optimize.yaml")
    assert line == (
        "Pulumi.optimize.yaml: scaleplan:database.instance_class: cannot carry the peak: database memory for hot "
        "data: 17.17 GiB needed, 12 available (300,000 users x 40 KiB x hot 1 x headroom 1.5; 0.75 of "
        "db.r6g.large's 16 GiB); 5.17 GiB short"
    )


def test_rejects_a_database_class_without_the_vcpus_for_the_reads() -> None:
    # Optimize with one read replica: 2,160 reads/s x 1.5 / 1,000 per vCPU = 4 vCPUs on a 2-vCPU class.
    config = changed("database.read_replica_count", 1, "optimize")
    (line,) = rejection(config, "Pulumi.optimize.yaml")
    assert "scaleplan:database.instance_class: cannot carry the peak: database each read replica vCPUs: " in line
    assert "4 vCPUs needed, 2 available" in line


def test_rejects_database_storage_below_the_data() -> None:
    # Foundation at 20,000 KiB per user: 5,000 x 20,000 KiB x 1.5 = 143 GiB on 50 allocated
    # (a hot share of 0.001 keeps the memory check out of the way).
    config = changed("database.sizing", {"storage_kib_per_user": 20_000, "hot_data_share": 0.001}, "foundation")
    (line,) = rejection(config, "Pulumi.foundation.yaml")
    assert line.startswith(
        "Pulumi.foundation.yaml: scaleplan:database.allocated_storage_gib: cannot carry the peak: database "
        "storage: 143.05 GiB needed, 50 available"
    ), line


def test_rejects_direct_connections_above_max_connections() -> None:
    # Foundation has no PgBouncer: 8 application vCPUs x 10 = 80 connections, 64 - 10 = 54 available.
    config = changed("database.sizing.client_connections_per_application_vcpu", 10, "foundation")
    (line,) = rejection(config, "Pulumi.foundation.yaml")
    assert line == (
        "Pulumi.foundation.yaml: scaleplan:database.instance_class: cannot carry the peak: database client "
        "connections (no PgBouncer): 80 connections needed, 54 available (8 application vCPUs at maximum sizes x "
        "10 per vCPU; max_connections 64 - 10 reserved); 26 connections short"
    )


def test_rejects_an_undersized_cache() -> None:
    # The optimize cache as it was: 3 shards of cache.t4g.small hold 3 x 1.37 x 0.75 = 3.08 GiB.
    config = updated("optimize", "cache", node_type="cache.t4g.small", shards=3)
    (line,) = rejection(config, "Pulumi.optimize.yaml")
    assert line == (
        "Pulumi.optimize.yaml: scaleplan:cache.node_type: cannot carry the peak: cache memory: 4.42 GiB needed, "
        "3.08 available ((15,000 concurrent x 8 sessions x 2 KiB + 120,000 daily active x 25 KiB x hit ratio "
        "0.95) x headroom 1.5; 3 shards x cache.t4g.small 1.37 GiB less 25% reserved memory); 1.34 GiB short"
    )


def test_rejects_an_undersized_pgbouncer_read_only_pool() -> None:
    # Scale at the seed's 2 replicas: 54 busy read-only server connections against 2 x 25.
    config = updated("scale", "pgbouncer", replicas=2, autoscaling={"min_replicas": 2, "max_replicas": 6})
    (line,) = rejection(config, "Pulumi.scale.yaml")
    assert line == (
        "Pulumi.scale.yaml: scaleplan:pgbouncer.read_only_pool.default_pool_size: cannot carry the peak: "
        "PgBouncer read-only server connections: 54 connections needed, 50 available (200 requests/s x 2 "
        "transactions x 100 ms x headroom 1.5 x 0.9 of them; autoscaling.min_replicas 2 x "
        "read_only_pool.default_pool_size 25); 4 connections short"
    )


def test_rejects_an_undersized_pgbouncer_pool() -> None:
    # Growth (no read replicas): 50 x 2 x 100 ms x 1.5 = 15 busy against 2 x 7.
    config = updated("growth", "pgbouncer", default_pool_size=7, min_pool_size=5)
    (line,) = rejection(config)
    assert line.startswith(
        "Pulumi.growth.yaml: scaleplan:pgbouncer.default_pool_size: cannot carry the peak: PgBouncer read-write "
        "server connections: 15 connections needed, 14 available"
    ), line


def test_rejects_too_few_pgbouncer_client_connections() -> None:
    # Growth: 16 application vCPUs x 5 = 80 clients against 2 x 30.
    config = changed("pgbouncer.max_client_conn", 30, "growth")
    (line,) = rejection(config)
    assert line.startswith(
        "Pulumi.growth.yaml: scaleplan:pgbouncer.max_client_conn: cannot carry the peak: PgBouncer client "
        "connections: 80 connections needed, 60 available"
    ), line


def test_sizing_blocks_are_required() -> None:
    config = changed("cache.sizing", None, "growth")
    del config["scaleplan:cache"]["sizing"]
    lines = rejection(config)
    assert any(line.startswith("Pulumi.growth.yaml: scaleplan:cache.sizing: ") for line in lines), lines
