"""``scaleplan:cache`` values that cannot describe a safe cache, each refused with one exact line."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import yaml

from infra.config import PhaseConfigError
from infra.config.cache import CacheEngine, cache_parameter_group_family
from infra.config.loader import parse_phase_config
from tests.conftest import PHASES, phase_config, stack_file

SOURCE = "Pulumi.test.yaml"


@functools.cache
def _scale() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(stack_file("scale").read_text())["config"]
    return config


def with_cache(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(_scale())
    config["scaleplan:cache"].update(changes)
    return config


def rejection(**changes: Any) -> list[str]:
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(with_cache(**changes), SOURCE)
    return list(error.value.problems)


def test_scale_cache_block_is_valid() -> None:
    cache = parse_phase_config(with_cache(), SOURCE).cache
    assert (cache.shards, cache.replicas_per_shard, cache.node_count) == (2, 1, 4)
    assert cache.multi_az


def test_rejects_node_type_outside_the_catalog() -> None:
    assert rejection(node_type="cache.r5.large") == [
        "scaleplan:cache.node_type: unknown ElastiCache node type 'cache.r5.large'; allowed: cache.m6g.large, "
        "cache.m7g.large, cache.r6g.large, cache.r7g.large, cache.r7g.xlarge, cache.t4g.medium, cache.t4g.micro, "
        "cache.t4g.small"
    ]


def test_rejects_engine_version_with_no_family() -> None:
    assert rejection(engine_version="6.2") == [
        "scaleplan:cache.engine_version: valkey '6.2' has no known parameter group family; allowed: 7.2, 8.0, 8.1"
    ]


def test_rejects_redis_older_than_transit_encryption_mode_allows() -> None:
    assert rejection(engine="redis", engine_version="6.2") == [
        "scaleplan:cache.engine_version: redis '6.2' has no known parameter group family; allowed: 7.0, 7.1"
    ]


def test_rejects_unknown_engine() -> None:
    assert rejection(engine="memcached") == [
        "scaleplan:cache.engine: must be one of 'valkey' or 'redis' (got 'memcached')"
    ]


def test_rejects_cluster_mode_with_no_shards() -> None:
    assert rejection(shards=0) == ["scaleplan:cache.shards: must be >= 1 (got 0)"]


def test_rejects_shards_without_cluster_mode() -> None:
    assert rejection(cluster_mode="disabled", shards=3) == [
        "scaleplan:cache.shards: must be 1 when cluster_mode is 'disabled' (got 3); set cluster_mode: enabled to shard"
    ]


def test_rejects_shards_without_replicas_unless_the_risk_is_accepted() -> None:
    assert rejection(replicas_per_shard=0) == [
        "scaleplan:cache.replicas_per_shard: 0 leaves the cache no replica to fail over to (a node failure empties "
        "it), a risk this phase has not accepted; set replicas_per_shard: 1 or more, or accept it in the open with "
        "the reason under scaleplan:accepted_risks.single_cache_node (got 0)"
    ]


def test_accepts_no_replicas_when_the_file_accepts_the_risk() -> None:
    values = with_cache(replicas_per_shard=0)
    values["scaleplan:accepted_risks"] = {"single_cache_node": "the cache holds sessions only"}
    cache = parse_phase_config(values, SOURCE).cache
    assert cache.multi_az is False


def test_rejects_more_nodes_than_a_cluster_holds() -> None:
    assert rejection(shards=40, replicas_per_shard=2) == [
        "scaleplan:cache.shards: 40 shards of 3 nodes are 120 nodes, above ElastiCache's 90 per cluster; "
        "use fewer shards or replicas"
    ]


def test_rejects_snapshot_retention_of_zero() -> None:
    assert rejection(snapshot_retention_days=0) == ["scaleplan:cache.snapshot_retention_days: must be >= 1 (got 0)"]


def test_rejects_maintenance_overlapping_snapshots() -> None:
    assert rejection(maintenance_window="sun:05:30-sun:06:30") == [
        "scaleplan:cache.maintenance_window: must not overlap snapshot_window '05:00-06:00' (got 'sun:05:30-sun:06:30')"
    ]


def test_rejects_unknown_eviction_policy() -> None:
    (line,) = rejection(maxmemory_policy="lru")
    assert line.startswith("scaleplan:cache.maxmemory_policy: must be one of 'allkeys-lru'")


def test_rejects_cache_alarms_without_a_cache() -> None:
    # The cache is optional; its alarm levels then have nothing to watch.
    config = with_cache()
    del config["scaleplan:cache"]
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(config, SOURCE)
    assert error.value.problems == (
        "scaleplan:operations.cache_hit_rate_percent: watches the cache, but this phase has no scaleplan:cache; "
        "remove it",
    )


@pytest.mark.parametrize(
    ("engine", "version", "family"),
    [
        (CacheEngine.VALKEY, "7.2", "valkey7"),
        (CacheEngine.VALKEY, "8.0", "valkey8"),
        (CacheEngine.REDIS, "7.1", "redis7"),
        (CacheEngine.REDIS, "6.2", None),
        (CacheEngine.VALKEY, "8", None),
    ],
)
def test_parameter_group_family(engine: CacheEngine, version: str, family: str | None) -> None:
    assert cache_parameter_group_family(engine, version) == family


@pytest.mark.parametrize("phase", PHASES)
def test_every_phase_runs_valkey_in_cluster_mode_with_a_replica_per_shard(phase: str) -> None:
    cache = phase_config(phase).cache
    assert cache.engine is CacheEngine.VALKEY
    assert cache.cluster_mode.value == "enabled"
    assert cache.replicas_per_shard >= 1
    assert cache.maxmemory_policy.value == "allkeys-lru"
