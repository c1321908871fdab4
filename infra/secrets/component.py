"""Secrets Manager secrets of the application's credentials: names, keys and windows, never values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.config.secrets import SecretsConfig, credential_key
from infra.tagging import with_name


@dataclass(frozen=True, kw_only=True)
class ApplicationSecretsArgs:
    config: SecretsConfig
    environment: str
    prefix: str
    """The application's prefix (``ftw-prod-app/``): logical names are the part after it."""
    kms_key_arn: pulumi.Input[str]
    """The CMK of the application's secrets (the platform's ``cache`` key, which also holds the
    cache AUTH token): the application's role may decrypt with it through Secrets Manager, for
    its own secrets only."""
    tags: Mapping[str, str]


class ApplicationSecrets(pulumi.ComponentResource):
    """One Secrets Manager secret per configured credential, on a customer-managed key.

    No ``SecretVersion`` is declared: values are put in out of band
    (``aws secretsmanager put-secret-value``), so Pulumi's state never holds one. Secrets are
    ``protect``ed and keep the configured recovery window (7-30 days) when deleted.
    """

    arns: dict[str, pulumi.Output[str]]
    """Secret ARN by secret name."""

    def __init__(self, name: str, args: ApplicationSecretsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:secrets:ApplicationSecrets", name, None, opts)
        self.arns = {}
        for credential in args.config.credentials:
            secret = aws.secretsmanager.Secret(
                f"{name}-{credential_key(credential.name, args.prefix)}",
                name=credential.name,
                description=f"{args.environment}: {credential.description}",
                kms_key_id=args.kms_key_arn,
                recovery_window_in_days=args.config.recovery_window_days,
                tags=with_name(args.tags, credential.name),
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            self.arns[credential.name] = secret.arn
        self.register_outputs({"arns": self.arns})
