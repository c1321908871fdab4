"""The amazon-cloudwatch-observability chart catalog (infra/catalog/cloudwatch_observability_charts.yaml)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from infra.yaml_files import load_file

CLOUDWATCH_OBSERVABILITY_CHARTS_FILE = "infra/catalog/cloudwatch_observability_charts.yaml"
_FILE = Path(__file__).parent / "cloudwatch_observability_charts.yaml"


@dataclass(frozen=True)
class CloudWatchObservabilityChart:
    """One chart version, the image tags it installs and the Kubernetes minors it is accepted for."""

    version: str
    package_digest: str
    agent_image_tag: str
    operator_image_tag: str
    kubernetes: tuple[str, ...]
    kubernetes_confirmed: bool
    """False: listed without a support statement from AWS (the catalog's header says why)."""


@functools.cache
def cloudwatch_observability_charts() -> dict[str, CloudWatchObservabilityChart]:
    """Chart versions by version (``"6.4.0"``)."""
    data = load_file(_FILE)
    return {
        str(version): CloudWatchObservabilityChart(
            version=str(version),
            package_digest=str(spec["package_digest"]),
            agent_image_tag=str(spec["agent_image_tag"]),
            operator_image_tag=str(spec["operator_image_tag"]),
            kubernetes=tuple(str(v) for v in spec["kubernetes"]),
            kubernetes_confirmed=bool(spec["kubernetes_confirmed"]),
        )
        for version, spec in data["charts"].items()
    }
