"""Stack files that cannot describe a valid phase, each refused with one exact, actionable line.

Every case starts from the real growth stack file and changes one thing, so the base stays
whatever the team's stack files say and each test isolates the rule it names.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infra.catalog import ec2_instance_types
from infra.config import PhaseConfig, PhaseConfigError
from infra.config.loader import parse_phase_config
from tests.conftest import stack_file

SOURCE = "Pulumi.growth.yaml"
DELETE = object()
"""Sentinel value: remove the key instead of setting it."""


@functools.cache
def _parsed(phase: str) -> dict[str, Any]:
    document = yaml.safe_load(stack_file(phase).read_text())
    config: dict[str, Any] = document["config"]
    return config


def base_config(phase: str = "growth") -> dict[str, Any]:
    """A fresh copy of the phase's ``config:`` mapping (parsing YAML is the slow part)."""
    return copy.deepcopy(_parsed(phase))


def changed(path: str, value: Any, phase: str = "growth") -> dict[str, Any]:
    """The ``phase`` config with ``path`` (``network.flow_logs.retention_days``; ``.1`` indexes
    a list) set to ``value``, or removed when ``value`` is :data:`DELETE`. A dict value for a
    mapping that exists is merged into it, so a case can state several related keys."""
    return changed_at(tuple(path.split(".")), value, phase)


def changed_at(parts: tuple[str, ...], value: Any, phase: str = "growth") -> dict[str, Any]:
    """:func:`changed` with the path already split (for keys that contain dots)."""
    config = base_config(phase)
    head, *rest = parts
    if not rest:
        if value is DELETE:
            del config[f"scaleplan:{head}"]
        else:
            config[f"scaleplan:{head}"] = value
        return config
    node: Any = config[f"scaleplan:{head}"]
    for part in rest[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last: Any = int(rest[-1]) if isinstance(node, list) else rest[-1]
    if value is DELETE:
        del node[last]
    elif isinstance(value, dict) and isinstance(node, dict) and isinstance(node.get(last), dict):
        node[last] = {**node[last], **value}
    else:
        node[last] = value
    return config


def rejection(config: dict[str, Any], source: str = SOURCE) -> list[str]:
    with pytest.raises(PhaseConfigError) as error:
        parse_phase_config(config, source)
    assert error.value.source == source
    return str(error.value).splitlines()


@pytest.mark.parametrize("phase", ["growth", "foundation"])
def test_the_bases_are_valid(phase: str) -> None:
    parse_phase_config(base_config(phase), f"Pulumi.{phase}.yaml")


def _top_level_keys() -> str:
    return ", ".join(sorted(PhaseConfig.model_fields))


# (case id, path, value, expected line without the "Pulumi.growth.yaml: " prefix)
CASES: list[tuple[str, str, Any, str | Callable[[], str]]] = [
    # unknown keys, at the top and at depth
    (
        "unknown_top_level_key",
        "databse",
        {"instance_class": "db.t4g.large"},
        lambda: f"scaleplan:databse: unknown key; allowed keys here: {_top_level_keys()}",
    ),
    (
        "unknown_nested_key",
        "network.flow_logs.retention",
        30,
        "scaleplan:network.flow_logs.retention: unknown key; allowed keys here: retention_days, traffic_type",
    ),
    (
        "unknown_tier",
        "network.subnet_prefix_lengths.dmz",
        24,
        "scaleplan:network.subnet_prefix_lengths.dmz: unknown key; allowed keys here: isolated, private, public",
    ),
    (
        "unknown_capacity_key",
        "capacity.users",
        5000,
        "scaleplan:capacity.users: unknown key; allowed keys here: daily_active_ratio, headroom_factor, "
        "peak_concurrency_ratio, peak_to_average_ratio, requests_per_concurrent_user_per_second, "
        "requests_per_second_per_vcpu, users_max",
    ),
    # wrong types
    (
        "quoted_integer",
        "capacity.users_max",
        "25000",
        "scaleplan:capacity.users_max: must be a whole number, not quoted text; remove the quotes (got '25000')",
    ),
    (
        "quoted_number",
        "budget.monthly_usd",
        "2100",
        "scaleplan:budget.monthly_usd: must be a number, not quoted text; remove the quotes (got '2100')",
    ),
    (
        "fractional_integer",
        "capacity.users_max",
        2.5,
        "scaleplan:capacity.users_max: must be a whole number (got 2.5)",
    ),
    (
        "empty_required_number",
        "capacity.users_max",
        None,
        "scaleplan:capacity.users_max: must be a whole number, not empty (got null)",
    ),
    (
        "boolean_for_text",
        "environment.name",
        True,
        "scaleplan:environment.name: must be text (got true)",
    ),
    (
        "number_for_cidr",
        "network.vpc_cidr",
        10,
        "scaleplan:network.vpc_cidr: must be text (got 10)",
    ),
    (
        "list_for_mapping",
        "network.subnet_prefix_lengths",
        [24, 19, 24],
        "scaleplan:network.subnet_prefix_lengths: must be a mapping of keys to values (got [24, 19, 24])",
    ),
    (
        "text_for_list",
        "network.interface_endpoints",
        "sts",
        "scaleplan:network.interface_endpoints: must be a list (got 'sts')",
    ),
    # out-of-range numbers
    (
        "ratio_above_one",
        "capacity.daily_active_ratio",
        1.5,
        "scaleplan:capacity.daily_active_ratio: must be <= 1 (got 1.5)",
    ),
    ("zero_users", "capacity.users_max", 0, "scaleplan:capacity.users_max: must be > 0 (got 0)"),
    (
        "headroom_below_one",
        "capacity.headroom_factor",
        0.5,
        "scaleplan:capacity.headroom_factor: must be >= 1 (got 0.5)",
    ),
    ("zero_budget", "budget.monthly_usd", 0, "scaleplan:budget.monthly_usd: must be > 0 (got 0)"),
    (
        "subnet_smaller_than_aws_allows",
        "network.subnet_prefix_lengths.private",
        29,
        "scaleplan:network.subnet_prefix_lengths.private: must be <= 28 (got 29)",
    ),
    (
        "no_budget_alerts",
        "budget.alert_thresholds_percent",
        [],
        "scaleplan:budget.alert_thresholds_percent: must list at least 1 item, not 0 (got [])",
    ),
    # the phase is the user's label, any name that is a valid tag and label value
    (
        "phase_not_a_label",
        "environment.phase",
        "Day 30",
        "scaleplan:environment.phase: must match the pattern ^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$ (got 'Day 30')",
    ),
    # unknown enum values
    (
        "unknown_nat_strategy",
        "network.nat_strategy",
        "two",
        "scaleplan:network.nat_strategy: must be one of 'none', 'single' or 'one_per_az' (got 'two')",
    ),
    (
        "unknown_interface_endpoint",
        "network.interface_endpoints.1",
        "dynamodb",
        "scaleplan:network.interface_endpoints[1]: must be one of 'secretsmanager', 'kms', 'sts', 'logs', "
        "'monitoring', 'ecr.api', 'ecr.dkr', 'ssm', 'ssmmessages', 'ec2messages', 'eks', 'elasticloadbalancing' "
        "or 'autoscaling' (got 'dynamodb')",
    ),
    (
        "lowercase_flow_log_traffic",
        "network.flow_logs.traffic_type",
        "all",
        "scaleplan:network.flow_logs.traffic_type: must be one of 'ALL', 'REJECT' or 'ACCEPT' (got 'all')",
    ),
    # missing required sizing
    (
        "missing_users",
        "capacity.users_max",
        DELETE,
        "scaleplan:capacity.users_max: required, but missing from the stack file",
    ),
    ("missing_network", "network", DELETE, "scaleplan:network: required, but missing from the stack file"),
    (
        "missing_nat_strategy",
        "network.nat_strategy",
        DELETE,
        "scaleplan:network.nat_strategy: required, but missing from the stack file",
    ),
    (
        "missing_flow_log_retention",
        "network.flow_logs.retention_days",
        DELETE,
        "scaleplan:network.flow_logs.retention_days: required, but missing from the stack file",
    ),
    # zones
    (
        "zone_outside_region",
        "network.availability_zones.1",
        "us-west-2b",
        "scaleplan:network.availability_zones[1]: zone 'us-west-2b' is not in scaleplan:environment.region 'us-east-1'",
    ),
    (
        "duplicate_zones",
        "network.availability_zones.1",
        "us-east-1a",
        "scaleplan:network.availability_zones: must name three different zones "
        "(got ['us-east-1a', 'us-east-1a', 'us-east-1c'])",
    ),
    (
        "two_zones",
        "network.availability_zones",
        ["us-east-1a", "us-east-1b"],
        "scaleplan:network.availability_zones: must list at least 3 items, not 2 (got ['us-east-1a', 'us-east-1b'])",
    ),
    (
        "malformed_zone",
        "network.availability_zones.2",
        "useast1c",
        r"scaleplan:network.availability_zones[2]: must match the pattern ^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$ "
        "(got 'useast1c')",
    ),
    # the VPC range and the subnets in it
    (
        "public_vpc_cidr",
        "network.vpc_cidr",
        "8.8.0.0/16",
        "scaleplan:network.vpc_cidr: must be an RFC 1918 private range (got 8.8.0.0/16)",
    ),
    (
        "vpc_cidr_with_host_bits",
        "network.vpc_cidr",
        "10.40.0.1/16",
        "scaleplan:network.vpc_cidr: must be a network address, and 10.40.0.1/16 has host bits set; "
        "use 10.40.0.0/16 (got '10.40.0.1/16')",
    ),
    (
        "vpc_cidr_not_an_address",
        "network.vpc_cidr",
        "ten-forty/16",
        "scaleplan:network.vpc_cidr: must be an IPv4 network in CIDR notation such as 10.40.0.0/16: "
        "Expected 4 octets in 'ten-forty' (got 'ten-forty/16')",
    ),
    (
        "vpc_larger_than_aws_allows",
        "network.vpc_cidr",
        "10.0.0.0/12",
        "scaleplan:network.vpc_cidr: prefix length must be between /16 and /24, as AWS allows (got 10.0.0.0/12)",
    ),
    (
        "subnet_larger_than_vpc",
        "network.vpc_cidr",
        "10.40.0.0/20",
        "scaleplan:network.subnet_prefix_lengths: a /19 private subnet is larger than the VPC 10.40.0.0/20",
    ),
    (
        "subnets_not_fitting",
        "network.subnet_prefix_lengths",
        {"public": 20, "private": 18, "isolated": 20},
        "scaleplan:network.subnet_prefix_lengths: subnets of /20 public, /18 private and /20 isolated in 3 zones "
        "need 73728 addresses, more than the 65536 in 10.40.0.0/16",
    ),
    (
        "bad_log_retention",
        "network.flow_logs.retention_days",
        45,
        "scaleplan:network.flow_logs.retention_days: must be a CloudWatch Logs retention period, one of 1, 3, 5, 7, "
        "14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (got 45)",
    ),
    # identity
    (
        "uppercase_environment_name",
        "environment.name",
        "FTW_Prod",
        "scaleplan:environment.name: must match the pattern ^[a-z][a-z0-9-]{1,14}[a-z0-9]$ (got 'FTW_Prod')",
    ),
    (
        "unpriced_region",
        "environment.region",
        "ap-south-1",
        "scaleplan:environment.region: no prices for region 'ap-south-1' in infra/cost/prices.yaml; "
        "regions with prices: eu-central-1, eu-west-1, us-east-1, us-west-2",
    ),
    (
        "malformed_region",
        "environment.region",
        "us-east",
        r"scaleplan:environment.region: must match the pattern ^[a-z]{2}(-gov)?-[a-z]+-\d$ (got 'us-east')",
    ),
    # compute: the growth phase runs on EKS node pools
    (
        "pool_min_above_max",
        "compute.node_pools.base",
        {"min_size": 5, "desired_size": 2, "max_size": 4},
        "scaleplan:compute.node_pools.base.min_size: must be <= max_size (4) (got 5)",
    ),
    (
        "pool_desired_above_max",
        "compute.node_pools.base",
        {"min_size": 2, "desired_size": 9, "max_size": 4},
        "scaleplan:compute.node_pools.base.desired_size: must be between min_size 2 and max_size 4 (got 9)",
    ),
    (
        "pool_unknown_instance_type",
        "compute.node_pools.base.instance_types",
        ["t3.mega"],
        lambda: (
            "scaleplan:compute.node_pools.base.instance_types[0]: unknown instance type 't3.mega'; allowed: "
            + ", ".join(sorted(ec2_instance_types()))
        ),
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_rejects_with_one_exact_line(path: str, value: Any, expected: str | Callable[[], str]) -> None:
    line = expected() if callable(expected) else expected
    assert rejection(changed(path, value)) == [f"{SOURCE}: {line}"]


def test_rejection_cases_are_distinct_and_many() -> None:
    assert len({(path, repr(value)) for _, path, value, _ in CASES}) == len(CASES) >= 30
    assert len({case[0] for case in CASES + ASG_CASES}) == len(CASES) + len(ASG_CASES)


# The foundation phase runs on an Auto Scaling group: its sizes, stated in each case.
ASG = "compute.auto_scaling_group"
ASG_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "asg_min_above_max",
        {"min_size": 6, "desired_capacity": 2, "max_size": 4},
        "scaleplan:compute.auto_scaling_group.min_size: must be <= max_size (4) (got 6)",
    ),
    (
        "asg_desired_below_min",
        {"min_size": 2, "desired_capacity": 1, "max_size": 4},
        "scaleplan:compute.auto_scaling_group.desired_capacity: must be between min_size 2 and max_size 4 (got 1)",
    ),
    (
        "asg_zero_max",
        {"min_size": 0, "desired_capacity": 0, "max_size": 0},
        "scaleplan:compute.auto_scaling_group.max_size: must be >= 1 (got 0)",
    ),
    (
        "asg_unknown_instance_type",
        {"instance_type": "t3.mega"},
        "scaleplan:compute.auto_scaling_group.instance_type: unknown instance type 't3.mega'; allowed: "
        "c6g.large, c6g.xlarge, c7g.2xlarge, c7g.large, c7g.xlarge, m6g.large, m6g.xlarge, m6i.large, m6i.xlarge, "
        "m7g.large, m7g.xlarge, m7i.large, m7i.xlarge, r6g.large, r7g.large, t3.large, t3.medium, t3.xlarge, "
        "t4g.large, t4g.medium, t4g.micro, t4g.nano, t4g.small, t4g.xlarge",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [case[1:] for case in ASG_CASES], ids=[c[0] for c in ASG_CASES])
def test_rejects_auto_scaling_group_sizes(change: dict[str, Any], expected: str) -> None:
    source = "Pulumi.foundation.yaml"
    assert rejection(changed(ASG, change, phase="foundation"), source) == [f"{source}: {expected}"]


def test_rejects_compute_that_cannot_serve_the_peak_and_says_by_how_much() -> None:
    config = changed(
        ASG, {"instance_type": "t4g.large", "min_size": 2, "desired_capacity": 2, "max_size": 4}, "foundation"
    )
    config["scaleplan:capacity"]["users_max"] = 3_000_000
    # 3M users -> 6000 RPS peak x 1.5 headroom / 25 RPS per vCPU = 360 vCPUs, against
    # 4 x t4g.large (2 vCPUs at a 30% credit baseline) = 2.4 sustained at most.
    assert rejection(config, "Pulumi.foundation.yaml") == [
        "Pulumi.foundation.yaml: scaleplan:compute: at most 2.4 sustained application vCPUs (burstable types at "
        "their CPU-credit baseline) cannot serve the peak of 6000 requests/s with headroom 1.5: 360 vCPUs are "
        "needed, 357.6 short; raise max sizes or use larger instance types"
    ]


def test_a_burstable_type_counts_at_its_credit_baseline() -> None:
    # Foundation's peak (5,000 users: 10 requests/s x 1.5 / 25 per vCPU) needs 0.6 vCPUs. Two t4g.nano
    # (2 vCPUs each, 5% baseline) sustain 0.2: refused, though their 4 vCPUs would pass a count of cores.
    nano = changed(
        ASG, {"instance_type": "t4g.nano", "min_size": 1, "desired_capacity": 1, "max_size": 2}, "foundation"
    )
    assert rejection(nano, "Pulumi.foundation.yaml") == [
        "Pulumi.foundation.yaml: scaleplan:compute: at most 0.2 sustained application vCPUs (burstable types at "
        "their CPU-credit baseline) cannot serve the peak of 10 requests/s with headroom 1.5: 0.6 vCPUs are "
        "needed, 0.4 short; raise max sizes or use larger instance types"
    ]
    # Two t4g.small (20% baseline) sustain 0.8, enough for 0.6: accepted, a whole vCPU is not demanded.
    small = changed(
        ASG, {"instance_type": "t4g.small", "min_size": 1, "desired_capacity": 1, "max_size": 2}, "foundation"
    )
    config = parse_phase_config(small, "Pulumi.foundation.yaml")
    assert config.compute.sustained_application_vcpus() == 0.8
    assert config.compute.max_application_vcpus() == 4


def test_reports_every_problem_of_a_file_at_once() -> None:
    config = changed("capacity.users_max", "25000")
    config["scaleplan:network"]["nat_strategy"] = "two"
    assert rejection(config) == [
        f"{SOURCE}: scaleplan:capacity.users_max: must be a whole number, not quoted text; remove the quotes "
        "(got '25000')",
        f"{SOURCE}: scaleplan:network.nat_strategy: must be one of 'none', 'single' or 'one_per_az' (got 'two')",
    ]


def _leaf_paths(node: Any, prefix: tuple[str, ...]) -> list[tuple[str, ...]]:
    if isinstance(node, dict) and node:
        return [p for key, value in node.items() for p in _leaf_paths(value, (*prefix, str(key)))]
    if isinstance(node, list) and node:
        return [p for index, value in enumerate(node) for p in _leaf_paths(value, (*prefix, str(index)))]
    return [prefix]


@functools.cache
def _all_paths(phase: str) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for key, value in base_config(phase).items():
        if key.startswith("scaleplan:"):
            paths += _leaf_paths(value, (key.removeprefix("scaleplan:"),))
    return sorted(paths)


GARBAGE = st.sampled_from([None, "", "text", "3", -1, 0, 10**12, 1.5, True, [], ["x"], {}, {"x": 1}])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phase=st.sampled_from(["foundation", "growth"]), data=st.data())
def test_any_wrong_value_anywhere_gives_only_error_lines(phase: str, data: st.DataObject) -> None:
    """A validator must never crash on a value of the wrong type: every failure is a line."""
    path = data.draw(st.sampled_from(_all_paths(phase)))
    value = data.draw(GARBAGE)
    source = f"Pulumi.{phase}.yaml"
    try:
        parse_phase_config(changed_at(path, value, phase), source)
    except PhaseConfigError as error:
        lines = str(error).splitlines()
        assert lines
        assert all(line.startswith(f"{source}: scaleplan:") for line in lines), lines
