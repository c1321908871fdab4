"""EC2: IMDSv2, no public addresses, disks on our key, closed ingress, a closed default group, VPC flow logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._common import (
    WORLD_CIDRS,
    attached,
    is_true,
    items,
    listing,
    mapping,
    number,
    of_type,
    resource_policy,
    waivable_policy,
)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
DEFAULT_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
_PULUMI_DEFAULT_DESCRIPTION = "Managed by Pulumi"


# -- launch templates ------------------------------------------------------------------


def _imdsv2(args: ResourceValidationArgs, report: ReportViolation) -> None:
    metadata = mapping(args.props.get("metadataOptions"))
    if metadata.get("httpEndpoint") == "disabled":
        return
    if metadata.get("httpTokens") != "required":
        report(
            f"Launch template '{args.name}' allows IMDSv1 (httpTokens={metadata.get('httpTokens')!r}); "
            "set metadata_options.http_tokens='required'.",
            None,
        )


def _hop_limit(args: ResourceValidationArgs, report: ReportViolation) -> None:
    maximum = args.get_config()["maximumHops"]
    metadata = mapping(args.props.get("metadataOptions"))
    if metadata.get("httpEndpoint") == "disabled":
        return
    hops = metadata.get("httpPutResponseHopLimit")
    if hops is None or hops > maximum:
        shown = "unset (the AMI decides)" if hops is None else number(hops)
        report(
            f"Launch template '{args.name}' has metadata hop limit {shown}; set "
            f"metadata_options.http_put_response_hop_limit to at most {number(maximum)} so containers "
            "cannot reach the node's credentials.",
            None,
        )


def _public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for index, interface in enumerate(items(args.props.get("networkInterfaces"))):
        if is_true(interface.get("associatePublicIpAddress")):
            report(
                f"Launch template '{args.name}' gives network interface {index} a public IP; "
                "set associate_public_ip_address='false' and reach instances through the load balancer.",
                None,
            )


def _encrypted_volumes(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mappings = [m for m in items(args.props.get("blockDeviceMappings")) if not m.get("noDevice")]
    if not mappings:
        report(
            f"Launch template '{args.name}' declares no block device mapping, so volume encryption is left to "
            "the AMI; declare the root volume with ebs.encrypted='true'.",
            None,
        )
    for device in mappings:
        if "ebs" in device and not is_true(mapping(device.get("ebs")).get("encrypted")):
            report(
                f"Launch template '{args.name}' does not encrypt volume {device.get('deviceName')}; "
                "set ebs.encrypted='true' (with ebs.kms_key_id for a customer-managed key).",
                None,
            )


def _volume_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for device in items(args.props.get("blockDeviceMappings")):
        ebs = mapping(device.get("ebs"))
        if "ebs" in device and not ebs.get("kmsKeyId"):
            report(
                f"Launch template '{args.name}' encrypts volume {device.get('deviceName')} with the AWS-managed key; "
                "set ebs.kms_key_id to a customer-managed KMS key ARN.",
                None,
            )


def _group_launch_template(args: ResourceValidationArgs, report: ReportViolation) -> None:
    mixed = mapping(mapping(args.props.get("mixedInstancesPolicy")).get("launchTemplate"))
    template = mapping(args.props.get("launchTemplate")) or mapping(mixed.get("launchTemplateSpecification"))
    if not (template.get("id") or template.get("name")):
        report(
            f"Auto Scaling group '{args.name}' does not launch from a launch template (launch configurations "
            "cannot require IMDSv2 or a customer key); set launch_template to the program's template.",
            None,
        )


# -- the VPC's default security group, subnets, flow logs --------------------------------


def _default_group_rules(args: ResourceValidationArgs, report: ReportViolation) -> None:
    counts = {d: len(items(args.props.get(d))) for d in ("ingress", "egress")}
    if any(counts.values()):
        report(
            f"Default security group '{args.name}' keeps {counts['ingress']} ingress and {counts['egress']} egress "
            "rules; set ingress=[] and egress=[] so nothing can use the default group.",
            None,
        )


def _default_group_managed(args: StackValidationArgs, report: ReportViolation) -> None:
    defaults = of_type(args.resources, DEFAULT_GROUP)
    for vpc in of_type(args.resources, VPC):
        if not attached(vpc, defaults, "vpcId"):
            report(
                f"VPC '{vpc.name}' leaves its default security group with AWS's allow rules; manage it with an "
                "aws.ec2.DefaultSecurityGroup that has no rules.",
                vpc.urn,
            )


def _public_ip_on_launch(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if is_true(args.props.get("mapPublicIpOnLaunch")):
        report(
            f"Subnet '{args.name}' gives every instance launched in it a public IP; set map_public_ip_on_launch=False.",
            None,
        )


def _flow_logs(args: StackValidationArgs, report: ReportViolation) -> None:
    logs = of_type(args.resources, FLOW_LOG)
    for vpc in of_type(args.resources, VPC):
        traffic = sorted({str(log.props.get("trafficType")) for log in attached(vpc, logs, "vpcId")})
        if "ALL" not in traffic:
            report(
                f"VPC '{vpc.name}' has no flow log of all traffic (flow logs: {listing(traffic) or 'none'}); "
                "add an aws.ec2.FlowLog with traffic_type='ALL'.",
                vpc.urn,
            )


# -- security groups ---------------------------------------------------------------------


def _group_description(args: ResourceValidationArgs, report: ReportViolation) -> None:
    description = args.props.get("description")
    if not description or description == _PULUMI_DEFAULT_DESCRIPTION:
        report(
            f"Security group '{args.name}' has no description of its purpose; set description.",
            None,
        )


def _inline_rules(props: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for direction in ("ingress", "egress"):
        for rule in items(props.get(direction)):
            yield direction, rule


def _rule_description(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == SECURITY_GROUP:
        for direction, rule in _inline_rules(args.props):
            if not rule.get("description"):
                report(
                    f"Security group '{args.name}' has an {direction} rule for ports "
                    f"{_ports(rule)} without a description; set description on every rule.",
                    None,
                )
    elif not args.props.get("description"):
        report(f"Security group rule '{args.name}' has no description; set description.", None)


def _ports(rule: Mapping[str, Any]) -> str:
    protocol = str(rule.get("protocol", rule.get("ipProtocol", "")))
    low, high = rule.get("fromPort"), rule.get("toPort")
    if protocol in ("-1", "all"):
        return "all"
    if low is None or low == high:
        return number(low)
    return f"{number(low)}-{number(high)}"


def _world_sources(rule: Mapping[str, Any]) -> list[str]:
    sources = [*items(rule.get("cidrBlocks")), *items(rule.get("ipv6CidrBlocks"))]
    sources += [rule[key] for key in ("cidrIpv4", "cidrIpv6") if rule.get(key)]
    return [s for s in sources if s in WORLD_CIDRS]


def _allowed_public(rule: Mapping[str, Any], group: PolicyResource | None, config: Mapping[str, Any]) -> bool:
    if group is None:
        return False
    tags = mapping(group.props.get("tags"))
    if tags.get(config["roleTagKey"]) != config["roleTagValue"]:
        return False
    protocol = str(rule.get("protocol", rule.get("ipProtocol", "")))
    ports = set(config["publicPorts"])
    return protocol in ("tcp", "6") and rule.get("fromPort") == rule.get("toPort") and rule.get("fromPort") in ports


def _group_of(rule: PolicyResource, groups: list[PolicyResource]) -> PolicyResource | None:
    linked = {d.urn for d in rule.property_dependencies.get("securityGroupId", [])}
    group_id = rule.props.get("securityGroupId")
    for group in groups:
        if group.urn in linked or (group_id and group.props.get("id") == group_id):
            return group
    return None


def _world_ingress(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    groups = [r for r in args.resources if r.resource_type == SECURITY_GROUP]
    allowed = (
        f"only tcp {listing(number(p) for p in config['publicPorts'])} on a group tagged "
        f"{config['roleTagKey']}={config['roleTagValue']} may be open to the internet"
    )
    for group in groups:
        for rule in items(group.props.get("ingress")):
            world = _world_sources(rule)
            if world and not _allowed_public(rule, group, config):
                report(
                    f"Security group '{group.name}' allows ingress on ports {_ports(rule)} from "
                    f"{listing(world)}; {allowed}.",
                    group.urn,
                )
    for rule in args.resources:
        if rule.resource_type == GROUP_RULE and rule.props.get("type") != "ingress":
            continue
        if rule.resource_type not in (INGRESS_RULE, GROUP_RULE):
            continue
        world = _world_sources(rule.props)
        if world and not _allowed_public(rule.props, _group_of(rule, groups), config):
            report(
                f"Security group rule '{rule.name}' allows ingress on ports {_ports(rule.props)} from "
                f"{listing(world)}; {allowed}.",
                rule.urn,
            )


POLICIES: list[Policy] = [
    resource_policy(
        "aws-ec2-launchtemplate-require-imdsv2",
        "Launch templates must require IMDSv2.",
        [LAUNCH_TEMPLATE],
        _imdsv2,
    ),
    resource_policy(
        "aws-ec2-launchtemplate-limit-metadata-hop-limit",
        "Launch templates must keep the instance metadata hop limit low.",
        [LAUNCH_TEMPLATE],
        _hop_limit,
        {"maximumHops": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1}},
    ),
    waivable_policy(
        "aws-ec2-launchtemplate-disallow-public-ip",
        "Launch templates must not give instances public IP addresses (waived only by the accepted risk "
        "no_nat_gateway).",
        [LAUNCH_TEMPLATE],
        _public_ip,
        risk="no_nat_gateway",
    ),
    resource_policy(
        "aws-ec2-launchtemplate-require-encrypted-volumes",
        "Launch templates must encrypt every EBS volume.",
        [LAUNCH_TEMPLATE],
        _encrypted_volumes,
    ),
    resource_policy(
        "aws-ec2-launchtemplate-require-customer-managed-key",
        "Launch template volumes must be encrypted with a customer-managed KMS key.",
        [LAUNCH_TEMPLATE],
        _volume_keys,
    ),
    resource_policy(
        "aws-autoscaling-group-require-launch-template",
        "Auto Scaling groups must launch from the program's launch template.",
        [AUTOSCALING_GROUP],
        _group_launch_template,
    ),
    resource_policy(
        "aws-ec2-defaultsecuritygroup-disallow-rules",
        "The VPC's default security group must have no rules.",
        [DEFAULT_GROUP],
        _default_group_rules,
    ),
    StackValidationPolicy(
        name="aws-ec2-vpc-require-closed-default-security-group",
        description="Every VPC's default security group must be managed (and emptied) by the program.",
        validate=_default_group_managed,
    ),
    waivable_policy(
        "aws-ec2-subnet-disallow-public-ip-on-launch",
        "Subnets must not give instances public IP addresses (waived only by the accepted risk no_nat_gateway).",
        [SUBNET],
        _public_ip_on_launch,
        risk="no_nat_gateway",
    ),
    StackValidationPolicy(
        name="aws-ec2-vpc-require-flow-logs",
        description="Every VPC must log all its traffic.",
        validate=_flow_logs,
    ),
    resource_policy(
        "aws-ec2-securitygroup-require-description",
        "Security groups must describe their purpose.",
        [SECURITY_GROUP],
        _group_description,
    ),
    resource_policy(
        "aws-ec2-securitygroup-require-rule-description",
        "Security group rules must describe their purpose.",
        [SECURITY_GROUP, INGRESS_RULE, EGRESS_RULE, GROUP_RULE],
        _rule_description,
    ),
    StackValidationPolicy(
        name="aws-ec2-securitygroup-disallow-world-ingress",
        description="Security groups must not allow ingress from the internet, except HTTP(S) to the load balancer.",
        validate=_world_ingress,
        config_schema=PolicyConfigSchema(
            properties={
                "roleTagKey": {"type": "string", "default": "scaleplan:role"},
                "roleTagValue": {"type": "string", "default": "load-balancer"},
                "publicPorts": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 1, "maximum": 65535},
                    "default": [80, 443],
                },
            }
        ),
    ),
]
