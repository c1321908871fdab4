"""Standard Container Insights on EKS, as CloudWatch bills it: custom metrics per cluster,
node, pod name and service, and the ingestion of the performance log events the agent writes
every minute (figures and sources: infra/cost/container_insights.yaml)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from infra.config.usage import UsageConfig
from infra.yaml_files import load_file

CHART = "amazon-cloudwatch-observability"
"""The chart whose release is priced here (infra/platform/container_insights.py installs it)."""
_FILE = Path(__file__).parent / "container_insights.yaml"


@dataclass(frozen=True)
class ContainerInsightsFigures:
    metrics_per_cluster: int
    metrics_per_node: int
    metrics_per_pod_name: int
    metrics_per_service: int
    cluster_event_bytes: int
    node_event_bytes: int
    pod_event_bytes: int
    pod_node_net_event_bytes: int
    container_event_bytes: int
    service_event_bytes: int
    containers_per_pod: int
    minutes_per_month: int
    bytes_per_gb: int


@functools.cache
def figures() -> ContainerInsightsFigures:
    data = load_file(_FILE)
    metrics, events = data["metrics"], data["event_bytes_per_minute"]
    return ContainerInsightsFigures(
        metrics_per_cluster=int(metrics["per_cluster"]),
        metrics_per_node=int(metrics["per_node"]),
        metrics_per_pod_name=int(metrics["per_pod_name"]),
        metrics_per_service=int(metrics["per_service"]),
        cluster_event_bytes=int(events["cluster"]),
        node_event_bytes=int(events["per_node"]),
        pod_event_bytes=int(events["per_pod"]),
        pod_node_net_event_bytes=int(events["per_pod_node_net"]),
        container_event_bytes=int(events["per_container"]),
        service_event_bytes=int(events["per_service"]),
        containers_per_pod=int(data["containers_per_pod"]),
        minutes_per_month=int(data["minutes_per_month"]),
        bytes_per_gb=int(data["bytes_per_gb"]),
    )


def metric_count(nodes: int, usage: UsageConfig, f: ContainerInsightsFigures | None = None) -> int:
    """Custom metrics a month: one cluster, ``nodes`` nodes, the pod names and services."""
    f = f or figures()
    return (
        f.metrics_per_cluster
        + nodes * f.metrics_per_node
        + usage.container_insights_pod_names * f.metrics_per_pod_name
        + usage.container_insights_services * f.metrics_per_service
    )


def log_gb_per_month(nodes: int, usage: UsageConfig, f: ContainerInsightsFigures | None = None) -> float:
    """GB of performance log events a month: one event of each type a minute."""
    f = f or figures()
    per_pod = f.pod_event_bytes + f.pod_node_net_event_bytes + f.containers_per_pod * f.container_event_bytes
    bytes_per_minute = (
        f.cluster_event_bytes
        + nodes * f.node_event_bytes
        + usage.container_insights_pods * per_pod
        + usage.container_insights_services * f.service_event_bytes
    )
    return bytes_per_minute * f.minutes_per_month / f.bytes_per_gb
