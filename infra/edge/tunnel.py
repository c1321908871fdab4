"""A Cloudflare Tunnel from the zone to the application, for a phase with no load balancer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from infra.naming import Service, physical_name
from infra.tagging import with_name

TUNNEL_DOMAIN = "cfargotunnel.com"
"""A tunnel's proxied records are CNAMEs to ``<tunnel id>.cfargotunnel.com``."""
NOT_FOUND = "http_status:404"
"""The catch-all last ingress rule cloudflared requires: any other hostname gets a 404."""


def tunnel_token_secret_name(environment: str) -> str:
    """Secrets Manager name of the tunnel's token (``clc-prod-edge/tunnel-token``)."""
    return physical_name(environment, "edge/tunnel-token", service=Service.SECRET)


def ingress_rules(
    hostnames: Mapping[str, str], port: int
) -> list[cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressArgsDict]:
    """One rule per application hostname to the application on the instance, then the catch-all."""
    rules: list[cloudflare.ZeroTrustTunnelCloudflaredConfigConfigIngressArgsDict] = [
        {"hostname": hostname, "service": f"http://localhost:{port}"} for _, hostname in sorted(hostnames.items())
    ]
    rules.append({"service": NOT_FOUND})
    return rules


@dataclass(frozen=True, kw_only=True)
class OriginTunnelArgs:
    account_id: str
    """The Cloudflare account the tunnel belongs to (``scaleplan:edge.account_id``)."""
    environment: str
    hostnames: Mapping[str, str]
    """The application's hostnames (``scaleplan:edge.origin.hostnames``), each routed to ``port``."""
    port: int
    """Where the application listens on the instance (the container uses the host network)."""
    kms_key_arn: pulumi.Input[str]
    """CMK of the token's secret (the application secrets' key, which the instance role may use)."""
    tags: Mapping[str, str]


class OriginTunnel(pulumi.ComponentResource):
    """A remotely configured Cloudflare Tunnel and the secret its connectors read their token from.

    - The tunnel (``config_src: cloudflare``): its ingress rules are Cloudflare-side, so the
      instances carry no configuration, only the token.
    - Its configuration: each application hostname to ``http://localhost:<port>`` on the
      instance, and a 404 for anything else.
    - A CMK-encrypted Secrets Manager secret holding the token (``protect``ed, like every
      secret); the instances read it with their role at boot, nothing else holds it.

    The zone's proxied records point at :attr:`cname_target` (built by the edge component), so
    visitors reach the application only through the zone's TLS settings, WAF and rate limits,
    and the instances need no inbound port at all. Needs the AWS and Cloudflare providers in
    ``opts.providers``.
    """

    tunnel_id: pulumi.Output[str]
    """UUID of the tunnel."""
    cname_target: pulumi.Output[str]
    """``<tunnel id>.cfargotunnel.com``: the content of the application's proxied records."""
    token_secret_name: str
    """Name of the secret holding the token."""
    token_secret_version: aws.secretsmanager.SecretVersion
    """The token's value in the secret: instances must not boot before it exists."""

    def __init__(self, name: str, args: OriginTunnelArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:edge:OriginTunnel", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tunnel = cloudflare.ZeroTrustTunnelCloudflared(
            name,
            account_id=args.account_id,
            name=physical_name(args.environment, "app", service=Service.GENERIC),
            config_src="cloudflare",
            opts=child,
        )
        cloudflare.ZeroTrustTunnelCloudflaredConfig(
            f"{name}-config",
            account_id=args.account_id,
            tunnel_id=tunnel.id,
            config={"ingresses": ingress_rules(args.hostnames, args.port)},
            opts=child,
        )
        token = cloudflare.get_zero_trust_tunnel_cloudflared_token_output(
            account_id=args.account_id, tunnel_id=tunnel.id, opts=pulumi.InvokeOutputOptions(parent=self)
        ).token
        self.token_secret_name = tunnel_token_secret_name(args.environment)
        secret = aws.secretsmanager.Secret(
            f"{name}-token",
            name=self.token_secret_name,
            description=f"{args.environment}: token of the Cloudflare Tunnel the application's connectors run",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=30,
            tags=with_name(args.tags, self.token_secret_name),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.token_secret_version = aws.secretsmanager.SecretVersion(
            f"{name}-token-version",
            secret_id=secret.id,
            # The token is a credential: Pulumi keeps it encrypted in the state.
            secret_string=pulumi.Output.secret(token),
            opts=child,
        )
        self.tunnel_id = tunnel.id
        self.cname_target = tunnel.id.apply(lambda tunnel_id: f"{tunnel_id}.{TUNNEL_DOMAIN}")
        self.register_outputs(
            {
                "tunnel_id": self.tunnel_id,
                "cname_target": self.cname_target,
                "token_secret_name": self.token_secret_name,
            }
        )
