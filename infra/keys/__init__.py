"""Customer-managed KMS keys, one per purpose, so a key's grants stay narrow."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.naming import Service, physical_name
from infra.tagging import with_name


@dataclass(frozen=True, kw_only=True)
class KeyPurpose:
    name: str
    """Stable key (``logs``, ``data``): logical names derive from it."""
    description: str
    service_principals: Sequence[str] = ()
    """AWS services (``logs.us-east-1.amazonaws.com``) that encrypt with the key directly."""
    cloudwatch_logs: bool = False
    """CloudWatch Logs encrypts this account's log groups in the key's region with it: the
    service principal ``logs.<region>.amazonaws.com``, limited to log groups of this account
    and region through the encryption context CloudWatch Logs sends
    (``kms:EncryptionContext:aws:logs:arn``), as AWS documents for log-group encryption."""
    via_services: Sequence[str] = ()
    """Service endpoints (``ec2.us-east-1.amazonaws.com``) through which any principal of the
    account may use the key (``kms:ViaService``): for a key a service uses on a caller's behalf,
    like EBS volumes that Auto Scaling launches, whose service-linked role may not exist yet."""
    former_names: Sequence[pulumi.Alias] = ()
    """Where this key lived in a live environment's state before it moved here, so that Pulumi
    moves it instead of replacing it (see CHANGELOG.md)."""


@dataclass(frozen=True, kw_only=True)
class PlatformKeysArgs:
    environment: str
    region: str
    account_id: pulumi.Input[str]
    purposes: Sequence[KeyPurpose]
    tags: Mapping[str, str]
    deletion_window_days: int = 30


def account_administers_key(account_id: str) -> dict[str, object]:
    """The key-policy statement every CMK starts with: the account root administers the key,
    so IAM policies (not only the key policy) can grant its use, and it can never be locked out."""
    return {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }


def log_groups_arn_pattern(account_id: str, region: str) -> str:
    """Every log group of the account in the region, as the encryption context names them."""
    return f"arn:aws:logs:{region}:{account_id}:log-group:*"


def cloudwatch_logs_statement(account_id: str, region: str) -> dict[str, object]:
    """The key-policy statement AWS documents for encrypting log groups with a CMK
    (CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs using AWS KMS")."""
    return {
        "Sid": "CloudWatchLogsEncrypt",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups_arn_pattern(account_id, region)}},
    }


def key_policy(account_id: str, region: str, purpose: KeyPurpose) -> str:
    """Account root administers the key (so IAM policies can grant use); named services may use it."""
    statements: list[dict[str, object]] = [account_administers_key(account_id)]
    if purpose.service_principals:
        statements.append(
            {
                "Sid": "ServicesEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": list(purpose.service_principals)},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        )
    if purpose.cloudwatch_logs:
        statements.append(cloudwatch_logs_statement(account_id, region))
    if purpose.via_services:
        # Scoped like AWS's own aws/ebs key: callers of this account, through these services only.
        statements.append(
            {
                "Sid": "UseThroughServicesInThisAccount",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:CreateGrant",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": list(purpose.via_services),
                        "kms:CallerAccount": account_id,
                    }
                },
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _policy_for(account_id: str, *, region: str, purpose: KeyPurpose) -> str:
    return key_policy(account_id, region, purpose)


class PlatformKeys(pulumi.ComponentResource):
    """One symmetric CMK per purpose, with yearly rotation, an alias and ``protect``.

    Keys are stateful: losing one loses everything encrypted with it, so they are protected
    and have the longest deletion window unless the config says otherwise.
    """

    keys: dict[str, aws.kms.Key]
    """Keys by purpose name."""

    def __init__(self, name: str, args: PlatformKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:security:PlatformKeys", name, None, opts)
        self.keys = {}
        for purpose in args.purposes:
            alias = physical_name(args.environment, purpose.name, service=Service.KMS_ALIAS)
            key = aws.kms.Key(
                f"{name}-{purpose.name}",
                description=f"{args.environment}: {purpose.description}",
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=args.deletion_window_days,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                policy=pulumi.Output.from_input(args.account_id).apply(
                    functools.partial(_policy_for, region=args.region, purpose=purpose)
                ),
                tags=with_name(args.tags, alias),
                opts=pulumi.ResourceOptions(parent=self, protect=True, aliases=list(purpose.former_names)),
            )
            aws.kms.Alias(
                f"{name}-{purpose.name}-alias",
                name=f"alias/{alias}",
                target_key_id=key.key_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.keys[purpose.name] = key
        self.register_outputs({f"{purpose}_key_arn": key.arn for purpose, key in self.keys.items()})
