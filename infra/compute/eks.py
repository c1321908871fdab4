"""The EKS control plane: cluster, its keys, logs, IAM, OIDC provider and pre-node add-ons."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.compute.irsa import ClusterOidc, ServiceAccountRoleArgs
from infra.config.eks import EksConfig
from infra.keys import account_administers_key
from infra.naming import Service, physical_name
from infra.tagging import with_name

CONTROL_PLANE_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""All five control-plane log types EKS can ship to CloudWatch."""
AUTHENTICATION_MODE = "API"
"""Access entries only: the ``aws-auth`` ConfigMap is not consulted."""
CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
_AWS_MANAGED = "arn:aws:iam::aws:policy"


def cluster_physical_name(environment: str) -> str:
    """The cluster's name; node-group autoscaler tags embed it, so it is known before deployment."""
    return physical_name(environment, "eks", service=Service.EKS_CLUSTER)


def control_plane_log_group_name(cluster_name: str) -> str:
    """The group EKS writes to; creating it first lets us own its retention and encryption."""
    return f"/aws/eks/{cluster_name}/cluster"


def service_trust_policy(service: str, *, tag_session: bool = False) -> str:
    """Trust policy for an AWS service principal (``eks.amazonaws.com``).

    ``tag_session`` also lets the service tag its sessions, which EKS does for the cluster
    role; EC2 does not, so node roles leave it out.
    """
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else ["sts:AssumeRole"]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": actions,
                }
            ],
        }
    )


def secrets_key_policy(account_id: str) -> str:
    """The account administers the key; the cluster role gets use through its IAM policy."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [account_administers_key(account_id)],
        }
    )


def cluster_kms_policy(key_arn: str) -> str:
    """What EKS needs on the secrets key for envelope encryption."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EnvelopeEncryptSecrets",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                    "Resource": key_arn,
                }
            ],
        }
    )


@dataclass(frozen=True, kw_only=True)
class EksClusterArgs:
    config: EksConfig
    environment: str
    region: str
    account_id: pulumi.Input[str]
    private_subnet_ids: Mapping[str, pulumi.Input[str]]
    """Private (compute) subnets by AZ: the control plane's ENIs go here."""
    logs_kms_key_arn: pulumi.Input[str]
    """CMK of the control-plane log group."""
    tags: Mapping[str, str]


class EksCluster(pulumi.ComponentResource):
    """An EKS cluster with the secure settings on.

    - API endpoint private; public only for the configured CIDRs (never ``0.0.0.0/0`` unless
      the config overrides it by name).
    - All five control-plane log types into ``/aws/eks/<cluster>/cluster``, created here first
      with the configured retention and the logs CMK.
    - Kubernetes secrets envelope-encrypted with a CMK of its own (rotation on, protected).
      Node root volumes use the platform's volumes key, which outlives the cluster's phases.
    - Access entries only (``authenticationMode: API``); deletion protection on.
    - The IAM OIDC provider for IRSA, and the add-ons nodes need before they can be Ready
      (vpc-cni with its own IRSA role, kube-proxy), pinned to the configured versions.
    """

    cluster_name: pulumi.Output[str]
    """Name of the cluster."""
    endpoint: pulumi.Output[str]
    """HTTPS endpoint of the Kubernetes API."""
    certificate_authority_data: pulumi.Output[str]
    """Base64 CA bundle of the API endpoint."""
    cluster_security_group_id: pulumi.Output[str]
    """The security group EKS creates for control plane to node traffic."""
    kubernetes_version: str
    oidc: ClusterOidc
    """The IRSA identity provider; build service-account roles with ``oidc.service_account_role``."""
    secrets_kms_key_arn: pulumi.Output[str]
    """CMK that envelope-encrypts Kubernetes secrets."""
    before_compute: list[pulumi.Resource]
    """Add-ons node groups must wait for (their nodes cannot become Ready without them)."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:compute:EksCluster", name, None, opts)
        cfg = args.config
        tags = args.tags
        child = pulumi.ResourceOptions(parent=self)
        cluster_name = cluster_physical_name(args.environment)
        account_id = pulumi.Output.from_input(args.account_id)

        secrets_key = self._secrets_key(name, args, account_id.apply(secrets_key_policy))

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=control_plane_log_group_name(cluster_name),
            retention_in_days=cfg.control_plane_log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=with_name(tags, cluster_name),
            opts=child,
        )

        role_name = physical_name(args.environment, "eks-cluster", service=Service.IAM_ROLE)
        role = aws.iam.Role(
            f"{name}-cluster-role",
            name=role_name,
            assume_role_policy=service_trust_policy("eks.amazonaws.com", tag_session=True),
            tags=with_name(tags, role_name),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn=f"{_AWS_MANAGED}/AmazonEKSClusterPolicy",
            opts=child,
        )
        kms_policy = aws.iam.RolePolicy(
            f"{name}-cluster-kms",
            role=role.name,
            name="envelope-encryption",
            policy=secrets_key.arn.apply(cluster_kms_policy),
            opts=child,
        )

        cidrs = [str(cidr) for cidr in cfg.public_access_cidrs]
        cluster = aws.eks.Cluster(
            f"{name}-cluster",
            name=cluster_name,
            version=cfg.kubernetes_version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.private_subnet_ids.values()),
                endpoint_private_access=True,
                endpoint_public_access=bool(cidrs),
                public_access_cidrs=cidrs or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode=AUTHENTICATION_MODE,
                # The identity running `pulumi up` must reach the API to install the platform charts.
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=secrets_key.arn),
                resources=["secrets"],
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=cfg.support_type.value),
            deletion_protection=cfg.deletion_protection,
            tags=with_name(tags, cluster_name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, cluster_policy, kms_policy]),
        )
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.certificate_authority_data = cluster.certificate_authority.apply(lambda ca: str(ca.data))
        self.cluster_security_group_id = cluster.vpc_config.apply(lambda vpc: str(vpc.cluster_security_group_id))
        self.kubernetes_version = cfg.kubernetes_version
        self.secrets_kms_key_arn = secrets_key.arn

        issuer = cluster.identities.apply(lambda ids: str(ids[0].oidcs[0].issuer))  # type: ignore[index]
        provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=with_name(tags, f"{cluster_name}-irsa"),
            opts=child,
        )
        self.oidc = ClusterOidc(provider_arn=provider.arn, issuer_url=issuer)

        for entry, principal_arn in cfg.cluster_admin_role_arns.items():
            access = aws.eks.AccessEntry(
                f"{name}-admin-{entry}",
                cluster_name=cluster.name,
                principal_arn=principal_arn,
                type="STANDARD",
                tags=tags,
                opts=child,
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{entry}-policy",
                cluster_name=cluster.name,
                principal_arn=access.principal_arn,
                policy_arn=CLUSTER_ADMIN_POLICY_ARN,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child,
            )

        cni_role = self.oidc.service_account_role(
            f"{name}-vpc-cni",
            ServiceAccountRoleArgs(
                environment=args.environment,
                namespace="kube-system",
                service_account="aws-node",
                managed_policy_arns=[f"{_AWS_MANAGED}/AmazonEKS_CNI_Policy"],
                tags=tags,
            ),
            parent=self,
        )
        vpc_cni = aws.eks.Addon(
            f"{name}-vpc-cni",
            cluster_name=cluster.name,
            addon_name="vpc-cni",
            addon_version=cfg.addons.vpc_cni,
            service_account_role_arn=cni_role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=tags,
            opts=child,
        )
        kube_proxy = aws.eks.Addon(
            f"{name}-kube-proxy",
            cluster_name=cluster.name,
            addon_name="kube-proxy",
            addon_version=cfg.addons.kube_proxy,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="PRESERVE",
            tags=tags,
            opts=child,
        )
        self.before_compute = [vpc_cni, kube_proxy]

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "certificate_authority_data": self.certificate_authority_data,
                "cluster_security_group_id": self.cluster_security_group_id,
                "oidc_provider_arn": self.oidc.provider_arn,
                "oidc_issuer_url": self.oidc.issuer_url,
                "secrets_kms_key_arn": self.secrets_kms_key_arn,
            }
        )

    def _secrets_key(self, name: str, args: EksClusterArgs, policy: pulumi.Output[str]) -> aws.kms.Key:
        """The cluster's own CMK for Kubernetes secrets (only EKS phases need it, so not a platform key)."""
        alias = physical_name(args.environment, "eks", "secrets", service=Service.KMS_ALIAS)
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"{args.environment}: Kubernetes secrets",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=30,
            key_usage="ENCRYPT_DECRYPT",
            customer_master_key_spec="SYMMETRIC_DEFAULT",
            policy=policy,
            tags=with_name(args.tags, alias),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=f"alias/{alias}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key
