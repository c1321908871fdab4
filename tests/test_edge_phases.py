"""Each phase's edge, built whole under mocks, is exactly what its stack file says.

Expected values are read from the YAML text of ``Pulumi.<phase>.yaml`` (not from the
validated model the program itself uses), so a dropped or mistranslated key fails here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from infra.plan.capture import CapturedResource, ProgramRun
from tests.conftest import built_phase, stack_file

COMPONENT = "scaleplan:edge:Edge"
RULESET = "cloudflare:index/ruleset:Ruleset"


def raw_edge(phase: str) -> dict[str, Any]:
    edge: dict[str, Any] = yaml.safe_load(stack_file(phase).read_text())["config"]["scaleplan:edge"]
    return edge


def edge_children(run: ProgramRun) -> list[CapturedResource]:
    component = run.one(COMPONENT, "edge")
    return run.children_of(component.urn)


def ruleset(run: ProgramRun, phase_name: str) -> CapturedResource:
    [found] = [r for r in run.of_type(RULESET) if r.inputs["phase"] == phase_name]
    return found


def test_each_phase_declares_the_edge_children_its_file_asks_for(phase: str) -> None:
    raw = raw_edge(phase)
    buckets = len(raw["buckets"])
    domains = 1 + sum(1 for bucket in raw["buckets"].values() if "custom_domain" in bucket)
    counts = Counter(r.type for r in edge_children(built_phase(phase)))
    assert counts == {
        "cloudflare:index/r2Bucket:R2Bucket": buckets,
        "cloudflare:index/r2ManagedDomain:R2ManagedDomain": buckets,
        "cloudflare:index/r2BucketCors:R2BucketCors": buckets,
        "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle": buckets,
        "cloudflare:index/r2CustomDomain:R2CustomDomain": domains,
        "cloudflare:index/zoneSetting:ZoneSetting": 5,
        "cloudflare:index/dnsRecord:DnsRecord": len(raw["origin"]["hostnames"]),
        RULESET: 3 if "waf" in raw else 2,
        # A paid plan only: a free zone has no subscription to manage (API error 1207).
        **({"cloudflare:index/zoneSubscription:ZoneSubscription": 1} if raw["zone_plan"] != "free" else {}),
    }


def test_the_phases_keep_the_same_buckets() -> None:
    # Buckets are stateful: their logical names and replacement-triggering inputs (name,
    # location, jurisdiction) never change between phases.
    def buckets(phase: str) -> list[tuple[str, str, str, str | None]]:
        return sorted(
            (r.name, r.inputs["name"], r.inputs["location"], r.inputs.get("jurisdiction"))
            for r in built_phase(phase).of_type("cloudflare:index/r2Bucket:R2Bucket")
        )

    assert buckets("foundation") == [
        ("edge-documents", "ftw-prod-documents", "enam", None),
        ("edge-media", "ftw-prod-media", "enam", None),
        ("edge-videos", "ftw-prod-videos", "enam", None),
    ]
    for phase in ("growth", "scale", "optimize"):
        assert buckets(phase) == buckets("foundation")


def test_buckets_are_protected_and_cors_is_https_only(phase: str) -> None:
    run = built_phase(phase)
    assert all(r.protect for r in run.of_type("cloudflare:index/r2Bucket:R2Bucket"))
    assert all(r.inputs["enabled"] is False for r in run.of_type("cloudflare:index/r2ManagedDomain:R2ManagedDomain"))
    origins = raw_edge(phase)["cors"]["allowed_origins"]
    for cors in run.of_type("cloudflare:index/r2BucketCors:R2BucketCors"):
        [rule] = cors.inputs["rules"]
        assert rule["allowed"]["origins"] == origins
        assert all(origin.startswith("https://") for origin in rule["allowed"]["origins"])


def test_tls_settings_and_the_media_domain(phase: str) -> None:
    run = built_phase(phase)
    raw = raw_edge(phase)
    settings = {
        r.inputs["settingId"]: r.inputs["value"] for r in run.of_type("cloudflare:index/zoneSetting:ZoneSetting")
    }
    assert settings["min_tls_version"] == "1.2"
    assert settings["tls_1_3"] == "on"
    assert settings["always_use_https"] == "on"
    assert settings["ssl"] == "strict"
    assert settings["security_header"]["strict_transport_security"]["enabled"] is True
    domain = run.one("cloudflare:index/r2CustomDomain:R2CustomDomain", "edge-media-domain")
    assert domain.inputs["domain"] == raw["media_domain"]
    assert domain.inputs["minTls"] == "1.2"
    assert domain.inputs["zoneId"] == raw["zone_id"]
    assert run.stack_outputs["media_cdn_hostname"] == raw["media_domain"]
    subscriptions = run.of_type("cloudflare:index/zoneSubscription:ZoneSubscription")
    if raw["zone_plan"] == "free":
        assert subscriptions == []  # API error 1207 on a zone without a core subscription
    else:
        (subscription,) = subscriptions
        assert subscription.inputs["ratePlan"] == {"id": raw["zone_plan"]}


def test_cache_ttls_equal_the_phase_file(phase: str) -> None:
    rules = ruleset(built_phase(phase), "http_request_cache_settings").inputs["rules"]
    expected = {
        f"cache_{key.replace('-', '_')}": (c["edge_ttl_seconds"], c["browser_ttl_seconds"])
        for key, c in raw_edge(phase)["cache_ttls"].items()
    }
    assert {
        r["ref"]: (r["actionParameters"]["edgeTtl"]["default"], r["actionParameters"]["browserTtl"]["default"])
        for r in rules
    } == expected


def test_rate_limits_equal_the_phase_file(phase: str) -> None:
    rules = ruleset(built_phase(phase), "http_ratelimit").inputs["rules"]
    expected = {
        f"ratelimit_{role}": (
            limit["requests_per_period"],
            limit["period_seconds"],
            limit["mitigation_timeout_seconds"],
        )
        for role, limit in raw_edge(phase)["rate_limits"].items()
    }
    assert {
        r["ref"]: (r["ratelimit"]["requestsPerPeriod"], r["ratelimit"]["period"], r["ratelimit"]["mitigationTimeout"])
        for r in rules
    } == expected


def test_seed_role_limits_per_minute_in_the_paid_phases() -> None:
    # Seed 002: anonymous 60, authenticated 200, pro 500, operator 1000 requests a minute.
    def per_minute(phase: str) -> dict[str, float]:
        rules = ruleset(built_phase(phase), "http_ratelimit").inputs["rules"]
        return {r["ref"]: r["ratelimit"]["requestsPerPeriod"] * 60 / r["ratelimit"]["period"] for r in rules}

    assert per_minute("foundation") == {"ratelimit_anonymous": 60}
    assert per_minute("growth") == {"ratelimit_anonymous": 60, "ratelimit_authenticated": 200}
    # From scale on, the Pro plan's second rule is the ceiling of every signed-in role (the
    # operator's 1000); the application enforces the lower per-role limits.
    for phase in ("scale", "optimize"):
        assert per_minute(phase) == {
            "ratelimit_anonymous": 60,
            "ratelimit_authenticated": 1000,
        }


def test_every_cloudflare_resource_uses_the_one_explicit_provider(phase: str) -> None:
    run = built_phase(phase)
    [provider] = run.of_type("pulumi:providers:cloudflare")
    assert "apiToken" not in provider.inputs  # the token comes from CLOUDFLARE_API_TOKEN, never the program
    cloudflare_resources = [r for r in run.resources if r.type.startswith("cloudflare:")]
    assert cloudflare_resources
    assert {r.provider for r in cloudflare_resources} == {f"{provider.urn}::cloudflare-provider-id"}
