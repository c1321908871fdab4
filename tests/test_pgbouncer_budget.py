"""The connection budget arithmetic, without any Pulumi."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from infra.pgbouncer.budget import budget_problems, pool_budgets
from tests.pgbouncer_fixtures import pgbouncer_config


def test_budget_shows_the_arithmetic() -> None:
    [primary, replica] = pool_budgets(
        pgbouncer_config(),
        primary_max_connections=256,
        replica_max_connections=256,
        reserved_connections=10,
        read_replicas=1,
    )
    assert primary.arithmetic() == (
        "autoscaling.max_replicas 6 x (default_pool_size 25 + reserve_pool_size 5) = 180 server connections to "
        "the primary; max_connections 256 - 10 reserved = 246 available"
    )
    assert replica.server_connections == 6 * (20 + 5)
    assert primary.fits
    assert replica.fits


def test_no_read_only_budget_without_replicas() -> None:
    budgets = pool_budgets(
        pgbouncer_config(),
        primary_max_connections=256,
        replica_max_connections=None,
        reserved_connections=10,
        read_replicas=0,
    )
    assert [budget.target for budget in budgets] == ["the primary"]


@given(
    max_replicas=st.integers(2, 100),
    pool=st.integers(1, 1000),
    reserve=st.integers(0, 1000),
    max_connections=st.integers(25, 5000),
    reserved=st.integers(0, 20),
)
def test_a_pool_fits_exactly_when_all_replicas_stay_within_max_connections(
    max_replicas: int, pool: int, reserve: int, max_connections: int, reserved: int
) -> None:
    config = pgbouncer_config(
        autoscaling={"min_replicas": 2, "max_replicas": max_replicas},
        default_pool_size=pool,
        min_pool_size=0,
        reserve_pool_size=reserve,
        read_only_pool=None,
    )
    problems = budget_problems(
        config,
        primary_max_connections=max_connections,
        replica_max_connections=None,
        reserved_connections=reserved,
        read_replicas=0,
    )
    fits = max_replicas * (pool + reserve) <= max_connections - reserved
    assert (problems == []) == fits
    if not fits:
        [(path, message)] = problems
        assert path == "default_pool_size"
        assert f"= {max_replicas * (pool + reserve)} server connections" in message
        assert f"{max_replicas * (pool + reserve) - (max_connections - reserved)} too many" in message


def test_each_read_replica_takes_the_whole_read_only_pool_by_default() -> None:
    [_, replica] = pool_budgets(
        pgbouncer_config(),
        primary_max_connections=256,
        replica_max_connections=256,
        reserved_connections=10,
        read_replicas=4,
    )
    assert replica.servers_sharing == 1
    assert replica.server_connections == 6 * (20 + 5)


def test_read_only_pool_is_spread_over_the_replicas_left_up_when_a_loss_is_tolerated() -> None:
    config = pgbouncer_config(
        read_only_pool={
            "default_pool_size": 20,
            "min_pool_size": 5,
            "reserve_pool_size": 5,
            "replicas_down_tolerated": 1,
        }
    )
    [_, replica] = pool_budgets(
        config, primary_max_connections=256, replica_max_connections=256, reserved_connections=10, read_replicas=4
    )
    # 6 PgBouncer replicas x 25 = 150 connections round-robin over the 3 replicas left up: 50 each.
    assert replica.servers_sharing == 3
    assert replica.pool_connections == 150
    assert replica.server_connections == 50
    assert replica.arithmetic() == (
        "autoscaling.max_replicas 6 x (read_only_pool.default_pool_size 20 + read_only_pool.reserve_pool_size 5) = "
        "150 over 3 read replicas left up = 50 server connections to each read replica; max_connections 256 - 10 "
        "reserved = 246 available"
    )


def test_a_tolerated_loss_budget_rounds_the_share_up() -> None:
    config = pgbouncer_config(
        read_only_pool={
            "default_pool_size": 20,
            "min_pool_size": 5,
            "reserve_pool_size": 5,
            "replicas_down_tolerated": 1,
        }
    )
    problems = budget_problems(
        config, primary_max_connections=256, replica_max_connections=85, reserved_connections=10, read_replicas=3
    )
    # 150 over 2 replicas is 75 each: exactly the 85 - 10 available, so it fits; one more reserved does not.
    assert problems == []
    assert budget_problems(
        config, primary_max_connections=256, replica_max_connections=85, reserved_connections=11, read_replicas=3
    ) == [
        (
            "read_only_pool.default_pool_size",
            "autoscaling.max_replicas 6 x (read_only_pool.default_pool_size 20 + read_only_pool.reserve_pool_size 5) "
            "= 150 over 2 read replicas left up = 75 server connections to each read replica; max_connections 85 - "
            "11 reserved = 74 available, 1 too many; lower the pool sizes or autoscaling.max_replicas, or give the "
            "database more max_connections",
        )
    ]
