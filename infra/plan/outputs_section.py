"""The plan's list of stack outputs: what a user reads with ``pulumi stack output`` after ``up``."""

from __future__ import annotations

import json

from infra.config import PhaseConfig
from infra.plan.capture import ProgramRun
from infra.plan.sections import Cell, Section, register

OUTPUT_PURPOSES: dict[str, str] = {
    "kubeconfig_command": "run it to reach the cluster with kubectl",
    "cluster_name": "the EKS cluster",
    "cluster_endpoint": "the EKS API endpoint",
    "application_role_arn": "the role the application runs as (instance profile or IRSA)",
    "application_secret_arns": "put each credential's value here (aws secretsmanager put-secret-value)",
    "cache_auth_token_secret_arn": "cache endpoint, port and AUTH token, readable by the application",
    "bucket_names": "R2 buckets by purpose",
    "database_address": "PostgreSQL primary (direct connections)",
    "database_port": "PostgreSQL port",
    "database_replica_addresses": "PostgreSQL read replicas",
    "pgbouncer_hosts": "PgBouncer Services by pool (rw, ro): the application's database hosts on EKS",
    "cache_endpoint": "cache endpoint (TLS and AUTH required)",
    "cache_port": "cache port",
    "alb_dns_name": "the load balancer, behind the Cloudflare zone",
    "media_cdn_hostname": "the media bucket's CDN hostname",
    "alerts_topic_arn": "SNS topic the alarms and the budget publish to",
}
"""What each output is for; outputs not listed here are shown without a purpose."""

_VALUE_WIDTH = 100


def _shown(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 3] + "..."


@register
def outputs_section(config: PhaseConfig, run: ProgramRun) -> Section:
    """Every stack output, the ones a user needs after ``up`` first; values are the mocks'."""
    names = sorted(run.stack_outputs, key=lambda name: (name not in OUTPUT_PURPOSES, name))
    rows: list[list[Cell]] = [[name, OUTPUT_PURPOSES.get(name, ""), _shown(run.stack_outputs[name])] for name in names]
    return Section(
        title="Stack outputs",
        columns=("output", "what for", "offline value"),
        rows=rows,
        notes=[
            "read them after `pulumi up` with `pulumi stack output <name>`; ARNs, IDs and endpoints here "
            "are the mocks' stand-ins, names and commands are final"
        ],
        data={"outputs": len(names), "names": names},
    )
