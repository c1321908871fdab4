"""Cloudflare's published facts the edge depends on: plan limits and the edge's IP ranges.

Both come from dated data files beside this module, each naming its sources, so a change on
Cloudflare's side is one reviewed edit of data, not of code.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from infra.yaml_files import load_file

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class ManagedRuleset:
    """A WAF managed ruleset Cloudflare publishes (deployed with an ``execute`` rule)."""

    key: str
    id: str
    name: str


@dataclass(frozen=True)
class PlanLimits:
    """What one zone plan allows of the rules this program deploys."""

    plan: str
    rate_limit_rules: int
    """Rate limiting rules a zone may have."""
    max_period_seconds: int
    """Longest counting period of a rate limiting rule."""
    max_mitigation_timeout_seconds: int
    """Longest time a rate limiting rule keeps acting after it triggers."""
    cache_rules: int
    """Cache rules a zone may have."""
    min_cache_ttl_seconds: int
    """Shortest edge or browser TTL a cache rule may set."""
    custom_rules: int
    """WAF custom rules a zone may have (this program deploys none yet)."""
    waf_managed_rulesets: frozenset[str]
    """Keys of the WAF managed rulesets the plan may deploy."""


@dataclass(frozen=True)
class CloudflarePlans:
    as_of: str
    sources: dict[str, str]
    plans: dict[str, PlanLimits]
    period_values_seconds: tuple[int, ...]
    """Counting periods and mitigation timeouts the ruleset API accepts."""
    max_cache_ttl_seconds: int
    waf_managed_rulesets: dict[str, ManagedRuleset]
    owasp_anomaly_score_rule_id: str

    def lowest_plan_with_ruleset(self, key: str) -> str | None:
        """The first plan (in the file's order: free, pro, ...) that may deploy ``key``."""
        return next((name for name, limits in self.plans.items() if key in limits.waf_managed_rulesets), None)


@functools.cache
def cloudflare_plans() -> CloudflarePlans:
    data = load_file(_HERE / "cloudflare_plans.yaml")
    rulesets = {key: ManagedRuleset(key=key, **spec) for key, spec in data["waf_managed_rulesets"].items()}
    plans = {}
    for name, spec in data["plans"].items():
        unknown = set(spec["waf_managed_rulesets"]) - set(rulesets)
        if unknown:
            raise ValueError(f"cloudflare_plans.yaml: plan {name!r} lists unknown rulesets {sorted(unknown)}")
        plans[name] = PlanLimits(
            plan=name,
            rate_limit_rules=spec["rate_limiting_rules"],
            max_period_seconds=spec["max_rate_limiting_period_seconds"],
            max_mitigation_timeout_seconds=spec["max_mitigation_timeout_seconds"],
            cache_rules=spec["cache_rules"],
            min_cache_ttl_seconds=spec["min_cache_ttl_seconds"],
            custom_rules=spec["custom_rules"],
            waf_managed_rulesets=frozenset(spec["waf_managed_rulesets"]),
        )
    return CloudflarePlans(
        as_of=str(data["as_of"]),
        sources=dict(data["sources"]),
        plans=plans,
        period_values_seconds=tuple(data["rate_limiting_period_values_seconds"]),
        max_cache_ttl_seconds=data["max_cache_ttl_seconds"],
        waf_managed_rulesets=rulesets,
        owasp_anomaly_score_rule_id=data["owasp_anomaly_score_rule_id"],
    )


@dataclass(frozen=True)
class CloudflareIpRanges:
    as_of: str
    sources: dict[str, str]
    ipv4: tuple[ipaddress.IPv4Network, ...]
    ipv6: tuple[ipaddress.IPv6Network, ...]


@functools.cache
def cloudflare_ip_ranges() -> CloudflareIpRanges:
    """Cloudflare's published edge ranges; ``ValueError`` on a malformed or host-bit entry."""
    data = load_file(_HERE / "cloudflare_ips.yaml")
    return CloudflareIpRanges(
        as_of=str(data["as_of"]),
        sources=dict(data["sources"]),
        ipv4=tuple(ipaddress.IPv4Network(cidr) for cidr in data["ipv4"]),
        ipv6=tuple(ipaddress.IPv6Network(cidr) for cidr in data["ipv6"]),
    )
