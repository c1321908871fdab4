"""Dated catalogs of the versions this program may pin: EKS, RDS for PostgreSQL, ElastiCache, charts.

Each catalog is a sourced data file beside this module (see its header and docs/catalogs.md).
The config models refuse a pin the catalog does not list; :mod:`infra.catalog.support` reads the
support dates to warn before a pinned version leaves standard support.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from infra.yaml_files import load_file

_HERE = Path(__file__).parent

EKS_VERSIONS_FILE = "infra/catalog/eks_versions.yaml"
RDS_POSTGRESQL_VERSIONS_FILE = "infra/catalog/rds_postgresql_versions.yaml"
ELASTICACHE_ENGINE_VERSIONS_FILE = "infra/catalog/elasticache_engine_versions.yaml"
KEDA_CHARTS_FILE = "infra/catalog/keda_charts.yaml"
CLOUDWATCH_OBSERVABILITY_CHARTS_FILE = "infra/catalog/cloudwatch_observability_charts.yaml"

EKS_ADDONS = ("vpc_cni", "coredns", "kube_proxy", "aws_ebs_csi_driver")
"""The EKS-managed add-ons the cluster installs, as ``scaleplan:eks.addons`` names them."""


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _optional_date(value: Any) -> date | None:
    return None if value is None else _date(value)


def _strings(values: Any) -> tuple[str, ...]:
    return tuple(str(value) for value in values or ())


@dataclass(frozen=True)
class EksVersion:
    """One Kubernetes minor version on EKS, with what AWS and upstream published for it."""

    version: str
    eks_release: date
    end_of_standard_support: date
    end_of_extended_support: date
    addons: Mapping[str, tuple[str, ...]]
    """Add-on builds published for this version, by add-on (``kube_proxy``)."""
    unconfirmed: Mapping[str, tuple[str, ...]]
    """Builds listed above that no AWS page confirmed for this version (seen in public configs)."""
    autoscaler_image_tags: tuple[str, ...]
    autoscaler_chart_versions: tuple[str, ...]


@functools.cache
def eks_versions() -> dict[str, EksVersion]:
    """EKS Kubernetes versions by minor (``"1.35"``), from infra/catalog/eks_versions.yaml."""
    data = load_file(_HERE / "eks_versions.yaml")
    catalog: dict[str, EksVersion] = {}
    for version, spec in data["versions"].items():
        autoscaler = spec["cluster_autoscaler"]
        catalog[str(version)] = EksVersion(
            version=str(version),
            eks_release=_date(spec["eks_release"]),
            end_of_standard_support=_date(spec["end_of_standard_support"]),
            end_of_extended_support=_date(spec["end_of_extended_support"]),
            addons={addon: _strings(spec["addons"][addon]) for addon in EKS_ADDONS},
            unconfirmed={addon: _strings(builds) for addon, builds in (spec.get("unconfirmed") or {}).items()},
            autoscaler_image_tags=_strings(autoscaler["image_tags"]),
            autoscaler_chart_versions=_strings(autoscaler["chart_versions"]),
        )
    return catalog


@dataclass(frozen=True)
class RdsPostgresMajor:
    """One RDS for PostgreSQL major version and the instance classes it runs on."""

    major: int
    end_of_standard_support: date
    derived: bool
    """The date is derived from a related published date, not read as stated."""
    classes: frozenset[str]


@functools.cache
def rds_postgresql_majors() -> dict[int, RdsPostgresMajor]:
    """RDS for PostgreSQL majors by number, from infra/catalog/rds_postgresql_versions.yaml."""
    data = load_file(_HERE / "rds_postgresql_versions.yaml")
    classes = frozenset(_strings(data["classes"]))
    return {
        int(major): RdsPostgresMajor(
            major=int(major),
            end_of_standard_support=_date(spec["end_of_standard_support"]),
            derived=bool(spec.get("derived", False)),
            classes=frozenset(_strings(spec["classes"])) if "classes" in spec else classes,
        )
        for major, spec in data["majors"].items()
    }


@dataclass(frozen=True)
class CacheEngineVersion:
    """One ElastiCache engine version (``valkey`` ``8.0``) and the node types that run it."""

    engine: str
    version: str
    end_of_standard_support: date | None
    """``None``: AWS has announced no end date."""
    node_types: frozenset[str]


@functools.cache
def elasticache_engine_versions() -> dict[tuple[str, str], CacheEngineVersion]:
    """ElastiCache engine versions by ``(engine, version)``, from elasticache_engine_versions.yaml."""
    data = load_file(_HERE / "elasticache_engine_versions.yaml")
    node_types = frozenset(_strings(data["node_types"]))
    catalog: dict[tuple[str, str], CacheEngineVersion] = {}
    for engine, versions in data["engines"].items():
        for version, spec in versions.items():
            catalog[(str(engine), str(version))] = CacheEngineVersion(
                engine=str(engine),
                version=str(version),
                end_of_standard_support=_optional_date(spec["end_of_standard_support"]),
                node_types=frozenset(_strings(spec["node_types"])) if "node_types" in spec else node_types,
            )
    return catalog


@dataclass(frozen=True)
class KedaChart:
    """One KEDA Helm chart version and the Kubernetes minors it is built for."""

    version: str
    app_version: str
    kubernetes: tuple[str, ...]
    crd_schemas: str
    """Repository path of the ScaledObject/TriggerAuthentication schemas of this chart's CRDs."""


@functools.cache
def keda_charts() -> dict[str, KedaChart]:
    """KEDA chart versions by version (``"2.20.2"``), from infra/catalog/keda_charts.yaml."""
    data = load_file(_HERE / "keda_charts.yaml")
    return {
        str(version): KedaChart(
            version=str(version),
            app_version=str(spec["app_version"]),
            kubernetes=_strings(spec["kubernetes"]),
            crd_schemas=str(spec["crd_schemas"]),
        )
        for version, spec in data["charts"].items()
    }


@dataclass(frozen=True)
class CloudWatchObservabilityChart:
    """One amazon-cloudwatch-observability chart version, the image tags it installs and the
    Kubernetes minors it is accepted for."""

    version: str
    package_digest: str
    agent_image_tag: str
    operator_image_tag: str
    kubernetes: tuple[str, ...]
    kubernetes_confirmed: bool
    """False: listed without a support statement from AWS (the catalog's header says why)."""


@functools.cache
def cloudwatch_observability_charts() -> dict[str, CloudWatchObservabilityChart]:
    """Chart versions by version (``"6.4.0"``), from infra/catalog/cloudwatch_observability_charts.yaml."""
    data = load_file(_HERE / "cloudwatch_observability_charts.yaml")
    return {
        str(version): CloudWatchObservabilityChart(
            version=str(version),
            package_digest=str(spec["package_digest"]),
            agent_image_tag=str(spec["agent_image_tag"]),
            operator_image_tag=str(spec["operator_image_tag"]),
            kubernetes=_strings(spec["kubernetes"]),
            kubernetes_confirmed=bool(spec["kubernetes_confirmed"]),
        )
        for version, spec in data["charts"].items()
    }


def listed(values: tuple[str, ...] | frozenset[str] | list[str]) -> str:
    """``a, b, c``, or a sentence saying the catalog lists none."""
    if not values:
        return "none listed"
    return ", ".join(values if isinstance(values, tuple) else sorted(values))
