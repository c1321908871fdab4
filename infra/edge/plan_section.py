"""The plan's edge section: R2 buckets, CDN domains, the app's records, the ALB's ingress, WAF, cache, rate limits.

Rows come from what the program declared (the mocked run); each is checked against the
stack file, and a difference fails the section (the program lost a setting on the way).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from infra.catalog.cloudflare import cloudflare_ip_ranges, cloudflare_plans
from infra.config import PhaseConfig
from infra.edge.tunnel import TUNNEL_DOMAIN
from infra.plan.capture import CapturedResource, ProgramRun
from infra.plan.sections import Cell, Section, register

BUCKET = "cloudflare:index/r2Bucket:R2Bucket"
LIFECYCLE = "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"
CUSTOM_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
RULESET = "cloudflare:index/ruleset:Ruleset"
RECORD = "cloudflare:index/dnsRecord:DnsRecord"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
ALB_SECURITY_GROUP = "app-sg-alb"
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


IP_LIST_REVIEW_DAYS = 90
"""Past this age the plan asks for the Cloudflare IP list to be compared with the published one."""


def today() -> datetime.date:
    """The UTC date the plan is made on (a function, so tests can fix it)."""
    return datetime.datetime.now(datetime.UTC).date()


def ip_list_age_note(as_of: str, today: datetime.date) -> str | None:
    """A reminder once the IP list is older than ``IP_LIST_REVIEW_DAYS``; none while it is fresh."""
    age = (today - datetime.date.fromisoformat(as_of)).days
    if age <= IP_LIST_REVIEW_DAYS:
        return None
    return (
        f"the Cloudflare IP list (infra/catalog/cloudflare_ips.yaml, as of {as_of}) is {age} days old: compare it "
        "with https://www.cloudflare.com/ips-v4 and update as_of"
    )


def _reminders(config: PhaseConfig) -> list[str]:
    """Notes that fail nothing: an IP list due for a review while Cloudflare fronts the ALB."""
    if config.edge.origin is None:
        return []
    reminder = ip_list_age_note(cloudflare_ip_ranges().as_of, today())
    return [reminder] if reminder is not None else []


def _purpose_of_domain(domain: CapturedResource) -> str:
    return domain.name.removeprefix("edge-").removesuffix("-domain")


def _origin_rows(config: PhaseConfig, run: ProgramRun, problems: list[str]) -> list[list[Cell]]:
    """The app's proxied records, and who the ALB admits (fails on 0.0.0.0/0 unless accepted)."""
    origin = config.edge.origin
    rows: list[list[Cell]] = []
    records = {str(r.inputs.get("name")): r for r in run.of_type(RECORD)}
    for key, hostname in (origin.hostnames if origin is not None else {}).items():
        record = records.get(hostname)
        if record is None or record.inputs.get("proxied") is not True:
            problems.append(f"app hostname {hostname} has no proxied record")
            continue
        target = "the Cloudflare Tunnel" if str(record.inputs.get("content")).endswith(TUNNEL_DOMAIN) else "the ALB"
        if (target == "the ALB") != (config.load_balancer is not None):
            problems.append(f"app hostname {hostname} points at {target}, which this phase does not have")
        rows.append(["dns", key, hostname, f"proxied {record.inputs.get('type')} -> {target}"])
    groups = [g for g in run.of_type(SECURITY_GROUP) if g.name == ALB_SECURITY_GROUP]
    if not groups:
        return rows
    alb_id = groups[0].outputs.get("id")
    ingress = [r.inputs for r in run.of_type(INGRESS) if r.inputs.get("securityGroupId") == alb_id]
    cidrs = sorted({str(r.get("cidrIpv4")) for r in ingress})
    ports = ", ".join(str(int(p)) for p in sorted({r.get("fromPort", 0) for r in ingress}))
    if cidrs == ["0.0.0.0/0"]:
        rows.append(["alb ingress", "internet", "0.0.0.0/0", f"tcp {ports}"])
        if origin is not None and not origin.accept_alb_open_to_internet:
            problems.append("the ALB is open to the internet while Cloudflare fronts it")
    else:
        ranges = cloudflare_ip_ranges()
        source = f"Cloudflare IPv4 ranges as of {ranges.as_of}"
        rows.append(["alb ingress", "cloudflare", f"{len(cidrs)} {source}", f"tcp {ports}"])
        if set(cidrs) != {str(c) for c in ranges.ipv4}:
            problems.append("the ALB's ingress ranges differ from Cloudflare's published list")
    return rows


def _waf_rows(config: PhaseConfig, run: ProgramRun, problems: list[str]) -> list[list[Cell]]:
    waf = config.edge.waf
    catalog = cloudflare_plans()
    by_id = {ruleset.id: ruleset for ruleset in catalog.waf_managed_rulesets.values()}
    rows: list[list[Cell]] = []
    declared = []
    for rule in _rules(run, "http_request_firewall_managed"):
        parameters = rule.get("actionParameters") or {}
        ruleset = by_id.get(str(parameters.get("id")))
        if ruleset is None:
            problems.append(f"WAF rule {rule.get('ref')} executes an unknown ruleset")
            continue
        declared.append(ruleset.key)
        overrides = [o for o in (parameters.get("overrides") or {}).get("rules") or []]
        setting = "Cloudflare's default actions"
        for override in overrides:
            setting = f"{override.get('action')} at anomaly score >= {int(override.get('scoreThreshold', 0))}"
        rows.append(["waf", ruleset.key, f"{ruleset.name}, every request", setting])
    expected = [key.value for key in waf.managed_rulesets] if waf is not None else []
    if declared != expected:
        problems.append(f"declared WAF managed rulesets {declared} differ from the stack file's {expected}")
    return rows


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
    domains = sorted(run.of_type(CUSTOM_DOMAIN), key=lambda d: order.get(_purpose_of_domain(d), len(order)))
    for domain in domains:
        purpose = _purpose_of_domain(domain)
        rows.append(["cdn domain", purpose, str(domain.inputs["domain"]), f"min TLS {domain.inputs.get('minTls')}"])
    if {_purpose_of_domain(d): str(d.inputs["domain"]) for d in domains} != edge.bucket_domains:
        problems.append("declared bucket domains differ from the stack file")

    rows += _origin_rows(config, run, problems)
    rows += _waf_rows(config, run, problems)

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
        rule = declared_limits.get(role)
        if rule is None:
            problems.append(f"rate limit {role} has no rate limiting rule")
            continue
        ratelimit = rule["ratelimit"]
        declared = (ratelimit["requestsPerPeriod"], ratelimit["period"], ratelimit["mitigationTimeout"])
        if declared != (limit.requests_per_period, limit.period_seconds, limit.mitigation_timeout_seconds):
            problems.append(f"rate limit {role}: declared {declared} differs from the stack file")
        setting = (
            f"{int(ratelimit['requestsPerPeriod'])} / {duration(ratelimit['period'])} per IP, then {rule['action']} "
            f"for {duration(ratelimit['mitigationTimeout'])}"
        )
        rows.append(["rate limit", role, ", ".join(limit.path_prefixes), setting])

    budget = edge.limits.rate_limit_rules
    notes = [
        f"zone {edge.zone_name} on the {edge.zone_plan.value} plan: {len(declared_limits)} of {budget} "
        f"rate limiting rule(s), {len(declared_cache)} of {edge.limits.cache_rules} cache rules used; "
        f"cache TTLs >= {duration(edge.limits.min_cache_ttl_seconds)}",
        *problems,
    ]
    notes += _reminders(config)
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
