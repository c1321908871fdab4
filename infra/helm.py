"""Installing a chart: one way for every Helm release the program makes.

Every release is ``atomic`` (Helm waits for its workloads to be ready and rolls back an install
or upgrade that does not get there, so what depends on a release finds its controller or webhook
serving), cleans up what a failed upgrade created, waits at most :data:`TIMEOUT_SECONDS`, and keeps
the last :data:`MAX_HISTORY` revisions: Helm's own default keeps every revision as a Secret in the
release's namespace, without end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

TIMEOUT_SECONDS = 600
"""Ten minutes: long enough for an EKS node to join and pull a controller's images."""
MAX_HISTORY = 10
"""Revisions kept per release: enough to roll back a few upgrades, bounded."""


@dataclass(frozen=True)
class Chart:
    """Which chart, at which version, from which repository."""

    name: str
    version: str
    repository: str


def helm_release(
    logical_name: str,
    *,
    release: str,
    chart: Chart,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    create_namespace: bool = False,
) -> k8s.helm.v3.Release:
    """The release ``release`` of ``chart`` in ``namespace``, with the options every release shares."""
    return k8s.helm.v3.Release(
        logical_name,
        name=release,
        chart=chart.name,
        version=chart.version,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace,
        # Helm's default (false) is left unset (None), so a release that never asked shows no new input.
        create_namespace=True if create_namespace else None,
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        timeout=TIMEOUT_SECONDS,
        max_history=MAX_HISTORY,
        skip_await=False,
        opts=opts,
    )
