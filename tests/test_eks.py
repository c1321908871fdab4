"""The EKS cluster, node pools and core add-ons of every EKS phase, built whole under mocks."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from infra.compute.sizing import desired_sizes
from infra.plan.capture import CapturedResource, ProgramRun
from infra.tagging import standard_tags
from tests.conftest import built_phase, phase_config

EKS_PHASES = ("growth", "scale", "optimize")
CLUSTER = "ftw-prod-eks"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADDON = "aws:eks/addon:Addon"
ROLE = "aws:iam/role:Role"


@pytest.fixture(params=EKS_PHASES)
def eks_phase(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def children(run: ProgramRun, component_type: str) -> list[CapturedResource]:
    return run.children_of(run.one(component_type).urn)


def kinds(resources: list[CapturedResource]) -> Counter[str]:
    return Counter(resource.type for resource in resources)


def arn_of(run: ProgramRun, type_token: str, name: str) -> str:
    return str(run.one(type_token, name).outputs["arn"])


def test_cluster_component_has_exactly_its_children(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    found = children(run, "scaleplan:compute:EksCluster")
    assert kinds(found) == {
        "aws:kms/key:Key": 1,
        "aws:kms/alias:Alias": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        ROLE: 2,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 2,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:eks/cluster:Cluster": 1,
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
        ADDON: 2,
    }
    assert {resource.name for resource in found} == {
        "eks-secrets-key",
        "eks-secrets-key-alias",
        "eks-control-plane-logs",
        "eks-cluster-role",
        "eks-cluster-policy",
        "eks-cluster-kms",
        "eks-cluster",
        "eks-oidc",
        "eks-vpc-cni-role",
        "eks-vpc-cni-AmazonEKS_CNI_Policy",
        "eks-vpc-cni",
        "eks-kube-proxy",
    }


def test_node_pools_component_has_a_template_and_group_per_pool(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    pools = phase_config(eks_phase).compute.node_pools
    found = children(run, "scaleplan:compute:NodePools")
    assert kinds(found) == {
        ROLE: 1,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 2,
        LAUNCH_TEMPLATE: len(pools),
        NODE_GROUP: len(pools),
    }
    assert {r.name for r in found if r.type == NODE_GROUP} == {f"node-pools-{name}" for name in pools}
    assert {r.name for r in found if r.type == LAUNCH_TEMPLATE} == {f"node-pools-{name}-lt" for name in pools}
    policies = {r.inputs["policyArn"] for r in found if r.type.endswith("RolePolicyAttachment")}
    assert policies == {
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    }


def test_node_group_ranges_equal_the_phase_file(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    config = phase_config(eks_phase)
    desired = desired_sizes(config.compute, config.capacity)
    for name, pool in config.compute.node_pools.items():
        group = run.one(NODE_GROUP, f"node-pools-{name}")
        assert group.inputs["scalingConfig"] == {
            "minSize": pool.min_size,
            "desiredSize": desired[name],
            "maxSize": pool.max_size,
        }
        assert group.inputs["instanceTypes"] == list(pool.instance_types)
        assert group.inputs["capacityType"] == pool.capacity_type.value
        assert group.inputs["amiType"] == "AL2023_ARM_64_STANDARD"
        assert group.inputs["version"] == "1.35"
        # A prefix, never a fixed name: a replacement is created before the old group goes.
        assert group.inputs["nodeGroupNamePrefix"] == f"ftw-prod-{name}-"
        assert "nodeGroupName" not in group.inputs
        assert group.inputs["clusterName"] == CLUSTER
        assert group.inputs["labels"] == {**pool.labels, "scaleplan.io/pool": name}
        assert group.inputs.get("taints", []) == [
            {"key": t.key, "value": t.value, "effect": t.effect.value} for t in pool.taints
        ]
        # The autoscaler owns the size once the group exists.
        assert group.ignore_changes == ("scalingConfig.desiredSize",)


def test_scale_and_optimize_size_the_burst_pool_from_capacity() -> None:
    # 100k users average 4 vCPUs with headroom, the 4 base nodes bring 8: burst stays at its minimum of 4.
    assert built_phase("scale").one(NODE_GROUP, "node-pools-burst").inputs["scalingConfig"]["desiredSize"] == 4
    # 300k users average 12 vCPUs, the 4 base nodes bring 8: 2 more, clamped to the minimum of 4.
    assert built_phase("optimize").one(NODE_GROUP, "node-pools-burst").inputs["scalingConfig"]["desiredSize"] == 4


def test_node_groups_spread_over_the_three_private_subnets(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    private = {r.outputs["id"] for r in run.of_type("aws:ec2/subnet:Subnet") if r.name.startswith("network-private-")}
    assert len(private) == 3
    for group in run.of_type(NODE_GROUP):
        assert sorted(group.inputs["subnetIds"]) == sorted(private)
    assert sorted(run.one("aws:eks/cluster:Cluster").inputs["vpcConfig"]["subnetIds"]) == sorted(private)


def test_node_groups_carry_autoscaler_discovery_tags(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    for group in run.of_type(NODE_GROUP):
        assert group.inputs["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
        assert group.inputs["tags"][f"k8s.io/cluster-autoscaler/{CLUSTER}"] == "owned"


def test_every_launch_template_is_hardened(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    volumes_key = arn_of(run, "aws:kms/key:Key", "keys-volumes")
    cluster_sg = run.one("aws:eks/cluster:Cluster").outputs["vpcConfig"]["clusterSecurityGroupId"]
    app_sg = run.one("aws:ec2/securityGroup:SecurityGroup", "app-sg-app").outputs["id"]
    templates = [r for r in children(run, "scaleplan:compute:NodePools") if r.type == LAUNCH_TEMPLATE]
    assert len(templates) == len(phase_config(eks_phase).compute.node_pools)
    for template in templates:
        assert template.inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled",
        }
        assert template.inputs["blockDeviceMappings"] == [
            {
                "deviceName": "/dev/xvda",
                "ebs": {
                    "volumeType": "gp3",
                    "volumeSize": 50,
                    "encrypted": "true",
                    "kmsKeyId": volumes_key,
                    "deleteOnTermination": "true",
                },
            }
        ]
        assert template.inputs["networkInterfaces"] == [
            {
                "deviceIndex": 0,
                "associatePublicIpAddress": "false",
                "deleteOnTermination": "true",
                "securityGroups": [cluster_sg, app_sg],
            }
        ]
        assert "imageId" not in template.inputs  # EKS picks the AMI release for the AMI type
        assert [spec["resourceType"] for spec in template.inputs["tagSpecifications"]] == [
            "instance",
            "volume",
            "network-interface",
        ]
        for spec in template.inputs["tagSpecifications"]:
            # Every standard tag but the phase, which would roll every node on each promotion.
            tags = standard_tags(phase_config(eks_phase).environment)
            assert {k: v for k, v in tags.items() if k != "phase"}.items() <= spec["tags"].items()
            assert "phase" not in spec["tags"]


def test_node_groups_launch_from_their_own_template(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    for name in phase_config(eks_phase).compute.node_pools:
        template = run.one(LAUNCH_TEMPLATE, f"node-pools-{name}-lt")
        group = run.one(NODE_GROUP, f"node-pools-{name}")
        assert group.inputs["launchTemplate"] == {"id": template.outputs["id"], "version": "1"}
        assert "diskSize" not in group.inputs
        assert "remoteAccess" not in group.inputs


def test_cluster_endpoint_is_private_and_public_for_the_runners_only(eks_phase: str) -> None:
    """A first `pulumi up` from outside AWS reaches the cluster it creates through the public
    endpoint, which admits the declared runner networks only; nodes use the private one."""
    vpc = built_phase(eks_phase).one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    eks = phase_config(eks_phase).eks
    assert eks is not None
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == [str(cidr) for cidr in eks.public_access_cidrs]
    assert vpc["publicAccessCidrs"]
    assert "0.0.0.0/0" not in vpc["publicAccessCidrs"]


def test_cluster_logs_encrypts_and_authenticates_securely(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    cluster = run.one("aws:eks/cluster:Cluster")
    assert cluster.inputs["name"] == CLUSTER
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["enabledClusterLogTypes"] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    assert cluster.inputs["encryptionConfig"] == {
        "provider": {"keyArn": arn_of(run, "aws:kms/key:Key", "eks-secrets-key")},
        "resources": ["secrets"],
    }
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.inputs["roleArn"] == arn_of(run, ROLE, "eks-cluster-role")


def test_control_plane_log_group_exists_before_the_cluster(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    group = run.one("aws:cloudwatch/logGroup:LogGroup", "eks-control-plane-logs")
    assert group.inputs["name"] == f"/aws/eks/{CLUSTER}/cluster"
    eks = phase_config(eks_phase).eks
    assert eks is not None
    assert group.inputs["retentionInDays"] == eks.control_plane_log_retention_days
    assert group.inputs["kmsKeyId"] == arn_of(run, "aws:kms/key:Key", "keys-logs")
    assert group.urn in run.one("aws:eks/cluster:Cluster").dependencies


def test_cluster_secrets_key_rotates_and_is_protected(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    key = run.one("aws:kms/key:Key", "eks-secrets-key")
    assert key.protect is True
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30


def test_cluster_role_may_use_only_the_secrets_key(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "eks-cluster-kms").inputs["policy"])
    (statement,) = policy["Statement"]
    assert statement["Resource"] == arn_of(run, "aws:kms/key:Key", "eks-secrets-key")
    trust = json.loads(run.one(ROLE, "eks-cluster-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "eks.amazonaws.com"}


def test_addon_versions_are_the_pinned_ones(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    eks = phase_config(eks_phase).eks
    assert eks is not None
    addons = {r.inputs["addonName"]: r for r in run.of_type(ADDON)}
    assert {name: r.inputs["addonVersion"] for name, r in addons.items()} == {
        "vpc-cni": eks.addons.vpc_cni,
        "coredns": eks.addons.coredns,
        "kube-proxy": eks.addons.kube_proxy,
        "aws-ebs-csi-driver": eks.addons.aws_ebs_csi_driver,
    }
    assert all(r.inputs["clusterName"] == CLUSTER for r in addons.values())
    assert addons["vpc-cni"].inputs["serviceAccountRoleArn"] == arn_of(run, ROLE, "eks-vpc-cni-role")
    assert addons["aws-ebs-csi-driver"].inputs["serviceAccountRoleArn"] == arn_of(run, ROLE, "eks-addons-ebs-csi-role")


def test_nodes_wait_for_cni_and_pod_addons_wait_for_nodes(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    pools = run.one("scaleplan:compute:NodePools")
    assert run.one(ADDON, "eks-vpc-cni").urn in pools.dependencies
    assert run.one(ADDON, "eks-kube-proxy").urn in pools.dependencies
    addons = run.one("scaleplan:compute:ClusterAddons")
    assert {group.urn for group in run.of_type(NODE_GROUP)} <= set(addons.dependencies)


def test_irsa_roles_trust_one_service_account_each(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    provider = run.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    issuer = run.one("aws:eks/cluster:Cluster").outputs["identities"][0]["oidcs"][0]["issuer"]
    assert provider.inputs["url"] == issuer
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    host = issuer.removeprefix("https://")
    subjects = {}
    for role in run.of_type(ROLE):
        trust = json.loads(role.inputs["assumeRolePolicy"])
        (statement,) = trust["Statement"]
        if statement["Action"] != "sts:AssumeRoleWithWebIdentity":
            continue
        assert statement["Principal"] == {"Federated": provider.outputs["arn"]}
        conditions = statement["Condition"]["StringEquals"]
        assert conditions[f"{host}:aud"] == "sts.amazonaws.com"
        subjects[role.name] = conditions[f"{host}:sub"]
    # Every web-identity role of the phase is pinned (above); these are the EKS side's own.
    assert (
        subjects.items()
        >= {
            "eks-vpc-cni-role": "system:serviceaccount:kube-system:aws-node",
            "eks-addons-ebs-csi-role": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
            "platform-cluster-autoscaler-role": "system:serviceaccount:kube-system:cluster-autoscaler",
            "platform-aws-load-balancer-controller-role": (
                "system:serviceaccount:kube-system:aws-load-balancer-controller"
            ),
            "platform-app-role": "system:serviceaccount:app:app",
        }.items()
    )


def test_taggable_eks_resources_carry_the_standard_tags(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    expected = standard_tags(phase_config(eks_phase).environment).items()
    components = ("scaleplan:compute:EksCluster", "scaleplan:compute:NodePools", "scaleplan:compute:ClusterAddons")
    untaggable = {
        "aws:kms/alias:Alias",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    }
    checked = 0
    for component in components:
        for resource in children(run, component):
            if resource.type in untaggable:
                continue
            assert expected <= resource.inputs["tags"].items(), resource.name
            checked += 1
    assert checked >= 14


def test_stack_exports_the_cluster(eks_phase: str) -> None:
    outputs = built_phase(eks_phase).stack_outputs
    assert outputs["cluster_name"] == CLUSTER
    assert outputs["cluster_endpoint"].startswith("https://")
    assert outputs["cluster_endpoint"].endswith(".gr7.us-east-1.eks.amazonaws.com")


def test_foundation_has_no_kubernetes_at_all() -> None:
    run = built_phase("foundation")
    assert [
        r.type for r in run.resources if ":eks/" in r.type or r.type.startswith(("kubernetes:", "scaleplan:platform"))
    ] == []
    assert run.of_type("pulumi:providers:kubernetes") == []
    assert "cluster_name" not in run.stack_outputs
