"""The in-cluster platform: Cluster Autoscaler, metrics-server, AWS Load Balancer Controller,
and the application's namespace and service account."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.compute.irsa import ROLE_ARN_ANNOTATION, ClusterOidc, ServiceAccountRoleArgs
from infra.config.eks import EksConfig, HelmChart
from infra.helm import Chart, helm_release
from infra.platform.autoscaling import hpa_spec
from infra.platform.container_insights import ContainerInsights, ContainerInsightsArgs
from infra.platform.policies import (
    application_policy,
    aws_load_balancer_controller_policy,
    cluster_autoscaler_policy,
    keda_operator_policy,
)

SYSTEM_NAMESPACE = "kube-system"
CLUSTER_AUTOSCALER_SA = "cluster-autoscaler"
LOAD_BALANCER_CONTROLLER_SA = "aws-load-balancer-controller"
KEDA_OPERATOR_SA = "keda-operator"
TRIGGER_AUTHENTICATION = "aws-keda-operator"
"""TriggerAuthentication in the application namespace: aws-cloudwatch triggers read CloudWatch
with the KEDA operator's own IRSA role (``podIdentity`` provider ``aws``, owner ``keda``)."""
RESTRICTED_POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
}
"""Pod Security Admission: the application's pods run without privileges or host access."""


def autoscaler_values(cluster_name: str, region: str, role_arn: pulumi.Input[str], config: EksConfig) -> dict[str, Any]:
    """Helm values of the Cluster Autoscaler: auto-discovery by tag, so min and max come from
    the node groups themselves, and the plan's scale-in rule and cooldown."""
    autoscaler = config.charts.cluster_autoscaler
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": autoscaler.image_tag},
        "rbac": {
            "serviceAccount": {
                "create": True,
                "name": CLUSTER_AUTOSCALER_SA,
                "annotations": {ROLE_ARN_ANNOTATION: role_arn},
            }
        },
        "extraArgs": {
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
            "scale-down-utilization-threshold": autoscaler.scale_down_utilization_threshold_percent / 100,
            "scale-down-delay-after-add": f"{autoscaler.scale_down_delay_after_add_seconds}s",
        },
    }


def keda_values(role_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Helm values of KEDA: the operator's service account carries its IRSA role, which the
    aws-cloudwatch triggers use (``podIdentity.aws.irsa``, kedacore/charts keda/values.yaml)."""
    return {
        "serviceAccount": {"operator": {"create": True, "name": KEDA_OPERATOR_SA}},
        "podIdentity": {"aws": {"irsa": {"enabled": True, "roleArn": role_arn}}},
    }


def load_balancer_controller_values(
    cluster_name: str, region: str, vpc_id: pulumi.Input[str], role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    # Region and VPC are given, not looked up: pods cannot reach instance metadata (hop limit 1).
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "serviceAccount": {
            "create": True,
            "name": LOAD_BALANCER_CONTROLLER_SA,
            "annotations": {ROLE_ARN_ANNOTATION: role_arn},
        },
    }


@dataclass(frozen=True, kw_only=True)
class PlatformArgs:
    config: EksConfig
    environment: str
    region: str
    account_id: pulumi.Input[str]
    cluster_name: str
    """Physical cluster name (known before deployment: chart values and IAM scopes embed it)."""
    vpc_id: pulumi.Input[str]
    oidc: ClusterOidc
    readable_secret_names: Sequence[str] = ()
    """The secrets the application's role may read, by name, and nothing else."""
    secrets_kms_key_arns: Sequence[pulumi.Input[str]] = ()
    """CMKs of those secrets; the application may decrypt them through Secrets Manager only."""
    tags: Mapping[str, str]
    after: Sequence[pulumi.Resource] = ()
    """What every in-cluster object waits for (the node pools and the core add-ons): a
    component's ``depends_on`` is not handed down to its children, so each child names it."""


class Platform(pulumi.ComponentResource):
    """Controllers every phase's cluster runs, each with an IRSA role of its own.

    Declare it with the cluster's Kubernetes provider in ``opts.providers`` and depending on
    the node pools. Charts come from the configured repositories at pinned versions.
    """

    application_namespace: pulumi.Output[str]
    """Namespace the application deploys into."""
    application_service_account: pulumi.Output[str]
    """Service account the application's pods run as."""
    application_role_arn: pulumi.Output[str]
    """IRSA role of that service account."""
    keda: k8s.helm.v3.Release | None
    """KEDA's release when the application scales on latency: ScaledObjects wait for it (its CRDs)."""
    trigger_authentication: str | None
    """Name of the TriggerAuthentication (in the application namespace) the latency triggers use."""
    container_insights: ContainerInsights | None
    """Container Insights (standard) when ``charts.container_insights`` is set."""
    load_balancer_controller: k8s.helm.v3.Release
    """The AWS Load Balancer Controller's release, awaited until its pods are ready. Its
    mutating webhook fails closed on every Service (and on TargetGroupBindings), so anything
    that creates a Service or a binding depends on it (aws-load-balancer-controller#4140)."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:platform:Platform", name, None, opts)
        cfg = args.config
        account_id = pulumi.Output.from_input(args.account_id)
        after = list(args.after)

        # The controller first: the other charts create Services, which its webhook must admit.
        controller_role = args.oidc.service_account_role(
            f"{name}-aws-load-balancer-controller",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace=SYSTEM_NAMESPACE,
                service_account=LOAD_BALANCER_CONTROLLER_SA,
                policy_json=aws_load_balancer_controller_policy(),
                tags=args.tags,
            ),
            parent=self,
        )
        self.load_balancer_controller = self._release(
            f"{name}-aws-load-balancer-controller",
            "aws-load-balancer-controller",
            cfg.charts.aws_load_balancer_controller,
            load_balancer_controller_values(args.cluster_name, args.region, args.vpc_id, controller_role.arn),
            after=after,
        )
        after_controller = [*after, self.load_balancer_controller]

        autoscaler_role = args.oidc.service_account_role(
            f"{name}-cluster-autoscaler",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace=SYSTEM_NAMESPACE,
                service_account=CLUSTER_AUTOSCALER_SA,
                policy_json=account_id.apply(
                    functools.partial(_autoscaler_policy, cluster_name=args.cluster_name, region=args.region)
                ),
                tags=args.tags,
            ),
            parent=self,
        )
        self._release(
            f"{name}-cluster-autoscaler",
            "cluster-autoscaler",
            cfg.charts.cluster_autoscaler.chart,
            autoscaler_values(args.cluster_name, args.region, autoscaler_role.arn, cfg),
            after=after_controller,
        )
        metrics_server = self._release(
            f"{name}-metrics-server",
            "metrics-server",
            cfg.charts.metrics_server,
            {"replicas": 2},
            after=after_controller,
        )

        app = cfg.application
        namespace = k8s.core.v1.Namespace(
            f"{name}-app-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app.namespace, labels={"app.kubernetes.io/managed-by": "pulumi", **RESTRICTED_POD_SECURITY}
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        app_role = args.oidc.service_account_role(
            f"{name}-app",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace=app.namespace,
                service_account=app.service_account,
                # No statement, no policy: IAM refuses an empty one.
                policy_json=pulumi.Output.all(account_id, *args.secrets_kms_key_arns).apply(
                    functools.partial(
                        _application_policy, secret_names=list(args.readable_secret_names), region=args.region
                    )
                )
                if args.readable_secret_names
                else None,
                tags=args.tags,
            ),
            parent=self,
        )
        service_account = k8s.core.v1.ServiceAccount(
            f"{name}-app-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=app.service_account,
                namespace=namespace.metadata.name,
                annotations={ROLE_ARN_ANNOTATION: app_role.arn},
                labels={"app.kubernetes.io/managed-by": "pulumi"},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )
        self.keda = None
        self.trigger_authentication = None
        self._trigger_authentication_resource: pulumi.Resource | None = None
        if cfg.charts.keda is not None:
            keda_role = args.oidc.service_account_role(
                f"{name}-keda-operator",
                ServiceAccountRoleArgs(
                    environment=args.environment,
                    namespace=SYSTEM_NAMESPACE,
                    service_account=KEDA_OPERATOR_SA,
                    policy_json=keda_operator_policy(),
                    tags=args.tags,
                ),
                parent=self,
            )
            self.keda = self._release(
                f"{name}-keda", "keda", cfg.charts.keda, keda_values(keda_role.arn), after=after_controller
            )
            auth = k8s.apiextensions.CustomResource(
                f"{name}-keda-trigger-authentication",
                api_version="keda.sh/v1alpha1",
                kind="TriggerAuthentication",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=TRIGGER_AUTHENTICATION,
                    namespace=namespace.metadata.name,
                    labels={"app.kubernetes.io/managed-by": "pulumi"},
                ),
                spec={"podIdentity": {"provider": "aws", "identityOwner": "keda"}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.keda]),
            )
            self.trigger_authentication = TRIGGER_AUTHENTICATION
            self._trigger_authentication_resource = auth
        self.container_insights = None
        if cfg.charts.container_insights is not None:
            self.container_insights = ContainerInsights(
                f"{name}-container-insights",
                ContainerInsightsArgs(
                    config=cfg.charts.container_insights,
                    environment=args.environment,
                    region=args.region,
                    cluster_name=args.cluster_name,
                    oidc=args.oidc,
                    tags=args.tags,
                    after=after_controller,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        latency_scaling = app.autoscaling is not None and app.autoscaling.response_time_p95_seconds is not None
        if app.autoscaling is not None and not latency_scaling:
            # One pod autoscaler per slot; it reads CPU from metrics-server, and a slot's
            # Deployment at 0 replicas (the idle colour) is left alone by Kubernetes.
            for slot, deployment in sorted(app.autoscaling.deployments.items()):
                k8s.autoscaling.v2.HorizontalPodAutoscaler(
                    f"{name}-app-{slot.value}-hpa",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=deployment,
                        namespace=namespace.metadata.name,
                        labels={"app.kubernetes.io/managed-by": "pulumi"},
                    ),
                    spec=hpa_spec(app.autoscaling, deployment),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[metrics_server]),
                )
        self.application_namespace = namespace.metadata.name
        self.application_service_account = service_account.metadata.name
        self.application_role_arn = app_role.arn
        self.register_outputs(
            {
                "application_namespace": self.application_namespace,
                "application_service_account": self.application_service_account,
                "application_role_arn": self.application_role_arn,
            }
        )

    @property
    def scaling_dependencies(self) -> list[pulumi.Resource]:
        """What a ScaledObject waits for: KEDA's release (CRDs, webhook) and the TriggerAuthentication."""
        return [r for r in (self.keda, self._trigger_authentication_resource) if r is not None]

    def _release(
        self,
        name: str,
        release: str,
        chart: HelmChart,
        values: Mapping[str, Any],
        *,
        after: Sequence[pulumi.Resource],
    ) -> k8s.helm.v3.Release:
        return helm_release(
            name,
            release=release,
            chart=Chart(release, chart.version, chart.repository),
            namespace=SYSTEM_NAMESPACE,
            values=values,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)),
        )


def _autoscaler_policy(account_id: str, *, cluster_name: str, region: str) -> str:
    return cluster_autoscaler_policy(cluster_name, region, account_id)


def _application_policy(values: list[str], *, secret_names: list[str], region: str) -> str:
    account_id, *key_arns = values
    return application_policy(region, account_id, secret_names, key_arns)
