"""EKS: no control plane open to the internet, encrypted secrets, full logs, access entries, locked-down nodes."""

from __future__ import annotations

from pulumi_policy import Policy, ReportViolation, ResourceValidationArgs

from ._common import WORLD_CIDRS, is_true, items, listing, mapping, resource_policy

CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
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


def _access_entries(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mode = mapping(args.props.get("accessConfig")).get("authenticationMode")
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        shown = "unset (CONFIG_MAP)" if mode is None else repr(mode)
        report(
            f"EKS cluster '{args.name}' authenticates through the aws-auth ConfigMap (authenticationMode={shown}); "
            "set access_config.authentication_mode='API' so access is managed as audited access entries.",
            None,
        )


def _cluster_deletion_protection(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if not is_true(args.props.get("deletionProtection")):
        report(f"EKS cluster '{args.name}' can be deleted by one call; set deletion_protection=True.", None)


def _remote_access(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if mapping(args.props.get("remoteAccess")):
        report(
            f"EKS node group '{args.name}' opens SSH (remote_access); remove it and reach nodes through SSM.",
            None,
        )


def _node_launch_template(args: ResourceValidationArgs, report: ReportViolation) -> None:
    template = mapping(args.props.get("launchTemplate"))
    if not (template.get("id") or template.get("name")):
        report(
            f"EKS node group '{args.name}' has no launch template, so IMDSv2, the hop limit and encrypted volumes "
            "are left to EKS defaults; set launch_template to the program's template.",
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
    resource_policy(
        "aws-eks-cluster-require-access-entries",
        "EKS clusters must manage access through access entries, not the aws-auth ConfigMap.",
        [CLUSTER],
        _access_entries,
    ),
    resource_policy(
        "aws-eks-cluster-enable-deletion-protection",
        "EKS clusters must have deletion protection.",
        [CLUSTER],
        _cluster_deletion_protection,
    ),
    resource_policy(
        "aws-eks-nodegroup-disallow-remote-access",
        "EKS node groups must not open SSH.",
        [NODE_GROUP],
        _remote_access,
    ),
    resource_policy(
        "aws-eks-nodegroup-require-launch-template",
        "EKS node groups must launch from the program's launch template.",
        [NODE_GROUP],
        _node_launch_template,
    ),
]
