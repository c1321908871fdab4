"""The connection budget: do all PgBouncer replicas together fit the database's ``max_connections``?

Pure arithmetic, no Pulumi. Each PgBouncer replica opens at most ``default_pool_size +
reserve_pool_size`` server connections per pool (the rendered ini caps it with
``max_db_connections``), and the autoscaler can run up to ``autoscaling.max_replicas`` of
them, so the worst case is the product. The database must still have its reserve left
(superuser and maintenance sessions, migrations, applications that connect directly).

The read-only pool is checked per read replica: PgBouncer spreads new server connections
over the replica hosts round-robin (its default host strategy, pgbouncer/pgbouncer#736), but
when replicas are down they land on the survivors. By default each replica must be able to
take the whole read-only pool alone (every other replica down). A stack file may instead
state ``read_only_pool.replicas_down_tolerated: k``: the pool is then budgeted spread over the
``read_replica_count - k`` replicas left up, rounded up. That is what lets more replicas carry
a pool no single replica's ``max_connections`` could (the memory model caps it near 400-500
whatever the class: infra/database/parameters.py), at the stated cost that beyond ``k``
replicas down the survivors refuse the excess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.config.pgbouncer import PgBouncerConfig


@dataclass(frozen=True, kw_only=True)
class PoolBudget:
    """One pool's worst case against one database server."""

    target: str
    """``the primary`` or ``each read replica``."""
    path: str
    """Config path, relative to ``scaleplan:pgbouncer``, that a user would lower."""
    pool_key: str
    pgbouncer_replicas: int
    pool_size: int
    reserve_pool_size: int
    max_connections: int
    reserved_connections: int
    servers_sharing: int = 1
    """Database servers the pool is spread over in the budgeted worst case (replicas left up)."""

    @property
    def pool_connections(self) -> int:
        """Every PgBouncer replica's pool and reserve together."""
        return self.pgbouncer_replicas * (self.pool_size + self.reserve_pool_size)

    @property
    def server_connections(self) -> int:
        """The most one database server takes: the whole pool, or its share among the servers left up."""
        return math.ceil(self.pool_connections / self.servers_sharing)

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved_connections

    @property
    def fits(self) -> bool:
        return self.server_connections <= self.available

    def arithmetic(self) -> str:
        """The sum as a user can check it by hand."""
        pool = (
            f"autoscaling.max_replicas {self.pgbouncer_replicas} x ({self.pool_key}default_pool_size "
            f"{self.pool_size} + {self.pool_key}reserve_pool_size {self.reserve_pool_size})"
        )
        if self.servers_sharing > 1:
            pool = f"{pool} = {self.pool_connections} over {self.servers_sharing} read replicas left up"
        return (
            f"{pool} = {self.server_connections} server connections to {self.target}; max_connections "
            f"{self.max_connections} - {self.reserved_connections} reserved = {self.available} available"
        )

    def problem(self) -> str:
        return (
            f"{self.arithmetic()}, {self.server_connections - self.available} too many; lower the pool sizes "
            "or autoscaling.max_replicas, or give the database more max_connections"
        )


def pool_budgets(
    config: PgBouncerConfig,
    *,
    primary_max_connections: int,
    replica_max_connections: int | None,
    reserved_connections: int,
    read_replicas: int,
) -> list[PoolBudget]:
    """The budget of each pool the config declares (read-only only if it has one).

    ``read_replicas`` is the database's read replica count, over which the read-only pool is
    spread when ``read_only_pool.replicas_down_tolerated`` is stated.
    """
    replicas = config.autoscaling.max_replicas
    budgets = [
        PoolBudget(
            target="the primary",
            path="default_pool_size",
            pool_key="",
            pgbouncer_replicas=replicas,
            pool_size=config.default_pool_size,
            reserve_pool_size=config.reserve_pool_size,
            max_connections=primary_max_connections,
            reserved_connections=reserved_connections,
        )
    ]
    read_only = config.read_only_pool
    if read_only is not None and replica_max_connections is not None:
        budgets.append(
            PoolBudget(
                target="each read replica",
                path="read_only_pool.default_pool_size",
                pool_key="read_only_pool.",
                pgbouncer_replicas=replicas,
                pool_size=read_only.default_pool_size,
                reserve_pool_size=read_only.reserve_pool_size,
                max_connections=replica_max_connections,
                reserved_connections=reserved_connections,
                servers_sharing=(
                    1
                    if read_only.replicas_down_tolerated is None
                    else read_replicas - read_only.replicas_down_tolerated
                ),
            )
        )
    return budgets


def budget_problems(
    config: PgBouncerConfig,
    *,
    primary_max_connections: int,
    replica_max_connections: int | None,
    reserved_connections: int,
    read_replicas: int,
) -> list[tuple[str, str]]:
    """``(path, message)`` for each pool that does not fit; empty when all fit."""
    return [
        (budget.path, budget.problem())
        for budget in pool_budgets(
            config,
            primary_max_connections=primary_max_connections,
            replica_max_connections=replica_max_connections,
            reserved_connections=reserved_connections,
            read_replicas=read_replicas,
        )
        if not budget.fits
    ]
