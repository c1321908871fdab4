"""EKS-managed add-ons that need running nodes: CoreDNS and the EBS CSI driver."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.compute.irsa import ClusterOidc, ServiceAccountRoleArgs
from infra.config.eks import AddonVersions

EBS_CSI_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"


@dataclass(frozen=True, kw_only=True)
class ClusterAddonsArgs:
    cluster_name: pulumi.Input[str]
    oidc: ClusterOidc
    versions: AddonVersions
    environment: str
    tags: Mapping[str, str]


class ClusterAddons(pulumi.ComponentResource):
    """CoreDNS and the EBS CSI driver (with its own IRSA role), at the pinned versions.

    Declare it depending on the node pools: both run as pods, and an add-on without nodes to
    run on stays degraded, failing the deployment.
    """

    ebs_csi_role_arn: pulumi.Output[str]
    """IRSA role of the EBS CSI controller."""

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:compute:ClusterAddons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        aws.eks.Addon(
            f"{name}-coredns",
            cluster_name=args.cluster_name,
            addon_name="coredns",
            addon_version=args.versions.coredns,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=dict(args.tags),
            opts=child,
        )
        ebs_role = args.oidc.service_account_role(
            f"{name}-ebs-csi",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace="kube-system",
                service_account=EBS_CSI_SERVICE_ACCOUNT,
                managed_policy_arns=[EBS_CSI_POLICY_ARN],
                tags=args.tags,
            ),
            parent=self,
        )
        aws.eks.Addon(
            f"{name}-aws-ebs-csi-driver",
            cluster_name=args.cluster_name,
            addon_name="aws-ebs-csi-driver",
            addon_version=args.versions.aws_ebs_csi_driver,
            service_account_role_arn=ebs_role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=dict(args.tags),
            opts=child,
        )
        self.ebs_csi_role_arn = ebs_role.arn
        self.register_outputs({"ebs_csi_role_arn": self.ebs_csi_role_arn})
