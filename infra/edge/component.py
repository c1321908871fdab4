"""The Cloudflare edge: R2 buckets with a CDN domain, zone TLS settings, cache and rate-limiting rules."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from infra.config.edge import EdgeConfig
from infra.edge import rules
from infra.naming import Service, physical_name


@dataclass(frozen=True, kw_only=True)
class EdgeArgs:
    config: EdgeConfig
    environment: str
    """``scaleplan:environment.name``: bucket names derive from it."""


class Edge(pulumi.ComponentResource):
    """Everything the phase declares on Cloudflare, in an existing account and zone.

    - One private R2 bucket per ``buckets`` key, ``protect``ed, with the r2.dev URL disabled,
      a CORS policy for the configured https origins and a lifecycle (incomplete multipart
      uploads aborted; optional Infrequent Access transition and expiry).
    - ``media_domain`` serving the ``media`` bucket through the zone's CDN, TLS >= the zone's minimum.
    - The zone's plan (subscription), and its settings: minimum TLS (default 1.2), TLS 1.3 on,
      Always Use HTTPS, Full (strict) origin TLS, HSTS.
    - A cache-rules ruleset (edge and browser TTLs per path class) and a rate-limiting ruleset
      (one rule per role), each when the config has rules for it.

    Children use the provider passed in ``opts``; create it once in the composition module.
    """

    buckets: dict[str, cloudflare.R2Bucket]
    """Buckets by purpose (``media``, ``documents``)."""
    bucket_names: dict[str, pulumi.Output[str]]
    """Physical bucket names by purpose."""
    media_hostname: pulumi.Output[str]
    """Public CDN hostname of the media bucket."""

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:edge:Edge", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)

        self.buckets = {}
        for purpose, bucket_config in config.buckets.items():
            bucket = cloudflare.R2Bucket(
                f"{name}-{purpose}",
                account_id=config.account_id,
                name=physical_name(args.environment, purpose, service=Service.R2_BUCKET),
                location=bucket_config.location_hint.value,
                storage_class=bucket_config.storage_class.value,
                # Objects are the users' photos, videos and documents: never deleted by Pulumi.
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            cloudflare.R2ManagedDomain(
                f"{name}-{purpose}-r2-dev",
                account_id=config.account_id,
                bucket_name=bucket.name,
                enabled=False,  # no public r2.dev URL: reads go through the zone (TLS, cache, WAF)
                opts=child,
            )
            cloudflare.R2BucketCors(
                f"{name}-{purpose}-cors",
                account_id=config.account_id,
                bucket_name=bucket.name,
                rules=rules.cors_rules(config),
                opts=child,
            )
            cloudflare.R2BucketLifecycle(
                f"{name}-{purpose}-lifecycle",
                account_id=config.account_id,
                bucket_name=bucket.name,
                rules=rules.lifecycle_rules(bucket_config),
                opts=child,
            )
            self.buckets[purpose] = bucket
        self.bucket_names = {purpose: bucket.name for purpose, bucket in self.buckets.items()}

        media_domain = cloudflare.R2CustomDomain(
            f"{name}-media-domain",
            account_id=config.account_id,
            bucket_name=self.buckets["media"].name,
            zone_id=config.zone_id,
            domain=config.media_domain,
            enabled=True,
            min_tls=config.min_tls_version.value,
            opts=child,
        )
        self.media_hostname = media_domain.domain

        cloudflare.ZoneSubscription(
            f"{name}-plan",
            zone_id=config.zone_id,
            rate_plan={"id": config.zone_plan.value},
            opts=child,
        )
        for setting_id, value in rules.zone_settings(config).items():
            cloudflare.ZoneSetting(
                f"{name}-{setting_id.replace('_', '-')}",
                zone_id=config.zone_id,
                setting_id=setting_id,
                value=value,
                opts=child,
            )

        if config.cache_ttls:
            cloudflare.Ruleset(
                f"{name}-cache-rules",
                zone_id=config.zone_id,
                kind="zone",
                phase="http_request_cache_settings",
                name=f"{args.environment} cache rules",
                description="Edge and browser TTLs per path class (scaleplan:edge.cache_ttls)",
                rules=rules.cache_rules(config.cache_ttls),
                opts=child,
            )
        if config.rate_limits:
            cloudflare.Ruleset(
                f"{name}-rate-limits",
                zone_id=config.zone_id,
                kind="zone",
                phase="http_ratelimit",
                name=f"{args.environment} rate limits",
                description="Per-IP ceilings per role (scaleplan:edge.rate_limits)",
                rules=rules.rate_limit_rules(config.rate_limits),
                opts=child,
            )

        self.register_outputs(
            {
                "media_hostname": self.media_hostname,
                **{f"{purpose}_bucket_name": bucket_name for purpose, bucket_name in self.bucket_names.items()},
            }
        )
