"""Who owns a live environment and where it runs: the source of names and tags."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from infra.config.base import ConfigModel
from infra.cost.catalog import price_catalog

EnvironmentName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,14}[a-z0-9]$")]
"""Lowercase, 3-16 characters: it prefixes every physical name, some of which allow only 32."""


PhaseName = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")]
"""The user's own name for a phase of their plan (``foundation``, ``day-30``): a label for tags
and reports, never a code branch. Lowercase letters, digits and inner hyphens, 1-32 characters,
so that it is a valid tag value and Kubernetes label value as it is. Which phases exist and in
what order is declared by the stack files themselves (:mod:`infra.config.phases`)."""


class EnvironmentConfig(ConfigModel):
    """``scaleplan:environment``: identity of the live environment across all phases."""

    name: EnvironmentName
    """Physical names derive from this, not from the stack name, so one environment keeps
    its resources when it moves to the next phase's stack file."""
    phase: PhaseName
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]
    cost_center: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/=+\-@ ]+$")]
    owner_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]
    """Receives budget and alarm notifications."""

    @field_validator("region")
    @classmethod
    def _region_has_prices(cls, region: str) -> str:
        # The cost estimate and the budget policy price the region's own resources; another
        # region's prices would be a silent error, so a region without prices is refused.
        priced = price_catalog().priced_regions
        if region not in priced:
            raise ValueError(
                f"no prices for region {region!r} in infra/cost/prices.yaml; regions with prices: {', '.join(priced)}"
            )
        return region
