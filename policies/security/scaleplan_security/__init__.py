"""The rules of the scaleplan security pack, one module per service."""

from __future__ import annotations

from pulumi_policy import Policy

from . import aws_ec2, aws_eks, aws_elasticache, aws_encryption, aws_lb, aws_rds, cloudflare, kubernetes, stack

POLICIES: list[Policy] = [
    *aws_rds.POLICIES,
    *aws_elasticache.POLICIES,
    *aws_eks.POLICIES,
    *aws_ec2.POLICIES,
    *aws_lb.POLICIES,
    *aws_encryption.POLICIES,
    *cloudflare.POLICIES,
    *kubernetes.POLICIES,
    *stack.POLICIES,
]
