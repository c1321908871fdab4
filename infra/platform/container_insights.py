"""Container Insights (standard mode): the CloudWatch agent on every node, installed with the
``amazon-cloudwatch-observability`` chart, publishing the node and pod metrics the Container
Insights alarms read (infra/observability/alarms.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.catalog.versions import cloudwatch_observability_charts
from infra.compute.irsa import ROLE_ARN_ANNOTATION, ClusterOidc, ServiceAccountRoleArgs
from infra.config.eks import ContainerInsightsConfig
from infra.helm import Chart, helm_release

NAMESPACE = "amazon-cloudwatch"
"""The chart's namespace (the EKS add-on's too); the agent's IRSA trust names it."""
RELEASE = "amazon-cloudwatch-observability"
AGENT_SERVICE_ACCOUNT = "cloudwatch-agent"
"""The agent's service account: the chart's default name (``cloudwatch-agent.serviceAccountName``)."""
AGENT_POLICY_ARN = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
"""The agent's only permission: put metrics and log events. ``AWSXrayWriteOnlyAccess`` serves
Application Signals, which stays off."""
HOST_ACCESS_POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "privileged",
    "pod-security.kubernetes.io/warn": "privileged",
}
"""The agent DaemonSet mounts node directories (/rootfs, /sys, /var/lib/docker, the container
runtime's socket) and uses the host network: only the privileged level admits it. The security
pack accepts that level for this namespace alone (``hostAccessNamespaces``, docs/policy.md)."""
HELM_OWNERSHIP = {
    "meta.helm.sh/release-name": RELEASE,
    "meta.helm.sh/release-namespace": NAMESPACE,
}
"""Helm adopts an existing object that carries these and ``app.kubernetes.io/managed-by: Helm``."""


def agent_config(cluster_name: str, region: str) -> dict[str, Any]:
    """The agent's configuration: Container Insights in standard mode and nothing else.

    The chart's default config turns on ``enhanced_container_insights`` (charged per
    observation, not priced here); given a config, the chart uses it as is and only fills in
    the cluster name (``cloudwatch-agent.config-modifier``).
    """
    return {
        "agent": {"region": region},
        "logs": {
            "metrics_collected": {
                "kubernetes": {"cluster_name": cluster_name, "enhanced_container_insights": False},
            }
        },
    }


def chart_values(cluster_name: str, region: str, config: ContainerInsightsConfig) -> dict[str, Any]:
    """Values of the chart (aws-observability/helm-charts values.yaml, 6.4.0): standard Container
    Insights through the agent DaemonSet; Application Signals, Fluent Bit container logs and the
    GPU and Neuron exporters off; the image tags pinned from the catalog."""
    chart = cloudwatch_observability_charts()[config.chart.version]
    return {
        "clusterName": cluster_name,
        "region": region,
        "containerInsights": {"enabled": True},
        "applicationSignals": {"enabled": False},
        "otelContainerInsights": {"enabled": False},
        "containerLogs": {"enabled": False},
        "dcgmExporter": {"enabled": False},
        "neuronMonitor": {"enabled": False},
        "manager": {"image": {"tag": chart.operator_image_tag}},
        "agent": {
            "image": {"tag": chart.agent_image_tag},
            "serviceAccount": {"name": AGENT_SERVICE_ACCOUNT},
            "config": agent_config(cluster_name, region),
        },
    }


@dataclass(frozen=True, kw_only=True)
class ContainerInsightsArgs:
    config: ContainerInsightsConfig
    environment: str
    region: str
    cluster_name: str
    oidc: ClusterOidc
    tags: Mapping[str, str]
    after: Sequence[pulumi.Resource] = ()
    """What the namespace and the release wait for (node pools, core add-ons, the load balancer
    controller, whose webhook admits the chart's Services)."""


class ContainerInsights(pulumi.ComponentResource):
    """The ``amazon-cloudwatch`` namespace, the agent's IRSA role and service account, and the chart.

    The chart's service account template has no annotations value, so the service account is
    created first, annotated with the role and labelled as the release's: Helm adopts it on
    install and keeps the annotation (its patch only sets what the chart renders), and every
    agent pod, the first ones included, starts with the role.
    """

    agent_role_arn: pulumi.Output[str]
    """IRSA role of ``amazon-cloudwatch/cloudwatch-agent``."""
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: ContainerInsightsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:platform:ContainerInsights", name, None, opts)
        after = list(args.after)
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAMESPACE, labels={"app.kubernetes.io/managed-by": "pulumi", **HOST_ACCESS_POD_SECURITY}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        role = args.oidc.service_account_role(
            f"{name}-agent",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace=NAMESPACE,
                service_account=AGENT_SERVICE_ACCOUNT,
                managed_policy_arns=[AGENT_POLICY_ARN],
                tags=args.tags,
            ),
            parent=self,
        )
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-agent-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=AGENT_SERVICE_ACCOUNT,
                namespace=namespace.metadata.name,
                annotations={ROLE_ARN_ANNOTATION: role.arn, **HELM_OWNERSHIP},
                labels={"app.kubernetes.io/managed-by": "Helm"},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        # atomic implies --wait: the operator is ready when the release is; the operator then
        # creates the agent DaemonSet from the AmazonCloudWatchAgent resource.
        self.release = helm_release(
            f"{name}-release",
            release=RELEASE,
            chart=Chart(RELEASE, args.config.chart.version, args.config.chart.repository),
            namespace=namespace.metadata.name,
            values=chart_values(args.cluster_name, args.region, args.config),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*after, service_account]),
        )
        self.agent_role_arn = role.arn
        self.register_outputs({"agent_role_arn": self.agent_role_arn})
