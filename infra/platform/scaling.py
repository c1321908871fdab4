"""The application's latency-aware pod autoscaling on EKS: one KEDA ScaledObject per slot.

Built after the load balancer (its triggers name the slot's target group), with the cluster's
Kubernetes provider, when ``scaleplan:eks.application.autoscaling.response_time_p95_seconds``
is set; the platform then creates no plain HPA (KEDA owns the one HPA per Deployment).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.config.eks import ApplicationAutoscaling
from infra.config.load_balancer import Slot
from infra.platform.autoscaling import KEDA_PAUSED_ANNOTATION, KEDA_TRANSFER_HPA_ANNOTATION, scaled_object_spec


@dataclass(frozen=True, kw_only=True)
class ApplicationScalingArgs:
    autoscaling: ApplicationAutoscaling
    namespace: pulumi.Input[str]
    region: str
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffixes: Mapping[Slot, pulumi.Input[str]]
    """``arn_suffix`` of each slot's ip target group (the pods' target group)."""
    live_slots: Sequence[Slot]
    """Slots the listener sends traffic to; the others' ScaledObjects are paused."""
    trigger_authentication: str
    after: Sequence[pulumi.Resource]
    """KEDA's release (its CRDs and admission webhook) and the TriggerAuthentication."""


class ApplicationScaling(pulumi.ComponentResource):
    """One ScaledObject per slot's Deployment: out on CPU or on the slot's p95 response time.

    A slot without traffic (weight 0: the idle colour) is paused, so KEDA leaves its replica
    count to the deploys, as Kubernetes leaves a plain HPA's Deployment at 0 replicas alone.
    """

    scaled_objects: dict[str, pulumi.Output[str]]
    """ID (``<namespace>/<name>``) of each slot's ScaledObject, by slot."""

    def __init__(self, name: str, args: ApplicationScalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:platform:ApplicationScaling", name, None, opts)
        self.scaled_objects = {}
        for slot, deployment in sorted(args.autoscaling.deployments.items()):
            annotations = {KEDA_TRANSFER_HPA_ANNOTATION: "true"}
            if slot not in args.live_slots:
                annotations[KEDA_PAUSED_ANNOTATION] = "true"
            scaled = k8s.apiextensions.CustomResource(
                f"{name}-{slot.value}",
                api_version="keda.sh/v1alpha1",
                kind="ScaledObject",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=deployment,
                    namespace=args.namespace,
                    labels={"app.kubernetes.io/managed-by": "pulumi"},
                    annotations=annotations,
                ),
                spec=scaled_object_spec(
                    args.autoscaling,
                    deployment,
                    region=args.region,
                    load_balancer_arn_suffix=args.load_balancer_arn_suffix,
                    target_group_arn_suffix=args.target_group_arn_suffixes[slot],
                    trigger_authentication=args.trigger_authentication,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)),
            )
            self.scaled_objects[slot.value] = scaled.id
        self.register_outputs({"scaled_objects": self.scaled_objects})
