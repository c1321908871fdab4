"""``scaleplan:compute``: where the application runs and how far it may scale."""

from __future__ import annotations

import enum
import re
from typing import Annotated

from pydantic import Field, model_validator

from infra.catalog import ec2_instance_types
from infra.config.base import ConfigModel
from infra.config.capacity import BurstSizing
from infra.config.errors import field_error
from infra.config.load_balancer import Port, Slot
from infra.config.network import LOG_RETENTION_DAYS
from infra.config.node_pools import (
    FROM_CAPACITY,
    DesiredSize,
    LabelKey,
    LabelValue,
    TaintConfig,
    check_labels,
    check_same_architecture,
    check_spot_diversity,
)

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


_IMAGE_PATTERN = re.compile(
    r"^(?:(?P<registry>[a-z0-9.-]+(?::\d+)?)/)?"
    r"(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def check_image_reference(path: str, image: str) -> None:
    """An OCI image reference pinned by a version tag or a sha256 digest (``latest`` moves, so it is not a pin)."""
    match = _IMAGE_PATTERN.match(image)
    if match is None:
        raise field_error(
            path, f"is not an image reference like registry/repo:1.2.3 or repo@sha256:<64 hex> (got {image!r})"
        )
    if match["digest"] is None and match["tag"] in (None, "latest"):
        raise field_error(path, f"must be pinned by a version tag or an @sha256 digest, not latest (got {image!r})")


def is_ecr_image(image: str) -> bool:
    """True for images in a private ECR registry, which the instance role must be allowed to pull."""
    return re.match(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/", image) is not None


class ContainerConfig(ConfigModel):
    """The application container each instance runs, one image per blue/green slot."""

    images: Annotated[dict[Slot, str], Field(min_length=1)]
    """Image of each slot's release (``blue: ghcr.io/ftw/app:1.4.2``); each slot gets its own group."""
    port: Port
    """Port the application listens on inside the container."""

    @model_validator(mode="after")
    def _pinned(self) -> ContainerConfig:
        for slot, image in self.images.items():
            check_image_reference(f"images.{slot.value}", image)
        return self


class ScalingConfig(ConfigModel):
    """The scaling triggers of the plan: step policies driven by CloudWatch alarms.

    Scale out when average CPU is above ``cpu_scale_out_percent`` or the target group's p95
    response time is above ``latency_p95_scale_out_seconds``; scale in when CPU is below
    ``cpu_scale_in_percent``. ``cooldown_seconds`` is the instance warm-up during which a new
    instance's metrics are not yet counted, so one spike does not add capacity twice.
    """

    cpu_scale_out_percent: Annotated[float, Field(gt=0, le=100)]
    cpu_scale_in_percent: Annotated[float, Field(gt=0, le=100)]
    latency_p95_scale_out_seconds: Annotated[float, Field(gt=0, le=60)] | None = None
    """Required exactly when the phase has ``scaleplan:load_balancer``, whose target groups
    publish the response time; without one there is no latency metric to scale on."""
    cooldown_seconds: Annotated[int, Field(ge=0, le=3600)]
    scale_out_step_percent: Annotated[int, Field(ge=1, le=100)] = 50
    """Capacity added per scale-out (percent of current, at least one instance)."""
    scale_in_step_percent: Annotated[int, Field(ge=1, le=100)] = 25
    """Capacity removed per scale-in (percent of current, at least one instance)."""
    scale_out_evaluation_minutes: Annotated[int, Field(ge=1, le=60)] = 3
    """Consecutive one-minute periods above a scale-out threshold before adding capacity."""
    scale_in_evaluation_minutes: Annotated[int, Field(ge=1, le=60)] = 15
    """Consecutive one-minute periods below the scale-in threshold: slower in than out avoids flapping."""

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> ScalingConfig:
        if self.cpu_scale_in_percent >= self.cpu_scale_out_percent:
            raise field_error(
                "cpu_scale_in_percent",
                f"must be below cpu_scale_out_percent ({self.cpu_scale_out_percent:g}) or the group scales in and "
                f"out on the same load (got {self.cpu_scale_in_percent:g})",
            )
        return self


class AutoScalingGroupConfig(ConfigModel):
    """EC2 instances in an Auto Scaling group behind the load balancer, one group per released slot."""

    instance_type: str
    min_size: Count
    desired_capacity: Count
    max_size: Annotated[int, Field(ge=1, le=1000)]
    container: ContainerConfig
    scaling: ScalingConfig
    root_volume_gib: Annotated[int, Field(ge=8, le=16384)] = 20
    health_check_grace_seconds: Annotated[int, Field(ge=0, le=7200)] = 300
    """Time a new instance has to pull the image and start before failed health checks count."""
    instance_refresh_min_healthy_percent: Annotated[int, Field(ge=0, le=100)] = 90
    """Share of capacity that stays in service while a changed launch template rolls out."""
    log_retention_days: Annotated[int, Field(ge=1, le=3653)] = 30
    """Retention of the application's CloudWatch log group (a CloudWatch Logs retention value)."""
    burst_sizing: BurstSizing = BurstSizing.BASELINE
    """``unlimited``: a burstable type launches in unlimited mode and counts at its full vCPUs
    at the peak; its daily average above the credit baseline is priced as surplus credits
    (``usage.ec2_surplus_credit_vcpu_hours_per_month``). Only for burstable types."""

    @model_validator(mode="after")
    def _valid(self) -> AutoScalingGroupConfig:
        _check_instance_type("instance_type", self.instance_type)
        _check_range(self.min_size, self.desired_capacity, self.max_size, "desired_capacity")
        if self.burst_sizing is BurstSizing.UNLIMITED and not ec2_instance_types()[self.instance_type].burstable:
            raise field_error(
                "burst_sizing",
                f"unlimited applies to burstable (T) types only, and {self.instance_type} is not one; "
                "remove burst_sizing or pick a t4g type (got unlimited)",
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise field_error(
                "log_retention_days",
                f"must be a CloudWatch Logs retention period, one of {', '.join(map(str, LOG_RETENTION_DAYS))} "
                f"(got {self.log_retention_days})",
            )
        return self

    def max_vcpus(self) -> int:
        return self.max_size * ec2_instance_types()[self.instance_type].vcpus

    def max_sustained_vcpus(self) -> float:
        """vCPUs at ``max_size`` that last through a peak: burstable types at their credit
        baseline, or at their full vCPUs in unlimited mode (the surplus is priced instead)."""
        spec = ec2_instance_types()[self.instance_type]
        if self.burst_sizing is BurstSizing.UNLIMITED:
            return float(self.max_size * spec.vcpus)
        return self.max_size * spec.sustained_vcpus

    def desired_baseline_vcpus(self) -> float:
        """vCPUs the group's instances at ``desired_capacity`` earn as CPU credits (all of a
        fixed-performance type's): what the daily average may use without surplus credits."""
        return round(self.desired_capacity * ec2_instance_types()[self.instance_type].sustained_vcpus, 9)


class NodePoolConfig(ConfigModel):
    """One EKS managed node group, spread over the private subnets of all three zones."""

    instance_types: Annotated[tuple[str, ...], Field(min_length=1, max_length=20)]
    """One CPU architecture; a SPOT pool lists several types of the same size."""
    capacity_type: CapacityType
    min_size: Count
    desired_size: DesiredSize
    """Size at creation only (the Cluster Autoscaler owns it afterwards); ``from_capacity``
    derives it from ``scaleplan:capacity``."""
    max_size: Annotated[int, Field(ge=1, le=1000)]
    serves_application: bool = True
    """Counts toward the capacity check; false for system-only pools."""
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    taints: tuple[TaintConfig, ...] = ()
    root_volume_gib: Annotated[int, Field(ge=20, le=1000)] = 50
    """Encrypted gp3 root volume: container images and logs live here."""

    @model_validator(mode="after")
    def _valid(self) -> NodePoolConfig:
        for index, name in enumerate(self.instance_types):
            _check_instance_type(f"instance_types.{index}", name)
        check_same_architecture(self.instance_types)
        check_spot_diversity(self.capacity_type.value, self.instance_types)
        check_labels(self.labels)
        # from_capacity is clamped into the range when resolved, so only min <= max is checked then.
        desired = self.desired_size if isinstance(self.desired_size, int) else self.min_size
        _check_range(self.min_size, desired, self.max_size, "desired_size")
        return self

    @property
    def architecture(self) -> str:
        """``arm64`` or ``x86_64``, shared by every type of the pool."""
        return ec2_instance_types()[self.instance_types[0]].architecture

    def node_vcpus(self) -> int:
        """vCPUs of the smallest type the pool may launch."""
        catalog = ec2_instance_types()
        return min(catalog[name].vcpus for name in self.instance_types)

    def max_vcpus(self) -> int:
        # A pool may launch any of its types, so count the smallest.
        return self.max_size * self.node_vcpus()

    def max_sustained_vcpus(self) -> float:
        """vCPUs at ``max_size`` that last through a peak: the smallest sustained figure of the
        pool's types (a burstable type counts at its credit baseline)."""
        catalog = ec2_instance_types()
        return self.max_size * min(catalog[name].sustained_vcpus for name in self.instance_types)


PoolName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")]


class ComputeConfig(ConfigModel):
    auto_scaling_group: AutoScalingGroupConfig | None = None
    node_pools: dict[PoolName, NodePoolConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_somewhere_to_run(self) -> ComputeConfig:
        if self.auto_scaling_group is None and not self.node_pools:
            raise field_error("", "needs auto_scaling_group, node_pools, or both")
        return self

    @model_validator(mode="after")
    def _one_pool_sized_from_capacity(self) -> ComputeConfig:
        sized = [name for name, pool in self.node_pools.items() if pool.desired_size == FROM_CAPACITY]
        if len(sized) > 1:
            raise field_error(
                f"node_pools.{sized[1]}.desired_size",
                f"only one pool may be sized from_capacity, the one that fills the gap the others leave "
                f"(got {', '.join(sized)}); give the others a number",
            )
        return self

    def max_application_vcpus(self) -> int:
        """Every vCPU of the application's compute at maximum sizes (for connections and pods)."""
        total = sum(pool.max_vcpus() for pool in self.node_pools.values() if pool.serves_application)
        if self.auto_scaling_group is not None:
            total += self.auto_scaling_group.max_vcpus()
        return total

    def sustained_application_vcpus(self) -> float:
        """The application's vCPUs at maximum sizes that last through a peak, which the capacity
        check counts: burstable types at their CPU-credit baseline (infra/catalog)."""
        total = sum(pool.max_sustained_vcpus() for pool in self.node_pools.values() if pool.serves_application)
        if self.auto_scaling_group is not None:
            total += self.auto_scaling_group.max_sustained_vcpus()
        return round(total, 9)
