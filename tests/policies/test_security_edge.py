"""Load balancer and Cloudflare rules, through the real analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy.runner import resource
from tests.policies.conftest import DELETE, PackUnderTest, mutate
from tests.policies.test_security_rds import TAGS

LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
ALB: dict[str, Any] = {
    "loadBalancerType": "application",
    "internal": False,
    "dropInvalidHeaderFields": True,
    "accessLogs": {"enabled": True, "bucket": "ftw-prod-alb-logs", "prefix": "alb"},
    "enableDeletionProtection": True,
    "desyncMitigationMode": "defensive",
    "securityGroups": ["sg-lb"],
    "subnets": ["subnet-1", "subnet-2"],
    "tags": TAGS,
}
HTTPS: dict[str, Any] = {
    "loadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/ftw/1",
    "port": 443,
    "protocol": "HTTPS",
    "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/1",
    "defaultActions": [{"type": "forward", "targetGroupArn": "arn:tg"}],
    "tags": TAGS,
}
HTTP: dict[str, Any] = {
    "loadBalancerArn": HTTPS["loadBalancerArn"],
    "port": 80,
    "protocol": "HTTP",
    "defaultActions": [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ],
    "tags": TAGS,
}


@pytest.mark.parametrize(("type_", "props"), [(LOAD_BALANCER, ALB), (LISTENER, HTTPS), (LISTENER, HTTP)])
def test_compliant_load_balancer_parts_pass_every_rule(
    security_pack: PackUnderTest, type_: str, props: dict[str, Any]
) -> None:
    assert security_pack.all_violations(resource(type_, "part", props)) == {}


@pytest.mark.parametrize(
    ("target", "policy", "mutation", "message"),
    [
        (
            (LOAD_BALANCER, ALB),
            "aws-lb-loadbalancer-enable-drop-invalid-headers",
            ("dropInvalidHeaderFields", DELETE),
            "Load balancer 'part' forwards requests with invalid HTTP headers; set drop_invalid_header_fields=True.",
        ),
        (
            (LISTENER, HTTPS),
            "aws-lb-listener-require-modern-tls-policy",
            ("sslPolicy", "ELBSecurityPolicy-2016-08"),
            "Listener 'part' uses TLS policy 'ELBSecurityPolicy-2016-08'; set ssl_policy to one of "
            "ELBSecurityPolicy-TLS13-1-2-2021-06, ELBSecurityPolicy-TLS13-1-2-Res-2021-06, "
            "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06, ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06, "
            "ELBSecurityPolicy-TLS13-1-3-2021-06, ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04, "
            "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04, ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04, "
            "ELBSecurityPolicy-FS-1-2-Res-2020-10, ELBSecurityPolicy-TLS-1-2-2017-01, "
            "ELBSecurityPolicy-TLS-1-2-Ext-2018-06.",
        ),
        (
            (LISTENER, HTTP),
            "aws-lb-listener-restrict-http-to-redirect",
            ("defaultActions.0", {"type": "forward", "targetGroupArn": "arn:tg"}),
            "HTTP listener 'part' has a 'forward' default action; plain HTTP may only redirect to HTTPS "
            "(type='redirect', redirect.protocol='HTTPS', status_code='HTTP_301').",
        ),
        (
            (LISTENER, HTTP),
            "aws-lb-listener-restrict-http-to-redirect",
            ("defaultActions.0.redirect.protocol", "HTTP"),
            "HTTP listener 'part' has a 'redirect' default action; plain HTTP may only redirect to HTTPS "
            "(type='redirect', redirect.protocol='HTTPS', status_code='HTTP_301').",
        ),
    ],
)
def test_rejects_load_balancer_part(
    security_pack: PackUnderTest,
    target: tuple[str, dict[str, Any]],
    policy: str,
    mutation: tuple[str, object],
    message: str,
) -> None:
    (type_, base), (path, value) = target, mutation
    assert security_pack.all_violations(resource(type_, "part", mutate(base, path, value))) == {policy: [message]}


def test_unset_tls_policy_names_the_aws_default(security_pack: PackUnderTest) -> None:
    listener = resource(LISTENER, "part", mutate(HTTPS, "sslPolicy", DELETE))
    policy = "aws-lb-listener-require-modern-tls-policy"
    config = {policy: {"allowedPolicies": ["ELBSecurityPolicy-TLS13-1-3-2021-06"]}}
    assert security_pack.violations(listener, policy, config) == [
        "Listener 'part' uses TLS policy unset (AWS default ELBSecurityPolicy-2016-08 accepts TLS 1.0); "
        "set ssl_policy to one of ELBSecurityPolicy-TLS13-1-3-2021-06."
    ]


def https_listener_violations(pack: PackUnderTest, listeners: list[dict[str, Any]]) -> list[tuple[str, str]]:
    balancer = resource(LOAD_BALANCER, "alb", ALB)
    parts = [
        resource(LISTENER, f"listener-{i}", props, property_dependencies={"loadBalancerArn": [balancer.urn]})
        for i, props in enumerate(listeners)
    ]
    return pack.stack_violations([balancer, *parts], "aws-lb-loadbalancer-require-https-listener")


def test_load_balancer_with_https_listener_passes(security_pack: PackUnderTest) -> None:
    assert https_listener_violations(security_pack, [HTTP, HTTPS]) == []


def test_rejects_load_balancer_without_https_listener(security_pack: PackUnderTest) -> None:
    [(urn, message)] = https_listener_violations(security_pack, [HTTP])
    assert urn.endswith("::alb")
    assert (
        message
        == "Load balancer 'alb' has no HTTPS listener (listeners: HTTP); add an HTTPS listener with a certificate."
    )


# -- Cloudflare ----------------------------------------------------------------------------------

ZONE = "cloudflare:index/zone:Zone"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
R2_BUCKET_CORS = "cloudflare:index/r2BucketCors:R2BucketCors"
MIN_TLS: dict[str, Any] = {"zoneId": "zone-1", "settingId": "min_tls_version", "value": "1.2"}
ALWAYS_HTTPS: dict[str, Any] = {"zoneId": "zone-1", "settingId": "always_use_https", "value": "on"}
CORS: dict[str, Any] = {
    "accountId": "acc",
    "bucketName": "ftw-prod-media",
    "rules": [{"allowed": {"methods": ["GET"], "origins": ["https://fairtradeworker.example"]}, "maxAgeSeconds": 3600}],
}


@pytest.mark.parametrize(
    ("type_", "props"), [(ZONE_SETTING, MIN_TLS), (ZONE_SETTING, ALWAYS_HTTPS), (R2_BUCKET_CORS, CORS)]
)
def test_compliant_cloudflare_resources_pass_every_rule(
    security_pack: PackUnderTest, type_: str, props: dict[str, Any]
) -> None:
    assert security_pack.all_violations(resource(type_, "cf", props)) == {}


@pytest.mark.parametrize(
    ("target", "policy", "mutation", "message"),
    [
        (
            (ZONE_SETTING, MIN_TLS),
            "cloudflare-zonesetting-require-min-tls-version",
            ("value", "1.0"),
            "Zone setting 'cf' allows TLS 1.0; set min_tls_version to one of 1.2, 1.3.",
        ),
        (
            (ZONE_SETTING, ALWAYS_HTTPS),
            "cloudflare-zonesetting-enable-always-use-https",
            ("value", "off"),
            "Zone setting 'cf' sets always_use_https='off'; set it to 'on'.",
        ),
        (
            (R2_BUCKET_CORS, CORS),
            "cloudflare-r2bucketcors-require-https-origins",
            ("rules.0.allowed.origins", ["https://fairtradeworker.example", "http://fairtradeworker.example", "*"]),
            "R2 CORS 'cf' allows origins http://fairtradeworker.example, *; list only https:// origins.",
        ),
    ],
)
def test_rejects_cloudflare_resource(
    security_pack: PackUnderTest,
    target: tuple[str, dict[str, Any]],
    policy: str,
    mutation: tuple[str, object],
    message: str,
) -> None:
    (type_, base), (path, value) = target, mutation
    assert security_pack.all_violations(resource(type_, "cf", mutate(base, path, value))) == {policy: [message]}


def test_min_tls_version_comes_from_config(security_pack: PackUnderTest) -> None:
    policy = "cloudflare-zonesetting-require-min-tls-version"
    assert security_pack.violations(
        resource(ZONE_SETTING, "cf", MIN_TLS), policy, {policy: {"minimumVersion": "1.3"}}
    ) == ["Zone setting 'cf' allows TLS 1.2; set min_tls_version to one of 1.3."]


def zone_violations(pack: PackUnderTest, settings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    zone = resource(ZONE, "zone", {"name": "fairtradeworker.example", "account": {"id": "acc"}})
    parts = [
        resource(ZONE_SETTING, f"setting-{i}", props, property_dependencies={"zoneId": [zone.urn]})
        for i, props in enumerate(settings)
    ]
    policy = "cloudflare-zone-require-tls-settings"
    config = {policy: {"requiredSettings": ["min_tls_version", "always_use_https"]}}
    return pack.stack_violations([zone, *parts], policy, config)


def test_zone_with_both_tls_settings_passes(security_pack: PackUnderTest) -> None:
    assert zone_violations(security_pack, [MIN_TLS, ALWAYS_HTTPS]) == []


def test_rejects_zone_without_tls_settings(security_pack: PackUnderTest) -> None:
    [(urn, message)] = zone_violations(security_pack, [MIN_TLS])
    assert urn.endswith("::zone")
    assert message == "Zone 'zone' leaves always_use_https at Cloudflare's defaults; declare a ZoneSetting for each."
