"""Prices follow the phase's region: another region's figure is never used, and a gap is an error."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from infra.cost.catalog import PriceCatalog, UnknownPriceError, UnknownRegionError, price_catalog
from infra.cost.estimate import estimate, from_captured, regional_gaps
from infra.cost.policy_config import BUDGET, cost_policy_config
from infra.cost.section import cost_section
from tests.conftest import ROOT, built_phase, phase_config


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
    # One figure per source and region, read from that region's own entries, never us-east-1's
    # (EC2: skypilot-catalog; RDS: coroot/cloud-pricing; ElastiCache: ec2-instances-info;
    # egress: Infracost's data_transfer golden; gp2: Infracost's eu-west-1 golden).
    catalog = price_catalog()
    home, eu, fra, oregon = (catalog.for_region(r) for r in ("us-east-1", "eu-west-1", "eu-central-1", "us-west-2"))
    assert eu.rate("ec2_on_demand_hour", "t3.large").value == 0.0912
    assert home.rate("ec2_on_demand_hour", "t3.large").value == 0.0832
    assert eu.rate("ebs_gb_month", "gp2").value == 0.11
    assert home.rate("ebs_gb_month", "gp2").value == 0.10
    assert fra.rate("ec2_on_demand_hour", "t4g.large").value == 0.0768
    assert fra.rate("rds_postgresql_single_az_hour", "db.t4g.large").value == 0.149
    assert home.rate("rds_postgresql_single_az_hour", "db.t4g.large").value == 0.129
    assert eu.rate("elasticache_valkey_node_hour", "cache.t4g.medium").value == 0.0544
    assert fra.rate("elasticache_redis_node_hour", "cache.t4g.small").value == 0.036
    # Oregon is priced like N. Virginia for these, by its own sourced entries.
    assert oregon.rate("rds_postgresql_single_az_hour", "db.r6g.large").value == 0.225
    assert oregon.rate("ec2_on_demand_hour", "m7g.large").value == 0.0816
    assert oregon.rate("internet_egress_gb", "first_10tb").value == 0.09
    assert oregon.rate("internet_egress_tier_gb", "next_40tb").value == 40960
    # The general-purpose, compute and memory classes added from the same skypilot-catalog rows.
    assert fra.rate("ec2_on_demand_hour", "m7i.large").value == 0.12075
    assert eu.rate("ec2_on_demand_hour", "c7g.2xlarge").value == 0.3101
    assert eu.rate("ec2_on_demand_hour", "r6g.large").value == 0.1128
    assert oregon.rate("ec2_on_demand_hour", "m6i.xlarge").value == home.rate("ec2_on_demand_hour", "m6i.xlarge").value
    # A KMS key costs the same everywhere, by AWS's own page (not copied from us-east-1's entry).
    assert {r.rate("kms", "key_month").value for r in (eu, fra, oregon)} == {1.0}
    assert all(
        r.rate("kms", "key_month").source.startswith("https://aws.amazon.com/kms/pricing/") for r in (eu, fra, oregon)
    )
    every = [rate for sections in catalog.regions.values() for items in sections.values() for rate in items.values()]
    # Every regional figure names a public source (a repository at a commit, or a first-party page
    # that states one figure for every region: the account-wide egress allowance, the KMS key fee)
    # and a date.
    assert all(rate.source.startswith(("github:", "https://repost.aws/", "https://aws.amazon.com/")) for rate in every)
    assert all(rate.as_of for rate in every)
    listed = ("us-west-2", "eu-west-1", "eu-central-1")
    assert [rate for rate in every if not rate.source.startswith("github:")] == [
        catalog.regions[r][section][item]
        for r in listed
        for section, item in (("kms", "key_month"), ("internet_egress_gb", "free_gb"))
    ]


SMALL_BURSTABLE = {
    "ec2_on_demand_hour": ("t4g.nano", "t4g.micro", "t4g.small", "t4g.medium", "t4g.large"),
    "rds_postgresql_single_az_hour": ("db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large"),
    "elasticache_redis_node_hour": ("cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium"),
    "elasticache_valkey_node_hour": ("cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium"),
}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")
CLASS_SECTIONS = frozenset(SMALL_BURSTABLE)


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_prices_the_small_burstable_classes(region: str) -> None:
    catalog = price_catalog().for_region(region)
    for section, items in SMALL_BURSTABLE.items():
        for item in items:
            assert catalog.rate(section, item).value > 0, (region, section, item)


def test_every_ec2_type_is_priced_in_every_listed_region() -> None:
    # Every type of the us-east-1 table has its own figure in each listed region (skypilot-catalog rows).
    catalog = price_catalog()
    home = set(catalog.sections["ec2_on_demand_hour"])
    for region in ("us-west-2", "eu-west-1", "eu-central-1"):
        assert home <= set(catalog.regions[region]["ec2_on_demand_hour"]), region
    assert catalog.for_region("eu-central-1").rate("ec2_on_demand_hour", "r7g.large").value == 0.1292


# What each root phase needs that each region does not price: services with no per-region
# source found (docs/cost.md, Regions, "Not done"). Every instance, node and DB class is
# priced in all four regions; these are the rest, one family per line.
_UNSOURCED_EVERYWHERE = {
    ("aws_backup_gb_month", "rds_snapshot"),  # AWS Backup storage
    ("cloudwatch", "alarm_standard_month"),  # CloudWatch alarms
    ("cloudwatch", "dashboard_month"),  # CloudWatch dashboards
    ("ebs_gb_month", "gp3"),  # EBS gp3
    ("elb", "alb_hour"),  # ALB hour
    ("elb", "alb_lcu_hour"),  # ALB LCU
    ("rds_storage_gb_month_single_az", "gp3"),  # RDS storage
    ("secrets_manager", "secret_month"),  # Secrets Manager secret
    ("storage_gb_month", "s3_standard"),  # S3 storage
    ("vpc", "nat_gateway_gb"),  # NAT gateway GB
    ("vpc", "nat_gateway_hour"),  # NAT gateway hour
}
# The cluster, its VPC interface endpoints, KEDA's GetMetricData reads and Container Insights'
# custom metrics: every phase but
# foundation (which runs its application on an Auto Scaling group) creates them.
_UNSOURCED_WITH_THE_CLUSTER = {
    ("cloudwatch", "custom_metric_month"),  # Container Insights' metrics
    ("cloudwatch", "get_metric_data_per_1k_metrics"),
    ("eks_cluster_hour", "standard"),
    ("vpc", "interface_endpoint_az_hour"),
    ("vpc", "interface_endpoint_gb"),
}
# Priced in some listed regions from a per-region source, not in these.
_UNSOURCED_HERE = {
    "us-east-1": set(),
    "us-west-2": {
        ("cloudwatch", "logs_ingestion_gb"),
        ("cloudwatch", "logs_storage_gb_month"),
        ("ec2_public_ipv4_hour", "ipv4"),
        ("rds_extra", "backup_storage_gb_month_beyond_free"),
    },
    "eu-west-1": {("ec2_public_ipv4_hour", "ipv4")},
    "eu-central-1": {
        ("cloudwatch", "logs_ingestion_gb"),
        ("cloudwatch", "logs_storage_gb_month"),
        ("rds_extra", "backup_storage_gb_month_beyond_free"),
    },
}


def _gaps(region: str, *, cluster: bool) -> set[tuple[str, str]]:
    if region == "us-east-1":
        return set()
    return _UNSOURCED_EVERYWHERE | (_UNSOURCED_WITH_THE_CLUSTER if cluster else set()) | _UNSOURCED_HERE[region]


PHASE_GAPS = {
    phase: {region: _gaps(region, cluster=phase != "foundation") for region in REGIONS}
    for phase in ("foundation", "growth", "scale", "optimize")
}
GROWTH_GAPS = PHASE_GAPS["growth"]


@pytest.mark.parametrize("phase", sorted(PHASE_GAPS))
def test_each_root_phase_in_each_region_lacks_exactly_the_documented_items(phase: str) -> None:
    # One build per root stack file, priced under four regions (docs/cost.md lists the same
    # gaps): a figure added under `regions:` must shrink this list, and a figure removed, or a
    # phase that starts to use an unpriced item, must grow it.
    config = phase_config(phase)
    resources = from_captured(built_phase(phase).resources)
    for region in REGIONS:
        assert set(regional_gaps(resources, config.usage, region)) == PHASE_GAPS[phase][region], (phase, region)
    # The home region prices all of it, with the figures an estimate without a region uses.
    assert (
        estimate(resources, config.usage, region="us-east-1").total_usd == estimate(resources, config.usage).total_usd
    )


def test_the_docs_count_the_same_gaps_per_phase_and_region() -> None:
    # docs/cost.md's table of what each phase lacks is read back, so it cannot drift from the
    # pinned lists (which the test above reads off the catalog).
    text = (ROOT / "docs" / "cost.md").read_text(encoding="utf-8")
    rows = {
        label: [int(count) for count in counts.split("|")]
        for label, counts in re.findall(r"^\| (foundation|growth, scale, optimize) [^|]*\|([\d |]+)\|$", text, re.M)
    }
    # The EKS phases share one row because they lack the same items.
    assert PHASE_GAPS["growth"] == PHASE_GAPS["scale"] == PHASE_GAPS["optimize"]
    assert rows == {
        "foundation": [len(PHASE_GAPS["foundation"][region]) for region in REGIONS],
        "growth, scale, optimize": [len(PHASE_GAPS["growth"][region]) for region in REGIONS],
    }


def test_no_listed_region_prices_an_item_the_gap_list_calls_unsourced() -> None:
    # The pinned gaps are read off the catalog itself: an unsourced item never sits under
    # `regions:` (so it cannot have been filled from us-east-1's figure by mistake) ...
    catalog = price_catalog()
    for region in ("us-west-2", "eu-west-1", "eu-central-1"):
        listed = {(section, item) for section, items in catalog.regions[region].items() for item in items}
        unsourced = _UNSOURCED_EVERYWHERE | _UNSOURCED_WITH_THE_CLUSTER | _UNSOURCED_HERE[region]
        assert not listed & unsourced, region
    # ... and every one of them is priced at home, so the estimate there stays whole.
    for section, item in _UNSOURCED_EVERYWHERE | _UNSOURCED_WITH_THE_CLUSTER:
        assert catalog.rate(section, item).value > 0, (section, item)


def _classes(node: Any, found: dict[str, set[str]]) -> dict[str, set[str]]:
    """Every EC2 type, RDS class and cache node type a stack file names, wherever it sits."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "instance_types":
                found["ec2_on_demand_hour"].update(value)
            elif key == "instance_class":
                found["rds_postgresql_single_az_hour"].add(value)
            elif key == "node_type":
                found["elasticache_redis_node_hour"].add(value)
                found["elasticache_valkey_node_hour"].add(value)
            else:
                _classes(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _classes(value, found)
    return found


def test_every_class_a_stack_file_uses_is_priced_in_every_region() -> None:
    used: dict[str, set[str]] = {section: set() for section in SMALL_BURSTABLE}
    for phase in ("foundation", "growth", "scale", "optimize"):
        _classes(phase_config(phase).model_dump(mode="json"), used)
    # The walk finds what the four files name (so a renamed key cannot silently skip a class).
    assert used["ec2_on_demand_hour"] >= {"t4g.large", "m6g.large", "m7g.large"}
    assert used["rds_postgresql_single_az_hour"] >= {"db.t4g.medium", "db.t4g.large", "db.r6g.large"}
    assert used["elasticache_valkey_node_hour"] >= {"cache.t4g.small", "cache.t4g.medium"}
    for region in REGIONS:
        catalog = price_catalog().for_region(region)
        for section, items in used.items():
            for item in items:
                assert catalog.rate(section, item).value > 0, (region, section, item)


@pytest.mark.parametrize("region", ["us-west-2", "eu-west-1", "eu-central-1"])
def test_what_a_region_prices_is_priced_at_its_own_figures(region: str) -> None:
    # The growth cache and the account-wide egress are priced in every region: their lines
    # carry the region's rates, not us-east-1's.
    config = phase_config("growth")
    resources = from_captured(built_phase("growth").resources)
    caches = [r for r in resources if r.type == "aws:elasticache/replicationGroup:ReplicationGroup"]
    assert caches
    here, home = price_catalog().for_region(region), price_catalog()
    lines = estimate(caches, config.usage, region=region).lines
    cache_lines = [line for line in lines if line.type == "aws:elasticache/replicationGroup:ReplicationGroup"]
    node_type = str(caches[0].inputs["nodeType"])
    section = f"elasticache_{caches[0].inputs.get('engine') or 'redis'}_node_hour"
    assert cache_lines
    assert all(line.unit_price_usd == here.rate(section, node_type).value for line in cache_lines)
    assert all(line.source == here.rate(section, node_type).source for line in cache_lines)
    egress = [line for line in lines if line.item.startswith("internet egress")]
    assert egress
    for line in egress:
        rate = here.rate("internet_egress_gb", line.item.rsplit(" ", 1)[-1])
        assert (line.unit_price_usd, line.source) == (rate.value, rate.source)
        assert f"aws_data_transfer.{region} " in line.source
    if region.startswith("eu-"):
        assert here.rate(section, node_type).value > home.rate(section, node_type).value


def test_egress_tier_widths_come_from_the_region() -> None:
    # A region without the tier widths cannot price egress: never one unbounded first tier.
    catalog = price_catalog()
    regions = {
        region: {**sections, "internet_egress_tier_gb": {}} if region == "eu-west-1" else sections
        for region, sections in catalog.regions.items()
    }
    thinned = catalog.model_copy(update={"regions": regions})
    missing_width = r"no price for 'first_10tb' in 'internet_egress_tier_gb' for eu-west-1"
    with pytest.raises(UnknownPriceError, match=missing_width):
        estimate([], phase_config("growth").usage, thinned, region="eu-west-1")


@pytest.mark.parametrize("region", ["us-west-2", "eu-west-1", "eu-central-1"])
def test_an_item_a_listed_region_lacks_fails_the_estimate_naming_the_key(region: str) -> None:
    config = phase_config("growth")
    elsewhere = config.model_copy(update={"environment": config.environment.model_copy(update={"region": region})})
    section = cost_section(elsewhere, built_phase("growth"))
    assert section.failed
    [[problem]] = section.rows
    # The first resource with an item the region does not price, never priced at us-east-1's figure.
    assert str(problem).startswith(f"scaleplan:environment.region {region!r}: ")
    # (Which one comes first follows the registration order, which varies between runs.)
    pattern = rf"no price for '([^']+)' in '([a-z0-9_]+)' for {region} \(infra/cost/prices.yaml\)"
    found = re.search(pattern, str(problem))
    assert found
    assert (found.group(2), found.group(1)) in GROWTH_GAPS[region]
