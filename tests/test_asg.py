"""The EC2 Auto Scaling groups: hardened launch template, sizes and scaling triggers from the phase file."""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.compute.asg import (
    ApplicationAutoScaling,
    ApplicationAutoScalingArgs,
    Direction,
    instance_policy,
    scaling_triggers,
    user_data_script,
)
from infra.config import PhaseConfig
from infra.config.capacity import BurstSizing
from infra.config.compute import AutoScalingGroupConfig
from infra.config.errors import PhaseConfigError
from infra.config.load_balancer import Slot
from infra.config.loader import parse_phase_config
from infra.plan.capture import ProgramRun, run_program
from infra.stack import build_phase
from tests.conftest import built_phase, phase_config, stack_file

TAGS = {"project": "scaleplan", "phase": "foundation", "environment": "ftw-test", "cost-center": "cc"}
GROUP = "aws:autoscaling/group:Group"
POLICY = "aws:autoscaling/policy:Policy"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
VOLUMES_KEY = "arn:aws:kms:us-east-1:123456789012:key/volumes"

SECRET_LOOKING = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key ID
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"(?i)(password|passwd|secret|token|api[_-]?key)\s*[=:]\s*\S+"),
    re.compile(r"(?i)postgres(ql)?://[^\s:]+:[^\s@]+@"),  # credentials in a URL
    re.compile(r"[A-Za-z0-9/+]{40}"),  # AWS secret access key shape
]


def foundation_asg() -> AutoScalingGroupConfig:
    group = phase_config("foundation").compute.auto_scaling_group
    assert group is not None
    return group


SECRETS_KEY = "arn:aws:kms:us-east-1:123456789012:key/secrets"
OWN_SECRET_ARNS = [
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-test-app/openai-??????",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:ftw-test-cache/auth-token-??????",
]


def build(config: AutoScalingGroupConfig) -> ProgramRun:
    def program() -> None:
        ApplicationAutoScaling(
            "app",
            ApplicationAutoScalingArgs(
                config=config,
                environment="ftw-test",
                region="us-east-1",
                account_id="123456789012",
                subnet_ids=SUBNETS,
                security_group_id="sg-0app",
                target_group_arns={slot: f"arn:tg:{slot.value}" for slot in Slot},
                load_balancer_arn_suffix="app/ftw-test-alb/0123456789abcdef",
                target_group_arn_suffixes={slot: f"targetgroup/ftw-test-{slot.value}/abc" for slot in Slot},
                logs_kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/logs",
                volumes_kms_key_arn=VOLUMES_KEY,
                secret_name_prefix="ftw-test-app",
                readable_secret_names=["ftw-test-app/openai", "ftw-test-cache/auth-token"],
                secrets_kms_key_arns=[SECRETS_KEY],
                tags=TAGS,
            ),
        )

    return run_program(program, project="scaleplan", stack="test")


@functools.cache
def isolated() -> ProgramRun:
    return build(foundation_asg())


def test_children_exact() -> None:
    run = isolated()
    component = run.one("scaleplan:compute:ApplicationAutoScaling", "app")
    assert Counter((c.type, c.name) for c in run.children_of(component.urn)) == {
        ("aws:cloudwatch/logGroup:LogGroup", "app-logs"): 1,
        ("aws:iam/role:Role", "app-role"): 1,
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "app-ssm"): 1,
        ("aws:iam/rolePolicy:RolePolicy", "app-policy"): 1,
        ("aws:iam/instanceProfile:InstanceProfile", "app-profile"): 1,
        (TEMPLATE, "app-blue"): 1,
        (GROUP, "app-blue"): 1,
        (POLICY, "app-blue-cpu-high"): 1,
        (POLICY, "app-blue-latency-high"): 1,
        (POLICY, "app-blue-cpu-low"): 1,
        (ALARM, "app-blue-cpu-high-alarm"): 1,
        (ALARM, "app-blue-latency-high-alarm"): 1,
        (ALARM, "app-blue-cpu-low-alarm"): 1,
    }


def test_launch_template_requires_imdsv2_with_hop_limit_one() -> None:
    template = isolated().one(TEMPLATE).inputs
    assert template["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "instanceMetadataTags": "disabled",
    }


def test_launch_template_has_no_public_ip_and_the_app_group() -> None:
    template = isolated().one(TEMPLATE).inputs
    assert template["networkInterfaces"] == [
        {
            "deviceIndex": 0,
            "associatePublicIpAddress": "false",
            "deleteOnTermination": "true",
            "securityGroups": ["sg-0app"],
        }
    ]
    assert "vpcSecurityGroupIds" not in template


def test_root_volume_is_encrypted_gp3_with_the_given_key() -> None:
    template = isolated().one(TEMPLATE).inputs
    assert template["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeType": "gp3",
                "volumeSize": 20,
                "encrypted": "true",
                "kmsKeyId": VOLUMES_KEY,
                "deleteOnTermination": "true",
            },
        }
    ]


def test_image_matches_the_instance_architecture() -> None:
    template = isolated().one(TEMPLATE).inputs
    assert template["instanceType"] == "t4g.large"
    assert template["imageId"] == "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    assert template["monitoring"] == {"enabled": True}
    x86 = build(foundation_asg().model_copy(update={"instance_type": "m7i.large"}))
    assert x86.one(TEMPLATE).inputs["imageId"].endswith("al2023-ami-kernel-default-x86_64")


def test_user_data_runs_the_pinned_image_and_holds_no_secrets() -> None:
    template = isolated().one(TEMPLATE).inputs
    script = base64.b64decode(template["userData"]).decode()
    assert script.startswith("#!/bin/bash\nset -euo pipefail\n")
    assert "docker pull ghcr.io/fairtradeworker/app:1.0.0\n" in script
    run_line = next(line for line in script.splitlines() if line.startswith("docker run"))
    assert "--network host" in run_line
    assert run_line.endswith(" ghcr.io/fairtradeworker/app:1.0.0")
    assert dict(re.findall(r"--env (\w+)=(\S+)", run_line)) == {
        "PORT": "3000",
        "AWS_REGION": "us-east-1",
        "APP_SECRETS_PREFIX": "ftw-test-app",
    }
    for pattern in SECRET_LOOKING:
        assert pattern.search(script) is None, pattern.pattern


def test_secret_scan_would_catch_a_leaked_secret() -> None:
    """The scan above can fail: a script with a credential in it trips it."""
    leaked = (
        user_data_script(
            image="ghcr.io/x/app:1.0.0", port=3000, region="us-east-1", log_group="/g", secret_name_prefix="p"
        )
        + "export DB_PASSWORD=hunter2\n"
    )
    assert any(pattern.search(leaked) for pattern in SECRET_LOOKING)


def test_ecr_images_log_in_and_may_be_pulled() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ftw/app@sha256:" + "a" * 64
    script = user_data_script(image=image, port=3000, region="us-east-1", log_group="/g", secret_name_prefix="p")
    assert "docker login --username AWS --password-stdin 123456789012.dkr.ecr.us-east-1.amazonaws.com" in script
    policy = json.loads(
        instance_policy(
            account_id="123456789012",
            region="us-east-1",
            secret_names=["p/x"],
            log_group_arn="arn:logs",
            images=[image],
            secrets_kms_key_arns=[],
        )
    )
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullOwnImages")
    assert pull["Resource"] == ["arn:aws:ecr:us-east-1:123456789012:repository/ftw/app"]


def test_instance_role_allows_ssm_own_secrets_and_own_logs_only() -> None:
    run = isolated()
    assume = json.loads(run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert assume["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attachment = run.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    log_group_arn = run.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    assert policy["Statement"] == [
        {
            "Sid": "ReadOwnSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            # Exactly the named secrets (Secrets Manager's six random ARN characters), no prefix wildcard.
            "Resource": OWN_SECRET_ARNS,
        },
        {
            "Sid": "DecryptOwnSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": [SECRETS_KEY],
            "Condition": {
                "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
                "StringLike": {"kms:EncryptionContext:SecretARN": OWN_SECRET_ARNS},
            },
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group_arn, f"{log_group_arn}:*"],
        },
    ]
    profile = run.one("aws:iam/instanceProfile:InstanceProfile")
    assert run.one(TEMPLATE).inputs["iamInstanceProfile"] == {"arn": profile.outputs["arn"]}


def test_group_sizes_health_checks_and_refresh() -> None:
    run = isolated()
    group = run.one(GROUP)
    inputs = group.inputs
    assert inputs["name"] == "ftw-test-app-blue"
    assert (inputs["minSize"], inputs["desiredCapacity"], inputs["maxSize"]) == (2, 2, 4)
    assert inputs["vpcZoneIdentifiers"] == SUBNETS
    assert inputs["targetGroupArns"] == ["arn:tg:blue"]
    assert (inputs["healthCheckType"], inputs["healthCheckGracePeriod"]) == ("ELB", 300)
    assert (inputs["defaultCooldown"], inputs["defaultInstanceWarmup"]) == (180, 180)
    assert inputs["instanceRefresh"] == {
        "strategy": "Rolling",
        "preferences": {"minHealthyPercentage": 90, "instanceWarmup": "180", "autoRollback": True},
    }
    template = run.one(TEMPLATE)
    assert inputs["launchTemplate"] == {"id": template.outputs["id"], "version": "1"}
    assert group.ignore_changes == ("desiredCapacity",)
    assert {tag["key"]: tag["value"] for tag in inputs["tags"]} == {**TAGS, "Name": "ftw-test-app-blue", "slot": "blue"}


def _by_trigger(run: ProgramRun, slot: str = "blue") -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return {
        key: (run.one(POLICY, f"app-{slot}-{key}").inputs, run.one(ALARM, f"app-{slot}-{key}-alarm").inputs)
        for key in ("cpu-high", "latency-high", "cpu-low")
    }


def test_scaling_policies_match_the_seed_triggers() -> None:
    run = isolated()
    triggers = _by_trigger(run)
    cpu_out_policy, cpu_out = triggers["cpu-high"]
    assert (cpu_out["metricName"], cpu_out["namespace"], cpu_out["statistic"]) == (
        "CPUUtilization",
        "AWS/EC2",
        "Average",
    )
    assert (cpu_out["comparisonOperator"], cpu_out["threshold"]) == ("GreaterThanThreshold", 70)
    assert cpu_out["dimensions"] == {"AutoScalingGroupName": "ftw-test-app-blue"}
    assert cpu_out_policy["stepAdjustments"] == [{"scalingAdjustment": 50, "metricIntervalLowerBound": "0"}]

    latency_policy, latency = triggers["latency-high"]
    assert (latency["metricName"], latency["namespace"], latency["extendedStatistic"]) == (
        "TargetResponseTime",
        "AWS/ApplicationELB",
        "p95",
    )
    assert "statistic" not in latency
    assert (latency["comparisonOperator"], latency["threshold"]) == ("GreaterThanThreshold", 0.5)
    assert latency["dimensions"] == {
        "LoadBalancer": "app/ftw-test-alb/0123456789abcdef",
        "TargetGroup": "targetgroup/ftw-test-blue/abc",
    }
    assert latency["treatMissingData"] == "notBreaching"
    assert latency_policy["stepAdjustments"] == [{"scalingAdjustment": 50, "metricIntervalLowerBound": "0"}]

    cpu_in_policy, cpu_in = triggers["cpu-low"]
    assert (cpu_in["comparisonOperator"], cpu_in["threshold"]) == ("LessThanThreshold", 30)
    assert cpu_in["evaluationPeriods"] == 15
    assert cpu_in_policy["stepAdjustments"] == [{"scalingAdjustment": -25, "metricIntervalUpperBound": "0"}]

    for policy, alarm in triggers.values():
        assert policy["policyType"] == "StepScaling"
        assert policy["adjustmentType"] == "PercentChangeInCapacity"
        assert policy["minAdjustmentMagnitude"] == 1
        assert policy["estimatedInstanceWarmup"] == 180
        assert policy["autoscalingGroupName"] == "ftw-test-app-blue"
        assert alarm["period"] == 60


def test_each_alarm_fires_its_own_policy() -> None:
    run = isolated()
    for key in ("cpu-high", "latency-high", "cpu-low"):
        policy = run.one(POLICY, f"app-blue-{key}")
        alarm = run.one(ALARM, f"app-blue-{key}-alarm")
        assert alarm.inputs["alarmActions"] == [policy.outputs["arn"]]


def test_scaling_triggers_pure() -> None:
    scaling = foundation_asg().scaling
    triggers = scaling_triggers(scaling)
    assert [(t.key, t.direction, t.threshold) for t in triggers] == [
        ("cpu-high", Direction.OUT, 70),
        ("latency-high", Direction.OUT, 0.5),
        ("cpu-low", Direction.IN, 30),
    ]
    assert triggers[1].describe() == "TargetResponseTime p95 > 0.5 s for 3 min -> +50%"


def test_two_slots_get_two_groups_each_on_its_target_group() -> None:
    config = foundation_asg()
    two = config.model_copy(
        update={
            "container": config.container.model_copy(
                update={"images": {Slot.BLUE: "ghcr.io/x/app:1.0.0", Slot.GREEN: "ghcr.io/x/app:1.1.0"}}
            )
        }
    )
    run = build(two)
    assert Counter(r.type for r in run.resources if r.type in (GROUP, TEMPLATE, POLICY, ALARM)) == {
        GROUP: 2,
        TEMPLATE: 2,
        POLICY: 6,
        ALARM: 6,
    }
    assert run.one(GROUP, "app-green").inputs["targetGroupArns"] == ["arn:tg:green"]
    green_script = base64.b64decode(run.one(TEMPLATE, "app-green").inputs["userData"]).decode()
    assert "ghcr.io/x/app:1.1.0" in green_script
    assert "ghcr.io/x/app:1.0.0" not in green_script


# Whole phases --------------------------------------------------------------------------------


def test_phase_runs_an_asg_exactly_when_the_file_has_one(phase: str) -> None:
    run = built_phase(phase)
    group_config = phase_config(phase).compute.auto_scaling_group
    groups = run.of_type(GROUP)
    if group_config is None:
        assert groups == []
        return
    assert len(groups) == len(group_config.container.images)
    for group in groups:
        sizes = (group.inputs["minSize"], group.inputs["desiredCapacity"], group.inputs["maxSize"])
        assert sizes == (group_config.min_size, group_config.desired_capacity, group_config.max_size)
    component = run.one("scaleplan:compute:ApplicationAutoScaling", "app")
    thresholds = sorted(alarm.inputs["threshold"] for alarm in run.of_type(ALARM) if alarm.parent == component.urn)
    scaling = group_config.scaling
    per_group = sorted(
        [scaling.cpu_scale_out_percent, scaling.cpu_scale_in_percent, scaling.latency_p95_scale_out_seconds]
    )
    assert thresholds == sorted(per_group * len(groups))
    for policy in run.of_type(POLICY):
        assert policy.inputs["estimatedInstanceWarmup"] == scaling.cooldown_seconds


def test_foundation_runs_t4g_two_to_four() -> None:
    group = built_phase("foundation").one(GROUP)
    assert (group.inputs["minSize"], group.inputs["desiredCapacity"], group.inputs["maxSize"]) == (2, 2, 4)
    template = built_phase("foundation").one(TEMPLATE, "app-blue")
    assert template.inputs["instanceType"] == "t4g.large"


def stack_values(phase: str) -> dict[str, Any]:
    document = yaml.safe_load(Path(stack_file(phase)).read_text())
    return copy.deepcopy(document["config"])


def asg_mode(phase: str, **group: Any) -> dict[str, Any]:
    """``phase``'s stack values, but running the foundation's Auto Scaling group with ``group`` changes."""
    values = stack_values(phase)
    foundation_group = copy.deepcopy(stack_values("foundation")["scaleplan:compute"]["auto_scaling_group"])
    values["scaleplan:compute"] = {"auto_scaling_group": {**foundation_group, **group}}
    # No cluster in ASG mode, so nothing that runs on it (PgBouncer) either.
    values.pop("scaleplan:eks", None)
    values.pop("scaleplan:pgbouncer", None)
    return values


def test_asg_mode_at_scale_phase_sizing() -> None:
    """The ASG path beyond foundation: the scale phase's demand served by 8-16 instances (m7g.large:
    16 t4g.large would sustain only 9.6 of the 12 vCPUs the peak needs at their 30% credit baseline)."""
    values = asg_mode(
        "scale",
        instance_type="m7g.large",
        min_size=8,
        desired_capacity=8,
        max_size=16,
        scaling={
            "cpu_scale_out_percent": 65,
            "cpu_scale_in_percent": 25,
            "latency_p95_scale_out_seconds": 0.4,
            "cooldown_seconds": 240,
        },
    )
    config: PhaseConfig = parse_phase_config(values, "Pulumi.scale-asg.yaml")
    run = run_program(lambda: build_phase(config), project="scaleplan", stack="scale-asg")
    group = run.one(GROUP)
    assert (group.inputs["minSize"], group.inputs["desiredCapacity"], group.inputs["maxSize"]) == (8, 8, 16)
    assert group.inputs["defaultCooldown"] == 240
    triggers = _by_trigger(run)
    assert triggers["cpu-high"][1]["threshold"] == 65
    assert triggers["cpu-low"][1]["threshold"] == 25
    assert triggers["latency-high"][1]["threshold"] == 0.4
    assert {tg.inputs["targetType"] for tg in run.of_type("aws:lb/targetGroup:TargetGroup")} == {"instance"}
    assert run.one("aws:lb/listener:Listener", "alb-https").inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert {tag["key"]: tag["value"] for tag in group.inputs["tags"]}["phase"] == "scale"


# Rejected configs ----------------------------------------------------------------------------


def reject(values: dict[str, Any]) -> list[str]:
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, "Pulumi.test.yaml")
    return str(caught.value).splitlines()


KEY = "Pulumi.test.yaml: scaleplan:compute.auto_scaling_group"


def test_rejects_min_above_max() -> None:
    assert reject(asg_mode("foundation", min_size=5, desired_capacity=5, max_size=4)) == [
        f"{KEY}.min_size: must be <= max_size (4) (got 5)"
    ]


def test_rejects_desired_outside_the_range() -> None:
    assert reject(asg_mode("foundation", min_size=2, desired_capacity=6, max_size=4)) == [
        f"{KEY}.desired_capacity: must be between min_size 2 and max_size 4 (got 6)"
    ]


def test_rejects_an_instance_type_not_in_the_catalog() -> None:
    [line] = reject(asg_mode("foundation", instance_type="t2.micro"))
    assert line.startswith(f"{KEY}.instance_type: unknown instance type 't2.micro'; allowed: ")
    assert "t4g.large" in line


def test_rejects_scale_in_threshold_not_below_scale_out() -> None:
    scaling = {
        "cpu_scale_out_percent": 70,
        "cpu_scale_in_percent": 70,
        "latency_p95_scale_out_seconds": 0.5,
        "cooldown_seconds": 180,
    }
    assert reject(asg_mode("foundation", scaling=scaling)) == [
        f"{KEY}.scaling.cpu_scale_in_percent: must be below cpu_scale_out_percent (70) or the group scales in "
        "and out on the same load (got 70)"
    ]


def test_rejects_an_unpinned_image() -> None:
    container = {"images": {"blue": "ghcr.io/fairtradeworker/app:latest"}, "port": 3000}
    assert reject(asg_mode("foundation", container=container)) == [
        f"{KEY}.container.images.blue: must be pinned by a version tag or an @sha256 digest, not latest "
        "(got 'ghcr.io/fairtradeworker/app:latest')"
    ]


def test_rejects_a_container_port_other_than_the_target_port() -> None:
    container = {"images": {"blue": "ghcr.io/fairtradeworker/app:1.0.0"}, "port": 8080}
    assert reject(asg_mode("foundation", container=container)) == [
        f"{KEY}.container.port: must equal scaleplan:load_balancer.target_port (3000): the container uses the "
        "host network, so that it reaches IMDSv2 with hop limit 1 (got 8080)"
    ]


def test_rejects_a_zero_latency_threshold() -> None:
    scaling = {
        "cpu_scale_out_percent": 70,
        "cpu_scale_in_percent": 30,
        "latency_p95_scale_out_seconds": 0,
        "cooldown_seconds": 180,
    }
    assert reject(asg_mode("foundation", scaling=scaling)) == [
        f"{KEY}.scaling.latency_p95_scale_out_seconds: must be > 0 (got 0)"
    ]


def test_unlimited_burst_sizing_states_unlimited_credits_in_the_launch_template() -> None:
    # The capacity check counts the full vCPUs only in this mode, so the template states it
    # rather than trusting the account's default for the family.
    group = foundation_asg().model_copy(update={"burst_sizing": BurstSizing.UNLIMITED})
    assert build(group).one(TEMPLATE).inputs["creditSpecification"] == {"cpuCredits": "unlimited"}


def test_baseline_burst_sizing_leaves_the_credit_specification_alone() -> None:
    assert "creditSpecification" not in isolated().one(TEMPLATE).inputs
