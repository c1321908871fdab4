"""EC2 Auto Scaling groups that run the application container behind the load balancer."""

from __future__ import annotations

import base64
import enum
import functools
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.catalog import ec2_instance_type
from infra.compute.launch_templates import encrypted_root_volume, imdsv2_only, instance_tags
from infra.config.capacity import BurstSizing
from infra.config.compute import AutoScalingGroupConfig, ScalingConfig, is_ecr_image
from infra.config.load_balancer import Slot
from infra.naming import Service, physical_name
from infra.secrets.policy import secret_reader_statements
from infra.tagging import with_name

SSM_MANAGED_INSTANCE_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
"""Session Manager instead of SSH: no key pair, no port 22, every session logged."""
ALARM_PERIOD_SECONDS = 60
"""One-minute datapoints: instances have detailed monitoring on, so CPU arrives every minute."""
GROUP_METRICS = (
    aws.autoscaling.Metric.GROUP_MIN_SIZE,
    aws.autoscaling.Metric.GROUP_MAX_SIZE,
    aws.autoscaling.Metric.GROUP_DESIRED_CAPACITY,
    aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES,
    aws.autoscaling.Metric.GROUP_PENDING_INSTANCES,
    aws.autoscaling.Metric.GROUP_TERMINATING_INSTANCES,
    aws.autoscaling.Metric.GROUP_TOTAL_INSTANCES,
)
"""Group metrics published every minute, so dashboards show what the policies did."""


def ami_parameter(architecture: str) -> str:
    """The latest Amazon Linux 2023 AMI for ``architecture``, resolved by EC2 at each launch.

    A ``resolve:ssm:`` image ID needs no lookup at deploy time, and each new instance (scale-out
    or instance refresh) boots the current patched AMI.
    """
    return f"resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"


class Direction(enum.StrEnum):
    OUT = "out"
    IN = "in"


@dataclass(frozen=True)
class ScalingTrigger:
    """One CloudWatch alarm and the step policy it fires."""

    key: str
    """Stable key: logical names of the alarm and policy derive from it."""
    direction: Direction
    namespace: str
    metric_name: str
    statistic: str
    """``Average`` or a percentile such as ``p95`` (an extended statistic)."""
    comparison: str
    threshold: float
    evaluation_periods: int
    adjustment_percent: int
    """Signed percent change in capacity (at least one instance either way)."""
    unit_label: str

    @property
    def is_percentile(self) -> bool:
        return self.statistic.startswith("p")

    def describe(self) -> str:
        op = ">" if self.comparison == "GreaterThanThreshold" else "<"
        return (
            f"{self.metric_name} {self.statistic} {op} {self.threshold:g}{self.unit_label} "
            f"for {self.evaluation_periods} min -> {self.adjustment_percent:+d}%"
        )


def scaling_triggers(scaling: ScalingConfig) -> tuple[ScalingTrigger, ...]:
    """The plan's triggers: out on CPU or p95 latency, in on CPU, with the thresholds from config.

    The latency trigger reads the load balancer's target group: it exists only where the phase
    has one (the configuration states its threshold exactly then).
    """
    cpu_high = ScalingTrigger(
        key="cpu-high",
        direction=Direction.OUT,
        namespace="AWS/EC2",
        metric_name="CPUUtilization",
        statistic="Average",
        comparison="GreaterThanThreshold",
        threshold=scaling.cpu_scale_out_percent,
        evaluation_periods=scaling.scale_out_evaluation_minutes,
        adjustment_percent=scaling.scale_out_step_percent,
        unit_label="%",
    )
    latency_high = (
        ScalingTrigger(
            key="latency-high",
            direction=Direction.OUT,
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            statistic="p95",
            comparison="GreaterThanThreshold",
            threshold=scaling.latency_p95_scale_out_seconds,
            evaluation_periods=scaling.scale_out_evaluation_minutes,
            adjustment_percent=scaling.scale_out_step_percent,
            unit_label=" s",
        )
        if scaling.latency_p95_scale_out_seconds is not None
        else None
    )
    cpu_low = ScalingTrigger(
        key="cpu-low",
        direction=Direction.IN,
        namespace="AWS/EC2",
        metric_name="CPUUtilization",
        statistic="Average",
        comparison="LessThanThreshold",
        threshold=scaling.cpu_scale_in_percent,
        evaluation_periods=scaling.scale_in_evaluation_minutes,
        adjustment_percent=-scaling.scale_in_step_percent,
        unit_label="%",
    )
    return tuple(trigger for trigger in (cpu_high, latency_high, cpu_low) if trigger is not None)


@dataclass(frozen=True, kw_only=True)
class TunnelConnector:
    """The Cloudflare Tunnel connector each instance runs when no load balancer fronts them."""

    image: str
    """The pinned cloudflared image (infra/catalog/cloudflared.yaml)."""
    token_secret_name: str
    """Secrets Manager secret holding the tunnel's token; the instance role may read it."""


TOKEN_FILE = "/etc/cloudflared/token"
"""Where the boot script writes the tunnel token: root-only on the encrypted root volume."""
CLOUDFLARED_UID = 65532
"""The ``nonroot`` user of cloudflared's distroless image, which must read the token file."""


def _tunnel_lines(tunnel: TunnelConnector, *, region: str, log_group: str) -> list[str]:
    """Fetch the token with the instance role and run cloudflared beside the application: it dials
    out to Cloudflare and forwards the zone's requests to the application on the host network
    (the tunnel's configuration names ``localhost:<port>``); nothing dials in."""
    q = shlex.quote
    return [
        f"install -d -m 0700 -o {CLOUDFLARED_UID} -g {CLOUDFLARED_UID} /etc/cloudflared",
        f"(umask 077; aws secretsmanager get-secret-value --region {q(region)} --secret-id "
        f"{q(tunnel.token_secret_name)} --query SecretString --output text > {TOKEN_FILE})",
        f"chown {CLOUDFLARED_UID}:{CLOUDFLARED_UID} {TOKEN_FILE}",
        f"docker pull {q(tunnel.image)}",
        " ".join(
            [
                "docker run --detach --name cloudflared --restart always --network host",
                "--read-only --security-opt no-new-privileges --cap-drop ALL",
                f"--log-driver awslogs --log-opt awslogs-region={q(region)} --log-opt awslogs-group={q(log_group)}",
                f"--volume {TOKEN_FILE}:{TOKEN_FILE}:ro",
                q(tunnel.image),
                # The ingress rules (to localhost:<port>) live in the tunnel's remote configuration.
                f"tunnel --no-autoupdate run --token-file {TOKEN_FILE}",
            ]
        ),
    ]


def user_data_script(
    *,
    image: str,
    port: int,
    region: str,
    log_group: str,
    secret_name_prefix: str,
    tunnel: TunnelConnector | None = None,
) -> str:
    """Boot script: install Docker and run the pinned image. It holds names, never secret values.

    The container uses the host network so that the AWS SDK in it reaches the instance metadata
    service under IMDSv2 with hop limit 1 (a bridged container is one hop too far), and reads its
    secrets at runtime from Secrets Manager under ``secret_name_prefix``.
    """
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        "set -euo pipefail",
        "dnf install -y docker",
        "systemctl enable --now docker",
    ]
    if is_ecr_image(image):
        registry = image.split("/", 1)[0]
        lines.append(
            f"aws ecr get-login-password --region {q(region)} | "
            f"docker login --username AWS --password-stdin {q(registry)}"
        )
    lines += [
        f"docker pull {q(image)}",
        " ".join(
            [
                "docker run --detach --name app --restart always --network host",
                "--security-opt no-new-privileges --cap-drop ALL",
                f"--log-driver awslogs --log-opt awslogs-region={q(region)} --log-opt awslogs-group={q(log_group)}",
                f"--env PORT={port} --env AWS_REGION={q(region)} --env APP_SECRETS_PREFIX={q(secret_name_prefix)}",
                q(image),
            ]
        ),
    ]
    if tunnel is not None:
        lines += _tunnel_lines(tunnel, region=region, log_group=log_group)
    return "\n".join(lines) + "\n"


def instance_policy(
    *,
    account_id: str,
    region: str,
    secret_names: Sequence[str],
    log_group_arn: str,
    images: Sequence[str],
    secrets_kms_key_arns: Sequence[str],
) -> str:
    """What the instances may do beyond SSM: read exactly their own secrets (decrypting them
    only through Secrets Manager), write their logs, pull their images."""
    statements: list[dict[str, object]] = [
        *secret_reader_statements(
            region=region, account_id=account_id, secret_names=secret_names, kms_key_arns=secrets_kms_key_arns
        ),
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
    ]
    repositories = sorted({_ecr_repository_arn(image) for image in images if is_ecr_image(image)})
    if repositories:
        statements += [
            {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PullOwnImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": repositories,
            },
        ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _ecr_repository_arn(image: str) -> str:
    """``123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0`` -> that repository's ARN."""
    registry, path = image.split("/", 1)
    account_id, _, _, region = registry.split(".")[:4]
    repository = path.split("@", 1)[0].split(":", 1)[0]
    return f"arn:aws:ecr:{region}:{account_id}:repository/{repository}"


def _instance_policy_for(
    values: Sequence[str], *, region: str, secret_names: Sequence[str], images: Sequence[str]
) -> str:
    account_id, log_group_arn, *secrets_keys = values
    return instance_policy(
        account_id=account_id,
        region=region,
        secret_names=secret_names,
        log_group_arn=log_group_arn,
        images=images,
        secrets_kms_key_arns=secrets_keys,
    )


def _user_data_base64(script: str) -> str:
    return base64.b64encode(script.encode()).decode()


@dataclass(frozen=True, kw_only=True)
class ApplicationAutoScalingArgs:
    config: AutoScalingGroupConfig
    environment: str
    region: str
    account_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    """Where the instances launch: the private subnets, or the public ones when there is no NAT."""
    public_ipv4: bool = False
    """Give each instance a public IPv4 address (only where its subnets have no NAT to reach out
    through, infra/compute/placement.py); ingress stays closed by ``security_group_id``."""
    security_group_id: pulumi.Input[str]
    """The application group: ingress only from the load balancer."""
    target_group_arns: Mapping[Slot, pulumi.Input[str]]
    """Instance target group of each slot; each slot's group registers into its own. Empty
    without a load balancer: the groups then use EC2 health checks."""
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    target_group_arn_suffixes: Mapping[Slot, pulumi.Input[str]]
    """CloudWatch dimensions of the latency alarm."""
    tunnel: TunnelConnector | None = None
    """Run the Cloudflare Tunnel connector beside the application (no load balancer)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist before an instance boots (the tunnel token's secret version)."""
    logs_kms_key_arn: pulumi.Input[str]
    """CMK of the application log group."""
    volumes_kms_key_arn: pulumi.Input[str]
    """CMK of the instances' root volumes (the platform's ``volumes`` key, which EKS nodes use too)."""
    secret_name_prefix: str
    """Where the application finds its secrets (``APP_SECRETS_PREFIX`` in the container)."""
    readable_secret_names: Sequence[str] = ()
    """The secrets the instances may read, by name, and nothing else."""
    secrets_kms_key_arns: Sequence[pulumi.Input[str]] = ()
    """CMKs of those secrets: decrypt is allowed only via Secrets Manager, for those secrets."""
    tags: Mapping[str, str]


class ApplicationAutoScaling(pulumi.ComponentResource):
    """One Auto Scaling group per blue/green slot with an image, each behind its slot's target group.

    Instances: Amazon Linux 2023 for the instance type's architecture, IMDSv2 required with hop
    limit 1, no public IP (unless ``public_ipv4``: the phase has no NAT), an encrypted gp3 root
    volume under the platform's volumes key, detailed monitoring, and an instance profile that
    allows SSM plus only reading the app's own secrets, writing its own log group and pulling its
    own ECR images. The user data runs the pinned image and holds no secrets.

    Groups: spread over ``subnet_ids`` (the private subnets unless there is no NAT), ELB health
    checks, rolling instance refresh when the launch template changes, and step scaling on the
    configured CPU and p95-latency alarms. The desired capacity is set at creation and then owned
    by the scaling policies (ignored on update).
    The volumes key is not this component's: it outlives the groups when the application moves to
    EKS, whose nodes use it too.
    """

    group_names: dict[Slot, pulumi.Output[str]]
    """Auto Scaling group name of each slot."""
    instance_role_arn: pulumi.Output[str]
    """Role of the instances, for grants made by other components."""
    log_group_name: str
    """CloudWatch log group the containers write to."""

    def __init__(self, name: str, args: ApplicationAutoScalingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("scaleplan:compute:ApplicationAutoScaling", name, None, opts)
        cfg = args.config
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        instance_type = ec2_instance_type(cfg.instance_type)

        self.log_group_name = f"/scaleplan/{env}/app"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=self.log_group_name,
            retention_in_days=cfg.log_retention_days,
            kms_key_id=args.logs_kms_key_arn,
            tags=with_name(args.tags, self.log_group_name),
            opts=child,
        )

        role_name = physical_name(env, "app-instance", service=Service.IAM_ROLE)
        role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description="Application instances: SSM, own secrets, own logs",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=with_name(args.tags, role_name),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(f"{name}-ssm", role=role.name, policy_arn=SSM_MANAGED_INSTANCE_CORE, opts=child)
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=pulumi.Output.all(args.account_id, log_group.arn, *args.secrets_kms_key_arns).apply(
                functools.partial(
                    _instance_policy_for,
                    region=args.region,
                    secret_names=list(args.readable_secret_names),
                    images=list(cfg.container.images.values()),
                )
            ),
            opts=child,
        )
        profile_name = physical_name(env, "app-instance", service=Service.INSTANCE_PROFILE)
        profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=profile_name, role=role.name, tags=with_name(args.tags, profile_name), opts=child
        )

        self.group_names = {}
        for slot, image in sorted(cfg.container.images.items()):
            group_name = physical_name(env, "app", slot.value, service=Service.AUTOSCALING_GROUP)
            template_name = physical_name(env, "app", slot.value, service=Service.LAUNCH_TEMPLATE)
            script = user_data_script(
                image=image,
                port=cfg.container.port,
                region=args.region,
                log_group=self.log_group_name,
                secret_name_prefix=args.secret_name_prefix,
                tunnel=args.tunnel,
            )
            group_tags = {**with_name(args.tags, group_name), "slot": slot.value}
            # No phase tag inside the template: the move to EKS keeps this group serving, and a
            # changed template would roll every instance mid-move (launch_templates.py).
            tags_of_instances = {**instance_tags(args.tags, group_name), "slot": slot.value}
            template = aws.ec2.LaunchTemplate(
                f"{name}-{slot.value}",
                name=template_name,
                description=f"{env} application, {slot.value} slot: {image}",
                image_id=ami_parameter(instance_type.architecture),
                instance_type=cfg.instance_type,
                iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
                metadata_options=imdsv2_only(),
                network_interfaces=[
                    aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                        device_index=0,
                        associate_public_ip_address="true" if args.public_ipv4 else "false",
                        delete_on_termination="true",
                        security_groups=[args.security_group_id],
                    )
                ],
                block_device_mappings=[encrypted_root_volume(cfg.root_volume_gib, args.volumes_kms_key_arn)],
                monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
                # Stated, not left to the account's default for the family (which can be changed
                # to standard), since the capacity check counts the full vCPUs only in this mode.
                credit_specification=(
                    aws.ec2.LaunchTemplateCreditSpecificationArgs(cpu_credits="unlimited")
                    if cfg.burst_sizing is BurstSizing.UNLIMITED
                    else None
                ),
                ebs_optimized="true",
                user_data=_user_data_base64(script),
                update_default_version=True,
                tag_specifications=[
                    aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags_of_instances)
                    for kind in ("instance", "volume", "network-interface")
                ],
                tags=with_name(args.tags, template_name),
                # The profile's permissions must exist before an instance boots and asks for them.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]),
            )
            group = aws.autoscaling.Group(
                f"{name}-{slot.value}",
                name=group_name,
                vpc_zone_identifiers=list(args.subnet_ids),
                min_size=cfg.min_size,
                max_size=cfg.max_size,
                desired_capacity=cfg.desired_capacity,
                launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str)
                ),
                target_group_arns=[args.target_group_arns[slot]] if slot in args.target_group_arns else None,
                # ELB health checks replace instances the target group finds unhealthy; without
                # one, EC2 status checks are what the group has.
                health_check_type="ELB" if slot in args.target_group_arns else "EC2",
                health_check_grace_period=cfg.health_check_grace_seconds,
                default_cooldown=cfg.scaling.cooldown_seconds,
                default_instance_warmup=cfg.scaling.cooldown_seconds,
                instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                    strategy="Rolling",
                    preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                        min_healthy_percentage=cfg.instance_refresh_min_healthy_percent,
                        instance_warmup=str(cfg.scaling.cooldown_seconds),
                        auto_rollback=True,
                    ),
                ),
                termination_policies=["OldestLaunchTemplate", "Default"],
                enabled_metrics=list(GROUP_METRICS),
                metrics_granularity="1Minute",
                tags=[
                    aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=False)
                    for key, value in sorted(group_tags.items())
                ],
                # The scaling policies own the desired capacity once the group exists.
                opts=pulumi.ResourceOptions(
                    parent=self, ignore_changes=["desiredCapacity"], depends_on=list(args.depends_on)
                ),
            )
            self._scale(name, slot, group, args)
            self.group_names[slot] = group.name

        self.instance_role_arn = role.arn
        self.register_outputs(
            {
                "group_names": {slot.value: group for slot, group in self.group_names.items()},
                "instance_role_arn": self.instance_role_arn,
                "log_group_name": self.log_group_name,
            }
        )

    def _scale(self, name: str, slot: Slot, group: aws.autoscaling.Group, args: ApplicationAutoScalingArgs) -> None:
        """A step policy and the alarm that fires it, for each trigger of the plan."""
        child = pulumi.ResourceOptions(parent=self)
        scaling = args.config.scaling
        for trigger in scaling_triggers(scaling):
            key = f"{slot.value}-{trigger.key}"
            # One step from the threshold outwards: above it for scale-out, below it for scale-in.
            if trigger.direction is Direction.OUT:
                step = aws.autoscaling.PolicyStepAdjustmentArgs(
                    scaling_adjustment=trigger.adjustment_percent, metric_interval_lower_bound="0"
                )
            else:
                step = aws.autoscaling.PolicyStepAdjustmentArgs(
                    scaling_adjustment=trigger.adjustment_percent, metric_interval_upper_bound="0"
                )
            policy = aws.autoscaling.Policy(
                f"{name}-{key}",
                name=physical_name(args.environment, "app", key, service=Service.GENERIC),
                autoscaling_group_name=group.name,
                policy_type="StepScaling",
                adjustment_type="PercentChangeInCapacity",
                min_adjustment_magnitude=1,
                metric_aggregation_type="Average",
                estimated_instance_warmup=scaling.cooldown_seconds,
                step_adjustments=[step],
                opts=child,
            )
            if trigger.namespace == "AWS/ApplicationELB":
                if args.load_balancer_arn_suffix is None:
                    raise ValueError("a latency trigger needs load_balancer_arn_suffix (the phase has no ALB)")
                dimensions: Mapping[str, pulumi.Input[str]] = {
                    "LoadBalancer": args.load_balancer_arn_suffix,
                    "TargetGroup": args.target_group_arn_suffixes[slot],
                }
            else:
                dimensions = {"AutoScalingGroupName": group.name}
            alarm_name = physical_name(args.environment, "app", key, service=Service.CLOUDWATCH_ALARM)
            aws.cloudwatch.MetricAlarm(
                f"{name}-{key}-alarm",
                name=alarm_name,
                alarm_description=f"Scale {trigger.direction.value} the {slot.value} group: {trigger.describe()}",
                namespace=trigger.namespace,
                metric_name=trigger.metric_name,
                dimensions=dimensions,
                statistic=None if trigger.is_percentile else trigger.statistic,
                extended_statistic=trigger.statistic if trigger.is_percentile else None,
                comparison_operator=trigger.comparison,
                threshold=trigger.threshold,
                period=ALARM_PERIOD_SECONDS,
                evaluation_periods=trigger.evaluation_periods,
                # No requests means no latency datapoints: that is not slowness.
                treat_missing_data="notBreaching" if trigger.is_percentile else "missing",
                alarm_actions=[policy.arn],
                tags=with_name(args.tags, alarm_name),
                opts=child,
            )
