"""Kubernetes Deployments: non-root, read-only root filesystem, bounded resources, pinned images, redundancy."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import items, listing, mapping, number, resource_policy

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _pod_spec(args: ResourceValidationArgs) -> Mapping[str, Any]:
    return mapping(mapping(mapping(args.props.get("spec")).get("template")).get("spec"))


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from items(pod.get("initContainers"))
    yield from items(pod.get("containers"))


def _non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod = _pod_spec(args)
    pod_default = mapping(pod.get("securityContext")).get("runAsNonRoot")
    for container in _containers(pod):
        own = mapping(container.get("securityContext")).get("runAsNonRoot")
        if (own if own is not None else pod_default) is not True:
            report(
                f"Deployment '{args.name}' container '{container.get('name')}' may run as root; set "
                "securityContext.runAsNonRoot=true on the pod or the container.",
                None,
            )


def _read_only_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(_pod_spec(args)):
        if mapping(container.get("securityContext")).get("readOnlyRootFilesystem") is not True:
            report(
                f"Deployment '{args.name}' container '{container.get('name')}' has a writable root filesystem; "
                "set securityContext.readOnlyRootFilesystem=true (mount an emptyDir for scratch space).",
                None,
            )


def _limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    required = list(args.get_config()["requiredLimits"])
    for container in _containers(_pod_spec(args)):
        limits = mapping(mapping(container.get("resources")).get("limits"))
        missing = [r for r in required if not limits.get(r)]
        if missing:
            report(
                f"Deployment '{args.name}' container '{container.get('name')}' has no {listing(missing)} limit; "
                f"set resources.limits for {listing(required)}.",
                None,
            )


def _unpinned(image: str) -> bool:
    if "@sha256:" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.rsplit(":", 1)[1] in ("", "latest")


def _pinned_images(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in _containers(_pod_spec(args)):
        image = str(container.get("image", ""))
        if _unpinned(image):
            report(
                f"Deployment '{args.name}' container '{container.get('name')}' uses image '{image}', which is not "
                "pinned; use an immutable version tag or a @sha256 digest, never latest.",
                None,
            )


def _replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumReplicas"]
    replicas = mapping(args.props.get("spec")).get("replicas")
    if replicas is None or replicas < minimum:
        shown = "unset (1)" if replicas is None else number(replicas)
        report(
            f"Deployment '{args.name}' runs {shown} replicas; set spec.replicas to at least {number(minimum)}.",
            None,
        )


POLICIES: list[Policy] = [
    resource_policy(
        "kubernetes-apps-deployment-require-non-root",
        "Deployment containers must not run as root.",
        [DEPLOYMENT],
        _non_root,
    ),
    resource_policy(
        "kubernetes-apps-deployment-require-read-only-root-filesystem",
        "Deployment containers must have a read-only root filesystem.",
        [DEPLOYMENT],
        _read_only_root,
    ),
    resource_policy(
        "kubernetes-apps-deployment-require-resource-limits",
        "Deployment containers must declare resource limits.",
        [DEPLOYMENT],
        _limits,
        {
            "requiredLimits": {
                "type": "array",
                "items": {"type": "string", "enum": ["cpu", "memory", "ephemeral-storage"]},
                "default": ["cpu", "memory"],
            }
        },
    ),
    resource_policy(
        "kubernetes-apps-deployment-disallow-unpinned-images",
        "Deployment images must be pinned to a version tag or digest.",
        [DEPLOYMENT],
        _pinned_images,
    ),
    resource_policy(
        "kubernetes-apps-deployment-require-min-replicas",
        "Deployments must run enough replicas to survive losing one.",
        [DEPLOYMENT],
        _replicas,
        {"minimumReplicas": {"type": "integer", "minimum": 1, "default": 2}},
    ),
]
