"""The Network component, built in isolation under mocks, and the network of every phase."""

from __future__ import annotations

import functools
import itertools
import json
from collections import Counter
from ipaddress import IPv4Network
from typing import Any

import pytest

from infra.config.network import NatStrategy, NetworkConfig
from infra.network.cidr import plan_subnets
from infra.network.component import Network, NetworkArgs
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from tests.conftest import built_phase, phase_config

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TAGS = {"project": "scaleplan", "phase": "growth", "environment": "ftw-test", "cost-center": "cc-1"}

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
IGW = "aws:ec2/internetGateway:InternetGateway"


def network_config(**overrides: Any) -> NetworkConfig:
    values: dict[str, Any] = {
        "vpc_cidr": "10.40.0.0/16",
        "availability_zones": list(ZONES),
        "subnet_prefix_lengths": {"public": 24, "private": 19, "isolated": 24},
        "nat_strategy": "single",
        "interface_endpoints": ["secretsmanager", "sts"],
        "flow_logs": {"retention_days": 30},
        **overrides,
    }
    return NetworkConfig.model_validate_json(json.dumps(values), strict=True)


@functools.cache
def build(nat_strategy: str = "single", endpoints: tuple[str, ...] = ("secretsmanager", "sts")) -> ProgramRun:
    config = network_config(nat_strategy=nat_strategy, interface_endpoints=list(endpoints))

    def program() -> None:
        Network(
            "network",
            NetworkArgs(config=config, environment="ftw-test", region="us-east-1", tags=TAGS, logs_kms_key_arn=KEY_ARN),
        )

    return run_program(program, project="scaleplan", stack="test")


def subnets_by(run: ProgramRun, tier: str) -> dict[str, CapturedResource]:
    return {s.inputs["availabilityZone"]: s for s in run.of_type(SUBNET) if s.inputs["tags"]["tier"] == tier}


def by_output_id(run: ProgramRun, type_token: str) -> dict[str, CapturedResource]:
    return {r.outputs["id"]: r for r in run.of_type(type_token)}


def default_route_nat_zone(run: ProgramRun) -> dict[str, str | None]:
    """Private subnet AZ -> AZ of the NAT its route table sends 0.0.0.0/0 to (None: no route)."""
    table_of_subnet = {a.inputs["subnetId"]: a.inputs["routeTableId"] for a in run.of_type(ASSOCIATION)}
    nats = by_output_id(run, NAT)
    public_zone = {s.outputs["id"]: az for az, s in subnets_by(run, "public").items()}
    routes = {r.inputs["routeTableId"]: r for r in run.of_type(ROUTE) if r.inputs.get("natGatewayId")}
    result: dict[str, str | None] = {}
    for az, subnet in subnets_by(run, "private").items():
        route = routes.get(table_of_subnet[subnet.outputs["id"]])
        if route is None:
            result[az] = None
            continue
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        result[az] = public_zone[nats[route.inputs["natGatewayId"]].inputs["subnetId"]]
    return result


def test_creates_exactly_these_children() -> None:
    run = build()
    assert Counter(r.type for r in run.resources) == {
        "scaleplan:network:Network": 1,
        VPC: 1,
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
        SUBNET: 9,
        IGW: 1,
        ROUTE_TABLE: 5,
        ROUTE: 4,
        ASSOCIATION: 9,
        EIP: 1,
        NAT: 1,
        ENDPOINT: 3,
        "aws:ec2/securityGroup:SecurityGroup": 1,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicy:RolePolicy": 1,
        "aws:ec2/flowLog:FlowLog": 1,
    }


def test_children_are_parented_and_named_from_the_component() -> None:
    run = build()
    component = run.one("scaleplan:network:Network")
    for resource in run.resources:
        if resource is component:
            continue
        assert resource.parent == component.urn, resource.name
        assert resource.name.startswith("network-"), resource.name


def test_spreads_each_tier_over_the_three_zones() -> None:
    run = build()
    for tier in ("public", "private", "isolated"):
        assert sorted(subnets_by(run, tier)) == list(ZONES)
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in run.of_type(SUBNET))


def test_subnets_follow_the_plan_inside_the_vpc_without_overlap() -> None:
    run = build()
    vpc = IPv4Network(run.one(VPC).inputs["cidrBlock"])
    cidrs = {
        (s.inputs["tags"]["tier"], s.inputs["availabilityZone"]): IPv4Network(s.inputs["cidrBlock"])
        for s in run.of_type(SUBNET)
    }
    planned = plan_subnets(vpc, ZONES, {"public": 24, "private": 19, "isolated": 24})
    assert cidrs == {(p.tier, p.availability_zone): p.cidr for p in planned}
    ordered = sorted(cidrs.values())
    for cidr in ordered:
        assert cidr.subnet_of(vpc)
    for first, second in itertools.pairwise(ordered):
        assert not first.overlaps(second)


@pytest.mark.parametrize(
    ("strategy", "nat_zones", "routes"),
    [
        ("none", [], dict.fromkeys(ZONES)),
        ("single", ["us-east-1a"], dict.fromkeys(ZONES, "us-east-1a")),
        ("one_per_az", list(ZONES), {az: az for az in ZONES}),
    ],
)
def test_nat_strategy_decides_gateways_and_private_routes(
    strategy: str, nat_zones: list[str], routes: dict[str, str | None]
) -> None:
    run = build(strategy)
    public_zone = {s.outputs["id"]: az for az, s in subnets_by(run, "public").items()}
    assert sorted(public_zone[n.inputs["subnetId"]] for n in run.of_type(NAT)) == nat_zones
    assert len(run.of_type(EIP)) == len(nat_zones)
    assert default_route_nat_zone(run) == routes
    # Tables and associations do not depend on the strategy, so changing it moves routes only.
    assert len(run.of_type(ROUTE_TABLE)) == 5
    assert len(run.of_type(ASSOCIATION)) == 9


def test_nat_gateways_wait_for_the_internet_gateway_and_use_their_own_eip() -> None:
    run = build("one_per_az")
    igw = run.one(IGW)
    eips = {e.outputs["allocationId"] for e in run.of_type(EIP)}
    for nat in run.of_type(NAT):
        assert igw.urn in nat.dependencies
        assert nat.inputs["connectivityType"] == "public"
    assert {n.inputs["allocationId"] for n in run.of_type(NAT)} == eips
    assert all(e.inputs["domain"] == "vpc" for e in run.of_type(EIP))


def test_public_tier_routes_to_the_internet_gateway_and_isolated_tier_nowhere() -> None:
    run = build("one_per_az")
    igw = run.one(IGW)
    tables = {rt.inputs["tags"]["Name"]: rt.outputs["id"] for rt in run.of_type(ROUTE_TABLE)}
    public_routes = [r for r in run.of_type(ROUTE) if r.inputs["routeTableId"] == tables["ftw-test-vpc-public"]]
    assert [(r.inputs["destinationCidrBlock"], r.inputs["gatewayId"]) for r in public_routes] == [
        ("0.0.0.0/0", igw.outputs["id"])
    ]
    assert not [r for r in run.of_type(ROUTE) if r.inputs["routeTableId"] == tables["ftw-test-vpc-isolated"]]
    isolated_ids = {s.outputs["id"] for s in subnets_by(run, "isolated").values()}
    assert {a.inputs["routeTableId"] for a in run.of_type(ASSOCIATION) if a.inputs["subnetId"] in isolated_ids} == {
        tables["ftw-test-vpc-isolated"]
    }


def test_strips_every_rule_from_the_default_security_group() -> None:
    group = build().one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs["vpcId"] == build().one(VPC).outputs["id"]
    assert group.inputs.get("ingress", []) == []
    assert group.inputs.get("egress", []) == []


def test_flow_log_goes_to_a_cmk_encrypted_log_group_with_the_configured_retention() -> None:
    run = build()
    group = run.one("aws:cloudwatch/logGroup:LogGroup")
    role = run.one("aws:iam/role:Role")
    flow_log = run.one("aws:ec2/flowLog:FlowLog")
    assert group.inputs["retentionInDays"] == 30
    assert group.inputs["kmsKeyId"] == KEY_ARN
    assert group.inputs["name"] == "/scaleplan/ftw-test/vpc-flow-logs"
    assert flow_log.inputs["vpcId"] == run.one(VPC).outputs["id"]
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow_log.inputs["logDestination"] == group.outputs["arn"]
    assert flow_log.inputs["iamRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "vpc-flow-logs.amazonaws.com"}]
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == [group.outputs["arn"], f"{group.outputs['arn']}:*"]


def test_s3_gateway_endpoint_serves_private_and_isolated_tables() -> None:
    run = build()
    gateway = [e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Gateway"]
    assert [e.inputs["serviceName"] for e in gateway] == ["com.amazonaws.us-east-1.s3"]
    tables = {rt.outputs["id"]: rt.inputs["tags"]["Name"] for rt in run.of_type(ROUTE_TABLE)}
    assert sorted(tables[t] for t in gateway[0].inputs["routeTableIds"]) == [
        "ftw-test-vpc-isolated",
        "ftw-test-vpc-private-us-east-1a",
        "ftw-test-vpc-private-us-east-1b",
        "ftw-test-vpc-private-us-east-1c",
    ]


def test_interface_endpoints_are_the_configured_ones_in_private_subnets() -> None:
    run = build(endpoints=("secretsmanager", "sts", "ecr.api"))
    group = run.one("aws:ec2/securityGroup:SecurityGroup")
    interface = [e for e in run.of_type(ENDPOINT) if e.inputs["vpcEndpointType"] == "Interface"]
    assert sorted(e.inputs["serviceName"] for e in interface) == [
        "com.amazonaws.us-east-1.ecr.api",
        "com.amazonaws.us-east-1.secretsmanager",
        "com.amazonaws.us-east-1.sts",
    ]
    private_ids = sorted(s.outputs["id"] for s in subnets_by(run, "private").values())
    for endpoint in interface:
        assert endpoint.inputs["privateDnsEnabled"] is True
        assert sorted(endpoint.inputs["subnetIds"]) == private_ids
        assert endpoint.inputs["securityGroupIds"] == [group.outputs["id"]]
    rule = run.one("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"], rule.inputs["cidrIpv4"]) == (
        "tcp",
        443,
        443,
        "10.40.0.0/16",
    )
    assert rule.inputs["securityGroupId"] == group.outputs["id"]


def test_no_interface_endpoints_means_no_endpoint_security_group() -> None:
    run = build(endpoints=())
    assert [e.inputs["vpcEndpointType"] for e in run.of_type(ENDPOINT)] == ["Gateway"]
    assert not run.of_type("aws:ec2/securityGroup:SecurityGroup")


# --- the network of each whole phase -------------------------------------------------

NAT_COUNT = {NatStrategy.NONE: 0, NatStrategy.SINGLE: 1, NatStrategy.ONE_PER_AZ: 3}


def test_each_phase_builds_its_configured_network(phase: str) -> None:
    config = phase_config(phase).network
    run = built_phase(phase)
    network = run.one("scaleplan:network:Network", "network")
    children = Counter(r.type for r in run.children_of(network.urn))
    nats = NAT_COUNT[config.nat_strategy]
    assert children[VPC] == 1
    assert children[SUBNET] == 9
    assert children[NAT] == children[EIP] == nats
    assert children[ROUTE] == 1 + (3 if nats else 0)
    assert children[ENDPOINT] == 1 + len(config.interface_endpoints)
    assert children["aws:ec2/flowLog:FlowLog"] == 1
    assert Counter(
        s.inputs["availabilityZone"] for s in run.of_type(SUBNET) if s.parent == network.urn
    ) == dict.fromkeys(config.availability_zones, 3)
    assert run.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").inputs["retentionInDays"] == (
        config.flow_logs.retention_days
    )


def test_each_phase_encrypts_flow_logs_with_its_protected_logs_key(phase: str) -> None:
    run = built_phase(phase)
    key = run.one("aws:kms/key:Key", "keys-logs")
    assert key.protect
    assert key.inputs["enableKeyRotation"] is True
    assert run.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs").inputs["kmsKeyId"] == key.outputs["arn"]
    policy = json.loads(key.inputs["policy"])
    services = [s["Principal"] for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncrypt"]
    assert services == [{"Service": f"logs.{phase_config(phase).environment.region}.amazonaws.com"}]


def test_each_phase_has_one_protected_rotating_key_and_alias_per_purpose(phase: str) -> None:
    run = built_phase(phase)
    env = phase_config(phase).environment.name
    keys = run.one("scaleplan:security:PlatformKeys", "keys")
    children = run.children_of(keys.urn)
    assert {r.type for r in children} == {"aws:kms/key:Key", "aws:kms/alias:Alias"}
    cmks = {r.name.removeprefix("keys-"): r for r in children if r.type == "aws:kms/key:Key"}
    aliases = {
        r.name.removeprefix("keys-").removesuffix("-alias"): r for r in children if r.type == "aws:kms/alias:Alias"
    }
    assert "logs" in cmks
    assert sorted(aliases) == sorted(cmks)
    for purpose, key in cmks.items():
        assert key.protect, purpose
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["deletionWindowInDays"] == 30
        assert aliases[purpose].inputs["name"] == f"alias/{env}-{purpose}"
        assert aliases[purpose].inputs["targetKeyId"] == key.outputs["keyId"]


def test_each_phase_routes_private_subnets_by_its_nat_strategy_inside_one_vpc(phase: str) -> None:
    config = phase_config(phase).network
    run = built_phase(phase)
    zones = config.availability_zones
    expected = {
        NatStrategy.NONE: dict.fromkeys(zones),
        NatStrategy.SINGLE: dict.fromkeys(zones, zones[0]),
        NatStrategy.ONE_PER_AZ: {az: az for az in zones},
    }[config.nat_strategy]
    assert default_route_nat_zone(run) == expected
    cidrs = sorted(IPv4Network(s.inputs["cidrBlock"]) for s in run.of_type(SUBNET))
    assert all(cidr.subnet_of(config.vpc_cidr) for cidr in cidrs)
    assert not any(a.overlaps(b) for a, b in itertools.pairwise(cidrs))
