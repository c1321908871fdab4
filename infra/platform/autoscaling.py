"""The application's HorizontalPodAutoscaler: its spec, and whether the node pools can follow it.
Pure functions, no Pulumi.

Sizing, stated once: a pod is counted by its CPU request. The node pools' ceiling is
``max_application_vcpus`` (every pool that serves the application at ``max_size``); of each
node, :data:`APPLICATION_SHARE` is left to application pods after the kubelet's reserve and the
daemon sets (VPC CNI, kube-proxy, EBS CSI node; about 0.25 vCPU of a 2-vCPU node), PgBouncer and
the platform's controllers. ``max_replicas`` pods must fit under that ceiling (or the cluster
autoscaler cannot follow the pod autoscaler, and pods stay Pending), and must reach the
capacity model's required vCPUs at the peak (or the pod autoscaler stops short of it).

Latency is not a trigger here: an autoscaling/v2 ``External`` or ``Object`` metric needs a
metrics adapter (for CloudWatch's ``TargetResponseTime``), which the platform does not install.
The ALB's p95 and p99 alarms watch latency instead.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from infra.config.eks import ApplicationAutoscaling

if TYPE_CHECKING:  # the SDK's typed-dict shape, for the type checker only
    from pulumi_kubernetes.autoscaling.v2 import HorizontalPodAutoscalerSpecArgsDict

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
