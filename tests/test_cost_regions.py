"""Prices follow the phase's region: another region's figure is never used, and a gap is an error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from infra.cost.catalog import PriceCatalog, UnknownPriceError, UnknownRegionError, price_catalog
from infra.cost.estimate import estimate, from_captured
from infra.cost.policy_config import BUDGET, cost_policy_config
from infra.cost.section import cost_section
from tests.conftest import built_phase, phase_config


def _rate(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "USD/hour", "source": "test", "as_of": "2026-12", "confidence": "sourced"}


def _catalog(regions: dict[str, Any]) -> PriceCatalog:
    return PriceCatalog.model_validate(
        {
            "hours_per_month": _rate(730),
            "free_resource_types": {},
            "region": "us-east-1",
            "regional_sections": ["ec2_on_demand_hour"],
            "regions": regions,
            "sections": {
                "ec2_on_demand_hour": {"t4g.medium": _rate(0.0336), "m7g.large": _rate(0.0816)},
                "ec2_spot": {"discount_fraction": _rate(0.6)},
            },
        }
    )


def test_the_home_region_reads_the_sections() -> None:
    catalog = _catalog({})
    assert catalog.for_region("us-east-1") is catalog
    assert catalog.rate("ec2_on_demand_hour", "t4g.medium").value == 0.0336


def test_another_region_reads_only_its_own_prices() -> None:
    eu = _catalog({"eu-west-1": {"ec2_on_demand_hour": {"t4g.medium": _rate(0.0368)}}}).for_region("eu-west-1")
    assert eu.rate("ec2_on_demand_hour", "t4g.medium").value == 0.0368
    # A figure that does not differ by region (a modelling figure, Cloudflare) holds everywhere.
    assert eu.rate("ec2_spot", "discount_fraction").value == 0.6
    # An item the region does not list has no price there: never us-east-1's 0.0816.
    with pytest.raises(UnknownPriceError, match=r"no price for 'm7g.large' in 'ec2_on_demand_hour' for eu-west-1"):
        eu.rate("ec2_on_demand_hour", "m7g.large")


def test_a_region_without_prices_is_an_error_listing_the_priced_ones() -> None:
    catalog = _catalog({"eu-west-1": {"ec2_on_demand_hour": {}}})
    with pytest.raises(UnknownRegionError) as raised:
        catalog.for_region("ap-south-1")
    assert str(raised.value) == (
        "no prices for region 'ap-south-1' in infra/cost/prices.yaml; regions with prices: eu-west-1, us-east-1"
    )


def test_only_regional_sections_may_differ_by_region() -> None:
    with pytest.raises(ValidationError, match="only regional sections differ by region, not ec2_spot"):
        _catalog({"eu-west-1": {"ec2_spot": {"discount_fraction": _rate(0.5)}}})


def test_the_catalog_marks_aws_prices_regional_and_cloudflare_global() -> None:
    catalog = price_catalog()
    assert catalog.region == "us-east-1"
    assert {"ec2_on_demand_hour", "rds_postgresql_single_az_hour", "elasticache_valkey_node_hour", "vpc", "elb"} <= (
        catalog.regional_sections
    )
    assert not {"cloudflare_r2", "cloudflare_plan_month", "ec2_spot", "rds_multi_az"} & catalog.regional_sections
    # us-east-1 whole; the other three only for the items a source prices there (docs/cost.md).
    assert catalog.priced_regions == ["eu-central-1", "eu-west-1", "us-east-1", "us-west-2"]


def test_the_estimate_uses_the_given_region() -> None:
    config = phase_config("growth")
    resources = from_captured(built_phase("growth").resources)
    home = estimate(resources, config.usage, region="us-east-1")
    assert home.total_usd == estimate(resources, config.usage).total_usd
    with pytest.raises(UnknownRegionError, match="'ap-south-1'"):
        estimate(resources, config.usage, region="ap-south-1")


def test_the_cost_section_names_the_region_key_when_it_cannot_price() -> None:
    config = phase_config("growth")
    # Built directly (the loader refuses such a file): the section must not fall back to us-east-1.
    elsewhere = config.model_copy(
        update={"environment": config.environment.model_copy(update={"region": "ap-south-1"})}
    )
    section = cost_section(elsewhere, built_phase("growth"))
    assert section.failed
    assert section.rows == [
        [
            "scaleplan:environment.region 'ap-south-1': no prices for region 'ap-south-1' in "
            f"infra/cost/prices.yaml; regions with prices: {', '.join(price_catalog().priced_regions)}"
        ]
    ]


def test_the_budget_policy_prices_the_phases_region() -> None:
    assert cost_policy_config(phase_config("growth"))[BUDGET]["region"] == "us-east-1"


def test_a_listed_region_is_priced_with_its_own_figures() -> None:
    # eu-west-1 lists t3.large and gp2 (Infracost's eu-west-1 golden): $0.0912/h and $0.11/GB-month,
    # not us-east-1's $0.0832 and $0.10.
    eu, home = price_catalog().for_region("eu-west-1"), price_catalog().for_region("us-east-1")
    assert eu.rate("ec2_on_demand_hour", "t3.large").value == 0.0912
    assert eu.rate("ebs_gb_month", "gp2").value == 0.11
    assert home.rate("ec2_on_demand_hour", "t3.large").value == 0.0832
    assert home.rate("ebs_gb_month", "gp2").value == 0.10
    every = [
        rate for sections in price_catalog().regions.values() for items in sections.values() for rate in items.values()
    ]
    assert all(rate.source.startswith("github:") and rate.as_of for rate in every)


def test_an_item_a_listed_region_lacks_fails_the_estimate_naming_the_key() -> None:
    config = phase_config("growth")
    elsewhere = config.model_copy(update={"environment": config.environment.model_copy(update={"region": "eu-west-1"})})
    section = cost_section(elsewhere, built_phase("growth"))
    assert section.failed
    [[problem]] = section.rows
    # The first resource with an item eu-west-1 does not price, never priced at us-east-1's figure.
    assert str(problem).startswith("scaleplan:environment.region 'eu-west-1': ")
    # (Which one comes first follows the registration order, which varies between runs.)
    assert re.search(r"no price for '[^']+' in '[a-z0-9_]+' for eu-west-1 \(infra/cost/prices.yaml\)", str(problem))
