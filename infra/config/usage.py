"""``scaleplan:usage``: the monthly traffic and storage a phase is priced for.

Resources alone do not say how many gigabytes cross a NAT gateway or land in a log group;
these figures do. Suggested values come from the capacity model and the seed plan's ratios
(:func:`infra.cost.usage.suggest_usage`); a stack file may state more, never less.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from infra.config.base import ConfigModel

Gigabytes = Annotated[float, Field(ge=0, le=100_000_000)]
Operations = Annotated[int, Field(ge=0, le=10**13)]
VcpuHours = Annotated[float, Field(ge=0, le=10_000_000)]


class UsageConfig(ConfigModel):
    """Monthly usage figures, each priced by one line of the cost estimate."""

    nat_processed_gb_per_month: Gigabytes
    """Data through all NAT gateways together (third-party APIs, image pulls, logs without an endpoint)."""
    internet_egress_gb_per_month: Gigabytes
    """Data from AWS to the internet (the CDN's cache misses on the origin, API responses)."""
    interface_endpoint_processed_gb_per_month: Gigabytes
    """Data through all interface VPC endpoints together."""
    log_ingestion_gb_per_month: Gigabytes
    """Data ingested by all CloudWatch log groups together (split evenly between them)."""
    alb_average_lcus: Annotated[float, Field(ge=0, le=1_000_000)]
    """Average load balancer capacity units over the month, over all ALBs."""
    r2_storage_gb: Gigabytes
    """Media stored in Cloudflare R2 (photos, videos, documents) at the top of the phase."""
    r2_class_a_operations_per_month: Operations
    """R2 writes and lists."""
    r2_class_b_operations_per_month: Operations
    """R2 reads."""
    rds_backup_storage_gb_beyond_free: Gigabytes
    """RDS backup storage above the free 100% of provisioned storage."""
    aws_backup_storage_gb: Gigabytes
    """Data held in AWS Backup vaults."""
    s3_storage_gb: Gigabytes
    """Data held in S3 buckets (split evenly between them)."""
    ecr_storage_gb: Gigabytes
    """Container images held in ECR repositories."""
    ec2_surplus_credit_vcpu_hours_per_month: VcpuHours = 0
    """CPU above the credit baseline of the Auto Scaling group's burstable instances in unlimited
    mode (``compute.auto_scaling_group.burst_sizing``); at least what the capacity model computes."""
    rds_surplus_credit_vcpu_hours_per_month: VcpuHours = 0
    """CPU above the credit baseline of db.t4g servers (``database.burst_sizing: unlimited``); at
    least what the data tier's model computes."""
    # What Container Insights (standard) bills, when the phase installs it, with the node pools at
    # max_size (nodes are read from the node groups): infra/cost/container_insights.py.
    container_insights_pod_names: Annotated[int, Field(ge=0, le=10_000)] = 0
    """Distinct workloads (Deployments, DaemonSets, StatefulSets, Jobs): per-pod metrics are published by pod name."""
    container_insights_pods: Annotated[int, Field(ge=0, le=100_000)] = 0
    """Pods running with every autoscaler at its maximum: each emits performance log events every minute."""
    container_insights_services: Annotated[int, Field(ge=0, le=10_000)] = 0
    """Kubernetes Services in the cluster (metrics and a performance log event a minute each)."""
