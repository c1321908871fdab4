"""The price catalog: every priced thing has a source and a date, and the catalogs agree."""

from __future__ import annotations

from infra.catalog import ec2_instance_types
from infra.cost.catalog import Confidence, price_catalog


def test_every_rate_names_a_source_and_a_date() -> None:
    catalog = price_catalog()
    for section, items in catalog.sections.items():
        for item, rate in items.items():
            assert rate.source.strip(), f"{section}.{item}"
            assert rate.as_of.strip(), f"{section}.{item}"


def test_every_ec2_catalog_type_has_an_on_demand_price() -> None:
    priced = set(price_catalog().sections["ec2_on_demand_hour"])
    assert set(ec2_instance_types()) <= priced


def test_spot_discount_is_a_documented_assumption() -> None:
    discount = price_catalog().rate("ec2_spot", "discount_fraction")
    assert discount.confidence is Confidence.ASSUMPTION
    assert 0 < discount.value < 1
    assert discount.note


def test_prices_match_the_reference_figures() -> None:
    catalog = price_catalog()
    # Spot checks against /work/shared/reference/aws-cloudflare-prices.yaml.
    assert catalog.rate("ec2_on_demand_hour", "t3.large").value == 0.0832
    assert catalog.rate("rds_postgresql_single_az_hour", "db.m6g.large").value == 0.159
    assert catalog.rate("elasticache_valkey_node_hour", "cache.t4g.medium").value == 0.052
    assert catalog.rate("vpc", "nat_gateway_hour").value == 0.045
    assert catalog.rate("cloudflare_r2", "standard_storage_gb_month").value == 0.015
    assert catalog.hours == 730


def test_derived_rds_prices_are_marked_derived() -> None:
    assert price_catalog().rate("rds_postgresql_single_az_hour", "db.r7g.large").confidence is Confidence.DERIVED
