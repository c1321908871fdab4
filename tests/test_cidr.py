"""Subnet planning: one subnet per tier and AZ, inside the VPC, never overlapping."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.network.cidr import TIERS, SubnetPlanError, plan_subnets

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


def test_plans_the_seed_network_exactly() -> None:
    planned = plan_subnets(IPv4Network("10.40.0.0/16"), ZONES, {"public": 24, "private": 19, "isolated": 24})
    assert [(s.tier, s.availability_zone, str(s.cidr)) for s in planned] == [
        ("public", "us-east-1a", "10.40.96.0/24"),
        ("public", "us-east-1b", "10.40.97.0/24"),
        ("public", "us-east-1c", "10.40.98.0/24"),
        ("private", "us-east-1a", "10.40.0.0/19"),
        ("private", "us-east-1b", "10.40.32.0/19"),
        ("private", "us-east-1c", "10.40.64.0/19"),
        ("isolated", "us-east-1a", "10.40.99.0/24"),
        ("isolated", "us-east-1b", "10.40.100.0/24"),
        ("isolated", "us-east-1c", "10.40.101.0/24"),
    ]


def test_fills_the_vpc_to_the_last_address() -> None:
    # Four zones of /28 + /27 + /28 need exactly the 256 addresses of a /24.
    zones = (*ZONES, "us-east-1d")
    planned = plan_subnets(IPv4Network("10.0.0.0/24"), zones, {"public": 28, "private": 27, "isolated": 28})
    assert max(s.cidr.broadcast_address for s in planned) == IPv4Network("10.0.0.0/24").broadcast_address
    assert sum(s.cidr.num_addresses for s in planned) == 256


def test_rejects_subnets_that_do_not_fit() -> None:
    with pytest.raises(SubnetPlanError) as error:
        plan_subnets(IPv4Network("10.0.0.0/24"), ZONES, {"public": 26, "private": 25, "isolated": 26})
    assert str(error.value) == (
        "subnets of /26 public, /25 private and /26 isolated in 3 zones need 768 addresses, "
        "more than the 256 in 10.0.0.0/24"
    )


def test_rejects_a_subnet_larger_than_the_vpc() -> None:
    with pytest.raises(SubnetPlanError, match=r"^a /16 private subnet is larger than the VPC 10.0.0.0/20$"):
        plan_subnets(IPv4Network("10.0.0.0/20"), ZONES, {"public": 24, "private": 16, "isolated": 24})


def test_rejects_a_missing_tier() -> None:
    with pytest.raises(SubnetPlanError, match=r"^no prefix length for the isolated tier$"):
        plan_subnets(IPv4Network("10.0.0.0/16"), ZONES, {"public": 24, "private": 20})


@st.composite
def network_requests(draw: st.DrawFn) -> tuple[IPv4Network, tuple[str, ...], dict[str, int]]:
    vpc_prefix = draw(st.integers(min_value=16, max_value=24))
    base = draw(
        st.sampled_from([IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16")])
    )
    vpc_prefix = max(vpc_prefix, base.prefixlen)
    offset = draw(st.integers(min_value=0, max_value=2 ** (vpc_prefix - base.prefixlen) - 1))
    vpc = IPv4Network((int(base.network_address) + offset * 2 ** (32 - vpc_prefix), vpc_prefix))
    zone_count = draw(st.integers(min_value=1, max_value=4))
    zones = tuple(f"us-east-1{letter}" for letter in "abcd"[:zone_count])
    lengths = {tier: draw(st.integers(min_value=vpc_prefix, max_value=28)) for tier in TIERS}
    return vpc, zones, lengths


def _needed(zones: tuple[str, ...], lengths: dict[str, int]) -> int:
    return len(zones) * sum(2 ** (32 - lengths[tier]) for tier in TIERS)


@given(network_requests())
def test_plan_fits_exactly_when_the_addresses_do(request: tuple[IPv4Network, tuple[str, ...], dict[str, int]]) -> None:
    vpc, zones, lengths = request
    if _needed(zones, lengths) > vpc.num_addresses:
        with pytest.raises(SubnetPlanError):
            plan_subnets(vpc, zones, lengths)
        return
    planned = plan_subnets(vpc, zones, lengths)
    assert len(planned) == len(TIERS) * len(zones)
    for subnet in planned:
        assert subnet.cidr.subnet_of(vpc)
        assert subnet.cidr.prefixlen == lengths[subnet.tier]
    for index, subnet in enumerate(planned):
        for other in planned[index + 1 :]:
            assert not subnet.cidr.overlaps(other.cidr), (subnet, other)
    assert [(s.tier, s.availability_zone) for s in planned] == [(t, z) for t in TIERS for z in zones]


@given(network_requests())
def test_plan_is_deterministic(request: tuple[IPv4Network, tuple[str, ...], dict[str, int]]) -> None:
    vpc, zones, lengths = request
    try:
        first = plan_subnets(vpc, zones, lengths)
    except SubnetPlanError as error:
        with pytest.raises(SubnetPlanError, match=str(error).replace("/", r"\/").replace(".", r"\.")):
            plan_subnets(vpc, zones, dict(reversed(list(lengths.items()))))
        return
    assert plan_subnets(vpc, zones, dict(reversed(list(lengths.items())))) == first
