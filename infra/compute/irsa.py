"""IAM roles for Kubernetes service accounts (IRSA), the one way pods get AWS permissions.

A pod's service account is annotated ``eks.amazonaws.com/role-arn: <role>``; EKS injects a
token whose issuer is the cluster's OIDC provider, and the role trusts exactly that issuer,
that namespace and that service account. Nodes' instance roles stay minimal, and the instance
metadata service is out of reach of pods (hop limit 1).

Use :meth:`ClusterOidc.service_account_role` from any component::

    role = cluster.oidc.service_account_role(
        f"{name}-pgbouncer",
        ServiceAccountRoleArgs(environment=env, namespace="data", service_account="pgbouncer",
                               policy_json=policy, tags=tags),
        parent=self,
    )
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.naming import Service, physical_name
from infra.tagging import with_name

STS_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
"""The service-account annotation that names the role its pods assume."""


def issuer_host(issuer_url: str) -> str:
    """``https://oidc.eks.us-east-1.amazonaws.com/id/ABC`` -> ``oidc.eks.us-east-1.amazonaws.com/id/ABC``."""
    return issuer_url.removeprefix("https://")


def service_account_subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def irsa_trust_policy(oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> str:
    """Trust policy letting only ``namespace/service_account`` of one cluster assume the role.

    Both ``sub`` and ``aud`` are pinned with ``StringEquals``: without ``sub`` any service
    account of the cluster could assume the role, without ``aud`` a token minted for another
    audience would do.
    """
    host = issuer_host(issuer_url)
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ServiceAccountAssumesWithWebIdentity",
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{host}:sub": service_account_subject(namespace, service_account),
                            f"{host}:aud": STS_AUDIENCE,
                        }
                    },
                }
            ],
        }
    )


def _trust_for(values: list[str], *, namespace: str, service_account: str) -> str:
    provider_arn, issuer_url = values
    return irsa_trust_policy(provider_arn, issuer_url, namespace, service_account)


@dataclass(frozen=True, kw_only=True)
class ServiceAccountRoleArgs:
    environment: str
    """Prefix of the role's physical name."""
    namespace: str
    service_account: str
    policy_json: pulumi.Input[str] | None = None
    """Inline policy (build it with ``json.dumps``); ``None`` for managed policies only."""
    managed_policy_arns: Sequence[str] = ()
    """AWS-managed policies (``arn:aws:iam::aws:policy/...``) to attach as well."""
    tags: Mapping[str, str]


@dataclass(frozen=True)
class ClusterOidc:
    """A cluster's IAM OIDC identity provider: what every IRSA role trusts."""

    provider_arn: pulumi.Output[str]
    issuer_url: pulumi.Output[str]
    """``https://oidc.eks.<region>.amazonaws.com/id/<id>``."""

    def trust_policy(self, namespace: str, service_account: str) -> pulumi.Output[str]:
        return pulumi.Output.all(self.provider_arn, self.issuer_url).apply(
            lambda values: _trust_for(values, namespace=namespace, service_account=service_account)
        )

    def service_account_role(self, name: str, args: ServiceAccountRoleArgs, *, parent: pulumi.Resource) -> aws.iam.Role:
        """Declare the role (``{name}-role``), its inline policy and attachments under ``parent``.

        ``name`` is the caller's logical-name prefix, e.g. ``f"{component}-pgbouncer"``.
        """
        child = pulumi.ResourceOptions(parent=parent)
        role_name = physical_name(
            args.environment, "irsa", args.namespace, args.service_account, service=Service.IAM_ROLE
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=f"IRSA: service account {args.namespace}/{args.service_account}",
            assume_role_policy=self.trust_policy(args.namespace, args.service_account),
            max_session_duration=3600,
            tags=with_name(args.tags, role_name),
            opts=child,
        )
        if args.policy_json is not None:
            aws.iam.RolePolicy(
                f"{name}-policy",
                role=role.name,
                name=f"{args.namespace}-{args.service_account}",
                policy=args.policy_json,
                opts=child,
            )
        for policy_arn in args.managed_policy_arns:
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy_arn.rsplit('/', 1)[-1]}",
                role=role.name,
                policy_arn=policy_arn,
                opts=child,
            )
        return role
