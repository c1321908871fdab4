"""The plan's data tier section: PostgreSQL and cache sizing as declared, the connection budget, and
whether each tier carries the phase's peak (infra/data_tier_capacity.py)."""

from __future__ import annotations

from infra.config import PhaseConfig
from infra.config.cache import CacheConfig
from infra.database.parameters import ConnectionBudget
from infra.pgbouncer.budget import pool_budgets
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import Cell, Section, register

INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
COLUMNS = (
    "resource",
    "class",
    "vCPUs",
    "memory GiB",
    "Multi-AZ",
    "zone",
    "storage GiB",
    "max_connections",
    "shards x nodes",
)


def _database_rows(config: PhaseConfig, instances: list[CapturedResource]) -> list[list[Cell]]:
    database = config.database
    spec = database.instance
    budget = database.connection_budget()
    storage = f"{database.allocated_storage_gib} -> {database.max_allocated_storage_gib} gp3"
    rows: list[list[Cell]] = []
    for instance in sorted(instances, key=lambda r: ("replicateSourceDb" in r.inputs, r.name)):
        inputs = instance.inputs
        replica = "replicateSourceDb" in inputs
        rows.append(
            [
                instance.name,
                str(inputs["instanceClass"]),
                spec.vcpus,
                spec.memory_gib,
                bool(inputs.get("multiAz")),
                str(inputs.get("availabilityZone", "AWS-placed (Multi-AZ)" if not replica else "")),
                storage,
                budget.max_connections,
                None,
            ]
        )
    return rows


def _cache_row(cache: CacheConfig, group: CapturedResource) -> list[Cell]:
    inputs = group.inputs
    if "numNodeGroups" in inputs:  # cluster mode
        shards, per_shard = int(inputs["numNodeGroups"]), 1 + int(inputs.get("replicasPerNodeGroup", 0))
    else:
        shards, per_shard = 1, int(inputs.get("numCacheClusters", 1))
    return [
        group.name,
        f"{inputs['nodeType']} ({cache.engine.value} {cache.engine_version})",
        cache.node.vcpus,
        cache.node.memory_gib,
        bool(inputs.get("multiAzEnabled")),
        "spread by ElastiCache",
        None,
        None,
        f"{shards} x {per_shard} ({cache.cluster_mode.value})",
    ]


def _pgbouncer_budget_notes(config: PhaseConfig, budget: ConnectionBudget) -> list[str]:
    """The connection budget as a reviewer can check it: PgBouncer's worst case per server."""
    if config.pgbouncer is None:
        return ["connection budget: no PgBouncer in this phase; the application connects directly"]
    return [
        f"connection budget{'' if pool.fits else ' EXCEEDED'}: {pool.arithmetic()}"
        for pool in pool_budgets(
            config.pgbouncer,
            primary_max_connections=budget.max_connections,
            replica_max_connections=budget.max_connections if config.database.read_replica_count else None,
            reserved_connections=budget.reserved,
            read_replicas=config.database.read_replica_count,
        )
    ]


@register
def data_tier_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """The PostgreSQL primary and replicas, and the cache, as the program declared them.

    Fails when the declared resources disagree with the stack file (a class, a replica count
    or a shard count lost on the way), since the plan would then misreport the phase, or when a
    tier cannot carry the peak (the config validator already refuses such a file).
    """
    database, cache = config.database, config.cache
    instances = [r for r in run.of_type(INSTANCE) if r.name.startswith("database-")]
    groups = run.of_type(REPLICATION_GROUP)
    rows = _database_rows(config, instances)
    if cache is not None:
        rows.extend(_cache_row(cache, group) for group in groups)

    problems = []
    if len(instances) != 1 + database.read_replica_count:
        problems.append(
            f"declared {len(instances)} PostgreSQL instances, the stack file asks for 1 + {database.read_replica_count}"
        )
    if any(r.inputs["instanceClass"] != database.instance_class for r in instances):
        problems.append(f"a declared instance is not {database.instance_class}")
    expected_groups = 0 if cache is None else 1
    if len(groups) != expected_groups:
        problems.append(f"declared {len(groups)} cache replication groups, expected {expected_groups}")
    elif cache is not None and groups[0].inputs.get("numNodeGroups", 1) != cache.shards:
        problems.append(
            f"declared {groups[0].inputs.get('numNodeGroups')} cache shards, the stack file asks for {cache.shards}"
        )

    budget = database.connection_budget()
    requirements = config.data_tier_requirements()
    problems.extend(requirement.problem() for requirement in requirements if not requirement.passes)
    notes = [
        f"PostgreSQL {database.engine_version} ({database.parameter_group_family}): max_connections "
        f"{budget.max_connections} from {database.instance.memory_gib} GiB, {budget.reserved} reserved, "
        f"{budget.available} for pools",
        f"backups: point-in-time {database.backup_retention_days} days; daily snapshots kept "
        f"{database.snapshot_retention_days} days in a CMK-encrypted AWS Backup vault",
        (
            f"cache: {cache.node_count} nodes, {cache.shards * cache.node.memory_gib:.2f} GiB of data memory, "
            f"{cache.maxmemory_policy.value}, TLS required, AUTH token in Secrets Manager"
            if cache is not None
            else "cache: none in this phase (no scaleplan:cache)"
        ),
        *_pgbouncer_budget_notes(config, budget),
        *(
            f"carries the peak{'' if requirement.passes else ': NO'}: {requirement.line()}"
            for requirement in requirements
        ),
        *problems,
    ]
    return Section(
        title="Data tier",
        columns=COLUMNS,
        rows=rows,
        notes=notes,
        failed=bool(problems),
        data={
            "database_class": database.instance_class,
            "read_replicas": database.read_replica_count,
            "max_connections": budget.max_connections,
            "cache_nodes": cache.node_count if cache is not None else 0,
            "sizing": [
                {
                    "key": f"scaleplan:{requirement.key}",
                    "what": requirement.what,
                    "needed": round(requirement.needed, 4),
                    "available": round(requirement.available, 4),
                    "unit": requirement.unit,
                    "passes": requirement.passes,
                }
                for requirement in requirements
            ],
            "detail": {
                "database": {
                    "vcpus": database.instance.vcpus,
                    "memory_gib": database.instance.memory_gib,
                    "multi_az": database.multi_az,
                    "allocated_storage_gib": database.allocated_storage_gib,
                    "max_allocated_storage_gib": database.max_allocated_storage_gib,
                    "reserved_connections": budget.reserved,
                },
                **(
                    {
                        "cache": {
                            "engine": cache.engine.value,
                            "node_type": cache.node_type,
                            "shards": cache.shards,
                            "replicas_per_shard": cache.replicas_per_shard,
                            "multi_az": cache.multi_az,
                        }
                    }
                    if cache is not None
                    else {}
                ),
            },
        },
    )
