"""Pure builders for the edge: rule expressions, lifecycle rules and zone settings.

Everything here is plain data in the shapes the Cloudflare provider takes (snake_case
argument names of ``pulumi_cloudflare`` input types), tested without mocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi_cloudflare as cloudflare

from infra.catalog.cloudflare import cloudflare_plans
from infra.config.edge import BucketConfig, CacheClass, EdgeConfig, ManagedRulesetKey, RoleRateLimit, WafConfig

SECONDS_PER_DAY = 86_400

RATE_LIMIT_CHARACTERISTICS = ("cf.colo.id", "ip.src")
"""Count per client IP in each data centre: the only counting key below Enterprise (and
``cf.colo.id`` is mandatory in every rate limiting rule)."""


def _path_matches(prefix: str) -> str:
    # `wildcard` is available on every plan, unlike `matches` (regex: Business and up).
    return f'http.request.uri.path wildcard "{prefix}*"'


def cache_expression(cache: CacheClass) -> str:
    """``(http.host eq "media.x" and (path under /photos/ or ...))``; ``/`` means the whole host."""
    host = f'http.host eq "{cache.hostname}"'
    if "/" in cache.path_prefixes:
        return f"({host})"
    paths = " or ".join(_path_matches(prefix) for prefix in cache.path_prefixes)
    return f"({host} and ({paths}))"


def rate_limit_expressions(rate_limits: Mapping[str, RoleRateLimit]) -> dict[str, str]:
    """Each named limit's routes, minus the more specific routes of the other limits.

    A request counts against every rule that matches it, so ``/api/`` (authenticated) must
    leave out ``/api/operator/`` (operator), or operators would be held to the lower limit.
    Each request is metered by exactly the role owning the longest prefix it falls under.
    """
    owners = {prefix: role for role, limit in rate_limits.items() for prefix in limit.path_prefixes}
    expressions: dict[str, str] = {}
    for role, limit in rate_limits.items():
        clauses = []
        for mine in limit.path_prefixes:
            inner = sorted(p for p, owner in owners.items() if owner != role and p != mine and p.startswith(mine))
            if inner:
                excluded = " or ".join(_path_matches(prefix) for prefix in inner)
                clauses.append(f"({_path_matches(mine)} and not ({excluded}))")
            else:
                clauses.append(_path_matches(mine))
        single = len(clauses) == 1 and clauses[0].startswith("(")
        expressions[role] = clauses[0] if single else f"({' or '.join(clauses)})"
    return expressions


def cache_rules(cache_ttls: Mapping[str, CacheClass]) -> list[cloudflare.RulesetRuleArgsDict]:
    """One ``set_cache_settings`` rule per path class, TTLs overriding the origin's headers.

    Cache rules do not stop evaluation: where classes overlap, the later one's TTLs win.
    """
    return [
        {
            "ref": f"cache_{key.replace('-', '_')}",
            "description": f"{key}: edge {cache.edge_ttl_seconds} s, browser {cache.browser_ttl_seconds} s",
            "expression": cache_expression(cache),
            "action": "set_cache_settings",
            "enabled": True,
            "action_parameters": {
                "cache": True,
                "edge_ttl": {"mode": "override_origin", "default": cache.edge_ttl_seconds},
                "browser_ttl": {"mode": "override_origin", "default": cache.browser_ttl_seconds},
            },
        }
        for key, cache in cache_ttls.items()
    ]


def rate_limit_rules(rate_limits: Mapping[str, RoleRateLimit]) -> list[cloudflare.RulesetRuleArgsDict]:
    """One rule per named limit: at most ``requests_per_period`` per client IP, then ``action``."""
    expressions = rate_limit_expressions(rate_limits)
    return [
        {
            "ref": f"ratelimit_{role}",
            "description": (
                f"{role}: {limit.requests_per_period} requests / {limit.period_seconds} s per IP on "
                f"{', '.join(limit.path_prefixes)}"
            ),
            "expression": expressions[role],
            "action": limit.action.value,
            "enabled": True,
            "ratelimit": {
                "characteristics": list(RATE_LIMIT_CHARACTERISTICS),
                "period": limit.period_seconds,
                "requests_per_period": limit.requests_per_period,
                "mitigation_timeout": limit.mitigation_timeout_seconds,
            },
        }
        for role, limit in rate_limits.items()
    ]


def lifecycle_rules(bucket: BucketConfig) -> list[cloudflare.R2BucketLifecycleRuleArgsDict]:
    """Abort stale multipart uploads always; tier and expire objects when the config says so."""
    every_object: cloudflare.R2BucketLifecycleRuleConditionsArgsDict = {"prefix": ""}
    rules: list[cloudflare.R2BucketLifecycleRuleArgsDict] = [
        {
            "id": "abort-incomplete-multipart-uploads",
            "enabled": True,
            "conditions": every_object,
            "abort_multipart_uploads_transition": {
                "condition": {"type": "Age", "max_age": bucket.abort_multipart_uploads_after_days * SECONDS_PER_DAY}
            },
        }
    ]
    if bucket.infrequent_access_after_days is not None:
        rules.append(
            {
                "id": "move-to-infrequent-access",
                "enabled": True,
                "conditions": every_object,
                "storage_class_transitions": [
                    {
                        "storage_class": "InfrequentAccess",
                        "condition": {"type": "Age", "max_age": bucket.infrequent_access_after_days * SECONDS_PER_DAY},
                    }
                ],
            }
        )
    if bucket.expire_after_days is not None:
        rules.append(
            {
                "id": "expire-objects",
                "enabled": True,
                "conditions": every_object,
                "delete_objects_transition": {
                    "condition": {"type": "Age", "max_age": bucket.expire_after_days * SECONDS_PER_DAY}
                },
            }
        )
    return rules


def zone_settings(config: EdgeConfig) -> dict[str, Any]:
    """Setting ID -> value: modern TLS only, HTTPS everywhere, strict origin TLS, HSTS."""
    return {
        "min_tls_version": config.min_tls_version.value,
        "tls_1_3": "on",
        "always_use_https": "on",
        # Full (strict): Cloudflare verifies the origin's certificate; "flexible" would send
        # traffic to the origin in clear text.
        "ssl": "strict",
        # snake_case keys: the value is passed to the API as is (pulumi/pulumi-cloudflare#1579;
        # the registry example's camelCase keys never converge).
        "security_header": {
            "strict_transport_security": {
                "enabled": True,
                "max_age": config.hsts_max_age_seconds,
                "include_subdomains": config.hsts_include_subdomains,
                "preload": config.hsts_preload,
                "nosniff": True,
            }
        },
    }


def cors_rules(config: EdgeConfig) -> list[cloudflare.R2BucketCorsRuleArgsDict]:
    cors = config.cors
    if cors is None:
        # EdgeConfig refuses buckets without cors: no bucket asks for these rules then.
        raise ValueError("scaleplan:edge.cors is required for the R2 buckets' CORS rules")
    return [
        {
            "id": "web-origins",
            "allowed": {
                "origins": list(cors.allowed_origins),
                "methods": [method.value for method in cors.allowed_methods],
                "headers": list(cors.allowed_headers),
            },
            "expose_headers": list(cors.expose_headers),
            "max_age_seconds": cors.max_age_seconds,
        }
    ]


def waf_managed_rules(waf: WafConfig) -> list[cloudflare.RulesetRuleArgsDict]:
    """One ``execute`` rule per managed ruleset, on every request to the zone, in the configured order.

    The OWASP ruleset scores a request and acts only in its last rule (949110), so its
    threshold and action are set there explicitly rather than left to Cloudflare's defaults.
    """
    catalog = cloudflare_plans()
    rules: list[cloudflare.RulesetRuleArgsDict] = []
    for key in waf.managed_rulesets:
        ruleset = catalog.waf_managed_rulesets[key.value]
        parameters: cloudflare.RulesetRuleActionParametersArgsDict = {"id": ruleset.id}
        if key is ManagedRulesetKey.OWASP_CORE:
            parameters["overrides"] = {
                "rules": [
                    {
                        "id": catalog.owasp_anomaly_score_rule_id,
                        "enabled": True,
                        "action": waf.owasp.action.value,
                        "score_threshold": waf.owasp.anomaly_score_threshold,
                    }
                ]
            }
        rules.append(
            {
                "ref": f"waf_{key.value}",
                "description": f"Execute the {ruleset.name} on every request",
                "expression": "true",
                "action": "execute",
                "enabled": True,
                "action_parameters": parameters,
            }
        )
    return rules
