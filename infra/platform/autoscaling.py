"""The application's HorizontalPodAutoscaler: its spec, and whether the node pools can follow it.
Pure functions, no Pulumi.

Sizing, stated once: a pod is counted by its CPU request. The node pools' ceiling is
``max_application_vcpus`` (every pool that serves the application at ``max_size``); of each
node, :data:`APPLICATION_SHARE` is left to application pods after the kubelet's reserve and the
daemon sets (VPC CNI, kube-proxy, EBS CSI node; about 0.25 vCPU of a 2-vCPU node), PgBouncer and
the platform's controllers. ``max_replicas`` pods must fit under that ceiling (or the cluster
autoscaler cannot follow the pod autoscaler, and pods stay Pending), and must reach the
capacity model's required vCPUs at the peak (or the pod autoscaler stops short of it).

Latency: with ``response_time_p95_seconds`` set, KEDA owns each slot's pod autoscaler through a
ScaledObject (:func:`scaled_object_spec`): the same CPU target, and an ``aws-cloudwatch``
trigger on the slot's target group p95 ``TargetResponseTime``. KEDA serves that metric to the
HorizontalPodAutoscaler it creates as an External metric of type ``Value``: desired replicas =
ceil(current × p95 / target), the HPA's rule for a value that does not grow with the pods.
Without it, a plain autoscaling/v2 HPA on CPU (:func:`hpa_spec`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pulumi

from infra.config.eks import ApplicationAutoscaling

if TYPE_CHECKING:  # the SDK's typed-dict shape, for the type checker only
    from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscalerSpecArgsDict

KEDA_PAUSED_ANNOTATION = "autoscaling.keda.sh/paused"
"""KEDA leaves a paused ScaledObject's workload at its replica count and removes its HPA
(kedacore/keda apis/keda/v1alpha1/scaledobject_types.go, PausedAnnotation)."""
KEDA_TRANSFER_HPA_ANNOTATION = "scaledobject.keda.sh/transfer-hpa-ownership"
"""Lets KEDA's admission webhook accept a ScaledObject on a Deployment that a plain HPA still
scales, adopting that HPA by name (scaledobject_webhook.go, verifyHpas)."""
LATENCY_METRIC_PERIOD_SECONDS = 60
LATENCY_WINDOW_SECONDS = 300
"""KEDA reads the p95 of each minute over the last five and uses the latest."""

APPLICATION_SHARE = 0.75
"""Share of the node pools' vCPUs this program lets application pods request."""


def pod_ceiling(autoscaling: ApplicationAutoscaling, max_application_vcpus: int) -> int:
    """How many application pods the node pools at their maximum can hold by CPU request."""
    return math.floor(max_application_vcpus * 1000 * APPLICATION_SHARE / autoscaling.cpu_request_millicores)


def pods_for_peak(autoscaling: ApplicationAutoscaling, required_vcpus: int) -> int:
    """Pods whose CPU requests add up to the capacity model's required vCPUs."""
    return math.ceil(required_vcpus * 1000 / autoscaling.cpu_request_millicores)


def autoscaling_problems(
    autoscaling: ApplicationAutoscaling, *, max_application_vcpus: int, required_vcpus: int
) -> list[tuple[str, str]]:
    """``(key under scaleplan:eks.application.autoscaling, message)`` for each sizing the pools cannot follow."""
    problems: list[tuple[str, str]] = []
    ceiling = pod_ceiling(autoscaling, max_application_vcpus)
    if autoscaling.max_replicas > ceiling:
        problems.append(
            (
                "max_replicas",
                f"must be at most {ceiling}: the node pools hold {max_application_vcpus} vCPUs at their max_size, "
                f"{APPLICATION_SHARE:.0%} of them for application pods of {autoscaling.cpu_request_millicores}m "
                f"each; more pods would stay Pending (got {autoscaling.max_replicas}); raise the pools' max_size "
                "or lower max_replicas",
            )
        )
    needed = pods_for_peak(autoscaling, required_vcpus)
    if autoscaling.max_replicas < needed:
        problems.append(
            (
                "max_replicas",
                f"must be at least {needed}: the peak needs {required_vcpus} vCPUs, {needed} pods of "
                f"{autoscaling.cpu_request_millicores}m (got {autoscaling.max_replicas})",
            )
        )
    return problems


def hpa_spec(autoscaling: ApplicationAutoscaling, deployment: str) -> HorizontalPodAutoscalerSpecArgsDict:
    """The ``spec`` of an autoscaling/v2 HorizontalPodAutoscaler on ``deployment``."""
    return {
        "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": deployment},
        "min_replicas": autoscaling.min_replicas,
        "max_replicas": autoscaling.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "average_utilization": autoscaling.cpu_target_percent},
                },
            }
        ],
        "behavior": {
            "scale_down": {"stabilization_window_seconds": autoscaling.scale_in_stabilization_seconds},
        },
    }


def scaled_object_spec(
    autoscaling: ApplicationAutoscaling,
    deployment: str,
    *,
    region: str,
    load_balancer_arn_suffix: Any,
    target_group_arn_suffix: Any,
    trigger_authentication: str,
) -> dict[str, Any]:
    """The ``spec`` of a KEDA ScaledObject (keda.sh/v1alpha1) on ``deployment``: out on CPU
    or on the p95 response time of the slot's target group, whichever asks for more pods.

    The suffixes are the ``arn_suffix`` of the load balancer and of the slot's target group
    (plain strings in tests, outputs in the program). The HPA KEDA creates keeps the name of the
    plain HPA it replaces (the Deployment's name), so KEDA adopts it on the way over.
    """
    target = autoscaling.response_time_p95_seconds
    if target is None:
        raise ValueError("scaled_object_spec needs response_time_p95_seconds; without it the platform uses hpa_spec")
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicaCount": autoscaling.min_replicas,
        "maxReplicaCount": autoscaling.max_replicas,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "name": deployment,
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": autoscaling.scale_in_stabilization_seconds}},
            }
        },
        "triggers": [
            {
                "type": "cpu",
                "name": "cpu",
                "metricType": "Utilization",
                "metadata": {"value": str(autoscaling.cpu_target_percent)},
            },
            {
                "type": "aws-cloudwatch",
                "name": "p95-response-time",
                # Value: the HPA scales by p95 / target; AverageValue (the scaler's default) would
                # divide the latency by the pod count, as if it were a queue length.
                "metricType": "Value",
                # The HPA reads the value KEDA fetched on its polling loop (every 30 s) instead of
                # one GetMetricData call per HPA sync (every 15 s): half the CloudWatch reads.
                "useCachedMetrics": True,
                "authenticationRef": {"kind": "TriggerAuthentication", "name": trigger_authentication},
                "metadata": {
                    "namespace": "AWS/ApplicationELB",
                    "metricName": "TargetResponseTime",
                    "dimensionName": "TargetGroup;LoadBalancer",
                    "dimensionValue": _joined(target_group_arn_suffix, load_balancer_arn_suffix),
                    "metricStat": "p95",
                    "metricStatPeriod": str(LATENCY_METRIC_PERIOD_SECONDS),
                    "metricCollectionTime": str(LATENCY_WINDOW_SECONDS),
                    "targetMetricValue": f"{target:g}",
                    # No requests, no datapoint: read as 0 s, which asks for no pods (CPU still does).
                    "minMetricValue": "0",
                    "awsRegion": region,
                },
            },
        ],
    }


def _joined(target_group: Any, load_balancer: Any) -> Any:
    """``<target group>;<load balancer>``, for strings or Pulumi outputs alike."""
    if isinstance(target_group, str) and isinstance(load_balancer, str):
        return f"{target_group};{load_balancer}"
    return pulumi.Output.concat(target_group, ";", load_balancer)
