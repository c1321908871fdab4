"""EKS clusters: no control plane open to the internet, encrypted secrets, full control-plane logs."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import WORLD_CIDRS, is_true, items, listing, mapping, resource_policy

CLUSTER = "aws:eks/cluster:Cluster"
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]


def _endpoint(args: ResourceValidationArgs, report: ReportViolation) -> None:
    vpc = mapping(args.props.get("vpcConfig"))
    public = vpc.get("endpointPublicAccess")
    if public is not None and not is_true(public):
        return
    cidrs = list(items(vpc.get("publicAccessCidrs")))
    open_to = [c for c in cidrs if c in WORLD_CIDRS] if cidrs else ["0.0.0.0/0 (the default)"]
    if open_to:
        report(
            f"EKS cluster '{args.name}' exposes its API endpoint to {listing(open_to)}; set "
            "vpc_config.endpoint_public_access=False (with endpoint_private_access=True) or list the "
            "allowed networks in public_access_cidrs.",
            None,
        )


def _secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    encryption = mapping(args.props.get("encryptionConfig"))
    key = mapping(encryption.get("provider")).get("keyArn")
    if "secrets" not in items(encryption.get("resources")) or not key:
        report(
            f"EKS cluster '{args.name}' does not encrypt Kubernetes secrets with a KMS key; set "
            "encryption_config with resources=['secrets'] and provider.key_arn.",
            None,
        )


def _logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    required = list(args.get_config()["logTypes"])
    enabled = set(items(args.props.get("enabledClusterLogTypes")))
    missing = [t for t in required if t not in enabled]
    if missing:
        report(
            f"EKS cluster '{args.name}' does not log {listing(missing)}; "
            f"set enabled_cluster_log_types to {listing(required)}.",
            None,
        )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-eks-cluster-disallow-public-endpoint",
        "EKS cluster API endpoints must not be reachable from the whole internet.",
        [CLUSTER],
        _endpoint,
    ),
    resource_policy(
        "aws-eks-cluster-enable-secrets-encryption",
        "EKS clusters must encrypt Kubernetes secrets with a KMS key.",
        [CLUSTER],
        _secrets,
    ),
    resource_policy(
        "aws-eks-cluster-enable-control-plane-logging",
        "EKS clusters must send every control-plane log type to CloudWatch.",
        [CLUSTER],
        _logging,
        {"logTypes": {"type": "array", "items": {"type": "string", "enum": LOG_TYPES}, "default": LOG_TYPES}},
    ),
]
