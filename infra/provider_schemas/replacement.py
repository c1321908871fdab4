"""Replacement oracle: which input changes make a provider replace a resource.

Public API (a PR diff report builds on it; keep the signatures):

- :func:`replacement_paths` - dotted input paths that force replacement of a type;
- :func:`replaced_by` - the changed paths, between two input sets, that force a replacement;
- :func:`is_stateful` - whether replacing or deleting a resource of the type loses data;
- :func:`physical_name_paths` - inputs that fix a physical name (or another unique natural
  key), so that a replacement cannot create the new resource before deleting the old one.

Paths are dotted camelCase input names as the engine sees them (``launchTemplate.id``,
``metadata.name``); list elements are looked through (``rules.filter.prefix`` is the
``prefix`` of any rule's filter). The ForceNew facts come from the generated data files
(:mod:`infra.provider_schemas`); the classification of stateful types and of name-fixing
inputs is this module's own, documented in docs/provider-schemas.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.provider_schemas import UnknownResourceTypeError, type_spec

__all__ = [
    "UnknownResourceTypeError",
    "conditional_replacement_paths",
    "is_stateful",
    "physical_name_paths",
    "replaced_by",
    "replacement_paths",
]

STATEFUL_TYPES = frozenset(
    {
        # Databases and replicas
        "aws:rds/instance:Instance",
        "aws:rds/cluster:Cluster",
        "aws:rds/clusterInstance:ClusterInstance",
        "aws:dynamodb/table:Table",
        # Caches
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/cluster:Cluster",
        "aws:elasticache/serverlessCache:ServerlessCache",
        # Keys and secrets (replacing a key orphans everything encrypted with it; replacing a
        # generated password changes a credential that live clients hold)
        "aws:kms/key:Key",
        "aws:secretsmanager/secret:Secret",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:ssm/parameter:Parameter",
        "random:index/randomPassword:RandomPassword",
        # Buckets, volumes, vaults, logs
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "cloudflare:index/r2Bucket:R2Bucket",
        "aws:backup/vault:Vault",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ebs/volume:Volume",
        "aws:efs/fileSystem:FileSystem",
        "aws:ecr/repository:Repository",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "kubernetes:core/v1:PersistentVolume",
        "kubernetes:core/v1:Secret",
    }
)
"""Types whose replacement or deletion loses data (or a credential in use)."""

_NAME_WITHOUT_PREFIX: Mapping[str, frozenset[str]] = {
    # Inputs that name the resource uniquely where the provider offers no *Prefix variant
    # (those with one are found from the data: ``name`` beside ``namePrefix`` and the like).
    "aws:backup/plan:Plan": frozenset({"name"}),
    "aws:backup/selection:Selection": frozenset({"name"}),
    "aws:backup/vault:Vault": frozenset({"name"}),
    "aws:cloudwatch/metricAlarm:MetricAlarm": frozenset({"name"}),
    "aws:ec2/route:Route": frozenset({"destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"}),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": frozenset({"subnetId", "gatewayId"}),
    "aws:eks/accessEntry:AccessEntry": frozenset({"principalArn"}),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": frozenset({"principalArn"}),
    "aws:eks/addon:Addon": frozenset({"addonName"}),
    "aws:eks/cluster:Cluster": frozenset({"name"}),
    "aws:elasticache/parameterGroup:ParameterGroup": frozenset({"name"}),
    "aws:elasticache/replicationGroup:ReplicationGroup": frozenset({"replicationGroupId"}),
    "aws:elasticache/subnetGroup:SubnetGroup": frozenset({"name"}),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": frozenset({"url"}),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": frozenset({"role", "policyArn"}),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": frozenset({"bucket"}),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": frozenset({"bucket"}),
    "aws:s3/bucketPolicy:BucketPolicy": frozenset({"bucket"}),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": frozenset({"bucket"}),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": frozenset({"bucket"}),
    "aws:sns/topicPolicy:TopicPolicy": frozenset({"arn"}),
    "cloudflare:index/r2Bucket:R2Bucket": frozenset({"name"}),
    "cloudflare:index/r2BucketCors:R2BucketCors": frozenset({"bucketName"}),
    "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle": frozenset({"bucketName"}),
    "cloudflare:index/r2CustomDomain:R2CustomDomain": frozenset({"domain"}),
    "cloudflare:index/r2ManagedDomain:R2ManagedDomain": frozenset({"bucketName"}),
    "cloudflare:index/ruleset:Ruleset": frozenset({"phase"}),
    "cloudflare:index/zoneSetting:ZoneSetting": frozenset({"settingId"}),
    "cloudflare:index/zoneSubscription:ZoneSubscription": frozenset({"zoneId"}),
    "kubernetes:helm.sh/v3:Release": frozenset({"name"}),
}


def replacement_paths(type_token: str) -> frozenset[str]:
    """Dotted input paths whose change forces ``type_token`` to be replaced.

    Raises :class:`UnknownResourceTypeError` for a type the data files do not describe.
    """
    return type_spec(type_token).replace_paths


def conditional_replacement_paths(type_token: str) -> frozenset[str]:
    """Dotted input paths whose change the provider replaces only under a condition of its own.

    The AWS provider decides these in ``CustomizeDiff`` code (an engine-version downgrade, an
    EKS cluster's encryption config removed, an NLB's subnets removed...); the data cannot
    evaluate the condition, so a change here deserves a look, not an automatic verdict. Not
    part of :func:`replacement_paths` or :func:`replaced_by`.
    """
    return type_spec(type_token).conditional_replace_paths


def physical_name_paths(type_token: str) -> frozenset[str]:
    """Inputs that fix the physical name (or natural key) of a resource of ``type_token``.

    While such an input is set, a replacement that keeps its value cannot create the new
    resource before deleting the old one (the name is taken), so the engine must delete first.
    """
    spec = type_spec(type_token)
    names = set(_NAME_WITHOUT_PREFIX.get(type_token, frozenset()))
    if spec.properties is not None:
        names |= {name for name in spec.properties if f"{name}Prefix" in spec.properties}
    if type_token.startswith("kubernetes:") and type_token != "kubernetes:helm.sh/v3:Release":
        names.add("metadata.name")
    return frozenset(names)


def is_stateful(type_token: str) -> bool:
    """Whether replacing or deleting a resource of ``type_token`` loses data or a live credential."""
    return type_token in STATEFUL_TYPES


def replaced_by(type_token: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The replacement-forcing paths whose value differs between ``before`` and ``after`` (sorted).

    A path counts as changed when it is added, removed or given another value; the value of a
    nested path is collected from every element of the lists on its way.
    """
    return tuple(
        sorted(
            path
            for path in replacement_paths(type_token)
            if _values_at(before, path.split(".")) != _values_at(after, path.split("."))
        )
    )


def value_at(inputs: Mapping[str, Any], path: str) -> Any:
    """The value of a dotted input path (a list of values where lists are on the way)."""
    return _values_at(inputs, path.split("."))


def _values_at(value: Any, parts: list[str]) -> Any:
    if not parts:
        return value
    if isinstance(value, Mapping):
        if parts[0] not in value:
            return None
        return _values_at(value[parts[0]], parts[1:])
    if isinstance(value, list | tuple):
        found = [_values_at(item, parts) for item in value]
        return found if any(item is not None for item in found) else None
    return None
