"""Cloudflare: zones demand modern TLS and HTTPS; R2 CORS trusts only HTTPS origins."""

from __future__ import annotations

from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import items, listing, mapping, resource_policy

ZONE = "cloudflare:index/zone:Zone"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
R2_BUCKET_CORS = "cloudflare:index/r2BucketCors:R2BucketCors"
TLS_VERSIONS = ["1.0", "1.1", "1.2", "1.3"]
MIN_TLS = "min_tls_version"
ALWAYS_HTTPS = "always_use_https"


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


def _zone_settings(args: StackValidationArgs, report: ReportViolation) -> None:
    settings = [r for r in args.resources if r.resource_type == ZONE_SETTING]
    for zone in (r for r in args.resources if r.resource_type == ZONE):
        zone_id = zone.props.get("id")
        declared = {
            s.props.get("settingId")
            for s in settings
            if zone.urn in {d.urn for d in s.property_dependencies.get("zoneId", [])}
            or (zone_id and s.props.get("zoneId") == zone_id)
        }
        missing = [s for s in (MIN_TLS, ALWAYS_HTTPS) if s not in declared]
        if missing:
            report(
                f"Zone '{zone.name}' leaves {listing(missing)} at Cloudflare's defaults; "
                "declare a ZoneSetting for each.",
                zone.urn,
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


POLICIES: list[Policy] = [
    resource_policy(
        "cloudflare-zonesetting-require-min-tls-version",
        "Cloudflare zones must refuse old TLS versions.",
        [ZONE_SETTING],
        _min_tls,
        {"minimumVersion": {"type": "string", "enum": TLS_VERSIONS, "default": "1.2"}},
    ),
    resource_policy(
        "cloudflare-zonesetting-enable-always-use-https",
        "Cloudflare zones must redirect HTTP to HTTPS.",
        [ZONE_SETTING],
        _always_https,
    ),
    StackValidationPolicy(
        name="cloudflare-zone-require-tls-settings",
        description="Every Cloudflare zone must declare its minimum TLS version and always-use-HTTPS.",
        validate=_zone_settings,
    ),
    resource_policy(
        "cloudflare-r2bucketcors-require-https-origins",
        "R2 bucket CORS rules must allow only HTTPS origins.",
        [R2_BUCKET_CORS],
        _cors_https,
    ),
]
