"""The in-cluster platform of every EKS phase, built under mocks: charts, identities, provider wiring."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from infra.plan.capture import CapturedResource, ProgramRun
from tests.conftest import built_phase, phase_config

EKS_PHASES = ("growth", "scale", "optimize")
RELEASE = "kubernetes:helm.sh/v3:Release"
CLUSTER = "ftw-prod-eks"


@pytest.fixture(params=EKS_PHASES)
def eks_phase(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def platform_children(run: ProgramRun) -> list[CapturedResource]:
    return run.children_of(run.one("scaleplan:platform:Platform").urn)


def role_arn(run: ProgramRun, name: str) -> str:
    return str(run.one("aws:iam/role:Role", name).outputs["arn"])


def test_platform_has_exactly_its_children(eks_phase: str) -> None:
    found = platform_children(built_phase(eks_phase))
    assert Counter(r.type for r in found) == {
        RELEASE: 4,
        "kubernetes:core/v1:Namespace": 1,
        "kubernetes:core/v1:ServiceAccount": 1,
        "aws:iam/role:Role": 4,
        "aws:iam/rolePolicy:RolePolicy": 4,
        # The application scales on latency too: KEDA (with its identity) owns its pod
        # autoscalers (ScaledObjects, infra/platform/scaling.py), so no plain HPA here.
        "kubernetes:keda.sh/v1alpha1:TriggerAuthentication": 1,
        # Container Insights (its namespace, identity and chart: tests/test_container_insights.py).
        "scaleplan:platform:ContainerInsights": 1,
    }
    assert {r.name for r in found if r.type == RELEASE} == {
        "platform-cluster-autoscaler",
        "platform-metrics-server",
        "platform-aws-load-balancer-controller",
        "platform-keda",
    }


def test_every_kubernetes_resource_uses_the_cluster_provider(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    kubernetes = [r for r in run.resources if r.type.startswith("kubernetes:")]
    # The platform's five and whatever teammates declare on the cluster: all on this provider.
    assert {r.urn for r in platform_children(run) if r.type.startswith("kubernetes:")} <= {r.urn for r in kubernetes}
    for resource in kubernetes:
        assert resource.provider.split("::")[:-1] == provider.urn.split("::"), resource.name
    aws_children = [r for r in platform_children(run) if r.type.startswith("aws:")]
    assert all("pulumi:providers:aws::aws::" in r.provider for r in aws_children)


def test_provider_authenticates_to_this_cluster_with_a_fresh_token(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    provider = run.one("pulumi:providers:kubernetes")
    cluster = run.one("aws:eks/cluster:Cluster")
    config = json.loads(provider.inputs["kubeconfig"])
    assert config["clusters"][0]["cluster"] == {
        "server": cluster.outputs["endpoint"],
        "certificate-authority-data": cluster.outputs["certificateAuthority"]["data"],
    }
    assert config["users"][0]["user"]["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        CLUSTER,
        "--region",
        "us-east-1",
    ]
    assert provider.inputs["clusterIdentifier"] == CLUSTER


def test_charts_are_pinned_from_the_phase_file(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    eks = phase_config(eks_phase).eks
    assert eks is not None
    charts = {
        "cluster-autoscaler": eks.charts.cluster_autoscaler.chart,
        "metrics-server": eks.charts.metrics_server,
        "aws-load-balancer-controller": eks.charts.aws_load_balancer_controller,
        "keda": eks.charts.keda,
    }
    for release in [r for r in platform_children(run) if r.type == RELEASE]:
        chart = charts[release.inputs["chart"]]
        assert release.inputs["name"] == release.inputs["chart"]
        assert release.inputs["version"] == chart.version
        assert release.inputs["repositoryOpts"] == {"repo": chart.repository}
        assert release.inputs["namespace"] == "kube-system"
        assert release.inputs["atomic"] is True


def test_cluster_autoscaler_discovers_this_clusters_groups(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    values = run.one(RELEASE, "platform-cluster-autoscaler").inputs["values"]
    assert values["autoDiscovery"] == {"clusterName": CLUSTER}
    assert values["awsRegion"] == "us-east-1"
    assert values["image"] == {"tag": "v1.35.2"}
    assert values["extraArgs"] == {
        "balance-similar-node-groups": True,
        "expander": "least-waste",
        "skip-nodes-with-system-pods": False,
        "scale-down-utilization-threshold": 0.3,
        "scale-down-delay-after-add": "180s",
    }
    assert values["rbac"]["serviceAccount"] == {
        "create": True,
        "name": "cluster-autoscaler",
        "annotations": {"eks.amazonaws.com/role-arn": role_arn(run, "platform-cluster-autoscaler-role")},
    }


def test_cluster_autoscaler_may_resize_only_tagged_groups(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "platform-cluster-autoscaler-policy").inputs["policy"])
    resize = next(s for s in policy["Statement"] if s["Sid"] == "ResizeOwnNodeGroups")
    assert resize["Condition"]["StringEquals"][f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}"] == "owned"
    # The tags it requires are the ones the node groups carry.
    for group in run.of_type("aws:eks/nodeGroup:NodeGroup"):
        for key, value in resize["Condition"]["StringEquals"].items():
            assert group.inputs["tags"][key.removeprefix("aws:ResourceTag/")] == value


def test_load_balancer_controller_is_told_its_vpc_and_region(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    values = run.one(RELEASE, "platform-aws-load-balancer-controller").inputs["values"]
    assert values["clusterName"] == CLUSTER
    assert values["region"] == "us-east-1"
    assert values["vpcId"] == run.one("aws:ec2/vpc:Vpc").outputs["id"]
    assert values["serviceAccount"]["annotations"] == {
        "eks.amazonaws.com/role-arn": role_arn(run, "platform-aws-load-balancer-controller-role")
    }


def test_application_identity_reads_only_its_secrets(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    eks = phase_config(eks_phase).eks
    assert eks is not None
    namespace = run.one("kubernetes:core/v1:Namespace", "platform-app-namespace")
    assert namespace.inputs["metadata"]["name"] == "app"
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    account = run.one("kubernetes:core/v1:ServiceAccount", "platform-app-service-account")
    assert account.inputs["metadata"]["name"] == eks.application.service_account
    assert account.inputs["metadata"]["namespace"] == eks.application.namespace
    assert account.inputs["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": role_arn(run, "platform-app-role")
    }
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "platform-app-policy").inputs["policy"])
    read = next(statement for statement in policy["Statement"] if statement["Sid"] == "ReadOwnSecrets")
    # The same secrets the Auto Scaling group's instances read in foundation, by exact name.
    assert read["Resource"] == sorted(
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-??????"
        for name in [
            *(credential.name for credential in phase_config(eks_phase).secrets.credentials),
            "ftw-prod-cache/auth-token",
            "ftw-prod-app/database",  # its own database login (scaleplan:pgbouncer.application_identity)
        ]
    )


def test_platform_waits_for_nodes_and_coredns(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    dependencies = set(run.one("scaleplan:platform:Platform").dependencies)
    assert {group.urn for group in run.of_type("aws:eks/nodeGroup:NodeGroup")} <= dependencies
    assert run.one("aws:eks/addon:Addon", "eks-addons-coredns").urn in dependencies
