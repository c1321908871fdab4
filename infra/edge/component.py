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
    origin_dns_name: pulumi.Input[str] | None = None
    """The ALB's DNS name: the target of the application's proxied records (``config.origin``)."""


class Edge(pulumi.ComponentResource):
    """Everything the phase declares on Cloudflare, in an existing account and zone.

    - One private R2 bucket per ``buckets`` key (none without buckets), ``protect``ed, with the r2.dev URL disabled,
      a CORS policy for the configured https origins and a lifecycle (incomplete multipart
      uploads aborted; optional Infrequent Access transition and expiry).
    - ``media_domain`` serving the ``media`` bucket through the zone's CDN, and each bucket's
      ``custom_domain`` its own, TLS >= the zone's minimum.
    - The application's hostnames (``origin.hostnames``) as proxied CNAMEs to the ALB.
    - The zone's plan as a subscription when it is a paid one (a free zone has none), and the
      zone's settings: minimum TLS (default 1.2), TLS 1.3 on,
      Always Use HTTPS, Full (strict) origin TLS, HSTS.
    - A cache-rules ruleset (edge and browser TTLs per path class) and a rate-limiting ruleset
      (one rule per role), each when the config has rules for it, and the WAF managed rulesets
      (``waf``) in the ``http_request_firewall_managed`` phase.

    Children use the provider passed in ``opts``; create it once in the composition module.
    """

    buckets: dict[str, cloudflare.R2Bucket]
    """Buckets by purpose (``media``, ``documents``)."""
    bucket_names: dict[str, pulumi.Output[str]]
    """Physical bucket names by purpose."""
    media_hostname: pulumi.Output[str] | None
    """Public CDN hostname of the media bucket; None without one."""
    app_hostnames: dict[str, pulumi.Output[str]]
    """The application's proxied hostnames by key (empty when Cloudflare does not front the ALB)."""
    subscription: cloudflare.ZoneSubscription | None
    """The zone's paid plan; None on the free plan, which has no subscription to manage."""

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

        domains = {}
        for purpose, hostname in config.bucket_domains.items():
            domains[purpose] = cloudflare.R2CustomDomain(
                f"{name}-{purpose}-domain",
                account_id=config.account_id,
                bucket_name=self.buckets[purpose].name,
                zone_id=config.zone_id,
                domain=hostname,
                enabled=True,
                min_tls=config.min_tls_version.value,
                opts=child,
            )
        self.media_hostname = domains["media"].domain if "media" in domains else None

        self.app_hostnames = {}
        if config.origin is not None:
            if args.origin_dns_name is None:
                raise ValueError("EdgeArgs.origin_dns_name is required when the config has an origin")
            for key, hostname in config.origin.hostnames.items():
                record = cloudflare.DnsRecord(
                    f"{name}-{key}-dns",
                    zone_id=config.zone_id,
                    name=hostname,
                    type="CNAME",
                    content=args.origin_dns_name,
                    # Proxied: visitors resolve Cloudflare's addresses, never the ALB's, and every
                    # request passes the zone's TLS settings, WAF and rate limits. TTL 1 = automatic,
                    # the only TTL a proxied record takes.
                    proxied=True,
                    ttl=1,
                    comment=f"{args.environment}: the application through the zone (scaleplan:edge.origin)",
                    opts=child,
                )
                self.app_hostnames[key] = record.name

        self.subscription = None
        if config.zone_plan.is_paid:
            # A paid plan is this program's to buy (the token needs Billing Edit). A free zone
            # has no core subscription to manage: the API answers 1207 ("Add a core
            # subscription first"; pulumi-cloudflare#1550, terraform-provider-cloudflare#7083).
            self.subscription = cloudflare.ZoneSubscription(
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

        if config.waf is not None:
            cloudflare.Ruleset(
                f"{name}-waf-managed",
                zone_id=config.zone_id,
                kind="zone",
                phase="http_request_firewall_managed",
                name=f"{args.environment} WAF managed rulesets",
                description="Cloudflare managed rulesets on every request (scaleplan:edge.waf)",
                rules=rules.waf_managed_rules(config.waf),
                opts=child,
            )

        self.register_outputs(
            {
                "media_hostname": self.media_hostname,
                "app_hostnames": self.app_hostnames,
                **{f"{purpose}_bucket_name": bucket_name for purpose, bucket_name in self.bucket_names.items()},
            }
        )
