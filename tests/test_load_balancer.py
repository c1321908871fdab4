"""The public ALB: TLS, redirect, blue/green weights, access logs, and its config's rejections."""

from __future__ import annotations

import copy
import functools
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi_kubernetes as k8s
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from infra.compute.load_balancer import (
    KubernetesTargets,
    LoadBalancer,
    LoadBalancerArgs,
    TargetType,
    access_log_bucket_policy,
    backend_shares,
    elb_log_delivery_principal,
)
from infra.config import PhaseConfig
from infra.config.errors import PhaseConfigError
from infra.config.load_balancer import LoadBalancerConfig, Slot, TrafficWeights
from infra.config.loader import parse_phase_config
from infra.plan.capture import ProgramRun, run_program
from tests.conftest import built_phase, phase_config, stack_file

TAGS = {"project": "scaleplan", "phase": "growth", "environment": "ftw-test", "cost-center": "cc"}
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-4697-8877-665544332211"
LB = "aws:lb/loadBalancer:LoadBalancer"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"


def lb_config(**overrides: Any) -> LoadBalancerConfig:
    values: dict[str, Any] = {
        "certificate_arn": CERT,
        "target_port": 3000,
        "health_check": {"path": "/health"},
        "weights": {"blue": 95, "green": 5},
        **overrides,
    }
    return LoadBalancerConfig.model_validate_json(json.dumps(values), strict=True)


def build(config: LoadBalancerConfig, target_type: TargetType, *, bind: bool = False) -> ProgramRun:
    def program() -> None:
        kubernetes = None
        if bind:
            kubernetes = KubernetesTargets(
                provider=k8s.Provider("k8s", kubeconfig="{}"),
                namespace="app",
                services={Slot.BLUE: "app-blue", Slot.GREEN: "app-green"},
                service_port="http",
            )
        LoadBalancer(
            "alb",
            LoadBalancerArgs(
                config=config,
                environment="ftw-test",
                region="us-east-1",
                account_id="123456789012",
                vpc_id="vpc-0abc",
                public_subnet_ids=["subnet-a", "subnet-b", "subnet-c"],
                security_group_id="sg-0alb",
                backends={target_type: 100},
                tags=TAGS,
                kubernetes=kubernetes,
            ),
        )

    return run_program(program, project="scaleplan", stack="test")


@functools.cache
def isolated() -> ProgramRun:
    return build(lb_config(), TargetType.INSTANCE)


def test_children_exact() -> None:
    run = isolated()
    component = run.one("scaleplan:compute:LoadBalancer", "alb")
    assert Counter((c.type, c.name) for c in run.children_of(component.urn)) == {
        (LB, "alb-alb"): 1,
        (TG, "alb-blue-instance"): 1,
        (TG, "alb-green-instance"): 1,
        (LISTENER, "alb-https"): 1,
        (LISTENER, "alb-http"): 1,
        ("aws:s3/bucket:Bucket", "alb-access-logs"): 1,
        ("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "alb-access-logs-ownership"): 1,
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "alb-access-logs-public-access"): 1,
        (
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "alb-access-logs-encryption",
        ): 1,
        ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "alb-access-logs-lifecycle"): 1,
        ("aws:s3/bucketPolicy:BucketPolicy", "alb-access-logs-policy"): 1,
    }


def test_alb_is_public_hardened_and_logged() -> None:
    run = isolated()
    alb = run.one(LB).inputs
    assert alb["name"] == "ftw-test-alb"
    assert alb["loadBalancerType"] == "application"
    assert alb["internal"] is False
    assert alb["subnets"] == ["subnet-a", "subnet-b", "subnet-c"]
    assert alb["securityGroups"] == ["sg-0alb"]
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["enableDeletionProtection"] is True
    bucket = run.one("aws:s3/bucket:Bucket").inputs["bucket"]
    assert bucket == "ftw-test-alb-logs-123456789012-us-east-1"
    assert alb["accessLogs"] == {"bucket": bucket, "prefix": "alb", "enabled": True}
    assert alb["tags"] == {**TAGS, "Name": "ftw-test-alb"}


def test_alb_waits_for_the_log_bucket_policy() -> None:
    run = isolated()
    policy = run.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.urn in run.one(LB).dependencies


def test_https_listener_uses_tls13_policy_certificate_and_weights() -> None:
    run = isolated()
    https = run.one(LISTENER, "alb-https").inputs
    assert (https["port"], https["protocol"]) == (443, "HTTPS")
    assert https["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificateArn"] == CERT
    [action] = https["defaultActions"]
    assert action["type"] == "forward"
    arns = {slot: run.one(TG, f"alb-{slot}-instance").outputs["arn"] for slot in ("blue", "green")}
    assert action["forward"]["targetGroups"] == [
        {"arn": arns["blue"], "weight": 95},
        {"arn": arns["green"], "weight": 5},
    ]


def test_http_listener_only_redirects_to_https() -> None:
    run = isolated()
    http = run.one(LISTENER, "alb-http").inputs
    assert (http["port"], http["protocol"]) == (80, "HTTP")
    assert http["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
    ]


def test_target_groups_are_health_checked_per_slot() -> None:
    run = isolated()
    for slot in ("blue", "green"):
        tg = run.one(TG, f"alb-{slot}-instance").inputs
        assert tg["name"] == f"ftw-test-{slot}-instance"
        assert len(tg["name"]) <= 32
        assert (tg["targetType"], tg["port"], tg["protocol"], tg["vpcId"]) == ("instance", 3000, "HTTP", "vpc-0abc")
        assert tg["deregistrationDelay"] == 30
        assert tg["healthCheck"] == {
            "enabled": True,
            "protocol": "HTTP",
            "port": "traffic-port",
            "path": "/health",
            "matcher": "200-299",
            "interval": 15,
            "timeout": 5,
            "healthyThreshold": 3,
            "unhealthyThreshold": 3,
        }
        assert tg["tags"] == {**TAGS, "Name": f"ftw-test-{slot}-instance", "slot": slot, "target-type": "instance"}


def test_log_bucket_is_private_encrypted_expiring_and_protected() -> None:
    run = isolated()
    assert run.one("aws:s3/bucket:Bucket").protect is True
    block = run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[key] is True
        for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    lifecycle = run.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
    assert lifecycle["rules"][0]["expiration"] == {"days": 90}
    assert lifecycle["rules"][0]["status"] == "Enabled"
    ownership = run.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_log_bucket_policy_lets_only_elb_write_its_prefix_over_tls() -> None:
    policy = json.loads(access_log_bucket_policy("logs-bucket", "123456789012", "us-east-1"))
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == "arn:aws:s3:::logs-bucket/alb/AWSLogs/123456789012/*"
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_newer_regions_use_the_log_delivery_service_principal() -> None:
    assert elb_log_delivery_principal("ap-southeast-3") == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_existing_log_bucket_creates_no_bucket() -> None:
    run = build(lb_config(access_logs={"existing_bucket_name": "corp-elb-logs"}), TargetType.INSTANCE)
    assert run.of_type("aws:s3/bucket:Bucket") == []
    assert run.one(LB).inputs["accessLogs"] == {"bucket": "corp-elb-logs", "prefix": "alb", "enabled": True}


def test_ip_target_groups_bound_to_kubernetes_services() -> None:
    run = build(lb_config(), TargetType.IP, bind=True)
    for slot in ("blue", "green"):
        assert run.one(TG, f"alb-{slot}-ip").inputs["targetType"] == "ip"
        assert run.one(TG, f"alb-{slot}-ip").inputs["name"] == f"ftw-test-{slot}-ip"
    bindings = run.of_type("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
    assert sorted(b.name for b in bindings) == ["alb-blue-binding", "alb-green-binding"]
    blue = run.one("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "alb-blue-binding")
    assert blue.inputs["metadata"]["namespace"] == "app"
    assert blue.inputs["spec"] == {
        "serviceRef": {"name": "app-blue", "port": "http"},
        "targetGroupARN": run.one(TG, "alb-blue-ip").outputs["arn"],
        "targetType": "ip",
    }
    assert blue.provider.startswith(run.one("pulumi:providers:kubernetes", "k8s").urn)


def test_binding_instance_target_groups_is_refused() -> None:
    with pytest.raises(ValueError, match="only be bound to ip target groups"):
        build(lb_config(), TargetType.INSTANCE, bind=True)


def test_target_type_follows_the_compute_that_runs() -> None:
    assert backend_shares(auto_scaling_group=True, node_pools=False) == {TargetType.INSTANCE: 100}
    assert backend_shares(auto_scaling_group=False, node_pools=True) == {TargetType.IP: 100}


# Whole phases --------------------------------------------------------------------------------


def test_each_phase_has_one_alb_with_its_weights_and_export(phase: str) -> None:
    run = built_phase(phase)
    config = phase_config(phase)
    assert len(run.of_type(LB)) == 1
    assert len(run.of_type(TG)) == 2
    https = run.one(LISTENER, "alb-https").inputs
    assert https["sslPolicy"] == config.load_balancer.tls_policy.value
    weights = [group["weight"] for group in https["defaultActions"][0]["forward"]["targetGroups"]]
    assert weights == [config.load_balancer.weights.blue, config.load_balancer.weights.green]
    assert run.stack_outputs["alb_dns_name"] == run.one(LB).outputs["dnsName"]
    expected = "instance" if config.compute.auto_scaling_group is not None else "ip"
    assert {tg.inputs["targetType"] for tg in run.of_type(TG)} == {expected}


# Rejected configs ----------------------------------------------------------------------------


def stack_values(phase: str) -> dict[str, Any]:
    document = yaml.safe_load(Path(stack_file(phase)).read_text())
    return copy.deepcopy(document["config"])


def reject(values: dict[str, Any]) -> list[str]:
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, "Pulumi.test.yaml")
    return str(caught.value).splitlines()


def with_lb(**changes: Any) -> dict[str, Any]:
    values = stack_values("foundation")
    values["scaleplan:load_balancer"].update(changes)
    return values


def test_stack_files_parse_with_a_load_balancer(phase: str) -> None:
    config: PhaseConfig = phase_config(phase)
    assert config.load_balancer.drop_invalid_header_fields is True
    assert config.load_balancer.deletion_protection is True


def test_rejects_a_bad_certificate_arn() -> None:
    bad = "arn:aws:iam::123456789012:server-certificate/web"
    [line] = reject(with_lb(certificate_arn=bad))
    assert line.startswith("Pulumi.test.yaml: scaleplan:load_balancer.certificate_arn: must match the pattern ^arn:aws")
    assert line.endswith(f"(got {bad!r})")


def test_rejects_a_certificate_in_another_region() -> None:
    other = CERT.replace("us-east-1", "eu-west-1")
    assert reject(with_lb(certificate_arn=other)) == [
        "Pulumi.test.yaml: scaleplan:load_balancer.certificate_arn: must be an ACM certificate in "
        "scaleplan:environment.region 'us-east-1' (got one in 'eu-west-1')"
    ]


def test_rejects_all_zero_weights() -> None:
    assert reject(with_lb(weights={"blue": 0, "green": 0})) == [
        "Pulumi.test.yaml: scaleplan:load_balancer.weights: at least one slot needs a weight above 0, "
        "or the listener forwards nothing (got 0/0)"
    ]


def test_rejects_weights_that_are_not_percentages() -> None:
    assert reject(with_lb(weights={"blue": 50, "green": 25})) == [
        "Pulumi.test.yaml: scaleplan:load_balancer.weights: are percentages and must add up to 100 "
        "(got blue 50 + green 25)"
    ]


def test_rejects_a_weight_above_100() -> None:
    assert reject(with_lb(weights={"blue": 101, "green": 0})) == [
        "Pulumi.test.yaml: scaleplan:load_balancer.weights.blue: must be <= 100 (got 101)"
    ]


def test_rejects_a_tls_policy_that_allows_old_tls() -> None:
    [line] = reject(with_lb(tls_policy="ELBSecurityPolicy-2016-08"))
    assert line.startswith("Pulumi.test.yaml: scaleplan:load_balancer.tls_policy: must be one of ")
    assert "'ELBSecurityPolicy-TLS13-1-2-2021-06'" in line
    assert line.endswith("(got 'ELBSecurityPolicy-2016-08')")


def test_rejects_traffic_to_a_slot_without_an_image() -> None:
    assert reject(with_lb(weights={"blue": 75, "green": 25})) == [
        "Pulumi.test.yaml: scaleplan:compute.auto_scaling_group.container.images.green: required: "
        "scaleplan:load_balancer.weights sends 25% of requests to 'green', which would have no instances"
    ]


def test_rejects_a_health_check_timeout_not_below_its_interval() -> None:
    assert reject(with_lb(health_check={"path": "/health", "interval_seconds": 5, "timeout_seconds": 5})) == [
        "Pulumi.test.yaml: scaleplan:load_balancer.health_check.timeout_seconds: "
        "must be less than interval_seconds (5) (got 5)"
    ]


@given(blue=st.integers(min_value=0, max_value=100), green=st.integers(min_value=0, max_value=100))
def test_weights_are_accepted_exactly_when_they_are_percentages(blue: int, green: int) -> None:
    values = json.dumps({"blue": blue, "green": green})
    if blue + green == 100:
        weights = TrafficWeights.model_validate_json(values, strict=True)
        assert weights.live_slots() == tuple(slot for slot in Slot if weights.of(slot) > 0)
        assert sum(weights.of(slot) for slot in Slot) == 100
    else:
        with pytest.raises(ValidationError):
            TrafficWeights.model_validate_json(values, strict=True)


def test_eks_phases_bind_each_slot_to_its_service() -> None:
    """On EKS the ip target groups are filled by the AWS Load Balancer Controller: one
    TargetGroupBinding per slot, on the cluster's provider, after the platform that installs it."""
    for phase in ("growth", "scale", "optimize"):
        run = built_phase(phase)
        application = phase_config(phase).eks.application  # type: ignore[union-attr]
        target_groups = {tg.inputs["name"]: tg for tg in run.of_type("aws:lb/targetGroup:TargetGroup")}
        bindings = run.of_type("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
        assert sorted(b.name for b in bindings) == ["alb-blue-binding", "alb-green-binding"], phase
        k8s_provider = run.one("pulumi:providers:kubernetes")
        platform = run.one("scaleplan:platform:Platform")
        controller = [
            r
            for r in run.children_of(platform.urn)
            if r.type == "kubernetes:helm.sh/v3:Release" and "load-balancer" in r.name
        ]
        assert len(controller) == 1, phase
        for binding in bindings:
            slot = binding.inputs["metadata"]["labels"]["scaleplan/slot"]
            spec = binding.inputs["spec"]
            assert binding.inputs["metadata"]["namespace"] == application.namespace
            assert spec["serviceRef"] == {
                "name": application.load_balancer_services[slot],
                "port": application.service_port,
            }
            assert spec["targetType"] == "ip"
            bound = [tg for name, tg in target_groups.items() if tg.outputs["arn"] == spec["targetGroupARN"]]
            assert len(bound) == 1, (phase, slot)
            assert slot in bound[0].inputs["name"], (phase, slot)
            assert binding.provider.startswith(k8s_provider.urn)
            # depends_on the platform component waits for all its children, the controller among them
            assert controller[0].urn in binding.dependencies


def test_foundation_binds_nothing_from_kubernetes() -> None:
    assert built_phase("foundation").of_type("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding") == []
