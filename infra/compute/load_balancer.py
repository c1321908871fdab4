"""The public Application Load Balancer: TLS termination and blue/green traffic weights."""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.config.load_balancer import BackendWeights, LoadBalancerConfig, Slot, TrafficWeights
from infra.naming import Service, physical_name
from infra.tagging import with_name

ACCESS_LOG_PREFIX = "alb"

# Accounts that deliver ELB access logs in Regions opened before August 2022 (AWS, "Enable
# access logs for your Application Load Balancer", bucket policy). Regions opened since use
# the log-delivery service principal instead.
_ELB_LOG_ACCOUNTS: dict[str, str] = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-south-1": "718504428378",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-south-1": "635631232127",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
}
_ELB_LOG_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"


class TargetType(enum.StrEnum):
    """How targets register: EC2 instances (Auto Scaling group) or pod IPs (EKS, bound by the LB controller)."""

    INSTANCE = "instance"
    IP = "ip"


def backend_shares(
    *, auto_scaling_group: bool, node_pools: bool, weights: BackendWeights | None = None
) -> dict[TargetType, int]:
    """Percent of requests per target type: instances for the Auto Scaling group, pod IPs for EKS.

    One backend gets 100. Both run only while the application moves to EKS, and then
    ``weights`` (``scaleplan:load_balancer.backend_weights``, required by the config) splits them.
    """
    if auto_scaling_group and node_pools:
        if weights is None:
            raise ValueError("both backends run: their backend_weights are required")
        return {TargetType.INSTANCE: weights.auto_scaling_group, TargetType.IP: weights.node_pools}
    if auto_scaling_group:
        return {TargetType.INSTANCE: 100}
    if node_pools:
        return {TargetType.IP: 100}
    raise ValueError("no backend: scaleplan:compute needs auto_scaling_group or node_pools")


def forward_weights(slots: TrafficWeights, backends: Mapping[TargetType, int]) -> dict[tuple[TargetType, Slot], int]:
    """Listener weight of each (target type, slot) group: the slot's percent times the backend's.

    With one backend (100) this is the slot's percent. With two, the config allows one live slot
    only (100), so this is the backend's percent: always a whole percentage, 0-100.
    """
    weights: dict[tuple[TargetType, Slot], int] = {}
    for target_type, share in backends.items():
        for slot in Slot:
            product = slots.of(slot) * share
            if product % 100:
                raise ValueError(
                    f"slot {slot.value} {slots.of(slot)}% x {target_type.value} {share}% is not a whole percentage"
                )
            weights[(target_type, slot)] = product // 100
    return weights


def target_group_logical_name(name: str, slot: Slot, target_type: TargetType) -> str:
    """``alb-blue-instance``, ``alb-blue-ip``: both kinds coexist while the application moves to EKS."""
    return f"{name}-{slot.value}-{target_type.value}"


def legacy_owner(target_types: Collection[TargetType]) -> TargetType:
    """The target type whose groups adopt the pre-2026-12 names ``<name>-<slot>`` (CHANGELOG.md).

    Those names held the instance groups in a state written by foundation, the ip groups in
    one written by an EKS phase. Instance groups are declared only where the Auto Scaling group
    still runs, so they take the old name whenever they exist; otherwise the ip groups do. Never
    both: the engine refuses two resources aliased to the same URN.
    """
    return TargetType.INSTANCE if TargetType.INSTANCE in target_types else TargetType.IP


def elb_log_delivery_principal(region: str) -> dict[str, str]:
    """The principal that writes ALB access logs into a bucket in ``region``."""
    account = _ELB_LOG_ACCOUNTS.get(region)
    if account is not None:
        return {"AWS": f"arn:aws:iam::{account}:root"}
    return {"Service": _ELB_LOG_SERVICE}


def access_log_bucket_policy(bucket: str, account_id: str, region: str) -> str:
    """ELB may put objects under its own prefix only; nobody may use the bucket without TLS."""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ElbLogDelivery",
                    "Effect": "Allow",
                    "Principal": elb_log_delivery_principal(region),
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/{ACCESS_LOG_PREFIX}/AWSLogs/{account_id}/*",
                },
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ],
        }
    )


def _bucket_policy_for(values: Sequence[str], *, region: str) -> str:
    bucket, account_id = values
    return access_log_bucket_policy(bucket, account_id, region)


def _access_log_bucket_name(account_id: str, *, environment: str, region: str) -> str:
    # S3 names are global: the account and region make this one ours.
    return physical_name(environment, "alb-logs", account_id, region, service=Service.S3_BUCKET)


@dataclass(frozen=True, kw_only=True)
class KubernetesTargets:
    """Where the EKS application runs, for TargetGroupBinding resources (AWS Load Balancer Controller)."""

    provider: k8s.Provider
    namespace: str
    services: Mapping[Slot, str]
    """Service name of each slot's release; a slot without one gets no binding."""
    service_port: int | str
    """Port (number or name) of the Service whose endpoints the controller registers."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What installs the TargetGroupBinding CRD and its controller (the platform)."""


@dataclass(frozen=True, kw_only=True)
class LoadBalancerArgs:
    config: LoadBalancerConfig
    environment: str
    region: str
    account_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    public_subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    backends: Mapping[TargetType, int]
    """Target types to create groups for, each with its percent of requests (see :func:`backend_shares`)."""
    tags: Mapping[str, str]
    kubernetes: KubernetesTargets | None = None
    """Bind the ip target groups to Kubernetes Services; only when ``backends`` has ``TargetType.IP``."""


class LoadBalancer(pulumi.ComponentResource):
    """An internet-facing ALB in the public subnets with one target group per blue/green slot.

    HTTPS (port 443) terminates TLS with the configured ACM certificate and a TLS 1.2+ policy and
    forwards to the slots by the configured weights; HTTP (port 80) only redirects to HTTPS with
    a 301. Invalid header fields are dropped, deletion protection is on, and access logs go to
    an SSE-S3 bucket (ALB log delivery supports no other encryption) with all public access
    blocked, TLS-only access, and expiry, unless the config names an existing bucket or turns
    logs off. Each backend has its own pair of target groups (``<name>-<slot>-instance`` for the
    Auto Scaling group, ``<name>-<slot>-ip`` for pods), so while the application moves to EKS both
    stay registered and the listener splits requests between them by weight.
    """

    arn: pulumi.Output[str]
    """ARN of the load balancer."""
    arn_suffix: pulumi.Output[str]
    """``app/<name>/<id>``: the CloudWatch ``LoadBalancer`` dimension."""
    dns_name: pulumi.Output[str]
    """Public DNS name: the origin the edge (Cloudflare) points at."""
    zone_id: pulumi.Output[str]
    """Route 53 hosted zone of the DNS name, for alias records."""
    target_group_arns: dict[TargetType, dict[Slot, pulumi.Output[str]]]
    """Target group ARN of each slot, per target type."""
    target_group_arn_suffixes: dict[TargetType, dict[Slot, pulumi.Output[str]]]
    """``targetgroup/<name>/<id>`` of each slot per target type: the CloudWatch ``TargetGroup`` dimension."""
    https_listener_arn: pulumi.Output[str]
    """The HTTPS listener, for listener rules added by other components."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:compute:LoadBalancer", name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        alb_name = physical_name(args.environment, "alb", service=Service.ALB)

        access_logs, log_dependencies = self._access_logs(name, args)
        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=alb_name,
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            subnets=list(args.public_subnet_ids),
            security_groups=[args.security_group_id],
            drop_invalid_header_fields=cfg.drop_invalid_header_fields,
            enable_deletion_protection=cfg.deletion_protection,
            desync_mitigation_mode="defensive",
            enable_http2=True,
            idle_timeout=cfg.idle_timeout_seconds,
            access_logs=access_logs,
            tags=with_name(args.tags, alb_name),
            # ELB checks that it may write to the log bucket when access logs are turned on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=log_dependencies),
        )

        target_groups: dict[TargetType, dict[Slot, aws.lb.TargetGroup]] = {}
        old_name_owner = legacy_owner(args.backends)
        for target_type in sorted(args.backends):
            target_groups[target_type] = {}
            for slot in Slot:
                target_groups[target_type][slot] = self._target_group(
                    name, args, slot, target_type, adopts_old_name=target_type is old_name_owner
                )
        weights = forward_weights(cfg.weights, args.backends)

        https = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=cfg.tls_policy.value,
            certificate_arn=cfg.certificate_arn,
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="forward",
                    forward=aws.lb.ListenerDefaultActionForwardArgs(
                        target_groups=[
                            aws.lb.ListenerDefaultActionForwardTargetGroupArgs(
                                arn=group.arn, weight=weights[(target_type, slot)]
                            )
                            for target_type, by_slot in target_groups.items()
                            for slot, group in by_slot.items()
                        ],
                    ),
                )
            ],
            tags=with_name(args.tags, f"{alb_name}-https"),
            opts=child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=with_name(args.tags, f"{alb_name}-http"),
            opts=child,
        )

        if args.kubernetes is not None:
            if TargetType.IP not in target_groups:
                raise ValueError("Kubernetes services can only be bound to ip target groups (no ip backend)")
            self._bind_services(name, args, args.kubernetes, target_groups[TargetType.IP])

        self.arn = alb.arn
        self.arn_suffix = alb.arn_suffix
        self.dns_name = alb.dns_name
        self.zone_id = alb.zone_id
        self.target_group_arns = {
            target_type: {slot: tg.arn for slot, tg in by_slot.items()}
            for target_type, by_slot in target_groups.items()
        }
        self.target_group_arn_suffixes = {
            target_type: {slot: tg.arn_suffix for slot, tg in by_slot.items()}
            for target_type, by_slot in target_groups.items()
        }
        self.https_listener_arn = https.arn
        self.register_outputs(
            {
                "arn": self.arn,
                "arn_suffix": self.arn_suffix,
                "dns_name": self.dns_name,
                "zone_id": self.zone_id,
                "target_group_arns": {
                    f"{slot.value}-{target_type.value}": arn
                    for target_type, by_slot in self.target_group_arns.items()
                    for slot, arn in by_slot.items()
                },
                "https_listener_arn": self.https_listener_arn,
            }
        )

    def _target_group(
        self, name: str, args: LoadBalancerArgs, slot: Slot, target_type: TargetType, *, adopts_old_name: bool
    ) -> aws.lb.TargetGroup:
        """One slot's group for one backend. Its physical name carries the target type (a ForceNew
        input), so the two kinds never collide and each is created before anything stops using
        the other."""
        cfg = args.config
        tg_name = physical_name(args.environment, slot.value, target_type.value, service=Service.TARGET_GROUP)
        return aws.lb.TargetGroup(
            target_group_logical_name(name, slot, target_type),
            name=tg_name,
            target_type=target_type.value,
            port=cfg.target_port,
            protocol="HTTP",
            protocol_version="HTTP1",
            vpc_id=args.vpc_id,
            deregistration_delay=cfg.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=cfg.health_check.path,
                matcher=cfg.health_check.matcher,
                interval=cfg.health_check.interval_seconds,
                timeout=cfg.health_check.timeout_seconds,
                healthy_threshold=cfg.health_check.healthy_threshold,
                unhealthy_threshold=cfg.health_check.unhealthy_threshold,
            ),
            tags={**with_name(args.tags, tg_name), "slot": slot.value, "target-type": target_type.value},
            opts=pulumi.ResourceOptions(
                parent=self,
                # Before 2026-12 the one pair of groups was named "<name>-<slot>" (CHANGELOG.md).
                aliases=[pulumi.Alias(name=f"{name}-{slot.value}")] if adopts_old_name else None,
            ),
        )

    def _access_logs(
        self, name: str, args: LoadBalancerArgs
    ) -> tuple[aws.lb.LoadBalancerAccessLogsArgs | None, list[pulumi.Resource]]:
        """The ALB's access-log setting, creating the bucket unless the config names one or turns logs off."""
        logs = args.config.access_logs
        if not logs.enabled:
            return None, []
        if logs.existing_bucket_name is not None:
            return (
                aws.lb.LoadBalancerAccessLogsArgs(
                    bucket=logs.existing_bucket_name, prefix=ACCESS_LOG_PREFIX, enabled=True
                ),
                [],
            )
        child = pulumi.ResourceOptions(parent=self)
        bucket_name = pulumi.Output.from_input(args.account_id).apply(
            functools.partial(_access_log_bucket_name, environment=args.environment, region=args.region)
        )
        bucket = aws.s3.Bucket(
            f"{name}-access-logs",
            bucket=bucket_name,
            force_destroy=False,
            tags=with_name(args.tags, f"{args.environment}-alb-access-logs"),
            # Stateful: the logs are an audit record, so the bucket is protected.
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-access-logs-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-access-logs-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{ACCESS_LOG_PREFIX}/"),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=logs.retention_days),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=child,
        )
        policy = aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.bucket, args.account_id).apply(
                functools.partial(_bucket_policy_for, region=args.region)
            ),
            # The public access block must exist first, or S3 may briefly judge the policy alone.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        return (
            aws.lb.LoadBalancerAccessLogsArgs(bucket=bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True),
            [policy, ownership, encryption],
        )

    def _bind_services(
        self,
        name: str,
        args: LoadBalancerArgs,
        targets: KubernetesTargets,
        target_groups: Mapping[Slot, aws.lb.TargetGroup],
    ) -> None:
        """One TargetGroupBinding per slot that has a Service: the controller registers its pod IPs."""
        for slot, service in sorted(targets.services.items()):
            binding_name = physical_name(args.environment, slot.value, service=Service.KUBERNETES)
            k8s.apiextensions.CustomResource(
                f"{name}-{slot.value}-binding",
                api_version="elbv2.k8s.aws/v1beta1",
                kind="TargetGroupBinding",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=binding_name,
                    namespace=targets.namespace,
                    labels={"app.kubernetes.io/managed-by": "pulumi", "scaleplan/slot": slot.value},
                ),
                spec={
                    "serviceRef": {"name": service, "port": targets.service_port},
                    "targetGroupARN": target_groups[slot].arn,
                    "targetType": TargetType.IP.value,
                },
                opts=pulumi.ResourceOptions(
                    parent=self, provider=targets.provider, depends_on=list(targets.depends_on)
                ),
            )
