"""The small burstable classes: in every catalog that gates them, priced, and counted at their credit baseline."""

from __future__ import annotations

import pytest

from infra.catalog import ec2_instance_types, elasticache_node_types, rds_instance_classes
from infra.catalog.versions import elasticache_engine_versions, rds_postgresql_majors
from infra.cost.catalog import price_catalog

SMALL_EC2 = ("t4g.nano", "t4g.micro", "t4g.small")
SMALL_RDS = ("db.t4g.micro", "db.t4g.small")
SMALL_CACHE = ("cache.t4g.micro",)


def test_every_burstable_type_states_its_baseline_and_no_other_does() -> None:
    for catalog in (ec2_instance_types(), rds_instance_classes()):
        for name, spec in catalog.items():
            assert (spec.baseline_percent_per_vcpu is not None) == spec.burstable, name


@pytest.mark.parametrize(
    ("name", "vcpus", "memory_gib", "baseline", "sustained"),
    [
        # AWS EC2 credit table: credits earned per hour / 60 / vCPUs.
        ("t4g.nano", 2, 0.5, 5, 0.1),
        ("t4g.micro", 2, 1, 10, 0.2),
        ("t4g.small", 2, 2, 20, 0.4),
        ("t4g.large", 2, 8, 30, 0.6),
        ("t3.xlarge", 4, 16, 40, 1.6),
    ],
)
def test_ec2_burstable_figures(name: str, vcpus: int, memory_gib: float, baseline: float, sustained: float) -> None:
    spec = ec2_instance_types()[name]
    assert (spec.vcpus, spec.memory_gib, spec.baseline_percent_per_vcpu) == (vcpus, memory_gib, baseline)
    assert spec.sustained_vcpus == sustained


def test_a_fixed_performance_type_sustains_all_its_vcpus() -> None:
    assert ec2_instance_types()["m7g.large"].sustained_vcpus == 2
    assert rds_instance_classes()["db.r6g.large"].sustained_vcpus == 2


def test_small_rds_and_cache_figures() -> None:
    micro, small = (rds_instance_classes()[name] for name in SMALL_RDS)
    assert (micro.vcpus, micro.memory_gib, micro.sustained_vcpus) == (2, 1, 0.2)
    assert (small.vcpus, small.memory_gib, small.sustained_vcpus) == (2, 2, 0.4)
    node = elasticache_node_types()["cache.t4g.micro"]
    assert (node.vcpus, node.memory_gib) == (2, 0.5)


def test_small_classes_run_every_offered_version() -> None:
    for major in rds_postgresql_majors().values():
        assert set(SMALL_RDS) <= set(major.classes), major.major
    for entry in elasticache_engine_versions().values():
        assert set(SMALL_CACHE) <= set(entry.node_types)


def test_small_classes_are_priced_from_their_sources() -> None:
    catalog = price_catalog()
    # us-east-1 on-demand: karpenter's generated AWS price table (2026-07-20) for EC2.
    ec2 = {name: catalog.rate("ec2_on_demand_hour", name).value for name in SMALL_EC2}
    assert ec2 == {"t4g.nano": 0.0042, "t4g.micro": 0.0084, "t4g.small": 0.0168}
    assert catalog.rate("rds_postgresql_single_az_hour", "db.t4g.micro").value == 0.016
    assert catalog.rate("rds_postgresql_single_az_hour", "db.t4g.small").value == 0.032
    assert catalog.rate("elasticache_redis_node_hour", "cache.t4g.micro").value == 0.016
    assert catalog.rate("elasticache_valkey_node_hour", "cache.t4g.micro").value == 0.0128
    for section in ("rds_postgresql_single_az_hour", "elasticache_redis_node_hour", "elasticache_valkey_node_hour"):
        priced = set(catalog.sections[section])
        names = rds_instance_classes() if section.startswith("rds") else elasticache_node_types()
        assert set(names) <= priced, section
