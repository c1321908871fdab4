"""IAM policies of the in-cluster controllers and the application, as plain functions.

Each grants what its controller calls and no more, scoped by tag or name wherever the AWS
API allows it; ``Describe*``/``List*`` calls that take no resource stay on ``*``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from infra.compute.node_pools import autoscaler_tags
from infra.secrets.policy import secret_reader_statements


def _document(statements: list[dict[str, object]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def cluster_autoscaler_policy(cluster_name: str, region: str, account_id: str) -> str:
    """Read every group, but resize and terminate only groups tagged as this cluster's."""
    owned = {f"aws:ResourceTag/{key}": value for key, value in autoscaler_tags(cluster_name).items()}
    return _document(
        [
            {
                "Sid": "DiscoverNodeGroups",
                "Effect": "Allow",
                "Action": [
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadOwnManagedNodeGroups",
                "Effect": "Allow",
                "Action": "eks:DescribeNodegroup",
                "Resource": f"arn:aws:eks:{region}:{account_id}:nodegroup/{cluster_name}/*",
            },
            {
                "Sid": "ResizeOwnNodeGroups",
                "Effect": "Allow",
                "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                "Resource": f"arn:aws:autoscaling:{region}:{account_id}:autoScalingGroup:*:autoScalingGroupName/*",
                "Condition": {"StringEquals": owned},
            },
        ]
    )


def keda_operator_policy() -> str:
    """KEDA's operator reads the CloudWatch metric its aws-cloudwatch triggers name, nothing else.

    ``cloudwatch:GetMetricData`` is the only call the aws-cloudwatch scaler makes (kedacore/keda
    pkg/scalers/aws_cloudwatch_scaler.go); it has no resource-level permissions or condition
    keys (Service Authorization Reference, Amazon CloudWatch), so its resource is ``*``.
    """
    return _document(
        [{"Sid": "ReadScalingMetrics", "Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}]
    )


_LBC_TAG = "elbv2.k8s.aws/cluster"
"""The tag the AWS Load Balancer Controller puts on everything it creates."""


def aws_load_balancer_controller_policy() -> str:
    """The AWS Load Balancer Controller: read the VPC and ELB, change only what it created.

    Writes to load balancers, target groups and security groups are limited to resources
    carrying the controller's ``elbv2.k8s.aws/cluster`` tag, or to creating them with it.
    """
    created_by_controller = {"Null": {f"aws:ResourceTag/{_LBC_TAG}": "false"}}
    elb_arns = [
        "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
        "arn:aws:elasticloadbalancing:*:*:loadbalancer/net/*/*",
        "arn:aws:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    ]
    return _document(
        [
            {
                "Sid": "CreateElbServiceLinkedRole",
                "Effect": "Allow",
                "Action": "iam:CreateServiceLinkedRole",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
            },
            {
                "Sid": "Discover",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeAccountAttributes",
                    "ec2:DescribeAddresses",
                    "ec2:DescribeAvailabilityZones",
                    "ec2:DescribeInternetGateways",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeVpcPeeringConnections",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeInstances",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeTags",
                    "ec2:DescribeRouteTables",
                    "ec2:GetCoipPoolUsage",
                    "ec2:DescribeCoipPools",
                    "ec2:GetSecurityGroupsForVpc",
                    "ec2:DescribeIpamPools",
                    "elasticloadbalancing:DescribeLoadBalancers",
                    "elasticloadbalancing:DescribeLoadBalancerAttributes",
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeListenerCertificates",
                    "elasticloadbalancing:DescribeListenerAttributes",
                    "elasticloadbalancing:DescribeSSLPolicies",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetGroupAttributes",
                    "elasticloadbalancing:DescribeTargetHealth",
                    "elasticloadbalancing:DescribeTags",
                    "elasticloadbalancing:DescribeTrustStores",
                    "elasticloadbalancing:DescribeCapacityReservation",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadCertificatesAndProtection",
                "Effect": "Allow",
                "Action": [
                    "cognito-idp:DescribeUserPoolClient",
                    "acm:ListCertificates",
                    "acm:DescribeCertificate",
                    "iam:ListServerCertificates",
                    "iam:GetServerCertificate",
                    "waf-regional:GetWebACL",
                    "waf-regional:GetWebACLForResource",
                    "waf-regional:AssociateWebACL",
                    "waf-regional:DisassociateWebACL",
                    "wafv2:GetWebACL",
                    "wafv2:GetWebACLForResource",
                    "wafv2:AssociateWebACL",
                    "wafv2:DisassociateWebACL",
                    "shield:GetSubscriptionState",
                    "shield:DescribeProtection",
                    "shield:CreateProtection",
                    "shield:DeleteProtection",
                ],
                "Resource": "*",
            },
            {
                "Sid": "OpenNodeSecurityGroupsToLoadBalancers",
                "Effect": "Allow",
                "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                "Resource": "*",
            },
            {
                "Sid": "CreateSecurityGroups",
                "Effect": "Allow",
                "Action": "ec2:CreateSecurityGroup",
                "Resource": "*",
            },
            {
                "Sid": "TagSecurityGroupsOnCreate",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": "arn:aws:ec2:*:*:security-group/*",
                "Condition": {
                    "StringEquals": {"ec2:CreateAction": "CreateSecurityGroup"},
                    "Null": {f"aws:RequestTag/{_LBC_TAG}": "false"},
                },
            },
            {
                "Sid": "RetagOwnSecurityGroups",
                "Effect": "Allow",
                "Action": ["ec2:CreateTags", "ec2:DeleteTags"],
                "Resource": "arn:aws:ec2:*:*:security-group/*",
                "Condition": {"Null": {f"aws:RequestTag/{_LBC_TAG}": "true", f"aws:ResourceTag/{_LBC_TAG}": "false"}},
            },
            {
                "Sid": "ManageOwnSecurityGroups",
                "Effect": "Allow",
                "Action": [
                    "ec2:AuthorizeSecurityGroupIngress",
                    "ec2:RevokeSecurityGroupIngress",
                    "ec2:DeleteSecurityGroup",
                ],
                "Resource": "*",
                "Condition": created_by_controller,
            },
            {
                "Sid": "CreateTaggedLoadBalancers",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup"],
                "Resource": "*",
                "Condition": {"Null": {f"aws:RequestTag/{_LBC_TAG}": "false"}},
            },
            {
                "Sid": "ManageListenersAndRules",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:CreateListener",
                    "elasticloadbalancing:DeleteListener",
                    "elasticloadbalancing:CreateRule",
                    "elasticloadbalancing:DeleteRule",
                ],
                "Resource": "*",
            },
            {
                "Sid": "RetagOwnLoadBalancers",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                "Resource": elb_arns,
                "Condition": {"Null": {f"aws:RequestTag/{_LBC_TAG}": "true", f"aws:ResourceTag/{_LBC_TAG}": "false"}},
            },
            {
                "Sid": "TagListenersAndRules",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"],
                "Resource": [
                    "arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
                    "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
                ],
            },
            {
                "Sid": "ModifyOwnLoadBalancers",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:ModifyLoadBalancerAttributes",
                    "elasticloadbalancing:SetIpAddressType",
                    "elasticloadbalancing:SetSecurityGroups",
                    "elasticloadbalancing:SetSubnets",
                    "elasticloadbalancing:DeleteLoadBalancer",
                    "elasticloadbalancing:ModifyTargetGroup",
                    "elasticloadbalancing:ModifyTargetGroupAttributes",
                    "elasticloadbalancing:DeleteTargetGroup",
                    "elasticloadbalancing:ModifyListenerAttributes",
                    "elasticloadbalancing:ModifyCapacityReservation",
                    "elasticloadbalancing:ModifyIpPools",
                ],
                "Resource": "*",
                "Condition": created_by_controller,
            },
            {
                "Sid": "TagOnCreate",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:AddTags",
                "Resource": elb_arns,
                "Condition": {
                    "StringEquals": {"elasticloadbalancing:CreateAction": ["CreateTargetGroup", "CreateLoadBalancer"]},
                    "Null": {f"aws:RequestTag/{_LBC_TAG}": "false"},
                },
            },
            {
                "Sid": "RegisterTargets",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
            },
            {
                "Sid": "ManageListenerSettings",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:SetWebAcl",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:AddListenerCertificates",
                    "elasticloadbalancing:RemoveListenerCertificates",
                    "elasticloadbalancing:ModifyRule",
                    "elasticloadbalancing:SetRulePriorities",
                ],
                "Resource": "*",
            },
        ]
    )


def application_policy(
    region: str, account_id: str, secret_names: Sequence[str], kms_key_arns: Sequence[str] = ()
) -> str:
    """The application reads exactly ``secret_names``, and nothing else.

    ``kms_key_arns`` are the CMKs those secrets are encrypted with; decrypting is allowed only
    through Secrets Manager and only for those secrets.
    """
    return _document(
        secret_reader_statements(
            region=region, account_id=account_id, secret_names=secret_names, kms_key_arns=kms_key_arns
        )
    )
