"""Where the application's instances run: which subnet tier, and whether they carry a public address."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from infra.config.network import NatStrategy, NetworkConfig


class SubnetTier(enum.StrEnum):
    """The network's subnet tiers that compute may run in (the isolated tier holds only data)."""

    PRIVATE = "private"
    PUBLIC = "public"


@dataclass(frozen=True)
class Placement:
    """The tier the application's instances launch in, and whether each gets a public IPv4."""

    tier: SubnetTier
    public_ipv4: bool


def application_placement(network: NetworkConfig) -> Placement:
    """Private subnets without public addresses wherever a NAT gateway gives them a way out.

    With ``nat_strategy: none`` the private tier has no route to the internet, yet the instances
    must reach it (the OS package mirror, the image registry, AWS APIs without interface
    endpoints): they then launch in the public subnets with a public IPv4 address each (billed
    per hour). Their security group is unchanged: no ingress but the application port from
    the load balancer, so the address only carries the instances' own outbound connections.
    The configuration accepts ``none`` only with ``scaleplan:accepted_risks.no_nat_gateway``.
    """
    if network.nat_strategy is NatStrategy.NONE:
        return Placement(tier=SubnetTier.PUBLIC, public_ipv4=True)
    return Placement(tier=SubnetTier.PRIVATE, public_ipv4=False)
