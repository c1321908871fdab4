"""Cloudflare in front of the ALB: proxied records, an ALB closed to all but Cloudflare, WAF managed rulesets.

Also the dated Cloudflare catalogs (plan limits, IP ranges) they rest on, and the configs the
zone's plan or the fronting rule refuse. Component tests run in isolation under mocks; phase
tests reuse the cached ``built_phase`` runs.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare
import pytest

from infra.catalog.cloudflare import cloudflare_ip_ranges, cloudflare_plans
from infra.compute.security_groups import (
    ANYWHERE_IPV4,
    INTERNET_INGRESS,
    ApplicationSecurityGroups,
    ApplicationSecurityGroupsArgs,
)
from infra.config.edge import ManagedRulesetKey, OwaspConfig, WafAction, WafConfig
from infra.edge import rules
from infra.edge.component import Edge, EdgeArgs
from infra.edge.origin import ORIGIN_PORTS, load_balancer_ingress
from infra.plan.capture import ProgramRun, run_program
from infra.policy.launch import SECURITY_PACK
from infra.policy.packs import for_phase, run_packs
from infra.policy.runner import StackContext
from tests.conftest import built_phase, phase_config
from tests.test_edge import edge_config
from tests.test_edge_config import rejection

RECORD = "cloudflare:index/dnsRecord:DnsRecord"
RULESET = "cloudflare:index/ruleset:Ruleset"
CUSTOM_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
ALB = "aws:lb/loadBalancer:LoadBalancer"
ALB_DNS = "ftw-test-alb-123.eu-west-1.elb.amazonaws.com"
CLOUDFLARE_MANAGED_ID = "efb7b8c949ac4650a09736fc376e9aee"
OWASP_ID = "4814384a9e5d4991b9815dcfc25d2f1f"
OWASP_SCORE_RULE_ID = "6179ae15870a4bb7b2d480d4843b323c"

FRONTED: dict[str, Any] = {
    "origin": {"hostnames": {"apex": "shop.example", "app": "app.shop.example"}},
    "waf": {"managed_rulesets": ["cloudflare_managed", "owasp_core"]},
}


@functools.cache
def fronted_run() -> ProgramRun:
    config = edge_config(
        **FRONTED,
        buckets={
            "media": {"location_hint": "weur"},
            "videos": {"location_hint": "weur", "custom_domain": "videos.shop.example"},
        },
    )

    def program() -> None:
        provider = cloudflare.Provider("cloudflare")
        edge = Edge(
            "edge",
            EdgeArgs(config=config, environment="ftw-test", origin_dns_name=ALB_DNS),
            opts=pulumi.ResourceOptions(providers=[provider]),
        )
        pulumi.export("app_hostnames", edge.app_hostnames)

    return run_program(program, project="scaleplan", stack="test")


# --- proxied records --------------------------------------------------------------------------


def test_each_app_hostname_is_a_proxied_cname_to_the_alb() -> None:
    run = fronted_run()
    records = {r.name: r.inputs for r in run.of_type(RECORD)}
    assert set(records) == {"edge-apex-dns", "edge-app-dns"}
    for record, hostname in (("edge-apex-dns", "shop.example"), ("edge-app-dns", "app.shop.example")):
        inputs = records[record]
        assert inputs["name"] == hostname
        assert inputs["type"] == "CNAME"
        assert inputs["content"] == ALB_DNS
        assert inputs["zoneId"] == edge_config().zone_id
        assert inputs["ttl"] == 1  # automatic: the only TTL a proxied record takes


def test_records_are_proxied_so_visitors_never_resolve_the_alb() -> None:
    assert [r.inputs["proxied"] for r in fronted_run().of_type(RECORD)] == [True, True]


def test_app_hostnames_are_exported() -> None:
    assert fronted_run().stack_outputs["app_hostnames"] == {"apex": "shop.example", "app": "app.shop.example"}


def test_no_records_without_an_origin() -> None:
    def program() -> None:
        Edge("edge", EdgeArgs(config=edge_config(), environment="ftw-test"))

    assert run_program(program, project="scaleplan", stack="test").of_type(RECORD) == []


def test_an_origin_without_the_alb_dns_name_is_a_programming_error() -> None:
    def program() -> None:
        Edge("edge", EdgeArgs(config=edge_config(**FRONTED), environment="ftw-test"))

    with pytest.raises(Exception, match="origin_dns_name is required"):
        run_program(program, project="scaleplan", stack="test")


def test_every_phase_points_its_hostnames_at_its_own_alb(phase: str) -> None:
    run = built_phase(phase)
    alb_dns = run.one(ALB).outputs["dnsName"]
    hostnames = phase_config(phase).edge.origin
    assert hostnames is not None
    records = {r.inputs["name"]: r.inputs for r in run.of_type(RECORD)}
    assert (
        set(records) == set(hostnames.hostnames.values()) == {"fairtradeworker.example", "app.fairtradeworker.example"}
    )
    assert all(r["content"] == alb_dns and r["proxied"] is True and r["type"] == "CNAME" for r in records.values())


# --- the ALB reachable only from Cloudflare ----------------------------------------------------


def _sg_run(ingress: Any) -> ProgramRun:
    def program() -> None:
        ApplicationSecurityGroups(
            "app-sg",
            ApplicationSecurityGroupsArgs(
                environment="ftw-test",
                vpc_id="vpc-0abc",
                vpc_cidr="10.40.0.0/16",
                app_port=3000,
                tags={"project": "scaleplan"},
                alb_ingress=ingress,
            ),
        )

    return run_program(program, project="scaleplan", stack="test")


@functools.cache
def cloudflare_sg_run() -> ProgramRun:
    return _sg_run(load_balancer_ingress(edge_config(**FRONTED)))


def test_no_alb_ingress_from_anywhere_while_cloudflare_fronts_it() -> None:
    run = cloudflare_sg_run()
    assert [r.name for r in run.of_type(INGRESS) if r.inputs.get("cidrIpv4") == ANYWHERE_IPV4] == []
    assert [r.name for r in run.of_type(INGRESS) if r.inputs.get("cidrIpv6") is not None] == []


def test_the_alb_admits_exactly_cloudflares_published_ranges_on_443() -> None:
    run = cloudflare_sg_run()
    alb_id = run.one(GROUP, "app-sg-alb").outputs["id"]
    into_alb = [r.inputs for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_id]
    assert sorted(r["cidrIpv4"] for r in into_alb) == sorted(str(c) for c in cloudflare_ip_ranges().ipv4)
    assert {(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in into_alb} == {("tcp", 443, 443)}


def test_port_80_is_closed_while_fronted() -> None:
    # Full (strict) SSL: Cloudflare reaches the origin over HTTPS only; Always Use HTTPS redirects at the edge.
    assert ORIGIN_PORTS == {"https": 443}
    assert [r.name for r in cloudflare_sg_run().of_type(INGRESS) if r.inputs["fromPort"] == 80] == []


def test_the_app_group_still_takes_only_the_alb() -> None:
    # Health checks go from the ALB to the app group; closing the ALB to the internet leaves them alone.
    run = cloudflare_sg_run()
    alb_id, app_id = run.one(GROUP, "app-sg-alb").outputs["id"], run.one(GROUP, "app-sg-app").outputs["id"]
    into_app = [r.inputs for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == app_id]
    assert [(r["referencedSecurityGroupId"], r["fromPort"]) for r in into_app] == [(alb_id, 3000)]


def test_ingress_rules_keep_their_names_when_the_alb_stays_open() -> None:
    # The unfronted default keeps the original logical names, so no rule is replaced for it.
    names = sorted(r.name for r in _sg_run(INTERNET_INGRESS).of_type(INGRESS))
    assert names == ["app-sg-alb-http-in", "app-sg-alb-https-in", "app-sg-app-from-alb"]


def test_ingress_is_the_internet_only_without_an_origin_or_by_named_acceptance() -> None:
    assert load_balancer_ingress(edge_config()) == INTERNET_INGRESS
    accepted = edge_config(origin={**FRONTED["origin"], "alb_ingress": "internet", "accept_alb_open_to_internet": True})
    assert load_balancer_ingress(accepted) == INTERNET_INGRESS
    fronted = load_balancer_ingress(edge_config(**FRONTED))
    assert ANYWHERE_IPV4 not in fronted.ipv4_cidrs
    assert fronted.source == "cloudflare"


def test_every_phase_alb_admits_only_cloudflare(phase: str) -> None:
    run = built_phase(phase)
    alb_id = run.one(GROUP, "app-sg-alb").outputs["id"]
    into_alb = [r.inputs for r in run.of_type(INGRESS) if r.inputs["securityGroupId"] == alb_id]
    assert len(into_alb) == len(cloudflare_ip_ranges().ipv4)
    published = [ipaddress.IPv4Network(c) for c in cloudflare_ip_ranges().ipv4]
    assert all(ipaddress.IPv4Network(r["cidrIpv4"]) in published and r["fromPort"] == 443 for r in into_alb)


# --- WAF managed rulesets ----------------------------------------------------------------------


def test_waf_rules_execute_the_managed_rulesets_on_every_request() -> None:
    waf = WafConfig(managed_rulesets=[ManagedRulesetKey.CLOUDFLARE_MANAGED, ManagedRulesetKey.OWASP_CORE])
    built = rules.waf_managed_rules(waf)
    assert [(r["ref"], r["action"], r["expression"], r["enabled"]) for r in built] == [
        ("waf_cloudflare_managed", "execute", "true", True),
        ("waf_owasp_core", "execute", "true", True),
    ]
    assert built[0]["action_parameters"] == {"id": CLOUDFLARE_MANAGED_ID}
    assert built[1]["action_parameters"] == {
        "id": OWASP_ID,
        "overrides": {
            "rules": [{"id": OWASP_SCORE_RULE_ID, "enabled": True, "action": "block", "score_threshold": 40}]
        },
    }


def test_owasp_threshold_and_action_come_from_config() -> None:
    waf = WafConfig(
        managed_rulesets=[ManagedRulesetKey.OWASP_CORE],
        owasp=OwaspConfig(anomaly_score_threshold=25, action=WafAction.MANAGED_CHALLENGE),
    )
    [rule] = rules.waf_managed_rules(waf)
    [override] = rule["action_parameters"]["overrides"]["rules"]  # type: ignore[index]
    assert (override["action"], override["score_threshold"]) == ("managed_challenge", 25)


def test_the_waf_ruleset_is_the_zones_managed_firewall_phase() -> None:
    [waf] = [r for r in fronted_run().of_type(RULESET) if r.inputs["phase"] == "http_request_firewall_managed"]
    assert waf.name == "edge-waf-managed"
    assert waf.inputs["kind"] == "zone"
    assert waf.inputs["zoneId"] == edge_config().zone_id
    assert [r["actionParameters"]["id"] for r in waf.inputs["rules"]] == [CLOUDFLARE_MANAGED_ID, OWASP_ID]
    assert all(r["action"] == "execute" and r["enabled"] is True for r in waf.inputs["rules"])


def test_pro_phases_deploy_the_managed_rulesets_and_the_free_phase_does_not() -> None:
    def waf_ids(phase: str) -> list[str]:
        return [
            rule["actionParameters"]["id"]
            for r in built_phase(phase).of_type(RULESET)
            if r.inputs["phase"] == "http_request_firewall_managed"
            for rule in r.inputs["rules"]
        ]

    for phase in ("growth", "scale", "optimize"):
        assert waf_ids(phase) == [CLOUDFLARE_MANAGED_ID, OWASP_ID], phase
    assert waf_ids("foundation") == []


# --- separate photo and video buckets ----------------------------------------------------------


def test_videos_have_their_own_bucket_lifecycle_and_domain(phase: str) -> None:
    run = built_phase(phase)
    bucket = run.one("cloudflare:index/r2Bucket:R2Bucket", "edge-videos")
    assert bucket.protect is True
    assert bucket.inputs["name"] == "ftw-prod-videos"
    lifecycle = run.one("cloudflare:index/r2BucketLifecycle:R2BucketLifecycle", "edge-videos-lifecycle")
    assert lifecycle.inputs["bucketName"] == "ftw-prod-videos"
    assert [rule["id"] for rule in lifecycle.inputs["rules"]] == [
        "abort-incomplete-multipart-uploads",
        "move-to-infrequent-access",
    ]
    domain = run.one(CUSTOM_DOMAIN, "edge-videos-domain")
    assert (domain.inputs["bucketName"], domain.inputs["domain"]) == (
        "ftw-prod-videos",
        "videos.fairtradeworker.example",
    )
    assert run.one(CUSTOM_DOMAIN, "edge-media-domain").inputs["bucketName"] == "ftw-prod-media"


# --- the security pack -------------------------------------------------------------------------


def test_the_security_pack_passes_the_fronted_edge() -> None:
    [report] = run_packs(
        for_phase("growth", [SECURITY_PACK]), fronted_run().resources, StackContext("scaleplan", "test")
    )
    assert [(d.policy, d.detail) for d in report.mandatory] == []


# --- the dated catalogs ------------------------------------------------------------------------


def test_the_ip_ranges_are_dated_sourced_and_public() -> None:
    ranges = cloudflare_ip_ranges()
    assert datetime.date.fromisoformat(ranges.as_of) <= datetime.datetime.now(datetime.UTC).date()
    assert ranges.sources["ipv4"] == "https://www.cloudflare.com/ips-v4"
    assert ranges.sources["ipv6"] == "https://www.cloudflare.com/ips-v6"
    assert len(ranges.ipv4) == 15
    assert len(ranges.ipv6) == 7
    for network in (*ranges.ipv4, *ranges.ipv6):
        assert network.is_global, network
        assert network.prefixlen >= 13, network
    every = [*ranges.ipv4]
    assert not any(a.overlaps(b) for i, a in enumerate(every) for b in every[i + 1 :])


def test_the_plan_catalog_is_dated_and_names_its_sources() -> None:
    plans = cloudflare_plans()
    datetime.date.fromisoformat(plans.as_of)
    assert set(plans.sources) == {"rate_limiting", "cache_rules", "cache_ttl", "custom_rules", "waf_managed_rulesets"}
    assert {key.value for key in ManagedRulesetKey} == set(plans.waf_managed_rulesets)
    assert {name: sorted(p.waf_managed_rulesets) for name, p in plans.plans.items()} == {
        "free": [],
        "pro": ["cloudflare_managed", "owasp_core"],
        "business": ["cloudflare_managed", "owasp_core"],
        "enterprise": ["cloudflare_managed", "owasp_core"],
    }
    assert {name: (p.cache_rules, p.custom_rules) for name, p in plans.plans.items()} == {
        "free": (10, 5),
        "pro": (25, 20),
        "business": (50, 100),
        "enterprise": (125, 1000),
    }
    assert plans.lowest_plan_with_ruleset("owasp_core") == "pro"


# --- rejected configs ---------------------------------------------------------------------------


def test_rejects_an_alb_open_to_the_internet_while_cloudflare_fronts_it() -> None:
    assert rejection("growth", {"origin.alb_ingress": "internet"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.origin.alb_ingress: must be 'cloudflare' while Cloudflare fronts the "
        "ALB (origin.hostnames): open to 0.0.0.0/0, anyone can call the ALB directly and walk around the zone's "
        "WAF, rate limits and TLS settings (got 'internet'); to accept that, also set "
        "accept_alb_open_to_internet: true"
    ]


def test_rejects_an_acceptance_with_nothing_to_accept() -> None:
    assert rejection("growth", {"origin.accept_alb_open_to_internet": True}) == [
        "Pulumi.growth.yaml: scaleplan:edge.origin.accept_alb_open_to_internet: accepts an ALB open to the "
        "internet, but alb_ingress is 'cloudflare'; remove it"
    ]


def test_rejects_waf_managed_rulesets_on_the_free_plan() -> None:
    assert rejection("foundation", {"waf": {"managed_rulesets": ["owasp_core"]}}) == [
        "Pulumi.foundation.yaml: scaleplan:edge.waf.managed_rulesets[0]: the Cloudflare OWASP Core Ruleset "
        "('owasp_core') needs the pro plan or higher; zone_plan is 'free': remove it or raise zone_plan"
    ]


def test_rejects_a_ruleset_listed_twice() -> None:
    assert rejection("growth", {"waf.managed_rulesets": ["owasp_core", "owasp_core"]}) == [
        "Pulumi.growth.yaml: scaleplan:edge.waf.managed_rulesets[1]: 'owasp_core' is listed twice"
    ]


def test_rejects_an_unknown_owasp_threshold() -> None:
    [line] = rejection("growth", {"waf.owasp.anomaly_score_threshold": 30})
    assert line.startswith("Pulumi.growth.yaml: scaleplan:edge.waf.owasp.anomaly_score_threshold: ")
    assert "25, 40 or 60" in line


def test_rejects_more_cache_rules_than_the_free_plan_allows() -> None:
    base = phase_config("foundation").edge.cache_ttls["static-assets"].model_dump()
    classes = {f"class-{i}": {**base, "path_prefixes": [f"/c{i}/"]} for i in range(11)}
    assert rejection("foundation", {"cache_ttls": classes}) == [
        "Pulumi.foundation.yaml: scaleplan:edge.cache_ttls: the free plan allows 10 cache rules, not 11; merge "
        "classes or move the zone to a higher zone_plan"
    ]


def test_rejects_an_app_hostname_outside_the_zone() -> None:
    assert rejection("growth", {"origin.hostnames.app": "app.elsewhere.example"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.origin.hostnames.app: must be a hostname in zone "
        "'fairtradeworker.example' (got 'app.elsewhere.example')"
    ]


def test_rejects_an_app_hostname_that_a_bucket_serves() -> None:
    assert rejection("growth", {"origin.hostnames.app": "media.fairtradeworker.example"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.origin.hostnames.app: 'media.fairtradeworker.example' is already "
        "used by media_domain; a hostname serves one thing"
    ]


def test_rejects_a_custom_domain_on_the_media_bucket() -> None:
    assert rejection("growth", {"buckets.media.custom_domain": "photos.fairtradeworker.example"}) == [
        "Pulumi.growth.yaml: scaleplan:edge.buckets.media.custom_domain: the media bucket is served at "
        "media_domain; remove it"
    ]
