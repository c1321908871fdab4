"""The Edge component in isolation under mocks: children, security inputs, rules and provider."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from infra.config.edge import EdgeConfig, ZonePlan
from infra.edge.component import Edge, EdgeArgs
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from infra.policy.launch import SECURITY_PACK
from infra.policy.packs import for_phase, run_packs
from infra.policy.runner import StackContext

BUCKET = "cloudflare:index/r2Bucket:R2Bucket"
R2_DEV = "cloudflare:index/r2ManagedDomain:R2ManagedDomain"
CORS = "cloudflare:index/r2BucketCors:R2BucketCors"
LIFECYCLE = "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"
CUSTOM_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
SUBSCRIPTION = "cloudflare:index/zoneSubscription:ZoneSubscription"
SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
RULESET = "cloudflare:index/ruleset:Ruleset"
COMPONENT = "scaleplan:edge:Edge"

ACCOUNT = "0123456789abcdef0123456789abcdef"
ZONE = "fedcba9876543210fedcba9876543210"


def edge_config(**overrides: Any) -> EdgeConfig:
    values: dict[str, Any] = {
        "account_id": ACCOUNT,
        "zone_id": ZONE,
        "zone_name": "shop.example",
        "zone_plan": "business",
        "media_domain": "cdn.shop.example",
        "cors": {
            "allowed_origins": ["https://shop.example", "https://app.shop.example"],
            "allowed_methods": ["GET", "PUT"],
        },
        "buckets": {
            "media": {"location_hint": "weur", "infrequent_access_after_days": 60, "expire_after_days": 400},
            "documents": {"location_hint": "weur", "abort_multipart_uploads_after_days": 2},
        },
        "cache_ttls": {
            "media": {"hostname": "cdn.shop.example", "path_prefixes": ["/"], "edge_ttl_seconds": 604800,
                      "browser_ttl_seconds": 3600},
            "api": {"hostname": "app.shop.example", "path_prefixes": ["/api/public/", "/api/catalog/"],
                    "edge_ttl_seconds": 300, "browser_ttl_seconds": 30},
        },
        "rate_limits": {
            "anonymous": {"path_prefixes": ["/api/public/"], "requests_per_period": 60, "period_seconds": 60,
                          "mitigation_timeout_seconds": 600},
            "authenticated": {"path_prefixes": ["/api/"], "requests_per_period": 200, "period_seconds": 60,
                              "mitigation_timeout_seconds": 60, "action": "managed_challenge"},
            "operator": {"path_prefixes": ["/api/operator/"], "requests_per_period": 1000, "period_seconds": 60,
                         "mitigation_timeout_seconds": 60},
        },
        **overrides,
    }  # fmt: skip
    return EdgeConfig.model_validate_json(json.dumps(values), strict=True)


def run_edge(config: EdgeConfig) -> ProgramRun:
    def program() -> None:
        provider = cloudflare.Provider("cloudflare")
        edge = Edge(
            "edge", EdgeArgs(config=config, environment="ftw-test"), opts=pulumi.ResourceOptions(providers=[provider])
        )
        pulumi.export("media_hostname", edge.media_hostname)
        pulumi.export("bucket_names", edge.bucket_names)

    return run_program(program, project="scaleplan", stack="test")


@functools.cache
def full_run() -> ProgramRun:
    return run_edge(edge_config())


def named(run: ProgramRun, type_token: str) -> dict[str, CapturedResource]:
    return {r.name: r for r in run.of_type(type_token)}


def test_declares_exactly_these_children() -> None:
    run = full_run()
    component = run.one(COMPONENT, "edge")
    children = run.children_of(component.urn)
    assert Counter(r.type for r in children) == {
        BUCKET: 2,
        R2_DEV: 2,
        CORS: 2,
        LIFECYCLE: 2,
        CUSTOM_DOMAIN: 1,
        SUBSCRIPTION: 1,
        SETTING: 5,
        RULESET: 2,
    }
    # Everything but the provider and the component itself is a child of the component.
    assert len(children) == len(run.resources) - 2
    assert sorted(r.name for r in children) == sorted(
        [
            *(f"edge-{p}{suffix}" for p in ("media", "documents") for suffix in ("", "-r2-dev", "-cors", "-lifecycle")),
            "edge-media-domain",
            "edge-plan",
            *(f"edge-{s}" for s in ("min-tls-version", "tls-1-3", "always-use-https", "ssl", "security-header")),
            "edge-cache-rules",
            "edge-rate-limits",
        ]
    )


def test_buckets_are_protected_private_and_named_from_the_environment() -> None:
    run = full_run()
    buckets = named(run, BUCKET)
    assert {name: r.inputs["name"] for name, r in buckets.items()} == {
        "edge-media": "ftw-test-media",
        "edge-documents": "ftw-test-documents",
    }
    assert all(r.protect for r in buckets.values())
    assert {r.inputs["location"] for r in buckets.values()} == {"weur"}
    assert {r.inputs["storageClass"] for r in buckets.values()} == {"Standard"}
    assert all(r.inputs["accountId"] == ACCOUNT for r in buckets.values())
    # Only the buckets hold data: nothing else is protected.
    assert [r.name for r in run.resources if r.protect] == list(buckets)
    r2_dev = named(run, R2_DEV)
    assert {name: (r.inputs["bucketName"], r.inputs["enabled"]) for name, r in r2_dev.items()} == {
        "edge-media-r2-dev": ("ftw-test-media", False),
        "edge-documents-r2-dev": ("ftw-test-documents", False),
    }


def test_cors_allows_only_the_configured_https_origins() -> None:
    for cors in full_run().of_type(CORS):
        [rule] = cors.inputs["rules"]
        assert rule["allowed"] == {
            "origins": ["https://shop.example", "https://app.shop.example"],
            "methods": ["GET", "PUT"],
            "headers": ["content-type"],
        }
        assert all(origin.startswith("https://") for origin in rule["allowed"]["origins"])
        assert rule["maxAgeSeconds"] == 3600
        assert rule["exposeHeaders"] == ["etag"]


def test_lifecycle_aborts_uploads_and_tiers_and_expires_from_config() -> None:
    lifecycles = named(full_run(), LIFECYCLE)
    day = 86_400
    media = lifecycles["edge-media-lifecycle"].inputs["rules"]
    assert [rule["id"] for rule in media] == [
        "abort-incomplete-multipart-uploads",
        "move-to-infrequent-access",
        "expire-objects",
    ]
    assert all(rule["enabled"] and rule["conditions"] == {"prefix": ""} for rule in media)
    assert media[0]["abortMultipartUploadsTransition"] == {"condition": {"type": "Age", "maxAge": 7 * day}}
    assert media[1]["storageClassTransitions"] == [
        {"storageClass": "InfrequentAccess", "condition": {"type": "Age", "maxAge": 60 * day}}
    ]
    assert media[2]["deleteObjectsTransition"] == {"condition": {"type": "Age", "maxAge": 400 * day}}
    documents = lifecycles["edge-documents-lifecycle"].inputs["rules"]
    assert [rule["id"] for rule in documents] == ["abort-incomplete-multipart-uploads"]
    assert documents[0]["abortMultipartUploadsTransition"] == {"condition": {"type": "Age", "maxAge": 2 * day}}


def test_media_bucket_is_served_on_the_zone_with_modern_tls() -> None:
    run = full_run()
    domain = run.one(CUSTOM_DOMAIN, "edge-media-domain")
    assert domain.inputs == {
        "accountId": ACCOUNT,
        "bucketName": "ftw-test-media",
        "zoneId": ZONE,
        "domain": "cdn.shop.example",
        "enabled": True,
        "minTls": "1.2",
    }
    assert run.stack_outputs["media_hostname"] == "cdn.shop.example"
    assert run.stack_outputs["bucket_names"] == {"media": "ftw-test-media", "documents": "ftw-test-documents"}


def test_zone_settings_demand_tls_https_and_hsts() -> None:
    run = full_run()
    settings = {r.inputs["settingId"]: r.inputs["value"] for r in run.of_type(SETTING)}
    assert {r.inputs["zoneId"] for r in run.of_type(SETTING)} == {ZONE}
    assert settings == {
        "min_tls_version": "1.2",
        "tls_1_3": "on",
        "always_use_https": "on",
        "ssl": "strict",
        # snake_case inside the free-form value: the API's own keys (pulumi/pulumi-cloudflare#1579).
        "security_header": {
            "strict_transport_security": {
                "enabled": True,
                "max_age": 31_536_000,
                "include_subdomains": True,
                "preload": False,
                "nosniff": True,
            }
        },
    }
    assert run.one(SUBSCRIPTION).inputs == {"zoneId": ZONE, "ratePlan": {"id": "business"}}


def test_a_tls_1_3_minimum_reaches_the_zone_and_the_media_domain() -> None:
    run = run_edge(edge_config(min_tls_version="1.3", hsts_preload=True))
    settings = {r.inputs["settingId"]: r.inputs["value"] for r in run.of_type(SETTING)}
    assert settings["min_tls_version"] == "1.3"
    assert settings["security_header"]["strict_transport_security"]["preload"] is True
    assert run.one(CUSTOM_DOMAIN).inputs["minTls"] == "1.3"


def test_cache_rules_set_edge_and_browser_ttls_per_path_class() -> None:
    ruleset = full_run().one(RULESET, "edge-cache-rules")
    assert {k: ruleset.inputs[k] for k in ("zoneId", "kind", "phase", "name")} == {
        "zoneId": ZONE,
        "kind": "zone",
        "phase": "http_request_cache_settings",
        "name": "ftw-test cache rules",
    }
    rules = ruleset.inputs["rules"]
    assert [(r["ref"], r["action"], r["enabled"]) for r in rules] == [
        ("cache_media", "set_cache_settings", True),
        ("cache_api", "set_cache_settings", True),
    ]
    assert rules[0]["expression"] == '(http.host eq "cdn.shop.example")'
    assert rules[1]["expression"] == (
        '(http.host eq "app.shop.example" and (http.request.uri.path wildcard "/api/public/*" '
        'or http.request.uri.path wildcard "/api/catalog/*"))'
    )
    assert [r["actionParameters"] for r in rules] == [
        {
            "cache": True,
            "edgeTtl": {"mode": "override_origin", "default": 604800},
            "browserTtl": {"mode": "override_origin", "default": 3600},
        },
        {
            "cache": True,
            "edgeTtl": {"mode": "override_origin", "default": 300},
            "browserTtl": {"mode": "override_origin", "default": 30},
        },
    ]


def test_rate_limits_meter_each_role_per_ip_on_its_own_routes() -> None:
    ruleset = full_run().one(RULESET, "edge-rate-limits")
    assert {k: ruleset.inputs[k] for k in ("zoneId", "kind", "phase")} == {
        "zoneId": ZONE,
        "kind": "zone",
        "phase": "http_ratelimit",
    }
    rules = {r["ref"]: r for r in ruleset.inputs["rules"]}
    assert list(rules) == ["ratelimit_anonymous", "ratelimit_authenticated", "ratelimit_operator"]
    assert {ref: r["ratelimit"] for ref, r in rules.items()} == {
        "ratelimit_anonymous": {
            "characteristics": ["cf.colo.id", "ip.src"],
            "period": 60,
            "requestsPerPeriod": 60,
            "mitigationTimeout": 600,
        },
        "ratelimit_authenticated": {
            "characteristics": ["cf.colo.id", "ip.src"],
            "period": 60,
            "requestsPerPeriod": 200,
            "mitigationTimeout": 60,
        },
        "ratelimit_operator": {
            "characteristics": ["cf.colo.id", "ip.src"],
            "period": 60,
            "requestsPerPeriod": 1000,
            "mitigationTimeout": 60,
        },
    }
    assert {ref: r["action"] for ref, r in rules.items()} == {
        "ratelimit_anonymous": "block",
        "ratelimit_authenticated": "managed_challenge",
        "ratelimit_operator": "block",
    }
    # /api/ leaves out the more specific routes of other roles, so no request counts twice.
    assert rules["ratelimit_authenticated"]["expression"] == (
        '(http.request.uri.path wildcard "/api/*" and not (http.request.uri.path wildcard "/api/operator/*" '
        'or http.request.uri.path wildcard "/api/public/*"))'
    )
    assert rules["ratelimit_operator"]["expression"] == '(http.request.uri.path wildcard "/api/operator/*")'


def test_no_rulesets_when_the_config_has_no_rules() -> None:
    run = run_edge(edge_config(cache_ttls={}, rate_limits={}))
    assert run.of_type(RULESET) == []
    assert len(run.of_type(SETTING)) == 5


def test_every_cloudflare_resource_uses_the_explicit_provider() -> None:
    run = full_run()
    [provider] = run.of_type("pulumi:providers:cloudflare")
    reference = f"{provider.urn}::{provider.outputs.get('id', 'cloudflare-provider-id')}"
    cloudflare_resources = [r for r in run.resources if r.type.startswith("cloudflare:")]
    assert len(cloudflare_resources) == 17
    assert {r.provider for r in cloudflare_resources} == {reference}


def test_the_security_pack_passes_the_edge_and_sees_its_buckets() -> None:
    run = full_run()
    [report] = run_packs(for_phase("growth", [SECURITY_PACK]), run.resources, StackContext("scaleplan", "test"))
    assert [(d.policy, d.detail) for d in report.mandatory] == []
    # The same resources with the buckets unprotected: the pack must flag both, or it never saw them.
    unprotected = [dataclasses.replace(r, protect=False) if r.type == BUCKET else r for r in run.resources]
    [report] = run_packs(for_phase("growth", [SECURITY_PACK]), unprotected, StackContext("scaleplan", "test"))
    flagged = sorted(d.urn for d in report.mandatory if d.policy == "scaleplan-stateful-resource-require-protect")
    assert flagged == sorted(r.urn for r in run.of_type(BUCKET))


def test_a_free_zone_gets_no_subscription_and_a_paid_one_exactly_one() -> None:
    """Cloudflare refuses a ``free`` ZoneSubscription (API error 1207, "Add a core subscription
    first"): the free plan is the zone's state without a subscription, recorded in config only."""
    assert not ZonePlan.FREE.is_paid
    assert all(plan.is_paid for plan in ZonePlan if plan is not ZonePlan.FREE)
    assert full_run().of_type(SUBSCRIPTION)[0].inputs["ratePlan"] == {"id": "business"}
    for plan in (ZonePlan.FREE, ZonePlan.PRO):
        subscriptions = run_edge(edge_config(zone_plan=plan.value, rate_limits={}, cache_ttls={})).of_type(SUBSCRIPTION)
        if plan is ZonePlan.FREE:
            assert subscriptions == []
        else:
            assert [s.inputs["ratePlan"] for s in subscriptions] == [{"id": "pro"}]
