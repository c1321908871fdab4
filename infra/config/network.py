"""``scaleplan:network``: the VPC, its three tiers of subnets and how they reach out."""

from __future__ import annotations

import enum
from ipaddress import IPv4Network
from typing import Annotated

from pydantic import Field, model_validator

from infra.config.base import ConfigModel
from infra.config.errors import field_error
from infra.network.cidr import SubnetPlanError, plan_subnets

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API reference).
DOCUMENTATION_NETWORKS = (IPv4Network("192.0.2.0/24"), IPv4Network("198.51.100.0/24"), IPv4Network("203.0.113.0/24"))
"""TEST-NET-1, -2 and -3 (RFC 5737): address ranges for documentation, never routed. Stack
files use them where only an environment knows the real range (a deployment runner's
network); ``infra/config/placeholders.py`` refuses them before a real deployment."""


def is_documentation_network(network: IPv4Network) -> bool:
    return any(network.subnet_of(documented) for documented in DOCUMENTATION_NETWORKS)


LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

AvailabilityZone = Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$")]


class NatStrategy(enum.StrEnum):
    """How private subnets reach the internet (the awsx vocabulary)."""

    NONE = "none"
    SINGLE = "single"
    """One NAT gateway in the first AZ: cheap, but an AZ outage cuts egress for all."""
    ONE_PER_AZ = "one_per_az"
    """A NAT gateway per AZ, each private subnet routed through its own AZ's."""


class InterfaceEndpoint(enum.StrEnum):
    """AWS services reachable over PrivateLink from the private subnets, without NAT."""

    SECRETSMANAGER = "secretsmanager"
    KMS = "kms"
    STS = "sts"
    LOGS = "logs"
    MONITORING = "monitoring"
    ECR_API = "ecr.api"
    ECR_DKR = "ecr.dkr"
    SSM = "ssm"
    SSMMESSAGES = "ssmmessages"
    EC2MESSAGES = "ec2messages"
    EKS = "eks"
    ELASTICLOADBALANCING = "elasticloadbalancing"
    AUTOSCALING = "autoscaling"


class FlowLogTraffic(enum.StrEnum):
    ALL = "ALL"
    REJECT = "REJECT"
    ACCEPT = "ACCEPT"


class SubnetPrefixLengths(ConfigModel):
    """Prefix length of each tier's subnet in every AZ (smaller number = bigger subnet)."""

    public: Annotated[int, Field(ge=16, le=28)]
    private: Annotated[int, Field(ge=16, le=28)]
    """Compute tier: EKS pods take one VPC address each, so this is the big one."""
    isolated: Annotated[int, Field(ge=16, le=28)]
    """Data tier: no route to the internet at all."""


class FlowLogsConfig(ConfigModel):
    retention_days: int
    traffic_type: FlowLogTraffic = FlowLogTraffic.ALL

    @model_validator(mode="after")
    def _retention_is_a_cloudwatch_value(self) -> FlowLogsConfig:
        if self.retention_days not in LOG_RETENTION_DAYS:
            raise field_error(
                "retention_days",
                f"must be a CloudWatch Logs retention period, one of {', '.join(map(str, LOG_RETENTION_DAYS))} "
                f"(got {self.retention_days})",
            )
        return self


class NetworkConfig(ConfigModel):
    vpc_cidr: IPv4Network
    availability_zones: Annotated[tuple[AvailabilityZone, ...], Field(min_length=3, max_length=3)]
    """Named, not looked up, so that a plan is the same on every machine."""
    subnet_prefix_lengths: SubnetPrefixLengths
    nat_strategy: NatStrategy
    """``none`` is refused unless the phase names the risk ``no_nat_gateway`` under
    ``scaleplan:accepted_risks`` (infra/config/risks.py)."""
    interface_endpoints: tuple[InterfaceEndpoint, ...] = ()
    flow_logs: FlowLogsConfig

    @model_validator(mode="after")
    def _zones_are_distinct(self) -> NetworkConfig:
        if len(set(self.availability_zones)) != len(self.availability_zones):
            raise field_error(
                "availability_zones", f"must name three different zones (got {list(self.availability_zones)})"
            )
        if len(set(self.interface_endpoints)) != len(self.interface_endpoints):
            raise field_error("interface_endpoints", "lists a service twice")
        return self

    @model_validator(mode="after")
    def _vpc_is_private_and_sized(self) -> NetworkConfig:
        if not self.vpc_cidr.is_private:
            raise field_error("vpc_cidr", f"must be an RFC 1918 private range (got {self.vpc_cidr})")
        if not 16 <= self.vpc_cidr.prefixlen <= 24:
            raise field_error(
                "vpc_cidr", f"prefix length must be between /16 and /24, as AWS allows (got {self.vpc_cidr})"
            )
        return self

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkConfig:
        try:
            plan_subnets(self.vpc_cidr, self.availability_zones, self.subnet_prefix_lengths.model_dump())
        except SubnetPlanError as exc:
            raise field_error("subnet_prefix_lengths", str(exc)) from exc
        return self
