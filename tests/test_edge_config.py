"""``scaleplan:edge``: the phase files validate, and configs the zone's plan cannot run are refused.

Each rejection starts from a real phase file (growth: Pro plan; foundation: Free plan),
changes one key and asserts the exact line a DevOps engineer reads.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from infra.catalog.cloudflare import cloudflare_plans
from infra.config import PhaseConfigError
from infra.config.edge import ZonePlan
from infra.config.loader import parse_phase_config
from tests.conftest import PHASES, phase_config, stack_file


def edge_section(phase: str) -> dict[str, Any]:
    section: dict[str, Any] = yaml.safe_load(stack_file(phase).read_text())["config"]["scaleplan:edge"]
    return section


def with_edge(phase: str, change: dict[str, Any]) -> dict[str, Any]:
    """The phase's whole config with ``change`` (dotted path -> value; None deletes) applied to the edge key."""
    config: dict[str, Any] = yaml.safe_load(stack_file(phase).read_text())["config"]
    edge = copy.deepcopy(config["scaleplan:edge"])
    for path, value in change.items():
        *parents, last = path.split(".")
        node: Any = edge
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is None:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    config["scaleplan:edge"] = edge
    return config


def rejection(phase: str, change: dict[str, Any]) -> list[str]:
    source = f"Pulumi.{phase}.yaml"
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(with_edge(phase, change), source)
    return str(error.value).splitlines()


def test_every_phase_file_states_a_valid_edge(phase: str) -> None:
    edge = phase_config(phase).edge
    raw = edge_section(phase)
    assert edge.zone_plan.value == raw["zone_plan"]
    # Seed 001 keeps photos (the media bucket) and videos apart.
    assert set(edge.buckets) == set(raw["buckets"]) == {"media", "videos", "documents"}
    assert len(edge.rate_limits) <= edge.limits.rate_limit_rules
    assert len(edge.cache_ttls) <= edge.limits.cache_rules


def test_phases_pay_for_the_plan_their_rules_need() -> None:
    plans = {phase: phase_config(phase).edge.zone_plan for phase in PHASES}
    assert plans == {
        "foundation": ZonePlan.FREE,
        "growth": ZonePlan.PRO,
        "scale": ZonePlan.PRO,
        "optimize": ZonePlan.PRO,
    }
    # From growth on the Pro plan's two rules meter anonymous and signed-in routes apart;
    # foundation (Free, one rule) meters anonymous traffic only.
    for phase in ("growth", "scale", "optimize"):
        assert set(phase_config(phase).edge.rate_limits) == {"anonymous", "authenticated"}
    assert set(phase_config("foundation").edge.rate_limits) == {"anonymous"}


def test_cloudflare_ids_are_placeholders_of_the_real_shape(phase: str) -> None:
    raw = edge_section(phase)
    for key in ("account_id", "zone_id"):
        assert len(raw[key]) == 32
        int(raw[key], 16)
    assert raw["zone_name"].endswith(".example")  # reserved: can never be someone's real zone


def test_plan_limits_follow_cloudflare_documentation() -> None:
    # Rule budget and longest counting period per plan, as the brief and Cloudflare's table say.
    plans = cloudflare_plans().plans
    assert {plan: (limits.rate_limit_rules, limits.max_period_seconds) for plan, limits in plans.items()} == {
        "free": (1, 10),
        "pro": (2, 60),
        "business": (5, 600),
        "enterprise": (100, 65535),
    }
    assert plans["free"].min_cache_ttl_seconds == 7200
    assert cloudflare_plans().period_values_seconds[0] == 10
    assert set(plans) == {plan.value for plan in ZonePlan}


def test_rejects_an_http_cors_origin() -> None:
    assert rejection("growth", {"cors.allowed_origins": ["https://fairtradeworker.example", "http://app.example"]}) == [
        "Pulumi.growth.yaml: scaleplan:edge.cors.allowed_origins[1]: must be an https:// origin with a lowercase "
        "host and no path or wildcard, such as https://app.example.com (got 'http://app.example')"
    ]


def test_rejects_a_wildcard_cors_origin() -> None:
    assert rejection("growth", {"cors.allowed_origins": ["https://*.fairtradeworker.example"]}) == [
        "Pulumi.growth.yaml: scaleplan:edge.cors.allowed_origins[0]: must be an https:// origin with a lowercase "
        "host and no path or wildcard, such as https://app.example.com (got 'https://*.fairtradeworker.example')"
    ]


def test_rejects_a_cache_ttl_above_one_year() -> None:
    assert rejection("growth", {"cache_ttls.media.edge_ttl_seconds": 31_536_001}) == [
        "Pulumi.growth.yaml: scaleplan:edge.cache_ttls.media.edge_ttl_seconds: must be <= 31536000 (one year; got "
        "31536001)"
    ]


def test_rejects_a_cache_ttl_below_the_plan_minimum() -> None:
    assert rejection("growth", {"cache_ttls.static-assets.browser_ttl_seconds": 600}) == [
        "Pulumi.growth.yaml: scaleplan:edge.cache_ttls.static-assets.browser_ttl_seconds: must be >= 3600 on the "
        "pro plan (got 600); raise it or move the zone to a higher zone_plan"
    ]


def test_rejects_more_rate_limit_rules_than_the_plan_allows() -> None:
    operator = {"path_prefixes": ["/api/operator/"], "requests_per_period": 1000, "period_seconds": 60,
                "mitigation_timeout_seconds": 60}  # fmt: skip
    assert rejection("growth", {"rate_limits.operator": operator}) == [
        "Pulumi.growth.yaml: scaleplan:edge.rate_limits: the pro plan allows 2 rate limiting rule(s), not 3 "
        "(got anonymous, authenticated, operator); drop limits or move the zone to a higher zone_plan"
    ]


def test_rejects_a_period_the_plan_does_not_offer() -> None:
    assert rejection("growth", {"rate_limits.authenticated.period_seconds": 120}) == [
        "Pulumi.growth.yaml: scaleplan:edge.rate_limits.authenticated.period_seconds: must be one of "
        "10, 15, 20, 30, 40, 45, 60 on the pro plan (got 120)"
    ]


def test_rejects_a_minute_period_on_the_free_plan() -> None:
    assert rejection("foundation", {"rate_limits.anonymous.period_seconds": 60}) == [
        "Pulumi.foundation.yaml: scaleplan:edge.rate_limits.anonymous.period_seconds: must be one of 10 "
        "on the free plan (got 60)"
    ]


def test_rejects_a_mitigation_timeout_the_plan_does_not_offer() -> None:
    assert rejection("foundation", {"rate_limits.anonymous.mitigation_timeout_seconds": 60}) == [
        "Pulumi.foundation.yaml: scaleplan:edge.rate_limits.anonymous.mitigation_timeout_seconds: must be one of "
        "10 on the free plan (got 60)"
    ]


def test_rejects_an_account_id_of_the_wrong_shape() -> None:
    assert rejection("growth", {"account_id": "ftw-cloudflare-account"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.account_id: must be 32 lowercase hex digits, as the Cloudflare "
        "dashboard shows it (got 'ftw-cloudflare-account')"
    ]


def test_rejects_an_uppercase_zone_id() -> None:
    assert rejection("growth", {"zone_id": "FEDCBA9876543210FEDCBA9876543210"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.zone_id: must be 32 lowercase hex digits, as the Cloudflare "
        "dashboard shows it (got 'FEDCBA9876543210FEDCBA9876543210')"
    ]


def test_rejects_a_media_domain_outside_the_zone() -> None:
    assert rejection("growth", {"media_domain": "media.fairtradeworker.example.net"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.media_domain: must be a hostname in zone 'fairtradeworker.example' "
        "(got 'media.fairtradeworker.example.net')"
    ]


def test_rejects_an_edge_without_a_media_bucket() -> None:
    assert rejection("growth", {"buckets.media": None}) == [
        "Pulumi.growth.yaml: scaleplan:edge.buckets: needs a 'media' bucket to serve media_domain "
        "'media.fairtradeworker.example' from"
    ]


def test_rate_limits_take_the_plans_own_names() -> None:
    # Seed 002 names its callers anonymous/authenticated/pro/operator; another plan names its own.
    growth = edge_section("growth")["rate_limits"]
    renamed = with_edge(
        "growth", {"rate_limits.authenticated": None, "rate_limits.partner_api": growth["authenticated"]}
    )
    config = parse_phase_config(renamed, "Pulumi.growth.yaml")
    assert list(config.edge.rate_limits) == ["anonymous", "partner_api"]
    assert config.edge.rate_limits["partner_api"].requests_per_period == growth["authenticated"]["requests_per_period"]


@pytest.mark.parametrize("name", ["Partner", "partner-api", "1st_party", "a" * 33, "api/v1"])
def test_rejects_a_rate_limit_name_that_is_not_a_safe_identifier(name: str) -> None:
    growth = edge_section("growth")["rate_limits"]
    assert rejection("growth", {"rate_limits.authenticated": None, f"rate_limits.{name}": growth["authenticated"]}) == [
        f"Pulumi.growth.yaml: scaleplan:edge.rate_limits.{name}: a rate limit's name must be 1-32 characters of "
        f"lowercase letters, digits and '_', starting with a letter, such as anonymous or partner_api (got {name!r})"
    ]


def test_rejects_a_route_metered_by_two_roles() -> None:
    assert rejection("growth", {"rate_limits.authenticated.path_prefixes": ["/api/", "/auth/"]}) == [
        "Pulumi.growth.yaml: scaleplan:edge.rate_limits.authenticated.path_prefixes: '/auth/' is already metered "
        "by rate limit 'anonymous'; a route belongs to one limit"
    ]


def test_rejects_a_path_prefix_without_trailing_slash() -> None:
    assert rejection("growth", {"rate_limits.authenticated.path_prefixes": ["/api"]}) == [
        "Pulumi.growth.yaml: scaleplan:edge.rate_limits.authenticated.path_prefixes[0]: must start and end with '/' "
        "and use only URL-safe characters, such as /api/ (got '/api')"
    ]


def test_rejects_expiry_inside_the_infrequent_access_minimum() -> None:
    assert rejection("growth", {"buckets.media.expire_after_days": 100}) == [
        "Pulumi.growth.yaml: scaleplan:edge.buckets.media.expire_after_days: must be >= 120: objects moved to "
        "Infrequent Access on day 90 are billed for at least 30 days (got 100)"
    ]


def test_rejects_tls_1_1() -> None:
    assert rejection("growth", {"min_tls_version": "1.1"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.min_tls_version: must be one of '1.2' or '1.3' (got '1.1')"
    ]
