"""The phase configuration: one validated model for everything a stack file says.

Each concern is one structured key in the ``scaleplan:`` namespace and one sub-model
(``scaleplan:network`` -> :class:`NetworkConfig`). Phases differ only by what their stack
files say; nothing in the code branches on the phase.
"""

from __future__ import annotations

from pydantic import model_validator

from infra.capacity import check_capacity, demand
from infra.config.base import ConfigModel
from infra.config.budget import BudgetConfig
from infra.config.capacity import CapacityConfig
from infra.config.compute import ComputeConfig
from infra.config.environment import EnvironmentConfig, Phase
from infra.config.errors import PhaseConfigError, field_error
from infra.config.network import NetworkConfig

__all__ = ["Phase", "PhaseConfig", "PhaseConfigError"]


class PhaseConfig(ConfigModel):
    """Root model: one field per ``scaleplan:<key>`` in a stack file."""

    environment: EnvironmentConfig
    capacity: CapacityConfig
    budget: BudgetConfig
    network: NetworkConfig
    compute: ComputeConfig

    @model_validator(mode="after")
    def _zones_in_region(self) -> PhaseConfig:
        region = self.environment.region
        for index, zone in enumerate(self.network.availability_zones):
            if zone[:-1] != region:
                raise field_error(
                    f"network.availability_zones.{index}",
                    f"zone {zone!r} is not in scaleplan:environment.region {region!r}",
                )
        return self

    @model_validator(mode="after")
    def _compute_serves_peak(self) -> PhaseConfig:
        check = check_capacity(self.capacity, self.compute.max_application_vcpus())
        if not check.passes:
            load = demand(self.capacity)
            raise field_error(
                "compute",
                f"at most {check.available_vcpus} application vCPUs cannot serve the peak of "
                f"{load.peak_requests_per_second:.0f} requests/s with headroom "
                f"{self.capacity.headroom_factor}: {check.required_vcpus} vCPUs are needed, "
                f"{check.shortfall_vcpus} short; raise max sizes or use larger instance types",
            )
        return self
