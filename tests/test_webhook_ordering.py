"""The AWS Load Balancer Controller's webhooks are serving before anything they admit is applied.

Its mutating webhook on Services (and the TargetGroupBinding webhooks) fail closed: a Service
created while the controller's pods are not ready is refused, and ``pulumi up`` fails now and
then (aws-load-balancer-controller#4140). So the controller's release is awaited (atomic, not
``skip_await``), and every chart, Service, workload and binding depends on it by name.
"""

from __future__ import annotations

import pytest

from infra.plan.capture import CapturedResource, ProgramRun
from tests.conftest import built_phase, phase_config

RELEASE = "kubernetes:helm.sh/v3:Release"
CONTROLLER = "platform-aws-load-balancer-controller"
EKS_PHASES = [phase for phase in ("foundation", "growth", "scale", "optimize") if phase_config(phase).eks is not None]

# What the controller's webhooks see: charts (they create Services), Services, workloads and bindings.
ADMITTED_TYPES = frozenset(
    {
        RELEASE,
        "kubernetes:core/v1:Service",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
    }
)


@pytest.fixture(params=EKS_PHASES)
def eks_phase(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def controller(run: ProgramRun) -> CapturedResource:
    return run.one(RELEASE, CONTROLLER)


def test_every_eks_phase_is_covered() -> None:
    assert EKS_PHASES == ["growth", "scale", "optimize"]


def test_the_controller_release_waits_until_its_pods_are_ready(eks_phase: str) -> None:
    release = controller(built_phase(eks_phase))
    assert release.inputs["atomic"] is True  # implies helm --wait
    assert release.inputs.get("skipAwait") is False


def test_every_service_chart_and_binding_depends_on_the_controller_release(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    release = controller(run)
    admitted = [r for r in run.resources if r.type in ADMITTED_TYPES and r.urn != release.urn]
    # The platform's two other charts, PgBouncer's three and its pools, and the bindings.
    assert len(admitted) >= 8, [r.name for r in admitted]
    waiting_for_nothing = [r.name for r in admitted if release.urn not in r.dependencies]
    assert waiting_for_nothing == []


def test_the_controller_release_waits_for_the_nodes_and_core_add_ons(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    dependencies = set(controller(run).dependencies)
    assert {group.urn for group in run.of_type("aws:eks/nodeGroup:NodeGroup")} <= dependencies
    assert run.one("aws:eks/addon:Addon", "eks-addons-coredns").urn in dependencies


def test_the_controller_does_not_wait_for_what_waits_for_it(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    release = controller(run)
    dependents = {r.urn for r in run.resources if release.urn in r.dependencies}
    assert not dependents & set(release.dependencies)
