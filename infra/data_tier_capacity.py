"""The data tier's capacity model: from the peak load to what PostgreSQL, the cache and PgBouncer need.

Pure functions beside :mod:`infra.capacity` (which turns users into peak requests per second).
Each check compares what the peak needs, with the phase's ``capacity.headroom_factor``, with
what the stack file provides, and says how the need was computed, so a reviewer can redo the
sum by hand. The root config model rejects a phase whose data tier fails any of them; the
offline plan shows them all.

The model (coefficients from ``scaleplan:<tier>.sizing``, see :mod:`infra.config.sizing`):

- database: statements/s = peak requests/s x ``queries_per_request``; with read replicas the
  reads (``read_query_share``) spread over the replicas and the primary keeps the writes. Per
  server, vCPUs = statements/s x headroom / ``queries_per_second_per_vcpu``; busy connections
  (Little's law) = statements/s x ``query_time_ms`` x headroom, against ``max_connections``
  less the reserve; the hot data (users x ``storage_kib_per_user`` x ``hot_data_share``) x
  headroom against the memory ``effective_cache_size`` assumes (3/4 of the class's); the data
  x headroom against ``allocated_storage_gib``; without PgBouncer, the application's client
  connections against ``max_connections`` less the reserve.
- cache: sessions (peak concurrent users x ``sessions_per_concurrent_user`` x ``session_kib``)
  plus the hot data kept (daily active users x ``hot_data_kib_per_active_user`` x
  ``hit_ratio_target``, or all of it under ``noeviction``, where a full cache refuses writes)
  x headroom, against node memory less ElastiCache's reserved memory, times shards.
- PgBouncer: busy server connections (Little's law) = peak requests/s x
  ``transactions_per_request`` x ``transaction_time_ms`` x headroom, split between the
  read-write and read-only pools by ``read_query_share``, against ``default_pool_size`` x
  ``autoscaling.min_replicas`` (the autoscaler scales on CPU, not on clients waiting for a
  server connection, so only the floor is certain); client connections against
  ``max_client_conn`` x ``autoscaling.min_replicas``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.capacity import average_vcpus, demand, demand_vcpus, surplus_credit_vcpu_hours
from infra.catalog import DataNodeClass
from infra.config.cache import CacheConfig, MaxMemoryPolicy
from infra.config.capacity import BurstSizing, CapacityConfig
from infra.config.database import DatabaseConfig
from infra.config.pgbouncer import PgBouncerConfig
from infra.config.sizing import DatabaseSizing

KIB_PER_GIB = 1024 * 1024

ELASTICACHE_RESERVED_MEMORY_PERCENT = 25
"""``reserved-memory-percent`` of the default Redis OSS and Valkey parameter groups, which the
cache's own parameter group inherits (it sets only ``cluster-enabled`` and the eviction
policy): memory kept back for replication and snapshots, unavailable to data. AWS,
"Managing reserved memory for Valkey and Redis OSS", ElastiCache User Guide."""

EFFECTIVE_CACHE_SHARE = 0.75
"""Share of the class's memory that ``effective_cache_size`` (infra/database/parameters.py)
tells the planner is cache: shared buffers plus the operating system's page cache."""


@dataclass(frozen=True, kw_only=True)
class Requirement:
    """One figure the peak needs against what the stack file provides."""

    key: str
    """The config key (under ``scaleplan:``) a user would raise to fix a shortfall."""
    what: str
    needed: float
    available: float
    unit: str
    arithmetic: str
    """How ``needed`` and ``available`` were computed, in the stack file's terms."""

    @property
    def passes(self) -> bool:
        # Round so that float noise in a product never decides the verdict.
        return round(self.needed, 6) <= round(self.available, 6)

    def needed_of_available(self) -> str:
        return f"{_num(self.needed)} / {_num(self.available)} {self.unit}"

    def figures(self) -> str:
        return f"{self.what}: {_num(self.needed)} {self.unit} needed, {_num(self.available)} available"

    def line(self) -> str:
        return f"{self.figures()} ({self.arithmetic})"

    def problem(self) -> str:
        return f"cannot carry the peak: {self.line()}; {_num(self.needed - self.available)} {self.unit} short"


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _sustained(spec: DataNodeClass, burst: BurstSizing = BurstSizing.BASELINE) -> str:
    if not spec.burstable:
        return f"{spec.vcpus}"
    if burst is BurstSizing.UNLIMITED:
        return (
            f"{spec.vcpus} in unlimited mode (the daily average above its {spec.baseline_percent_per_vcpu:g}% "
            "CPU-credit baseline is priced as surplus credits)"
        )
    return f"{spec.sustained_vcpus:g} ({spec.vcpus} vCPUs at a {spec.baseline_percent_per_vcpu:g}% CPU-credit baseline)"


def littles_law(rate_per_second: float, time_ms: float) -> float:
    """Items in the system = arrival rate x time each stays (Little's law)."""
    return rate_per_second * time_ms / 1000


def per_server_query_rates(peak_qps: float, read_share: float, read_replicas: int) -> tuple[float, float | None]:
    """``(primary, each replica)`` statements/s: reads go to the replicas when there are any."""
    if read_replicas == 0:
        return peak_qps, None
    return peak_qps * (1 - read_share), peak_qps * read_share / read_replicas


def data_gib(users: int, kib_per_user: float) -> float:
    return users * kib_per_user / KIB_PER_GIB


def cache_working_set_gib(
    *,
    peak_concurrent_users: float,
    daily_active_users: float,
    sessions_per_concurrent_user: float,
    session_kib: float,
    hot_data_kib_per_active_user: float,
    kept_share: float,
) -> float:
    """Sessions (all of them: an evicted session is a signed-out user) plus the kept hot data."""
    sessions = peak_concurrent_users * sessions_per_concurrent_user * session_kib
    hot = daily_active_users * hot_data_kib_per_active_user * kept_share
    return (sessions + hot) / KIB_PER_GIB


def usable_cache_memory_gib(node_memory_gib: float, shards: int) -> float:
    """Data memory of the cluster: each shard's primary holds its slice of the keys."""
    return node_memory_gib * (1 - ELASTICACHE_RESERVED_MEMORY_PERCENT / 100) * shards


def database_requirements(
    capacity: CapacityConfig, database: DatabaseConfig, *, application_vcpus: int, pooled: bool
) -> list[Requirement]:
    """``pooled``: PgBouncer stands between the application and PostgreSQL (it is checked by
    :func:`pgbouncer_requirements`); otherwise the application's pools connect directly."""
    """CPU, busy connections and memory per server, storage, and direct clients (no PgBouncer)."""
    sizing: DatabaseSizing = database.sizing
    headroom = capacity.headroom_factor
    peak_rps = demand(capacity).peak_requests_per_second
    peak_qps = peak_rps * sizing.queries_per_request
    primary_qps, replica_qps = per_server_query_rates(peak_qps, sizing.read_query_share, database.read_replica_count)
    spec = database.instance
    budget = database.connection_budget()
    servers = [("primary", primary_qps)]
    if replica_qps is not None:
        servers.append(("each read replica", replica_qps))
    source = f"{peak_rps:.0f} requests/s x {sizing.queries_per_request:g} queries/request"
    split = (
        ""
        if replica_qps is None
        else f" x {1 - sizing.read_query_share:g} writes (primary) or x {sizing.read_query_share:g} reads / "
        f"{database.read_replica_count} replicas"
    )
    requirements: list[Requirement] = []
    for server, qps in servers:
        requirements.append(
            Requirement(
                key="database.instance_class",
                what=f"database {server} vCPUs",
                needed=demand_vcpus(qps, headroom, sizing.queries_per_second_per_vcpu),
                available=database.peak_vcpus,
                unit="vCPUs",
                arithmetic=f"{source}{split} = {qps:.0f} queries/s x headroom {headroom:g} / "
                f"{sizing.queries_per_second_per_vcpu:g} per vCPU; {database.instance_class} sustains "
                + _sustained(spec, database.burst_sizing),
            )
        )
        requirements.append(
            Requirement(
                key="database.instance_class",
                what=f"database {server} connections",
                needed=math.ceil(round(littles_law(qps, sizing.query_time_ms) * headroom, 9)),
                available=budget.available,
                unit="connections",
                arithmetic=f"{qps:.0f} queries/s x {sizing.query_time_ms:g} ms x headroom {headroom:g}; "
                f"max_connections {budget.max_connections} - {budget.reserved} reserved",
            )
        )
    data = data_gib(capacity.users_max, sizing.storage_kib_per_user)
    cache_gib = spec.memory_gib * EFFECTIVE_CACHE_SHARE
    requirements.append(
        Requirement(
            key="database.instance_class",
            what="database memory for hot data",
            needed=data * sizing.hot_data_share * headroom,
            available=cache_gib,
            unit="GiB",
            arithmetic=f"{capacity.users_max:,} users x {sizing.storage_kib_per_user:g} KiB x hot "
            f"{sizing.hot_data_share:g} x headroom {headroom:g}; {EFFECTIVE_CACHE_SHARE:g} of "
            f"{database.instance_class}'s {spec.memory_gib:g} GiB",
        )
    )
    requirements.append(
        Requirement(
            key="database.allocated_storage_gib",
            what="database storage",
            needed=data * headroom,
            available=database.allocated_storage_gib,
            unit="GiB",
            arithmetic=f"{capacity.users_max:,} users x {sizing.storage_kib_per_user:g} KiB x headroom {headroom:g}",
        )
    )
    if not pooled:
        per_vcpu = sizing.client_connections_per_application_vcpu
        requirements.append(
            Requirement(
                key="database.instance_class",
                what="database client connections (no PgBouncer)",
                needed=application_vcpus * per_vcpu,
                available=budget.available,
                unit="connections",
                arithmetic=f"{application_vcpus} application vCPUs at maximum sizes x {per_vcpu} per vCPU; "
                f"max_connections "
                f"{budget.max_connections} - {budget.reserved} reserved",
            )
        )
    return requirements


def database_surplus_credit_vcpu_hours(capacity: CapacityConfig, database: DatabaseConfig) -> float:
    """vCPU-hours a month the primary and replicas of a burstable class use above their CPU-credit
    baseline at the plan's average load (peak / ``peak_to_average_ratio``, no headroom), summed
    over the servers: what RDS bills as CPU credits (db.t4g classes always run unlimited). Zero
    for a fixed-performance class; a Multi-AZ standby runs no queries."""
    spec = database.instance
    if not spec.burstable:
        return 0.0
    sizing = database.sizing
    average_qps = demand(capacity).average_requests_per_second * sizing.queries_per_request
    primary, replica = per_server_query_rates(average_qps, sizing.read_query_share, database.read_replica_count)
    per_vcpu = sizing.queries_per_second_per_vcpu
    total = surplus_credit_vcpu_hours(average_vcpus(primary, per_vcpu), spec.sustained_vcpus)
    if replica is not None:
        total += database.read_replica_count * surplus_credit_vcpu_hours(
            average_vcpus(replica, per_vcpu), spec.sustained_vcpus
        )
    return round(total, 6)


def cache_requirement(capacity: CapacityConfig, cache: CacheConfig) -> Requirement:
    sizing = cache.sizing
    load = demand(capacity)
    headroom = capacity.headroom_factor
    keeps_all = cache.maxmemory_policy is MaxMemoryPolicy.NOEVICTION
    kept = 1.0 if keeps_all else sizing.hit_ratio_target
    working_set = cache_working_set_gib(
        peak_concurrent_users=load.peak_concurrent_users,
        daily_active_users=load.daily_active_users,
        sessions_per_concurrent_user=sizing.sessions_per_concurrent_user,
        session_kib=sizing.session_kib,
        hot_data_kib_per_active_user=sizing.hot_data_kib_per_active_user,
        kept_share=kept,
    )
    kept_words = "all of it (noeviction)" if keeps_all else f"hit ratio {sizing.hit_ratio_target:g}"
    return Requirement(
        key="cache.node_type",
        what="cache memory",
        needed=working_set * headroom,
        available=usable_cache_memory_gib(cache.node.memory_gib, cache.shards),
        unit="GiB",
        arithmetic=f"({load.peak_concurrent_users:,.0f} concurrent x {sizing.sessions_per_concurrent_user:g} "
        f"sessions x {sizing.session_kib:g} KiB + {load.daily_active_users:,.0f} daily active x "
        f"{sizing.hot_data_kib_per_active_user:g} KiB x {kept_words}) x headroom {headroom:g}; "
        f"{cache.shards} shard{'' if cache.shards == 1 else 's'} x {cache.node_type} "
        f"{cache.node.memory_gib:g} GiB less "
        f"{ELASTICACHE_RESERVED_MEMORY_PERCENT}% reserved memory",
    )


def pgbouncer_requirements(
    capacity: CapacityConfig,
    pgbouncer: PgBouncerConfig,
    *,
    read_query_share: float,
    read_replicas: int,
    application_vcpus: int,
    client_connections_per_application_vcpu: int,
) -> list[Requirement]:
    sizing = pgbouncer.sizing
    headroom = capacity.headroom_factor
    peak_rps = demand(capacity).peak_requests_per_second
    tps = peak_rps * sizing.transactions_per_request
    busy = littles_law(tps, sizing.transaction_time_ms) * headroom
    floor = pgbouncer.autoscaling.min_replicas
    read_only = pgbouncer.read_only_pool if read_replicas else None
    source = (
        f"{peak_rps:.0f} requests/s x {sizing.transactions_per_request:g} transactions x "
        f"{sizing.transaction_time_ms:g} ms x headroom {headroom:g}"
    )
    pools = [("pgbouncer.default_pool_size", "read-write", pgbouncer.default_pool_size, 1.0)]
    if read_only is not None:
        pools = [
            ("pgbouncer.default_pool_size", "read-write", pgbouncer.default_pool_size, 1 - read_query_share),
            ("pgbouncer.read_only_pool.default_pool_size", "read-only", read_only.default_pool_size, read_query_share),
        ]
    requirements = [
        Requirement(
            key=key,
            what=f"PgBouncer {name} server connections",
            needed=math.ceil(round(busy * share, 9)),
            available=floor * pool_size,
            unit="connections",
            arithmetic=f"{source}{'' if share == 1.0 else f' x {share:g} of them'}; autoscaling.min_replicas "
            f"{floor} x {key.removeprefix('pgbouncer.')} {pool_size}",
        )
        for key, name, pool_size, share in pools
    ]
    requirements.append(
        Requirement(
            key="pgbouncer.max_client_conn",
            what="PgBouncer client connections",
            needed=application_vcpus * client_connections_per_application_vcpu,
            available=floor * pgbouncer.max_client_conn,
            unit="connections",
            arithmetic=f"{application_vcpus} application vCPUs at maximum sizes x "
            f"{client_connections_per_application_vcpu} per vCPU; autoscaling.min_replicas "
            f"{floor} x max_client_conn {pgbouncer.max_client_conn}",
        )
    )
    return requirements
