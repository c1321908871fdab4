"""The dated version catalogs: their own consistency, the pins they allow, the pins they refuse."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from infra.catalog import elasticache_node_types, rds_instance_classes
from infra.catalog.versions import (
    EKS_ADDONS,
    CacheEngineVersion,
    RdsPostgresMajor,
    eks_versions,
    elasticache_engine_versions,
    rds_postgresql_majors,
)
from infra.config.cache import CACHE_FAMILIES
from infra.database.parameters import POSTGRES_FAMILIES
from infra.provider_schemas.replacement import replacement_paths
from infra.yaml_files import load_file
from tests.conftest import ROOT, TEST_SOURCE, built_phase, phase_config, rejection

SOURCE = TEST_SOURCE
EKS_PHASES = ("growth", "scale", "optimize")
CATALOG_FILES = ("eks_versions.yaml", "rds_postgresql_versions.yaml", "elasticache_engine_versions.yaml")


# --- the catalogs themselves ---------------------------------------------------------------


@pytest.mark.parametrize("name", CATALOG_FILES)
def test_each_catalog_states_its_sources_and_date(name: str) -> None:
    data = load_file(ROOT / "infra" / "catalog" / name)
    assert data["as_of"] == "2026-12-03"
    assert data["sources"]
    assert all(str(source).startswith("https://") for source in data["sources"])


def test_eks_support_windows_follow_the_published_policy() -> None:
    # AWS: standard support for 14 months after the EKS release, then 12 months of extended support.
    for version in eks_versions().values():
        standard = version.end_of_standard_support - version.eks_release
        extended = version.end_of_extended_support - version.end_of_standard_support
        assert timedelta(days=420) <= standard <= timedelta(days=430), version.version
        assert timedelta(days=365) <= extended <= timedelta(days=366), version.version


def test_eks_catalog_holds_the_dates_aws_published() -> None:
    catalog = eks_versions()
    assert {v: str(catalog[v].end_of_standard_support) for v in catalog} == {
        "1.33": "2026-07-29",
        "1.34": "2026-12-02",
        "1.35": "2027-03-27",
        "1.36": "2027-08-02",
    }
    assert str(catalog["1.35"].eks_release) == "2026-01-28"
    assert str(catalog["1.36"].eks_release) == "2026-06-02"


def test_version_bound_builds_belong_to_their_minor() -> None:
    # kube-proxy and the Cluster Autoscaler are built per Kubernetes minor: a catalog entry of
    # another minor would let a mismatched pin through.
    for version in eks_versions().values():
        assert all(build.startswith(f"v{version.version}.") for build in version.addons["kube_proxy"])
        assert all(tag.startswith(f"v{version.version}.") for tag in version.autoscaler_image_tags)


def test_a_chart_is_listed_for_one_minor_only() -> None:
    # A chart ships one appVersion: listed under two minors, it would match a cluster it was not built for.
    seen: dict[str, str] = {}
    for version in eks_versions().values():
        for chart in version.autoscaler_chart_versions:
            assert chart not in seen, (chart, seen.get(chart), version.version)
            seen[chart] = version.version


def test_unconfirmed_builds_are_a_subset_of_the_listed_ones() -> None:
    for version in eks_versions().values():
        for addon, builds in version.unconfirmed.items():
            assert addon in EKS_ADDONS
            assert set(builds) <= set(version.addons[addon]), (version.version, addon)


def test_rds_catalog_covers_exactly_the_majors_with_a_parameter_family() -> None:
    majors = rds_postgresql_majors()
    assert set(majors) == set(POSTGRES_FAMILIES)
    for major in majors.values():
        assert major.classes <= set(rds_instance_classes()), major.major
    assert {m: str(majors[m].end_of_standard_support) for m in majors} == {
        13: "2026-02-28",
        14: "2027-02-28",
        15: "2028-02-29",
        16: "2029-02-28",
        17: "2030-02-28",
    }
    assert [m for m in majors if majors[m].derived] == [17]


def test_elasticache_catalog_covers_exactly_the_versions_with_a_parameter_family() -> None:
    catalog = elasticache_engine_versions()
    families = {(engine.value, version) for engine, versions in CACHE_FAMILIES.items() for version in versions}
    assert set(catalog) == families
    for entry in catalog.values():
        assert entry.node_types <= set(elasticache_node_types())


# --- what the committed phases pin ---------------------------------------------------------


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_eks_phases_pin_kubernetes_135_with_its_catalog_builds(phase: str) -> None:
    eks = phase_config(phase).eks
    assert eks is not None
    assert eks.kubernetes_version == "1.35"
    entry = eks_versions()["1.35"]
    for addon in EKS_ADDONS:
        assert getattr(eks.addons, addon) in entry.addons[addon]
    assert eks.addons.kube_proxy == "v1.35.3-eksbuild.2"
    assert eks.addons.coredns == "v1.13.2-eksbuild.4"
    assert eks.addons.vpc_cni == "v1.22.4-eksbuild.3"
    assert eks.charts.cluster_autoscaler.image_tag == "v1.35.2"
    assert eks.charts.cluster_autoscaler.chart.version == "9.59.0"


# Inputs that force a replacement come from the providers' own definitions
# (infra/provider_schemas): `version` (cluster, node group) and `addon_version` are updated in
# place (UpdateClusterVersion, UpdateNodegroupVersion, UpdateAddon), a Helm release's values by
# helm upgrade.
VERSIONED_TYPES = (
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:eks/addon:Addon",
    "kubernetes:helm.sh/v3:Release",
)
FORCE_NEW = {type_token: replacement_paths(type_token) for type_token in VERSIONED_TYPES}


def _strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item, path)
    elif isinstance(value, str):
        yield ".".join(path), value


def test_a_kubernetes_version_move_changes_only_inputs_updated_in_place() -> None:
    # Every input that carries a version pin from the catalog: a move to the next version
    # changes exactly these, and none of them forces a replacement of its resource.
    eks = phase_config("growth").eks
    assert eks is not None
    pins = {
        eks.kubernetes_version,
        *(getattr(eks.addons, addon) for addon in EKS_ADDONS),
        eks.charts.cluster_autoscaler.image_tag,
        eks.charts.cluster_autoscaler.chart.version,
    }
    carriers = {
        (resource.type, path)
        for resource in built_phase("growth").resources
        for path, text in _strings(dict(resource.inputs))
        if text in pins
    }
    assert carriers == {
        ("aws:eks/cluster:Cluster", "version"),
        ("aws:eks/nodeGroup:NodeGroup", "version"),
        ("aws:eks/addon:Addon", "addonVersion"),
        ("kubernetes:helm.sh/v3:Release", "values.image.tag"),
        ("kubernetes:helm.sh/v3:Release", "version"),
    }
    for resource_type, path in carriers:
        forcing = FORCE_NEW[resource_type]
        assert not any(path == p or path.startswith(f"{p}.") for p in forcing), (resource_type, path)


def test_node_groups_follow_the_cluster_version_without_a_pinned_image() -> None:
    # The launch templates name no AMI: EKS picks the AMI of the node group's `version`, so a
    # version move rolls the nodes onto the new release in place (UpdateNodegroupVersion).
    run = built_phase("growth")
    for template in run.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        if template.name.startswith("node-pools-"):
            assert "imageId" not in template.inputs, template.name
    for group in run.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert group.inputs["version"] == "1.35"


# --- rejections: EKS --------------------------------------------------------------------------


def test_rejects_kubernetes_version_the_catalog_does_not_list() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["kubernetes_version"] = "1.37"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.kubernetes_version: EKS 1.37 is not in the version catalog "
        "(infra/catalog/eks_versions.yaml); allowed: 1.33, 1.34, 1.35, 1.36 (got '1.37')"
    )


def test_rejects_136_until_its_add_on_builds_are_confirmed() -> None:
    # 1.36 is listed for its support dates; with no build confirmed for it, pinning it is refused.
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["kubernetes_version"] = "1.36"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.addons.vpc_cni: is not a build the catalog lists for Kubernetes 1.36; "
        "allowed: none listed (got v1.22.4-eksbuild.3)"
    )


def test_rejects_vpc_cni_build_not_listed_for_the_version() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["addons"]["vpc_cni"] = "v1.20.4-eksbuild.2"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.addons.vpc_cni: is not a build the catalog lists for Kubernetes 1.35; "
        "allowed: v1.21.1-eksbuild.1, v1.22.3-eksbuild.1, v1.22.4-eksbuild.3 (got v1.20.4-eksbuild.2)"
    )


def test_rejects_coredns_build_of_another_version() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["addons"]["coredns"] = "v1.12.4-eksbuild.1"  # listed for 1.33/1.34 only

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.addons.coredns: is not a build the catalog lists for Kubernetes 1.35; "
        "allowed: v1.13.2-eksbuild.4 (got v1.12.4-eksbuild.1)"
    )


def test_rejects_ebs_csi_build_not_listed() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["addons"]["aws_ebs_csi_driver"] = "v1.55.0-eksbuild.2"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.addons.aws_ebs_csi_driver: is not a build the catalog lists for Kubernetes "
        "1.35; allowed: v1.60.0-eksbuild.1 (got v1.55.0-eksbuild.2)"
    )


def test_rejects_autoscaler_chart_of_another_minor() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["charts"]["cluster_autoscaler"]["chart"]["version"] = "9.52.1"  # appVersion 1.34.1

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.charts.cluster_autoscaler.chart.version: must be a cluster-autoscaler chart "
        "whose appVersion is 1.35.x; allowed: 9.54.0, 9.54.1, 9.55.0, 9.55.1, 9.56.0, 9.57.0, 9.58.0, 9.59.0 "
        "(got 9.52.1)"
    )


def test_rejects_a_move_to_134_with_its_add_ons_unconfirmed() -> None:
    # The catalog confirms no VPC CNI build for 1.34: pinning 1.34 is refused with that said.
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["kubernetes_version"] = "1.34"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.addons.vpc_cni: is not a build the catalog lists for Kubernetes 1.34; "
        "allowed: none listed (got v1.22.4-eksbuild.3)"
    )


# --- rejections: RDS and ElastiCache (against a catalog changed one entry at a time) ---------


def test_rejects_rds_major_the_catalog_does_not_list(monkeypatch: pytest.MonkeyPatch) -> None:
    majors = {major: entry for major, entry in rds_postgresql_majors().items() if major != 16}
    monkeypatch.setattr("infra.config.database.rds_postgresql_majors", lambda: majors)

    assert rejection(lambda values: None) == (
        f"{SOURCE}: scaleplan:database.engine_version: RDS for PostgreSQL 16 is not in the version catalog "
        "(infra/catalog/rds_postgresql_versions.yaml); allowed major versions: 13, 14, 15, 17 (got '16')"
    )


def test_rejects_rds_class_the_major_does_not_run_on(monkeypatch: pytest.MonkeyPatch) -> None:
    majors: dict[int, RdsPostgresMajor] = dict(rds_postgresql_majors())
    majors[16] = dataclasses.replace(majors[16], classes=frozenset({"db.r7g.large", "db.m7g.large"}))
    monkeypatch.setattr("infra.config.database.rds_postgresql_majors", lambda: majors)

    assert rejection(lambda values: None) == (
        f"{SOURCE}: scaleplan:database.instance_class: the catalog lists no RDS for PostgreSQL 16 on "
        "db.t4g.large; allowed: db.m7g.large, db.r7g.large (got 'db.t4g.large')"
    )


def test_rejects_cache_version_the_catalog_does_not_list(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = {key: entry for key, entry in elasticache_engine_versions().items() if key != ("valkey", "8.0")}
    monkeypatch.setattr("infra.config.cache.elasticache_engine_versions", lambda: catalog)

    assert rejection(lambda values: None) == (
        f"{SOURCE}: scaleplan:cache.engine_version: valkey 8.0 is not in the version catalog "
        "(infra/catalog/elasticache_engine_versions.yaml); allowed: 7.2, 8.1 (got '8.0')"
    )


def test_rejects_cache_node_type_the_version_does_not_run_on(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog: dict[tuple[str, str], CacheEngineVersion] = dict(elasticache_engine_versions())
    catalog[("valkey", "8.0")] = dataclasses.replace(
        catalog[("valkey", "8.0")], node_types=frozenset({"cache.r7g.large"})
    )
    monkeypatch.setattr("infra.config.cache.elasticache_engine_versions", lambda: catalog)

    assert rejection(lambda values: None) == (
        f"{SOURCE}: scaleplan:cache.node_type: the catalog lists no valkey 8.0 on cache.t4g.medium; "
        "allowed: cache.r7g.large (got 'cache.t4g.medium')"
    )
