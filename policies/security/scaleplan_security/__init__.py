"""The rules of the scaleplan security pack, one module per service."""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    aws_ec2,
    aws_eks,
    aws_elasticache,
    aws_encryption,
    aws_iam,
    aws_lb,
    aws_operations,
    aws_rds,
    aws_s3,
    aws_secretsmanager,
    cloudflare,
    kubernetes,
    random_password,
    stack,
)

POLICIES: list[Policy] = [
    *aws_rds.POLICIES,
    *aws_elasticache.POLICIES,
    *aws_eks.POLICIES,
    *aws_ec2.POLICIES,
    *aws_lb.POLICIES,
    *aws_encryption.POLICIES,
    *aws_secretsmanager.POLICIES,
    *aws_s3.POLICIES,
    *aws_iam.POLICIES,
    *aws_operations.POLICIES,
    *cloudflare.POLICIES,
    *kubernetes.POLICIES,
    *random_password.POLICIES,
    *stack.POLICIES,
]
