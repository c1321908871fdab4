"""``scaleplan:load_balancer``: the public Application Load Balancer in front of the application."""

from __future__ import annotations

import enum
from typing import Annotated

from pydantic import Field, model_validator

from infra.config.base import ConfigModel
from infra.config.errors import field_error

Port = Annotated[int, Field(ge=1, le=65535)]
Weight = Annotated[int, Field(ge=0, le=100)]

CERTIFICATE_ARN_PATTERN = (
    r"^arn:aws(-[a-z]+)*:acm:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:certificate/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$"
)
"""An ACM certificate ARN: partition, region, 12-digit account and the certificate UUID."""


class TlsPolicy(enum.StrEnum):
    """ALB security policies that negotiate TLS 1.2 or newer only (no TLS 1.0/1.1, no CBC-SHA1 in the FS ones)."""

    TLS13_1_2_2021_06 = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    """TLS 1.3 and 1.2: AWS's recommended policy for new listeners."""
    TLS13_1_2_RES_2021_06 = "ELBSecurityPolicy-TLS13-1-2-Res-2021-06"
    """TLS 1.3 and 1.2 with only the strongest (AEAD, forward-secret) 1.2 ciphers."""
    TLS13_1_3_2021_06 = "ELBSecurityPolicy-TLS13-1-3-2021-06"
    """TLS 1.3 only."""
    FS_1_2_RES_2020_10 = "ELBSecurityPolicy-FS-1-2-Res-2020-10"
    """TLS 1.2 only, forward-secret AEAD ciphers."""


class Slot(enum.StrEnum):
    """The two target groups of a blue/green deployment. Stable keys: logical names derive from them."""

    BLUE = "blue"
    GREEN = "green"


class TrafficWeights(ConfigModel):
    """Percent of requests the HTTPS listener forwards to each slot's target group.

    A gradual rollout moves these in steps (green 5 -> 25 -> 50 -> 100) with one ``pulumi up`` each.
    """

    blue: Weight
    green: Weight

    @model_validator(mode="after")
    def _percentages(self) -> TrafficWeights:
        if self.blue == 0 and self.green == 0:
            raise field_error(
                "", "at least one slot needs a weight above 0, or the listener forwards nothing (got 0/0)"
            )
        if self.blue + self.green != 100:
            raise field_error("", f"are percentages and must add up to 100 (got blue {self.blue} + green {self.green})")
        return self

    def of(self, slot: Slot) -> int:
        return self.blue if slot is Slot.BLUE else self.green

    def live_slots(self) -> tuple[Slot, ...]:
        """Slots that receive traffic, in enum order."""
        return tuple(slot for slot in Slot if self.of(slot) > 0)


class BackendWeights(ConfigModel):
    """Percent of requests to each backend while the application moves from the Auto Scaling
    group to EKS, with ``scaleplan:compute`` holding both ``auto_scaling_group`` and ``node_pools``.

    The move keeps serving: both backends stay registered behind the HTTPS listener, and these
    weights shift requests from the instances to the pods one ``pulumi up`` at a time
    (docs/request-path.md, "Moving from the Auto Scaling group to EKS").
    """

    auto_scaling_group: Weight
    node_pools: Weight

    @model_validator(mode="after")
    def _percentages(self) -> BackendWeights:
        if self.auto_scaling_group + self.node_pools != 100:
            raise field_error(
                "",
                f"are percentages and must add up to 100 (got auto_scaling_group {self.auto_scaling_group} + "
                f"node_pools {self.node_pools})",
            )
        return self


class HealthCheckConfig(ConfigModel):
    """How the target groups decide a target is healthy (and the ASG replaces it when not)."""

    path: Annotated[str, Field(pattern=r"^/[A-Za-z0-9._~/-]*$", max_length=1024)]
    matcher: Annotated[str, Field(pattern=r"^[1-5]\d\d(-[1-5]\d\d)?(,[1-5]\d\d(-[1-5]\d\d)?)*$")] = "200-299"
    interval_seconds: Annotated[int, Field(ge=5, le=300)] = 15
    timeout_seconds: Annotated[int, Field(ge=2, le=120)] = 5
    healthy_threshold: Annotated[int, Field(ge=2, le=10)] = 3
    unhealthy_threshold: Annotated[int, Field(ge=2, le=10)] = 3

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> HealthCheckConfig:
        if self.timeout_seconds >= self.interval_seconds:
            raise field_error(
                "timeout_seconds",
                f"must be less than interval_seconds ({self.interval_seconds}) (got {self.timeout_seconds})",
            )
        return self


class AccessLogsConfig(ConfigModel):
    """Where the ALB writes its access logs. On by default; turning them off is a named choice."""

    enabled: bool = True
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """Objects in the log bucket this program creates expire after this many days."""
    existing_bucket_name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")] | None = None
    """Write to this bucket (its policy must already let ELB log delivery write) instead of creating one."""


class LoadBalancerConfig(ConfigModel):
    certificate_arn: Annotated[str, Field(pattern=CERTIFICATE_ARN_PATTERN)]
    """ACM certificate the HTTPS listener serves; must be in the environment's region."""
    tls_policy: TlsPolicy = TlsPolicy.TLS13_1_2_2021_06
    target_port: Port
    """Port the application listens on in instances (host port) or pods; target groups forward to it."""
    health_check: HealthCheckConfig
    weights: TrafficWeights
    backend_weights: BackendWeights | None = None
    """Only while ``scaleplan:compute`` has both the Auto Scaling group and node pools: the share
    of each (the root model requires it then and refuses it otherwise)."""
    deletion_protection: bool = True
    drop_invalid_header_fields: bool = True
    """Drops headers that are not valid HTTP (request-smuggling defense). Turning off is a named choice."""
    idle_timeout_seconds: Annotated[int, Field(ge=1, le=4000)] = 60
    deregistration_delay_seconds: Annotated[int, Field(ge=0, le=3600)] = 30
    """How long a draining target keeps in-flight requests during a deploy or scale-in."""
    access_logs: AccessLogsConfig = AccessLogsConfig()


__all__ = ["BackendWeights", "LoadBalancerConfig", "Slot", "TlsPolicy", "TrafficWeights"]
