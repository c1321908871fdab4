"""The application's pod autoscaler (issue 12): per slot's Deployment, a KEDA ScaledObject on
CPU and p95 latency where the phase sets a latency trigger (every EKS phase file), else one
autoscaling/v2 HorizontalPodAutoscaler on CPU; sized so that the node pools can follow it and it
can reach the peak; refused otherwise. KEDA's own checks: tests/test_keda.py."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.capacity import demand
from infra.config.eks import ApplicationAutoscaling
from infra.config.loader import parse_phase_config
from infra.plan.capture import ProgramRun, run_program
from infra.platform.autoscaling import APPLICATION_SHARE, autoscaling_problems, pod_ceiling, pods_for_peak
from infra.stack import build_phase
from tests.conftest import PHASES, built_phase, phase_config
from tests.test_config_rejections import DELETE, changed, rejection

HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
EKS_PHASES = [phase for phase in PHASES if phase_config(phase).eks is not None]


def settings(**overrides: Any) -> ApplicationAutoscaling:
    values: dict[str, Any] = {
        "deployments": {"blue": "web-blue"},
        "min_replicas": 2,
        "max_replicas": 24,
        "cpu_target_percent": 70,
        "cpu_request_millicores": 500,
        **overrides,
    }
    return ApplicationAutoscaling.model_validate(values, strict=False)


SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


@functools.cache
def growth_without_latency_trigger() -> ProgramRun:
    """Growth with ``response_time_p95_seconds`` removed: the plain CPU HPA path."""
    config = parse_phase_config(
        changed("eks.application.autoscaling.response_time_p95_seconds", DELETE), "Pulumi.growth.yaml"
    )
    return run_program(lambda: build_phase(config), project="scaleplan", stack="growth")


def app_hpas(run: ProgramRun) -> dict[str, Any]:
    return {r.name: r for r in run.of_type(HPA) if r.name.startswith("platform-app-")}


def test_sizing_counts_pods_by_their_cpu_request() -> None:
    # 16 vCPUs at max_size, 75% for the application, 500m pods: 24 pods.
    assert pod_ceiling(settings(), 16) == 24
    assert APPLICATION_SHARE == 0.75
    # 3 vCPUs at the peak: 6 pods of 500m.
    assert pods_for_peak(settings(), 3) == 6
    assert autoscaling_problems(settings(), max_application_vcpus=16, required_vcpus=3) == []


def test_more_pods_than_the_pools_hold_is_a_problem() -> None:
    assert autoscaling_problems(settings(max_replicas=25), max_application_vcpus=16, required_vcpus=3) == [
        (
            "max_replicas",
            "must be at most 24: the node pools hold 16 vCPUs at their max_size, 75% of them for application pods "
            "of 500m each; more pods would stay Pending (got 25); raise the pools' max_size or lower max_replicas",
        )
    ]


def test_fewer_pods_than_the_peak_needs_is_a_problem() -> None:
    assert autoscaling_problems(settings(max_replicas=5), max_application_vcpus=16, required_vcpus=3) == [
        ("max_replicas", "must be at least 6: the peak needs 3 vCPUs, 6 pods of 500m (got 5)")
    ]


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_every_eks_phase_scales_each_slot_on_cpu_and_latency_within_what_the_pools_hold(phase: str) -> None:
    config = phase_config(phase)
    assert config.eks is not None
    autoscaling = config.eks.application.autoscaling
    assert autoscaling is not None
    run = built_phase(phase)
    # KEDA owns the one HPA per Deployment: no plain HPA beside a ScaledObject.
    assert app_hpas(run) == {}
    scaled = {r.name: r for r in run.of_type(SCALED_OBJECT)}
    assert set(scaled) == {f"app-scaling-{slot.value}" for slot in autoscaling.deployments}
    for slot, deployment in autoscaling.deployments.items():
        resource = scaled[f"app-scaling-{slot.value}"]
        spec = resource.inputs["spec"]
        assert resource.inputs["metadata"]["namespace"] == config.eks.application.namespace
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment}
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (
            autoscaling.min_replicas,
            autoscaling.max_replicas,
        )
        cpu, latency = spec["triggers"]
        # seed 000: scale out at CPU > 70% or p95 > 500 ms
        assert cpu == {"type": "cpu", "name": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}
        assert latency["type"] == "aws-cloudwatch"
        assert latency["metadata"]["targetMetricValue"] == "0.5"
        behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
        assert behavior["scaleDown"]["stabilizationWindowSeconds"] == autoscaling.scale_in_stabilization_seconds
        assert resource.provider.split("::")[-2] == "k8s"
    # The node pools can hold the most pods, and the most pods serve the peak.
    assert autoscaling.max_replicas <= pod_ceiling(autoscaling, config.compute.max_application_vcpus())
    assert autoscaling.max_replicas >= pods_for_peak(autoscaling, demand(config.capacity).required_vcpus)


def test_without_a_latency_trigger_each_slot_gets_a_plain_cpu_hpa() -> None:
    config = phase_config("growth")
    assert config.eks is not None
    autoscaling = config.eks.application.autoscaling
    assert autoscaling is not None
    run = growth_without_latency_trigger()
    assert run.of_type(SCALED_OBJECT) == []
    hpas = app_hpas(run)
    assert set(hpas) == {f"platform-app-{slot.value}-hpa" for slot in autoscaling.deployments}
    for slot, deployment in autoscaling.deployments.items():
        hpa = hpas[f"platform-app-{slot.value}-hpa"]
        spec = hpa.inputs["spec"]
        assert hpa.inputs["metadata"]["namespace"] == config.eks.application.namespace
        assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment}
        assert (spec["minReplicas"], spec["maxReplicas"]) == (autoscaling.min_replicas, autoscaling.max_replicas)
        assert spec["metrics"] == [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
            }
        ]
        assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == autoscaling.scale_in_stabilization_seconds
        assert hpa.provider.split("::")[-2] == "k8s"
        assert any(dep.endswith("platform-metrics-server") for dep in hpa.dependencies)


def test_hpas_pass_kubernetes_validate_strict(tmp_path: Path) -> None:
    files = []
    hpas = app_hpas(growth_without_latency_trigger())
    assert hpas
    for name, resource in hpas.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(dict(resource.inputs), sort_keys=False))
        files.append(str(path))
    eks = phase_config("growth").eks
    assert eks is not None
    version = eks.kubernetes_version
    cli = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(cli), "-k", f"{version}.0", "--strict", "--no-warn", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


REJECTED: list[tuple[str, str, Any, str]] = [
    (
        "more_pods_than_nodes",
        "eks.application.autoscaling.max_replicas",
        25,
        "scaleplan:eks.application.autoscaling.max_replicas: must be at most 24: the node pools hold 16 vCPUs at "
        "their max_size, 75% of them for application pods of 500m each; more pods would stay Pending (got 25); "
        "raise the pools' max_size or lower max_replicas",
    ),
    (
        "min_above_max",
        "eks.application.autoscaling.min_replicas",
        30,
        "scaleplan:eks.application.autoscaling.min_replicas: must not exceed max_replicas 24 (got 30)",
    ),
    (
        "target_above_range",
        "eks.application.autoscaling.cpu_target_percent",
        99,
        "scaleplan:eks.application.autoscaling.cpu_target_percent: must be <= 95 (got 99)",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_rejects_autoscaling_the_pools_cannot_follow(path: str, value: Any, expected: str) -> None:
    assert rejection(changed(path, value)) == [f"Pulumi.growth.yaml: {expected}"]
