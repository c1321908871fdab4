"""``scaleplan:pgbouncer``: the model's own rules and the root model's connection budget."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import PhaseConfigError
from infra.config.loader import parse_phase_config
from infra.config.pgbouncer import ClientTlsMode, ServerTlsMode
from tests.conftest import phase_config
from tests.pgbouncer_fixtures import stack_values

SOURCE = "Pulumi.test.yaml"


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(PhaseConfigError) as caught:
        parse_phase_config(values, SOURCE)
    return str(caught.value).splitlines()


def scale_with(**changes: Any) -> dict[str, Any]:
    values = stack_values("scale")
    values["scaleplan:pgbouncer"].update(changes)
    return values


@pytest.mark.parametrize("phase", ["growth", "scale", "optimize"])
def test_eks_phases_configure_pgbouncer_within_budget(phase: str) -> None:
    config = phase_config(phase)
    assert config.pgbouncer is not None
    assert config.eks is not None
    budget = config.database.connection_budget()
    per_replica = config.pgbouncer.default_pool_size + config.pgbouncer.reserve_pool_size
    assert config.pgbouncer.autoscaling.max_replicas * per_replica <= budget.max_connections - budget.reserved


def test_foundation_has_no_pgbouncer() -> None:
    assert phase_config("foundation").pgbouncer is None


def test_secure_defaults() -> None:
    config = phase_config("scale").pgbouncer
    assert config is not None
    assert config.server_tls_mode is ServerTlsMode.VERIFY_FULL
    assert config.client_tls_mode is ClientTlsMode.REQUIRE
    assert config.namespace == "pgbouncer"


def test_rejects_primary_pool_over_the_connection_budget() -> None:
    values = scale_with(autoscaling={"min_replicas": 2, "max_replicas": 9})
    assert problems(values) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.default_pool_size: autoscaling.max_replicas 9 x (default_pool_size 25 "
        "+ reserve_pool_size 5) = 270 server connections to the primary; max_connections 256 - 10 reserved = 246 "
        "available, 24 too many; lower the pool sizes or autoscaling.max_replicas, or give the database more "
        "max_connections"
    ]


def test_rejects_read_only_pool_over_the_connection_budget() -> None:
    values = scale_with(read_only_pool={"default_pool_size": 40, "min_pool_size": 5, "reserve_pool_size": 5})
    assert problems(values) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.read_only_pool.default_pool_size: autoscaling.max_replicas 6 x "
        "(read_only_pool.default_pool_size 40 + read_only_pool.reserve_pool_size 5) = 270 server connections to "
        "each read replica; max_connections 256 - 10 reserved = 246 available, 24 too many; lower the pool sizes "
        "or autoscaling.max_replicas, or give the database more max_connections"
    ]


def test_reserve_pool_counts_in_the_budget() -> None:
    # 6 x (25 + 16) = 246 fits exactly; one more reserve connection per replica does not.
    parse_phase_config(scale_with(reserve_pool_size=16), SOURCE)
    assert problems(scale_with(reserve_pool_size=17))[0].startswith(
        "Pulumi.test.yaml: scaleplan:pgbouncer.default_pool_size: autoscaling.max_replicas 6 x (default_pool_size "
        "25 + reserve_pool_size 17) = 252 server connections"
    )


def test_rejects_pgbouncer_without_eks() -> None:
    values = stack_values("foundation")
    values["scaleplan:pgbouncer"] = stack_values("growth")["scaleplan:pgbouncer"]
    assert problems(values) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer: runs on EKS, but this phase has no scaleplan:eks; "
        "remove it or add a cluster"
    ]


def test_rejects_read_only_pool_without_read_replicas() -> None:
    values = stack_values("growth")
    values["scaleplan:pgbouncer"]["read_only_pool"] = {
        "default_pool_size": 5,
        "min_pool_size": 0,
        "reserve_pool_size": 0,
    }
    assert problems(values) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.read_only_pool: pools connections to read replicas, but "
        "scaleplan:database.read_replica_count is 0; remove it"
    ]


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/cloudnative-pg/pgbouncer:1.22.1-16",
        "ghcr.io/cloudnative-pg/pgbouncer:latest",
        "pgbouncer@sha256:1234",
    ],
)
def test_rejects_image_not_pinned_by_digest(image: str) -> None:
    assert problems(scale_with(image=image)) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.image: must be pinned by digest, as "
        f"registry/repository[:tag]@sha256:<64 hex digits> (got {image!r}); find the digest with "
        "`crane digest <image>:<tag>`"
    ]


def test_rejects_replicas_outside_the_autoscaler_range() -> None:
    assert problems(scale_with(replicas=7)) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.replicas: must be between autoscaling.min_replicas 3 and "
        "autoscaling.max_replicas 6 (got 7)"
    ]


def test_rejects_a_single_replica() -> None:
    assert problems(scale_with(replicas=1)) == ["Pulumi.test.yaml: scaleplan:pgbouncer.replicas: must be >= 2 (got 1)"]


def test_rejects_autoscaler_min_above_max() -> None:
    assert problems(scale_with(autoscaling={"min_replicas": 5, "max_replicas": 4})) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.autoscaling.min_replicas: must be <= max_replicas (4) (got 5)"
    ]


def test_rejects_min_pool_above_default_pool() -> None:
    assert problems(scale_with(min_pool_size=30)) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.min_pool_size: must be <= default_pool_size (25) (got 30)"
    ]


def test_rejects_idle_timeout_longer_than_lifetime() -> None:
    assert problems(scale_with(server_idle_timeout_seconds=7200)) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.server_idle_timeout_seconds: must be <= server_lifetime_seconds "
        "(3600) (got 7200)"
    ]


def test_rejects_unknown_pool_mode() -> None:
    assert problems(scale_with(pool_mode="statement")) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.pool_mode: must be one of 'transaction' or 'session' (got 'statement')"
    ]


def test_rejects_server_tls_that_does_not_encrypt() -> None:
    [problem] = problems(scale_with(server_tls_mode="prefer"))
    assert problem == (
        "Pulumi.test.yaml: scaleplan:pgbouncer.server_tls_mode: must be one of 'require', 'verify-ca' or "
        "'verify-full' (got 'prefer')"
    )


def test_rejects_requests_above_limits() -> None:
    resources = {
        "cpu_request_millicores": 1000,
        "cpu_limit_millicores": 500,
        "memory_request_mib": 128,
        "memory_limit_mib": 256,
    }
    assert problems(scale_with(resources=resources)) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.resources.cpu_request_millicores: must be <= cpu_limit_millicores "
        "(500) (got 1000)"
    ]


def test_rejects_an_image_architecture_no_node_pool_has() -> None:
    assert problems(scale_with(image_architecture="amd64")) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.image_architecture: no node pool runs amd64 (got pools "
        "base (arm64), burst (arm64)); pin the image digest of an architecture a pool has"
    ]


def test_rejects_tolerating_the_loss_of_every_read_replica() -> None:
    values = scale_with(
        read_only_pool={
            "default_pool_size": 20,
            "min_pool_size": 5,
            "reserve_pool_size": 5,
            "replicas_down_tolerated": 1,
        }
    )
    values["scaleplan:database"]["read_replica_count"] = 1
    assert problems(values) == [
        "Pulumi.test.yaml: scaleplan:pgbouncer.read_only_pool.replicas_down_tolerated: must be below "
        "scaleplan:database.read_replica_count 1: at least one replica must stay up to take the pool (got 1)"
    ]
