"""How the zone reaches the application: who may connect to the ALB while Cloudflare fronts it."""

from __future__ import annotations

from infra.catalog.cloudflare import cloudflare_ip_ranges
from infra.compute.security_groups import INTERNET_INGRESS, LoadBalancerIngress
from infra.config.edge import AlbIngress, EdgeConfig

ORIGIN_PORTS = {"https": 443}
"""Cloudflare reaches the ALB on 443 only: the zone's SSL mode is Full (strict), so it never
connects to the origin over plain HTTP, and Always Use HTTPS redirects visitors at the edge."""


def load_balancer_ingress(edge: EdgeConfig) -> LoadBalancerIngress:
    """Cloudflare's published IPv4 ranges on 443 while the zone fronts the ALB, else the internet.

    The internet is returned only where nothing fronts the ALB (no ``origin``) or where the
    stack file accepts an open ALB by name (``origin.accept_alb_open_to_internet``).
    """
    if edge.origin is None or edge.origin.alb_ingress is AlbIngress.INTERNET:
        return INTERNET_INGRESS
    ranges = cloudflare_ip_ranges()
    return LoadBalancerIngress(
        source="cloudflare", ipv4_cidrs=tuple(str(cidr) for cidr in ranges.ipv4), ports=ORIGIN_PORTS
    )
