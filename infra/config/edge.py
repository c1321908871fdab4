"""``scaleplan:edge``: the Cloudflare zone in front of the application, and R2 object storage.

Plan-dependent limits (rate-limiting rule budget, counting periods, mitigation timeouts,
cache rule count and minimum TTLs, WAF managed rulesets) come from the dated catalog
``infra/catalog/cloudflare_plans.yaml`` and are checked here against the zone plan the stack
file states, so a phase that its plan cannot run is refused before ``pulumi up`` gets a 400
from the API.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from infra.catalog.cloudflare import PlanLimits, cloudflare_plans
from infra.config.base import ConfigModel
from infra.config.errors import field_error


class ZonePlan(enum.StrEnum):
    """The zone's Cloudflare plan: the ``rate_plan.id`` of its subscription."""

    FREE = "free"
    PRO = "pro"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"

    @property
    def is_paid(self) -> bool:
        """A paid plan is a subscription this program manages; ``free`` is the zone's state
        without one, so the stack file records it and nothing is created for it."""
        return self is not ZonePlan.FREE


_HEX32 = re.compile(r"[0-9a-f]{32}")
_HOSTNAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_PATH_PREFIX = re.compile(r"/([A-Za-z0-9._~-]+/)*")

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")]
"""A stable key (bucket purpose, cache class): logical and physical names derive from it."""
PathPrefix = Annotated[str, Field(min_length=1, max_length=200)]


class TlsVersion(enum.StrEnum):
    """Versions a zone may require as its minimum; 1.0 and 1.1 are not offered."""

    TLS_1_2 = "1.2"
    TLS_1_3 = "1.3"


class R2Location(enum.StrEnum):
    """R2 location hints (best effort, honoured only when a bucket is first created)."""

    APAC = "apac"
    EEUR = "eeur"
    ENAM = "enam"
    WEUR = "weur"
    WNAM = "wnam"
    OC = "oc"


class R2StorageClass(enum.StrEnum):
    STANDARD = "Standard"
    INFREQUENT_ACCESS = "InfrequentAccess"


class CorsMethod(enum.StrEnum):
    """Methods R2 CORS rules accept."""

    GET = "GET"
    HEAD = "HEAD"
    PUT = "PUT"
    POST = "POST"
    DELETE = "DELETE"


RATE_LIMIT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
"""A rate limit's name: the user's own (``anonymous``, ``pro``, ``partner_api``), 1-32 characters.

Free-form because every plan names its callers differently; limited to what a Cloudflare
rule ``ref`` (``ratelimit_<name>``), a Pulumi logical name and a report column all take as is.
"""


class RateLimitAction(enum.StrEnum):
    BLOCK = "block"
    MANAGED_CHALLENGE = "managed_challenge"


INFREQUENT_ACCESS_MINIMUM_DAYS = 30
"""R2 bills Infrequent Access objects for at least 30 days of storage."""


class BucketConfig(ConfigModel):
    """One R2 bucket and its lifecycle. Buckets are private: no r2.dev URL, ever."""

    location_hint: R2Location
    storage_class: R2StorageClass = R2StorageClass.STANDARD
    """Class of newly uploaded objects."""
    abort_multipart_uploads_after_days: Annotated[int, Field(ge=1, le=365)] = 7
    """Incomplete multipart uploads are billed storage until aborted."""
    infrequent_access_after_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    """Move objects to Infrequent Access this many days after upload; none: never."""
    expire_after_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    """Delete objects this many days after upload; none: keep them."""
    custom_domain: str | None = None
    """Public hostname in the zone serving this bucket through the CDN; none: private. The
    ``media`` bucket's is ``media_domain``."""

    @model_validator(mode="after")
    def _lifecycle(self) -> BucketConfig:
        transition = self.infrequent_access_after_days
        if transition is not None and self.storage_class is R2StorageClass.INFREQUENT_ACCESS:
            raise field_error(
                "infrequent_access_after_days",
                f"objects are already uploaded as InfrequentAccess (storage_class); remove it (got {transition})",
            )
        if transition is not None and self.expire_after_days is not None:
            earliest = transition + INFREQUENT_ACCESS_MINIMUM_DAYS
            if self.expire_after_days < earliest:
                raise field_error(
                    "expire_after_days",
                    f"must be >= {earliest}: objects moved to Infrequent Access on day {transition} are billed "
                    f"for at least {INFREQUENT_ACCESS_MINIMUM_DAYS} days (got {self.expire_after_days})",
                )
        return self


class CorsConfig(ConfigModel):
    """Which web origins may call the buckets from a browser (direct uploads, media reads)."""

    allowed_origins: Annotated[list[str], Field(min_length=1)]
    """``https://host`` origins only: no scheme other than https, no path, no wildcard."""
    allowed_methods: Annotated[list[CorsMethod], Field(min_length=1)]
    allowed_headers: list[str] = Field(default_factory=lambda: ["content-type"])
    expose_headers: list[str] = Field(default_factory=lambda: ["etag"])
    max_age_seconds: Annotated[int, Field(ge=0, le=86400)] = 3600

    @model_validator(mode="after")
    def _https_origins(self) -> CorsConfig:
        for index, origin in enumerate(self.allowed_origins):
            host = origin.removeprefix("https://")
            if not origin.startswith("https://") or _HOSTNAME.fullmatch(host) is None:
                raise field_error(
                    f"allowed_origins.{index}",
                    f"must be an https:// origin with a lowercase host and no path or wildcard, such as "
                    f"https://app.example.com (got {origin!r})",
                )
        return self


class CacheClass(ConfigModel):
    """One class of paths on one host, cached at the edge for a fixed time whatever the origin says."""

    hostname: str
    path_prefixes: Annotated[list[PathPrefix], Field(min_length=1)]
    """``/photos/`` matches every path under it; ``/`` matches the whole host."""
    edge_ttl_seconds: Annotated[int, Field(ge=1)]
    browser_ttl_seconds: Annotated[int, Field(ge=1)]
    """Both at most the catalog's ``max_cache_ttl_seconds`` (one year) and at least the plan's minimum."""


class RoleRateLimit(ConfigModel):
    """The edge ceiling for one named limit (a role, a client kind): requests per client IP per period on its routes.

    Below Enterprise, Cloudflare counts only by IP and matches only URI fields, so the edge
    tells roles apart by the routes each uses; per-user limits stay with the application.
    """

    path_prefixes: Annotated[list[PathPrefix], Field(min_length=1)]
    requests_per_period: Annotated[int, Field(ge=1, le=1_000_000)]
    period_seconds: int
    mitigation_timeout_seconds: int
    action: RateLimitAction = RateLimitAction.BLOCK


class ManagedRulesetKey(enum.StrEnum):
    """WAF managed rulesets this program can deploy (IDs and plans in the Cloudflare catalog)."""

    CLOUDFLARE_MANAGED = "cloudflare_managed"
    OWASP_CORE = "owasp_core"


class WafAction(enum.StrEnum):
    """What the OWASP ruleset does to a request whose anomaly score reaches the threshold."""

    BLOCK = "block"
    MANAGED_CHALLENGE = "managed_challenge"


class OwaspConfig(ConfigModel):
    """Tuning of the OWASP Core Ruleset through its scoring rule (949110)."""

    anomaly_score_threshold: Literal[25, 40, 60] = 40
    """Cloudflare's three sensitivities: 25 high, 40 medium, 60 low (fewer false positives)."""
    action: WafAction = WafAction.BLOCK


class WafConfig(ConfigModel):
    """WAF managed rulesets deployed on the zone (phase ``http_request_firewall_managed``)."""

    managed_rulesets: Annotated[list[ManagedRulesetKey], Field(min_length=1)]
    """In evaluation order; each needs a plan that includes it (Pro and up)."""
    owasp: OwaspConfig = Field(default_factory=OwaspConfig)

    @model_validator(mode="after")
    def _unique(self) -> WafConfig:
        seen: set[ManagedRulesetKey] = set()
        for index, key in enumerate(self.managed_rulesets):
            if key in seen:
                raise field_error(f"managed_rulesets.{index}", f"{key.value!r} is listed twice")
            seen.add(key)
        return self


class AlbIngress(enum.StrEnum):
    """Who may open connections to the ALB's listeners."""

    CLOUDFLARE = "cloudflare"
    """Cloudflare's published IPv4 ranges only, on 443 (infra/catalog/cloudflare_ips.yaml)."""
    INTERNET = "internet"
    """0.0.0.0/0 on 80 and 443: the zone's WAF, rate limits and TLS settings can be walked around."""


class OriginConfig(ConfigModel):
    """The application's hostnames, proxied by the zone to the ALB, and who else may reach the ALB."""

    hostnames: Annotated[dict[Key, str], Field(min_length=1)]
    """Stable key -> hostname in the zone; each a proxied CNAME to the ALB's DNS name."""
    alb_ingress: AlbIngress = AlbIngress.CLOUDFLARE
    accept_alb_open_to_internet: bool = False
    """The only way to keep ``alb_ingress: internet`` while Cloudflare fronts the ALB."""

    @model_validator(mode="after")
    def _closed_while_fronted(self) -> OriginConfig:
        if self.alb_ingress is AlbIngress.INTERNET and not self.accept_alb_open_to_internet:
            raise field_error(
                "alb_ingress",
                "must be 'cloudflare' while Cloudflare fronts the ALB (origin.hostnames): open to 0.0.0.0/0, "
                "anyone can call the ALB directly and walk around the zone's WAF, rate limits and TLS "
                "settings (got 'internet'); to accept that, also set accept_alb_open_to_internet: true",
            )
        if self.alb_ingress is AlbIngress.CLOUDFLARE and self.accept_alb_open_to_internet:
            raise field_error(
                "accept_alb_open_to_internet",
                "accepts an ALB open to the internet, but alb_ingress is 'cloudflare'; remove it",
            )
        return self


class EdgeConfig(ConfigModel):
    """The Cloudflare account and zone, R2 buckets, TLS settings, cache and rate-limiting rules."""

    account_id: str
    """32 hex digits: the Cloudflare account that owns the R2 buckets."""
    zone_id: str
    """32 hex digits: the existing zone (created and delegated outside this program)."""
    zone_name: str
    zone_plan: ZonePlan
    media_domain: str | None = None
    """Public hostname of the ``media`` bucket, inside ``zone_name``; set exactly when
    ``buckets`` has a ``media`` bucket."""
    min_tls_version: TlsVersion = TlsVersion.TLS_1_2
    hsts_max_age_seconds: Annotated[int, Field(ge=86400, le=63_072_000)] = 31_536_000
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False
    cors: CorsConfig | None = None
    """Browser access to the buckets; required when there are buckets, refused without any."""
    buckets: dict[Key, BucketConfig] = Field(default_factory=dict)
    """R2 buckets by purpose; none: the phase stores no media (no bucket, domain or R2 cost)."""
    cache_ttls: dict[Key, CacheClass] = Field(default_factory=dict)
    """Edge TTLs by path class."""
    rate_limits: dict[str, RoleRateLimit] = Field(default_factory=dict)
    """Edge ceilings by the plan's own names (``RATE_LIMIT_NAME``): roles, API clients, ..."""
    origin: OriginConfig | None = None
    """The application behind the ALB; none: Cloudflare does not front it (no records, ALB open)."""
    waf: WafConfig | None = None
    """WAF managed rulesets; none: only the Free Managed Ruleset Cloudflare deploys by itself."""

    @property
    def limits(self) -> PlanLimits:
        return cloudflare_plans().plans[self.zone_plan.value]

    @property
    def bucket_domains(self) -> dict[str, str]:
        """Bucket purpose -> public hostname, for the buckets served through the zone."""
        domains = {"media": self.media_domain} if "media" in self.buckets and self.media_domain is not None else {}
        domains.update({k: b.custom_domain for k, b in self.buckets.items() if b.custom_domain is not None})
        return domains

    @model_validator(mode="after")
    def _identifiers(self) -> EdgeConfig:
        for key in ("account_id", "zone_id"):
            value = getattr(self, key)
            if _HEX32.fullmatch(value) is None:
                raise field_error(
                    key,
                    f"must be 32 lowercase hex digits, as the Cloudflare dashboard shows it (got {value!r})",
                )
        if _HOSTNAME.fullmatch(self.zone_name) is None:
            raise field_error("zone_name", f"must be a lowercase domain name (got {self.zone_name!r})")
        return self

    @model_validator(mode="after")
    def _hosts_in_zone(self) -> EdgeConfig:
        hosts = {"media_domain": self.media_domain} if self.media_domain is not None else {}
        for key, bucket in self.buckets.items():
            if bucket.custom_domain is not None:
                hosts[f"buckets.{key}.custom_domain"] = bucket.custom_domain
        hosts.update({f"cache_ttls.{key}.hostname": c.hostname for key, c in self.cache_ttls.items()})
        if self.origin is not None:
            hosts.update({f"origin.hostnames.{key}": host for key, host in self.origin.hostnames.items()})
        for path, host in hosts.items():
            if _HOSTNAME.fullmatch(host) is None or not (host == self.zone_name or host.endswith(f".{self.zone_name}")):
                raise field_error(path, f"must be a hostname in zone {self.zone_name!r} (got {host!r})")
        # Each hostname is one DNS record in the zone: a bucket domain or an application host.
        owners: dict[str, str] = {}
        for path, host in hosts.items():
            if path.startswith("cache_ttls."):
                continue
            if host in owners:
                raise field_error(path, f"{host!r} is already used by {owners[host]}; a hostname serves one thing")
            owners[host] = path
        return self

    @model_validator(mode="after")
    def _buckets_are_served(self) -> EdgeConfig:
        """The media bucket and ``media_domain`` come together; CORS exactly when there are buckets."""
        if self.media_domain is not None and "media" not in self.buckets:
            raise field_error("buckets", f"needs a 'media' bucket to serve media_domain {self.media_domain!r} from")
        if "media" in self.buckets:
            if self.media_domain is None:
                raise field_error(
                    "media_domain", "required: buckets has a 'media' bucket, served through the zone at this hostname"
                )
            if self.buckets["media"].custom_domain is not None:
                raise field_error(
                    "buckets.media.custom_domain", "the media bucket is served at media_domain; remove it"
                )
        if self.buckets and self.cors is None:
            raise field_error(
                "cors", f"required: buckets {', '.join(self.buckets)} take browser uploads and reads from these origins"
            )
        if not self.buckets and self.cors is not None:
            raise field_error(
                "cors", "applies to the R2 buckets, and this phase has none (scaleplan:edge.buckets); remove it"
            )
        return self

    @model_validator(mode="after")
    def _rate_limit_names(self) -> EdgeConfig:
        for name in self.rate_limits:
            if RATE_LIMIT_NAME.fullmatch(name) is None:
                raise field_error(
                    f"rate_limits.{name}",
                    "a rate limit's name must be 1-32 characters of lowercase letters, digits and '_', "
                    f"starting with a letter, such as anonymous or partner_api (got {name!r})",
                )
        return self

    @model_validator(mode="after")
    def _paths(self) -> EdgeConfig:
        prefixes = [(f"cache_ttls.{k}", c.path_prefixes) for k, c in self.cache_ttls.items()]
        prefixes += [(f"rate_limits.{name}", limit.path_prefixes) for name, limit in self.rate_limits.items()]
        for path, values in prefixes:
            for index, prefix in enumerate(values):
                if _PATH_PREFIX.fullmatch(prefix) is None:
                    raise field_error(
                        f"{path}.path_prefixes.{index}",
                        f"must start and end with '/' and use only URL-safe characters, such as /api/ (got {prefix!r})",
                    )
        seen: dict[str, str] = {}
        for name, limit in self.rate_limits.items():
            for prefix in limit.path_prefixes:
                if prefix in seen:
                    raise field_error(
                        f"rate_limits.{name}.path_prefixes",
                        f"{prefix!r} is already metered by rate limit {seen[prefix]!r}; a route belongs to one limit",
                    )
                seen[prefix] = name
        return self

    @model_validator(mode="after")
    def _cache_ttls_fit_the_plan(self) -> EdgeConfig:
        limits = self.limits
        if len(self.cache_ttls) > limits.cache_rules:
            raise field_error(
                "cache_ttls",
                f"the {self.zone_plan.value} plan allows {limits.cache_rules} cache rules, not "
                f"{len(self.cache_ttls)}; merge classes or move the zone to a higher zone_plan",
            )
        minimum = limits.min_cache_ttl_seconds
        longest = cloudflare_plans().max_cache_ttl_seconds
        for key, cache in self.cache_ttls.items():
            for name in ("edge_ttl_seconds", "browser_ttl_seconds"):
                value = getattr(cache, name)
                if value > longest:
                    raise field_error(f"cache_ttls.{key}.{name}", f"must be <= {longest} (one year; got {value})")
                if value < minimum:
                    raise field_error(
                        f"cache_ttls.{key}.{name}",
                        f"must be >= {minimum} on the {self.zone_plan.value} plan (got {value}); "
                        "raise it or move the zone to a higher zone_plan",
                    )
        return self

    @model_validator(mode="after")
    def _rate_limits_fit_the_plan(self) -> EdgeConfig:
        limits = self.limits
        plan = self.zone_plan.value
        if len(self.rate_limits) > limits.rate_limit_rules:
            names = ", ".join(self.rate_limits)
            raise field_error(
                "rate_limits",
                f"the {plan} plan allows {limits.rate_limit_rules} rate limiting rule(s), not "
                f"{len(self.rate_limits)} (got {names}); drop limits or move the zone to a higher zone_plan",
            )
        checks = (
            ("period_seconds", limits.max_period_seconds),
            ("mitigation_timeout_seconds", limits.max_mitigation_timeout_seconds),
        )
        for limit_name, limit in self.rate_limits.items():
            for name, longest in checks:
                value = getattr(limit, name)
                allowed = [p for p in cloudflare_plans().period_values_seconds if p <= longest]
                if value not in allowed:
                    raise field_error(
                        f"rate_limits.{limit_name}.{name}",
                        f"must be one of {', '.join(map(str, allowed))} on the {plan} plan (got {value})",
                    )
        return self

    @model_validator(mode="after")
    def _waf_fits_the_plan(self) -> EdgeConfig:
        if self.waf is None:
            return self
        catalog = cloudflare_plans()
        for index, key in enumerate(self.waf.managed_rulesets):
            if key.value in self.limits.waf_managed_rulesets:
                continue
            needed = catalog.lowest_plan_with_ruleset(key.value)
            name = catalog.waf_managed_rulesets[key.value].name
            raise field_error(
                f"waf.managed_rulesets.{index}",
                f"the {name} ({key.value!r}) needs the {needed} plan or higher; zone_plan is "
                f"{self.zone_plan.value!r}: remove it or raise zone_plan",
            )
        return self
