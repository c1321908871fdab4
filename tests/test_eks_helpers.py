"""Pure helpers of the EKS side: pool sizing, IRSA trust, kubeconfig and controller policies."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from infra.compute.eks import cluster_physical_name, control_plane_log_group_name
from infra.compute.irsa import irsa_trust_policy
from infra.compute.node_pools import autoscaler_tags
from infra.compute.sizing import average_vcpus, clamp, desired_sizes, nodes_for, pool_sizes
from infra.config.capacity import CapacityConfig
from infra.config.compute import ComputeConfig
from infra.platform.policies import application_policy, aws_load_balancer_controller_policy, cluster_autoscaler_policy
from infra.platform.provider import kubeconfig
from tests.conftest import phase_config

ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"
PROVIDER_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789"


def capacity(users: int) -> CapacityConfig:
    return CapacityConfig(
        users_max=users,
        daily_active_ratio=0.4,
        peak_concurrency_ratio=0.125,
        requests_per_concurrent_user_per_second=0.04,
        peak_to_average_ratio=3.0,
        headroom_factor=1.5,
        requests_per_second_per_vcpu=25,
    )


def compute(base: tuple[int, int, int], burst: tuple[int, int | str, int]) -> ComputeConfig:
    return ComputeConfig.model_validate_json(
        json.dumps(
            {
                "node_pools": {
                    "base": {
                        "instance_types": ["m7g.large"],
                        "capacity_type": "ON_DEMAND",
                        "min_size": base[0],
                        "desired_size": base[1],
                        "max_size": base[2],
                    },
                    "burst": {
                        "instance_types": ["m7g.large", "m6g.large"],
                        "capacity_type": "SPOT",
                        "min_size": burst[0],
                        "desired_size": burst[1],
                        "max_size": burst[2],
                    },
                }
            }
        )
    )


def test_from_capacity_fills_the_gap_the_fixed_pools_leave() -> None:
    # 300k users -> 200 RPS on average -> 12 vCPUs with headroom; base brings 2 x 2 = 4, so burst starts at 4 nodes.
    assert average_vcpus(capacity(300_000)) == 12
    assert desired_sizes(compute((2, 2, 4), (0, "from_capacity", 20)), capacity(300_000)) == {"base": 2, "burst": 4}


def test_from_capacity_is_clamped_to_the_pool_range() -> None:
    # Base covers the 4 average vCPUs of 100k users alone: burst stays at its minimum.
    assert desired_sizes(compute((4, 4, 8), (4, "from_capacity", 8)), capacity(100_000)) == {"base": 4, "burst": 4}
    # 12 average vCPUs minus base's 2 would take 5 nodes; the pool stops at 3.
    assert desired_sizes(compute((1, 1, 2), (0, "from_capacity", 3)), capacity(300_000)) == {"base": 1, "burst": 3}


def test_numeric_desired_sizes_pass_through() -> None:
    assert desired_sizes(compute((2, 3, 4), (2, 2, 4)), capacity(25_000)) == {"base": 3, "burst": 2}


@given(
    users=st.integers(min_value=1, max_value=5_000_000),
    minimum=st.integers(min_value=0, max_value=50),
    span=st.integers(min_value=1, max_value=50),
)
def test_from_capacity_always_lands_in_range(users: int, minimum: int, span: int) -> None:
    sizes = desired_sizes(compute((1, 1, 2), (minimum, "from_capacity", minimum + span)), capacity(users))
    assert minimum <= sizes["burst"] <= minimum + span


@given(vcpus=st.integers(min_value=0, max_value=10_000), per_node=st.sampled_from([1, 2, 4, 8, 16]))
def test_nodes_for_covers_the_vcpus_with_less_than_one_node_spare(vcpus: int, per_node: int) -> None:
    nodes = nodes_for(vcpus, per_node)
    assert nodes * per_node >= vcpus
    assert (nodes - 1) * per_node < vcpus or nodes == 0


def test_clamp() -> None:
    assert [clamp(v, 2, 4) for v in (0, 2, 3, 4, 9)] == [2, 2, 3, 4, 4]


def test_pool_sizes_of_optimize_match_its_file() -> None:
    config = phase_config("optimize")
    sizes = {size.name: size for size in pool_sizes(config.compute, config.capacity)}
    assert (sizes["base"].min_vcpus, sizes["base"].desired_vcpus, sizes["base"].max_vcpus) == (4, 4, 16)
    assert (sizes["burst"].desired_size, sizes["burst"].max_vcpus) == (4, 48)


def test_irsa_trust_pins_subject_and_audience() -> None:
    policy = json.loads(irsa_trust_policy(PROVIDER_ARN, ISSUER, "data", "pgbouncer"))
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Federated": PROVIDER_ARN}
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789:sub": "system:serviceaccount:data:pgbouncer",
            "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF0123456789:aud": "sts.amazonaws.com",
        }
    }


def test_kubeconfig_authenticates_with_aws_eks_get_token() -> None:
    config = json.loads(kubeconfig("ftw-prod-eks", "https://ABC.gr7.us-east-1.eks.amazonaws.com", "Q0E=", "us-east-1"))
    assert config["clusters"] == [
        {
            "name": "ftw-prod-eks",
            "cluster": {"server": "https://ABC.gr7.us-east-1.eks.amazonaws.com", "certificate-authority-data": "Q0E="},
        }
    ]
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "ftw-prod-eks",
        "--region",
        "us-east-1",
    ]
    assert "token" not in json.dumps(user["user"]).replace("get-token", "")


def test_names_derive_from_the_environment() -> None:
    assert cluster_physical_name("ftw-prod") == "ftw-prod-eks"
    assert control_plane_log_group_name("ftw-prod-eks") == "/aws/eks/ftw-prod-eks/cluster"
    assert autoscaler_tags("ftw-prod-eks") == {
        "k8s.io/cluster-autoscaler/enabled": "true",
        "k8s.io/cluster-autoscaler/ftw-prod-eks": "owned",
    }


def _statements(policy: str) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in json.loads(policy)["Statement"]}


def test_autoscaler_resizes_only_this_clusters_groups() -> None:
    statements = _statements(cluster_autoscaler_policy("ftw-prod-eks", "us-east-1", "123456789012"))
    resize = statements["ResizeOwnNodeGroups"]
    assert set(resize["Action"]) == {
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    }
    assert resize["Condition"] == {
        "StringEquals": {
            "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
            "aws:ResourceTag/k8s.io/cluster-autoscaler/ftw-prod-eks": "owned",
        }
    }
    assert statements["ReadOwnManagedNodeGroups"]["Resource"] == (
        "arn:aws:eks:us-east-1:123456789012:nodegroup/ftw-prod-eks/*"
    )
    # Everything on "*" only reads.
    for statement in statements.values():
        if statement["Resource"] == "*":
            assert all(":Describe" in action or ":Get" in action for action in statement["Action"])


def test_load_balancer_controller_changes_only_what_it_tagged() -> None:
    statements = _statements(aws_load_balancer_controller_policy())
    for sid in ("ManageOwnSecurityGroups", "ModifyOwnLoadBalancers"):
        assert statements[sid]["Condition"] == {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    assert statements["CreateTaggedLoadBalancers"]["Condition"] == {
        "Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}
    }
    assert statements["CreateElbServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}
    }


def test_application_reads_exactly_the_named_secrets() -> None:
    policy = json.loads(application_policy("us-east-1", "123456789012", ["ftw-prod-app/openai"]))
    assert policy["Statement"] == [
        {
            "Sid": "ReadOwnSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": ["arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-prod-app/openai-??????"],
        }
    ]


def test_application_decrypts_only_through_secrets_manager_for_its_secrets() -> None:
    key = "arn:aws:kms:us-east-1:123456789012:key/1234"
    statements = _statements(application_policy("us-east-1", "123456789012", ["ftw-prod-app/openai"], [key]))
    assert statements["DecryptOwnSecrets"] == {
        "Sid": "DecryptOwnSecrets",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": [key],
        "Condition": {
            "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
            "StringLike": {
                "kms:EncryptionContext:SecretARN": [
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-prod-app/openai-??????"
                ]
            },
        },
    }
