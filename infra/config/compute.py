"""``scaleplan:compute``: where the application runs and how far it may scale."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import Field, model_validator

from infra.catalog import ec2_instance_types
from infra.config.base import ConfigModel
from infra.config.errors import field_error

Count = Annotated[int, Field(ge=0, le=1000)]


def _check_instance_type(path: str, name: str) -> None:
    catalog = ec2_instance_types()
    if name not in catalog:
        raise field_error(path, f"unknown instance type {name!r}; allowed: {', '.join(sorted(catalog))}")


def _check_range(min_size: int, desired: int, max_size: int, desired_key: str) -> None:
    if min_size > max_size:
        raise field_error("min_size", f"must be <= max_size ({max_size}) (got {min_size})")
    if not min_size <= desired <= max_size:
        raise field_error(desired_key, f"must be between min_size {min_size} and max_size {max_size} (got {desired})")


class CapacityType(enum.StrEnum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"


class AutoScalingGroupConfig(ConfigModel):
    """EC2 instances in an Auto Scaling group behind the load balancer."""

    instance_type: str
    min_size: Count
    desired_capacity: Count
    max_size: Annotated[int, Field(ge=1, le=1000)]

    @model_validator(mode="after")
    def _valid(self) -> AutoScalingGroupConfig:
        _check_instance_type("instance_type", self.instance_type)
        _check_range(self.min_size, self.desired_capacity, self.max_size, "desired_capacity")
        return self

    def max_vcpus(self) -> int:
        return self.max_size * ec2_instance_types()[self.instance_type].vcpus


class NodePoolConfig(ConfigModel):
    """One EKS managed node group."""

    instance_types: Annotated[tuple[str, ...], Field(min_length=1, max_length=20)]
    capacity_type: CapacityType
    min_size: Count
    desired_size: Count
    max_size: Annotated[int, Field(ge=1, le=1000)]
    serves_application: bool = True
    """Counts toward the capacity check; false for system-only pools."""

    @model_validator(mode="after")
    def _valid(self) -> NodePoolConfig:
        for index, name in enumerate(self.instance_types):
            _check_instance_type(f"instance_types.{index}", name)
        _check_range(self.min_size, self.desired_size, self.max_size, "desired_size")
        return self

    def max_vcpus(self) -> int:
        # A pool may launch any of its types, so count the smallest.
        catalog = ec2_instance_types()
        return self.max_size * min(catalog[name].vcpus for name in self.instance_types)


PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")]


class ComputeConfig(ConfigModel):
    auto_scaling_group: AutoScalingGroupConfig | None = None
    node_pools: dict[PoolName, NodePoolConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_somewhere_to_run(self) -> ComputeConfig:
        if self.auto_scaling_group is None and not self.node_pools:
            raise field_error("", "needs auto_scaling_group, node_pools, or both")
        return self

    def max_application_vcpus(self) -> int:
        total = sum(pool.max_vcpus() for pool in self.node_pools.values() if pool.serves_application)
        if self.auto_scaling_group is not None:
            total += self.auto_scaling_group.max_vcpus()
        return total
