"""scaleplan:eks and compute.node_pools: what the stack files say, and what they may not say."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from infra.config.loader import parse_phase_config
from tests.conftest import TEST_SOURCE, growth_values, phase_config, rejection, stack_file

EKS_PHASES = ("growth", "scale", "optimize")
SOURCE = TEST_SOURCE


def pools(values: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = values["scaleplan:compute"]["node_pools"]
    return result


def test_baseline_is_valid() -> None:
    config = parse_phase_config(growth_values(), SOURCE)
    assert config.eks is not None
    assert set(config.compute.node_pools) == {"base", "burst"}


def test_foundation_runs_no_cluster() -> None:
    config = phase_config("foundation")
    assert config.eks is None
    assert config.compute.node_pools == {}


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_eks_phases_are_private_and_pinned(phase: str) -> None:
    eks = phase_config(phase).eks
    assert eks is not None
    # A public endpoint for the runners only (a documentation-range placeholder here), private on.
    assert [str(cidr) for cidr in eks.public_access_cidrs] == ["203.0.113.0/24"]
    assert eks.private_endpoint_only is False
    assert eks.allow_public_endpoint_from_anywhere is False
    assert eks.deletion_protection is True
    assert eks.kubernetes_version == "1.35"
    assert eks.addons.kube_proxy.startswith("v1.35.")


@pytest.mark.parametrize("phase", EKS_PHASES)
def test_eks_phases_use_graviton_with_a_spot_burst_pool(phase: str) -> None:
    node_pools = phase_config(phase).compute.node_pools
    assert {pool.architecture for pool in node_pools.values()} == {"arm64"}
    assert node_pools["base"].capacity_type.value == "ON_DEMAND"
    assert node_pools["burst"].capacity_type.value == "SPOT"
    assert len(node_pools["burst"].instance_types) >= 2


def test_rejects_min_above_max() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["base"]["min_size"] = 9

    assert rejection(mutate) == f"{SOURCE}: scaleplan:compute.node_pools.base.min_size: must be <= max_size (4) (got 9)"


def test_rejects_desired_outside_range() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["base"]["desired_size"] = 5

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools.base.desired_size: must be between min_size 2 and max_size 4 (got 5)"
    )


def test_rejects_unknown_instance_type() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["burst"]["instance_types"] = ["m7g.large", "x1.huge"]

    message = rejection(mutate)
    assert message.startswith(
        f"{SOURCE}: scaleplan:compute.node_pools.burst.instance_types[1]: unknown instance type 'x1.huge'; allowed: "
    )
    assert "m7g.large" in message
    assert "t4g.large" in message


def test_rejects_spot_pool_with_one_type() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["burst"]["instance_types"] = ["m7g.large"]

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools.burst.instance_types: a SPOT pool needs at least 2 instance types "
        "of the same size, so one reclaimed spot market cannot empty it (got ['m7g.large'])"
    )


def test_rejects_pool_mixing_architectures() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["burst"]["instance_types"] = ["m7g.large", "m7i.large"]

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools.burst.instance_types: must all share one CPU architecture, one AMI "
        "per pool (got m7g.large (arm64), m7i.large (x86_64))"
    )


def test_rejects_label_under_reserved_prefix() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["base"]["labels"] = {"kubernetes.io/role": "web"}

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools.base.labels.kubernetes.io/role: uses a prefix EKS reserves "
        "(kubernetes.io/, k8s.io/, eks.amazonaws.com/); choose another key"
    )


def test_rejects_unknown_taint_effect() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["burst"]["taints"] = [{"key": "spot", "effect": "NoSchedule"}]

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools.burst.taints[0].effect: must be one of 'NO_SCHEDULE', "
        "'NO_EXECUTE' or 'PREFER_NO_SCHEDULE' (got 'NoSchedule')"
    )


def test_rejects_two_pools_sized_from_capacity() -> None:
    def mutate(values: dict[str, Any]) -> None:
        pools(values)["base"]["desired_size"] = "from_capacity"
        pools(values)["burst"]["desired_size"] = "from_capacity"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools.burst.desired_size: only one pool may be sized from_capacity, the "
        "one that fills the gap the others leave (got base, burst); give the others a number"
    )


def test_rejects_public_endpoint_open_to_the_internet() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["public_access_cidrs"] = ["52.95.110.0/24", "0.0.0.0/0"]

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.public_access_cidrs[1]: opens the Kubernetes API to the whole internet "
        "(got 0.0.0.0/0); list the CIDRs that need it, or set allow_public_endpoint_from_anywhere: true"
    )


def test_accepts_public_endpoint_from_anywhere_only_by_name() -> None:
    values = growth_values()
    values["scaleplan:eks"]["public_access_cidrs"] = ["0.0.0.0/0"]
    values["scaleplan:eks"]["allow_public_endpoint_from_anywhere"] = True
    eks = parse_phase_config(values, SOURCE).eks
    assert eks is not None
    assert [str(cidr) for cidr in eks.public_access_cidrs] == ["0.0.0.0/0"]


def test_rejects_an_empty_runner_list_that_would_leave_the_first_up_unable_to_reach_the_cluster() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["public_access_cidrs"] = []

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.public_access_cidrs: is empty, so the API endpoint would be private only and a "
        "`pulumi up` run from outside the VPC (a laptop, a CI runner) would create the cluster and then time out on "
        "every chart; list the runners' public CIDRs, or set private_endpoint_only: true if `pulumi up` runs inside "
        "the VPC (got [])"
    )


def test_rejects_a_missing_runner_list_like_an_empty_one() -> None:
    message = rejection(lambda values: values["scaleplan:eks"].pop("public_access_cidrs"))
    assert message.startswith(f"{SOURCE}: scaleplan:eks.public_access_cidrs: is empty")


def test_accepts_a_private_only_endpoint_only_by_name() -> None:
    values = growth_values()
    values["scaleplan:eks"]["public_access_cidrs"] = []
    values["scaleplan:eks"]["private_endpoint_only"] = True
    eks = parse_phase_config(values, SOURCE).eks
    assert eks is not None
    assert eks.public_access_cidrs == ()


def test_rejects_private_endpoint_only_with_public_cidrs() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["private_endpoint_only"] = True

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.private_endpoint_only: is true, but public_access_cidrs opens a public endpoint; "
        "drop one of the two (got 203.0.113.0/24)"
    )


def test_rejects_private_range_as_public_cidr() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["public_access_cidrs"] = ["10.0.0.0/8"]

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.public_access_cidrs[0]: must be a public range; private ranges reach the private "
        "endpoint (got 10.0.0.0/8)"
    )


def test_rejects_node_pools_without_eks() -> None:
    def mutate(values: dict[str, Any]) -> None:
        del values["scaleplan:eks"]

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:compute.node_pools: need scaleplan:eks to run in, which is missing "
        "(got pools base, burst)"
    )


def test_rejects_eks_without_node_pools() -> None:
    foundation = yaml.safe_load(stack_file("foundation").read_text())["config"]

    def mutate(values: dict[str, Any]) -> None:
        # The application runs on an Auto Scaling group instead, so only the orphaned cluster is wrong.
        values["scaleplan:compute"] = copy.deepcopy(foundation["scaleplan:compute"])

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks: a cluster with no scaleplan:compute.node_pools has nowhere to run pods; add pools"
    )


def test_rejects_kube_proxy_for_another_version() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["addons"]["kube_proxy"] = "v1.33.0-eksbuild.1"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.addons.kube_proxy: is not a build the catalog lists for Kubernetes 1.35; "
        "allowed: v1.35.0-eksbuild.2, v1.35.2-eksbuild.4, v1.35.3-eksbuild.2, v1.35.3-eksbuild.5, v1.35.3-eksbuild.8, "
        "v1.35.3-eksbuild.11, v1.35.3-eksbuild.13, v1.35.3-eksbuild.17 (got v1.33.0-eksbuild.1)"
    )


def test_rejects_unpinned_addon_version() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["addons"]["coredns"] = "latest"

    message = rejection(mutate)
    assert message.startswith(f"{SOURCE}: scaleplan:eks.addons.coredns: must match ")
    assert message.endswith("^v\\d+\\.\\d+\\.\\d+-eksbuild\\.\\d+$ (got 'latest')")


def test_rejects_autoscaler_image_for_another_version() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["charts"]["cluster_autoscaler"]["image_tag"] = "v1.32.1"

    assert rejection(mutate) == (
        f"{SOURCE}: scaleplan:eks.charts.cluster_autoscaler.image_tag: must be a Cluster Autoscaler release for "
        "Kubernetes 1.35; allowed: v1.35.0, v1.35.1, v1.35.2 (got v1.32.1)"
    )


def test_rejects_log_retention_cloudwatch_does_not_offer() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["control_plane_log_retention_days"] = 45

    message = rejection(mutate)
    assert message.startswith(
        f"{SOURCE}: scaleplan:eks.control_plane_log_retention_days: must be a CloudWatch Logs retention period, one of "
    )
    assert message.endswith("(got 45)")


def test_rejects_unknown_eks_key() -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["scaleplan:eks"]["endpoint_public"] = True

    message = rejection(mutate)
    assert message.startswith(f"{SOURCE}: scaleplan:eks.endpoint_public: unknown key; allowed keys here: ")
    assert "public_access_cidrs" in message
