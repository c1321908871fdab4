"""Subnet planning: carve one subnet per tier and AZ out of the VPC range, without overlap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network

TIERS = ("public", "private", "isolated")
"""Order matters: it is part of the address plan, and changing it would move every subnet."""


class SubnetPlanError(ValueError):
    pass


@dataclass(frozen=True)
class PlannedSubnet:
    tier: str
    availability_zone: str
    cidr: IPv4Network


def plan_subnets(
    vpc_cidr: IPv4Network, availability_zones: Sequence[str], prefix_lengths: Mapping[str, int]
) -> tuple[PlannedSubnet, ...]:
    """Allocate the subnets largest-first, each aligned to its own size.

    Largest-first allocation never leaves a gap that a later, smaller block cannot use, so the
    plan fits whenever the total address count does. The result depends only on the inputs,
    so every phase file with the same network section gets exactly the same subnets.
    """
    for tier in TIERS:
        if tier not in prefix_lengths:
            raise SubnetPlanError(f"no prefix length for the {tier} tier")
        if prefix_lengths[tier] < vpc_cidr.prefixlen:
            raise SubnetPlanError(f"a /{prefix_lengths[tier]} {tier} subnet is larger than the VPC {vpc_cidr}")
    requests = [
        (prefix_lengths[tier], TIERS.index(tier), zone_index, tier, zone)
        for tier in TIERS
        for zone_index, zone in enumerate(availability_zones)
    ]
    requests.sort(key=lambda request: request[:3])
    base = int(vpc_cidr.network_address)
    end = base + vpc_cidr.num_addresses
    cursor = base
    allocated: list[PlannedSubnet] = []
    for prefix, _, _, tier, zone in requests:
        size = 2 ** (32 - prefix)
        cursor = (cursor + size - 1) // size * size
        if cursor + size > end:
            needed = sum(2 ** (32 - prefix_lengths[t]) for t in TIERS) * len(availability_zones)
            raise SubnetPlanError(
                f"subnets of /{prefix_lengths['public']} public, /{prefix_lengths['private']} private and "
                f"/{prefix_lengths['isolated']} isolated in {len(availability_zones)} zones need "
                f"{needed} addresses, more than the {vpc_cidr.num_addresses} in {vpc_cidr}"
            )
        allocated.append(PlannedSubnet(tier, zone, IPv4Network((cursor, prefix))))
        cursor += size
    order = {(tier, zone): i for i, (tier, zone) in enumerate((t, z) for t in TIERS for z in availability_zones)}
    return tuple(sorted(allocated, key=lambda s: order[(s.tier, s.availability_zone)]))
