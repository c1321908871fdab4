"""The VPC: three tiers of subnets over three AZs, NAT by strategy, endpoints and flow logs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config.network import NatStrategy, NetworkConfig
from infra.naming import Service, physical_name
from infra.network.cidr import TIERS, plan_subnets
from infra.tagging import with_name

# Subnet tags the AWS Load Balancer Controller uses to find where to put load balancers.
_LOAD_BALANCER_ROLE_TAGS = {
    "public": {"kubernetes.io/role/elb": "1"},
    "private": {"kubernetes.io/role/internal-elb": "1"},
    "isolated": {},
}


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    config: NetworkConfig
    environment: str
    region: str
    tags: Mapping[str, str]
    logs_kms_key_arn: pulumi.Input[str]
    """CMK that encrypts the flow-log group."""


class Network(pulumi.ComponentResource):
    """A VPC with public, private (compute) and isolated (data) subnets in each AZ.

    Defaults are the secure ones: the default security group has no rules, no subnet
    assigns public IPs, the isolated tier has no route out, flow logs capture all traffic
    into a CMK-encrypted log group, and S3 plus the configured AWS services are reached
    through VPC endpoints instead of the NAT.
    """

    vpc_id: pulumi.Output[str]
    """ID of the VPC."""
    vpc_cidr: str
    public_subnet_ids: dict[str, pulumi.Output[str]]
    """Public subnet IDs by AZ."""
    private_subnet_ids: dict[str, pulumi.Output[str]]
    """Private (compute) subnet IDs by AZ."""
    isolated_subnet_ids: dict[str, pulumi.Output[str]]
    """Isolated (data) subnet IDs by AZ."""
    nat_gateway_ids: dict[str, pulumi.Output[str]]
    """NAT gateway IDs by the AZ they sit in."""

    def subnet_ids(self, tier: str) -> dict[str, pulumi.Output[str]]:
        """Subnet IDs by AZ of the ``public``, ``private`` or ``isolated`` tier."""
        return {
            "public": self.public_subnet_ids,
            "private": self.private_subnet_ids,
            "isolated": self.isolated_subnet_ids,
        }[tier]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:network:Network", name, None, opts)
        cfg = args.config
        tags = args.tags
        zones = cfg.availability_zones
        child = pulumi.ResourceOptions(parent=self)
        vpc_name = physical_name(args.environment, "vpc", service=Service.GENERIC)

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(cfg.vpc_cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=with_name(tags, vpc_name),
            opts=child,
        )
        self.vpc_id = vpc.id
        self.vpc_cidr = str(cfg.vpc_cidr)

        # Adopting the default security group with no rules removes the allow-all rules AWS
        # puts there, so nothing that forgets its own group is silently reachable.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags=with_name(tags, f"{vpc_name}-default-do-not-use"),
            opts=child,
        )

        subnets: dict[str, dict[str, aws.ec2.Subnet]] = {tier: {} for tier in TIERS}
        for planned in plan_subnets(cfg.vpc_cidr, zones, cfg.subnet_prefix_lengths.model_dump()):
            subnet_name = physical_name(
                args.environment, planned.tier, planned.availability_zone, service=Service.GENERIC
            )
            subnets[planned.tier][planned.availability_zone] = aws.ec2.Subnet(
                f"{name}-{planned.tier}-{planned.availability_zone}",
                vpc_id=vpc.id,
                cidr_block=str(planned.cidr),
                availability_zone=planned.availability_zone,
                map_public_ip_on_launch=False,
                tags={**with_name(tags, subnet_name), "tier": planned.tier, **_LOAD_BALANCER_ROLE_TAGS[planned.tier]},
                opts=child,
            )
        self.public_subnet_ids = {az: s.id for az, s in subnets["public"].items()}
        self.private_subnet_ids = {az: s.id for az, s in subnets["private"].items()}
        self.isolated_subnet_ids = {az: s.id for az, s in subnets["isolated"].items()}

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=with_name(tags, f"{vpc_name}-igw"), opts=child)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=with_name(tags, f"{vpc_name}-public"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for az, subnet in subnets["public"].items():
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{az}-rta", subnet_id=subnet.id, route_table_id=public_rt.id, opts=child
            )

        nat_zones = {
            NatStrategy.NONE: (),
            NatStrategy.SINGLE: zones[:1],
            NatStrategy.ONE_PER_AZ: zones,
        }[cfg.nat_strategy]
        nat_gateways: dict[str, aws.ec2.NatGateway] = {}
        for az in nat_zones:
            eip = aws.ec2.Eip(
                f"{name}-nat-{az}-eip", domain="vpc", tags=with_name(tags, f"{vpc_name}-nat-{az}"), opts=child
            )
            nat_gateways[az] = aws.ec2.NatGateway(
                f"{name}-nat-{az}",
                allocation_id=eip.allocation_id,
                subnet_id=subnets["public"][az].id,
                connectivity_type="public",
                tags=with_name(tags, f"{vpc_name}-nat-{az}"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )
        self.nat_gateway_ids = {az: nat.id for az, nat in nat_gateways.items()}

        # One private route table per AZ whatever the NAT strategy, so that moving from a
        # single NAT to one per AZ changes routes only, never the tables or associations.
        private_rts: dict[str, aws.ec2.RouteTable] = {}
        for az, subnet in subnets["private"].items():
            rt = aws.ec2.RouteTable(
                f"{name}-private-{az}-rt", vpc_id=vpc.id, tags=with_name(tags, f"{vpc_name}-private-{az}"), opts=child
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{az}-rta", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )
            if nat_gateways:
                nat = nat_gateways.get(az, nat_gateways[nat_zones[0]])
                aws.ec2.Route(
                    f"{name}-private-{az}-default-route",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=child,
                )
            private_rts[az] = rt

        isolated_rt = aws.ec2.RouteTable(
            f"{name}-isolated-rt", vpc_id=vpc.id, tags=with_name(tags, f"{vpc_name}-isolated"), opts=child
        )
        for az, subnet in subnets["isolated"].items():
            aws.ec2.RouteTableAssociation(
                f"{name}-isolated-{az}-rta", subnet_id=subnet.id, route_table_id=isolated_rt.id, opts=child
            )

        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts.values()] + [isolated_rt.id],
            tags=with_name(tags, f"{vpc_name}-s3"),
            opts=child,
        )

        if cfg.interface_endpoints:
            endpoint_sg = aws.ec2.SecurityGroup(
                f"{name}-endpoints-sg",
                name=physical_name(args.environment, "vpc-endpoints", service=Service.SECURITY_GROUP),
                description="HTTPS from inside the VPC to AWS service interface endpoints",
                vpc_id=vpc.id,
                tags=with_name(tags, f"{vpc_name}-endpoints"),
                opts=child,
            )
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-endpoints-https-in",
                security_group_id=endpoint_sg.id,
                description="HTTPS from the VPC",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                cidr_ipv4=str(cfg.vpc_cidr),
                tags=tags,
                opts=child,
            )
            for service in cfg.interface_endpoints:
                aws.ec2.VpcEndpoint(
                    f"{name}-{service.value.replace('.', '-')}-endpoint",
                    vpc_id=vpc.id,
                    service_name=f"com.amazonaws.{args.region}.{service.value}",
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[subnet.id for subnet in subnets["private"].values()],
                    security_group_ids=[endpoint_sg.id],
                    tags=with_name(tags, f"{vpc_name}-{service.value}"),
                    opts=child,
                )

        log_group_name = f"/scaleplan/{args.environment}/vpc-flow-logs"
        flow_log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=log_group_name,
            retention_in_days=cfg.flow_logs.retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=with_name(tags, log_group_name),
            opts=child,
        )
        flow_log_role = aws.iam.Role(
            f"{name}-flow-logs-role",
            name=physical_name(args.environment, "vpc-flow-logs", service=Service.IAM_ROLE),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=flow_log_role.id,
            policy=flow_log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogGroups",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type=cfg.flow_logs.traffic_type.value,
            log_destination_type="cloud-watch-logs",
            log_destination=flow_log_group.arn,
            iam_role_arn=flow_log_role.arn,
            max_aggregation_interval=60,
            tags=with_name(tags, f"{vpc_name}-flow-log"),
            opts=child,
        )

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "isolated_subnet_ids": self.isolated_subnet_ids,
                "nat_gateway_ids": self.nat_gateway_ids,
            }
        )
