"""Ingress that admits named client security groups, and nothing else, on one port."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def admit_client_groups(
    name: str,
    *,
    security_group_id: pulumi.Input[str],
    clients: Mapping[str, pulumi.Input[str]],
    port: int,
    service: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> None:
    """One ``<name>-from-<client>`` rule per client group, keyed by the client's stable name.

    Rules reference groups, never CIDRs, so a data tier is reachable only from the tiers that
    were named to it; adding a client adds a rule without touching the others.
    """
    for client, group_id in sorted(clients.items()):
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-from-{client}",
            security_group_id=security_group_id,
            description=f"{service} from {client}",
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            referenced_security_group_id=group_id,
            tags=dict(tags),
            opts=opts,
        )
