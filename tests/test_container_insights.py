"""Container Insights (standard) on every EKS phase: the chart at its pinned version, the agent's
identity (IRSA, one managed policy), its namespace and the security pack's exception for it, the
refused configs, the cost lines, and the alarms now reading metrics an installed agent publishes."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.catalog.versions import cloudwatch_observability_charts
from infra.cost import container_insights as pricing
from infra.cost.estimate import UnpricedResourceError, estimate, from_captured
from infra.cost.section import phase_estimate
from infra.plan.capture import CapturedResource, ProgramRun
from infra.platform.container_insights import AGENT_POLICY_ARN, agent_config
from tests.conftest import built_phase, phase_config
from tests.test_config_rejections import changed, rejection

EKS_PHASES = ("growth", "scale", "optimize")
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
CLUSTER = "ftw-prod-eks"


@pytest.fixture(params=EKS_PHASES)
def eks_phase(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def release(run: ProgramRun) -> CapturedResource:
    return run.one(RELEASE, "platform-container-insights-release")


def test_release_is_the_pinned_chart_in_its_namespace(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    eks = phase_config(eks_phase).eks
    assert eks is not None
    assert eks.charts.container_insights is not None
    found = release(run)
    assert found.inputs["chart"] == "amazon-cloudwatch-observability"
    assert found.inputs["version"] == eks.charts.container_insights.chart.version == "6.4.0"
    assert found.inputs["repositoryOpts"] == {"repo": "https://aws-observability.github.io/helm-charts"}
    assert found.inputs["namespace"] == "amazon-cloudwatch"
    assert found.inputs["atomic"] is True
    assert eks.kubernetes_version in cloudwatch_observability_charts()["6.4.0"].kubernetes


def test_mode_is_standard_with_everything_unpriced_off(eks_phase: str) -> None:
    values = release(built_phase(eks_phase)).inputs["values"]
    assert values["clusterName"] == CLUSTER
    assert values["region"] == "us-east-1"
    assert values["containerInsights"] == {"enabled": True}
    # Application Signals, OTel Container Insights, Fluent Bit container logs and the GPU and
    # Neuron exporters: none is priced, so none runs.
    assert values["applicationSignals"] == {"enabled": False}
    assert values["otelContainerInsights"] == {"enabled": False}
    assert values["containerLogs"] == {"enabled": False}
    assert values["dcgmExporter"] == {"enabled": False}
    assert values["neuronMonitor"] == {"enabled": False}
    # The chart's default agent config turns enhanced observability on; ours turns it off.
    kubernetes = values["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]
    assert kubernetes == {"cluster_name": CLUSTER, "enhanced_container_insights": False}
    assert set(values["agent"]["config"]) == {"agent", "logs"}  # no traces: no Application Signals


def test_image_tags_are_the_catalogs(eks_phase: str) -> None:
    values = release(built_phase(eks_phase)).inputs["values"]
    chart = cloudwatch_observability_charts()["6.4.0"]
    assert values["agent"]["image"] == {"tag": chart.agent_image_tag} == {"tag": "1.300070.0b1586"}
    assert values["manager"]["image"] == {"tag": chart.operator_image_tag} == {"tag": "3.6.0"}


def test_agent_role_trusts_only_its_service_account(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    role = run.one("aws:iam/role:Role", "platform-container-insights-agent-role")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    (condition,) = statement["Condition"].values()
    assert sorted(condition.values()) == [
        "sts.amazonaws.com",
        "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent",
    ]


def test_agent_role_holds_cloudwatch_agent_server_policy_only(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    role = run.one("aws:iam/role:Role", "platform-container-insights-agent-role")
    children = run.children_of(run.one("scaleplan:platform:ContainerInsights").urn)
    attachments = [r for r in children if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    assert [a.inputs["policyArn"] for a in attachments] == [AGENT_POLICY_ARN]
    assert AGENT_POLICY_ARN == "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
    assert all(a.inputs["role"] == role.inputs["name"] for a in attachments)
    # No inline policy either: Application Signals' AWSXrayWriteOnlyAccess or any other grant fails here.
    assert [r for r in children if r.type == "aws:iam/rolePolicy:RolePolicy"] == []


def test_service_account_carries_the_role_before_the_chart_adopts_it(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    role = run.one("aws:iam/role:Role", "platform-container-insights-agent-role")
    account = run.one(SERVICE_ACCOUNT, "platform-container-insights-agent-service-account")
    metadata = account.inputs["metadata"]
    assert (metadata["name"], metadata["namespace"]) == ("cloudwatch-agent", "amazon-cloudwatch")
    assert metadata["annotations"] == {
        "eks.amazonaws.com/role-arn": role.outputs["arn"],
        "meta.helm.sh/release-name": "amazon-cloudwatch-observability",
        "meta.helm.sh/release-namespace": "amazon-cloudwatch",
    }
    assert metadata["labels"] == {"app.kubernetes.io/managed-by": "Helm"}
    values = release(run).inputs["values"]
    assert values["agent"]["serviceAccount"] == {"name": "cloudwatch-agent"}
    # Created before the release, so the agent's first pods already get the role.
    assert account.urn in release(run).dependencies


def test_namespace_is_privileged_for_the_agents_host_mounts(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    namespace = run.one(NAMESPACE, "platform-container-insights-namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == "amazon-cloudwatch"
    assert {k: v for k, v in labels.items() if k.startswith("pod-security")} == {
        "pod-security.kubernetes.io/enforce": "privileged",
        "pod-security.kubernetes.io/audit": "privileged",
        "pod-security.kubernetes.io/warn": "privileged",
    }
    assert namespace.urn in release(run).dependencies or any(
        namespace.urn in deps for deps in release(run).property_dependencies.values()
    )


def test_release_waits_for_the_load_balancer_controller(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    controller = run.one(RELEASE, "platform-aws-load-balancer-controller")
    assert controller.urn in release(run).dependencies


def test_manifests_pass_kubernetes_validate_strict(tmp_path: Path) -> None:
    run = built_phase("growth")
    files = []
    for type_, name in (
        (NAMESPACE, "platform-container-insights-namespace"),
        (SERVICE_ACCOUNT, "platform-container-insights-agent-service-account"),
    ):
        manifest = dict(run.one(type_, name).inputs)
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        files.append(str(path))
    cli = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(cli), "-k", "1.35.0", "--strict", "--no-warn", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_foundation_installs_no_agent() -> None:
    run = built_phase("foundation")
    assert not [r for r in run.of_type(RELEASE) if r.inputs.get("chart") == "amazon-cloudwatch-observability"]
    assert not [a for a in run.of_type(ALARM) if "cluster-nodes" in str(a.inputs["name"])]


def test_agent_config_is_standard_mode() -> None:
    assert agent_config("c", "us-east-1") == {
        "agent": {"region": "us-east-1"},
        "logs": {"metrics_collected": {"kubernetes": {"cluster_name": "c", "enhanced_container_insights": False}}},
    }


# --- the alarms read what the installed agent publishes ------------------------------------------


def test_container_insights_alarms_name_the_cluster_the_agent_reports(eks_phase: str) -> None:
    run = built_phase(eks_phase)
    values = release(run).inputs["values"]
    insights = [a for a in run.of_type(ALARM) if a.inputs.get("namespace") == "ContainerInsights"]
    assert len(insights) == 13
    for alarm in insights:
        assert alarm.inputs["dimensions"]["ClusterName"] == values["clusterName"], alarm.name
    namespaces = {a.inputs["dimensions"].get("Namespace") for a in insights} - {None}
    assert namespaces == {"app", "pgbouncer"}


# --- refused configs ---------------------------------------------------------------------------

REJECTED: list[tuple[str, str, Any, str]] = [
    (
        "unlisted_chart",
        "eks.charts.container_insights.chart.version",
        "6.5.0",
        "scaleplan:eks.charts.container_insights.chart.version: is not an amazon-cloudwatch-observability chart "
        "infra/catalog/cloudwatch_observability_charts.yaml lists for Kubernetes 1.35; allowed: 6.4.0 (got 6.5.0)",
    ),
    (
        "other_repository",
        "eks.charts.container_insights.chart.repository",
        "https://charts.example.com/cw",
        "scaleplan:eks.charts.container_insights.chart.repository: must be "
        "https://aws-observability.github.io/helm-charts (got https://charts.example.com/cw)",
    ),
]


@pytest.mark.parametrize(("path", "value", "expected"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED])
def test_rejects_container_insights_settings_that_cannot_work(path: str, value: Any, expected: str) -> None:
    assert rejection(changed(path, value)) == [f"Pulumi.growth.yaml: {expected}"]


# --- cost ----------------------------------------------------------------------------------------


def test_metric_count_follows_the_sourced_counts() -> None:
    usage = phase_config("growth").usage.model_copy(
        update={"container_insights_pod_names": 10, "container_insights_pods": 30, "container_insights_services": 5}
    )
    # 24 per cluster + 8 per node + 9 per pod name + 6 per service (aws/containers-roadmap#672).
    assert pricing.metric_count(4, usage) == 24 + 4 * 8 + 10 * 9 + 5 * 6


def test_log_gb_follows_the_calculators_event_sizes() -> None:
    usage = phase_config("growth").usage.model_copy(
        update={"container_insights_pod_names": 1, "container_insights_pods": 2, "container_insights_services": 1}
    )
    per_minute = 387 + 3 * 5651 + 2 * (6962 + 875 + 3099) + 535
    assert pricing.log_gb_per_month(3, usage) == pytest.approx(per_minute * 730 * 60 / 2**30)
    # Twice the pods, more log volume: the figure follows the workload, never a constant.
    more = usage.model_copy(update={"container_insights_pods": 4})
    assert pricing.log_gb_per_month(3, more) > pricing.log_gb_per_month(3, usage)


def test_each_eks_phase_prices_metrics_and_log_events_at_the_pools_ceiling(eks_phase: str) -> None:
    config = phase_config(eks_phase)
    assert config.compute.node_pools
    nodes = sum(pool.max_size for pool in config.compute.node_pools.values())
    lines = [
        line
        for line in phase_estimate(config, built_phase(eks_phase)).lines
        if line.name == "platform-container-insights-release"
    ]
    metrics, logs = lines
    assert (metrics.unit, metrics.unit_price_usd) == ("metric-months", 0.3)
    assert metrics.quantity == pricing.metric_count(nodes, config.usage)
    assert (logs.unit, logs.unit_price_usd) == ("GB", 0.5)
    assert logs.quantity == pytest.approx(pricing.log_gb_per_month(nodes, config.usage))
    assert metrics.monthly_usd > 0
    assert logs.monthly_usd > 0


def test_refuses_to_price_the_chart_without_its_usage() -> None:
    config = phase_config("growth")
    usage = config.usage.model_copy(update={"container_insights_pods": 0})
    with pytest.raises(UnpricedResourceError, match="container_insights_pods"):
        estimate(from_captured(built_phase("growth").resources), usage)


def test_other_charts_cost_nothing_by_themselves() -> None:
    run = built_phase("growth")
    keda = run.one(RELEASE, "platform-keda")
    config = phase_config("growth")
    lines = estimate(from_captured([replace(keda)]), config.usage).lines
    assert [line for line in lines if line.name == "platform-keda"] == []


def test_stated_container_insights_usage_without_the_chart_is_flagged_not_priced() -> None:
    run = built_phase("growth")
    without_chart = [
        r
        for r in run.resources
        if not (r.type == RELEASE and r.inputs.get("chart") == "amazon-cloudwatch-observability")
    ]
    result = estimate(from_captured(without_chart), phase_config("growth").usage)
    assert {"container_insights_pod_names", "container_insights_pods", "container_insights_services"} <= set(
        result.usage_without_carrier
    )
