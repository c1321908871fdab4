"""The plan's edge section: R2 buckets, the media CDN domain, cache TTLs and rate limits.

Rows come from what the program declared (the mocked run); each is checked against the
stack file, and a difference fails the section (the program lost a setting on the way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.config import PhaseConfig
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import Cell, Section, register

BUCKET = "cloudflare:index/r2Bucket:R2Bucket"
LIFECYCLE = "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"
CUSTOM_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
RULESET = "cloudflare:index/ruleset:Ruleset"
COLUMNS = ("kind", "key", "applies to", "setting")
_DAY = 86_400


def duration(seconds: int | float) -> str:
    """``2592000`` -> ``30 d``; ``3600`` -> ``1 h``; ``90`` -> ``90 s``."""
    value = int(seconds)
    for unit, size in (("d", _DAY), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value // size} {unit}"
    return f"{value} s"


def _lifecycle_text(rules: list[Mapping[str, Any]]) -> str:
    parts = []
    for rule in rules:
        if "abortMultipartUploadsTransition" in rule:
            parts.append(
                f"abort uploads after {duration(rule['abortMultipartUploadsTransition']['condition']['maxAge'])}"
            )
        for transition in rule.get("storageClassTransitions") or []:
            parts.append(f"{transition['storageClass']} after {duration(transition['condition']['maxAge'])}")
        if "deleteObjectsTransition" in rule:
            parts.append(f"delete after {duration(rule['deleteObjectsTransition']['condition']['maxAge'])}")
    return "; ".join(parts)


def _rules(run: ProgramRun, phase: str) -> list[Mapping[str, Any]]:
    rulesets: list[CapturedResource] = [r for r in run.of_type(RULESET) if r.inputs.get("phase") == phase]
    return [rule for ruleset in rulesets for rule in ruleset.inputs.get("rules") or []]


@register
def edge_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Buckets (protected, location, class, lifecycle), the CDN domain, cache TTLs and rate limits."""
    edge = config.edge
    rows: list[list[Cell]] = []
    problems: list[str] = []
    lifecycles = {str(r.inputs.get("bucketName")): r.inputs.get("rules") or [] for r in run.of_type(LIFECYCLE)}
    # In the stack file's order: the mocked engine registers resources in no fixed order.
    order = {key: index for index, key in enumerate(edge.buckets)}
    buckets = sorted(run.of_type(BUCKET), key=lambda b: (order.get(b.name.removeprefix("edge-"), len(order)), b.name))
    for bucket in buckets:
        name = str(bucket.inputs["name"])
        key = bucket.name.removeprefix("edge-")
        setting = f"{bucket.inputs.get('storageClass')}, {_lifecycle_text(lifecycles.get(name, []))}"
        rows.append(["bucket", key, f"{name} ({bucket.inputs.get('location')})", setting])
        if not bucket.protect:
            problems.append(f"bucket {name} is not protected")
    if sorted(b.name.removeprefix("edge-") for b in buckets) != sorted(edge.buckets):
        problems.append(f"declared buckets differ from the stack file's {', '.join(edge.buckets)}")
    for domain in run.of_type(CUSTOM_DOMAIN):
        rows.append(["cdn domain", "media", str(domain.inputs["domain"]), f"min TLS {domain.inputs.get('minTls')}"])

    declared_cache = {
        str(rule["ref"]).removeprefix("cache_"): rule["actionParameters"]
        for rule in _rules(run, "http_request_cache_settings")
    }
    for key, cache in edge.cache_ttls.items():
        parameters = declared_cache.get(key.replace("-", "_"))
        if parameters is None:
            problems.append(f"cache class {key} has no cache rule")
            continue
        edge_ttl, browser_ttl = parameters["edgeTtl"]["default"], parameters["browserTtl"]["default"]
        if (edge_ttl, browser_ttl) != (cache.edge_ttl_seconds, cache.browser_ttl_seconds):
            problems.append(f"cache class {key}: declared TTLs {edge_ttl}/{browser_ttl} differ from the stack file")
        target = f"{cache.hostname} {', '.join(cache.path_prefixes)}"
        rows.append(["cache", key, target, f"edge {duration(edge_ttl)}, browser {duration(browser_ttl)}"])

    declared_limits = {str(rule["ref"]).removeprefix("ratelimit_"): rule for rule in _rules(run, "http_ratelimit")}
    for role, limit in edge.rate_limits.items():
        rule = declared_limits.get(role.value)
        if rule is None:
            problems.append(f"role {role.value} has no rate limiting rule")
            continue
        ratelimit = rule["ratelimit"]
        declared = (ratelimit["requestsPerPeriod"], ratelimit["period"], ratelimit["mitigationTimeout"])
        if declared != (limit.requests_per_period, limit.period_seconds, limit.mitigation_timeout_seconds):
            problems.append(f"rate limit {role.value}: declared {declared} differs from the stack file")
        setting = (
            f"{int(ratelimit['requestsPerPeriod'])} / {duration(ratelimit['period'])} per IP, then {rule['action']} "
            f"for {duration(ratelimit['mitigationTimeout'])}"
        )
        rows.append(["rate limit", role.value, ", ".join(limit.path_prefixes), setting])

    budget = edge.limits.rate_limit_rules
    notes = [
        f"zone {edge.zone_name} on the {edge.zone_plan.value} plan: {len(declared_limits)} of {budget} "
        f"rate limiting rule(s) used; cache TTLs >= {duration(edge.limits.min_cache_ttl_seconds)}",
        *problems,
    ]
    return Section(
        title="Edge (Cloudflare)",
        columns=COLUMNS,
        rows=rows,
        notes=notes,
        failed=bool(problems),
        data={
            "zone_plan": edge.zone_plan.value,
            "rate_limit_rules": len(declared_limits),
            "rate_limit_budget": budget,
            "buckets": len(buckets),
            "media_hostname": edge.media_domain,
        },
    )
