"""Node-pool sizes from the capacity model: plain functions, no Pulumi.

A pool whose ``desired_size`` is ``from_capacity`` starts with as many nodes as the *average*
load (with the configured headroom) needs beyond what the other application pools bring at
their desired sizes, clamped to its own ``min_size``..``max_size``. The average, not the peak:
the desired size is where the group settles, and the Cluster Autoscaler (which owns the size
after creation) adds nodes up to ``max_size`` for the peak, which the capacity check already
guarantees ``max_size`` covers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from infra.capacity import CapacityCheck, check_capacity, demand, required_vcpus
from infra.config.capacity import CapacityConfig
from infra.config.compute import ComputeConfig, NodePoolConfig
from infra.config.node_pools import FROM_CAPACITY


def nodes_for(vcpus: int, node_vcpus: int) -> int:
    """Whole nodes of ``node_vcpus`` each that provide at least ``vcpus``."""
    return max(0, math.ceil(vcpus / node_vcpus))


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def average_vcpus(capacity: CapacityConfig) -> int:
    """vCPUs that serve the average load with the configured headroom."""
    load = demand(capacity)
    return required_vcpus(
        load.average_requests_per_second, capacity.headroom_factor, capacity.requests_per_second_per_vcpu
    )


def desired_sizes(compute: ComputeConfig, capacity: CapacityConfig) -> dict[str, int]:
    """The creation-time node count of every pool, by pool name."""
    fixed = {name: pool.desired_size for name, pool in compute.node_pools.items() if isinstance(pool.desired_size, int)}
    fixed_app_vcpus = sum(
        size * compute.node_pools[name].node_vcpus()
        for name, size in fixed.items()
        if compute.node_pools[name].serves_application
    )
    sizes = dict(fixed)
    for name, pool in compute.node_pools.items():
        if pool.desired_size == FROM_CAPACITY:
            gap = average_vcpus(capacity) - fixed_app_vcpus if pool.serves_application else 0
            sizes[name] = clamp(nodes_for(gap, pool.node_vcpus()), pool.min_size, pool.max_size)
    return {name: sizes[name] for name in compute.node_pools}


@dataclass(frozen=True)
class PoolSize:
    """What a pool provides at each end of its range."""

    name: str
    pool: NodePoolConfig
    desired_size: int
    min_vcpus: int
    desired_vcpus: int
    max_vcpus: int


def pool_sizes(compute: ComputeConfig, capacity: CapacityConfig) -> list[PoolSize]:
    desired = desired_sizes(compute, capacity)
    return [
        PoolSize(
            name=name,
            pool=pool,
            desired_size=desired[name],
            min_vcpus=pool.min_size * pool.node_vcpus(),
            desired_vcpus=desired[name] * pool.node_vcpus(),
            max_vcpus=pool.max_vcpus(),
        )
        for name, pool in compute.node_pools.items()
    ]


def application_capacity(compute: ComputeConfig, capacity: CapacityConfig) -> CapacityCheck:
    """Required vCPUs at the peak against what the application compute reaches at its maximum."""
    return check_capacity(capacity, compute.sustained_application_vcpus())
