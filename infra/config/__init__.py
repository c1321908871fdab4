"""The phase configuration: one validated model for everything a stack file says.

Each concern is one structured key in the ``scaleplan:`` namespace and one sub-model
(``scaleplan:network`` -> :class:`NetworkConfig`). Phases differ only by what their stack
files say; nothing in the code branches on the phase.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from infra.capacity import application_surplus_credit_vcpu_hours, average_vcpus, check_capacity, demand
from infra.catalog import ec2_instance_types
from infra.config.base import ConfigModel
from infra.config.budget import BudgetConfig
from infra.config.cache import CacheConfig
from infra.config.capacity import BurstSizing, CapacityConfig
from infra.config.compute import ComputeConfig
from infra.config.database import DatabaseConfig
from infra.config.edge import AlbIngress, EdgeConfig
from infra.config.eks import EksConfig
from infra.config.environment import EnvironmentConfig, PhaseName
from infra.config.errors import PhaseConfigError, field_error
from infra.config.load_balancer import LoadBalancerConfig
from infra.config.network import NatStrategy, NetworkConfig
from infra.config.operations import OperationsConfig
from infra.config.pgbouncer import PgBouncerConfig
from infra.config.risks import AcceptedRisk, AcceptedRisks, risk_problems
from infra.config.secrets import SecretsConfig
from infra.config.usage import UsageConfig
from infra.data_tier_capacity import (
    Requirement,
    cache_requirement,
    database_requirements,
    database_surplus_credit_vcpu_hours,
    pgbouncer_requirements,
)
from infra.naming import Service, physical_name
from infra.observability.recovery import assess_recovery
from infra.pgbouncer.budget import budget_problems
from infra.platform.autoscaling import autoscaling_problems

__all__ = ["AcceptedRisk", "PhaseConfig", "PhaseConfigError", "PhaseName"]


CACHE_SIGNALS = ("cache_hit_rate_percent", "cache_memory_percent", "cache_evictions_per_minute")
"""``scaleplan:operations`` levels that watch the cache: stated only where the phase has one."""
LOAD_BALANCER_SIGNALS = (
    "error_rate_percent",
    "response_time_p95_seconds",
    "response_time_p99_seconds",
    "load_balancer_error_rate_percent",
    "unhealthy_targets",
    "healthy_targets",
)
"""``scaleplan:operations`` levels read from the ALB's metrics: stated only where the phase has one."""
REQUIRED_LOAD_BALANCER_SIGNALS = ("error_rate_percent", "response_time_p95_seconds")


class PhaseConfig(ConfigModel):
    """Root model: one field per ``scaleplan:<key>`` in a stack file."""

    environment: EnvironmentConfig
    capacity: CapacityConfig
    budget: BudgetConfig
    network: NetworkConfig
    compute: ComputeConfig
    eks: EksConfig | None = None
    """The Kubernetes cluster; present exactly when ``compute.node_pools`` is."""
    load_balancer: LoadBalancerConfig | None = None
    """The ALB; absent where an Auto Scaling group is reached through a Cloudflare Tunnel instead
    (``scaleplan:edge.origin``), with no inbound port open at all."""
    database: DatabaseConfig
    cache: CacheConfig | None = None
    """The ElastiCache replication group; absent where the application keeps no cache (no
    cluster, AUTH-token secret, alarms or cost lines then)."""
    usage: UsageConfig
    edge: EdgeConfig
    """The Cloudflare account and zone, R2 buckets, zone TLS settings, cache and rate-limiting rules."""
    pgbouncer: PgBouncerConfig | None = None
    """The connection pooler on EKS; absent where the application connects to RDS directly."""
    operations: OperationsConfig
    """Alarm levels (warning, critical) of the signals watched, and the budget's scope."""
    secrets: SecretsConfig | None = None
    """The application's named credentials (Secrets Manager secrets; values put in out of band)."""
    accepted_risks: AcceptedRisks = Field(default_factory=dict)
    """Secure defaults this phase relaxes, each with the reason (see :mod:`infra.config.risks`)."""

    def accepts(self, risk: AcceptedRisk) -> bool:
        """Whether the stack file declares ``risk`` under ``scaleplan:accepted_risks``."""
        return risk in self.accepted_risks

    def uses_tunnel(self) -> bool:
        """Whether the zone reaches the application through a Cloudflare Tunnel: an Auto Scaling
        group with no load balancer, fronted by ``scaleplan:edge.origin``."""
        return (
            self.load_balancer is None and self.compute.auto_scaling_group is not None and self.edge.origin is not None
        )

    def application_port(self) -> int:
        """Where the application listens: the load balancer's target port, else the container's."""
        if self.load_balancer is not None:
            return self.load_balancer.target_port
        group = self.compute.auto_scaling_group
        if group is None:
            raise ValueError("a phase with no load balancer runs an Auto Scaling group (validated)")
        return group.container.port

    def application_secrets_prefix(self) -> str:
        """Secrets Manager name prefix of the application's own secrets: the EKS service
        account's when the phase has a cluster, else ``<environment>-app/``, which the Auto
        Scaling group's instances read."""
        if self.eks is not None:
            return self.eks.application.secrets_prefix
        return physical_name(self.environment.name, "app", service=Service.SECRET) + "/"

    @model_validator(mode="after")
    def _secrets_fit_the_application(self) -> PhaseConfig:
        if self.secrets is None:
            return self
        problems = self.secrets.outside_prefix(self.application_secrets_prefix())
        if problems:
            path, message = problems[0]
            raise field_error(f"secrets.{path}", message)
        if self.eks is not None and self.pgbouncer is None:
            raise field_error(
                "secrets",
                "reach the application's pods through External Secrets, which scaleplan:pgbouncer installs; "
                "this phase has a cluster but no scaleplan:pgbouncer",
            )
        return self

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
        if self.load_balancer is None:
            return self
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
    def _backends_are_weighted_while_both_run(self) -> PhaseConfig:
        """Both backends behind the listener only as a move between them, one slot live (the
        listener weight of a target group is its slot's share times its backend's share)."""
        if self.load_balancer is None:
            return self
        both = self.compute.auto_scaling_group is not None and bool(self.compute.node_pools)
        backend_weights = self.load_balancer.backend_weights
        if not both:
            if backend_weights is not None:
                raise field_error(
                    "load_balancer.backend_weights",
                    "only applies while scaleplan:compute has both auto_scaling_group and node_pools "
                    "(the move to EKS); remove it",
                )
            return self
        if backend_weights is None:
            raise field_error(
                "load_balancer.backend_weights",
                "required while scaleplan:compute has both auto_scaling_group and node_pools: the share of "
                "requests each gets, e.g. {auto_scaling_group: 100, node_pools: 0} until the pods are healthy",
            )
        live = self.load_balancer.weights.live_slots()
        if len(live) != 1:
            raise field_error(
                "load_balancer.weights",
                "one slot must carry all requests while both backends run (the move to EKS is not a release); "
                f"finish the blue/green rollout first (got blue {self.load_balancer.weights.blue} / "
                f"green {self.load_balancer.weights.green})",
            )
        if backend_weights.node_pools > 0 and self.eks is not None:
            services = self.eks.application.load_balancer_services
            if live[0] not in services:
                raise field_error(
                    f"eks.application.load_balancer_services.{live[0].value}",
                    f"required: scaleplan:load_balancer.backend_weights sends {backend_weights.node_pools}% of "
                    f"requests to the pods of slot {live[0].value!r}, which would have no Service bound",
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
    def _cache_alarms_need_a_cache(self) -> PhaseConfig:
        """Cache alarm levels exactly where there is a cache to watch (the hit rate is required)."""
        if self.cache is not None and self.operations.cache_hit_rate_percent is None:
            raise field_error(
                "operations.cache_hit_rate_percent",
                "required: the phase has a scaleplan:cache, whose hit rate the alarms watch; state a warning level",
            )
        if self.cache is None:
            for name in CACHE_SIGNALS:
                if getattr(self.operations, name) is not None:
                    raise field_error(
                        f"operations.{name}", "watches the cache, but this phase has no scaleplan:cache; remove it"
                    )
        return self

    @model_validator(mode="after")
    def _load_balancer_signals(self) -> PhaseConfig:
        """ALB alarm levels and the latency scaling trigger exactly where there is an ALB."""
        group = self.compute.auto_scaling_group
        latency = group.scaling.latency_p95_scale_out_seconds if group is not None else None
        if self.load_balancer is not None:
            for name in REQUIRED_LOAD_BALANCER_SIGNALS:
                if getattr(self.operations, name) is None:
                    raise field_error(
                        f"operations.{name}",
                        "required: the phase has a scaleplan:load_balancer, whose metrics it watches",
                    )
            if group is not None and latency is None:
                raise field_error(
                    "compute.auto_scaling_group.scaling.latency_p95_scale_out_seconds",
                    "required: the load balancer's p95 response time is a scale-out trigger of the group",
                )
            return self
        for name in LOAD_BALANCER_SIGNALS:
            if getattr(self.operations, name) is not None:
                raise field_error(
                    f"operations.{name}",
                    "watches the load balancer, but this phase has no scaleplan:load_balancer; remove it",
                )
        if latency is not None:
            raise field_error(
                "compute.auto_scaling_group.scaling.latency_p95_scale_out_seconds",
                "scales on the load balancer's response time, but this phase has no scaleplan:load_balancer; "
                "remove it (the group scales on CPU)",
            )
        return self

    @model_validator(mode="after")
    def _reachable_without_a_load_balancer(self) -> PhaseConfig:
        """Without an ALB the zone reaches one Auto Scaling group slot through a Cloudflare Tunnel."""
        if self.load_balancer is not None:
            return self
        if self.eks is not None:
            raise field_error(
                "eks",
                "needs scaleplan:load_balancer: the pods are reached through its target groups "
                "(TargetGroupBinding); add scaleplan:load_balancer",
            )
        group = self.compute.auto_scaling_group
        if group is None:
            return self
        origin = self.edge.origin
        if origin is None:
            raise field_error(
                "compute.auto_scaling_group",
                "needs a way in: without scaleplan:load_balancer the zone reaches the instances through a "
                "Cloudflare Tunnel to scaleplan:edge.origin.hostnames, which is missing; add the hostnames "
                "or a load balancer",
            )
        if origin.alb_ingress is not AlbIngress.CLOUDFLARE or origin.accept_alb_open_to_internet:
            raise field_error(
                "edge.origin.alb_ingress",
                "applies to the load balancer, and this phase has no scaleplan:load_balancer; remove it",
            )
        if len(group.container.images) != 1:
            slots = ", ".join(slot.value for slot in group.container.images)
            raise field_error(
                "compute.auto_scaling_group.container.images",
                f"one slot without scaleplan:load_balancer: every tunnel connector serves every request, so "
                f"there are no weights to split between slots (got {slots}); keep one, or add a load balancer",
            )
        return self

    @model_validator(mode="after")
    def _without_nat_only_instances(self) -> PhaseConfig:
        """Without NAT the Auto Scaling group's instances move to the public subnets with their
        own addresses (infra/compute/placement.py); EKS nodes and pods have no such way out."""
        if self.network.nat_strategy is NatStrategy.NONE and self.eks is not None:
            raise field_error(
                "network.nat_strategy",
                "'none' leaves the EKS nodes in the private subnets with no way to the internet (image "
                "pulls, the cluster's add-ons); use 'single' or 'one_per_az' while the phase has scaleplan:eks "
                "(got 'none')",
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
        tolerated = None if pgbouncer.read_only_pool is None else pgbouncer.read_only_pool.replicas_down_tolerated
        if tolerated is not None and tolerated >= self.database.read_replica_count:
            raise field_error(
                "pgbouncer.read_only_pool.replicas_down_tolerated",
                f"must be below scaleplan:database.read_replica_count {self.database.read_replica_count}: at least "
                f"one replica must stay up to take the pool (got {tolerated})",
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
            read_replicas=self.database.read_replica_count,
        )
        if problems:
            path, message = problems[0]
            raise field_error(f"pgbouncer.{path}", message)
        return self

    @model_validator(mode="after")
    def _compute_serves_peak(self) -> PhaseConfig:
        check = check_capacity(self.capacity, self.compute.sustained_application_vcpus())
        if not check.passes:
            load = demand(self.capacity)
            raise field_error(
                "compute",
                f"at most {check.available_vcpus:g} sustained application vCPUs (burstable types at their "
                f"CPU-credit baseline) cannot serve the peak of {load.peak_requests_per_second:.0f} requests/s "
                f"with headroom {self.capacity.headroom_factor}: {check.demand_vcpus:g} vCPUs are needed, "
                f"{check.shortfall_vcpus:g} short; raise max sizes or use larger instance types",
            )
        return self

    def surplus_credit_vcpu_hours(self) -> dict[str, float]:
        """``scaleplan:usage`` key -> the surplus CPU credits (vCPU-hours a month) the capacity
        model computes for the burstable servers in unlimited mode: the floor of the stated figure."""
        group = self.compute.auto_scaling_group
        ec2 = 0.0
        if group is not None and group.burst_sizing is BurstSizing.UNLIMITED:
            ec2 = application_surplus_credit_vcpu_hours(self.capacity, group.desired_baseline_vcpus())
        return {
            "ec2_surplus_credit_vcpu_hours_per_month": ec2,
            "rds_surplus_credit_vcpu_hours_per_month": database_surplus_credit_vcpu_hours(self.capacity, self.database),
        }

    @model_validator(mode="after")
    def _desired_size_carries_the_average(self) -> PhaseConfig:
        """In unlimited mode the group is priced at its desired size plus surplus credits; that
        holds only while the average load stays under the scale-out threshold of those instances
        (above it the group grows, and the estimate would understate the bill)."""
        group = self.compute.auto_scaling_group
        if group is None or group.burst_sizing is not BurstSizing.UNLIMITED:
            return self
        load = demand(self.capacity)
        average = average_vcpus(load.average_requests_per_second, self.capacity.requests_per_second_per_vcpu)
        spec = ec2_instance_types()[group.instance_type]
        threshold = group.scaling.cpu_scale_out_percent / 100
        carried = group.desired_capacity * spec.vcpus * threshold
        if round(average, 9) > round(carried, 9):
            raise field_error(
                "compute.auto_scaling_group.desired_capacity",
                f"{group.desired_capacity} x {group.instance_type} ({spec.vcpus} vCPUs) under the "
                f"{group.scaling.cpu_scale_out_percent:g}% scale-out threshold carry {carried:g} vCPUs, less than the "
                f"average load of {average:g} vCPUs ({load.average_requests_per_second:.0f} requests/s / "
                f"{self.capacity.requests_per_second_per_vcpu:g} per vCPU): the group would run larger than the "
                f"size it is priced at; raise desired_capacity (got {group.desired_capacity})",
            )
        return self

    @model_validator(mode="after")
    def _surplus_credits_are_priced(self) -> PhaseConfig:
        """A burstable server whose average load outruns its credit baseline is billed for it:
        the usage the estimate prices may state more than the model's figure, never less."""
        for key, needed in self.surplus_credit_vcpu_hours().items():
            stated = getattr(self.usage, key)
            if round(stated, 6) < round(needed, 6):
                raise field_error(
                    f"usage.{key}",
                    f"must be at least {needed:g}: the average load above the CPU-credit baseline of the "
                    f"burstable servers in unlimited mode is billed as surplus credits (docs/cost.md, "
                    f'"Burstable classes"); state {needed:g} or more (got {stated:g})',
                )
        return self

    @model_validator(mode="after")
    def _dr_region_is_another_region(self) -> PhaseConfig:
        dr = self.operations.recovery.disaster_recovery
        if dr is not None and dr.region == self.environment.region:
            raise field_error(
                "operations.recovery.disaster_recovery.region",
                f"must differ from environment.region {self.environment.region}: a copy in the same region "
                f"is lost with it (got {dr.region})",
            )
        return self

    @model_validator(mode="after")
    def _recovery_objectives_are_met(self) -> PhaseConfig:
        problems = assess_recovery(self.operations.recovery, self.database).problems
        if problems:
            path, message = problems[0]
            raise field_error(path, message)
        return self

    @model_validator(mode="after")
    def _application_autoscaling_fits(self) -> PhaseConfig:
        autoscaling = self.eks.application.autoscaling if self.eks is not None else None
        if autoscaling is None:
            return self
        problems = autoscaling_problems(
            autoscaling,
            max_application_vcpus=self.compute.max_application_vcpus(),
            required_vcpus=demand(self.capacity).required_vcpus,
        )
        if problems:
            path, message = problems[0]
            raise field_error(f"eks.application.autoscaling.{path}", message)
        return self

    def data_tier_requirements(self) -> list[Requirement]:
        """What the peak needs of PostgreSQL, the cache and PgBouncer, against what this phase has."""
        vcpus = self.compute.max_application_vcpus()
        sizing = self.database.sizing
        requirements = database_requirements(
            self.capacity, self.database, application_vcpus=vcpus, pooled=self.pgbouncer is not None
        )
        if self.cache is not None:
            requirements.append(cache_requirement(self.capacity, self.cache))
        if self.pgbouncer is not None:
            requirements.extend(
                pgbouncer_requirements(
                    self.capacity,
                    self.pgbouncer,
                    read_query_share=sizing.read_query_share,
                    read_replicas=self.database.read_replica_count,
                    application_vcpus=vcpus,
                    client_connections_per_application_vcpu=sizing.client_connections_per_application_vcpu,
                )
            )
        return requirements

    @model_validator(mode="after")
    def _data_tier_carries_peak(self) -> PhaseConfig:
        for requirement in self.data_tier_requirements():
            if not requirement.passes:
                raise field_error(requirement.key, requirement.problem())
        return self

    @model_validator(mode="after")
    def _risks_are_accepted_in_the_open(self) -> PhaseConfig:
        """A relaxed secure default needs its named risk, and a named risk its relaxed default.
        Last, so that a phase that cannot work at all is told that first."""
        problems = risk_problems(self)
        if problems:
            path, message = problems[0]
            raise field_error(path, message)
        return self
