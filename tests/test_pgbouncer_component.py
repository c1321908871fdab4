"""The PgBouncer component built in isolation under mocks, and its manifests checked against
the real Kubernetes OpenAPI schemas with ``kubernetes-validate --strict``."""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from pulumi.runtime import rpc

from infra.compute.irsa import ClusterOidc
from infra.pgbouncer.component import PgBouncer, PgBouncerArgs, rds_ca_bundle
from infra.plan.capture import CapturedResource, ProgramRun, run_program
from tests.pgbouncer_fixtures import IMAGE, pgbouncer_config

KUBERNETES_VERSION = "1.35.0"
"""The EKS version of the stack files."""
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-4f1c2d3e-aaaa-bbbb-cccc-1234567890ab-AbCdEf"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LOGS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/9876abcd-12ab-34cd-56ef-1234567890ab"
PRIMARY = "ftw-prod-db.c1a2b3.us-east-1.rds.amazonaws.com"
REPLICAS = ("ftw-prod-db-replica-1.c1a2b3.us-east-1.rds.amazonaws.com",)
TAGS = {"project": "scaleplan", "phase": "scale", "environment": "ftw-prod", "cost-center": "ftw platform"}


def _program(**config_changes: Any) -> None:
    provider = k8s.Provider("test-cluster", kubeconfig="{}")
    oidc = ClusterOidc(
        provider_arn=pulumi.Output.from_input(
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123"
        ),
        issuer_url=pulumi.Output.from_input("https://oidc.eks.us-east-1.amazonaws.com/id/ABC123"),
    )
    PgBouncer(
        "pgbouncer",
        PgBouncerArgs(
            config=pgbouncer_config(**config_changes),
            environment="ftw-prod",
            region="us-east-1",
            tags=TAGS,
            provider=provider,
            oidc=oidc,
            primary_host=pulumi.Output.from_input(PRIMARY),
            replica_hosts=[pulumi.Output.from_input(host) for host in REPLICAS],
            database_name="app",
            master_secret_arn=pulumi.Output.from_input(SECRET_ARN),
            master_secret_kms_key_arn=pulumi.Output.from_input(KEY_ARN),
            server_ca_bundle_pem=rds_ca_bundle(),
            cluster_name="ftw-prod-eks",
            logs_kms_key_arn=pulumi.Output.from_input(LOGS_KEY_ARN),
        ),
    )


@functools.cache
def built() -> ProgramRun:
    return run_program(_program, project="scaleplan", stack="test")


def one(type_token: str, name: str) -> CapturedResource:
    return built().one(type_token, name)


def pod_spec(role: str) -> dict[str, Any]:
    spec: dict[str, Any] = one("kubernetes:apps/v1:Deployment", f"pgbouncer-{role}").inputs["spec"]
    return spec["template"]["spec"]  # type: ignore[no-any-return]


def test_children_and_their_logical_names() -> None:
    run = built()
    component = run.one("scaleplan:database:PgBouncer", "pgbouncer")
    children = sorted((r.type, r.name) for r in run.children_of(component.urn))
    assert children == sorted(
        [
            ("kubernetes:core/v1:Namespace", "pgbouncer-namespace"),
            ("kubernetes:helm.sh/v3:Release", "pgbouncer-external-secrets"),
            ("kubernetes:helm.sh/v3:Release", "pgbouncer-reloader"),
            ("kubernetes:helm.sh/v3:Release", "pgbouncer-cert-manager"),
            ("aws:iam/role:Role", "pgbouncer-secrets-role"),
            ("aws:iam/rolePolicy:RolePolicy", "pgbouncer-secrets-policy"),
            ("kubernetes:core/v1:ServiceAccount", "pgbouncer-secrets-account"),
            ("kubernetes:core/v1:ServiceAccount", "pgbouncer-account"),
            ("kubernetes:external-secrets.io/v1:SecretStore", "pgbouncer-secret-store"),
            ("kubernetes:external-secrets.io/v1:ExternalSecret", "pgbouncer-credentials"),
            ("kubernetes:core/v1:ConfigMap", "pgbouncer-server-ca"),
            ("kubernetes:cert-manager.io/v1:Issuer", "pgbouncer-self-signed"),
            ("kubernetes:cert-manager.io/v1:Certificate", "pgbouncer-client-tls-ca"),
            ("kubernetes:cert-manager.io/v1:Issuer", "pgbouncer-ca-issuer"),
            ("kubernetes:cert-manager.io/v1:Certificate", "pgbouncer-client-tls"),
            # Pool metrics: the exporter's login, the agents' log group and IRSA role.
            ("random:index/randomPassword:RandomPassword", "pgbouncer-stats-password"),
            ("random:index/randomPassword:RandomPassword", "pgbouncer-stats-salt"),
            ("kubernetes:core/v1:Secret", "pgbouncer-stats"),
            ("aws:cloudwatch/logGroup:LogGroup", "pgbouncer-metrics-logs"),
            ("aws:iam/role:Role", "pgbouncer-metrics-role"),
            ("aws:iam/rolePolicy:RolePolicy", "pgbouncer-metrics-policy"),
            *[
                (token, f"pgbouncer-{role}{suffix}")
                for role in ("rw", "ro")
                for token, suffix in (
                    ("kubernetes:core/v1:ConfigMap", "-config"),
                    ("kubernetes:core/v1:ConfigMap", "-metrics-config"),
                    ("kubernetes:apps/v1:Deployment", ""),
                    ("kubernetes:core/v1:Service", "-service"),
                    ("kubernetes:policy/v1:PodDisruptionBudget", "-pdb"),
                    ("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "-hpa"),
                )
            ],
        ]
    )


def test_every_kubernetes_child_uses_the_cluster_provider() -> None:
    for resource in built().resources:
        if resource.type.startswith("kubernetes:") and resource.custom and not resource.is_provider:
            assert resource.provider.split("::")[-2].endswith("test-cluster"), resource.name


def test_without_read_replicas_only_the_read_write_pool_exists() -> None:
    run = run_program(lambda: _program(read_only_pool=None), project="scaleplan", stack="test-rw")
    assert [d.name for d in run.of_type("kubernetes:apps/v1:Deployment")] == ["pgbouncer-rw"]


def test_configmap_holds_the_rendered_ini_and_pods_carry_its_checksum() -> None:
    for role, host in (("rw", PRIMARY), ("ro", REPLICAS[0])):
        ini = one("kubernetes:core/v1:ConfigMap", f"pgbouncer-{role}-config").inputs["data"]["pgbouncer.ini"]
        assert f"app = host={host} port=5432 dbname=app" in ini
        template = one("kubernetes:apps/v1:Deployment", f"pgbouncer-{role}").inputs["spec"]["template"]
        assert (
            template["metadata"]["annotations"]["scaleplan.io/config-sha256"]
            == hashlib.sha256(ini.encode()).hexdigest()
        )


def test_configmap_is_named_after_its_content_and_mounted_by_that_name() -> None:
    # A changed ini must be a new ConfigMap beside the mounted one (created before the old one
    # is deleted), never a replacement under a fixed name: see tests/test_promotion.py.
    for role in ("rw", "ro"):
        config_map = one("kubernetes:core/v1:ConfigMap", f"pgbouncer-{role}-config")
        digest = hashlib.sha256(config_map.inputs["data"]["pgbouncer.ini"].encode()).hexdigest()
        assert config_map.inputs["metadata"]["name"].endswith(f"-{digest[:10]}")
        pod = one("kubernetes:apps/v1:Deployment", f"pgbouncer-{role}").inputs["spec"]["template"]["spec"]
        mounted = {v["name"]: v for v in pod["volumes"]}["config"]["configMap"]["name"]
        assert mounted == config_map.inputs["metadata"]["name"]


def test_deployment_is_hardened_and_pinned() -> None:
    deployment = one("kubernetes:apps/v1:Deployment", "pgbouncer-rw")
    spec = deployment.inputs["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    assert "spec.replicas" in deployment.ignore_changes
    pod = pod_spec("rw")
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "fsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    container = pod["containers"][0]
    assert [c["name"] for c in pod["containers"]] == ["pgbouncer", "pgbouncer-exporter", "cloudwatch-agent"]
    assert container["image"] == IMAGE
    assert container["command"] == ["pgbouncer", "/etc/pgbouncer/config/pgbouncer.ini"]
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "128Mi"},
        "limits": {"cpu": "1000m", "memory": "256Mi"},
    }
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "pgbouncer"}
    assert container["ports"] == [{"name": "pgbouncer", "containerPort": 6432, "protocol": "TCP"}]
    assert all(mount["readOnly"] for mount in container["volumeMounts"])


def test_pods_run_only_on_nodes_of_the_image_architecture() -> None:
    assert pod_spec("rw")["nodeSelector"] == {"kubernetes.io/arch": "arm64"}


def test_pods_spread_over_zones_strictly_and_hosts_as_possible() -> None:
    spread = {c["topologyKey"]: c["whenUnsatisfiable"] for c in pod_spec("ro")["topologySpreadConstraints"]}
    assert spread == {"topology.kubernetes.io/zone": "DoNotSchedule", "kubernetes.io/hostname": "ScheduleAnyway"}


def test_credentials_come_only_from_secrets_mounted_read_only() -> None:
    volumes = {v["name"]: v for v in pod_spec("rw")["volumes"]}
    assert volumes["auth"]["secret"] == {
        "secretName": "ftw-prod-pgbouncer-credentials",
        "defaultMode": 0o440,
        "items": [{"key": "userlist.txt", "path": "userlist.txt"}],
    }
    assert volumes["client-tls"]["secret"]["secretName"] == "ftw-prod-pgbouncer-client-tls"
    annotations = one("kubernetes:apps/v1:Deployment", "pgbouncer-rw").inputs["metadata"]["annotations"]
    assert annotations["secret.reloader.stakater.com/reload"] == (
        "ftw-prod-pgbouncer-credentials,ftw-prod-pgbouncer-client-tls"
    )


def test_no_password_in_any_input() -> None:
    stats_password = one("random:index/randomPassword:RandomPassword", "pgbouncer-stats-password").outputs["result"]
    for resource in built().resources:
        if resource.name == "pgbouncer-stats":
            # The one exception: the metrics exporter's own generated password, sent as a Pulumi
            # secret (encrypted in state), and nothing else.
            assert resource.inputs["stringData"] == {
                rpc._special_sig_key: rpc._special_secret_sig,
                "value": {"password": stats_password},
            }
            continue
        text = json.dumps(resource.inputs, default=str).lower()
        assert 'password": "' not in text, resource.name
        assert "password=" not in text, resource.name


def test_external_secret_reads_the_master_secret_and_refreshes() -> None:
    spec = one("kubernetes:external-secrets.io/v1:ExternalSecret", "pgbouncer-credentials").inputs["spec"]
    assert spec["refreshInterval"] == "300s"
    assert spec["secretStoreRef"] == {"name": "ftw-prod-pgbouncer-rds", "kind": "SecretStore"}
    assert spec["data"] == [
        {"secretKey": "username", "remoteRef": {"key": SECRET_ARN, "property": "username"}},
        {"secretKey": "password", "remoteRef": {"key": SECRET_ARN, "property": "password"}},
    ]
    [userlist] = spec["target"]["template"]["data"].values()
    master, stats = userlist.splitlines()
    assert master == '"{{ .username }}" "{{ .password }}"'
    assert stats.startswith('"pgbouncer_stats" "SCRAM-SHA-256$4096:')
    store = one("kubernetes:external-secrets.io/v1:SecretStore", "pgbouncer-secret-store").inputs["spec"]
    assert store["provider"]["aws"]["auth"] == {"jwt": {"serviceAccountRef": {"name": "ftw-prod-pgbouncer-secrets"}}}


def test_irsa_role_reads_exactly_the_master_secret() -> None:
    role = one("aws:iam/role:Role", "pgbouncer-secrets-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    assert condition["oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub"] == (
        "system:serviceaccount:pgbouncer:ftw-prod-pgbouncer-secrets"
    )
    policy = json.loads(one("aws:iam/rolePolicy:RolePolicy", "pgbouncer-secrets-policy").inputs["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "ReadRdsMasterSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": SECRET_ARN,
        },
        {
            "Sid": "DecryptRdsMasterSecret",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY_ARN,
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
        },
    ]
    account = one("kubernetes:core/v1:ServiceAccount", "pgbouncer-secrets-account").inputs["metadata"]
    assert account["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}


def test_helm_releases_are_pinned() -> None:
    versions = {
        r.inputs["chart"]: (r.inputs["version"], r.inputs["repositoryOpts"]["repo"])
        for r in built().of_type("kubernetes:helm.sh/v3:Release")
    }
    assert versions == {
        "external-secrets": ("0.20.4", "https://charts.external-secrets.io"),
        "reloader": ("2.2.5", "https://stakater.github.io/stakater-charts"),
        "cert-manager": ("v1.16.2", "https://charts.jetstack.io"),
    }


def test_pdb_and_autoscaler_follow_the_config() -> None:
    pdb = one("kubernetes:policy/v1:PodDisruptionBudget", "pgbouncer-rw-pdb").inputs["spec"]
    assert pdb["maxUnavailable"] == 1
    hpa = one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "pgbouncer-rw-hpa").inputs["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"] == [
        {
            "type": "ContainerResource",
            "containerResource": {
                "container": "pgbouncer",
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ftw-prod-pgbouncer-rw"}


def test_services_are_cluster_ip_per_pool() -> None:
    for role in ("rw", "ro"):
        spec = one("kubernetes:core/v1:Service", f"pgbouncer-{role}-service").inputs["spec"]
        assert spec["type"] == "ClusterIP"
        assert spec["selector"] == {"app.kubernetes.io/name": "pgbouncer", "app.kubernetes.io/component": role}
        assert spec["ports"] == [{"name": "postgres", "port": 6432, "targetPort": "pgbouncer", "protocol": "TCP"}]


def test_namespace_enforces_restricted_pod_security() -> None:
    labels = one("kubernetes:core/v1:Namespace", "pgbouncer-namespace").inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["scaleplan.io/cost-center"] == "ftw_platform"


VALIDATED = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:ConfigMap",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:core/v1:Service",
    "kubernetes:apps/v1:Deployment",
    "kubernetes:policy/v1:PodDisruptionBudget",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
)


def test_manifests_pass_kubernetes_validate_strict(tmp_path: Path) -> None:
    manifests = [r for r in built().resources if r.type in VALIDATED]
    assert {r.type for r in manifests} == set(VALIDATED)
    files = []
    for resource in manifests:
        path = tmp_path / f"{resource.name}.yaml"
        path.write_text(yaml.safe_dump(dict(resource.inputs), sort_keys=False))
        files.append(str(path))
    cli = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(cli), "-k", KUBERNETES_VERSION, "--strict", "--no-warn", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("INFO") == len(files), result.stdout


def test_kubernetes_validate_rejects_an_unknown_field(tmp_path: Path) -> None:
    # The check above must be able to fail: a stray container field is an error in strict mode.
    deployment: dict[str, Any] = json.loads(
        json.dumps(dict(one("kubernetes:apps/v1:Deployment", "pgbouncer-rw").inputs))
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["runAsRoot"] = True
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(deployment))
    cli = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(cli), "-k", KUBERNETES_VERSION, "--strict", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "runAsRoot" in result.stdout + result.stderr
