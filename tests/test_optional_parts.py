"""Parts a small plan leaves out: the cache, the load balancer, NAT and the edge's buckets and rules.

``tests/stacks/Pulumi.small.yaml`` leaves all of them out at once (CutListCreator's day 30,
seed 004). Each absent part must be absent everywhere: no resource of its types, no secret,
no IAM grant, alarm, dashboard widget, export, pack setting or cost line; and a part that
needs an absent one is a config error naming the key.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.catalog.cloudflared import cloudflared_release
from infra.config import PhaseConfig
from infra.config.errors import PhaseConfigError
from infra.config.loader import load_stack_file, parse_phase_config
from infra.cost.estimate import estimate, from_captured
from infra.plan.capture import ProgramRun, run_program
from infra.policy.packs import for_config, run_packs
from infra.policy.runner import StackContext
from infra.policy.settings import pack_settings
from infra.stack import build_phase
from tests.conftest import TEST_SOURCE, built_phase, growth_values, phase_config

SMALL = Path(__file__).parent / "stacks" / "Pulumi.small.yaml"
SECURITY_PACK = Path(__file__).resolve().parent.parent / "policies" / "security"

CACHE_TYPES = ("aws:elasticache/",)
LOAD_BALANCER_TYPES = ("aws:lb/", "aws:alb/", "kubernetes:elbv2.k8s.aws/")
NAT_TYPES = ("aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip")
BUCKET_TYPES = ("cloudflare:index/r2",)
TUNNEL = "cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared"
TUNNEL_CONFIG = "cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:autoscaling/group:Group"
SECRET = "aws:secretsmanager/secret:Secret"
SUBNET = "aws:ec2/subnet:Subnet"
RULESET = "cloudflare:index/ruleset:Ruleset"
SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d"
"""The engine's marker of a secret value (a property that Pulumi encrypts in the state)."""


@functools.cache
def small_config() -> PhaseConfig:
    return load_stack_file(SMALL)


@functools.cache
def small_run() -> ProgramRun:
    config = small_config()
    return run_program(lambda: build_phase(config), project="scaleplan", stack="small")


def small_values() -> dict[str, Any]:
    document = yaml.safe_load(SMALL.read_text())
    return copy.deepcopy(document["config"])


def problems_of(values: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, TEST_SOURCE)
    return caught.value.problems


def types_of(run: ProgramRun) -> set[str]:
    return {r.type for r in run.resources if r.custom}


def with_prefix(run: ProgramRun, prefixes: tuple[str, ...]) -> list[str]:
    return sorted(r.type for r in run.resources if r.custom and r.type.startswith(prefixes))


def instance_policy(run: ProgramRun) -> dict[str, Any]:
    role_policy = next(r for r in run.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "app-policy")
    policy: dict[str, Any] = json.loads(role_policy.inputs["policy"])
    return policy


def user_data(run: ProgramRun) -> str:
    return base64.b64decode(run.one(TEMPLATE).inputs["userData"]).decode()


# --- the small file: every optional part absent ---------------------------------------------------


def test_the_small_file_states_no_optional_part() -> None:
    config = small_config()
    assert config.cache is None
    assert config.load_balancer is None
    assert config.eks is None
    assert config.pgbouncer is None
    assert config.network.nat_strategy.value == "none"
    assert (config.edge.buckets, config.edge.rate_limits, config.edge.cache_ttls, config.edge.waf) == ({}, {}, {}, None)


def test_no_resource_of_an_absent_part() -> None:
    run = small_run()
    for prefixes in (CACHE_TYPES, LOAD_BALANCER_TYPES, NAT_TYPES, BUCKET_TYPES, ("aws:eks/", "kubernetes:")):
        assert with_prefix(run, prefixes) == []
    assert run.of_type(RULESET) == []  # no WAF, rate-limiting or cache ruleset
    assert [r.type for r in run.resources if not r.custom and r.type.startswith("scaleplan:cache")] == []


def test_no_export_of_an_absent_part() -> None:
    outputs = small_run().stack_outputs
    for name in (
        "cache_endpoint",
        "cache_port",
        "cache_auth_token_secret_arn",
        "alb_dns_name",
        "bucket_names",
        "media_cdn_hostname",
        "cluster_name",
        "pgbouncer_hosts",
    ):
        assert name not in outputs
    assert outputs["tunnel_id"]


def test_no_secret_or_grant_for_an_absent_part() -> None:
    run = small_run()
    assert sorted(r.inputs["name"] for r in run.of_type(SECRET)) == ["clc-prod-edge/tunnel-token"]
    [read] = [s for s in instance_policy(run)["Statement"] if s["Sid"] == "ReadOwnSecrets"]
    # The tunnel's token only: no cache AUTH token, which does not exist.
    assert read["Resource"] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:clc-prod-edge/tunnel-token-??????"
    ]


def test_no_alarm_or_widget_on_an_absent_part() -> None:
    run = small_run()
    namespaces = {r.inputs.get("namespace") for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        namespaces |= {(q.get("metric") or {}).get("namespace") for q in alarm.inputs.get("metricQueries") or []}
    assert "AWS/ElastiCache" not in namespaces
    assert "AWS/ApplicationELB" not in namespaces
    body = run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"]
    assert "AWS/ElastiCache" not in body
    assert "AWS/ApplicationELB" not in body


def test_no_pack_setting_for_an_absent_part() -> None:
    security = pack_settings(small_config())["security"]
    assert not [key for key in security if key.startswith("aws-elasticache-")]
    # No rate limits stated: the zone is not required to carry a rate-limiting ruleset.
    assert security["cloudflare-zone-require-rulesets"] == {"requiredPhases": []}
    cost = pack_settings(small_config())["cost"]
    assert cost["aws-ec2-natgateway-require-strategy-count"] == {"nat_strategy": "none", "expected_nat_gateways": 0}


def test_no_cost_line_for_an_absent_part() -> None:
    result = estimate(from_captured(small_run().resources), small_config().usage)
    items = " ".join(line.item for line in result.lines)
    for absent in ("ALB", "NAT", "cache", "valkey", "R2"):
        assert absent not in items
    assert result.usage_without_carrier == ()
    [address] = [line for line in result.lines if line.item.startswith("public IPv4 address per instance")]
    assert address.quantity == 730  # one instance's address, every hour


def test_docs_state_the_small_files_estimate() -> None:
    # docs/optional-parts.md ("The minimal file") quotes it; a change of price or sizing must show there.
    result = estimate(from_captured(small_run().resources), small_config().usage)
    docs = (Path(__file__).parent.parent / "docs" / "optional-parts.md").read_text()
    assert f"**${result.total_usd:,.2f} a month**" in docs


def test_the_security_pack_passes_the_small_plan() -> None:
    [report] = run_packs(
        for_config(small_config(), SMALL.name, [SECURITY_PACK]), small_run().resources, StackContext("scaleplan", "t")
    )
    assert [(d.policy, d.detail) for d in report.mandatory] == []


# --- no NAT: the instances in the public subnets, their group still closed --------------------------


def test_without_nat_the_instances_run_in_the_public_subnets_with_an_address() -> None:
    run = small_run()
    public = {r.outputs["id"] for r in run.of_type(SUBNET) if r.inputs["tags"]["tier"] == "public"}
    assert set(run.one(GROUP).inputs["vpcZoneIdentifiers"]) == public
    [interface] = run.one(TEMPLATE).inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "true"
    # The subnets themselves still give nothing a public address by default.
    assert all(r.inputs["mapPublicIpOnLaunch"] is False for r in run.of_type(SUBNET))


def test_without_nat_or_load_balancer_the_app_group_admits_nothing() -> None:
    run = small_run()
    app_group = run.one("aws:ec2/securityGroup:SecurityGroup", "app-sg-app").outputs["id"]
    ingress = [r for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    assert [r.name for r in ingress if r.inputs["securityGroupId"] == app_group] == []
    # Sorted: resources register as their inputs resolve, so the order varies between runs.
    assert sorted(r.name for r in run.of_type("aws:ec2/securityGroup:SecurityGroup")) == ["app-sg-app", "database-sg"]
    egress = {
        (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["cidrIpv4"])
        for r in run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] == app_group
    }
    assert egress == {
        ("tcp", 443, "0.0.0.0/0"),
        ("tcp", 0, "10.60.0.0/16"),
        ("tcp", 7844, "0.0.0.0/0"),  # cloudflared to Cloudflare's edge, HTTP/2
        ("udp", 7844, "0.0.0.0/0"),  # cloudflared to Cloudflare's edge, QUIC
    }


def test_with_nat_the_instances_stay_private_without_an_address() -> None:
    run = built_phase("foundation")
    private = {r.outputs["id"] for r in run.of_type(SUBNET) if r.inputs["tags"]["tier"] == "private"}
    for group in run.of_type(GROUP):
        assert set(group.inputs["vpcZoneIdentifiers"]) == private
    for template in run.of_type(TEMPLATE):
        if template.name.startswith("app-"):
            assert template.inputs["networkInterfaces"][0]["associatePublicIpAddress"] == "false"
    assert "aws-ec2-launchtemplate-disallow-public-ip" not in pack_settings(phase_config("foundation"))["security"]


# --- no load balancer: the Cloudflare Tunnel --------------------------------------------------------


def test_the_tunnel_is_remotely_configured_to_the_application() -> None:
    run = small_run()
    tunnel = run.one(TUNNEL)
    assert tunnel.inputs == {
        "accountId": "0123456789abcdef0123456789abcdef",
        "name": "clc-prod-app",
        "configSrc": "cloudflare",
    }
    config = run.one(TUNNEL_CONFIG).inputs
    assert config["tunnelId"] == tunnel.outputs["id"]
    assert config["config"]["ingresses"] == [
        {"hostname": "app.cutlistcreator.example", "service": "http://localhost:3000"},
        {"service": "http_status:404"},
    ]


def test_the_origin_records_are_proxied_cnames_to_the_tunnel() -> None:
    run = small_run()
    tunnel_id = run.one(TUNNEL).outputs["id"]
    [record] = run.of_type("cloudflare:index/dnsRecord:DnsRecord")
    assert {k: record.inputs[k] for k in ("name", "type", "content", "proxied", "ttl")} == {
        "name": "app.cutlistcreator.example",
        "type": "CNAME",
        "content": f"{tunnel_id}.cfargotunnel.com",
        "proxied": True,
        "ttl": 1,
    }


def test_the_token_is_a_protected_secret_under_the_secrets_key() -> None:
    run = small_run()
    secret = run.one(SECRET)
    assert secret.protect
    assert secret.inputs["kmsKeyId"] == run.one("aws:kms/key:Key", "keys-cache").outputs["arn"]
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.inputs["secretId"] == secret.outputs["id"]
    # Marked secret on the wire: Pulumi encrypts the token in the state.
    secret_string = version.inputs["secretString"]
    assert secret_string[SECRET_SIGNATURE] == "1b47061264138c4ac30d75fd1eb44270"
    assert secret_string["value"].startswith("mock-tunnel-token-")


def test_the_instances_run_the_pinned_connector_with_the_token_from_secrets_manager() -> None:
    run = small_run()
    script = user_data(run)
    release = cloudflared_release()
    assert "docker run --detach --name cloudflared" in script
    assert f"{release.image}:{release.version} tunnel --no-autoupdate run --token-file /etc/cloudflared/token" in script
    assert "--secret-id clc-prod-edge/tunnel-token --query SecretString" in script
    assert "mock-tunnel-token" not in script  # the token itself never in the user data
    # Instances boot only once the token is in the secret.
    version = run.one("aws:secretsmanager/secretVersion:SecretVersion")
    assert version.urn in run.one(GROUP).dependencies


def test_without_a_load_balancer_the_group_uses_ec2_health_and_cpu_triggers_only() -> None:
    run = small_run()
    group = run.one(GROUP).inputs
    assert group["healthCheckType"] == "EC2"
    assert "targetGroupArns" not in group or not group["targetGroupArns"]
    policies = sorted(r.name for r in run.of_type("aws:autoscaling/policy:Policy"))
    assert policies == ["app-blue-cpu-high", "app-blue-cpu-low"]


def test_the_cloudflared_pin_is_dated_and_sourced() -> None:
    release = cloudflared_release()
    assert release.image == "docker.io/cloudflare/cloudflared"
    assert release.released <= release.as_of
    text = (Path(__file__).resolve().parent.parent / "infra" / "catalog" / "cloudflared.yaml").read_text()
    assert "https://github.com/cloudflare/cloudflared" in text


# --- present needs absent: config errors ------------------------------------------------------------


def test_rejects_cache_alarm_levels_without_a_cache() -> None:
    values = small_values()
    values["scaleplan:operations"]["cache_evictions_per_minute"] = {"warning": 100}
    assert problems_of(values) == (
        "scaleplan:operations.cache_evictions_per_minute: watches the cache, but this phase has no "
        "scaleplan:cache; remove it",
    )


def test_rejects_a_cache_without_hit_rate_levels() -> None:
    values = growth_values()
    del values["scaleplan:operations"]["cache_hit_rate_percent"]
    assert problems_of(values) == (
        "scaleplan:operations.cache_hit_rate_percent: required: the phase has a scaleplan:cache, whose hit rate "
        "the alarms watch; state a warning level",
    )


def test_rejects_eks_without_a_load_balancer() -> None:
    values = growth_values()
    del values["scaleplan:load_balancer"]
    for name in ("error_rate_percent", "response_time_p95_seconds", "response_time_p99_seconds"):
        values["scaleplan:operations"].pop(name, None)
    for name in ("load_balancer_error_rate_percent", "unhealthy_targets", "healthy_targets"):
        values["scaleplan:operations"].pop(name, None)
    group = values["scaleplan:compute"].get("auto_scaling_group")
    if group is not None:
        group["scaling"].pop("latency_p95_scale_out_seconds", None)
    assert problems_of(values) == (
        "scaleplan:eks: needs scaleplan:load_balancer: the pods are reached through its target groups "
        "(TargetGroupBinding); add scaleplan:load_balancer",
    )


def test_rejects_instances_without_a_load_balancer_or_origin() -> None:
    values = small_values()
    del values["scaleplan:edge"]["origin"]
    assert problems_of(values) == (
        "scaleplan:compute.auto_scaling_group: needs a way in: without scaleplan:load_balancer the zone reaches "
        "the instances through a Cloudflare Tunnel to scaleplan:edge.origin.hostnames, which is missing; add the "
        "hostnames or a load balancer",
    )


def test_rejects_two_slots_behind_a_tunnel() -> None:
    values = small_values()
    values["scaleplan:compute"]["auto_scaling_group"]["container"]["images"]["green"] = (
        "ghcr.io/cutlistcreator/app:1.0.1"
    )
    assert problems_of(values) == (
        "scaleplan:compute.auto_scaling_group.container.images: one slot without scaleplan:load_balancer: every "
        "tunnel connector serves every request, so there are no weights to split between slots (got blue, "
        "green); keep one, or add a load balancer",
    )


def test_rejects_an_open_alb_setting_without_a_load_balancer() -> None:
    values = small_values()
    values["scaleplan:edge"]["origin"]["alb_ingress"] = "internet"
    values["scaleplan:edge"]["origin"]["accept_alb_open_to_internet"] = True
    assert problems_of(values) == (
        "scaleplan:edge.origin.alb_ingress: applies to the load balancer, and this phase has no "
        "scaleplan:load_balancer; remove it",
    )


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ("scaleplan:operations", "error_rate_percent"),
        ("scaleplan:operations", "healthy_targets"),
    ],
)
def test_rejects_load_balancer_alarm_levels_without_one(where: str, key: str) -> None:
    values = small_values()
    values[where][key] = {"critical": 1}
    assert problems_of(values) == (
        f"scaleplan:operations.{key}: watches the load balancer, but this phase has no scaleplan:load_balancer; "
        "remove it",
    )


def test_rejects_a_latency_trigger_without_a_load_balancer() -> None:
    values = small_values()
    values["scaleplan:compute"]["auto_scaling_group"]["scaling"]["latency_p95_scale_out_seconds"] = 0.5
    assert problems_of(values) == (
        "scaleplan:compute.auto_scaling_group.scaling.latency_p95_scale_out_seconds: scales on the load "
        "balancer's response time, but this phase has no scaleplan:load_balancer; remove it (the group scales "
        "on CPU)",
    )


def test_rejects_a_load_balancer_without_its_alarm_levels_and_trigger() -> None:
    values = phase_values("foundation")
    del values["scaleplan:operations"]["error_rate_percent"]
    assert problems_of(values) == (
        "scaleplan:operations.error_rate_percent: required: the phase has a scaleplan:load_balancer, whose "
        "metrics it watches",
    )
    values = phase_values("foundation")
    del values["scaleplan:compute"]["auto_scaling_group"]["scaling"]["latency_p95_scale_out_seconds"]
    assert problems_of(values) == (
        "scaleplan:compute.auto_scaling_group.scaling.latency_p95_scale_out_seconds: required: the load "
        "balancer's p95 response time is a scale-out trigger of the group",
    )


def test_rejects_no_nat_with_eks() -> None:
    values = growth_values()
    values["scaleplan:network"]["nat_strategy"] = "none"
    problems = problems_of(values)
    assert problems == (
        "scaleplan:network.nat_strategy: 'none' leaves the EKS nodes in the private subnets with no way to the "
        "internet (image pulls, the cluster's add-ons); use 'single' or 'one_per_az' while the phase has "
        "scaleplan:eks (got 'none')",
    )


def test_rejects_a_media_bucket_without_its_domain_and_buckets_without_cors() -> None:
    values = phase_values("foundation")
    del values["scaleplan:edge"]["media_domain"]
    assert problems_of(values) == (
        "scaleplan:edge.media_domain: required: buckets has a 'media' bucket, served through the zone at this hostname",
    )
    values = phase_values("foundation")
    del values["scaleplan:edge"]["cors"]
    assert problems_of(values) == (
        "scaleplan:edge.cors: required: buckets media, videos, documents take browser uploads and reads from "
        "these origins",
    )


def test_rejects_cors_without_buckets() -> None:
    values = small_values()
    values["scaleplan:edge"]["cors"] = {
        "allowed_origins": ["https://app.cutlistcreator.example"],
        "allowed_methods": ["GET"],
    }
    assert problems_of(values) == (
        "scaleplan:edge.cors: applies to the R2 buckets, and this phase has none (scaleplan:edge.buckets); remove it",
    )


def phase_values(phase: str) -> dict[str, Any]:
    document = yaml.safe_load((Path(__file__).resolve().parent.parent / f"Pulumi.{phase}.yaml").read_text())
    return copy.deepcopy(document["config"])


def test_every_input_of_the_small_plan_is_accepted_by_the_providers_schema() -> None:
    # The tunnel's two types included (tools/provider_schemas/generate.py, cloudflare.json).
    from tests.test_provider_schemas import resource_problems

    assert {TUNNEL, TUNNEL_CONFIG} <= types_of(small_run())
    assert resource_problems(small_run()) == []


# --- one part at a time: the foundation file behind its ALB, without cache, buckets or NAT ----------


@functools.cache
def lean_foundation_run() -> ProgramRun:
    """Foundation keeps its ALB but drops the cache, the edge's buckets and rules, and NAT."""
    values = phase_values("foundation")
    del values["scaleplan:cache"]
    for name in ("cache_hit_rate_percent", "cache_memory_percent", "cache_evictions_per_minute"):
        values["scaleplan:operations"].pop(name, None)
    edge = values["scaleplan:edge"]
    for name in ("buckets", "media_domain", "cors", "rate_limits", "cache_ttls"):
        del edge[name]
    values["scaleplan:network"]["nat_strategy"] = "none"
    values["scaleplan:accepted_risks"] = {"no_nat_gateway": "The instances reach out through their own addresses."}
    for name in ("r2_storage_gb", "r2_class_a_operations_per_month", "r2_class_b_operations_per_month"):
        values["scaleplan:usage"][name] = 0
    values["scaleplan:usage"]["nat_processed_gb_per_month"] = 0
    config = parse_phase_config(values, TEST_SOURCE)
    return run_program(lambda: build_phase(config), project="scaleplan", stack="lean")


def test_each_part_leaves_alone_without_the_others() -> None:
    run = lean_foundation_run()
    assert with_prefix(run, CACHE_TYPES + NAT_TYPES + BUCKET_TYPES) == []
    assert run.of_type(RULESET) == []
    assert run.of_type(TUNNEL) == []  # the ALB is still there: no tunnel
    assert len(run.of_type("aws:lb/loadBalancer:LoadBalancer")) == 1
    outputs = run.stack_outputs
    assert "alb_dns_name" in outputs
    assert not {"cache_endpoint", "cache_auth_token_secret_arn", "bucket_names", "media_cdn_hostname"} & set(outputs)
    assert [r.inputs["name"] for r in run.of_type(SECRET) if "cache" in r.inputs["name"]] == []
    read = [s for s in instance_policy(run)["Statement"] if s["Sid"] == "ReadOwnSecrets"]
    assert not [arn for s in read for arn in s["Resource"] if "cache" in arn]
    body = run.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"]
    assert "AWS/ElastiCache" not in body
    assert "AWS/ApplicationELB" in body  # the ALB's alarms stay


def test_without_nat_behind_an_alb_the_instances_admit_only_the_alb() -> None:
    run = lean_foundation_run()
    groups = {r.name: r.outputs["id"] for r in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    ingress = [
        r.inputs
        for r in run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == groups["app-sg-app"]
    ]
    assert [(i.get("referencedSecurityGroupId"), i.get("cidrIpv4"), i["fromPort"]) for i in ingress] == [
        (groups["app-sg-alb"], None, 3000)
    ]
    for template in run.of_type(TEMPLATE):
        assert template.inputs["networkInterfaces"][0]["associatePublicIpAddress"] == "true"
    public = {r.outputs["id"] for r in run.of_type(SUBNET) if r.inputs["tags"]["tier"] == "public"}
    for group in run.of_type(GROUP):
        assert set(group.inputs["vpcZoneIdentifiers"]) == public
        assert group.inputs["healthCheckType"] == "ELB"


def test_the_review_diagram_draws_the_tunnel_and_no_absent_part() -> None:
    from infra.review.diagram import BOXES, boxes_of, mermaid

    entries = [{"type": r.type, "name": r.name, "inputs": r.inputs} for r in small_run().resources]
    shown = boxes_of(entries)
    drawn_by = {component: box.id for box in BOXES for component in box.components}
    assert {e["type"] for e in entries if e["type"].startswith("scaleplan:")} <= drawn_by.keys()
    assert not {"alb", "cache", "r2", "eks", "pgbouncer"} & shown.keys()
    chart = mermaid(entries)
    assert "edge -->|proxied| tunnel" in chart
    assert "tunnel -->|cloudflared dials out| asg" in chart
