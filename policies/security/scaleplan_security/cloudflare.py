"""Cloudflare: zones demand strict TLS to the origin, modern TLS, HTTPS and HSTS; rulesets stay enforcing;
R2 buckets stay private, TLS-only and clean of abandoned uploads; DNS records go through the proxy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import attached, is_true, items, listing, mapping, number, of_type, resource_policy

ZONE = "cloudflare:index/zone:Zone"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
RULESET = "cloudflare:index/ruleset:Ruleset"
R2_BUCKET = "cloudflare:index/r2Bucket:R2Bucket"
R2_BUCKET_CORS = "cloudflare:index/r2BucketCors:R2BucketCors"
R2_LIFECYCLE = "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle"
R2_MANAGED_DOMAIN = "cloudflare:index/r2ManagedDomain:R2ManagedDomain"
R2_CUSTOM_DOMAIN = "cloudflare:index/r2CustomDomain:R2CustomDomain"
DNS_RECORDS = ("cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/record:Record")
TLS_VERSIONS = ["1.0", "1.1", "1.2", "1.3"]
MIN_TLS = "min_tls_version"
ALWAYS_HTTPS = "always_use_https"
SSL = "ssl"
TLS_1_3 = "tls_1_3"
SECURITY_HEADER = "security_header"
ZONE_SETTINGS = [SSL, MIN_TLS, TLS_1_3, ALWAYS_HTTPS, SECURITY_HEADER]
"""The zone settings a secure zone depends on; each must be declared, not left at Cloudflare's default."""
PROXIABLE = ("A", "AAAA", "CNAME")


def _min_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("settingId") != MIN_TLS:
        return
    minimum = args.get_config()["minimumVersion"]
    value = args.props.get("value")
    if value not in TLS_VERSIONS or TLS_VERSIONS.index(value) < TLS_VERSIONS.index(minimum):
        allowed = TLS_VERSIONS[TLS_VERSIONS.index(minimum) :]
        report(
            f"Zone setting '{args.name}' allows TLS {value}; set min_tls_version to one of {listing(allowed)}.",
            None,
        )


def _always_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("settingId") == ALWAYS_HTTPS and args.props.get("value") != "on":
        report(
            f"Zone setting '{args.name}' sets always_use_https={args.props.get('value')!r}; set it to 'on'.",
            None,
        )


def _ssl_strict(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("settingId") == SSL and args.props.get("value") != "strict":
        report(
            f"Zone setting '{args.name}' sets ssl={args.props.get('value')!r}, so Cloudflare does not verify the "
            "origin's certificate; set it to 'strict'.",
            None,
        )


def _tls_1_3(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("settingId") == TLS_1_3 and args.props.get("value") != "on":
        report(
            f"Zone setting '{args.name}' sets tls_1_3={args.props.get('value')!r}; set it to 'on' "
            "('zrt' adds 0-RTT, whose early data can be replayed).",
            None,
        )


def _hsts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.props.get("settingId") != SECURITY_HEADER:
        return
    config = args.get_config()
    hsts = mapping(mapping(args.props.get("value")).get("strict_transport_security"))
    problems = []
    if hsts.get("enabled") is not True:
        problems.append("enabled is not true")
    max_age = hsts.get("max_age") or 0
    if max_age < config["minimumMaxAgeSeconds"]:
        problems.append(f"max_age {number(max_age)} < {number(config['minimumMaxAgeSeconds'])}")
    if config["includeSubdomains"] and hsts.get("include_subdomains") is not True:
        problems.append("include_subdomains is not true")
    if hsts.get("nosniff") is not True:
        problems.append("nosniff is not true")
    if problems:
        report(
            f"Zone setting '{args.name}' weakens HSTS ({listing(problems)}); set strict_transport_security with "
            f"enabled=true, max_age >= {number(config['minimumMaxAgeSeconds'])}, include_subdomains=true and "
            "nosniff=true.",
            None,
        )


def _zones(resources: list[PolicyResource]) -> list[tuple[str, str, PolicyResource | None]]:
    """Every zone the program touches as (zone ID, name to show, declared Zone or None): declared zones and
    zones that zone-scoped resources (settings, rulesets, custom domains, records) name by ID."""
    zones: dict[str, tuple[str, str, PolicyResource | None]] = {}
    for zone in of_type(resources, ZONE):
        zone_id = str(zone.props.get("id") or zone.urn)
        zones[zone_id] = (zone_id, zone.name, zone)
    declared = {zone.urn for _, _, zone in zones.values() if zone is not None}
    for r in resources:
        if not r.resource_type.startswith("cloudflare:"):
            continue  # AWS load balancers have a (Route 53) zoneId too
        if declared & {d.urn for d in r.property_dependencies.get("zoneId", [])}:
            continue  # names a declared zone, whose ID may not be known yet
        referenced = r.props.get("zoneId")
        if isinstance(referenced, str) and referenced and referenced not in zones:
            zones[referenced] = (referenced, referenced, None)
    return list(zones.values())


def _of_zone(resources: list[PolicyResource], zone_id: str, zone: PolicyResource | None) -> list[PolicyResource]:
    if zone is not None:
        return attached(zone, resources, "zoneId")
    return [r for r in resources if r.props.get("zoneId") == zone_id]


def _zone_settings(args: StackValidationArgs, report: ReportViolation) -> None:
    required = list(args.get_config()["requiredSettings"])
    settings = of_type(args.resources, ZONE_SETTING)
    for zone_id, name, zone in _zones(list(args.resources)):
        declared = {s.props.get("settingId") for s in _of_zone(settings, zone_id, zone)}
        missing = [s for s in required if s not in declared]
        if missing:
            report(
                f"Zone '{name}' leaves {listing(missing)} at Cloudflare's defaults; declare a ZoneSetting for each.",
                zone.urn if zone else None,
            )


def _rules(props: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for index, rule in enumerate(items(props.get("rules"))):
        yield str(rule.get("ref") or rule.get("description") or f"#{index}"), mapping(rule)


def _log_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for ref, rule in _rules(args.props):
        overrides = mapping(mapping(rule.get("actionParameters")).get("overrides"))
        actions = [rule.get("action"), overrides.get("action")]
        actions += [mapping(r).get("action") for r in items(overrides.get("rules"))]
        actions += [mapping(c).get("action") for c in items(overrides.get("categories"))]
        logging = [a for a in actions if a == "log"]
        if logging:
            report(
                f"Ruleset '{args.name}' rule '{ref}' only logs matching requests; give it an enforcing action "
                "(block, challenge, managed_challenge) and no 'log' override.",
                None,
            )


def _disabled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    rules = list(_rules(args.props))
    if not rules:
        report(f"Ruleset '{args.name}' has no rules; declare them or remove the ruleset deliberately.", None)
    for ref, rule in rules:
        overrides = mapping(mapping(rule.get("actionParameters")).get("overrides"))
        off = rule.get("enabled") is False or overrides.get("enabled") is False
        off = off or any(mapping(r).get("enabled") is False for r in items(overrides.get("rules")))
        if off:
            report(
                f"Ruleset '{args.name}' rule '{ref}' is switched off (enabled=false); enable it or remove it "
                "deliberately.",
                None,
            )


def _required_rulesets(args: StackValidationArgs, report: ReportViolation) -> None:
    required = list(args.get_config()["requiredPhases"])
    rulesets = of_type(args.resources, RULESET)
    for zone_id, name, zone in _zones(list(args.resources)):
        phases = {r.props.get("phase") for r in _of_zone(rulesets, zone_id, zone)}
        missing = [p for p in required if p not in phases]
        if missing:
            report(
                f"Zone '{name}' has no ruleset for phase {listing(missing)}; declare one (this stack's policy "
                "config requires it).",
                zone.urn if zone else None,
            )


def _cors_https(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in items(args.props.get("rules")):
        origins = items(mapping(rule.get("allowed")).get("origins"))
        bad = [o for o in origins if not str(o).startswith("https://")]
        if bad:
            report(
                f"R2 CORS '{args.name}' allows origins {listing(bad)}; list only https:// origins.",
                None,
            )


def _r2_dev(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_true(args.props.get("enabled")):
        report(
            f"R2 managed domain '{args.name}' turns on the public r2.dev URL for bucket "
            f"{args.props.get('bucketName')}, which bypasses the zone's WAF, rate limits and TLS settings; "
            "set enabled=False and serve through a custom domain.",
            None,
        )


def _custom_domain_tls(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumVersion"]
    value = args.props.get("minTls")
    if value not in TLS_VERSIONS or TLS_VERSIONS.index(value) < TLS_VERSIONS.index(minimum):
        shown = "unset (Cloudflare's default 1.0)" if value is None else value
        report(
            f"R2 custom domain '{args.name}' allows TLS {shown}; set min_tls to one of "
            f"{listing(TLS_VERSIONS[TLS_VERSIONS.index(minimum) :])}.",
            None,
        )


def _r2_abort_uploads(args: StackValidationArgs, report: ReportViolation) -> None:
    lifecycles = of_type(args.resources, R2_LIFECYCLE)
    for bucket in of_type(args.resources, R2_BUCKET):
        aborting = [
            rule
            for lifecycle in attached(bucket, lifecycles, "bucketName", "name")
            for rule in items(lifecycle.props.get("rules"))
            if is_true(rule.get("enabled")) and mapping(rule.get("abortMultipartUploadsTransition"))
        ]
        if not aborting:
            report(
                f"R2 bucket '{bucket.name}' keeps incomplete multipart uploads forever; add an enabled "
                "R2BucketLifecycle rule with abort_multipart_uploads_transition.",
                bucket.urn,
            )


def _proxied(args: ResourceValidationArgs, report: ReportViolation) -> None:
    name = str(args.props.get("name", ""))
    if args.props.get("type") not in PROXIABLE or name.startswith("_"):
        return
    if name in args.get_config()["allowUnproxied"]:
        return
    if not is_true(args.props.get("proxied")):
        report(
            f"DNS record '{args.name}' ({args.props.get('type')} {name}) is not proxied, so it publishes the origin "
            "and bypasses the WAF and rate limits; set proxied=True.",
            None,
        )


TLS_CONFIG = {"minimumVersion": {"type": "string", "enum": TLS_VERSIONS, "default": "1.2"}}

POLICIES: list[Policy] = [
    resource_policy(
        "cloudflare-zonesetting-require-min-tls-version",
        "Cloudflare zones must refuse old TLS versions.",
        [ZONE_SETTING],
        _min_tls,
        TLS_CONFIG,
    ),
    resource_policy(
        "cloudflare-zonesetting-enable-always-use-https",
        "Cloudflare zones must redirect HTTP to HTTPS.",
        [ZONE_SETTING],
        _always_https,
    ),
    resource_policy(
        "cloudflare-zonesetting-require-ssl-strict",
        "Cloudflare zones must verify the origin's certificate (SSL mode strict).",
        [ZONE_SETTING],
        _ssl_strict,
    ),
    resource_policy(
        "cloudflare-zonesetting-enable-tls-1-3",
        "Cloudflare zones must offer TLS 1.3 (without 0-RTT).",
        [ZONE_SETTING],
        _tls_1_3,
    ),
    resource_policy(
        "cloudflare-zonesetting-enable-hsts",
        "Cloudflare zones must send a long-lived HSTS header with nosniff.",
        [ZONE_SETTING],
        _hsts,
        {
            "minimumMaxAgeSeconds": {"type": "integer", "minimum": 0, "default": 15552000},
            "includeSubdomains": {"type": "boolean", "default": True},
        },
    ),
    StackValidationPolicy(
        name="cloudflare-zone-require-tls-settings",
        description="Every Cloudflare zone the program touches must declare its TLS, HTTPS and HSTS settings.",
        validate=_zone_settings,
        config_schema=PolicyConfigSchema(
            properties={
                "requiredSettings": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": ZONE_SETTINGS,
                }
            }
        ),
    ),
    resource_policy(
        "cloudflare-ruleset-disallow-log-only-rules",
        "Cloudflare ruleset rules must enforce, not only log.",
        [RULESET],
        _log_only,
    ),
    resource_policy(
        "cloudflare-ruleset-disallow-disabled-rules",
        "Cloudflare ruleset rules must not be switched off.",
        [RULESET],
        _disabled,
    ),
    StackValidationPolicy(
        name="cloudflare-zone-require-rulesets",
        description="Every Cloudflare zone must keep a ruleset in each phase the stack's policy config requires.",
        validate=_required_rulesets,
        config_schema=PolicyConfigSchema(
            properties={"requiredPhases": {"type": "array", "items": {"type": "string"}, "default": ["http_ratelimit"]}}
        ),
    ),
    resource_policy(
        "cloudflare-r2bucketcors-require-https-origins",
        "R2 bucket CORS rules must allow only HTTPS origins.",
        [R2_BUCKET_CORS],
        _cors_https,
    ),
    resource_policy(
        "cloudflare-r2manageddomain-disallow-public-dev-url",
        "R2 buckets must not be public through their r2.dev development URL.",
        [R2_MANAGED_DOMAIN],
        _r2_dev,
    ),
    resource_policy(
        "cloudflare-r2customdomain-require-min-tls-version",
        "R2 custom domains must refuse old TLS versions.",
        [R2_CUSTOM_DOMAIN],
        _custom_domain_tls,
        TLS_CONFIG,
    ),
    StackValidationPolicy(
        name="cloudflare-r2bucket-require-abort-multipart-uploads",
        description="Every R2 bucket must abort incomplete multipart uploads through a lifecycle rule.",
        validate=_r2_abort_uploads,
    ),
    resource_policy(
        "cloudflare-dnsrecord-require-proxied",
        "A, AAAA and CNAME records must go through Cloudflare's proxy.",
        DNS_RECORDS,
        _proxied,
        {"allowUnproxied": {"type": "array", "items": {"type": "string"}, "default": []}},
    ),
]
