"""``scaleplan:cache``: the ElastiCache replication group (Valkey or Redis OSS) and its sizing."""

from __future__ import annotations

import enum
import re
from typing import Annotated

from pydantic import Field, model_validator

from infra.catalog import DataNodeClass, elasticache_node_types
from infra.catalog.versions import ELASTICACHE_ENGINE_VERSIONS_FILE, elasticache_engine_versions, listed
from infra.config.base import ConfigModel
from infra.config.errors import field_error
from infra.config.network import LOG_RETENTION_DAYS
from infra.config.sizing import CacheSizing
from infra.config.windows import DailyWindow, WeeklyWindow, windows_overlap

MAX_NODES_PER_CLUSTER = 90
"""ElastiCache's default quota of nodes in one cluster-mode replication group."""


class CacheEngine(enum.StrEnum):
    VALKEY = "valkey"
    REDIS = "redis"


class ClusterMode(enum.StrEnum):
    """``enabled`` shards keys over node groups; clients must be cluster-aware."""

    ENABLED = "enabled"
    DISABLED = "disabled"


class MaxMemoryPolicy(enum.StrEnum):
    ALLKEYS_LRU = "allkeys-lru"
    ALLKEYS_LFU = "allkeys-lfu"
    VOLATILE_LRU = "volatile-lru"
    VOLATILE_LFU = "volatile-lfu"
    VOLATILE_TTL = "volatile-ttl"
    NOEVICTION = "noeviction"


# Parameter group family per engine and major version. Only versions that support
# transit_encryption_mode=required with AUTH (Redis OSS 7, Valkey 7.2 and later) are offered.
CACHE_FAMILIES: dict[CacheEngine, dict[str, str]] = {
    CacheEngine.VALKEY: {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8"},
    CacheEngine.REDIS: {"7.0": "redis7", "7.1": "redis7"},
}


def cache_parameter_group_family(engine: CacheEngine, engine_version: str) -> str | None:
    """``(valkey, "8.0")`` -> ``"valkey8"``; ``None`` for a version with no known family."""
    if re.fullmatch(r"\d+\.\d+", engine_version) is None:
        return None
    return CACHE_FAMILIES[engine].get(engine_version)


class CacheConfig(ConfigModel):
    """A replication group of ``shards`` node groups, each a primary and ``replicas_per_shard`` replicas."""

    engine: CacheEngine
    engine_version: str
    node_type: str
    """A node type from infra/catalog/elasticache_node_types.yaml."""
    cluster_mode: ClusterMode
    shards: Annotated[int, Field(ge=1, le=90)]
    replicas_per_shard: Annotated[int, Field(ge=0, le=5)]
    """Replicas in other zones to fail over to. ``0`` is refused unless the phase names the risk
    ``single_cache_node`` under ``scaleplan:accepted_risks`` (infra/config/risks.py)."""
    sizing: CacheSizing
    """The working set; node memory x shards is checked against the phase's peak with it."""
    maxmemory_policy: MaxMemoryPolicy = MaxMemoryPolicy.ALLKEYS_LRU
    snapshot_retention_days: Annotated[int, Field(ge=1, le=35)] = 7
    snapshot_window: DailyWindow = "05:00-06:00"
    maintenance_window: WeeklyWindow = "sun:06:30-sun:07:30"
    slow_log_retention_days: int = 30
    auth_token_generation: Annotated[int, Field(ge=1)] = 1
    """Raise by one to issue a new AUTH token: ElastiCache then accepts both the old and the new
    token (``ROTATE``) until the old one is dropped with ``SET`` (docs/data-tier.md, "Rotating
    the cache AUTH token"). 1 is the token an environment was created with."""

    @model_validator(mode="after")
    def _known_node_type_and_version(self) -> CacheConfig:
        catalog = elasticache_node_types()
        if self.node_type not in catalog:
            raise field_error(
                "node_type", f"unknown ElastiCache node type {self.node_type!r}; allowed: {', '.join(sorted(catalog))}"
            )
        if cache_parameter_group_family(self.engine, self.engine_version) is None:
            allowed = ", ".join(sorted(CACHE_FAMILIES[self.engine]))
            raise field_error(
                "engine_version",
                f"{self.engine.value} {self.engine_version!r} has no known parameter group family; allowed: {allowed}",
            )
        return self

    @model_validator(mode="after")
    def _version_and_node_type_in_catalog(self) -> CacheConfig:
        # The dated version catalog: the engine version must be one ElastiCache offers, on this node type.
        catalog = elasticache_engine_versions()
        entry = catalog.get((self.engine.value, self.engine_version))
        if entry is None:
            offered = [version for engine, version in catalog if engine == self.engine.value]
            raise field_error(
                "engine_version",
                f"{self.engine.value} {self.engine_version} is not in the version catalog "
                f"({ELASTICACHE_ENGINE_VERSIONS_FILE}); allowed: {listed(tuple(offered))} "
                f"(got {self.engine_version!r})",
            )
        if self.node_type in elasticache_node_types() and self.node_type not in entry.node_types:
            raise field_error(
                "node_type",
                f"the catalog lists no {self.engine.value} {self.engine_version} on {self.node_type}; allowed: "
                f"{listed(entry.node_types)} (got {self.node_type!r})",
            )
        return self

    @model_validator(mode="after")
    def _topology(self) -> CacheConfig:
        if self.cluster_mode is ClusterMode.DISABLED and self.shards != 1:
            raise field_error(
                "shards",
                f"must be 1 when cluster_mode is 'disabled' (got {self.shards}); set cluster_mode: enabled to shard",
            )
        if self.node_count > MAX_NODES_PER_CLUSTER:
            raise field_error(
                "shards",
                f"{self.shards} shards of {1 + self.replicas_per_shard} nodes are {self.node_count} nodes, "
                f"above ElastiCache's {MAX_NODES_PER_CLUSTER} per cluster; use fewer shards or replicas",
            )
        return self

    @model_validator(mode="after")
    def _windows(self) -> CacheConfig:
        if windows_overlap(self.snapshot_window, self.maintenance_window):
            raise field_error(
                "maintenance_window",
                f"must not overlap snapshot_window {self.snapshot_window!r} (got {self.maintenance_window!r})",
            )
        if self.slow_log_retention_days not in LOG_RETENTION_DAYS:
            raise field_error(
                "slow_log_retention_days",
                f"must be a CloudWatch Logs retention period, one of {', '.join(map(str, LOG_RETENTION_DAYS))} "
                f"(got {self.slow_log_retention_days})",
            )
        return self

    @property
    def node(self) -> DataNodeClass:
        return elasticache_node_types()[self.node_type]

    @property
    def node_count(self) -> int:
        return self.shards * (1 + self.replicas_per_shard)

    @property
    def parameter_group_family(self) -> str:
        family = cache_parameter_group_family(self.engine, self.engine_version)
        assert family is not None  # checked by _known_node_type_and_version
        return family

    @property
    def multi_az(self) -> bool:
        """Multi-AZ with automatic failover: whenever each shard has a replica."""
        return self.replicas_per_shard > 0
