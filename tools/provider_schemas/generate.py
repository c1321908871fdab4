"""Regenerate ``infra/provider_schemas/*.json`` from the providers' own definitions.

What each resource type accepts (input names, required ones, nested objects) comes from the
installed Pulumi SDKs, whose ``*Args`` classes are generated from the provider schemas; what
forces a replacement and which values are allowed comes from the providers' sources:

- AWS: hashicorp/terraform-provider-aws, schema functions as published file by file in the
  repository lonegunmanb/terraform-provider-aws-index (one ``.goindex`` file per Go function,
  verbatim), enums of ``enum.Validate[types.X]`` resolved from botocore's service models (the
  same Smithy models aws-sdk-go-v2 generates its ``types`` from).
- Cloudflare: cloudflare/terraform-provider-cloudflare ``internal/services/<name>/schema.go``.
- random: hashicorp/terraform-provider-random ``internal/provider/resource_password.go``.
- Kubernetes: pulumi/pulumi-kubernetes ``provider/pkg/provider/diff.go`` (fields whose change
  replaces an object) and ``helm_release.go`` (a Release's); names, required fields and enums
  of built-in kinds are checked against kubernetes-validate's OpenAPI schemas by the tests.

Each source is a git directory (a ``fetch`` snapshot); the script reads ``HEAD`` and records
the commit and its date in the output. Run:

    uv run --with botocore python tools/provider_schemas/generate.py \\
        --aws-index DIR --cloudflare DIR --random DIR --kubernetes DIR

It prints what it could not resolve (kept out of the data, never guessed).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
import subprocess
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gosyntax import Node, find_composites, function_return, tokenize, Parser  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "infra" / "provider_schemas"

# Pulumi type token -> (Terraform resource, service directory, index file of its schema).
AWS_TYPES: dict[str, tuple[str, str, str]] = {
    "aws:autoscaling/group:Group": ("aws_autoscaling_group", "autoscaling", "func.resourceGroup"),
    "aws:autoscaling/policy:Policy": ("aws_autoscaling_policy", "autoscaling", "func.resourcePolicy"),
    "aws:backup/plan:Plan": ("aws_backup_plan", "backup", "func.resourcePlan"),
    "aws:backup/selection:Selection": ("aws_backup_selection", "backup", "func.resourceSelection"),
    "aws:backup/vault:Vault": ("aws_backup_vault", "backup", "func.resourceVault"),
    "aws:budgets/budget:Budget": ("aws_budgets_budget", "budgets", "func.resourceBudget"),
    "aws:cloudwatch/dashboard:Dashboard": ("aws_cloudwatch_dashboard", "cloudwatch", "func.resourceDashboard"),
    "aws:cloudwatch/logGroup:LogGroup": ("aws_cloudwatch_log_group", "logs", "func.resourceGroup"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("aws_cloudwatch_metric_alarm", "cloudwatch", "func.resourceMetricAlarm"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": ("aws_default_security_group", "ec2", "func.resourceDefaultSecurityGroup"),
    "aws:ec2/eip:Eip": ("aws_eip", "ec2", "func.resourceEIP"),
    "aws:ec2/flowLog:FlowLog": ("aws_flow_log", "ec2", "func.resourceFlowLog"),
    "aws:ec2/internetGateway:InternetGateway": ("aws_internet_gateway", "ec2", "func.resourceInternetGateway"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("aws_launch_template", "ec2", "func.resourceLaunchTemplate"),
    "aws:ec2/natGateway:NatGateway": ("aws_nat_gateway", "ec2", "func.resourceNATGateway"),
    "aws:ec2/route:Route": ("aws_route", "ec2", "func.resourceRoute"),
    "aws:ec2/routeTable:RouteTable": ("aws_route_table", "ec2", "func.resourceRouteTable"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ("aws_route_table_association", "ec2", "func.resourceRouteTableAssociation"),
    "aws:ec2/securityGroup:SecurityGroup": ("aws_security_group", "ec2", "func.resourceSecurityGroup"),
    "aws:ec2/subnet:Subnet": ("aws_subnet", "ec2", "func.resourceSubnet"),
    "aws:ec2/vpc:Vpc": ("aws_vpc", "ec2", "func.resourceVPC"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("aws_vpc_endpoint", "ec2", "func.resourceVPCEndpoint"),
    "aws:eks/accessEntry:AccessEntry": ("aws_eks_access_entry", "eks", "func.resourceAccessEntry"),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": ("aws_eks_access_policy_association", "eks", "func.resourceAccessPolicyAssociation"),
    "aws:eks/addon:Addon": ("aws_eks_addon", "eks", "func.resourceAddon"),
    "aws:eks/cluster:Cluster": ("aws_eks_cluster", "eks", "func.resourceCluster"),
    "aws:eks/nodeGroup:NodeGroup": ("aws_eks_node_group", "eks", "func.resourceNodeGroup"),
    "aws:elasticache/parameterGroup:ParameterGroup": ("aws_elasticache_parameter_group", "elasticache", "func.resourceParameterGroup"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("aws_elasticache_replication_group", "elasticache", "func.resourceReplicationGroup"),
    "aws:elasticache/subnetGroup:SubnetGroup": ("aws_elasticache_subnet_group", "elasticache", "func.resourceSubnetGroup"),
    "aws:iam/instanceProfile:InstanceProfile": ("aws_iam_instance_profile", "iam", "func.resourceInstanceProfile"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("aws_iam_openid_connect_provider", "iam", "func.resourceOpenIDConnectProvider"),
    "aws:iam/role:Role": ("aws_iam_role", "iam", "func.resourceRole"),
    "aws:iam/rolePolicy:RolePolicy": ("aws_iam_role_policy", "iam", "func.resourceRolePolicy"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("aws_iam_role_policy_attachment", "iam", "func.resourceRolePolicyAttachment"),
    "aws:kms/alias:Alias": ("aws_kms_alias", "kms", "func.resourceAlias"),
    "aws:kms/key:Key": ("aws_kms_key", "kms", "func.resourceKey"),
    "aws:lb/listener:Listener": ("aws_lb_listener", "elbv2", "func.resourceListener"),
    "aws:lb/loadBalancer:LoadBalancer": ("aws_lb", "elbv2", "func.resourceLoadBalancer"),
    "aws:lb/targetGroup:TargetGroup": ("aws_lb_target_group", "elbv2", "func.resourceTargetGroup"),
    "aws:rds/instance:Instance": ("aws_db_instance", "rds", "func.resourceInstance"),
    "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication": ("aws_db_instance_automated_backups_replication", "rds", "func.resourceInstanceAutomatedBackupsReplication"),
    "aws:rds/parameterGroup:ParameterGroup": ("aws_db_parameter_group", "rds", "func.resourceParameterGroup"),
    "aws:rds/subnetGroup:SubnetGroup": ("aws_db_subnet_group", "rds", "func.resourceSubnetGroup"),
    "aws:s3/bucket:Bucket": ("aws_s3_bucket", "s3", "func.resourceBucket"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("aws_s3_bucket_lifecycle_configuration", "s3", "method.bucketLifecycleConfigurationResource.Schema"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("aws_s3_bucket_ownership_controls", "s3", "func.resourceBucketOwnershipControls"),
    "aws:s3/bucketPolicy:BucketPolicy": ("aws_s3_bucket_policy", "s3", "func.resourceBucketPolicy"),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": ("aws_s3_bucket_public_access_block", "s3", "func.resourceBucketPublicAccessBlock"),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": ("aws_s3_bucket_server_side_encryption_configuration", "s3", "func.resourceBucketServerSideEncryptionConfiguration"),
    "aws:secretsmanager/secret:Secret": ("aws_secretsmanager_secret", "secretsmanager", "func.resourceSecret"),
    "aws:secretsmanager/secretVersion:SecretVersion": ("aws_secretsmanager_secret_version", "secretsmanager", "func.resourceSecretVersion"),
    "aws:sns/topic:Topic": ("aws_sns_topic", "sns", "func.resourceTopic"),
    "aws:sns/topicPolicy:TopicPolicy": ("aws_sns_topic_policy", "sns", "func.resourceTopicPolicy"),
    "aws:sns/topicSubscription:TopicSubscription": ("aws_sns_topic_subscription", "sns", "func.resourceTopicSubscription"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("aws_vpc_security_group_egress_rule", "ec2", "method.securityGroupRuleResource.Schema"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("aws_vpc_security_group_ingress_rule", "ec2", "method.securityGroupRuleResource.Schema"),
}

# botocore service model per Terraform service directory (for enum.Validate[types.X]).
BOTOCORE_SERVICE = {"elbv2": "elbv2", "logs": "logs"}

CLOUDFLARE_TYPES: dict[str, str] = {
    "cloudflare:index/dnsRecord:DnsRecord": "dns_record",
    "cloudflare:index/r2Bucket:R2Bucket": "r2_bucket",
    "cloudflare:index/r2BucketCors:R2BucketCors": "r2_bucket_cors",
    "cloudflare:index/r2BucketLifecycle:R2BucketLifecycle": "r2_bucket_lifecycle",
    "cloudflare:index/r2CustomDomain:R2CustomDomain": "r2_custom_domain",
    "cloudflare:index/r2ManagedDomain:R2ManagedDomain": "r2_managed_domain",
    "cloudflare:index/ruleset:Ruleset": "ruleset",
    "cloudflare:index/zoneSetting:ZoneSetting": "zone_setting",
    "cloudflare:index/zoneSubscription:ZoneSubscription": "zone_subscription",
    "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared": "zero_trust_tunnel_cloudflared",
    "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig": "zero_trust_tunnel_cloudflared_config",
}

# Kubernetes kinds the program creates: type token -> (group, version, kind).
KUBERNETES_TYPES: dict[str, tuple[str, str, str]] = {
    "kubernetes:apps/v1:Deployment": ("apps", "v1", "Deployment"),
    "kubernetes:batch/v1:Job": ("batch", "v1", "Job"),
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ("autoscaling", "v2", "HorizontalPodAutoscaler"),
    "kubernetes:core/v1:ConfigMap": ("core", "v1", "ConfigMap"),
    "kubernetes:core/v1:Namespace": ("core", "v1", "Namespace"),
    "kubernetes:core/v1:Secret": ("core", "v1", "Secret"),
    "kubernetes:core/v1:Service": ("core", "v1", "Service"),
    "kubernetes:core/v1:ServiceAccount": ("core", "v1", "ServiceAccount"),
    "kubernetes:policy/v1:PodDisruptionBudget": ("policy", "v1", "PodDisruptionBudget"),
    "kubernetes:cert-manager.io/v1:Certificate": ("cert-manager.io", "v1", "Certificate"),
    "kubernetes:cert-manager.io/v1:Issuer": ("cert-manager.io", "v1", "Issuer"),
    "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding": ("elbv2.k8s.aws", "v1beta1", "TargetGroupBinding"),
    "kubernetes:external-secrets.io/v1:ExternalSecret": ("external-secrets.io", "v1", "ExternalSecret"),
    "kubernetes:external-secrets.io/v1:SecretStore": ("external-secrets.io", "v1", "SecretStore"),
    "kubernetes:keda.sh/v1alpha1:ScaledObject": ("keda.sh", "v1alpha1", "ScaledObject"),
    "kubernetes:keda.sh/v1alpha1:TriggerAuthentication": ("keda.sh", "v1alpha1", "TriggerAuthentication"),
}

UNRESOLVED: list[str] = []


def note(message: str) -> None:
    UNRESOLVED.append(message)


@dataclass(frozen=True)
class GitSource:
    repo: str
    directory: Path

    def read(self, path: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.directory), "show", f"HEAD:{path}"], capture_output=True, text=True, check=True
        ).stdout

    def exists(self, path: str) -> bool:
        return subprocess.run(["git", "-C", str(self.directory), "cat-file", "-e", f"HEAD:{path}"], check=False).returncode == 0

    def files(self, under: str) -> list[str]:
        out = subprocess.run(
            ["git", "-C", str(self.directory), "ls-tree", "-r", "--name-only", "HEAD", under],
            capture_output=True, text=True, check=True,
        ).stdout
        return out.split()

    def commit(self) -> dict[str, str]:
        out = subprocess.run(
            ["git", "-C", str(self.directory), "log", "-1", "--format=%H %cI %s"], capture_output=True, text=True, check=True
        ).stdout.strip()
        sha, date, subject = out.split(" ", 2)
        return {"repo": self.repo, "commit": sha, "date": date, "subject": subject}


# ---------------------------------------------------------------- names

def attr_const_name(const: str) -> str:
    """``names.AttrSubnetIDs`` -> ``subnet_ids`` (the constants of the provider's names package)."""
    body = const.split(".")[-1].removeprefix("Attr")
    body = re.sub(r"IPv([46])", r"_ipv\1_", body)
    body = re.sub(r"ID(s?)(?=$|[A-Z][a-z])", r"_id\1_", body)
    words: list[str] = []
    for segment in body.split("_"):
        words.extend(re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z0-9]+|[A-Z]+", segment))
    return "_".join(w.lower() for w in words if w)


def key_name(node: Node | None, resolver: Resolver | None = None, near: str = "") -> str | None:
    if node is None:
        return None
    if node.kind == "str":
        return node.value
    if node.kind == "name" and node.name.startswith("names.Attr"):
        return attr_const_name(node.name)
    if node.kind == "name" and resolver is not None:
        target = resolver.node(node.name, near)
        if target is not None and target.kind == "str":
            return target.value
    return None


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


# ---------------------------------------------------------------- Terraform schemas

@dataclass
class Attr:
    required: bool = False
    optional: bool = False
    computed: bool = False
    force_new: bool = False
    force_new_if: bool = False
    """Replaced under a condition the provider's CustomizeDiff code decides."""
    enum: tuple[str, ...] | None = None
    nested: dict[str, Attr] | None = None


class Resolver:
    """Finds named functions and variables of the provider when a schema refers to one."""

    def __init__(self, source: GitSource, roots: Iterable[str]) -> None:
        self.source = source
        self.by_name: dict[str, list[str]] = {}
        for root in roots:
            for path in source.files(root):
                base = path.rsplit("/", 1)[-1]
                parts = base.split(".")
                if parts[0] in ("func", "var") and len(parts) == 3:
                    self.by_name.setdefault(parts[1], []).append(path)

    def node(self, name: str, near: str) -> Node | None:
        short = name.split(".")[-1]
        paths = sorted(self.by_name.get(short, []), key=lambda p: (not p.startswith(near), p))
        for path in paths:
            text = self.source.read(path)
            try:
                found = function_return(text, short) if "/func." in path else _var_value(text, short)
            except (ValueError, IndexError) as error:
                note(f"{path}: {error}")
                found = None
            if found is not None:
                return found
        return None


def _var_value(text: str, name: str) -> Node | None:
    tokens = tokenize(text)
    for index in range(len(tokens) - 2):
        if tokens[index].text == name and tokens[index + 1].text in ("=", ":="):
            return Parser(tokens[index + 2 :]).expr()
        if tokens[index].text == name and tokens[index + 2].text == "=":  # var x T = ...
            return Parser(tokens[index + 3 :]).expr()
    return None


class TerraformReader:
    def __init__(self, resolver: Resolver | None, near: str, botocore_service: str | None, label: str) -> None:
        self.resolver = resolver
        self.near = near
        self.service = botocore_service
        self.label = label

    def deref(self, node: Node | None, depth: int = 0) -> Node | None:
        """Follow calls to and names of the provider's own schema helpers."""
        if node is None or depth > 4 or self.resolver is None:
            return node
        if node.kind == "func":
            return self.deref(node.ret, depth + 1)
        if node.kind == "call" and node.name in ("sync.OnceValue", "maps.Clone") and node.args:
            return self.deref(node.args[0], depth + 1)
        if node.kind in ("call", "name") and not _is_library(node.name):
            found = self.resolver.node(node.name, self.near)
            if found is not None:
                return self.deref(found, depth + 1)
        return node

    # -- plugin SDK v2
    def sdk_map(self, node: Node | None) -> dict[str, Attr]:
        node = self.deref(node)
        result: dict[str, Attr] = {}
        if node is None or node.kind != "composite":
            note(f"{self.label}: schema map not resolved ({node.name if node else None})")
            return result
        for key, value in node.items:
            name = key_name(key, self.resolver, self.near)
            if name is None:
                note(f"{self.label}: key {key.name if key else None} not resolved")
                continue
            result[name] = self.sdk_attr(name, value)
        return result

    def sdk_attr(self, name: str, value: Node) -> Attr:
        if value.kind == "call" and value.name.startswith("tftags."):
            computed_only = value.name.endswith("Computed") or value.name.endswith("ComputedOnly")
            return Attr(optional=not computed_only, computed=computed_only)
        value = self.deref(value) or value
        if value.kind != "composite":
            note(f"{self.label}.{name}: attribute {value.kind} {value.name} not resolved")
            return Attr(optional=True)
        attr = Attr(
            required=value.flag("Required"),
            optional=value.flag("Optional"),
            computed=value.flag("Computed"),
            force_new=value.flag("ForceNew"),
        )
        validator = value.field("ValidateFunc") or value.field("ValidateDiagFunc")
        attr.enum = self.enum_of(validator, f"{name}")
        elem = value.field("Elem")
        elem = self.deref(elem)
        if elem is not None and elem.kind == "composite":
            if elem.name.endswith("schema.Resource"):
                inner = elem.field("Schema") or elem.field("SchemaFunc")
                attr.nested = self.sdk_map(inner)
            elif elem.name.endswith("schema.Schema") and attr.enum is None:
                attr.enum = self.enum_of(elem.field("ValidateFunc") or elem.field("ValidateDiagFunc"), name)
        return attr

    # -- plugin framework
    def fw_schema(self, node: Node) -> dict[str, Attr]:
        result: dict[str, Attr] = {}
        for field_name in ("Attributes", "Blocks"):
            mapping = self.deref(node.field(field_name))
            if mapping is None:
                continue
            if mapping.kind != "composite":
                note(f"{self.label}: {field_name} not resolved")
                continue
            for key, value in mapping.items:
                name = key_name(key, self.resolver, self.near)
                if name is None:
                    note(f"{self.label}: key {key.name if key else None} not resolved")
                    continue
                result[name] = self.fw_attr(name, value)
        return result

    def fw_attr(self, name: str, value: Node) -> Attr:
        if value.kind == "call" and (value.name.startswith("tftags.") or value.name == "framework.IDAttribute"):
            computed_only = "Computed" in value.name or value.name == "framework.IDAttribute"
            return Attr(optional=not computed_only, computed=computed_only)
        value = self.deref(value) or value
        if value.kind != "composite":
            note(f"{self.label}.{name}: attribute {value.kind} {value.name} not resolved")
            return Attr(optional=True)
        attr = Attr(
            required=value.flag("Required"),
            optional=value.flag("Optional"),
            computed=value.flag("Computed"),
        )
        if "Block" in value.name:
            attr.optional = True
        modifiers = value.field("PlanModifiers")
        if modifiers is not None:
            for _, modifier in modifiers.items:
                if modifier.kind == "call" and ".RequiresReplace" in modifier.name:
                    attr.force_new = True
        validators = value.field("Validators")
        if validators is not None:
            for _, validator in validators.items:
                found = self.enum_of(validator, name)
                if found is not None:
                    attr.enum = found
        custom = value.field("CustomType")
        if attr.enum is None and custom is not None and custom.kind == "call" and "StringEnumType" in custom.name:
            attr.enum = self.aws_enum(custom.value, name)
        nested_object = value.field("NestedObject")
        target = nested_object if nested_object is not None else value
        if target.field("Attributes") is not None or target.field("Blocks") is not None:
            attr.nested = self.fw_schema(target)
        return attr

    # -- allowed values
    def enum_of(self, validator: Node | None, name: str) -> tuple[str, ...] | None:
        if validator is None or validator.kind != "call":
            return None
        short = validator.name.split(".")[-1]
        if validator.name in ("validation.All", "validation.ToDiagFunc", "validation.Any") or short == "All":
            for arg in validator.args:
                found = self.enum_of(arg, name)
                if found is not None and validator.name != "validation.Any":
                    return found
            return None
        if short in ("StringInSlice", "OneOf", "OneOfCaseInsensitive"):
            values: list[str] = []
            args = validator.args[:1] if short == "StringInSlice" else validator.args
            for arg in args:
                strings = self.strings(arg)
                if strings is None:
                    note(f"{self.label}.{name}: enum {arg.kind} {arg.name} not resolved")
                    return None
                values.extend(strings)
            return tuple(values)
        if validator.name.startswith("enum.") and validator.value:
            return self.aws_enum(validator.value, name)
        return None

    def strings(self, node: Node) -> list[str] | None:
        if node.kind == "str":
            return [node.value]
        if node.kind == "composite":
            out: list[str] = []
            for _, item in node.items:
                got = self.strings(item)
                if got is None:
                    return None
                out.extend(got)
            return out
        if node.kind == "call" and node.name.startswith("enum.Values") and node.value:
            found = self.aws_enum(node.value, "")
            return list(found) if found is not None else None
        if node.kind in ("call", "name") and self.resolver is not None and not _is_library(node.name):
            target = self.resolver.node(node.name, self.near)
            if target is not None and target is not node:
                return self.strings(target)
        return None

    def aws_enum(self, generic: str, name: str) -> tuple[str, ...] | None:
        type_name = generic.strip("[]").split(".")[-1]
        if self.service is None:
            return None
        try:
            import botocore.session
        except ImportError:  # pragma: no cover - the generator's own dependency
            note(f"{self.label}.{name}: botocore missing, enum {type_name} left out")
            return None
        model = _botocore_model(self.service)
        shape = model.get("shapes", {}).get(type_name)
        if shape is None or "enum" not in shape:
            note(f"{self.label}.{name}: enum {type_name} not in botocore {self.service}")
            return None
        return tuple(shape["enum"])


_MODELS: dict[str, dict[str, Any]] = {}


def _botocore_model(service: str) -> dict[str, Any]:
    if service not in _MODELS:
        import botocore.session

        loader = botocore.session.get_session().get_component("data_loader")
        _MODELS[service] = loader.load_service_model(service, "service-2")
    return _MODELS[service]


_LIBRARY_PREFIXES = (
    "schema.", "validation.", "verify.", "enum.", "tftags.", "stringvalidator.", "listvalidator.",
    "int64validator.", "stringplanmodifier.", "fwtypes.", "framework.", "customfield.", "sdkv2.",
    "timeouts.", "flex.", "aws.", "types.", "awstypes.", "fwvalidators.", "setvalidator.", "objectvalidator.",
)


def _is_library(name: str) -> bool:
    return name.startswith(_LIBRARY_PREFIXES) and not name.startswith(("verify.", "sdkv2."))


# ---------------------------------------------------------------- Pulumi SDK shapes

@dataclass
class SdkProp:
    name: str
    snake: str
    required: bool
    nested: type | None


def sdk_props(args_cls: type) -> dict[str, SdkProp]:
    module = sys.modules[args_cls.__module__]
    signature = inspect.signature(args_cls.__init__)
    props: dict[str, SdkProp] = {}
    for param in list(signature.parameters.values())[1:]:
        prop = args_cls.__dict__.get(param.name)
        wire = getattr(getattr(prop, "fget", None), "_pulumi_name", None) or camel(param.name)
        annotation = str(param.annotation)
        nested_name = re.search(r"ForwardRef\('(\w+Args)'\)", annotation)
        nested = None
        # Union[str, PolicyDocumentArgs]: a JSON string on the wire, the object is a typing aid.
        if nested_name and not annotation.startswith("typing.Union[str, "):
            nested = getattr(module, nested_name.group(1), None) or _find_args(args_cls, nested_name.group(1))
        props[wire] = SdkProp(
            name=wire,
            snake=param.name,
            required=param.default is inspect.Parameter.empty,
            nested=nested,
        )
    return props


def _find_args(anchor: type, name: str) -> type | None:
    package = anchor.__module__.rsplit(".", 1)[0]
    for module_name in (f"{package}._inputs", f"{package.rsplit('.', 1)[0]}._inputs"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        if hasattr(module, name):
            return typing.cast(type, getattr(module, name))
    return None


def args_class(type_token: str) -> type:
    package, module_path, cls = type_token.split(":")[0], type_token.split(":")[1], type_token.split(":")[2]
    module_name = module_path.split("/")[0]
    root = {"aws": "pulumi_aws", "cloudflare": "pulumi_cloudflare", "random": "pulumi_random", "kubernetes": "pulumi_kubernetes"}[package]
    dotted = root if module_name == "index" else f"{root}.{module_name.replace('/', '.')}"
    if package == "kubernetes":
        group, version = module_path.split("/")
        dotted = f"{root}.{group.replace('.sh', '')}.{version}"
    module = importlib.import_module(dotted)
    resource = getattr(module, cls)
    # Where a nested input type has the resource's name, the SDK calls the resource's own
    # arguments <Name>InitArgs (s3's BucketServerSideEncryptionConfiguration).
    own = sys.modules[resource.__module__]
    return typing.cast(type, getattr(own, f"{cls}InitArgs", None) or getattr(own, f"{cls}Args"))


def merge(label: str, sdk_cls: type, tf: dict[str, Attr] | None) -> dict[str, Any]:
    """Pulumi's names and required inputs, Terraform's ForceNew and allowed values."""
    props = sdk_props(sdk_cls)
    out: dict[str, Any] = {}
    matched: set[str] = set()
    for wire, prop in sorted(props.items()):
        entry: dict[str, Any] = {}
        if prop.required:
            entry["required"] = True
        attr = None
        if tf is not None:
            for candidate in _tf_candidates(prop.snake, label):
                if candidate in tf:
                    attr, matched = tf[candidate], matched | {candidate}
                    break
            if attr is None and wire != "region":
                note(f"{label}.{wire}: no Terraform attribute")
        if attr is not None:
            if attr.force_new:
                entry["forceNew"] = True
            elif attr.force_new_if:
                entry["forceNewIf"] = True
            if attr.enum:
                entry["enum"] = sorted(set(attr.enum))
        if prop.nested is not None:
            entry["properties"] = merge(f"{label}.{wire}", prop.nested, attr.nested if attr else None)
        out[wire] = entry
    if tf is not None:
        for name, attr in tf.items():
            if name not in matched and (attr.required or attr.optional) and name not in ("tags_all", "id"):
                note(f"{label}: Terraform input {name} has no Pulumi input")
    return out


# Inputs that Pulumi renames (pulumi-aws's resources.go): Pulumi name -> Terraform name.
RENAMES: dict[str, str] = {
    "aws:cloudwatch/metricAlarm:MetricAlarm.name": "alarm_name",
    "aws:sns/topicSubscription:TopicSubscription.topic": "topic_arn",
}


def _tf_candidates(snake: str, label: str = "") -> list[str]:
    snake = snake.rstrip("_")  # and_, not_: Python keywords
    out = [snake]
    if f"{label}.{camel(snake)}" in RENAMES:
        return [RENAMES[f"{label}.{camel(snake)}"]]
    if snake.endswith("ies"):
        out.append(snake[:-3] + "y")
    if snake.endswith("es"):
        out.append(snake[:-2])
    if snake.endswith("s"):
        out.append(snake[:-1])
    return out


# ---------------------------------------------------------------- CustomizeDiff

_FORCE_NEW_CALL = re.compile(r"(?:customdiff\.ForceNewIf(?:Change)?|\b\w+\.ForceNew)\(\s*(\"[^\"]+\"|names\.Attr\w+)")


def customize_diff_force_new(node: Node | None, resolver: Resolver, reader: TerraformReader) -> list[str]:
    """Terraform paths that the resource's CustomizeDiff may force to a replacement."""
    if node is None:
        return []
    paths: list[str] = []
    for call in _walk(node):
        if call.kind == "call" and call.name in ("customdiff.ForceNewIf", "customdiff.ForceNewIfChange") and call.args:
            name = key_name(call.args[0], resolver, reader.near)
            if name:
                paths.append(name)
        elif call.kind in ("call", "name") and not _is_library(call.name) and not call.name.startswith("customdiff."):
            paths.extend(_helper_force_new(call.name.split(".")[-1], resolver, reader.near, depth=2))
    return paths


def _helper_force_new(name: str, resolver: Resolver, near: str, depth: int) -> list[str]:
    """ForceNew calls in one of the service's own CustomizeDiff helpers (and the helpers it calls)."""
    paths: list[str] = []
    for path in resolver.by_name.get(name, []):
        if not path.startswith(near):
            continue
        text = resolver.source.read(path)
        for match in _FORCE_NEW_CALL.finditer(text):
            literal = match.group(1)
            paths.append(literal.strip('"') if literal.startswith('"') else attr_const_name(literal))
        if depth > 1:
            body = text.split(f"func {name}", 1)[-1]
            for called in sorted(set(re.findall(r"\b(\w*ForceNew\w*)\(", body)) - {name}):
                paths.extend(_helper_force_new(called, resolver, near, depth - 1))
    return paths


def _walk(node: Node) -> Iterable[Node]:
    yield node
    for key, value in node.items:
        if key is not None:
            yield from _walk(key)
        yield from _walk(value)
    for arg in node.args:
        yield from _walk(arg)
    if node.ret is not None:
        yield from _walk(node.ret)


def _mark_force_new_if(tf: dict[str, Attr], tf_path: str, label: str) -> None:
    parts = [p for p in tf_path.split(".") if not p.isdigit()]
    attrs: dict[str, Attr] | None = tf
    for index, part in enumerate(parts):
        if attrs is None or part not in attrs:
            note(f"{label}: CustomizeDiff ForceNew on {tf_path} not in the schema")
            return
        if index == len(parts) - 1:
            attrs[part].force_new_if = True
        else:
            attrs = attrs[part].nested


# ---------------------------------------------------------------- per provider

def aws_types(source: GitSource) -> dict[str, Any]:
    resolver = Resolver(source, ["index/internal"])
    out: dict[str, Any] = {}
    for token, (tf_name, service, index_name) in sorted(AWS_TYPES.items()):
        path = f"index/internal/service/{service}/{index_name}.goindex"
        text = source.read(path)
        reader = TerraformReader(resolver, f"index/internal/service/{service}/", BOTOCORE_SERVICE.get(service, service), token)
        if index_name.startswith("method."):
            schema = [c for c in find_composites(text, "schema.Schema") if c.field("Attributes") is not None][0]
            tf = reader.fw_schema(schema)
        else:
            resource = reader.deref(function_return(text, index_name.split(".", 1)[1]))
            assert resource is not None, path
            tf = reader.sdk_map(resource.field("Schema") or resource.field("SchemaFunc"))
            for tf_path in customize_diff_force_new(resource.field("CustomizeDiff"), resolver, reader):
                _mark_force_new_if(tf, tf_path, token)
        out[token] = {
            "terraform": tf_name,
            "source": f"internal/service/{service}/ ({index_name}, via {path})",
            "properties": merge(token, args_class(token), tf),
        }
    return out


def cloudflare_types(source: GitSource) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token, service in sorted(CLOUDFLARE_TYPES.items()):
        path = f"internal/services/{service}/schema.go"
        text = source.read(path)
        reader = TerraformReader(None, "", None, token)
        schema = [c for c in find_composites(text, "schema.Schema") if c.field("Attributes") is not None][0]
        tf = reader.fw_schema(schema)
        out[token] = {"terraform": f"cloudflare_{service}", "source": path, "properties": merge(token, args_class(token), tf)}
    return out


def random_types(source: GitSource) -> dict[str, Any]:
    path = "internal/provider/resource_password.go"
    text = source.read(path)
    reader = TerraformReader(None, "", None, "random_password")
    candidates = [c for c in find_composites(text, "schema.Schema") if c.field("Attributes") is not None]
    tf = reader.fw_schema(candidates[0])
    token = "random:index/randomPassword:RandomPassword"
    return {token: {"terraform": "random_password", "source": path, "properties": merge(token, args_class(token), tf)}}


def kubernetes_types(source: GitSource) -> dict[str, Any]:
    diff = source.read("provider/pkg/provider/diff.go")
    env = _go_properties_env(diff)
    metadata = env["__metadata"]
    out: dict[str, Any] = {}
    for token, (group, version, kind) in sorted(KUBERNETES_TYPES.items()):
        paths = list(metadata)
        per_kind = env["__forceNew"](group, version, kind)
        if per_kind:
            paths.extend(per_kind)
        if kind == "ConfigMap":  # replaced on any data change unless the provider enables mutable ConfigMaps
            paths.extend(env["__configmap"])
        out[token] = {
            "source": "provider/pkg/provider/diff.go",
            "replacePaths": sorted({p.lstrip(".").replace("[*]", "") for p in paths}),
        }
    release = source.read("provider/pkg/provider/helm_release.go")
    match = re.search(r"forceNewFields := \[\]string\{([^}]*)\}", release)
    assert match, "helm_release.go: forceNewFields not found"
    fields = re.findall(r'"([^"]+)"', match.group(1))
    out["kubernetes:helm.sh/v3:Release"] = {
        "source": "provider/pkg/provider/helm_release.go",
        "replacePaths": sorted(f.lstrip(".") for f in fields),
        "properties": merge("kubernetes:helm.sh/v3:Release", args_class("kubernetes:helm.sh/v3:Release"), None),
    }
    return out


def _go_properties_env(text: str) -> dict[str, Any]:
    """Evaluate diff.go's tables: string lists, append(...), helper calls with a prefix."""
    tokens = tokenize(text)
    funcs: dict[str, tuple[list[str], Node]] = {}
    variables: dict[str, Node] = {}
    index = 0
    while index < len(tokens):
        tok = tokens[index]
        if tok.text == "func" and index + 1 < len(tokens) and tokens[index + 1].kind == "name" and tokens[index + 1].text != "(":
            name = tokens[index + 1].text
            params = []
            if tokens[index + 2].text == "(" and tokens[index + 3].kind == "name":
                params = [tokens[index + 3].text]
            ret = function_return(text, name)
            if ret is not None:
                funcs[name] = (params, ret)
        if tok.text == "var" and tokens[index + 2].text == "=":
            parser = Parser(tokens[index + 3 :])
            variables[tokens[index + 1].text] = parser.expr()
        index += 1

    def evaluate(node: Node, scope: dict[str, str]) -> Any:
        if node.kind == "str":
            return node.value
        if node.kind == "binop" and node.value == "+":
            return evaluate(node.args[0], scope) + evaluate(node.args[1], scope)
        if node.kind == "name":
            if node.name in scope:
                return scope[node.name]
            return evaluate(variables[node.name], scope)
        if node.kind == "call" and node.name == "append":
            items: list[str] = []
            for arg in node.args:
                items.extend(evaluate(arg, scope))
            return items
        if node.kind == "call" and node.name in funcs:
            params, ret = funcs[node.name]
            if params:
                return evaluate(ret, {params[0]: evaluate(node.args[0], scope)})
            return evaluate(ret, scope)
        if node.kind == "composite" and node.name == "properties":
            return [evaluate(item, scope) for _, item in node.items]
        if node.kind == "composite":
            return {key.value if key.kind == "str" else key.name: evaluate(value, scope) for key, value in node.items if key is not None}
        raise ValueError(f"cannot evaluate {node.kind} {node.name}")

    def lookup(node: Node, *keys: str) -> Node | None:
        for key in keys:
            while node.kind == "name":
                node = variables[node.name]
            found = None
            for item_key, value in node.items:
                if item_key is not None and item_key.kind == "str" and item_key.value == key:
                    found = value
            if found is None:
                return None
            node = found
        return node

    def forcenew(group: str, version: str, kind: str) -> list[str]:
        node = lookup(variables["forceNew"], group, version, kind)
        return [] if node is None else list(evaluate(node, {}))

    metadata = evaluate(Node("call", name="metadataForceNewProperties", args=[Node("str", value=".metadata")]), {})
    configmap_match = re.search(r"IsConfigMap\(obj\)[^{]*\{\s*props = append\(props, properties\{([^}]*)\}", text)
    assert configmap_match, "diff.go: ConfigMap rule not found"
    return {
        "__metadata": metadata,
        "__forceNew": forcenew,
        "__configmap": re.findall(r'"([^"]+)"', configmap_match.group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aws-index", type=Path, required=True)
    parser.add_argument("--cloudflare", type=Path, required=True)
    parser.add_argument("--random", type=Path, required=True)
    parser.add_argument("--kubernetes", type=Path, required=True)
    args = parser.parse_args()
    sources = {
        "aws": GitSource("lonegunmanb/terraform-provider-aws-index (verbatim functions of hashicorp/terraform-provider-aws)", args.aws_index),
        "cloudflare": GitSource("cloudflare/terraform-provider-cloudflare", args.cloudflare),
        "random": GitSource("hashicorp/terraform-provider-random", args.random),
        "kubernetes": GitSource("pulumi/pulumi-kubernetes", args.kubernetes),
    }
    builders = {"aws": aws_types, "cloudflare": cloudflare_types, "random": random_types, "kubernetes": kubernetes_types}
    OUT.mkdir(parents=True, exist_ok=True)
    for provider, build in builders.items():
        source = sources[provider]
        document = {
            "generatedBy": "tools/provider_schemas/generate.py",
            "source": source.commit(),
            "sdk": _sdk_version(provider),
            "types": build(source),
        }
        if provider == "aws":
            import botocore

            document["enumsFrom"] = f"botocore {botocore.__version__} service models"
        path = OUT / f"{provider}.json"
        path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(ROOT)}: {len(document['types'])} types")
    report = Path(__file__).with_name("unresolved.txt")
    report.write_text(
        "# Written by generate.py: what the sources did not let it resolve (left out of the data).\n"
        + "".join(f"{message}\n" for message in UNRESOLVED)
    )
    print(f"{len(UNRESOLVED)} unresolved, listed in {report.relative_to(ROOT)}")


def _sdk_version(provider: str) -> str:
    from importlib.metadata import version

    name = {"aws": "pulumi-aws", "cloudflare": "pulumi-cloudflare", "random": "pulumi-random", "kubernetes": "pulumi-kubernetes"}[provider]
    return f"{name} {version(name)}"


if __name__ == "__main__":
    main()
