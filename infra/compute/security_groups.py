"""Security groups of the request path: internet -> ALB -> application."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.naming import Service, physical_name
from infra.tagging import with_name

ANYWHERE_IPV4 = "0.0.0.0/0"
LISTENER_PORTS = {"http": 80, "https": 443}
"""The only ports open to the internet, and only on the load balancer's group."""
LOAD_BALANCER_ROLE_TAG = {"scaleplan:role": "load-balancer"}
"""Marks the one group the security pack lets the internet reach (on ``LISTENER_PORTS`` only)."""


@dataclass(frozen=True, kw_only=True)
class LoadBalancerIngress:
    """Who may open connections to the ALB, and on which listener ports."""

    source: str
    """Short name of the sources (``internet``, ``cloudflare``) for rule names and descriptions."""
    ipv4_cidrs: tuple[str, ...]
    ports: Mapping[str, int]
    """Listener name -> port."""


INTERNET_INGRESS = LoadBalancerIngress(source="internet", ipv4_cidrs=(ANYWHERE_IPV4,), ports=LISTENER_PORTS)
"""HTTP and HTTPS from anywhere: only for an ALB that nothing fronts."""


def _cidr_slug(cidr: str) -> str:
    return cidr.replace(".", "-").replace("/", "-")


@dataclass(frozen=True, kw_only=True)
class ApplicationSecurityGroupsArgs:
    environment: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    """Application egress inside the VPC (database, cache, pooler) is limited to this range."""
    app_port: int
    """Port the application listens on; the only port the ALB may reach it on."""
    tags: Mapping[str, str]
    alb_ingress: LoadBalancerIngress = INTERNET_INGRESS
    """Sources and ports the ALB's group admits; Cloudflare's ranges on 443 when the zone fronts it."""
    load_balancer: bool = True
    """False where the phase has no ALB: no ALB group, and the app group admits nothing at all."""
    tunnel_egress: bool = False
    """Let the app group dial out to Cloudflare's tunnel edge (``TUNNEL_PORT``, TCP and UDP)."""


TUNNEL_PORT = 7844
"""Where cloudflared connects to Cloudflare's edge (QUIC over UDP, or HTTP/2 over TCP):
the port of ``region1/region2.v2.argotunnel.com`` in cloudflared's own diagnostics."""


class ApplicationSecurityGroups(pulumi.ComponentResource):
    """The ALB group (HTTP/HTTPS from ``alb_ingress``) and the app group (app port from the ALB only).

    Without a load balancer (``load_balancer=False``) there is no ALB group and the app group
    admits nothing; with ``tunnel_egress`` it may dial out to Cloudflare's tunnel edge.

    Rules are separate ``aws.vpc`` rule resources, each with a description, so a teammate can add
    a rule to a group (the data tier lets the app group in) without rewriting the group. No group
    here or elsewhere may take ingress from 0.0.0.0/0 except the ALB's on 80 and 443.

    Egress: the ALB reaches only the app group on the app port; the app reaches HTTPS anywhere
    (AWS APIs, the image registry, through NAT or endpoints) and TCP inside the VPC (the data
    tier's own groups decide who they accept).
    """

    alb_security_group_id: pulumi.Output[str] | None
    """Group of the load balancer; None without one."""
    app_security_group_id: pulumi.Output[str]
    """Group of the application instances or pods; the data tier allows ingress from it."""

    def __init__(
        self, name: str, args: ApplicationSecurityGroupsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("scaleplan:compute:ApplicationSecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        alb_name = physical_name(args.environment, "alb", service=Service.SECURITY_GROUP)
        app_name = physical_name(args.environment, "app", service=Service.SECURITY_GROUP)

        app = aws.ec2.SecurityGroup(
            f"{name}-app",
            name=app_name,
            description=f"Application: port {args.app_port} from the ALB only",
            vpc_id=args.vpc_id,
            revoke_rules_on_delete=True,
            tags=with_name(args.tags, app_name),
            opts=child,
        )

        # The app group's description names the ALB even where there is none (it admits nothing
        # then): a changed description replaces the group, and with it every rule naming it.
        self.alb_security_group_id = None
        if args.load_balancer:
            self.alb_security_group_id = self._load_balancer_rules(name, args, alb_name, app)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-app-https-out",
            security_group_id=app.id,
            description="HTTPS to AWS APIs and the image registry (through NAT or VPC endpoints)",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=ANYWHERE_IPV4,
            tags=with_name(args.tags, f"{app_name}-https-out"),
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-app-vpc-out",
            security_group_id=app.id,
            description="TCP to data-tier services in the VPC; their own groups decide whom they accept",
            ip_protocol="tcp",
            from_port=0,
            to_port=65535,
            cidr_ipv4=args.vpc_cidr,
            tags=with_name(args.tags, f"{app_name}-vpc-out"),
            opts=child,
        )

        if args.tunnel_egress:
            for protocol in ("tcp", "udp"):
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-app-tunnel-{protocol}-out",
                    security_group_id=app.id,
                    description=f"Cloudflare Tunnel connector to Cloudflare's edge ({protocol.upper()} {TUNNEL_PORT})",
                    ip_protocol=protocol,
                    from_port=TUNNEL_PORT,
                    to_port=TUNNEL_PORT,
                    cidr_ipv4=ANYWHERE_IPV4,
                    tags=with_name(args.tags, f"{app_name}-tunnel-{protocol}-out"),
                    opts=child,
                )

        self.app_security_group_id = app.id
        self.register_outputs(
            {
                **({"alb_security_group_id": self.alb_security_group_id} if self.alb_security_group_id else {}),
                "app_security_group_id": self.app_security_group_id,
            }
        )

    def _load_balancer_rules(
        self, name: str, args: ApplicationSecurityGroupsArgs, alb_name: str, app: aws.ec2.SecurityGroup
    ) -> pulumi.Output[str]:
        """The ALB's group: ingress from ``alb_ingress``, egress to the app group, which admits it."""
        child = pulumi.ResourceOptions(parent=self)
        app_name = physical_name(args.environment, "app", service=Service.SECURITY_GROUP)
        alb = aws.ec2.SecurityGroup(
            f"{name}-alb",
            name=alb_name,
            description="Public ALB: HTTP and HTTPS from the internet, forwards to the app group only",
            vpc_id=args.vpc_id,
            revoke_rules_on_delete=True,
            tags={**with_name(args.tags, alb_name), **LOAD_BALANCER_ROLE_TAG},
            opts=child,
        )
        ingress = args.alb_ingress
        for listener, port in ingress.ports.items():
            for cidr in ingress.ipv4_cidrs:
                # The internet's rules keep their original names; a source list gets one rule per range.
                suffix = "in" if cidr == ANYWHERE_IPV4 else f"from-{ingress.source}-{_cidr_slug(cidr)}"
                where = "the internet" if cidr == ANYWHERE_IPV4 else f"{ingress.source.capitalize()} {cidr}"
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-alb-{listener}-{suffix}",
                    security_group_id=alb.id,
                    description=f"{listener.upper()} from {where} to the public load balancer",
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    tags=with_name(args.tags, f"{alb_name}-{listener}-{suffix}"),
                    opts=child,
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-to-app",
            security_group_id=alb.id,
            description=f"Forward requests and health checks to the app group on {args.app_port}",
            ip_protocol="tcp",
            from_port=args.app_port,
            to_port=args.app_port,
            referenced_security_group_id=app.id,
            tags=with_name(args.tags, f"{alb_name}-to-app"),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-app-from-alb",
            security_group_id=app.id,
            description=f"Requests and health checks from the ALB on {args.app_port}",
            ip_protocol="tcp",
            from_port=args.app_port,
            to_port=args.app_port,
            referenced_security_group_id=alb.id,
            tags=with_name(args.tags, f"{app_name}-from-alb"),
            opts=child,
        )
        return alb.id
