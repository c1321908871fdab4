"""PgBouncer as wired into each whole phase: against that phase's database and cluster."""

from __future__ import annotations

import pytest

from tests.conftest import PHASES, built_phase, phase_config


@pytest.mark.parametrize("phase", PHASES)
def test_pgbouncer_exactly_where_the_stack_file_asks(phase: str) -> None:
    components = built_phase(phase).of_type("scaleplan:database:PgBouncer")
    assert len(components) == (0 if phase_config(phase).pgbouncer is None else 1)


@pytest.mark.parametrize("phase", [p for p in PHASES if phase_config(p).pgbouncer is not None])
def test_pools_point_at_the_phase_database(phase: str) -> None:
    run = built_phase(phase)
    config = phase_config(phase)
    assert config.pgbouncer is not None
    primary = run.one("aws:rds/instance:Instance", "database-primary")
    replicas = sorted(
        (r for r in run.of_type("aws:rds/instance:Instance") if r.name != "database-primary"), key=lambda r: r.name
    )
    assert len(replicas) == config.database.read_replica_count
    rw_ini = run.one("kubernetes:core/v1:ConfigMap", "pgbouncer-rw-config").inputs["data"]["pgbouncer.ini"]
    assert f"app = host={primary.outputs['address']} port=5432 dbname={config.database.database_name}" in rw_ini
    deployments = sorted(d.name for d in run.of_type("kubernetes:apps/v1:Deployment") if d.name.startswith("pgbouncer"))
    if replicas:
        ro_ini = run.one("kubernetes:core/v1:ConfigMap", "pgbouncer-ro-config").inputs["data"]["pgbouncer.ini"]
        assert f"host={','.join(r.outputs['address'] for r in replicas)} " in ro_ini
        assert deployments == ["pgbouncer-ro", "pgbouncer-rw"]
    else:
        assert deployments == ["pgbouncer-rw"]
    secret_arn = primary.outputs["masterUserSecrets"][0]["secretArn"]
    spec = run.one("kubernetes:external-secrets.io/v1:ExternalSecret", "pgbouncer-credentials").inputs["spec"]
    # The master secret, and the application's logins where the phase makes them.
    logins = {"ftw-prod-pgbouncer/app-logins"} if config.pgbouncer.application_identity is not None else set()
    assert {item["remoteRef"]["key"] for item in spec["data"]} == {secret_arn, *logins}
    hpa = run.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "pgbouncer-rw-hpa").inputs["spec"]
    assert hpa["maxReplicas"] == config.pgbouncer.autoscaling.max_replicas


@pytest.mark.parametrize("phase", [p for p in PHASES if phase_config(p).pgbouncer is not None])
def test_kubernetes_children_use_the_cluster_provider(phase: str) -> None:
    run = built_phase(phase)
    component = run.one("scaleplan:database:PgBouncer", "pgbouncer")
    kubernetes_children = [r for r in run.children_of(component.urn) if r.type.startswith("kubernetes:")]
    assert kubernetes_children
    assert {r.provider.split("::")[3] for r in kubernetes_children} == {"k8s"}
