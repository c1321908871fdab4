"""The tags every taggable resource carries."""

from __future__ import annotations

import re
from collections.abc import Mapping

from infra.config.environment import EnvironmentConfig

PROJECT = "scaleplan"
REQUIRED_TAG_KEYS = ("project", "phase", "environment", "cost-center")


def standard_tags(environment: EnvironmentConfig) -> dict[str, str]:
    """Set on the AWS provider as default tags *and* on each resource explicitly.

    Explicitly too, because mocks and policy checks see resource inputs, where provider
    default tags never appear.
    """
    return {
        "project": PROJECT,
        "phase": environment.phase,
        "environment": environment.name,
        "cost-center": environment.cost_center,
        "managed-by": "pulumi",
    }


def with_name(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """Tags plus the ``Name`` tag the AWS console shows."""
    return {**tags, "Name": name}


def kubernetes_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags as Kubernetes labels under ``scaleplan.io/``.

    Label values allow only ``[A-Za-z0-9_.-]``, at most 63, starting and ending alphanumeric,
    so other characters become ``_`` (``cost-center: ftw platform`` -> ``ftw_platform``).
    """
    labels = {}
    for key, value in tags.items():
        cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", value)[:63].strip("_.-")
        labels[f"scaleplan.io/{key}"] = cleaned
    return labels
