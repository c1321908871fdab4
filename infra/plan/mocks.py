"""Mocks that answer like AWS, Cloudflare and Kubernetes would.

Resource IDs and ARNs have the shape the real services return (``vpc-0...``,
``arn:aws:rds:us-east-1:123456789012:db:...``), and the computed outputs that the program
reads back (endpoints, OIDC issuers, secret ARNs) are filled in, so code that parses or
interpolates them is exercised as it would be in a real run. Invokes answer with values
of the configured region and a fixed fake account.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
"""The fake AWS account every mocked ARN belongs to."""
DEFAULT_REGION = "us-east-1"

ComputedOutputs = Callable[[str, Mapping[str, Any], str], dict[str, Any]]
"""(logical name, inputs, region) -> properties the provider would compute."""


def _hex(seed: str, length: int = 17) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{resource}"


# Prefixes of EC2-style IDs, keyed by type token.
_ID_PREFIXES: dict[str, str] = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/route:Route": "r-rtb",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
}


def _name_or(inputs: Mapping[str, Any], name: str) -> str:
    return str(inputs.get("name") or name)


# Computed outputs per type token. Extend this table when a component reads back a property
# that the provider computes; keep values shaped like the real service's.
COMPUTED: dict[str, ComputedOutputs] = {
    "aws:ec2/vpc:Vpc": lambda n, i, r: {
        "arn": _arn("ec2", r, f"vpc/vpc-{_hex(n)}"),
        "defaultSecurityGroupId": f"sg-{_hex(n + 'default')}",
        "mainRouteTableId": f"rtb-{_hex(n + 'main')}",
        "defaultNetworkAclId": f"acl-{_hex(n + 'acl')}",
        "ownerId": ACCOUNT_ID,
    },
    "aws:ec2/subnet:Subnet": lambda n, i, r: {
        "arn": _arn("ec2", r, f"subnet/subnet-{_hex(n)}"),
        "ownerId": ACCOUNT_ID,
    },
    "aws:ec2/eip:Eip": lambda n, i, r: {
        "publicIp": "198.51.100." + str(int(_hex(n, 4), 16) % 250 + 1),
        "allocationId": f"eipalloc-{_hex(n)}",
    },
    "aws:ec2/natGateway:NatGateway": lambda n, i, r: {
        "publicIp": "203.0.113." + str(int(_hex(n, 4), 16) % 250 + 1),
        "networkInterfaceId": f"eni-{_hex(n)}",
    },
    "aws:ec2/securityGroup:SecurityGroup": lambda n, i, r: {
        "arn": _arn("ec2", r, f"security-group/sg-{_hex(n)}"),
        "ownerId": ACCOUNT_ID,
    },
    "aws:kms/key:Key": lambda n, i, r: {
        "arn": _arn("kms", r, f"key/{_uuid(n)}"),
        "keyId": _uuid(n),
    },
    "aws:kms/alias:Alias": lambda n, i, r: {
        "arn": _arn("kms", r, str(i.get("name", f"alias/{n}"))),
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda n, i, r: {
        "arn": _arn("logs", r, f"log-group:{_name_or(i, n)}"),
    },
    "aws:iam/role:Role": lambda n, i, r: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{_name_or(i, n)}",
        "uniqueId": "AROA" + _hex(n, 17).upper(),
    },
    "aws:iam/policy:Policy": lambda n, i, r: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/{_name_or(i, n)}",
    },
    "aws:iam/instanceProfile:InstanceProfile": lambda n, i, r: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/{_name_or(i, n)}",
    },
    "aws:sns/topic:Topic": lambda n, i, r: {
        "arn": _arn("sns", r, _name_or(i, n)),
    },
    "aws:secretsmanager/secret:Secret": lambda n, i, r: {
        "arn": _arn("secretsmanager", r, f"secret:{_name_or(i, n)}-{_hex(n, 6)}"),
    },
}


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def mock_id(type_token: str, name: str) -> str:
    """An ID shaped like the one the real provider would assign."""
    prefix = _ID_PREFIXES.get(type_token)
    if prefix is not None:
        return f"{prefix}-{_hex(type_token + name)}"
    return f"{name}-{_hex(type_token + name, 8)}"


def _invoke_answers(region: str) -> dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]]:
    return {
        "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
            "accountId": ACCOUNT_ID,
            "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci",
            "userId": "AIDA" + _hex("ci", 17).upper(),
            "id": ACCOUNT_ID,
        },
        "aws:index/getRegion:getRegion": lambda a: {
            "name": region,
            "region": region,
            "id": region,
            "endpoint": f"ec2.{region}.amazonaws.com",
            "description": "US East (N. Virginia)",
        },
        "aws:index/getPartition:getPartition": lambda a: {
            "partition": "aws",
            "dnsSuffix": "amazonaws.com",
            "id": "aws",
            "reverseDnsPrefix": "com.amazonaws",
        },
    }


class RealisticMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes with realistic, deterministic values."""

    def __init__(self, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self._invokes = _invoke_answers(region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", state
        computed = COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, args.inputs, self.region))
        elif args.typ.startswith("aws:") and "arn" not in state:
            service = args.typ.split(":")[1].split("/")[0]
            state["arn"] = _arn(service, self.region, f"{_name_or(args.inputs, args.name)}")
        resource_id = args.resource_id or mock_id(args.typ, args.name)
        state.setdefault("id", resource_id)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answer = self._invokes.get(args.token)
        if answer is None:
            raise NotImplementedError(f"no mock for invoke {args.token}; add a realistic answer in infra/plan/mocks.py")
        return answer(args.args), []
