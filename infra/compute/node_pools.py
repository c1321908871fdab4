"""EKS managed node groups, one per configured pool, each with its own launch template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.compute.eks import cluster_physical_name, service_trust_policy
from infra.compute.launch_templates import encrypted_root_volume, imdsv2_only, instance_tags
from infra.config.compute import NodePoolConfig
from infra.naming import Service, physical_name
from infra.tagging import with_name

AMI_TYPES = {"arm64": "AL2023_ARM_64_STANDARD", "x86_64": "AL2023_x86_64_STANDARD"}
"""Amazon Linux 2023 EKS-optimized AMI per CPU architecture; EKS picks the release."""
POOL_LABEL = "scaleplan.io/pool"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")
"""The node role's only policies: join the cluster and pull images. The CNI's permissions go
to its own IRSA role, not to every node."""
DESIRED_SIZE_IGNORED = "scalingConfig.desiredSize"
"""Owned by the Cluster Autoscaler once the group exists; a redeploy must not reset it."""


def autoscaler_tags(cluster_name: str) -> dict[str, str]:
    """The tags the Cluster Autoscaler discovers node groups by (and its IAM policy is scoped to)."""
    return {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}


def ami_type(pool: NodePoolConfig) -> str:
    return AMI_TYPES[pool.architecture]


def node_group_name_prefix(base: str) -> str:
    """``ftw-prod-base`` -> ``ftw-prod-base-``: the provider appends a 26-character unique suffix."""
    return f"{base}-"


def node_labels(pool_name: str, pool: NodePoolConfig) -> dict[str, str]:
    return {**pool.labels, POOL_LABEL: pool_name}


def _first_autoscaling_group(resources: Sequence[aws.eks.outputs.NodeGroupResource] | None) -> str:
    """The name of the Auto Scaling group EKS made for a managed node group (there is one)."""
    if not resources or not resources[0].autoscaling_groups:
        raise ValueError("EKS reported no Auto Scaling group for the node group")
    name = resources[0].autoscaling_groups[0].name
    if name is None:
        raise ValueError("EKS reported an Auto Scaling group without a name")
    return name


@dataclass(frozen=True, kw_only=True)
class NodePoolsArgs:
    pools: Mapping[str, NodePoolConfig]
    desired_sizes: Mapping[str, int]
    """Creation-time sizes by pool (see :func:`infra.compute.sizing.desired_sizes`)."""
    environment: str
    cluster_name: pulumi.Input[str]
    kubernetes_version: str
    private_subnet_ids: Mapping[str, pulumi.Input[str]]
    """Private subnets by AZ: every pool spreads over all of them."""
    security_group_ids: Sequence[pulumi.Input[str]]
    """Groups of the nodes' network interface; the cluster security group first."""
    volumes_kms_key_arn: pulumi.Input[str]
    tags: Mapping[str, str]


class NodePools(pulumi.ComponentResource):
    """Managed node groups over the private subnets of every AZ.

    Each pool's launch template requires IMDSv2 with a hop limit of 1 (pods cannot borrow the
    node's role), gives the node no public IP, encrypts its gp3 root volume with the CMK, and
    tags instances, volumes and interfaces. Groups carry the Cluster Autoscaler's discovery
    tags, and their desired size is left to the autoscaler after creation.
    """

    node_role_arn: pulumi.Output[str]
    """Instance role of every node."""
    node_group_arns: dict[str, pulumi.Output[str]]
    autoscaling_group_names: dict[str, pulumi.Output[str]]
    """The Auto Scaling group EKS created for each pool, by pool name (its EC2 metrics' dimension)."""
    """Node group ARNs by pool name."""

    def __init__(self, name: str, args: NodePoolsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:compute:NodePools", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        cluster_tags = autoscaler_tags(cluster_physical_name(args.environment))

        role_name = physical_name(args.environment, "eks-node", service=Service.IAM_ROLE)
        role = aws.iam.Role(
            f"{name}-node-role",
            name=role_name,
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            tags=with_name(args.tags, role_name),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        self.node_role_arn = role.arn

        self.node_group_arns = {}
        self.autoscaling_group_names = {}
        for pool_name, pool in args.pools.items():
            group_name = physical_name(args.environment, pool_name, service=Service.EKS_NODE_GROUP_PREFIX)
            template = self._launch_template(name, pool_name, pool, group_name, args)
            group = aws.eks.NodeGroup(
                f"{name}-{pool_name}",
                cluster_name=args.cluster_name,
                # A prefix, not a fixed name: a change of a ForceNew input (instance types, capacity
                # type, AMI type, subnets) replaces the group, and the new one, under a new name, is
                # created and joins before the old one is drained and deleted (docs/eks.md).
                node_group_name_prefix=node_group_name_prefix(group_name),
                node_role_arn=role.arn,
                version=args.kubernetes_version,
                subnet_ids=list(args.private_subnet_ids.values()),
                ami_type=ami_type(pool),
                capacity_type=pool.capacity_type.value,
                instance_types=list(pool.instance_types),
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=pool.min_size,
                    desired_size=args.desired_sizes[pool_name],
                    max_size=pool.max_size,
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable_percentage=33),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                labels=node_labels(pool_name, pool),
                taints=[
                    aws.eks.NodeGroupTaintArgs(key=taint.key, value=taint.value or None, effect=taint.effect.value)
                    for taint in pool.taints
                ],
                tags={**with_name(args.tags, group_name), **cluster_tags},
                opts=pulumi.ResourceOptions(parent=self, depends_on=attachments, ignore_changes=[DESIRED_SIZE_IGNORED]),
            )
            self.node_group_arns[pool_name] = group.arn
            # EKS creates one Auto Scaling group per managed node group: its EC2 metrics
            # (AutoScalingGroupName) are how the node CPU alarms see the pool.
            self.autoscaling_group_names[pool_name] = group.resources.apply(_first_autoscaling_group)

        self.register_outputs(
            {
                "node_role_arn": self.node_role_arn,
                "node_group_arns": self.node_group_arns,
                "autoscaling_group_names": self.autoscaling_group_names,
            }
        )

    def _launch_template(
        self, name: str, pool_name: str, pool: NodePoolConfig, group_name: str, args: NodePoolsArgs
    ) -> aws.ec2.LaunchTemplate:
        template_name = physical_name(args.environment, "eks", pool_name, service=Service.LAUNCH_TEMPLATE)
        # No phase tag inside the template: a promotion must not roll every node (launch_templates.py).
        tags_of_instances = instance_tags(args.tags, group_name)
        return aws.ec2.LaunchTemplate(
            f"{name}-{pool_name}-lt",
            name=template_name,
            description=f"EKS node group {group_name}",
            update_default_version=True,
            metadata_options=imdsv2_only(),
            block_device_mappings=[encrypted_root_volume(pool.root_volume_gib, args.volumes_kms_key_arn)],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=list(args.security_group_ids),
                )
            ],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags_of_instances)
                for kind in ("instance", "volume", "network-interface")
            ],
            tags=with_name(args.tags, template_name),
            opts=pulumi.ResourceOptions(parent=self),
        )
