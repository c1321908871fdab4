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


_FAKE_CA_BUNDLE = (
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUMvakNDQWVhZ0F3SUJBZ0lCQURBTkJna3Foa2lHOXcwQkFRc0ZBREFW"
    "TVJNd0VRWURWUVFERXdwcmRXSmwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
)
"""Base64 of a PEM certificate block, the shape of ``certificateAuthority.data``."""


def _eks_cluster(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    """What EKS computes for a cluster: endpoint, CA bundle, OIDC issuer, cluster security group."""
    cluster = _name_or(inputs, name)
    oidc_id = _hex(name, 32).upper()
    return {
        "arn": _arn("eks", region, f"cluster/{cluster}"),
        "endpoint": f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": _FAKE_CA_BUNDLE},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
        "vpcConfig": {
            **dict(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{_hex(name + 'cluster')}",
            "vpcId": f"vpc-{_hex(name + 'vpc')}",
        },
        "platformVersion": "eks.5",
        "status": "ACTIVE",
        "clusterId": _uuid(name),
    }


# Route 53 zone of ALB DNS names per region (AWS, "Elastic Load Balancing endpoints and quotas").
_ALB_HOSTED_ZONE_IDS = {"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-2": "Z1H1FL5HABSF5"}


def _load_balancer(name: str, inputs: Mapping[str, Any], region: str) -> dict[str, Any]:
    """What ELB computes for an ALB: ARN, the CloudWatch dimension suffix, DNS name and zone."""
    lb = _name_or(inputs, name)
    suffix = f"app/{lb}/{_hex(name, 16)}"
    return {
        "arn": _arn("elasticloadbalancing", region, f"loadbalancer/{suffix}"),
        "arnSuffix": suffix,
        "dnsName": f"{lb}-{int(_hex(name, 8), 16) % 10**10}.{region}.elb.amazonaws.com",
        "zoneId": _ALB_HOSTED_ZONE_IDS.get(region, "Z35SXDOTRQ7X7K"),
        "vpcId": f"vpc-{_hex(name + 'vpc')}",
    }


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
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": lambda n, i, r: {
        "arn": _arn("elasticloadbalancing", r, f"targetgroup/{_name_or(i, n)}/{_hex(n, 16)}"),
        "arnSuffix": f"targetgroup/{_name_or(i, n)}/{_hex(n, 16)}",
    },
    "aws:lb/listener:Listener": lambda n, i, r: {
        "arn": str(i.get("loadBalancerArn", "")).replace(":loadbalancer/", ":listener/") + f"/{_hex(n, 16)}",
    },
    "aws:autoscaling/group:Group": lambda n, i, r: {
        "arn": _arn("autoscaling", r, f"autoScalingGroup:{_uuid(n)}:autoScalingGroupName/{_name_or(i, n)}"),
    },
    "aws:autoscaling/policy:Policy": lambda n, i, r: {
        "arn": _arn(
            "autoscaling",
            r,
            f"scalingPolicy:{_uuid(n)}:autoScalingGroupName/{i.get('autoscalingGroupName')}"
            f":policyName/{_name_or(i, n)}",
        ),
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda n, i, r: {
        "arn": _arn("cloudwatch", r, f"alarm:{_name_or(i, n)}"),
    },
    "aws:s3/bucket:Bucket": lambda n, i, r: {
        "arn": f"arn:aws:s3:::{i.get('bucket', n)}",
        "bucketDomainName": f"{i.get('bucket', n)}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{i.get('bucket', n)}.s3.{r}.amazonaws.com",
        "region": r,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
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
    "aws:secretsmanager/secretVersion:SecretVersion": lambda n, i, r: {
        "arn": str(i.get("secretId", "")),
        "versionId": _uuid(n + "version"),
        "versionStages": ["AWSCURRENT"],
    },
    "aws:rds/instance:Instance": lambda n, i, r: _rds_instance(n, i, r),  # noqa: PLW0108 - defined below
    "aws:rds/subnetGroup:SubnetGroup": lambda n, i, r: {
        "arn": _arn("rds", r, f"subgrp:{_name_or(i, n)}"),
    },
    "aws:rds/parameterGroup:ParameterGroup": lambda n, i, r: {
        "arn": _arn("rds", r, f"pg:{_name_or(i, n)}"),
    },
    "aws:elasticache/subnetGroup:SubnetGroup": lambda n, i, r: {
        "arn": _arn("elasticache", r, f"subnetgroup:{_name_or(i, n)}"),
    },
    "aws:elasticache/parameterGroup:ParameterGroup": lambda n, i, r: {
        "arn": _arn("elasticache", r, f"parametergroup:{_name_or(i, n)}"),
    },
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda n, i, r: _replication_group(  # noqa: PLW0108 - below
        n, i, r
    ),
    "aws:backup/vault:Vault": lambda n, i, r: {
        "arn": _arn("backup", r, f"backup-vault:{_name_or(i, n)}"),
        "recoveryPoints": 0,
    },
    "aws:backup/plan:Plan": lambda n, i, r: {
        "arn": _arn("backup", r, f"backup-plan:{_uuid(n)}"),
        "version": _hex(n + "version", 32),
    },
    "random:index/randomPassword:RandomPassword": lambda n, i, r: {
        # Deterministic stand-in of the requested length; the real provider draws it randomly.
        "result": (_hex(n, 64) * 4)[: int(i.get("length", 32))],
        "bcryptHash": "$2a$10$" + _hex(n + "bcrypt", 53),
    },
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": lambda n, i, r: {
        "arn": _arn("eks", r, f"nodegroup/{i.get('clusterName')}/{i.get('nodeGroupName', n)}/{_uuid(n)}"),
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{i.get('nodeGroupName', n)}-{_uuid(n)}"}]}],
    },
    "aws:eks/addon:Addon": lambda n, i, r: {
        "arn": _arn("eks", r, f"addon/{i.get('clusterName')}/{i.get('addonName')}/{_uuid(n)}"),
    },
    "aws:eks/accessEntry:AccessEntry": lambda n, i, r: {
        "accessEntryArn": _arn("eks", r, f"access-entry/{i.get('clusterName')}/role/{_uuid(n)}"),
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n, i, r: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{str(i.get('url', '')).removeprefix('https://')}",
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda n, i, r: {
        "arn": _arn("ec2", r, f"launch-template/lt-{_hex('aws:ec2/launchTemplate:LaunchTemplate' + n)}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    },
}


# Hosted zone of RDS endpoints in us-east-1 (Route 53 alias target for RDS).
_RDS_HOSTED_ZONE_ID = "Z2R2ITUGPM61AM"


def _rds_instance(n: str, i: Mapping[str, Any], r: str) -> dict[str, Any]:
    identifier = str(i.get("identifier") or n)
    address = f"{identifier}.c{_hex('rds-account', 12)}.{r}.rds.amazonaws.com"
    port = int(i.get("port") or 5432)
    outputs: dict[str, Any] = {
        "arn": _arn("rds", r, f"db:{identifier}"),
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "hostedZoneId": _RDS_HOSTED_ZONE_ID,
        "resourceId": "db-" + _hex(n, 26).upper(),
        "status": "available",
    }
    if i.get("replicateSourceDb"):
        outputs["engine"] = "postgres"
    if i.get("manageMasterUserPassword"):
        outputs["masterUserSecrets"] = [
            {
                "secretArn": _arn("secretsmanager", r, f"secret:rds!db-{_uuid(n)}-{_hex(n, 6)}"),
                "kmsKeyId": i.get("masterUserSecretKmsKeyId", ""),
                "secretStatus": "active",
            }
        ]
    return outputs


def _replication_group(n: str, i: Mapping[str, Any], r: str) -> dict[str, Any]:
    group_id = str(i.get("replicationGroupId") or n)
    suffix = f"{_hex(n, 6)}.{_short_region(r)}.cache.amazonaws.com"
    outputs: dict[str, Any] = {"arn": _arn("elasticache", r, f"replicationgroup:{group_id}")}
    if i.get("clusterMode") == "enabled":
        # Cluster mode: clients discover shards through the configuration endpoint.
        outputs["configurationEndpointAddress"] = f"clustercfg.{group_id}.{suffix}"
        shards = int(i.get("numNodeGroups") or 1)
        per_shard = 1 + int(i.get("replicasPerNodeGroup") or 0)
        outputs["memberClusters"] = [
            f"{group_id}-{shard:04d}-{node:03d}" for shard in range(1, shards + 1) for node in range(1, per_shard + 1)
        ]
    else:
        outputs["primaryEndpointAddress"] = f"master.{group_id}.{suffix}"
        outputs["readerEndpointAddress"] = f"replica.{group_id}.{suffix}"
        nodes = int(i.get("numCacheClusters") or 1)
        outputs["memberClusters"] = [f"{group_id}-{node:03d}" for node in range(1, nodes + 1)]
    return outputs


def _short_region(region: str) -> str:
    """``us-east-1`` -> ``use1``, as ElastiCache writes regions in endpoints."""
    area, direction, number = region.split("-", 2)
    return f"{area}{direction[0]}{number}"


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
        # The token a remotely managed tunnel's connectors run with (base64 of account, tunnel and
        # secret in the real API): a stand-in, never a credential.
        "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken": lambda a: {
            "accountId": a.get("accountId"),
            "tunnelId": a.get("tunnelId"),
            "token": "mock-tunnel-token-" + _hex(str(a.get("tunnelId")), 16),
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
        self._provider_regions: dict[str, str] = {}
        """Region of each explicit AWS provider by its ID: a second provider (the DR region) answers there."""
        self._invokes = _invoke_answers(region)

    def _region_of(self, args: pulumi.runtime.MockResourceArgs) -> str:
        """The region a resource lives in: its own ``region`` input, else its provider's, else the stack's."""
        if isinstance(args.inputs.get("region"), str):
            return str(args.inputs["region"])
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        return self._provider_regions.get(provider_id, self.region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            if args.typ == "pulumi:providers:aws" and isinstance(args.inputs.get("region"), str):
                self._provider_regions[f"{args.name}-provider-id"] = str(args.inputs["region"])
            return f"{args.name}-provider-id", state
        region = self._region_of(args)
        computed = COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(args.name, args.inputs, region))
        elif args.typ.startswith("aws:") and "arn" not in state:
            service = args.typ.split(":")[1].split("/")[0]
            state["arn"] = _arn(service, region, f"{_name_or(args.inputs, args.name)}")
        resource_id = args.resource_id or mock_id(args.typ, args.name)
        state.setdefault("id", resource_id)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answer = self._invokes.get(args.token)
        if answer is None:
            raise NotImplementedError(f"no mock for invoke {args.token}; add a realistic answer in infra/plan/mocks.py")
        return answer(args.args), []
