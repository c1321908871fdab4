"""Building blocks of ``scaleplan:compute.node_pools``: labels, taints and capacity-derived sizes.

The pool model itself is :class:`infra.config.compute.NodePoolConfig`; the rules that need only
the catalog live here as plain functions so they are tested without a whole phase file.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field

from infra.catalog import ec2_instance_types
from infra.config.base import ConfigModel
from infra.config.errors import field_error

FROM_CAPACITY = "from_capacity"
DesiredSize = Annotated[int, Field(ge=0, le=1000)] | Literal["from_capacity"]
"""A node count, or ``from_capacity``: as many nodes as the capacity model's average load
needs, given what the other application pools bring at their desired sizes (see
:func:`infra.compute.sizing.desired_sizes`). Either way it only sets the size at creation;
afterwards the Cluster Autoscaler owns it."""

LabelKey = Annotated[
    str, Field(pattern=r"^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
]
LabelValue = Annotated[str, Field(pattern=r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")]
RESERVED_LABEL_PREFIXES = ("kubernetes.io/", "k8s.io/", "eks.amazonaws.com/")
"""EKS refuses node-group labels under these prefixes."""
MIN_SPOT_INSTANCE_TYPES = 2


class TaintEffect(enum.StrEnum):
    """The EKS API's spelling of the Kubernetes taint effects."""

    NO_SCHEDULE = "NO_SCHEDULE"
    NO_EXECUTE = "NO_EXECUTE"
    PREFER_NO_SCHEDULE = "PREFER_NO_SCHEDULE"


class TaintConfig(ConfigModel):
    key: LabelKey
    value: LabelValue = ""
    effect: TaintEffect


def check_same_architecture(instance_types: Sequence[str]) -> str:
    """The one CPU architecture of a pool's types: a node group runs one AMI type."""
    catalog = ec2_instance_types()
    architectures = {catalog[name].architecture for name in instance_types}
    if len(architectures) != 1:
        by_arch = ", ".join(f"{name} ({catalog[name].architecture})" for name in instance_types)
        raise field_error("instance_types", f"must all share one CPU architecture, one AMI per pool (got {by_arch})")
    return architectures.pop()


def check_spot_diversity(capacity_type: str, instance_types: Sequence[str]) -> None:
    """Spot pools need several types so that one reclaimed spot market does not empty the pool."""
    if capacity_type == "SPOT" and len(instance_types) < MIN_SPOT_INSTANCE_TYPES:
        raise field_error(
            "instance_types",
            f"a SPOT pool needs at least {MIN_SPOT_INSTANCE_TYPES} instance types of the same size, so one "
            f"reclaimed spot market cannot empty it (got {list(instance_types)})",
        )
    if len(set(instance_types)) != len(instance_types):
        raise field_error("instance_types", f"lists a type twice (got {list(instance_types)})")


def check_labels(labels: dict[str, str]) -> None:
    for key in labels:
        if key.startswith(RESERVED_LABEL_PREFIXES):
            raise field_error(
                f"labels.{key}",
                f"uses a prefix EKS reserves ({', '.join(RESERVED_LABEL_PREFIXES)}); choose another key",
            )
