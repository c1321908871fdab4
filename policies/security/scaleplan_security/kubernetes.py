"""Kubernetes: pod security in every workload kind the program declares (the restricted Pod Security
Standard, read from inputs), pinned and bounded containers, restricted namespaces, internal services,
External Secrets through IRSA with refresh, strong certificate keys, pinned Helm charts over HTTPS.

Workloads rendered by Helm charts are invisible here: the engine sees only the ``Release`` and its
values, not the objects the chart renders (docs/policy.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import items, listing, mapping, number, resource_policy

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
TEMPLATED = (
    DEPLOYMENT,
    STATEFUL_SET,
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
    "kubernetes:core/v1:ReplicationController",
)
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
WORKLOADS = (*TEMPLATED, CRON_JOB, POD)
"""Every kind that carries a pod spec, and where: spec.template.spec, spec.jobTemplate.spec.template.spec, spec."""
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
EXTERNAL_SECRETS = (
    "kubernetes:external-secrets.io/v1:ExternalSecret",
    "kubernetes:external-secrets.io/v1beta1:ExternalSecret",
)
SECRET_STORES = (
    "kubernetes:external-secrets.io/v1:SecretStore",
    "kubernetes:external-secrets.io/v1:ClusterSecretStore",
    "kubernetes:external-secrets.io/v1beta1:SecretStore",
    "kubernetes:external-secrets.io/v1beta1:ClusterSecretStore",
)
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
ALLOWED_CAPABILITIES = ["NET_BIND_SERVICE"]
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _kind(args: ResourceValidationArgs) -> str:
    return args.resource_type.rsplit(":", 1)[-1]


def _pod_spec(args: ResourceValidationArgs) -> Mapping[str, Any]:
    spec = mapping(args.props.get("spec"))
    if args.resource_type == POD:
        return spec
    if args.resource_type == CRON_JOB:
        spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    return mapping(mapping(spec.get("template")).get("spec"))


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from items(pod.get("initContainers"))
    yield from items(pod.get("containers"))
    yield from items(pod.get("ephemeralContainers"))


def _each_container(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any]]]:
    """(prefix for a message, container, container securityContext) for every container of the workload."""
    for container in _containers(_pod_spec(args)):
        yield (
            f"{_kind(args)} '{args.name}' container '{container.get('name')}'",
            container,
            mapping(container.get("securityContext")),
        )


def _non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod_context = mapping(_pod_spec(args).get("securityContext"))
    for prefix, _, context in _each_container(args):
        own = context.get("runAsNonRoot")
        if (own if own is not None else pod_context.get("runAsNonRoot")) is not True:
            report(
                f"{prefix} may run as root; set securityContext.runAsNonRoot=true on the pod or the container.",
                None,
            )
        user = context.get("runAsUser", pod_context.get("runAsUser"))
        if user == 0:
            report(f"{prefix} sets runAsUser=0 (root); run as a non-zero user ID.", None)


def _read_only_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for prefix, _, context in _each_container(args):
        if context.get("readOnlyRootFilesystem") is not True:
            report(
                f"{prefix} has a writable root filesystem; "
                "set securityContext.readOnlyRootFilesystem=true (mount an emptyDir for scratch space).",
                None,
            )


def _limits(args: ResourceValidationArgs, report: ReportViolation) -> None:
    required = list(args.get_config()["requiredLimits"])
    for prefix, container, _ in _each_container(args):
        limits = mapping(mapping(container.get("resources")).get("limits"))
        missing = [r for r in required if not limits.get(r)]
        if missing:
            report(f"{prefix} has no {listing(missing)} limit; set resources.limits for {listing(required)}.", None)


def _unpinned(image: str) -> bool:
    if "@sha256:" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.rsplit(":", 1)[1] in ("", "latest")


def _pinned_images(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for prefix, container, _ in _each_container(args):
        image = str(container.get("image", ""))
        if _unpinned(image):
            report(
                f"{prefix} uses image '{image}', which is not "
                "pinned; use an immutable version tag or a @sha256 digest, never latest.",
                None,
            )


def _replicas(args: ResourceValidationArgs, report: ReportViolation) -> None:
    minimum = args.get_config()["minimumReplicas"]
    replicas = mapping(args.props.get("spec")).get("replicas")
    if replicas is None or replicas < minimum:
        shown = "unset (1)" if replicas is None else number(replicas)
        report(
            f"{_kind(args)} '{args.name}' runs {shown} replicas; set spec.replicas to at least {number(minimum)}.",
            None,
        )


def _privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for prefix, _, context in _each_container(args):
        if context.get("privileged") is True:
            report(f"{prefix} is privileged (full access to the node); set securityContext.privileged=false.", None)


def _escalation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for prefix, _, context in _each_container(args):
        if context.get("allowPrivilegeEscalation") is not False:
            shown = context.get("allowPrivilegeEscalation")
            report(
                f"{prefix} allows privilege escalation (allowPrivilegeEscalation="
                f"{'unset, which allows it' if shown is None else shown!r}); set "
                "securityContext.allowPrivilegeEscalation=false.",
                None,
            )


def _capabilities(args: ResourceValidationArgs, report: ReportViolation) -> None:
    allowed = set(args.get_config()["allowedCapabilities"])
    for prefix, _, context in _each_container(args):
        capabilities = mapping(context.get("capabilities"))
        added = [c for c in items(capabilities.get("add")) if c not in allowed]
        if added:
            report(f"{prefix} adds capabilities {listing(added)}; add none (only {listing(sorted(allowed))}).", None)
        if "ALL" not in items(capabilities.get("drop")):
            report(f"{prefix} keeps the runtime's default capabilities; set capabilities.drop=['ALL'].", None)


def _host_namespaces(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod = _pod_spec(args)
    shared = [key for key in ("hostNetwork", "hostPID", "hostIPC") if pod.get(key) is True]
    if shared:
        report(
            f"{_kind(args)} '{args.name}' shares the node's {listing(shared)}; set {listing(shared)} to false.", None
        )
    host_paths = [str(v.get("name")) for v in items(pod.get("volumes")) if mapping(v).get("hostPath")]
    if host_paths:
        report(
            f"{_kind(args)} '{args.name}' mounts node directories (hostPath volumes {listing(host_paths)}); use "
            "emptyDir, ConfigMap, Secret or persistent volumes.",
            None,
        )


def _seccomp(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod_profile = mapping(mapping(_pod_spec(args).get("securityContext")).get("seccompProfile")).get("type")
    for prefix, _, context in _each_container(args):
        profile = mapping(context.get("seccompProfile")).get("type") or pod_profile
        if profile not in SECCOMP_TYPES:
            shown = "unset (Unconfined on most runtimes)" if profile is None else repr(profile)
            report(
                f"{prefix} runs with seccomp profile {shown}; set securityContext.seccompProfile.type="
                "'RuntimeDefault' on the pod or the container.",
                None,
            )


def _token_automount(args: ResourceValidationArgs, report: ReportViolation) -> None:
    pod = _pod_spec(args)
    account = pod.get("serviceAccountName") or "default"
    if account in args.get_config()["tokenServiceAccounts"]:
        return
    if pod.get("automountServiceAccountToken") is not False:
        report(
            f"{_kind(args)} '{args.name}' mounts the service account token of '{account}' into every container; "
            "set automountServiceAccountToken=false on the pod (or list the account in tokenServiceAccounts "
            "if it must call the Kubernetes API).",
            None,
        )


def _namespace_level(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    allowed = list(config["allowedLevels"])
    metadata = mapping(args.props.get("metadata"))
    # The one exception: a namespace the stack file's configuration names for node agents (the
    # CloudWatch agent mounts node directories and uses the host network) may be privileged.
    if metadata.get("name") in config["hostAccessNamespaces"]:
        allowed = [*allowed, "privileged"]
    level = mapping(metadata.get("labels")).get("pod-security.kubernetes.io/enforce")
    if level not in allowed:
        report(
            f"Namespace '{args.name}' enforces pod security level {level!r}; label it "
            f"pod-security.kubernetes.io/enforce with one of {listing(allowed)}.",
            None,
        )


def _internal_service(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = mapping(args.props.get("spec"))
    kind = spec.get("type") or "ClusterIP"
    if kind in ("NodePort", "LoadBalancer") or items(spec.get("externalIPs")):
        report(
            f"Service '{args.name}' is exposed outside the cluster (type {kind}"
            f"{', externalIPs' if items(spec.get('externalIPs')) else ''}); use ClusterIP and reach it through "
            "the ALB (TargetGroupBinding).",
            None,
        )


def _refresh(args: ResourceValidationArgs, report: ReportViolation) -> None:
    interval = str(mapping(args.props.get("spec")).get("refreshInterval", "1h"))
    if re.fullmatch(r"0+(s|m|h)?", interval):
        report(
            f"ExternalSecret '{args.name}' never refreshes (refreshInterval={interval!r}), so a rotated secret "
            "never reaches the pods; set a refresh interval such as '1h'.",
            None,
        )


def _store_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    provider = mapping(mapping(args.props.get("spec")).get("provider"))
    for name, settings in provider.items():
        if mapping(mapping(settings).get("auth")).get("secretRef"):
            report(
                f"{_kind(args)} '{args.name}' authenticates to {name} with static keys from a Kubernetes secret; "
                "use auth.jwt.serviceAccountRef (IRSA).",
                None,
            )


def _certificate_key(args: ResourceValidationArgs, report: ReportViolation) -> None:
    key = mapping(mapping(args.props.get("spec")).get("privateKey"))
    algorithm = key.get("algorithm", "RSA")
    size = key.get("size")
    minimum = {"RSA": 2048, "ECDSA": 256, "Ed25519": 0}.get(str(algorithm))
    if minimum is None or (size is not None and size < minimum):
        report(
            f"Certificate '{args.name}' uses a weak key ({algorithm} {number(size) if size else 'default size'}); "
            "use ECDSA "
            "256+, RSA 2048+ or Ed25519.",
            None,
        )


def _helm_pinned(args: ResourceValidationArgs, report: ReportViolation) -> None:
    version = str(args.props.get("version") or "")
    if not version or any(c in version for c in "*^~<>| x"):
        report(
            f"Helm release '{args.name}' installs chart version {version or 'unset (the newest)'}; pin "
            "version to an exact chart release.",
            None,
        )


def _helm_repository(args: ResourceValidationArgs, report: ReportViolation) -> None:
    repo = str(mapping(args.props.get("repositoryOpts")).get("repo") or "")
    chart = str(args.props.get("chart") or "")
    source = repo or chart
    if source.startswith("http://"):
        report(
            f"Helm release '{args.name}' downloads its chart over plain HTTP ({source}); use an https:// or "
            "oci:// repository.",
            None,
        )


POD_KINDS = list(WORKLOADS)

POLICIES: list[Policy] = [
    resource_policy(
        "kubernetes-apps-deployment-require-non-root",
        "Workload containers (every kind with a pod spec) must not run as root.",
        POD_KINDS,
        _non_root,
    ),
    resource_policy(
        "kubernetes-apps-deployment-require-read-only-root-filesystem",
        "Workload containers (every kind with a pod spec) must have a read-only root filesystem.",
        POD_KINDS,
        _read_only_root,
    ),
    resource_policy(
        "kubernetes-apps-deployment-require-resource-limits",
        "Workload containers (every kind with a pod spec) must declare resource limits.",
        POD_KINDS,
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
        "Workload images (every kind with a pod spec) must be pinned to a version tag or digest.",
        POD_KINDS,
        _pinned_images,
    ),
    resource_policy(
        "kubernetes-apps-deployment-require-min-replicas",
        "Deployments and StatefulSets must run enough replicas to survive losing one.",
        [DEPLOYMENT, STATEFUL_SET],
        _replicas,
        {"minimumReplicas": {"type": "integer", "minimum": 1, "default": 2}},
    ),
    resource_policy(
        "kubernetes-pod-disallow-privileged-containers",
        "Workload containers must not be privileged.",
        POD_KINDS,
        _privileged,
    ),
    resource_policy(
        "kubernetes-pod-disallow-privilege-escalation",
        "Workload containers must set allowPrivilegeEscalation=false.",
        POD_KINDS,
        _escalation,
    ),
    resource_policy(
        "kubernetes-pod-disallow-added-capabilities",
        "Workload containers must drop ALL capabilities and add none.",
        POD_KINDS,
        _capabilities,
        {"allowedCapabilities": {"type": "array", "items": {"type": "string"}, "default": ALLOWED_CAPABILITIES}},
    ),
    resource_policy(
        "kubernetes-pod-disallow-host-namespaces",
        "Workloads must not share the node's network, PID or IPC namespaces or mount its directories.",
        POD_KINDS,
        _host_namespaces,
    ),
    resource_policy(
        "kubernetes-pod-require-seccomp-profile",
        "Workload containers must run under the RuntimeDefault (or a Localhost) seccomp profile.",
        POD_KINDS,
        _seccomp,
    ),
    resource_policy(
        "kubernetes-pod-disable-service-account-token-automount",
        "Workloads must not mount a service account token unless their account is listed as needing one.",
        POD_KINDS,
        _token_automount,
        {"tokenServiceAccounts": {"type": "array", "items": {"type": "string"}, "default": []}},
    ),
    resource_policy(
        "kubernetes-core-namespace-require-pod-security-level",
        "Namespaces must enforce the restricted Pod Security Standard.",
        [NAMESPACE],
        _namespace_level,
        {
            "allowedLevels": {"type": "array", "items": {"type": "string"}, "default": ["restricted"]},
            # Namespaces (metadata.name) whose node agents need host access: privileged is accepted
            # there and nowhere else. Set from the stack file (infra/policy/settings.py).
            "hostAccessNamespaces": {"type": "array", "items": {"type": "string"}, "default": []},
        },
    ),
    resource_policy(
        "kubernetes-core-service-disallow-external-exposure",
        "Services must stay inside the cluster (the ALB reaches pods through target group bindings).",
        [SERVICE],
        _internal_service,
    ),
    resource_policy(
        "kubernetes-externalsecrets-externalsecret-require-refresh",
        "ExternalSecrets must refresh, so rotated secrets reach the pods.",
        EXTERNAL_SECRETS,
        _refresh,
    ),
    resource_policy(
        "kubernetes-externalsecrets-secretstore-disallow-static-credentials",
        "Secret stores must authenticate through IRSA, not static keys.",
        SECRET_STORES,
        _store_auth,
    ),
    resource_policy(
        "kubernetes-certmanager-certificate-require-strong-key",
        "cert-manager certificates must use strong keys.",
        [CERTIFICATE],
        _certificate_key,
    ),
    resource_policy(
        "kubernetes-helm-release-require-pinned-version",
        "Helm releases must pin an exact chart version.",
        [HELM_RELEASE],
        _helm_pinned,
    ),
    resource_policy(
        "kubernetes-helm-release-require-https-repository",
        "Helm charts must be downloaded over TLS.",
        [HELM_RELEASE],
        _helm_repository,
    ),
]
