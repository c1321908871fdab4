"""PgBouncer's pool metrics: the exporter and agent sidecars, the stats login, the agent's IRSA
grant, and the pool alarms (pure functions, and the component under mocks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from infra.config.operations import Levels, MinutesSustained, PercentAbove, SecondsAbove
from infra.observability.alarms import PgBouncerPools, Watched, alarm_definitions
from infra.observability.metrics import KNOWN_METRICS
from infra.pgbouncer import metrics
from infra.pgbouncer.ini import PoolRole, ServerEndpoint, render_ini
from tests.conftest import phase_config
from tests.pgbouncer_fixtures import AGENT_IMAGE, EXPORTER_IMAGE, pgbouncer_config, pgbouncer_settings
from tests.test_pgbouncer_component import one, pod_spec

LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/ftw-prod-pgbouncer-metrics"


def containers(role: str = "rw") -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pod_spec(role)["containers"]}


# --- the stats login ---------------------------------------------------------------------------


def test_scram_verifier_is_what_a_scram_client_proves_against() -> None:
    # RFC 5802: the server checks H(ClientKey) == StoredKey, with ClientKey from the password.
    salt = b"0123456789abcdef"
    verifier = metrics.scram_verifier("pencil", salt)
    method, rest = verifier.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt_b64 = params.split(":")
    stored_b64, server_b64 = keys.split(":")
    assert (method, int(iterations), base64.b64decode(salt_b64)) == ("SCRAM-SHA-256", 4096, salt)
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    assert "pencil" not in verifier


def test_rejects_a_short_salt_and_a_password_unsafe_in_a_url() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        metrics.scram_verifier("pencil", b"short")
    with pytest.raises(ValueError, match="letters and digits"):
        metrics.stats_userlist_line("pgbouncer_stats", "has@and/" * 3, "s" * 24)


def test_the_stats_user_is_in_stats_users_only_and_only_with_metrics() -> None:
    endpoint = ServerEndpoint(hosts=("db.example",), port=5432, database="app")
    settings = render_ini(pgbouncer_config(), PoolRole.READ_WRITE, endpoint).settings
    assert settings["stats_users"] == "pgbouncer_stats"
    assert "admin_users" not in settings
    without = render_ini(pgbouncer_config(metrics=None), PoolRole.READ_WRITE, endpoint).settings
    assert "stats_users" not in without


def test_exporter_reads_its_password_from_the_stats_secret_and_connects_over_loopback_tls() -> None:
    exporter = containers()["pgbouncer-exporter"]
    env = {e["name"]: e for e in exporter["env"]}
    assert env["PGBOUNCER_STATS_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "ftw-prod-pgbouncer-stats", "key": "password"}
    }
    assert env["PGBOUNCER_EXPORTER_CONNECTION_STRING"]["value"] == (
        "postgres://pgbouncer_stats:$(PGBOUNCER_STATS_PASSWORD)@127.0.0.1:6432/pgbouncer?sslmode=require"
    )
    # The password variable is defined before the one that expands it (Kubernetes expands in order).
    assert list(env) == ["PGBOUNCER_STATS_PASSWORD", "PGBOUNCER_EXPORTER_CONNECTION_STRING"]


# --- the sidecars ------------------------------------------------------------------------------


def test_sidecars_listen_on_loopback_only_and_expose_no_port() -> None:
    sidecars = containers()
    assert sidecars["pgbouncer-exporter"]["args"] == ["--web.listen-address=127.0.0.1:9127"]
    for name in ("pgbouncer-exporter", "cloudwatch-agent"):
        assert "ports" not in sidecars[name], name


def test_sidecars_are_pinned_hardened_and_bounded() -> None:
    sidecars = containers()
    assert sidecars["pgbouncer-exporter"]["image"] == EXPORTER_IMAGE
    assert sidecars["cloudwatch-agent"]["image"] == AGENT_IMAGE
    for name in ("pgbouncer-exporter", "cloudwatch-agent"):
        assert sidecars[name]["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
    assert sidecars["pgbouncer-exporter"]["resources"] == {
        "requests": {"cpu": "50m", "memory": "32Mi"},
        "limits": {"cpu": "100m", "memory": "64Mi"},
    }
    assert sidecars["cloudwatch-agent"]["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"cpu": "200m", "memory": "200Mi"},
    }


def test_agent_writes_only_to_its_scratch_dirs_and_reads_its_config() -> None:
    agent = containers()["cloudwatch-agent"]
    mounts = {m["mountPath"]: m for m in agent["volumeMounts"]}
    assert mounts["/etc/cwagentconfig"]["readOnly"] is True
    assert mounts["/etc/prometheusconfig"]["readOnly"] is True
    writable = sorted(path for path, m in mounts.items() if not m.get("readOnly"))
    assert writable == sorted(
        [
            "/opt/aws/amazon-cloudwatch-agent/etc",
            "/opt/aws/amazon-cloudwatch-agent/logs",
            "/opt/aws/amazon-cloudwatch-agent/var",
            "/tmp",
        ]
    )
    volumes = {v["name"]: v for v in pod_spec("rw")["volumes"]}
    for path, mount in mounts.items():
        if not mount.get("readOnly"):
            assert volumes[mount["name"]]["emptyDir"] == {"sizeLimit": "64Mi"}, path


def test_only_the_agent_gets_aws_credentials() -> None:
    annotations = one("kubernetes:apps/v1:Deployment", "pgbouncer-rw").inputs["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["eks.amazonaws.com/skip-containers"] == "pgbouncer,pgbouncer-exporter"
    account = one("kubernetes:core/v1:ServiceAccount", "pgbouncer-account").inputs
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(
        ":role/ftw-prod-irsa-pgbouncer-ftw-prod-pgbouncer"
    )
    assert account["automountServiceAccountToken"] is False


def test_autoscaler_follows_pgbouncer_cpu_not_the_sidecars() -> None:
    hpa = one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "pgbouncer-ro-hpa").inputs["spec"]
    [metric] = hpa["metrics"]
    assert metric["type"] == "ContainerResource"
    assert metric["containerResource"]["container"] == "pgbouncer"


# --- the agent's config and its one grant -----------------------------------------------------


def agent_config(role: str = "rw") -> tuple[dict[str, Any], dict[str, Any]]:
    data = one("kubernetes:core/v1:ConfigMap", f"pgbouncer-{role}-metrics-config").inputs["data"]
    return json.loads(data["cwagentconfig.json"]), json.loads(data["prometheus.yaml"])


def test_agent_scrapes_only_the_exporter_on_loopback_labelled_with_its_pool() -> None:
    for role in ("rw", "ro"):
        _, scrape = agent_config(role)
        [job] = scrape["scrape_configs"]
        assert job["static_configs"] == [{"targets": ["127.0.0.1:9127"], "labels": {"PoolRole": role}}]
        assert scrape["global"]["scrape_interval"] == "60s"


def test_agent_sends_exactly_the_alarmed_gauges_of_the_application_database() -> None:
    config, _ = agent_config()
    prometheus = config["logs"]["metrics_collected"]["prometheus"]
    assert prometheus["cluster_name"] == "ftw-prod-eks"
    assert prometheus["log_group_name"] == "/ftw-prod-pgbouncer-metrics"
    emf = prometheus["emf_processor"]
    assert emf["metric_namespace"] == "PgBouncer"
    [declaration] = emf["metric_declaration"]
    # The admin console's own "pgbouncer" pool is not sent (it would be billed).
    assert (declaration["source_labels"], declaration["label_matcher"]) == (["job", "database"], "^pgbouncer;app$")
    assert declaration["dimensions"] == [["ClusterName", "PoolRole", "database"]]
    assert declaration["metric_selectors"] == [
        "^pgbouncer_pools_client_waiting_connections$",
        "^pgbouncer_pools_client_maxwait_seconds$",
        "^pgbouncer_pools_server_active_connections$",
    ]


def test_the_alarm_metric_table_knows_exactly_what_the_agent_sends() -> None:
    known = KNOWN_METRICS[metrics.METRIC_NAMESPACE]
    assert sorted(known) == sorted(metrics.EXPORTED_METRICS)
    for metric in known.values():
        assert metric.dimension_sets == (frozenset(metrics.DIMENSIONS),)


def test_agent_may_write_to_its_log_group_and_nothing_else() -> None:
    policy = json.loads(metrics.log_writer_policy(LOG_GROUP_ARN))
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    assert statement["Resource"] == [LOG_GROUP_ARN, f"{LOG_GROUP_ARN}:log-stream:*"]
    assert not any(action.startswith("cloudwatch:") for action in statement["Action"])


def test_agent_role_is_trusted_by_the_pgbouncer_service_account_only() -> None:
    policy = one("aws:iam/rolePolicy:RolePolicy", "pgbouncer-metrics-policy").inputs["policy"]
    group = one("aws:cloudwatch/logGroup:LogGroup", "pgbouncer-metrics-logs")
    assert json.loads(policy) == json.loads(metrics.log_writer_policy(group.outputs["arn"]))
    trust = json.loads(one("aws:iam/role:Role", "pgbouncer-metrics-role").inputs["assumeRolePolicy"])
    [statement] = trust["Statement"]
    conditions = statement["Condition"]["StringEquals"]
    assert "system:serviceaccount:pgbouncer:ftw-prod-pgbouncer" in conditions.values()


def test_metrics_log_group_is_encrypted_and_expires() -> None:
    group = one("aws:cloudwatch/logGroup:LogGroup", "pgbouncer-metrics-logs").inputs
    assert group["name"] == "/ftw-prod-pgbouncer-metrics"
    assert group["retentionInDays"] == 30
    assert group["kmsKeyId"].startswith("arn:aws:kms:")


def test_custom_metrics_are_three_per_pool_role() -> None:
    assert metrics.custom_metric_count([PoolRole.READ_WRITE]) == 3
    assert metrics.custom_metric_count([PoolRole.READ_WRITE, PoolRole.READ_ONLY]) == 6


# --- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["exporter_image", "agent_image"])
def test_rejects_a_sidecar_image_not_pinned_by_digest(key: str) -> None:
    settings = pgbouncer_settings()
    settings["metrics"][key] = f"registry.test/{key}:v1"
    with pytest.raises(ValueError, match=rf"must be pinned by digest.*\(got 'registry.test/{key}:v1'\)"):
        pgbouncer_config(**settings)


def test_rejects_a_retention_cloudwatch_does_not_offer() -> None:
    settings = pgbouncer_settings()
    settings["metrics"]["log_retention_days"] = 10
    with pytest.raises(
        ValueError, match=r"must be a CloudWatch Logs retention period, one of 1, 3, 5, .*, 3653 \(got 10\)"
    ):
        pgbouncer_config(**settings)


# --- alarms -------------------------------------------------------------------------------------


def pool_alarms(**operations: Levels) -> dict[str, Any]:
    ops = phase_config("scale").operations.model_copy(update=operations)
    watched = Watched(
        load_balancer=False,
        pgbouncer=PgBouncerPools(cluster="ftw-prod-eks", database="app", pool_sizes={"rw": 25, "ro": 20}),
    )
    return {a.key: a for a in alarm_definitions(ops, watched) if a.key.startswith("pgbouncer-")}


def test_clients_waiting_alarms_on_any_queue_for_the_configured_spell() -> None:
    alarms = pool_alarms(pgbouncer_clients_waiting_minutes=MinutesSustained(warning=5, critical=15))
    warning, critical = alarms["pgbouncer-rw-clients-waiting-warning"], alarms["pgbouncer-rw-clients-waiting-critical"]
    assert (warning.comparison, warning.threshold, warning.evaluation_periods) == ("GreaterThanThreshold", 0, 5)
    assert (critical.threshold, critical.evaluation_periods) == (0, 15)
    [query] = warning.metrics
    assert (query.namespace, query.metric_name, query.stat) == (
        "PgBouncer",
        "pgbouncer_pools_client_waiting_connections",
        "Maximum",
    )
    assert dict(query.dimensions) == {"ClusterName": "ftw-prod-eks", "PoolRole": "rw", "database": "app"}
    # Silence is the metrics path broken: INSUFFICIENT_DATA, never OK.
    assert warning.treat_missing_data == "missing"


def test_rejects_a_critical_spell_shorter_than_the_warning() -> None:
    with pytest.raises(ValueError, match="must be below critical 5 min"):
        MinutesSustained(warning=15, critical=5)


def test_utilisation_is_a_share_of_each_roles_pool_size() -> None:
    alarms = pool_alarms(pgbouncer_pool_utilisation_percent=PercentAbove(warning=80, critical=95))
    assert alarms["pgbouncer-rw-utilisation-warning"].threshold == 20
    assert alarms["pgbouncer-ro-utilisation-critical"].threshold == 19
    assert alarms["pgbouncer-rw-utilisation-warning"].metrics[0].metric_name == SERVERS_ACTIVE
    assert alarms["pgbouncer-rw-utilisation-warning"].treat_missing_data == "notBreaching"


def test_max_wait_alarms_in_seconds_and_a_gap_is_not_breaching() -> None:
    alarms = pool_alarms(pgbouncer_max_wait_seconds=SecondsAbove(warning=3, critical=10))
    alarm = alarms["pgbouncer-ro-max-wait-critical"]
    assert (alarm.threshold, alarm.metrics[0].metric_name) == (10, "pgbouncer_pools_client_maxwait_seconds")
    assert alarm.treat_missing_data == "notBreaching"


def test_no_pool_alarms_without_pool_metrics() -> None:
    ops = phase_config("scale").operations
    assert not [a for a in alarm_definitions(ops, Watched(load_balancer=False)) if a.key.startswith("pgbouncer-")]


SERVERS_ACTIVE = "pgbouncer_pools_server_active_connections"
