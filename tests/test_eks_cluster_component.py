"""EksCluster built in isolation under mocks, with the settings the phase files leave at their defaults."""

from __future__ import annotations

import copy
import functools

import yaml

from infra.compute.eks import EksCluster, EksClusterArgs
from infra.config.eks import EksConfig
from infra.config.loader import parse_phase_config
from infra.plan.capture import ProgramRun, run_program
from tests.conftest import stack_file

ADMIN_ROLE = "arn:aws:iam::123456789012:role/platform-admins"
TAGS = {"project": "scaleplan", "environment": "ftw-test"}
LOGS_KEY = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000001"


def eks_config(**changes: object) -> EksConfig:
    values = copy.deepcopy(yaml.safe_load(stack_file("growth").read_text())["config"])
    values["scaleplan:eks"].update(changes)
    config = parse_phase_config(values, "Pulumi.test.yaml").eks
    assert config is not None
    return config


@functools.cache
def public_cluster() -> ProgramRun:
    config = eks_config(public_access_cidrs=["52.95.110.0/24"], cluster_admin_role_arns={"platform": ADMIN_ROLE})

    def program() -> None:
        EksCluster(
            "eks",
            EksClusterArgs(
                config=config,
                environment="ftw-test",
                region="us-east-1",
                account_id="123456789012",
                private_subnet_ids={"us-east-1a": "subnet-a", "us-east-1b": "subnet-b", "us-east-1c": "subnet-c"},
                logs_kms_key_arn=LOGS_KEY,
                tags=TAGS,
            ),
        )

    return run_program(program, project="scaleplan", stack="test")


def test_public_endpoint_is_limited_to_the_configured_cidrs() -> None:
    vpc = public_cluster().one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["52.95.110.0/24"]
    assert vpc["subnetIds"] == ["subnet-a", "subnet-b", "subnet-c"]


def test_cluster_admins_get_an_access_entry_and_the_admin_policy() -> None:
    run = public_cluster()
    entry = run.one("aws:eks/accessEntry:AccessEntry", "eks-admin-platform")
    assert entry.inputs["principalArn"] == ADMIN_ROLE
    assert entry.inputs["type"] == "STANDARD"
    assert entry.inputs["clusterName"] == "ftw-test-eks"
    association = run.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "eks-admin-platform-policy")
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert association.inputs["principalArn"] == ADMIN_ROLE


def test_log_group_uses_the_given_key_and_cluster_name() -> None:
    group = public_cluster().one("aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == "/aws/eks/ftw-test-eks/cluster"
    assert group.inputs["kmsKeyId"] == LOGS_KEY


def test_every_child_is_parented_to_the_component() -> None:
    run = public_cluster()
    component = run.one("scaleplan:compute:EksCluster")
    assert all(r.parent == component.urn for r in run.resources if r.urn != component.urn)
