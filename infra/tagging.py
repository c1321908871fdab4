"""The tags every taggable resource carries."""

from __future__ import annotations

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
        "phase": environment.phase.value,
        "environment": environment.name,
        "cost-center": environment.cost_center,
        "managed-by": "pulumi",
    }


def with_name(tags: Mapping[str, str], name: str) -> dict[str, str]:
    """Tags plus the ``Name`` tag the AWS console shows."""
    return {**tags, "Name": name}
