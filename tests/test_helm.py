"""Every Helm release the program makes shares one set of options (infra/helm.py): a flip of any
of them on any release of any phase fails here."""

from __future__ import annotations

import pytest

from infra.helm import MAX_HISTORY, TIMEOUT_SECONDS
from tests.conftest import PHASES, built_phase

RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.mark.parametrize("phase", PHASES)
def test_every_release_is_atomic_cleans_up_waits_and_keeps_a_bounded_history(phase: str) -> None:
    releases = built_phase(phase).of_type(RELEASE)
    for release in releases:
        shared = {key: release.inputs.get(key) for key in ("atomic", "cleanupOnFail", "timeout", "maxHistory")}
        assert shared == {
            "atomic": True,
            "cleanupOnFail": True,
            "timeout": TIMEOUT_SECONDS,
            "maxHistory": MAX_HISTORY,
        }, release.name
        assert release.inputs.get("skipAwait") is False, release.name
    # The cluster's phases install seven charts or more; foundation, on instances, none.
    assert (len(releases) >= 7) is bool(phase_has_cluster(phase)), [r.name for r in releases]


def phase_has_cluster(phase: str) -> bool:
    return bool(built_phase(phase).of_type("aws:eks/cluster:Cluster"))


def test_a_chart_in_its_own_namespace_creates_it_and_one_in_an_existing_namespace_does_not() -> None:
    releases = {r.name: r for r in built_phase("growth").of_type(RELEASE)}
    assert releases["pgbouncer-cert-manager"].inputs.get("createNamespace") is True
    assert "createNamespace" not in releases["platform-keda"].inputs
