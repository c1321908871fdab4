"""``scaleplan:edge``: the Cloudflare zone in front of the application, and R2 object storage.

Plan-dependent limits (rate-limiting rule budget, counting periods, mitigation timeouts,
minimum cache TTLs) come from Cloudflare's documentation and are checked here against the
zone plan the stack file states, so a phase that its plan cannot run is refused before
``pulumi up`` gets a 400 from the API.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, model_validator

from infra.config.base import ConfigModel
from infra.config.errors import field_error


class ZonePlan(enum.StrEnum):
    """The zone's Cloudflare plan: the ``rate_plan.id`` of its subscription."""

    FREE = "free"
    PRO = "pro"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class PlanLimits:
    rate_limit_rules: int
    """Rate limiting rules a zone may have."""
    max_period_seconds: int
    """Longest counting period of a rate limiting rule."""
    max_mitigation_timeout_seconds: int
    """Longest time a rate limiting rule keeps acting after it triggers."""
    min_cache_ttl_seconds: int
    """Shortest edge or browser TTL a cache rule may set."""


PLAN_LIMITS: dict[ZonePlan, PlanLimits] = {
    # developers.cloudflare.com/waf/rate-limiting-rules/ (availability by plan; cloudflare-docs
    # src/content/partials/waf/rate-limiting-availability-by-plan.mdx @07acbb66) and
    # developers.cloudflare.com/cache/how-to/edge-browser-cache-ttl/ (minimum TTL, cache rules).
    ZonePlan.FREE: PlanLimits(
        rate_limit_rules=1, max_period_seconds=10, max_mitigation_timeout_seconds=10, min_cache_ttl_seconds=7200
    ),
    ZonePlan.PRO: PlanLimits(
        rate_limit_rules=2, max_period_seconds=60, max_mitigation_timeout_seconds=3600, min_cache_ttl_seconds=3600
    ),
    ZonePlan.BUSINESS: PlanLimits(
        rate_limit_rules=5, max_period_seconds=600, max_mitigation_timeout_seconds=86400, min_cache_ttl_seconds=1
    ),
    ZonePlan.ENTERPRISE: PlanLimits(
        rate_limit_rules=100, max_period_seconds=65535, max_mitigation_timeout_seconds=86400, min_cache_ttl_seconds=1
    ),
}

RATE_LIMIT_PERIODS_SECONDS = (
    10, 15, 20, 30, 40, 45, 60, 90, 120, 180, 240, 300, 480, 600, 900, 1200, 1800, 2400, 3600, 65535, 86400,
)  # fmt: skip
"""The counting periods and mitigation timeouts the ruleset API accepts (same doc, footnote 3)."""

MAX_CACHE_TTL_SECONDS = 31_536_000
"""One year: the longest edge or browser TTL a cache rule takes."""

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


class Role(enum.StrEnum):
    """The application's user roles (seed 002: 60/200/500/1000 requests a minute)."""

    ANONYMOUS = "anonymous"
    AUTHENTICATED = "authenticated"
    PRO = "pro"
    OPERATOR = "operator"


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
    edge_ttl_seconds: Annotated[int, Field(ge=1, le=MAX_CACHE_TTL_SECONDS)]
    browser_ttl_seconds: Annotated[int, Field(ge=1, le=MAX_CACHE_TTL_SECONDS)]


class RoleRateLimit(ConfigModel):
    """The edge ceiling for one role: requests per client IP per period on the role's routes.

    Below Enterprise, Cloudflare counts only by IP and matches only URI fields, so the edge
    tells roles apart by the routes each uses; per-user limits stay with the application.
    """

    path_prefixes: Annotated[list[PathPrefix], Field(min_length=1)]
    requests_per_period: Annotated[int, Field(ge=1, le=1_000_000)]
    period_seconds: int
    mitigation_timeout_seconds: int
    action: RateLimitAction = RateLimitAction.BLOCK


class EdgeConfig(ConfigModel):
    """The Cloudflare account and zone, R2 buckets, TLS settings, cache and rate-limiting rules."""

    account_id: str
    """32 hex digits: the Cloudflare account that owns the R2 buckets."""
    zone_id: str
    """32 hex digits: the existing zone (created and delegated outside this program)."""
    zone_name: str
    zone_plan: ZonePlan
    media_domain: str
    """Public hostname of the ``media`` bucket, inside ``zone_name``."""
    min_tls_version: TlsVersion = TlsVersion.TLS_1_2
    hsts_max_age_seconds: Annotated[int, Field(ge=86400, le=63_072_000)] = 31_536_000
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False
    cors: CorsConfig
    buckets: Annotated[dict[Key, BucketConfig], Field(min_length=1)]
    cache_ttls: dict[Key, CacheClass] = Field(default_factory=dict)
    """Edge TTLs by path class."""
    rate_limits: dict[Role, RoleRateLimit] = Field(default_factory=dict)

    @property
    def limits(self) -> PlanLimits:
        return PLAN_LIMITS[self.zone_plan]

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
        hosts = {"media_domain": self.media_domain}
        hosts.update({f"cache_ttls.{key}.hostname": c.hostname for key, c in self.cache_ttls.items()})
        for path, host in hosts.items():
            if _HOSTNAME.fullmatch(host) is None or not (host == self.zone_name or host.endswith(f".{self.zone_name}")):
                raise field_error(path, f"must be a hostname in zone {self.zone_name!r} (got {host!r})")
        if "media" not in self.buckets:
            raise field_error("buckets", f"needs a 'media' bucket to serve media_domain {self.media_domain!r} from")
        return self

    @model_validator(mode="after")
    def _paths(self) -> EdgeConfig:
        prefixes = [(f"cache_ttls.{k}", c.path_prefixes) for k, c in self.cache_ttls.items()]
        prefixes += [(f"rate_limits.{r.value}", limit.path_prefixes) for r, limit in self.rate_limits.items()]
        for path, values in prefixes:
            for index, prefix in enumerate(values):
                if _PATH_PREFIX.fullmatch(prefix) is None:
                    raise field_error(
                        f"{path}.path_prefixes.{index}",
                        f"must start and end with '/' and use only URL-safe characters, such as /api/ (got {prefix!r})",
                    )
        seen: dict[str, Role] = {}
        for role, limit in self.rate_limits.items():
            for prefix in limit.path_prefixes:
                if prefix in seen:
                    raise field_error(
                        f"rate_limits.{role.value}.path_prefixes",
                        f"{prefix!r} is already metered by role {seen[prefix].value!r}; a route belongs to one role",
                    )
                seen[prefix] = role
        return self

    @model_validator(mode="after")
    def _cache_ttls_fit_the_plan(self) -> EdgeConfig:
        minimum = self.limits.min_cache_ttl_seconds
        for key, cache in self.cache_ttls.items():
            for name in ("edge_ttl_seconds", "browser_ttl_seconds"):
                value = getattr(cache, name)
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
            roles = ", ".join(role.value for role in self.rate_limits)
            raise field_error(
                "rate_limits",
                f"the {plan} plan allows {limits.rate_limit_rules} rate limiting rule(s), not "
                f"{len(self.rate_limits)} (got {roles}); drop roles or move the zone to a higher zone_plan",
            )
        checks = (
            ("period_seconds", limits.max_period_seconds),
            ("mitigation_timeout_seconds", limits.max_mitigation_timeout_seconds),
        )
        for role, limit in self.rate_limits.items():
            for name, longest in checks:
                value = getattr(limit, name)
                allowed = [p for p in RATE_LIMIT_PERIODS_SECONDS if p <= longest]
                if value not in allowed:
                    raise field_error(
                        f"rate_limits.{role.value}.{name}",
                        f"must be one of {', '.join(map(str, allowed))} on the {plan} plan (got {value})",
                    )
        return self
