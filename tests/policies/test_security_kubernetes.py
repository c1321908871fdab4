"""Kubernetes Deployment rules, through the real analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy.runner import resource
from tests.policies.conftest import DELETE, PackUnderTest, mutate

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONTAINER: dict[str, Any] = {
    "name": "pgbouncer",
    "image": "bitnami/pgbouncer:1.23.1",
    "securityContext": {
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
}
APP: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "pgbouncer", "namespace": "data"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "pgbouncer"}},
        "template": {
            "metadata": {"labels": {"app": "pgbouncer"}},
            "spec": {
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 1001,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "automountServiceAccountToken": False,
                "containers": [CONTAINER],
            },
        },
    },
}
C0 = "spec.template.spec.containers.0"


def test_compliant_deployment_passes_every_rule(security_pack: PackUnderTest) -> None:
    assert security_pack.all_violations(resource(DEPLOYMENT, "pgb", APP)) == {}


def test_image_pinned_by_digest_passes(security_pack: PackUnderTest) -> None:
    digest = "registry.example:5000/pgbouncer@sha256:" + "a" * 64
    deployment = resource(DEPLOYMENT, "pgb", mutate(APP, f"{C0}.image", digest))
    assert security_pack.violations(deployment, "kubernetes-apps-deployment-disallow-unpinned-images") == []


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        (
            "kubernetes-apps-deployment-require-non-root",
            "spec.template.spec.securityContext.runAsNonRoot",
            DELETE,
            "Deployment 'pgb' container 'pgbouncer' may run as root; set securityContext.runAsNonRoot=true "
            "on the pod or the container.",
        ),
        (
            "kubernetes-apps-deployment-require-non-root",
            f"{C0}.securityContext.runAsNonRoot",
            False,
            "Deployment 'pgb' container 'pgbouncer' may run as root; set securityContext.runAsNonRoot=true "
            "on the pod or the container.",
        ),
        (
            "kubernetes-apps-deployment-require-read-only-root-filesystem",
            f"{C0}.securityContext.readOnlyRootFilesystem",
            DELETE,
            "Deployment 'pgb' container 'pgbouncer' has a writable root filesystem; set "
            "securityContext.readOnlyRootFilesystem=true (mount an emptyDir for scratch space).",
        ),
        (
            "kubernetes-apps-deployment-require-resource-limits",
            f"{C0}.resources.limits",
            {"memory": "256Mi"},
            "Deployment 'pgb' container 'pgbouncer' has no cpu limit; set resources.limits for cpu, memory.",
        ),
        (
            "kubernetes-apps-deployment-disallow-unpinned-images",
            f"{C0}.image",
            "bitnami/pgbouncer:latest",
            "Deployment 'pgb' container 'pgbouncer' uses image 'bitnami/pgbouncer:latest', which is not pinned; "
            "use an immutable version tag or a @sha256 digest, never latest.",
        ),
        (
            "kubernetes-apps-deployment-disallow-unpinned-images",
            f"{C0}.image",
            "registry.example:5000/pgbouncer",
            "Deployment 'pgb' container 'pgbouncer' uses image 'registry.example:5000/pgbouncer', which is not "
            "pinned; use an immutable version tag or a @sha256 digest, never latest.",
        ),
        (
            "kubernetes-apps-deployment-require-min-replicas",
            "spec.replicas",
            1,
            "Deployment 'pgb' runs 1 replicas; set spec.replicas to at least 2.",
        ),
        (
            "kubernetes-apps-deployment-require-min-replicas",
            "spec.replicas",
            DELETE,
            "Deployment 'pgb' runs unset (1) replicas; set spec.replicas to at least 2.",
        ),
    ],
)
def test_rejects_deployment(security_pack: PackUnderTest, policy: str, path: str, value: object, message: str) -> None:
    assert security_pack.all_violations(resource(DEPLOYMENT, "pgb", mutate(APP, path, value))) == {policy: [message]}


def test_init_containers_are_checked_too(security_pack: PackUnderTest) -> None:
    init = {**CONTAINER, "name": "migrate", "image": "app/migrate"}
    deployment = resource(DEPLOYMENT, "pgb", mutate(APP, "spec.template.spec.initContainers", [init]))
    assert security_pack.all_violations(deployment) == {
        "kubernetes-apps-deployment-disallow-unpinned-images": [
            "Deployment 'pgb' container 'migrate' uses image 'app/migrate', which is not pinned; "
            "use an immutable version tag or a @sha256 digest, never latest."
        ]
    }
