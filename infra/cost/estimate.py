"""The monthly cost estimate of a phase: resources x unit prices, plus usage x unit prices.

A pure function of the resources the program registers (as captured under mocks, or as a
policy pack receives them), the phase's ``scaleplan:usage`` figures and the price catalog.
Conventions (see docs/cost.md):

- 730 hours a month (the catalog's ``hours_per_month``).
- Auto Scaling groups and EKS node groups are priced at their *desired* size, the steady
  state; bursts up to ``max_size`` cost more while they last.
- Spot capacity is priced at on-demand less the catalog's documented spot discount.
- RDS Multi-AZ doubles instance and storage prices; read replicas are priced as instances.
- Usage that several resources share (NAT data, log ingestion, ALB LCUs) is split evenly
  between the resources of that type; account-wide usage (internet egress, R2) is priced on
  lines with no resource.
- A resource type that is neither priced here nor listed as free in the catalog, or a priced
  dimension with no price (an instance type, a node type, a DB class), is an error, not $0.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import PrivateAttr

from infra.config.usage import UsageConfig
from infra.cost import container_insights
from infra.cost.catalog import PriceCatalog, Rate, UnknownPriceError, price_catalog

ACCOUNT = "(account)"
"""Name of the lines that belong to no single resource (internet egress, R2)."""


class UnpricedResourceError(UnknownPriceError):
    """The program creates something the estimator cannot price."""


@dataclass(frozen=True)
class PricedResource:
    """What the estimator needs of a resource, whichever way it was obtained."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    resource_id: str = ""
    """The provider ID, to resolve references such as an ASG's launch template."""
    custom: bool = True


@dataclass(frozen=True)
class CostLine:
    """One priced dimension of one resource: ``quantity x unit_price_usd = monthly_usd``."""

    urn: str
    name: str
    type: str
    item: str
    """What is priced, e.g. ``t3.large on-demand, desired 4``."""
    quantity: float
    unit: str
    unit_price_usd: float
    source: str
    as_of: str
    confidence: str

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_price_usd


@dataclass(frozen=True)
class Estimate:
    lines: tuple[CostLine, ...]
    usage_without_carrier: tuple[str, ...] = ()
    """``scaleplan:usage`` fields above zero that no resource carries: stated, but not priced,
    because the program does not (yet) create the resource that would incur them."""

    @property
    def total_usd(self) -> float:
        # fsum is exact, hence independent of the order the mocked run registered resources in:
        # a plain sum differed in the last cent between two plans of one stack file.
        return math.fsum(line.monthly_usd for line in self.lines)

    def top(self, count: int) -> list[CostLine]:
        """The ``count`` most expensive lines, most expensive first."""
        return sorted(self.lines, key=lambda line: (-line.monthly_usd, line.name, line.item))[:count]


@dataclass(frozen=True)
class _Context:
    catalog: PriceCatalog
    usage: UsageConfig
    resources: Sequence[PricedResource]
    by_id: Mapping[str, PricedResource] = field(default_factory=dict)

    def count(self, *types: str, where: Callable[[PricedResource], bool] = lambda r: True) -> int:
        return sum(1 for r in self.resources if r.type in types and where(r))


def _line(
    r: PricedResource | None, item: str, quantity: float, unit: str, rate: Rate, *, price: float | None = None
) -> CostLine:
    return CostLine(
        urn=r.urn if r else "",
        name=r.name if r else ACCOUNT,
        type=r.type if r else "",
        item=item,
        quantity=quantity,
        unit=unit,
        unit_price_usd=rate.value if price is None else price,
        source=rate.source,
        as_of=rate.as_of,
        confidence=rate.confidence.value,
    )


def _num(value: Any, default: float = 0.0) -> float:
    """Numbers arrive as doubles over the wire (22 -> 22.0) and may be absent."""
    if value is None or isinstance(value, bool):
        return default
    return float(value)


# --- compute -------------------------------------------------------------------------------


def _instance_hours(
    r: PricedResource, ctx: _Context, instance_type: str, count: float, *, spot: bool, sizing: str
) -> CostLine:
    od = ctx.catalog.rate("ec2_on_demand_hour", instance_type)
    hours = count * ctx.catalog.hours
    if not spot:
        return _line(r, f"{instance_type} on-demand, {sizing}", hours, "instance-hours", od)
    discount = ctx.catalog.rate("ec2_spot", "discount_fraction")
    spot_rate = Rate(
        value=od.value * (1 - discount.value),
        unit=od.unit,
        source=f"{od.source}; spot discount {discount.value:.0%}: {discount.source}",
        as_of=f"{od.as_of}; {discount.as_of}",
        confidence=discount.confidence,
    )
    return _line(r, f"{instance_type} spot, {sizing}", hours, "instance-hours", spot_rate)


def _most_expensive(ctx: _Context, instance_types: Iterable[str]) -> str:
    """A group that may launch several types is priced at its dearest one (never understated)."""
    types = list(instance_types)
    if not types:
        raise UnknownPriceError("no instance type to price")
    return max(types, key=lambda name: ctx.catalog.rate("ec2_on_demand_hour", name).value)


def _launch_template(r: PricedResource, ctx: _Context, reference: Mapping[str, Any] | None) -> PricedResource | None:
    if not reference:
        return None
    template_id = str(reference.get("id") or "")
    template = ctx.by_id.get(template_id)
    if template is None:
        name = str(reference.get("name") or "")
        template = next((t for t in ctx.resources if t.inputs.get("name") == name and name), None)
    if template is None:
        raise UnpricedResourceError(f"{r.name}: launch template {reference!r} is not among the program's resources")
    return template


def _volume_lines(
    r: PricedResource, ctx: _Context, volume_type: str, size_gb: float, copies: float, *, what: str
) -> list[CostLine]:
    rate = ctx.catalog.rate("ebs_gb_month", volume_type or "gp2")
    return [_line(r, f"{what}: {volume_type} {size_gb:g} GB x {copies:g}", size_gb * copies, "GB-months", rate)]


def _template_volumes(r: PricedResource, ctx: _Context, template: PricedResource, copies: float) -> list[CostLine]:
    lines: list[CostLine] = []
    for mapping in template.inputs.get("blockDeviceMappings") or []:
        ebs = mapping.get("ebs") or {}
        size = _num(ebs.get("volumeSize"))
        if size:
            lines += _volume_lines(r, ctx, str(ebs.get("volumeType") or "gp2"), size, copies, what="root/data volume")
    return lines


def _price_node_group(r: PricedResource, ctx: _Context) -> list[CostLine]:
    scaling = r.inputs.get("scalingConfig") or {}
    desired = _num(scaling.get("desiredSize"))
    template = _launch_template(r, ctx, r.inputs.get("launchTemplate"))
    types = list(r.inputs.get("instanceTypes") or [])
    if not types and template is not None and template.inputs.get("instanceType"):
        types = [str(template.inputs["instanceType"])]
    if not types:
        types = ["t3.medium"]  # the EKS API's default for a managed node group
    spot = str(r.inputs.get("capacityType") or "ON_DEMAND") == "SPOT"
    instance_type = _most_expensive(ctx, types)
    lines = [_instance_hours(r, ctx, instance_type, desired, spot=spot, sizing=f"desired {desired:g}")]
    if template is not None and template.inputs.get("blockDeviceMappings"):
        lines += _template_volumes(r, ctx, template, desired)
    else:
        # EKS's own launch template: diskSize GiB (default 20), priced as gp2 (the older default).
        lines += _volume_lines(r, ctx, "gp2", _num(r.inputs.get("diskSize"), 20), desired, what="node disk")
    return lines


def _spot_share(policy: Mapping[str, Any], desired: float) -> float:
    """Instances of ``desired`` that a mixed-instances policy runs on spot."""
    distribution = policy.get("instancesDistribution") or {}
    base = _num(distribution.get("onDemandBaseCapacity"))
    percentage = _num(distribution.get("onDemandPercentageAboveBaseCapacity"), 100)
    above = max(0.0, desired - base)
    return above - math.ceil(above * percentage / 100)


def _price_auto_scaling_group(r: PricedResource, ctx: _Context) -> list[CostLine]:
    desired = _num(r.inputs.get("desiredCapacity"), _num(r.inputs.get("minSize")))
    policy = r.inputs.get("mixedInstancesPolicy") or {}
    spec = (policy.get("launchTemplate") or {}).get("launchTemplateSpecification") if policy else None
    template = _launch_template(r, ctx, spec or r.inputs.get("launchTemplate"))
    if template is None:
        raise UnpricedResourceError(f"{r.name}: an Auto Scaling group without a launch template cannot be priced")
    overrides = [
        o["instanceType"] for o in (policy.get("launchTemplate") or {}).get("overrides") or [] if o.get("instanceType")
    ]
    if not overrides and not template.inputs.get("instanceType"):
        raise UnpricedResourceError(f"{r.name}: its launch template {template.name} names no instanceType")
    instance_type = _most_expensive(ctx, overrides or [str(template.inputs["instanceType"])])
    spot = _spot_share(policy, desired) if policy else 0.0
    lines = []
    if desired - spot:
        lines.append(_instance_hours(r, ctx, instance_type, desired - spot, spot=False, sizing=f"desired {desired:g}"))
    if spot:
        lines.append(_instance_hours(r, ctx, instance_type, spot, spot=True, sizing=f"desired {desired:g}"))
    lines += _template_volumes(r, ctx, template, desired)
    if _has_public_ipv4(template):
        rate = ctx.catalog.rate("ec2_public_ipv4_hour", "ipv4")
        lines.append(
            _line(r, f"public IPv4 address per instance x {desired:g}", desired * ctx.catalog.hours, "IP-hours", rate)
        )
    if _is_unlimited(template):
        carriers = ctx.count(r.type, where=lambda g: _group_is_unlimited(g, ctx))
        rate = ctx.catalog.rate("burstable_surplus_credits", "ec2_t4g_linux")
        share = ctx.usage.ec2_surplus_credit_vcpu_hours_per_month / carriers
        lines.append(
            _line(r, f"surplus CPU credits, unlimited mode (usage, 1/{carriers} share)", share, "vCPU-hours", rate)
        )
    return lines


def _is_unlimited(template: PricedResource) -> bool:
    """Whether instances launched from ``template`` run in unlimited mode, as the template states it."""
    spec = template.inputs.get("creditSpecification") or {}
    return str(spec.get("cpuCredits") or "") == "unlimited"


def _group_is_unlimited(group: PricedResource, ctx: _Context) -> bool:
    policy = group.inputs.get("mixedInstancesPolicy") or {}
    spec = (policy.get("launchTemplate") or {}).get("launchTemplateSpecification") if policy else None
    template = _launch_template(group, ctx, spec or group.inputs.get("launchTemplate"))
    return template is not None and _is_unlimited(template)


def _is_burstable_rds(r: PricedResource) -> bool:
    """db.t classes run in unlimited mode on RDS, always (their CPU above the baseline is billed)."""
    return str(r.inputs.get("instanceClass") or "").startswith("db.t")


def _has_public_ipv4(template: PricedResource) -> bool:
    """Whether instances launched from ``template`` get a public IPv4 address (AWS bills each)."""
    interfaces = template.inputs.get("networkInterfaces") or []
    return any(str(i.get("associatePublicIpAddress")).lower() == "true" for i in interfaces)


def _price_instance(r: PricedResource, ctx: _Context) -> list[CostLine]:
    lines = [_instance_hours(r, ctx, str(r.inputs.get("instanceType")), 1, spot=False, sizing="always on")]
    root = r.inputs.get("rootBlockDevice") or {}
    lines += _volume_lines(
        r, ctx, str(root.get("volumeType") or "gp3"), _num(root.get("volumeSize"), 8), 1, what="root volume"
    )
    return lines


def _price_ebs_volume(r: PricedResource, ctx: _Context) -> list[CostLine]:
    volume_type = str(r.inputs.get("type") or "gp3")
    lines = _volume_lines(r, ctx, volume_type, _num(r.inputs.get("size")), 1, what="volume")
    iops = _num(r.inputs.get("iops"))
    throughput = _num(r.inputs.get("throughput"))
    if volume_type == "gp3" and iops > 3000:
        rate = ctx.catalog.rate("ebs_extra", "gp3_iops_above_3000")
        lines.append(_line(r, "gp3 IOPS above 3,000", iops - 3000, "IOPS-months", rate))
    if volume_type == "gp3" and throughput > 125:
        rate = ctx.catalog.rate("ebs_extra", "gp3_throughput_above_125")
        lines.append(_line(r, "gp3 throughput above 125 MBps", throughput - 125, "MBps-months", rate))
    return lines


def _price_eks_cluster(r: PricedResource, ctx: _Context) -> list[CostLine]:
    rate = ctx.catalog.rate("eks_cluster_hour", "standard")
    return [_line(r, "EKS control plane (standard support)", ctx.catalog.hours, "cluster-hours", rate)]


# --- network -------------------------------------------------------------------------------


def _price_nat_gateway(r: PricedResource, ctx: _Context) -> list[CostLine]:
    count = ctx.count(r.type)
    hour = ctx.catalog.rate("vpc", "nat_gateway_hour")
    per_gb = ctx.catalog.rate("vpc", "nat_gateway_gb")
    share = ctx.usage.nat_processed_gb_per_month / count
    return [
        _line(r, "NAT gateway", ctx.catalog.hours, "NAT-hours", hour),
        _line(r, f"NAT data processed (usage, 1/{count} share)", share, "GB", per_gb),
    ]


def _price_eip(r: PricedResource, ctx: _Context) -> list[CostLine]:
    rate = ctx.catalog.rate("ec2_public_ipv4_hour", "ipv4")
    return [_line(r, "public IPv4 address", ctx.catalog.hours, "IP-hours", rate)]


def _is_interface_endpoint(r: PricedResource) -> bool:
    return str(r.inputs.get("vpcEndpointType") or "Gateway") == "Interface"


def _price_vpc_endpoint(r: PricedResource, ctx: _Context) -> list[CostLine]:
    kind = str(r.inputs.get("vpcEndpointType") or "Gateway")
    if kind == "Gateway":
        return []  # S3 and DynamoDB gateway endpoints are free
    if kind != "Interface":
        raise UnpricedResourceError(f"{r.name}: VPC endpoint type {kind!r} has no price; priced: Gateway, Interface")
    zones = len(r.inputs.get("subnetIds") or []) or 1
    count = ctx.count(r.type, where=_is_interface_endpoint)
    share = ctx.usage.interface_endpoint_processed_gb_per_month / count
    return [
        _line(
            r,
            f"interface endpoint in {zones} AZs",
            zones * ctx.catalog.hours,
            "endpoint-AZ-hours",
            ctx.catalog.rate("vpc", "interface_endpoint_az_hour"),
        ),
        _line(
            r,
            f"endpoint data processed (usage, 1/{count} share)",
            share,
            "GB",
            ctx.catalog.rate("vpc", "interface_endpoint_gb"),
        ),
    ]


_LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")


def _is_alb(r: PricedResource) -> bool:
    return str(r.inputs.get("loadBalancerType") or "application") == "application"


def _price_load_balancer(r: PricedResource, ctx: _Context) -> list[CostLine]:
    kind = str(r.inputs.get("loadBalancerType") or "application")
    if kind not in ("application", "network"):
        raise UnpricedResourceError(f"{r.name}: load balancer type {kind!r} has no price; priced: application, network")
    hours = ctx.catalog.hours
    if kind == "application":
        albs = ctx.count(*_LOAD_BALANCERS, where=_is_alb)
        lcus = ctx.usage.alb_average_lcus / albs
        lines = [
            _line(r, "ALB", hours, "ALB-hours", ctx.catalog.rate("elb", "alb_hour")),
            _line(
                r,
                f"ALB LCUs (usage, average {lcus:g})",
                lcus * hours,
                "LCU-hours",
                ctx.catalog.rate("elb", "alb_lcu_hour"),
            ),
        ]
    else:
        lines = [_line(r, "NLB (NLCUs not priced)", hours, "NLB-hours", ctx.catalog.rate("elb", "nlb_hour"))]
    if not r.inputs.get("internal"):
        zones = len(r.inputs.get("subnets") or r.inputs.get("subnetMappings") or []) or 1
        ipv4 = ctx.catalog.rate("ec2_public_ipv4_hour", "ipv4")
        lines.append(_line(r, f"public IPv4 addresses, one per AZ ({zones})", zones * hours, "IP-hours", ipv4))
    return lines


# --- data ----------------------------------------------------------------------------------


def _price_rds_instance(r: PricedResource, ctx: _Context) -> list[CostLine]:
    engine = str(r.inputs.get("engine") or "postgres")
    replica = bool(r.inputs.get("replicateSourceDb"))
    if engine != "postgres" and not replica:
        raise UnpricedResourceError(f"{r.name}: RDS engine {engine!r} has no price; priced: postgres")
    instance_class = str(r.inputs.get("instanceClass"))
    multi_az = bool(r.inputs.get("multiAz"))
    factor = ctx.catalog.rate("rds_multi_az", "factor").value if multi_az else 1.0
    deployment = "Multi-AZ" if multi_az else "Single-AZ"
    role = "read replica" if replica else "primary"
    hourly = ctx.catalog.rate("rds_postgresql_single_az_hour", instance_class)
    lines = [
        _line(
            r,
            f"{instance_class} {deployment} {role}",
            ctx.catalog.hours,
            "instance-hours",
            hourly,
            price=hourly.value * factor,
        )
    ]
    storage_type = str(r.inputs.get("storageType") or "gp2")
    size = _num(r.inputs.get("allocatedStorage"))
    storage = ctx.catalog.rate("rds_storage_gb_month_single_az", storage_type)
    lines.append(
        _line(r, f"{storage_type} storage {deployment}", size, "GB-months", storage, price=storage.value * factor)
    )
    iops = _num(r.inputs.get("iops"))
    baseline = 12000 if size >= 400 else 3000
    if storage_type == "gp3" and iops > baseline:
        rate = ctx.catalog.rate("rds_extra", "gp3_iops_above_baseline_month")
        lines.append(
            _line(r, f"gp3 IOPS above {baseline:,}", iops - baseline, "IOPS-months", rate, price=rate.value * factor)
        )
    if _is_burstable_rds(r) and ctx.usage.rds_surplus_credit_vcpu_hours_per_month:
        servers = ctx.count(r.type, where=_is_burstable_rds)
        rate = ctx.catalog.rate("burstable_surplus_credits", "rds_t4g")
        share = ctx.usage.rds_surplus_credit_vcpu_hours_per_month / servers
        lines.append(_line(r, f"CPU credits above the baseline (usage, 1/{servers} share)", share, "vCPU-hours", rate))
    if not replica:
        primaries = ctx.count(r.type, where=lambda x: not x.inputs.get("replicateSourceDb"))
        rate = ctx.catalog.rate("rds_extra", "backup_storage_gb_month_beyond_free")
        share = ctx.usage.rds_backup_storage_gb_beyond_free / primaries
        lines.append(_line(r, f"backup storage beyond free (usage, 1/{primaries} share)", share, "GB-months", rate))
    return lines


def _cache_nodes(inputs: Mapping[str, Any]) -> float:
    clusters = _num(inputs.get("numCacheClusters"))
    if clusters:
        return clusters
    shards = _num(inputs.get("numNodeGroups"), 1)
    return shards * (_num(inputs.get("replicasPerNodeGroup")) + 1)


def _cache_rate(r: PricedResource, ctx: _Context, engine: str, node_type: str) -> Rate:
    if engine not in ("redis", "valkey"):
        raise UnpricedResourceError(f"{r.name}: ElastiCache engine {engine!r} has no price; priced: redis, valkey")
    return ctx.catalog.rate(f"elasticache_{engine}_node_hour", node_type)


def _price_replication_group(r: PricedResource, ctx: _Context) -> list[CostLine]:
    engine = str(r.inputs.get("engine") or "redis")
    node_type = str(r.inputs.get("nodeType"))
    nodes = _cache_nodes(r.inputs)
    rate = _cache_rate(r, ctx, engine, node_type)
    return [_line(r, f"{node_type} {engine} x {nodes:g} nodes", nodes * ctx.catalog.hours, "node-hours", rate)]


def _price_cache_cluster(r: PricedResource, ctx: _Context) -> list[CostLine]:
    if r.inputs.get("replicationGroupId"):
        return []  # a member of a replication group, priced on the group
    engine = str(r.inputs.get("engine") or "redis")
    node_type = str(r.inputs.get("nodeType"))
    nodes = _num(r.inputs.get("numCacheNodes"), 1)
    rate = _cache_rate(r, ctx, engine, node_type)
    return [_line(r, f"{node_type} {engine} x {nodes:g} nodes", nodes * ctx.catalog.hours, "node-hours", rate)]


# --- security, observability, storage -----------------------------------------------------


def _fixed(section: str, item: str, what: str, unit: str) -> Callable[[PricedResource, _Context], list[CostLine]]:
    def price(r: PricedResource, ctx: _Context) -> list[CostLine]:
        return [_line(r, what, 1, unit, ctx.catalog.rate(section, item))]

    return price


_DAYS_PER_MONTH = 365 / 12


def _price_log_group(r: PricedResource, ctx: _Context) -> list[CostLine]:
    count = ctx.count(r.type)
    ingested = ctx.usage.log_ingestion_gb_per_month / count
    retention = _num(r.inputs.get("retentionInDays"))
    # Steady state: a month's ingestion times the months kept. Priced on uncompressed size
    # (CloudWatch bills archived data compressed), so this overstates. Never-expiring groups
    # grow without bound; they are priced at one year's accumulation, and the cost pack rejects them.
    kept_months = (retention or 365) / _DAYS_PER_MONTH
    return [
        _line(
            r,
            f"log ingestion (usage, 1/{count} share)",
            ingested,
            "GB",
            ctx.catalog.rate("cloudwatch", "logs_ingestion_gb"),
        ),
        _line(
            r,
            f"log storage, {int(retention) or 'never expires: 365'} days kept",
            ingested * kept_months,
            "GB-months",
            ctx.catalog.rate("cloudwatch", "logs_storage_gb_month"),
        ),
    ]


KEDA_PAUSED = "autoscaling.keda.sh/paused"
KEDA_DEFAULT_POLLING_SECONDS = 30
"""KEDA's default ``pollingInterval`` (kedacore/keda ScaledObject spec)."""


def _price_scaled_object(r: PricedResource, ctx: _Context) -> list[CostLine]:
    """A KEDA ScaledObject's aws-cloudwatch triggers call GetMetricData once per polling
    interval each (``useCachedMetrics``: the HPA reads the cached value); a paused one polls
    nothing. Its pods (KEDA's operator) run on priced nodes."""
    annotations = (r.inputs.get("metadata") or {}).get("annotations") or {}
    if str(annotations.get(KEDA_PAUSED, "")).lower() == "true":
        return []
    spec = r.inputs.get("spec") or {}
    triggers = [t for t in spec.get("triggers") or [] if t.get("type") == "aws-cloudwatch"]
    if not triggers:
        return []
    interval = _num(spec.get("pollingInterval"), KEDA_DEFAULT_POLLING_SECONDS)
    requests = len(triggers) * ctx.catalog.hours * 3600 / interval
    return [
        _line(
            r,
            f"KEDA CloudWatch reads, {len(triggers)} metric(s) every {interval:g} s",
            requests / 1000,
            "1,000 metrics requested",
            ctx.catalog.rate("cloudwatch", "get_metric_data_per_1k_metrics"),
        )
    ]


def _price_helm_release(r: PricedResource, ctx: _Context) -> list[CostLine]:
    """A chart's pods run on priced nodes; Container Insights' chart also bills CloudWatch for
    its metrics and performance log events, priced at the node pools' ceiling (``max_size``)."""
    if r.inputs.get("chart") != container_insights.CHART:
        return []
    usage = ctx.usage
    if usage.container_insights_pods == 0 or usage.container_insights_pod_names == 0:
        raise UnknownPriceError(
            f"Helm release {r.name} installs {container_insights.CHART}, but scaleplan:usage states no "
            "container_insights_pod_names or container_insights_pods: its metrics and log events cannot be priced"
        )
    nodes = sum(
        int(_num((n.inputs.get("scalingConfig") or {}).get("maxSize")))
        for n in ctx.resources
        if n.type == "aws:eks/nodeGroup:NodeGroup"
    )
    metrics = container_insights.metric_count(nodes, usage)
    gb = container_insights.log_gb_per_month(nodes, usage)
    return [
        _line(
            r,
            f"Container Insights metrics: 1 cluster, {nodes} nodes, {usage.container_insights_pod_names} pod names, "
            f"{usage.container_insights_services} services",
            metrics,
            "metric-months",
            ctx.catalog.rate("cloudwatch", "custom_metric_month"),
        ),
        _line(
            r,
            f"Container Insights performance log events: {nodes} nodes, "
            f"{usage.container_insights_pods} pods, every minute",
            gb,
            "GB",
            ctx.catalog.rate("cloudwatch", "logs_ingestion_gb"),
        ),
    ]


def _emf_declarations(text: object) -> list[Mapping[str, Any]]:
    """The ``metric_declaration`` list of a CloudWatch agent config in Prometheus mode, if ``text`` is one."""
    if not isinstance(text, str) or '"emf_processor"' not in text:
        return []
    try:
        config = json.loads(text)
    except ValueError:
        return []
    prometheus = (((config.get("logs") or {}).get("metrics_collected") or {}).get("prometheus")) or {}
    return list((prometheus.get("emf_processor") or {}).get("metric_declaration") or [])


def _price_config_map(r: PricedResource, ctx: _Context) -> list[CostLine]:
    """A ConfigMap is free, unless it holds a CloudWatch agent's Prometheus config: each metric
    its declarations select, under each dimension set, is a custom metric. One metric per
    selector and dimension set assumes one value for each dimension, as the program's PgBouncer
    sidecars do (one scrape target labelled with its pool role, a ``label_matcher`` naming one
    database). The EMF log events' ingestion is not priced: no event size has a source here
    (docs/operations.md, "PgBouncer metrics cost")."""
    declarations = [d for value in (r.inputs.get("data") or {}).values() for d in _emf_declarations(value)]
    metrics = sum(len(d.get("metric_selectors") or []) * len(d.get("dimensions") or [[]]) for d in declarations)
    if not metrics:
        return []
    return [
        _line(
            r,
            f"CloudWatch agent EMF metrics: {metrics} (selectors x dimension sets, one value each)",
            metrics,
            "metric-months",
            ctx.catalog.rate("cloudwatch", "custom_metric_month"),
        )
    ]


def _alarm_metrics(inputs: Mapping[str, Any]) -> float:
    queries = inputs.get("metricQueries") or []
    if queries:
        return float(sum(1 for q in queries if q.get("metric")))
    return 1.0


def _price_metric_alarm(r: PricedResource, ctx: _Context) -> list[CostLine]:
    high = 0 < _num(r.inputs.get("period"), 60) < 60
    item = "alarm_high_resolution_month" if high else "alarm_standard_month"
    metrics = _alarm_metrics(r.inputs)
    return [
        _line(
            r, f"alarm over {metrics:g} metric(s)", metrics, "alarm-metric-months", ctx.catalog.rate("cloudwatch", item)
        )
    ]


def _shared_storage(
    usage_field: str, section: str, item: str, what: str
) -> Callable[[PricedResource, _Context], list[CostLine]]:
    def price(r: PricedResource, ctx: _Context) -> list[CostLine]:
        count = ctx.count(r.type)
        share = float(getattr(ctx.usage, usage_field)) / count
        return [_line(r, f"{what} (usage, 1/{count} share)", share, "GB-months", ctx.catalog.rate(section, item))]

    return price


def _price_backup_vault(r: PricedResource, ctx: _Context) -> list[CostLine]:
    """The primary vaults share ``aws_backup_storage_gb``; a vault with its own ``region`` is the
    DR copy's and holds as much again (the copy of every snapshot), at that region's rate."""
    region = r.inputs.get("region")
    if not region:
        count = ctx.count(r.type, where=lambda x: not x.inputs.get("region"))
        share = ctx.usage.aws_backup_storage_gb / count
        rate = ctx.catalog.rate("aws_backup_gb_month", "rds_snapshot")
        return [_line(r, f"backup storage (usage, 1/{count} share)", share, "GB-months", rate)]
    rate = ctx.catalog.rate("dr_backup_vault_rds_gb_month", str(region))
    return [
        _line(
            r,
            f"DR copies of the backups in {region} (usage: as much as the primary vault holds)",
            ctx.usage.aws_backup_storage_gb,
            "GB-months",
            rate,
        )
    ]


def _arn_region(value: object) -> str:
    parts = str(value or "").split(":")
    return parts[3] if len(parts) > 5 and parts[0] == "arn" else ""


def _price_backup_replication(r: PricedResource, ctx: _Context) -> list[CostLine]:
    """Replicated automated backups: stored in the DR region (no free allowance there), and the
    inter-region transfer of both DR copies (these and the vault's daily snapshot copies),
    taken as twice the backup storage a month: each moves about what it stores."""
    dest = str(r.inputs.get("region") or "")
    source = _arn_region(r.inputs.get("sourceDbInstanceArn"))
    if not dest or not source:
        raise UnknownPriceError(f"cannot tell the source and DR regions (source {source!r}, region {dest!r})")
    gb = ctx.usage.aws_backup_storage_gb
    transfers = ctx.catalog.sections.get("inter_region_transfer_gb", {})
    route = f"{source}->{dest}" if f"{source}->{dest}" in transfers else f"{source}->other"
    return [
        _line(
            r,
            f"replicated automated backups stored in {dest} (usage: as much as the primary vault holds)",
            gb,
            "GB-months",
            ctx.catalog.rate("dr_rds_backup_storage_gb_month", dest),
        ),
        _line(
            r,
            f"inter-region transfer {source} -> {dest} of both DR copies (usage: 2 x backup storage a month)",
            2 * gb,
            "GB",
            ctx.catalog.rate("inter_region_transfer_gb", route),
        ),
    ]


_CLOUDFLARE_PLANS = {"free": "free", "pro": "pro", "business": "business"}


def _price_zone_subscription(r: PricedResource, ctx: _Context) -> list[CostLine]:
    plan = str((r.inputs.get("ratePlan") or {}).get("id") or "free")
    if plan not in _CLOUDFLARE_PLANS:
        raise UnpricedResourceError(
            f"{r.name}: Cloudflare plan {plan!r} has no price; priced: {', '.join(_CLOUDFLARE_PLANS)}"
        )
    return [_line(r, f"Cloudflare {plan} plan", 1, "zone-months", ctx.catalog.rate("cloudflare_plan_month", plan))]


# --- Kubernetes objects that create cloud resources ------------------------------------------

_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_TO_GB = {
    None: 1e-9,
    "Ki": 1024 / 1e9,
    "Mi": 1024**2 / 1e9,
    "Gi": 1024**3 / 1e9,
    "Ti": 1024**4 / 1e9,
    "K": 1e-6,
    "M": 1e-3,
    "G": 1.0,
    "T": 1e3,
}


def _quantity_gb(text: Any) -> float:
    match = _QUANTITY.match(str(text))
    if match is None:
        raise UnknownPriceError(f"cannot read the storage quantity {text!r}")
    return float(match.group(1)) * _TO_GB[match.group(2)]


def _claim_gb(spec: Mapping[str, Any]) -> float:
    return _quantity_gb(((spec.get("resources") or {}).get("requests") or {}).get("storage", "0"))


def _price_k8s_service(r: PricedResource, ctx: _Context) -> list[CostLine]:
    if (r.inputs.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    rate = ctx.catalog.rate("elb", "nlb_hour")
    return [_line(r, "NLB created for a LoadBalancer Service (NLCUs not priced)", ctx.catalog.hours, "NLB-hours", rate)]


def _price_k8s_claim(r: PricedResource, ctx: _Context) -> list[CostLine]:
    return _volume_lines(r, ctx, "gp3", _claim_gb(r.inputs.get("spec") or {}), 1, what="persistent volume (gp3 class)")


def _price_stateful_set(r: PricedResource, ctx: _Context) -> list[CostLine]:
    spec = r.inputs.get("spec") or {}
    replicas = _num(spec.get("replicas"), 1)
    lines: list[CostLine] = []
    for template in spec.get("volumeClaimTemplates") or []:
        lines += _volume_lines(
            r, ctx, "gp3", _claim_gb(template.get("spec") or {}), replicas, what="persistent volume (gp3 class)"
        )
    return lines


_FREE_ISSUERS = ("selfSigned", "ca", "acme")


def _price_cert_issuer(r: PricedResource, ctx: _Context) -> list[CostLine]:
    """Self-signed, CA and ACME issuers are free; a private-CA issuer (AWS PCA) is not priced here."""
    spec = r.inputs.get("spec") or {}
    if any(kind in spec for kind in _FREE_ISSUERS):
        return []
    raise UnpricedResourceError(
        f"{r.name}: cert-manager issuer kind {sorted(spec)!r} has no price; free kinds: {', '.join(_FREE_ISSUERS)}"
    )


# --- account-wide usage --------------------------------------------------------------------


_EGRESS_TIERS = ("first_10tb", "next_40tb", "next_100tb", "over_150tb")
"""Internet egress tiers in billing order; every tier but the last has a width in GB."""


def _egress_lines(ctx: _Context) -> list[CostLine]:
    """Internet egress through the region's tiers, after the free allowance."""
    remaining = max(
        0.0, ctx.usage.internet_egress_gb_per_month - ctx.catalog.rate("internet_egress_gb", "free_gb").value
    )
    lines = []
    for tier in _EGRESS_TIERS:
        # A finite tier's width comes from the region's own entries (a missing one is an error,
        # never an unbounded first tier); only the last tier is open-ended.
        width = None if tier == _EGRESS_TIERS[-1] else ctx.catalog.rate("internet_egress_tier_gb", tier).value
        in_tier = remaining if width is None else min(remaining, width)
        if in_tier > 0:
            lines.append(
                _line(
                    None,
                    f"internet egress (usage), tier {tier}",
                    in_tier,
                    "GB",
                    ctx.catalog.rate("internet_egress_gb", tier),
                )
            )
        remaining -= in_tier
    return lines


_R2_BUCKET = "cloudflare:index/r2Bucket:R2Bucket"


def _r2_lines(ctx: _Context) -> list[CostLine]:
    """R2 bills per account after a monthly free tier, rounding usage up to whole units; a
    program with no R2 bucket stores nothing there and has no R2 line."""
    usage = ctx.usage
    if not ctx.count(_R2_BUCKET):
        return []

    def billable(used: float, free_item: str, unit: float) -> float:
        free = ctx.catalog.rate("cloudflare_r2", free_item).value
        return math.ceil(max(0.0, used - free) / unit)

    lines = [
        _line(
            None,
            "R2 storage beyond 10 GB free (usage)",
            billable(usage.r2_storage_gb, "free_storage_gb_month", 1),
            "GB-months",
            ctx.catalog.rate("cloudflare_r2", "standard_storage_gb_month"),
        ),
        _line(
            None,
            "R2 Class A operations beyond 1M free (usage)",
            billable(usage.r2_class_a_operations_per_month, "free_class_a_operations", 1e6),
            "million operations",
            ctx.catalog.rate("cloudflare_r2", "class_a_per_million"),
        ),
        _line(
            None,
            "R2 Class B operations beyond 10M free (usage)",
            billable(usage.r2_class_b_operations_per_month, "free_class_b_operations", 1e6),
            "million operations",
            ctx.catalog.rate("cloudflare_r2", "class_b_per_million"),
        ),
    ]
    return [line for line in lines if line.quantity > 0]


Pricer = Callable[[PricedResource, _Context], list[CostLine]]

PRICERS: Mapping[str, Pricer] = {
    "aws:eks/cluster:Cluster": _price_eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _price_node_group,
    "aws:autoscaling/group:Group": _price_auto_scaling_group,
    "aws:ec2/instance:Instance": _price_instance,
    "aws:ebs/volume:Volume": _price_ebs_volume,
    "aws:ec2/natGateway:NatGateway": _price_nat_gateway,
    "aws:ec2/eip:Eip": _price_eip,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _price_vpc_endpoint,
    "aws:lb/loadBalancer:LoadBalancer": _price_load_balancer,
    "aws:alb/loadBalancer:LoadBalancer": _price_load_balancer,
    "aws:rds/instance:Instance": _price_rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _price_replication_group,
    "aws:elasticache/cluster:Cluster": _price_cache_cluster,
    "aws:kms/key:Key": _fixed("kms", "key_month", "customer managed key", "key-months"),
    "aws:secretsmanager/secret:Secret": _fixed("secrets_manager", "secret_month", "secret", "secret-months"),
    "aws:cloudwatch/logGroup:LogGroup": _price_log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _price_metric_alarm,
    "aws:cloudwatch/dashboard:Dashboard": _fixed("cloudwatch", "dashboard_month", "dashboard", "dashboard-months"),
    "aws:backup/vault:Vault": _price_backup_vault,
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": _price_backup_replication,
    "aws:s3/bucket:Bucket": _shared_storage("s3_storage_gb", "storage_gb_month", "s3_standard", "S3 Standard storage"),
    "aws:s3/bucketV2:BucketV2": _shared_storage(
        "s3_storage_gb", "storage_gb_month", "s3_standard", "S3 Standard storage"
    ),
    "aws:ecr/repository:Repository": _shared_storage("ecr_storage_gb", "storage_gb_month", "ecr", "ECR image storage"),
    "cloudflare:index/zoneSubscription:ZoneSubscription": _price_zone_subscription,
    "kubernetes:core/v1:Service": _price_k8s_service,
    "kubernetes:core/v1:ConfigMap": _price_config_map,
    "kubernetes:core/v1:PersistentVolumeClaim": _price_k8s_claim,
    "kubernetes:apps/v1:StatefulSet": _price_stateful_set,
    "kubernetes:cert-manager.io/v1:Issuer": _price_cert_issuer,
    "kubernetes:keda.sh/v1alpha1:ScaledObject": _price_scaled_object,
    "kubernetes:helm.sh/v3:Release": _price_helm_release,
    "kubernetes:cert-manager.io/v1:ClusterIssuer": _price_cert_issuer,
}


def _usage_without_carrier(ctx: _Context) -> tuple[str, ...]:
    """Usage fields stated above zero that no resource of the program carries (so not priced)."""
    carriers = {
        "nat_processed_gb_per_month": ctx.count("aws:ec2/natGateway:NatGateway"),
        "interface_endpoint_processed_gb_per_month": ctx.count(
            "aws:ec2/vpcEndpoint:VpcEndpoint", where=_is_interface_endpoint
        ),
        "log_ingestion_gb_per_month": ctx.count("aws:cloudwatch/logGroup:LogGroup"),
        "alb_average_lcus": ctx.count(*_LOAD_BALANCERS, where=_is_alb),
        "rds_backup_storage_gb_beyond_free": ctx.count(
            "aws:rds/instance:Instance", where=lambda x: not x.inputs.get("replicateSourceDb")
        ),
        "aws_backup_storage_gb": ctx.count("aws:backup/vault:Vault"),
        "s3_storage_gb": ctx.count("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"),
        "ecr_storage_gb": ctx.count("aws:ecr/repository:Repository"),
        "ec2_surplus_credit_vcpu_hours_per_month": ctx.count(
            "aws:autoscaling/group:Group", where=lambda g: _group_is_unlimited(g, ctx)
        ),
        "rds_surplus_credit_vcpu_hours_per_month": ctx.count("aws:rds/instance:Instance", where=_is_burstable_rds),
        "r2_storage_gb": ctx.count(_R2_BUCKET),
        "r2_class_a_operations_per_month": ctx.count(_R2_BUCKET),
        "r2_class_b_operations_per_month": ctx.count(_R2_BUCKET),
        **dict.fromkeys(
            ("container_insights_pod_names", "container_insights_pods", "container_insights_services"),
            ctx.count(
                "kubernetes:helm.sh/v3:Release", where=lambda x: x.inputs.get("chart") == container_insights.CHART
            ),
        ),
    }
    return tuple(name for name, count in carriers.items() if getattr(ctx.usage, name) > 0 and count == 0)


def estimate(
    resources: Iterable[PricedResource],
    usage: UsageConfig,
    catalog: PriceCatalog | None = None,
    *,
    region: str | None = None,
) -> Estimate:
    """Itemised monthly cost of ``resources`` under ``usage`` at ``region``'s prices (the
    catalog's own region when None); raises for anything unpriceable, including a region or
    a region's item the catalog has no price for (never another region's price)."""
    catalog = catalog or price_catalog()
    if region is not None:
        catalog = catalog.for_region(region)
    # The engine's own resources (the stack, providers) are not billed.
    custom = [r for r in resources if r.custom and not r.type.startswith("pulumi:")]
    ctx = _Context(
        catalog=catalog, usage=usage, resources=custom, by_id={r.resource_id: r for r in custom if r.resource_id}
    )
    unknown = sorted({r.type for r in custom if r.type not in PRICERS and r.type not in catalog.free_resource_types})
    if unknown:
        raise UnpricedResourceError(
            f"no price for resource type(s) {', '.join(unknown)}: add a pricer in infra/cost/estimate.py "
            "or list the type as free in infra/cost/prices.yaml"
        )
    lines: list[CostLine] = []
    for r in custom:
        pricer = PRICERS.get(r.type)
        if pricer is not None:
            try:
                lines += pricer(r, ctx)
            except UnpricedResourceError:
                raise
            except UnknownPriceError as exc:
                raise UnpricedResourceError(f"{r.type} {r.name}: {exc}") from None
    lines += _egress_lines(ctx) + _r2_lines(ctx)
    return Estimate(lines=tuple(lines), usage_without_carrier=_usage_without_carrier(ctx))


class _ReadRecorder(PriceCatalog):
    """The home catalog, noting every (section, item) the estimate reads: what a region must price."""

    _read: set[tuple[str, str]] = PrivateAttr(default_factory=set)

    def rate(self, section: str, item: str) -> Rate:
        self._read.add((section, item))
        return super().rate(section, item)


def regional_gaps(
    resources: Iterable[PricedResource], usage: UsageConfig, region: str, catalog: PriceCatalog | None = None
) -> tuple[tuple[str, str], ...]:
    """The (section, item) pairs an estimate of ``resources`` needs that ``region`` does not price.

    What is needed is read off the estimate at the catalog's home region, which prices every
    item; only regional sections can be missing elsewhere. Empty when ``region`` prices it all.
    Raises :class:`UnknownRegionError` for a region without prices, and whatever the home
    estimate raises. A listing for docs and tests: no figure is ever borrowed from another region.
    """
    catalog = catalog or price_catalog()
    regional = catalog.for_region(region)
    recorder = _ReadRecorder.model_validate(catalog.model_dump())
    estimate(resources, usage, recorder)
    return tuple(
        sorted(
            (section, item)
            for section, item in recorder._read
            if section in catalog.regional_sections and item not in regional.sections.get(section, {})
        )
    )


def from_captured(resources: Iterable[Any]) -> list[PricedResource]:
    """Adapt :class:`infra.plan.capture.CapturedResource` records (inputs, and the ID from outputs)."""
    return [
        PricedResource(
            type=r.type,
            name=r.name,
            urn=r.urn,
            inputs=r.inputs,
            resource_id=str(r.outputs.get("id") or ""),
            custom=r.custom,
        )
        for r in resources
    ]
