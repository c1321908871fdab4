"""``scaleplan:eks``: the EKS control plane, its core add-ons and the in-cluster platform charts.

Present only in phases that run Kubernetes; node pools (``scaleplan:compute.node_pools``)
require it and it requires node pools (checked on the root model).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from ipaddress import IPv4Network
from typing import Annotated, Protocol

from pydantic import Field, model_validator

from infra.catalog.versions import (
    CLOUDWATCH_OBSERVABILITY_CHARTS_FILE,
    EKS_ADDONS,
    EKS_VERSIONS_FILE,
    KEDA_CHARTS_FILE,
    cloudwatch_observability_charts,
    eks_versions,
    keda_charts,
    listed,
)
from infra.config.base import ConfigModel
from infra.config.errors import field_error
from infra.config.load_balancer import Slot
from infra.config.network import LOG_RETENTION_DAYS, is_documentation_network

KubernetesVersion = Annotated[str, Field(pattern=r"^1\.\d{2}$")]
"""``1.35``: a minor version listed in infra/catalog/eks_versions.yaml."""
AddonVersion = Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")]
"""An exact EKS add-on build (``v1.20.4-eksbuild.2``), never ``latest``: upgrades are reviewed."""
ChartVersion = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
HelmRepository = Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+(/[A-Za-z0-9._~/-]*)?$")]
ImageTag = Annotated[str, Field(pattern=r"^v\d+\.\d+\.\d+$")]
KubernetesName = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
EntryName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$")]
IamRoleArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$", max_length=600)]
SecretsPrefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9/_+=.@-]{1,200}/$")]


class SupportType(enum.StrEnum):
    """What happens when the version leaves standard support (EKS ``upgradePolicy``)."""

    STANDARD = "STANDARD"
    """AWS upgrades the control plane at the end of standard support: no extended-support fee."""
    EXTENDED = "EXTENDED"
    """Stay on the version at $0.60 per cluster-hour instead of $0.10."""


class AddonVersions(ConfigModel):
    """Pinned versions of the EKS-managed core add-ons: builds the catalog lists for ``kubernetes_version``."""

    vpc_cni: AddonVersion
    coredns: AddonVersion
    kube_proxy: AddonVersion
    aws_ebs_csi_driver: AddonVersion


class HelmChart(ConfigModel):
    """A chart from a Helm repository, pinned to one version."""

    repository: HelmRepository
    version: ChartVersion


class ClusterAutoscalerConfig(ConfigModel):
    """The Kubernetes Cluster Autoscaler: node-group min/max come from the node pools."""

    chart: HelmChart
    image_tag: ImageTag
    """Must match the cluster's minor version (autoscaler v1.35.x for Kubernetes 1.35), as the catalog lists."""
    scale_down_utilization_threshold_percent: Annotated[int, Field(ge=10, le=90)]
    """A node whose requests fall below this share of its capacity is removed (seed: CPU < 30%)."""
    scale_down_delay_after_add_seconds: Annotated[int, Field(ge=60, le=3600)]
    """Cooldown after a scale-out before any scale-in (seed: 180 s)."""


KEDA_REPOSITORY = "https://kedacore.github.io/charts"
CLOUDWATCH_OBSERVABILITY_REPOSITORY = "https://aws-observability.github.io/helm-charts"


class ContainerInsightsConfig(ConfigModel):
    """Container Insights in standard mode (``amazon-cloudwatch-observability`` chart): the
    CloudWatch agent on every node publishes node and pod metrics (``ContainerInsights``
    namespace) that the Container Insights alarms read. Enhanced observability, Application
    Signals and Fluent Bit container logs stay off: none of them is priced (docs/operations.md)."""

    chart: HelmChart
    """A version infra/catalog/cloudwatch_observability_charts.yaml lists for the Kubernetes version.
    Its cost is priced from ``scaleplan:usage.container_insights_*`` (infra/cost/container_insights.py)."""


class PlatformCharts(ConfigModel):
    cluster_autoscaler: ClusterAutoscalerConfig
    metrics_server: HelmChart
    aws_load_balancer_controller: HelmChart
    keda: HelmChart | None = None
    """KEDA (kedacore/charts ``keda``): needed by a latency trigger of the application's
    autoscaling; a version infra/catalog/keda_charts.yaml lists for the Kubernetes version."""
    container_insights: ContainerInsightsConfig | None = None
    """Container Insights (standard): absent, no agent runs and no node or pod alarm exists."""


class ApplicationAutoscaling(ConfigModel):
    """A HorizontalPodAutoscaler (autoscaling/v2) on the application's Deployment in each slot,
    driven by CPU as the seed's scale-out trigger (seed 000: out at CPU > 70%). The cluster
    autoscaler adds nodes when the new pods do not fit; the phase is refused when the node pools'
    ceiling cannot hold ``max_replicas`` pods, or ``max_replicas`` pods cannot serve the peak."""

    deployments: Annotated[dict[Slot, KubernetesName], Field(min_length=1)]
    """The application's Deployment in each slot (its deploys own them; the autoscaler only names them)."""
    min_replicas: Annotated[int, Field(ge=1, le=1000)]
    max_replicas: Annotated[int, Field(ge=1, le=1000)]
    cpu_target_percent: Annotated[int, Field(ge=10, le=95)]
    """Average CPU use, as a share of the pods' CPU request, that the autoscaler keeps."""
    cpu_request_millicores: Annotated[int, Field(ge=50, le=64_000)]
    """The CPU request each application pod states (the deploys must set the same): utilization is
    measured against it, and the sizing checks count pods by it."""
    scale_in_stabilization_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    """Scale in only to the highest recommendation of this window (no flapping after a spike)."""
    response_time_p95_seconds: Annotated[float, Field(gt=0, le=60)] | None = None
    """Also scale out while the slot's target group p95 ``TargetResponseTime`` is above this
    (seed 000: out at p95 > 500 ms). Set, KEDA (``charts.keda``) owns each slot's pod autoscaler
    through a ScaledObject with a CPU and an aws-cloudwatch trigger; unset, a plain CPU HPA."""

    @model_validator(mode="after")
    def _ordered(self) -> ApplicationAutoscaling:
        if self.min_replicas > self.max_replicas:
            raise field_error(
                "min_replicas", f"must not exceed max_replicas {self.max_replicas} (got {self.min_replicas})"
            )
        return self


class ApplicationIdentity(ConfigModel):
    """The application's namespace and the service account its pods run as (IRSA)."""

    namespace: KubernetesName
    service_account: KubernetesName
    secrets_prefix: SecretsPrefix
    """Secrets Manager name prefix (``ftw-prod/app/``) the application may read; nothing else."""
    load_balancer_services: Annotated[dict[Slot, KubernetesName], Field(min_length=1)]
    """The application's Service in each blue/green slot: the ALB's ip target group of that
    slot is bound to it (TargetGroupBinding), so the controller registers its pods' IPs. The
    application's deploys own the Services; a binding waits for its Service to exist."""
    service_port: Annotated[int, Field(ge=1, le=65535)]
    """Port of those Services whose endpoints (pods on ``scaleplan:load_balancer.target_port``) are registered."""
    autoscaling: ApplicationAutoscaling | None = None
    """Pod autoscaling of the application; absent, only the cluster autoscaler scales (nodes, not pods)."""


class EksConfig(ConfigModel):
    """The cluster. Secure by default: private endpoint always on, public endpoint only for
    the declared runner networks, all control-plane logs, secrets envelope-encrypted with a
    customer-managed key, deletion protection on."""

    kubernetes_version: KubernetesVersion
    support_type: SupportType = SupportType.STANDARD
    public_access_cidrs: tuple[IPv4Network, ...] = ()
    """Public networks of the machines that run ``pulumi up`` (CI runners, operators): the API
    endpoint is public for these only, and private access stays on for nodes and the VPC. The
    same ``up`` that creates the cluster installs charts into it, so a runner outside the VPC
    needs this on the first run. Empty is refused unless ``private_endpoint_only``."""
    private_endpoint_only: bool = False
    """Accept an empty ``public_access_cidrs``: the endpoint is private only, and ``pulumi up``
    must run from inside the VPC or a network routed to it (never the case on a first run
    from outside AWS; see README, "First pulumi up")."""
    allow_public_endpoint_from_anywhere: bool = False
    """The only way to accept ``0.0.0.0/0`` in ``public_access_cidrs``."""
    control_plane_log_retention_days: int
    deletion_protection: bool = True
    cluster_admin_role_arns: dict[EntryName, IamRoleArn] = Field(default_factory=dict)
    """IAM roles granted cluster-admin through EKS access entries, keyed by a stable name."""
    addons: AddonVersions
    charts: PlatformCharts
    application: ApplicationIdentity

    @model_validator(mode="after")
    def _endpoint_is_reachable_by_the_runner(self) -> EksConfig:
        if not self.public_access_cidrs and not self.private_endpoint_only:
            raise field_error(
                "public_access_cidrs",
                "is empty, so the API endpoint would be private only and a `pulumi up` run from outside the "
                "VPC (a laptop, a CI runner) would create the cluster and then time out on every chart; list "
                "the runners' public CIDRs, or set private_endpoint_only: true if `pulumi up` runs inside the "
                "VPC (got [])",
            )
        if self.public_access_cidrs and self.private_endpoint_only:
            raise field_error(
                "private_endpoint_only",
                "is true, but public_access_cidrs opens a public endpoint; drop one of the two "
                f"(got {', '.join(map(str, self.public_access_cidrs))})",
            )
        return self

    @model_validator(mode="after")
    def _public_endpoint_is_limited(self) -> EksConfig:
        for index, cidr in enumerate(self.public_access_cidrs):
            if cidr.prefixlen == 0 and not self.allow_public_endpoint_from_anywhere:
                raise field_error(
                    f"public_access_cidrs.{index}",
                    f"opens the Kubernetes API to the whole internet (got {cidr}); list the CIDRs that "
                    "need it, or set "
                    "allow_public_endpoint_from_anywhere: true",
                )
            # Documentation ranges stand in for an environment's own; a deployment refuses them
            # as placeholders (infra/config/placeholders.py), the offline plan reads them.
            if not cidr.is_global and cidr.prefixlen != 0 and not is_documentation_network(cidr):
                raise field_error(
                    f"public_access_cidrs.{index}",
                    f"must be a public range; private ranges reach the private endpoint (got {cidr})",
                )
        if len(set(self.public_access_cidrs)) != len(self.public_access_cidrs):
            raise field_error("public_access_cidrs", "lists a CIDR twice")
        return self

    @model_validator(mode="after")
    def _retention_is_a_cloudwatch_value(self) -> EksConfig:
        if self.control_plane_log_retention_days not in LOG_RETENTION_DAYS:
            raise field_error(
                "control_plane_log_retention_days",
                f"must be a CloudWatch Logs retention period, one of {', '.join(map(str, LOG_RETENTION_DAYS))} "
                f"(got {self.control_plane_log_retention_days})",
            )
        return self

    @model_validator(mode="after")
    def _pins_are_in_the_catalog(self) -> EksConfig:
        # Every pin must be one the dated catalog lists for this Kubernetes version: an add-on
        # build AWS does not publish for it fails `pulumi up` after the cluster's ~15 minutes,
        # and kube-proxy or the Cluster Autoscaler of another minor breaks Services or scaling.
        catalog = eks_versions()
        version = catalog.get(self.kubernetes_version)
        if version is None:
            raise field_error(
                "kubernetes_version",
                f"EKS {self.kubernetes_version} is not in the version catalog ({EKS_VERSIONS_FILE}); "
                f"allowed: {listed(tuple(catalog))} (got {self.kubernetes_version!r})",
            )
        for addon in EKS_ADDONS:
            pinned = getattr(self.addons, addon)
            published = version.addons[addon]
            if pinned not in published:
                raise field_error(
                    f"addons.{addon}",
                    f"is not a build the catalog lists for Kubernetes {version.version}; allowed: "
                    f"{listed(published)} (got {pinned})",
                )
        autoscaler = self.charts.cluster_autoscaler
        if autoscaler.image_tag not in version.autoscaler_image_tags:
            raise field_error(
                "charts.cluster_autoscaler.image_tag",
                f"must be a Cluster Autoscaler release for Kubernetes {version.version}; allowed: "
                f"{listed(version.autoscaler_image_tags)} (got {autoscaler.image_tag})",
            )
        if autoscaler.chart.version not in version.autoscaler_chart_versions:
            raise field_error(
                "charts.cluster_autoscaler.chart.version",
                f"must be a cluster-autoscaler chart whose appVersion is {version.version}.x; allowed: "
                f"{listed(version.autoscaler_chart_versions)} (got {autoscaler.chart.version})",
            )
        return self

    @model_validator(mode="after")
    def _latency_trigger_has_keda(self) -> EksConfig:
        scaling = self.application.autoscaling
        keda = self.charts.keda
        if scaling is not None and scaling.response_time_p95_seconds is not None and keda is None:
            raise field_error(
                "charts.keda",
                "is required by application.autoscaling.response_time_p95_seconds: only KEDA evaluates "
                f"the CloudWatch latency trigger; add {{repository: {KEDA_REPOSITORY}, version: ...}} "
                "or drop the latency trigger (got none)",
            )
        if keda is not None:
            _check_listed_chart(
                "charts.keda",
                keda,
                repository=KEDA_REPOSITORY,
                catalog=keda_charts(),
                listed_as=f"a KEDA chart {KEDA_CHARTS_FILE}",
                kubernetes_version=self.kubernetes_version,
            )
        return self

    @model_validator(mode="after")
    def _container_insights_chart_is_listed(self) -> EksConfig:
        insights = self.charts.container_insights
        if insights is not None:
            _check_listed_chart(
                "charts.container_insights.chart",
                insights.chart,
                repository=CLOUDWATCH_OBSERVABILITY_REPOSITORY,
                catalog=cloudwatch_observability_charts(),
                listed_as=f"an amazon-cloudwatch-observability chart {CLOUDWATCH_OBSERVABILITY_CHARTS_FILE}",
                kubernetes_version=self.kubernetes_version,
            )
        return self


class _CatalogChart(Protocol):
    @property
    def kubernetes(self) -> tuple[str, ...]: ...


def _check_listed_chart(
    key: str,
    chart: HelmChart,
    *,
    repository: str,
    catalog: Mapping[str, _CatalogChart],
    listed_as: str,
    kubernetes_version: str,
) -> None:
    """A chart pinned from its one repository, at a version its catalog lists for the cluster's
    Kubernetes minor; ``listed_as`` names the catalog in the error (``a KEDA chart <file>``)."""
    if chart.repository.rstrip("/") != repository:
        raise field_error(f"{key}.repository", f"must be {repository} (got {chart.repository})")
    entry = catalog.get(chart.version)
    if entry is None or kubernetes_version not in entry.kubernetes:
        allowed = tuple(version for version, c in catalog.items() if kubernetes_version in c.kubernetes)
        raise field_error(
            f"{key}.version",
            f"is not {listed_as} lists for Kubernetes {kubernetes_version}; "
            f"allowed: {listed(allowed)} (got {chart.version})",
        )
