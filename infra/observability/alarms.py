"""Alarm definitions from the configured levels and what the phase runs: pure functions, no Pulumi.

Every alarm here notifies people (the alerts topic); the Auto Scaling group's own alarms,
which scale it, live in infra/compute/asg.py. Which alarms exist follows what the phase
creates (:class:`Watched`), never the phase's name.

``treat_missing_data`` is chosen per signal, and the reason is stated beside each choice:
no requests is not an error or a slow response (``notBreaching``); a host metric that stops
arriving says the host is gone, which a CPU alarm cannot diagnose, so its state is kept and it
goes to INSUFFICIENT_DATA (``missing``); a replica being created reports no lag yet and must
not page (``notBreaching``).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infra.config.operations import Levels, OperationsConfig
from infra.observability.metrics import metric_problem

PERIOD_SECONDS = 60
BYTES_PER_GIB = 1024**3


class Level(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Ref:
    """A dimension value only the cloud knows (an ALB ARN suffix, an Auto Scaling group name):
    the component resolves ``key`` to the output it was given."""

    key: str


Dimension = str | Ref


@dataclass(frozen=True)
class MetricQuery:
    id: str
    """Variable name in the alarm's math expression (lowercase first letter)."""
    namespace: str
    metric_name: str
    stat: str
    """``Sum``, ``Average``, ``Maximum`` or a percentile such as ``p95``."""
    dimensions: Mapping[str, Dimension]


@dataclass(frozen=True)
class AlarmDefinition:
    key: str
    """Stable key: the alarm's logical and physical names derive from it."""
    signal: str
    """What is watched, for people: ``error rate``, ``p95 response time``."""
    subject: str
    """Which resource: ``load balancer``, ``postgres primary``, ``cache node ftw-prod-cache-0001-001``."""
    level: Level
    comparison: str
    """A CloudWatch ``ComparisonOperator``."""
    threshold: float
    """In the unit of the metric or expression CloudWatch compares (bytes for free storage)."""
    shown_threshold: str
    """The configured level as the stack file states it: ``> 5%``, ``< 70%``."""
    metrics: tuple[MetricQuery, ...]
    expression: str | None
    """Metric math over ``metrics``; ``None`` alarms on the single metric itself."""
    treat_missing_data: str
    evaluation_periods: int
    period_seconds: int = PERIOD_SECONDS

    def describe(self) -> str:
        return (
            f"{self.level.value}: {self.subject} {self.signal} {self.shown_threshold} for {self.evaluation_periods} min"
        )


@dataclass(frozen=True, kw_only=True)
class DatabaseInstance:
    key: str
    """``primary`` or the replica key (``replica-1``)."""
    identifier: str
    """RDS ``DBInstanceIdentifier``."""
    is_replica: bool


@dataclass(frozen=True, kw_only=True)
class PgBouncerPools:
    """PgBouncer's pool metrics (infra/pgbouncer/metrics.py): where they are published and each
    pool role's ``default_pool_size``, the denominator of its utilisation."""

    cluster: str
    """``ClusterName`` dimension: the EKS cluster the pods run in."""
    database: str
    """``database`` dimension: the application's database, the one pool of each role."""
    pool_sizes: Mapping[str, int]
    """``default_pool_size`` by pool role (``rw``, ``ro``): the ``PoolRole`` dimension."""


@dataclass(frozen=True, kw_only=True)
class Watched:
    """What the phase runs that the alarms watch; empty collections raise no alarms for them."""

    load_balancer: bool
    auto_scaling_groups: Sequence[str] = ()
    """Keys (blue/green slot) of the Auto Scaling groups; each resolves to ``Ref(f"asg:{key}")``."""
    node_groups: Sequence[str] = ()
    """EKS node pools by name; each resolves to ``Ref(f"node_group:{pool}")``, the Auto Scaling
    group EKS runs the pool in."""
    database_instances: Sequence[DatabaseInstance] = ()
    database_max_connections: int = 0
    database_allocated_storage_gib: int = 0
    database_memory_gib: float = 0
    """Memory of the instance class (infra/catalog), for the ``FreeableMemory`` threshold."""
    target_groups: Mapping[str, bool] = dataclasses.field(default_factory=dict)
    """Target groups by slot, ``True`` where the listener sends it traffic (weight above 0);
    each resolves to ``Ref(f"target_group:{slot}")``."""
    cache_nodes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """``CacheClusterId`` of each cache node by a stable key (see :func:`cache_node_ids`)."""
    container_insights_cluster: str | None = None
    """EKS cluster name where Container Insights publishes node and pod metrics; ``None`` (no
    cluster, or no Container Insights) raises no node-memory, disk or pod alarms."""
    pod_namespaces: Sequence[str] = ()
    """Namespaces whose pods are watched through Container Insights (with the cluster above)."""
    pgbouncer: PgBouncerPools | None = None
    """PgBouncer's pools, when it publishes pool metrics; ``None`` raises no PgBouncer alarms."""


def cache_node_ids(
    replication_group_id: str, *, cluster_mode: bool, shards: int, replicas_per_shard: int
) -> dict[str, str]:
    """The member cluster IDs ElastiCache gives a replication group's nodes (their metric
    dimension), keyed by their suffix.

    Cluster mode: ``<group>-<shard:04>-<node:03>`` (``ftw-prod-cache-0002-001``, key
    ``0002-001``); otherwise ``<group>-<node:03>``. Node 001 is the first primary, but failover
    moves the role, so every node is watched alike.
    """
    nodes = range(1, replicas_per_shard + 2)
    if cluster_mode:
        keys = [f"{shard:04d}-{node:03d}" for shard in range(1, shards + 1) for node in nodes]
    else:
        keys = [f"{node:03d}" for node in nodes]
    return {key: f"{replication_group_id}-{key}" for key in keys}


def connections_threshold(percent: float, max_connections: int) -> float:
    """``percent`` of ``max_connections``: 95% of 128 -> 121.6 (alarm above it)."""
    return round(max_connections * percent / 100, 2)


def free_storage_threshold_bytes(used_percent: float, allocated_gib: int) -> float:
    """Free bytes left when ``used_percent`` of ``allocated_gib`` is used: 80% of 100 GiB -> 20 GiB."""
    return float(math.floor(allocated_gib * BYTES_PER_GIB * (100 - used_percent) / 100))


def free_memory_threshold_bytes(used_percent: float, memory_gib: float) -> float:
    """Freeable bytes left when ``used_percent`` of the class's memory is used: 90% of 4 GiB -> 0.4 GiB."""
    return float(math.floor(memory_gib * BYTES_PER_GIB * (100 - used_percent) / 100))


def _levels(levels: Levels | None) -> list[tuple[Level, float]]:
    if levels is None:
        return []
    found = [(Level.WARNING, levels.warning), (Level.CRITICAL, levels.critical)]
    return [(level, value) for level, value in found if value is not None]


def _above(levels: Levels) -> str:
    return "GreaterThanThreshold" if levels.rising else "LessThanThreshold"


def _shown(levels: Levels, value: float) -> str:
    return f"{'>' if levels.rising else '<'} {value:g}{levels.unit}"


def _simple(
    ops: OperationsConfig,
    levels: Levels | None,
    *,
    key: str,
    signal: str,
    subject: str,
    query: MetricQuery,
    treat_missing_data: str,
) -> list[AlarmDefinition]:
    """One alarm per configured level on one metric, compared with the level as configured."""
    if levels is None:
        return []
    return [
        AlarmDefinition(
            key=f"{key}-{level.value}",
            signal=signal,
            subject=subject,
            level=level,
            comparison=_above(levels),
            threshold=value,
            shown_threshold=_shown(levels, value),
            metrics=(query,),
            expression=None,
            treat_missing_data=treat_missing_data,
            evaluation_periods=ops.evaluation_minutes,
        )
        for level, value in _levels(levels)
    ]


def _load_balancer_alarms(ops: OperationsConfig) -> list[AlarmDefinition]:
    lb: Mapping[str, Dimension] = {"LoadBalancer": Ref("load_balancer")}
    alarms = []
    errors = ops.error_rate_percent
    for level, value in _levels(errors):
        assert errors is not None
        alarms.append(
            AlarmDefinition(
                key=f"alb-error-rate-{level.value}",
                signal="target 5xx error rate",
                subject="load balancer",
                level=level,
                comparison=_above(errors),
                threshold=value,
                shown_threshold=_shown(errors, value),
                metrics=(
                    MetricQuery("errors", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", lb),
                    MetricQuery("requests", "AWS/ApplicationELB", "RequestCount", "Sum", lb),
                ),
                # The ALB publishes no 5xx count in a minute without 5xx responses: that is 0.
                expression="100 * FILL(errors, 0) / requests",
                # No requests is not an error rate: an idle night must not page.
                treat_missing_data="notBreaching",
                evaluation_periods=ops.evaluation_minutes,
            )
        )
    latency = ops.response_time_p95_seconds
    for level, value in _levels(latency):
        assert latency is not None
        alarms.append(
            AlarmDefinition(
                key=f"alb-p95-{level.value}",
                signal="p95 response time",
                subject="load balancer",
                level=level,
                comparison=_above(latency),
                threshold=value,
                shown_threshold=_shown(latency, value),
                metrics=(MetricQuery("latency", "AWS/ApplicationELB", "TargetResponseTime", "p95", lb),),
                expression=None,
                # No requests means no latency datapoints: that is not slowness.
                treat_missing_data="notBreaching",
                evaluation_periods=ops.evaluation_minutes,
            )
        )
    # The tail the p95 hides; no requests, no latency, as above.
    alarms += _simple(
        ops,
        ops.response_time_p99_seconds,
        key="alb-p99",
        signal="p99 response time",
        subject="load balancer",
        query=MetricQuery("latency", "AWS/ApplicationELB", "TargetResponseTime", "p99", lb),
        treat_missing_data="notBreaching",
    )
    elb_errors = ops.load_balancer_error_rate_percent
    for level, value in _levels(elb_errors):
        assert elb_errors is not None
        alarms.append(
            AlarmDefinition(
                key=f"alb-elb-5xx-{level.value}",
                signal="5xx answered by the ALB itself",
                subject="load balancer",
                level=level,
                comparison=_above(elb_errors),
                threshold=value,
                shown_threshold=_shown(elb_errors, value),
                metrics=(
                    MetricQuery("elb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", lb),
                    MetricQuery("requests", "AWS/ApplicationELB", "RequestCount", "Sum", lb),
                ),
                # RequestCount leaves out requests the ALB answered before choosing a target (a 503
                # with no healthy target), so those 5xx are added to the denominator.
                expression=(
                    "IF(FILL(requests, 0) + FILL(elb, 0) > 0, 100 * FILL(elb, 0) / (FILL(requests, 0) + FILL(elb, 0)))"
                ),
                # No traffic at all is no error rate.
                treat_missing_data="notBreaching",
                evaluation_periods=ops.evaluation_minutes,
            )
        )
    return alarms


def _target_group_alarms(ops: OperationsConfig, target_groups: Mapping[str, bool]) -> list[AlarmDefinition]:
    alarms: list[AlarmDefinition] = []
    for slot, carries_traffic in sorted(target_groups.items()):
        dims: Mapping[str, Dimension] = {
            "TargetGroup": Ref(f"target_group:{slot}"),
            "LoadBalancer": Ref("load_balancer"),
        }
        subject = f"{slot} target group"
        # A group with no registered targets publishes no host counts: nothing is unhealthy.
        alarms += _simple(
            ops,
            ops.unhealthy_targets,
            key=f"tg-{slot}-unhealthy",
            signal="unhealthy targets",
            subject=subject,
            query=MetricQuery("unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", dims),
            treat_missing_data="notBreaching",
        )
        if carries_traffic:
            # Only a group the listener sends traffic to must have healthy targets (an idle green
            # slot has none). The ALB reports metrics only while requests flow: with requests and
            # no healthy target it reports 0 (and answers 503), so a gap is a quiet night.
            alarms += _simple(
                ops,
                ops.healthy_targets,
                key=f"tg-{slot}-healthy",
                signal="healthy targets",
                subject=subject,
                query=MetricQuery("healthy", "AWS/ApplicationELB", "HealthyHostCount", "Minimum", dims),
                treat_missing_data="notBreaching",
            )
    return alarms


def _cpu_alarm(
    ops: OperationsConfig, level: Level, value: float, *, key: str, subject: str, query: MetricQuery
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"{key}-{level.value}",
        signal="CPU",
        subject=subject,
        level=level,
        comparison=_above(ops.cpu_percent),
        threshold=value,
        shown_threshold=_shown(ops.cpu_percent, value),
        metrics=(query,),
        expression=None,
        # Host metrics arrive every minute while the host runs; their absence is an outage that
        # a CPU alarm cannot name, so it goes to INSUFFICIENT_DATA rather than guessing.
        treat_missing_data="missing",
        evaluation_periods=ops.evaluation_minutes,
    )


def _node_group_alarms(ops: OperationsConfig, pools: Sequence[str]) -> list[AlarmDefinition]:
    """CPU of each EKS node pool, averaged over its instances (EC2 metrics of the pool's Auto
    Scaling group; the launch templates turn on 1-minute detailed monitoring). A pool scaled to
    zero publishes nothing: ``missing`` keeps it out of ALARM."""
    alarms = []
    for pool in pools:
        query = MetricQuery(
            "cpu", "AWS/EC2", "CPUUtilization", "Average", {"AutoScalingGroupName": Ref(f"node_group:{pool}")}
        )
        for level, value in _levels(ops.cpu_percent):
            alarms.append(
                _cpu_alarm(ops, level, value, key=f"nodes-{pool}-cpu", subject=f"{pool} node pool", query=query)
            )
    return alarms


def _container_insights_alarms(ops: OperationsConfig, watched: Watched) -> list[AlarmDefinition]:
    """The hottest node's CPU, memory and disk and, per watched namespace, the pod nearest its
    CPU or memory limit (Container Insights, standard). Each node's agent publishes its values
    under the cluster-wide dimension set as well, so ``Maximum`` over ``{ClusterName}`` is the
    worst node and over ``{Namespace, ClusterName}`` the worst pod, whatever the nodes and pods
    are called today (they come and go; per-node dimensions would name yesterday's instances)."""
    cluster = watched.container_insights_cluster
    if cluster is None:
        return []
    alarms: list[AlarmDefinition] = []
    nodes: Mapping[str, Dimension] = {"ClusterName": cluster}
    subject = f"hottest node of {cluster}"
    for level, value in _levels(ops.cpu_percent):
        alarms.append(
            _cpu_alarm(
                ops,
                level,
                value,
                key="cluster-nodes-cpu",
                subject=subject,
                query=MetricQuery("cpu", "ContainerInsights", "node_cpu_utilization", "Maximum", nodes),
            )
        )
    # The agent reports every minute on every node; silence is the agent or the nodes gone,
    # which these alarms cannot name: INSUFFICIENT_DATA, as for host CPU.
    alarms += _simple(
        ops,
        ops.node_memory_percent,
        key="cluster-nodes-memory",
        signal="memory used (working set of allocatable)",
        subject=subject,
        query=MetricQuery("memory", "ContainerInsights", "node_memory_utilization", "Maximum", nodes),
        treat_missing_data="missing",
    )
    alarms += _simple(
        ops,
        ops.node_disk_percent,
        key="cluster-nodes-disk",
        signal="root filesystem used",
        subject=f"fullest node of {cluster}",
        query=MetricQuery("disk", "ContainerInsights", "node_filesystem_utilization", "Maximum", nodes),
        treat_missing_data="missing",
    )
    for namespace in watched.pod_namespaces:
        pods: Mapping[str, Dimension] = {"Namespace": namespace, "ClusterName": cluster}
        # A namespace with no pod running (or none with a limit) publishes nothing: no pod is
        # near its limit, so a gap is not breaching.
        alarms += _simple(
            ops,
            ops.pod_cpu_percent,
            key=f"pods-{namespace}-cpu",
            signal="CPU of the pod limit",
            subject=f"busiest pod in {namespace}",
            query=MetricQuery("cpu", "ContainerInsights", "pod_cpu_utilization_over_pod_limit", "Maximum", pods),
            treat_missing_data="notBreaching",
        )
        alarms += _simple(
            ops,
            ops.pod_memory_percent,
            key=f"pods-{namespace}-memory",
            signal="memory of the pod limit",
            subject=f"pod nearest its memory limit in {namespace}",
            query=MetricQuery("memory", "ContainerInsights", "pod_memory_utilization_over_pod_limit", "Maximum", pods),
            treat_missing_data="notBreaching",
        )
    return alarms


def _pgbouncer_alarms(ops: OperationsConfig, pools: PgBouncerPools | None) -> list[AlarmDefinition]:
    """Per pool role: clients queued for a server connection, how long the oldest has waited, and
    how full the pool is. The metrics of every pod (and of each login's pool) share one dimension
    set, so ``Maximum`` is the worst pool of the worst pod, whichever pods run today."""
    if pools is None:
        return []
    alarms: list[AlarmDefinition] = []
    for role, pool_size in sorted(pools.pool_sizes.items()):
        if pool_size < 1:
            raise ValueError(f"PgBouncer pool {role}: pool size must be above 0 (got {pool_size})")
        dims: Mapping[str, Dimension] = {"ClusterName": pools.cluster, "PoolRole": role, "database": pools.database}
        subject = f"pgbouncer {role} pool"
        key = f"pgbouncer-{role}"
        waiting = ops.pgbouncer_clients_waiting_minutes
        for level, minutes in _levels(waiting):
            alarms.append(
                AlarmDefinition(
                    key=f"{key}-clients-waiting-{level.value}",
                    signal="clients waiting for a server connection",
                    subject=subject,
                    level=level,
                    comparison="GreaterThanThreshold",
                    threshold=0,
                    shown_threshold="> 0",
                    metrics=(
                        MetricQuery(
                            "waiting", "PgBouncer", "pgbouncer_pools_client_waiting_connections", "Maximum", dims
                        ),
                    ),
                    expression=None,
                    # Every pod's agent sends cl_waiting each minute, 0 when nobody waits: silence
                    # is the exporter, the agent or PgBouncer gone, which this alarm cannot name,
                    # so it goes to INSUFFICIENT_DATA rather than reading as "nobody waits".
                    treat_missing_data="missing",
                    # The level is the length of the spell: a brief queue is what a pool is for.
                    evaluation_periods=int(minutes),
                )
            )
        # A gap is covered by the clients-waiting alarm going to INSUFFICIENT_DATA: not a second page.
        alarms += _simple(
            ops,
            ops.pgbouncer_max_wait_seconds,
            key=f"{key}-max-wait",
            signal="oldest client's wait for a server connection",
            subject=subject,
            query=MetricQuery("maxwait", "PgBouncer", "pgbouncer_pools_client_maxwait_seconds", "Maximum", dims),
            treat_missing_data="notBreaching",
        )
        utilisation = ops.pgbouncer_pool_utilisation_percent
        for level, value in _levels(utilisation):
            assert utilisation is not None
            alarms.append(
                AlarmDefinition(
                    key=f"{key}-utilisation-{level.value}",
                    signal=f"server connections in use (of default_pool_size {pool_size})",
                    subject=subject,
                    level=level,
                    comparison=_above(utilisation),
                    threshold=connections_threshold(value, pool_size),
                    shown_threshold=_shown(utilisation, value),
                    metrics=(
                        MetricQuery(
                            "active", "PgBouncer", "pgbouncer_pools_server_active_connections", "Maximum", dims
                        ),
                    ),
                    expression=None,
                    # As for the wait: the clients-waiting alarm reports a silent metrics path.
                    treat_missing_data="notBreaching",
                    evaluation_periods=ops.evaluation_minutes,
                )
            )
    return alarms


def _group_alarms(ops: OperationsConfig, groups: Sequence[str]) -> list[AlarmDefinition]:
    alarms = []
    for group in groups:
        query = MetricQuery(
            "cpu", "AWS/EC2", "CPUUtilization", "Average", {"AutoScalingGroupName": Ref(f"asg:{group}")}
        )
        for level, value in _levels(ops.cpu_percent):
            alarms.append(
                _cpu_alarm(
                    ops, level, value, key=f"app-{group}-cpu", subject=f"{group} Auto Scaling group", query=query
                )
            )
    return alarms


def _database_alarms(ops: OperationsConfig, watched: Watched) -> list[AlarmDefinition]:
    alarms: list[AlarmDefinition] = []
    if watched.database_instances and (
        watched.database_max_connections < 1
        or watched.database_allocated_storage_gib < 1
        or (ops.database_memory_used_percent is not None and watched.database_memory_gib <= 0)
    ):
        # Thresholds derive from these: a zero would alarm on every connection or never on storage.
        raise ValueError(
            "database alarms need database_max_connections, database_allocated_storage_gib and "
            f"database_memory_gib above 0 (got {watched.database_max_connections}, "
            f"{watched.database_allocated_storage_gib} and {watched.database_memory_gib:g})"
        )
    for instance in watched.database_instances:
        dims: Mapping[str, Dimension] = {"DBInstanceIdentifier": instance.identifier}
        subject = f"postgres {instance.key}"
        key = f"postgres-{instance.key}"

        def rds(metric: str, stat: str = "Average", dims: Mapping[str, Dimension] = dims) -> MetricQuery:
            return MetricQuery(metric.lower(), "AWS/RDS", metric, stat, dims)

        for level, value in _levels(ops.cpu_percent):
            alarms.append(_cpu_alarm(ops, level, value, key=f"{key}-cpu", subject=subject, query=rds("CPUUtilization")))
        connections = ops.database_connections_percent
        for level, value in _levels(connections):
            alarms.append(
                AlarmDefinition(
                    key=f"{key}-connections-{level.value}",
                    signal=f"connections (of max_connections {watched.database_max_connections})",
                    subject=subject,
                    level=level,
                    comparison=_above(connections),
                    threshold=connections_threshold(value, watched.database_max_connections),
                    shown_threshold=_shown(connections, value),
                    metrics=(rds("DatabaseConnections", "Maximum"),),
                    expression=None,
                    treat_missing_data="missing",  # as for CPU: a silent instance is an outage
                    evaluation_periods=ops.evaluation_minutes,
                )
            )
        memory = ops.database_memory_used_percent
        for level, value in _levels(memory):
            assert memory is not None
            alarms.append(
                AlarmDefinition(
                    key=f"{key}-memory-{level.value}",
                    signal=f"memory used (of {watched.database_memory_gib:g} GiB of the class)",
                    subject=subject,
                    level=level,
                    # Used above the level is freeable memory below the rest of the class's memory.
                    comparison="LessThanThreshold",
                    threshold=free_memory_threshold_bytes(value, watched.database_memory_gib),
                    shown_threshold=_shown(memory, value),
                    metrics=(rds("FreeableMemory", "Minimum"),),
                    expression=None,
                    treat_missing_data="missing",  # as for CPU: a silent instance is an outage
                    evaluation_periods=ops.evaluation_minutes,
                )
            )
        storage = ops.database_storage_used_percent
        for level, value in _levels(storage):
            alarms.append(
                AlarmDefinition(
                    key=f"{key}-storage-{level.value}",
                    signal=f"storage used (of {watched.database_allocated_storage_gib} GiB allocated)",
                    subject=subject,
                    level=level,
                    # Used above the level is free space below the rest of the allocation.
                    comparison="LessThanThreshold",
                    threshold=free_storage_threshold_bytes(value, watched.database_allocated_storage_gib),
                    shown_threshold=_shown(storage, value),
                    metrics=(rds("FreeStorageSpace", "Minimum"),),
                    expression=None,
                    treat_missing_data="missing",
                    evaluation_periods=ops.evaluation_minutes,
                )
            )
        if instance.is_replica:
            lag = ops.replica_lag_seconds
            for level, value in _levels(lag):
                alarms.append(
                    AlarmDefinition(
                        key=f"{key}-lag-{level.value}",
                        signal="replica lag",
                        subject=subject,
                        level=level,
                        comparison=_above(lag),
                        threshold=value,
                        shown_threshold=_shown(lag, value),
                        metrics=(rds("ReplicaLag", "Maximum"),),
                        expression=None,
                        # A replica being created (tens of minutes) reports no lag yet: that must
                        # not page. A replica that stops replicating still reports ReplicaLag,
                        # growing, so a real stall breaches on data, not on its absence; an
                        # instance that stops reporting altogether is caught by its CPU and
                        # memory alarms going to INSUFFICIENT_DATA.
                        treat_missing_data="notBreaching",
                        evaluation_periods=ops.evaluation_minutes,
                    )
                )
    return alarms


def _cache_alarms(ops: OperationsConfig, nodes: Mapping[str, str]) -> list[AlarmDefinition]:
    alarms: list[AlarmDefinition] = []
    for node_key, node in nodes.items():
        dims: Mapping[str, Dimension] = {"CacheClusterId": node}
        subject = f"cache node {node}"
        key = f"cache-{node_key}"
        # PhaseConfig requires the hit-rate levels wherever there is a cache (nodes to watch).
        hits = ops.cache_hit_rate_percent
        if hits is not None:
            for level, value in _levels(hits):
                alarms.append(
                    AlarmDefinition(
                        key=f"{key}-hit-rate-{level.value}",
                        signal="hit rate",
                        subject=subject,
                        level=level,
                        comparison=_above(hits),
                        threshold=value,
                        shown_threshold=_shown(hits, value),
                        metrics=(
                            MetricQuery("hits", "AWS/ElastiCache", "CacheHits", "Sum", dims),
                            MetricQuery("misses", "AWS/ElastiCache", "CacheMisses", "Sum", dims),
                        ),
                        # A minute with fewer lookups yields no datapoint: an idle replica has no hit rate.
                        expression=(
                            f"IF(hits + misses >= {ops.cache_min_lookups_per_minute}, 100 * hits / (hits + misses))"
                        ),
                        treat_missing_data="notBreaching",
                        evaluation_periods=ops.evaluation_minutes,
                    )
                )
        engine_cpu = MetricQuery("cpu", "AWS/ElastiCache", "EngineCPUUtilization", "Average", dims)
        for level, value in _levels(ops.cpu_percent):
            alarms.append(_cpu_alarm(ops, level, value, key=f"{key}-engine-cpu", subject=subject, query=engine_cpu))
        # Engine metrics arrive every minute from a running node: their absence is an outage.
        alarms += _simple(
            ops,
            ops.cache_memory_percent,
            key=f"{key}-memory",
            signal="memory used (of maxmemory)",
            subject=subject,
            query=MetricQuery("memory", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", dims),
            treat_missing_data="missing",
        )
        # Evictions is published every minute, 0 when nothing is evicted: a gap is no eviction.
        alarms += _simple(
            ops,
            ops.cache_evictions_per_minute,
            key=f"{key}-evictions",
            signal="evictions per minute",
            subject=subject,
            query=MetricQuery("evictions", "AWS/ElastiCache", "Evictions", "Sum", dims),
            treat_missing_data="notBreaching",
        )
    return alarms


def alarm_definitions(ops: OperationsConfig, watched: Watched) -> tuple[AlarmDefinition, ...]:
    """Every people-facing alarm of the phase, at each configured level, keyed uniquely."""
    alarms: list[AlarmDefinition] = []
    if watched.load_balancer:
        alarms += _load_balancer_alarms(ops)
        alarms += _target_group_alarms(ops, watched.target_groups)
    alarms += _group_alarms(ops, watched.auto_scaling_groups)
    alarms += _node_group_alarms(ops, watched.node_groups)
    alarms += _container_insights_alarms(ops, watched)
    alarms += _database_alarms(ops, watched)
    alarms += _cache_alarms(ops, watched.cache_nodes)
    alarms += _pgbouncer_alarms(ops, watched.pgbouncer)
    for alarm in alarms:
        for query in alarm.metrics:
            problem = metric_problem(query.namespace, query.metric_name, frozenset(query.dimensions))
            if problem is not None:
                raise ValueError(f"alarm {alarm.key}: {problem}")
    keys = [alarm.key for alarm in alarms]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"alarm keys must be unique; repeated: {', '.join(duplicates)}")
    return tuple(alarms)
