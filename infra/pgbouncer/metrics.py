"""PgBouncer's pool metrics into CloudWatch: pure functions, no Pulumi.

Path (docs/pgbouncer.md, "Pool metrics"): in every PgBouncer pod, ``pgbouncer_exporter`` logs
in to PgBouncer's admin console over loopback as a ``stats_users`` login and serves Prometheus
text on ``127.0.0.1:9127``; the CloudWatch agent, in Prometheus mode, scrapes only that
address and writes the selected pool gauges as embedded-metric-format (EMF) log events into one
log group, from which CloudWatch Logs extracts the metrics. The agent therefore needs to write
to that log group and nothing else (no ``cloudwatch:PutMetricData``).

Metric names are the exporter's (prometheus-community/pgbouncer_exporter collector.go,
``pools`` section, @2a70ffdb = tag v0.12.1, 2026-06-26): ``cl_waiting``, ``maxwait`` and
``sv_active`` of ``SHOW POOLS``, labelled ``database`` and ``user``. The agent config keys
(``cluster_name``, ``log_group_name``, ``prometheus_config_path``, ``emf_processor`` with
``metric_namespace`` and ``metric_declaration``) are from awsdocs/amazon-cloudwatch-user-guide
doc_source/CloudWatch-Agent-PrometheusEC2.md @20a560c1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

from infra.pgbouncer.ini import LISTEN_PORT, PoolRole

CLIENTS_WAITING = "pgbouncer_pools_client_waiting_connections"
"""``cl_waiting``: client connections queued for a server connection."""
MAX_WAIT = "pgbouncer_pools_client_maxwait_seconds"
"""``maxwait``: age of the oldest client still waiting, in whole seconds."""
SERVERS_ACTIVE = "pgbouncer_pools_server_active_connections"
"""``sv_active``: server connections linked to a client."""
EXPORTED_METRICS = (CLIENTS_WAITING, MAX_WAIT, SERVERS_ACTIVE)
"""What the agent sends to CloudWatch, and nothing else: each is a billed custom metric."""

METRIC_NAMESPACE = "PgBouncer"
"""The CloudWatch namespace the agent writes to (fixed: the alarms' metric table names it)."""
DIMENSIONS = ("ClusterName", "PoolRole", "database")
"""The one dimension set: several pods (and the pool of each login) publish under it, so a
``Maximum`` is the worst pool of the worst pod."""
POOL_ROLE_LABEL = "PoolRole"
SCRAPE_JOB = "pgbouncer"
EXPORTER_PORT = 9127
"""pgbouncer_exporter's default port; here bound to loopback only."""
ADMIN_DATABASE = "pgbouncer"
"""PgBouncer's admin console: ``SHOW`` for ``stats_users``."""
AGENT_CONFIG_DIR = "/etc/cwagentconfig"
"""Where the agent's container entrypoint reads its JSON config (the AWS Prometheus manifests)."""
PROMETHEUS_CONFIG_PATH = "/etc/prometheusconfig/prometheus.yaml"
SCRAM_ITERATIONS = 4096
"""PostgreSQL's default ``scram_iterations``."""
STATS_PASSWORD_ENV = "PGBOUNCER_STATS_PASSWORD"
CONNECTION_STRING_ENV = "PGBOUNCER_EXPORTER_CONNECTION_STRING"
"""The exporter reads its connection string from this variable (``--pgBouncer.connectionString``'s Envar)."""
_PASSWORD = re.compile(r"^[A-Za-z0-9]{16,128}$")


def scram_verifier(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> str:
    """The SCRAM-SHA-256 secret PostgreSQL stores (RFC 5802 / RFC 7677), which PgBouncer accepts in
    its ``auth_file`` in place of a password: it lets PgBouncer check the exporter's login without
    holding the password, and does not itself let anyone log in."""
    if len(salt) < 16:
        raise ValueError(f"a SCRAM salt needs at least 16 bytes (got {len(salt)})")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def stats_userlist_line(user: str, password: str, salt: str) -> str:
    """The exporter's ``auth_file`` line, holding its SCRAM verifier (never the password); ``salt``
    is a random string whose bytes are the SCRAM salt."""
    if not _PASSWORD.match(password):
        raise ValueError("the stats password must be 16-128 letters and digits (it goes into a URL unquoted)")
    return f'"{user}" "{scram_verifier(password, salt.encode())}"\n'


def exporter_connection_string(user: str, *, port: int = LISTEN_PORT) -> str:
    """The exporter's DSN, the password left as a ``$(VAR)`` reference that Kubernetes fills from
    the Secret (so it is in no manifest). TLS because PgBouncer's ``client_tls_sslmode`` applies to
    loopback clients too; ``require`` without verification, since the peer is 127.0.0.1."""
    return f"postgres://{user}:$({STATS_PASSWORD_ENV})@127.0.0.1:{port}/{ADMIN_DATABASE}?sslmode=require"


def prometheus_scrape_config(role: PoolRole, *, interval_seconds: int) -> str:
    """The agent's Prometheus config: one static target, the exporter on loopback, labelled with
    the pool role (a CloudWatch dimension). JSON is YAML, and needs no YAML writer."""
    config = {
        "global": {"scrape_interval": f"{interval_seconds}s", "scrape_timeout": "10s"},
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                "sample_limit": 1000,
                "static_configs": [
                    {"targets": [f"127.0.0.1:{EXPORTER_PORT}"], "labels": {POOL_ROLE_LABEL: role.value}}
                ],
            }
        ],
    }
    return json.dumps(config, indent=2, sort_keys=True)


def agent_config(*, cluster_name: str, log_group_name: str, database: str, region: str) -> str:
    """The CloudWatch agent's JSON config: Prometheus mode, the three pool gauges of the
    application's database only (the admin console's own ``pgbouncer`` pool is left out)."""
    config: dict[str, Any] = {
        "agent": {"region": region},
        "logs": {
            "metrics_collected": {
                "prometheus": {
                    "cluster_name": cluster_name,
                    "log_group_name": log_group_name,
                    "prometheus_config_path": PROMETHEUS_CONFIG_PATH,
                    "emf_processor": {
                        "metric_namespace": METRIC_NAMESPACE,
                        "metric_unit": {CLIENTS_WAITING: "Count", MAX_WAIT: "Seconds", SERVERS_ACTIVE: "Count"},
                        "metric_declaration": [
                            {
                                "source_labels": ["job", "database"],
                                "label_matcher": f"^{SCRAPE_JOB};{re.escape(database)}$",
                                "dimensions": [list(DIMENSIONS)],
                                "metric_selectors": [f"^{name}$" for name in EXPORTED_METRICS],
                            }
                        ],
                    },
                }
            },
        },
    }
    return json.dumps(config, indent=2, sort_keys=True)


def log_writer_policy(log_group_arn: str) -> str:
    """IAM policy of the agent: create streams in and write to exactly one log group. EMF events
    become metrics inside CloudWatch Logs, so no ``cloudwatch:*`` action is granted."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "WritePoolMetricEvents",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
                }
            ],
        }
    )


def custom_metric_count(roles: Sequence[PoolRole]) -> int:
    """CloudWatch custom metrics the phase publishes: each exported gauge under one dimension set
    per pool role (one database per pool)."""
    return len(EXPORTED_METRICS) * len(set(roles))
