"""The phase configuration: one validated model for everything a stack file says.

Each concern is one structured key in the ``scaleplan:`` namespace and one sub-model
(``scaleplan:network`` -> :class:`NetworkConfig`). Phases differ only by what their stack
files say; nothing in the code branches on the phase.
"""

from __future__ import annotations

from pydantic import model_validator

from infra.capacity import check_capacity, demand
from infra.catalog import ec2_instance_types
from infra.config.base import ConfigModel
from infra.config.budget import BudgetConfig
from infra.config.cache import CacheConfig
from infra.config.capacity import CapacityConfig
from infra.config.compute import ComputeConfig
from infra.config.database import DatabaseConfig
from infra.config.edge import EdgeConfig
from infra.config.eks import EksConfig
from infra.config.environment import EnvironmentConfig, Phase
from infra.config.errors import PhaseConfigError, field_error
from infra.config.load_balancer import LoadBalancerConfig
from infra.config.network import NetworkConfig
from infra.config.operations import OperationsConfig
from infra.config.pgbouncer import PgBouncerConfig
from infra.config.usage import UsageConfig
from infra.pgbouncer.budget import budget_problems

__all__ = ["Phase", "PhaseConfig", "PhaseConfigError"]


class PhaseConfig(ConfigModel):
    """Root model: one field per ``scaleplan:<key>`` in a stack file."""

    environment: EnvironmentConfig
    capacity: CapacityConfig
    budget: BudgetConfig
    network: NetworkConfig
    compute: ComputeConfig
    eks: EksConfig | None = None
    """The Kubernetes cluster; present exactly when ``compute.node_pools`` is."""
    load_balancer: LoadBalancerConfig
    database: DatabaseConfig
    cache: CacheConfig
    usage: UsageConfig
    edge: EdgeConfig
    """The Cloudflare account and zone, R2 buckets, zone TLS settings, cache and rate-limiting rules."""
    pgbouncer: PgBouncerConfig | None = None
    """The connection pooler on EKS; absent where the application connects to RDS directly."""
    operations: OperationsConfig
    """Alarm levels (warning, critical) of the signals watched, and the budget's scope."""

    @model_validator(mode="after")
    def _zones_in_region(self) -> PhaseConfig:
        region = self.environment.region
        for index, zone in enumerate(self.network.availability_zones):
            if zone[:-1] != region:
                raise field_error(
                    f"network.availability_zones.{index}",
                    f"zone {zone!r} is not in scaleplan:environment.region {region!r}",
                )
        return self

    @model_validator(mode="after")
    def _load_balancer_fits(self) -> PhaseConfig:
        certificate_region = self.load_balancer.certificate_arn.split(":")[3]
        if certificate_region != self.environment.region:
            raise field_error(
                "load_balancer.certificate_arn",
                f"must be an ACM certificate in scaleplan:environment.region {self.environment.region!r} "
                f"(got one in {certificate_region!r})",
            )
        group = self.compute.auto_scaling_group
        if group is not None:
            if group.container.port != self.load_balancer.target_port:
                raise field_error(
                    "compute.auto_scaling_group.container.port",
                    f"must equal scaleplan:load_balancer.target_port ({self.load_balancer.target_port}): the "
                    f"container uses the host network, so that it reaches IMDSv2 with hop limit 1 "
                    f"(got {group.container.port})",
                )
            for slot in self.load_balancer.weights.live_slots():
                if slot not in group.container.images:
                    raise field_error(
                        f"compute.auto_scaling_group.container.images.{slot.value}",
                        f"required: scaleplan:load_balancer.weights sends {self.load_balancer.weights.of(slot)}% "
                        f"of requests to {slot.value!r}, which would have no instances",
                    )
        return self

    @model_validator(mode="after")
    def _node_pools_have_a_cluster(self) -> PhaseConfig:
        if self.compute.node_pools and self.eks is None:
            pools = ", ".join(self.compute.node_pools)
            raise field_error(
                "compute.node_pools", f"need scaleplan:eks to run in, which is missing (got pools {pools})"
            )
        if self.eks is not None and not self.compute.node_pools:
            raise field_error(
                "eks", "a cluster with no scaleplan:compute.node_pools has nowhere to run pods; add pools"
            )
        return self

    @model_validator(mode="after")
    def _pgbouncer_fits_the_database(self) -> PhaseConfig:
        pgbouncer = self.pgbouncer
        if pgbouncer is None:
            return self
        if self.eks is None:
            raise field_error(
                "pgbouncer", "runs on EKS, but this phase has no scaleplan:eks; remove it or add a cluster"
            )
        if pgbouncer.read_only_pool is not None and self.database.read_replica_count == 0:
            raise field_error(
                "pgbouncer.read_only_pool",
                "pools connections to read replicas, but scaleplan:database.read_replica_count is 0; remove it",
            )
        pools = {
            name: ec2_instance_types()[pool.instance_types[0]].architecture
            for name, pool in self.compute.node_pools.items()
        }
        if pgbouncer.image_architecture.catalog_name not in pools.values():
            listed = ", ".join(f"{name} ({arch})" for name, arch in pools.items())
            raise field_error(
                "pgbouncer.image_architecture",
                f"no node pool runs {pgbouncer.image_architecture.value} (got pools {listed}); pin the image "
                "digest of an architecture a pool has",
            )
        # Replicas use the primary's instance class, hence the same budget.
        budget = self.database.connection_budget()
        problems = budget_problems(
            pgbouncer,
            primary_max_connections=budget.max_connections,
            replica_max_connections=budget.max_connections if self.database.read_replica_count else None,
            reserved_connections=budget.reserved,
        )
        if problems:
            path, message = problems[0]
            raise field_error(f"pgbouncer.{path}", message)
        return self

    @model_validator(mode="after")
    def _compute_serves_peak(self) -> PhaseConfig:
        check = check_capacity(self.capacity, self.compute.max_application_vcpus())
        if not check.passes:
            load = demand(self.capacity)
            raise field_error(
                "compute",
                f"at most {check.available_vcpus} application vCPUs cannot serve the peak of "
                f"{load.peak_requests_per_second:.0f} requests/s with headroom "
                f"{self.capacity.headroom_factor}: {check.required_vcpus} vCPUs are needed, "
                f"{check.shortfall_vcpus} short; raise max sizes or use larger instance types",
            )
        return self
