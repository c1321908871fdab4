"""Catalogs of the hardware this program may provision, loaded once from sourced data files."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from infra.yaml_files import load_file

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: float
    architecture: str
    burstable: bool
    baseline_percent_per_vcpu: float | None = None
    """Burstable types: the share of each vCPU sustained once CPU credits are spent."""

    @property
    def family(self) -> str:
        return self.name.split(".")[0]

    @property
    def sustained_vcpus(self) -> float:
        """vCPUs this type serves for as long as a peak lasts: all of them, or a burstable type's
        credit baseline (t4g.small: 2 x 20% = 0.4), which the capacity check counts."""
        return sustained_vcpus(self.vcpus, self.burstable, self.baseline_percent_per_vcpu, self.name)


@functools.cache
def ec2_instance_types() -> dict[str, InstanceType]:
    data = load_file(_HERE / "ec2_instance_types.yaml")
    return {name: InstanceType(name=name, **spec) for name, spec in data["types"].items()}


def ec2_instance_type(name: str) -> InstanceType:
    """The catalog entry for ``name``; ``KeyError`` names the allowed types."""
    catalog = ec2_instance_types()
    if name not in catalog:
        raise KeyError(f"{name!r} is not in the EC2 instance catalog; allowed: {', '.join(sorted(catalog))}")
    return catalog[name]


def sustained_vcpus(vcpus: int, burstable: bool, baseline_percent_per_vcpu: float | None, name: str) -> float:
    if not burstable:
        return float(vcpus)
    if baseline_percent_per_vcpu is None:
        raise ValueError(f"{name} is burstable but the catalog states no baseline_percent_per_vcpu")
    return round(vcpus * baseline_percent_per_vcpu / 100, 9)


@dataclass(frozen=True)
class DataNodeClass:
    """An RDS DB instance class or an ElastiCache node type."""

    name: str
    vcpus: int
    memory_gib: float
    burstable: bool
    baseline_percent_per_vcpu: float | None = None
    """Burstable RDS classes: the share of each vCPU sustained once CPU credits are spent."""

    @property
    def sustained_vcpus(self) -> float:
        """vCPUs the class serves through a long peak (its credit baseline when burstable)."""
        return sustained_vcpus(self.vcpus, self.burstable, self.baseline_percent_per_vcpu, self.name)


def _data_node_classes(file: str, key: str) -> dict[str, DataNodeClass]:
    data = load_file(_HERE / file)
    return {name: DataNodeClass(name=name, **spec) for name, spec in data[key].items()}


@functools.cache
def rds_instance_classes() -> dict[str, DataNodeClass]:
    """RDS PostgreSQL instance classes by name (``db.r6g.large``)."""
    return _data_node_classes("rds_instance_classes.yaml", "classes")


@functools.cache
def elasticache_node_types() -> dict[str, DataNodeClass]:
    """ElastiCache node types by name (``cache.r6g.large``)."""
    return _data_node_classes("elasticache_node_types.yaml", "types")
