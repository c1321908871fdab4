"""The connection budget arithmetic, without any Pulumi."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from infra.pgbouncer.budget import budget_problems, pool_budgets
from tests.pgbouncer_fixtures import pgbouncer_config


def test_budget_shows_the_arithmetic() -> None:
    [primary, replica] = pool_budgets(
        pgbouncer_config(), primary_max_connections=256, replica_max_connections=256, reserved_connections=10
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
        pgbouncer_config(), primary_max_connections=256, replica_max_connections=None, reserved_connections=10
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
        config, primary_max_connections=max_connections, replica_max_connections=None, reserved_connections=reserved
    )
    fits = max_replicas * (pool + reserve) <= max_connections - reserved
    assert (problems == []) == fits
    if not fits:
        [(path, message)] = problems
        assert path == "default_pool_size"
        assert f"= {max_replicas * (pool + reserve)} server connections" in message
        assert f"{max_replicas * (pool + reserve) - (max_connections - reserved)} too many" in message
