"""EKS, launch template and security group rules, through the real analyzer protocol."""

from __future__ import annotations

from typing import Any

import pytest

from infra.policy.runner import resource
from tests.policies.conftest import DELETE, PackUnderTest, mutate
from tests.policies.test_security_rds import KEY, TAGS

CLUSTER = "aws:eks/cluster:Cluster"
EKS: dict[str, Any] = {
    "roleArn": "arn:aws:iam::123456789012:role/ftw-prod-eks",
    "vpcConfig": {
        "subnetIds": ["subnet-1", "subnet-2"],
        "endpointPrivateAccess": True,
        "endpointPublicAccess": False,
    },
    "encryptionConfig": {"provider": {"keyArn": KEY}, "resources": ["secrets"]},
    "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
    "accessConfig": {"authenticationMode": "API"},
    "deletionProtection": True,
    "tags": TAGS,
}


def test_compliant_cluster_passes_every_rule(security_pack: PackUnderTest) -> None:
    assert security_pack.all_violations(resource(CLUSTER, "eks", EKS)) == {}


def test_public_endpoint_limited_to_named_networks_passes(security_pack: PackUnderTest) -> None:
    cluster = mutate(
        mutate(EKS, "vpcConfig.endpointPublicAccess", True), "vpcConfig.publicAccessCidrs", ["203.0.113.0/24"]
    )
    assert security_pack.all_violations(resource(CLUSTER, "eks", cluster)) == {}


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        (
            "aws-eks-cluster-disallow-public-endpoint",
            "vpcConfig.endpointPublicAccess",
            DELETE,
            "EKS cluster 'eks' exposes its API endpoint to 0.0.0.0/0 (the default); set "
            "vpc_config.endpoint_public_access=False (with endpoint_private_access=True) or list the "
            "allowed networks in public_access_cidrs.",
        ),
        (
            "aws-eks-cluster-disallow-public-endpoint",
            "vpcConfig",
            {"subnetIds": ["subnet-1"], "endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]},
            "EKS cluster 'eks' exposes its API endpoint to 0.0.0.0/0; set "
            "vpc_config.endpoint_public_access=False (with endpoint_private_access=True) or list the "
            "allowed networks in public_access_cidrs.",
        ),
        (
            "aws-eks-cluster-enable-secrets-encryption",
            "encryptionConfig",
            DELETE,
            "EKS cluster 'eks' does not encrypt Kubernetes secrets with a KMS key; set "
            "encryption_config with resources=['secrets'] and provider.key_arn.",
        ),
        (
            "aws-eks-cluster-enable-secrets-encryption",
            "encryptionConfig.provider.keyArn",
            DELETE,
            "EKS cluster 'eks' does not encrypt Kubernetes secrets with a KMS key; set "
            "encryption_config with resources=['secrets'] and provider.key_arn.",
        ),
        (
            "aws-eks-cluster-enable-control-plane-logging",
            "enabledClusterLogTypes",
            ["api", "audit"],
            "EKS cluster 'eks' does not log authenticator, controllerManager, scheduler; "
            "set enabled_cluster_log_types to api, audit, authenticator, controllerManager, scheduler.",
        ),
    ],
)
def test_rejects_cluster(security_pack: PackUnderTest, policy: str, path: str, value: object, message: str) -> None:
    assert security_pack.all_violations(resource(CLUSTER, "eks", mutate(EKS, path, value))) == {policy: [message]}


# -- launch templates ------------------------------------------------------------------------

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TEMPLATE: dict[str, Any] = {
    "imageId": "ami-0123456789abcdef0",
    "instanceType": "t3.large",
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
    "networkInterfaces": [{"associatePublicIpAddress": "false", "securityGroups": ["sg-1"]}],
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "kmsKeyId": KEY}}],
    "tags": TAGS,
}


def test_compliant_launch_template_passes_every_rule(security_pack: PackUnderTest) -> None:
    assert security_pack.all_violations(resource(LAUNCH_TEMPLATE, "app", TEMPLATE)) == {}


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        (
            "aws-ec2-launchtemplate-require-imdsv2",
            "metadataOptions.httpTokens",
            "optional",
            "Launch template 'app' allows IMDSv1 (httpTokens='optional'); set metadata_options.http_tokens='required'.",
        ),
        (
            "aws-ec2-launchtemplate-limit-metadata-hop-limit",
            "metadataOptions.httpPutResponseHopLimit",
            2,
            "Launch template 'app' has metadata hop limit 2; set metadata_options.http_put_response_hop_limit "
            "to at most 1 so containers cannot reach the node's credentials.",
        ),
        (
            "aws-ec2-launchtemplate-limit-metadata-hop-limit",
            "metadataOptions.httpPutResponseHopLimit",
            DELETE,
            "Launch template 'app' has metadata hop limit unset (the AMI decides); set "
            "metadata_options.http_put_response_hop_limit to at most 1 so containers cannot reach the node's "
            "credentials.",
        ),
        (
            "aws-ec2-launchtemplate-disallow-public-ip",
            "networkInterfaces.0.associatePublicIpAddress",
            "true",
            "Launch template 'app' gives network interface 0 a public IP; "
            "set associate_public_ip_address='false' and reach instances through the load balancer. Or, where the "
            "phase cannot afford it, accept the risk in the open: scaleplan:accepted_risks.no_nat_gateway with the "
            "reason.",
        ),
        (
            "aws-ec2-launchtemplate-require-encrypted-volumes",
            "blockDeviceMappings.0.ebs.encrypted",
            "false",
            "Launch template 'app' does not encrypt volume /dev/xvda; "
            "set ebs.encrypted='true' (with ebs.kms_key_id for a customer-managed key).",
        ),
        (
            "aws-ec2-launchtemplate-require-encrypted-volumes",
            "blockDeviceMappings",
            DELETE,
            "Launch template 'app' declares no block device mapping, so volume encryption is left to the AMI; "
            "declare the root volume with ebs.encrypted='true'.",
        ),
    ],
)
def test_rejects_launch_template(
    security_pack: PackUnderTest, policy: str, path: str, value: object, message: str
) -> None:
    template = resource(LAUNCH_TEMPLATE, "app", mutate(TEMPLATE, path, value))
    assert security_pack.all_violations(template) == {policy: [message]}


# -- security groups ---------------------------------------------------------------------------

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LB_TAGS = {**TAGS, "scaleplan:role": "load-balancer"}
LB_GROUP: dict[str, Any] = {
    "description": "Internet-facing load balancer: HTTP(S) in, app port out",
    "vpcId": "vpc-1",
    "ingress": [
        {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"], "description": "HTTPS"},
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "ipv6CidrBlocks": ["::/0"], "description": "redirect"},
    ],
    "egress": [
        {"protocol": "tcp", "fromPort": 8080, "toPort": 8080, "cidrBlocks": ["10.40.0.0/16"], "description": "app"}
    ],
    "tags": LB_TAGS,
}
APP_RULE: dict[str, Any] = {
    "securityGroupId": "sg-app",
    "ipProtocol": "tcp",
    "fromPort": 8080,
    "toPort": 8080,
    "referencedSecurityGroupId": "sg-lb",
    "description": "from the load balancer",
    "tags": TAGS,
}
WORLD = "aws-ec2-securitygroup-disallow-world-ingress"


def test_compliant_load_balancer_group_passes_every_rule(security_pack: PackUnderTest) -> None:
    group = resource(SECURITY_GROUP, "lb-sg", LB_GROUP)
    assert security_pack.all_violations(group) == {}
    assert security_pack.stack_violations([group], WORLD) == []


@pytest.mark.parametrize(
    ("policy", "path", "value", "message"),
    [
        (
            "aws-ec2-securitygroup-require-description",
            "description",
            DELETE,
            "Security group 'lb-sg' has no description of its purpose; set description.",
        ),
        (
            "aws-ec2-securitygroup-require-description",
            "description",
            "Managed by Pulumi",
            "Security group 'lb-sg' has no description of its purpose; set description.",
        ),
        (
            "aws-ec2-securitygroup-require-rule-description",
            "ingress.0.description",
            "",
            "Security group 'lb-sg' has an ingress rule for ports 443 without a description; "
            "set description on every rule.",
        ),
        (
            "aws-ec2-securitygroup-require-rule-description",
            "egress.0",
            {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]},
            "Security group 'lb-sg' has an egress rule for ports all without a description; "
            "set description on every rule.",
        ),
    ],
)
def test_rejects_security_group(
    security_pack: PackUnderTest, policy: str, path: str, value: object, message: str
) -> None:
    assert security_pack.all_violations(resource(SECURITY_GROUP, "lb-sg", mutate(LB_GROUP, path, value))) == {
        policy: [message]
    }


def test_rejects_standalone_rule_without_description(security_pack: PackUnderTest) -> None:
    rule = resource(INGRESS_RULE, "app-from-lb", mutate(APP_RULE, "description", DELETE))
    assert security_pack.all_violations(rule) == {
        "aws-ec2-securitygroup-require-rule-description": [
            "Security group rule 'app-from-lb' has no description; set description."
        ]
    }


ALLOWED = "only tcp 80, 443 on a group tagged scaleplan:role=load-balancer may be open to the internet."


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "tags",
            TAGS,
            f"Security group 'lb-sg' allows ingress on ports 443 from 0.0.0.0/0; {ALLOWED}",
        ),
        (
            "ingress.0.fromPort",
            22,
            f"Security group 'lb-sg' allows ingress on ports 22-443 from 0.0.0.0/0; {ALLOWED}",
        ),
        (
            "ingress.1.protocol",
            "-1",
            f"Security group 'lb-sg' allows ingress on ports all from ::/0; {ALLOWED}",
        ),
    ],
)
def test_rejects_world_ingress_on_inline_rules(
    security_pack: PackUnderTest, path: str, value: object, message: str
) -> None:
    group = resource(SECURITY_GROUP, "lb-sg", mutate(LB_GROUP, path, value))
    found = security_pack.stack_violations([group], WORLD)
    assert found[:1] == [(group.urn, message)]
    assert len(found) == (2 if path == "tags" else 1)


def world_rule(pack: PackUnderTest, group_props: dict[str, Any], port: int) -> list[tuple[str, str]]:
    group = resource(SECURITY_GROUP, "lb-sg", {**group_props, "ingress": []})
    rule = resource(
        INGRESS_RULE,
        f"lb-in-{port}",
        {
            "securityGroupId": "sg-lb",
            "ipProtocol": "tcp",
            "fromPort": port,
            "toPort": port,
            "cidrIpv4": "0.0.0.0/0",
            "description": "from the internet",
            "tags": TAGS,
        },
        property_dependencies={"securityGroupId": [group.urn]},
    )
    return pack.stack_violations([group, rule], WORLD)


def test_standalone_https_rule_on_the_load_balancer_group_passes(security_pack: PackUnderTest) -> None:
    assert world_rule(security_pack, LB_GROUP, 443) == []


def test_rejects_standalone_world_rule_on_another_port(security_pack: PackUnderTest) -> None:
    [(urn, message)] = world_rule(security_pack, LB_GROUP, 5432)
    assert urn.endswith("::lb-in-5432")
    assert message == f"Security group rule 'lb-in-5432' allows ingress on ports 5432 from 0.0.0.0/0; {ALLOWED}"


def test_rejects_standalone_world_rule_on_an_untagged_group(security_pack: PackUnderTest) -> None:
    [(_, message)] = world_rule(security_pack, {**LB_GROUP, "tags": TAGS}, 443)
    assert message == f"Security group rule 'lb-in-443' allows ingress on ports 443 from 0.0.0.0/0; {ALLOWED}"


def test_public_ports_come_from_config(security_pack: PackUnderTest) -> None:
    group = resource(SECURITY_GROUP, "lb-sg", LB_GROUP)
    found = security_pack.stack_violations([group], WORLD, {WORLD: {"publicPorts": [443]}})
    allowed = "only tcp 443 on a group tagged scaleplan:role=load-balancer may be open to the internet."
    assert found == [(group.urn, f"Security group 'lb-sg' allows ingress on ports 80 from ::/0; {allowed}")]
