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

    @property
    def family(self) -> str:
        return self.name.split(".")[0]


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


@dataclass(frozen=True)
class DataNodeClass:
    """An RDS DB instance class or an ElastiCache node type."""

    name: str
    vcpus: int
    memory_gib: float
    burstable: bool


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
