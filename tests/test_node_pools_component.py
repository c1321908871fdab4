"""NodePools built in isolation under mocks: settings the phase files do not exercise."""

from __future__ import annotations

import functools
import json

from infra.compute.node_pools import NodePools, NodePoolsArgs
from infra.config.compute import NodePoolConfig
from infra.plan.capture import ProgramRun, run_program

VOLUMES_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000002"
SUBNETS = {"us-east-1a": "subnet-a", "us-east-1b": "subnet-b", "us-east-1c": "subnet-c"}


def pool(**values: object) -> NodePoolConfig:
    return NodePoolConfig.model_validate_json(json.dumps(values))


@functools.cache
def pools_run() -> ProgramRun:
    pools = {
        "x86": pool(
            instance_types=["m7i.large"],
            capacity_type="ON_DEMAND",
            min_size=1,
            desired_size=1,
            max_size=3,
            root_volume_gib=100,
            taints=[{"key": "dedicated", "value": "batch", "effect": "NO_EXECUTE"}],
        ),
        "arm": pool(
            instance_types=["c7g.large", "c6g.large"],
            capacity_type="SPOT",
            min_size=0,
            desired_size="from_capacity",
            max_size=5,
            serves_application=False,
        ),
    }

    def program() -> None:
        NodePools(
            "pools",
            NodePoolsArgs(
                pools=pools,
                desired_sizes={"x86": 1, "arm": 0},
                environment="ftw-test",
                cluster_name="ftw-test-eks",
                kubernetes_version="1.34",
                private_subnet_ids=SUBNETS,
                security_group_ids=["sg-cluster", "sg-app"],
                volumes_kms_key_arn=VOLUMES_KEY,
                tags={"project": "scaleplan"},
            ),
        )

    return run_program(program, project="scaleplan", stack="test")


def test_ami_type_follows_the_pool_architecture() -> None:
    run = pools_run()
    assert run.one("aws:eks/nodeGroup:NodeGroup", "pools-x86").inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert run.one("aws:eks/nodeGroup:NodeGroup", "pools-arm").inputs["amiType"] == "AL2023_ARM_64_STANDARD"


def test_extra_security_groups_join_the_cluster_group_on_every_node() -> None:
    for template in pools_run().of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert template.inputs["networkInterfaces"][0]["securityGroups"] == ["sg-cluster", "sg-app"]
        assert "vpcSecurityGroupIds" not in template.inputs


def test_taints_root_volume_and_resolved_desired_size_reach_the_group() -> None:
    run = pools_run()
    x86 = run.one("aws:eks/nodeGroup:NodeGroup", "pools-x86")
    assert x86.inputs["taints"] == [{"key": "dedicated", "value": "batch", "effect": "NO_EXECUTE"}]
    template = run.one("aws:ec2/launchTemplate:LaunchTemplate", "pools-x86-lt")
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 100
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["kmsKeyId"] == VOLUMES_KEY
    arm = run.one("aws:eks/nodeGroup:NodeGroup", "pools-arm")
    assert arm.inputs["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 5}
    assert arm.inputs["capacityType"] == "SPOT"
    assert "taints" not in arm.inputs or arm.inputs["taints"] == []


def test_node_role_trusts_ec2_only() -> None:
    role = pools_run().one("aws:iam/role:Role", "pools-node-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
        }
    ]
    assert role.inputs["name"] == "ftw-test-eks-node"
