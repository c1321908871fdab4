"""The price catalog: sourced unit prices loaded once from ``prices.yaml``."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from infra.yaml_files import load_file

_PRICES = Path(__file__).parent / "prices.yaml"


class Confidence(enum.StrEnum):
    SOURCED = "sourced"
    THIRD_PARTY = "third_party"
    DERIVED = "derived"
    ASSUMPTION = "assumption"


class Rate(BaseModel):
    """One unit price (or one modelling figure) with where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: Annotated[float, Field(ge=0)]
    unit: str
    source: Annotated[str, Field(min_length=1)]
    as_of: Annotated[str, Field(min_length=1)]
    confidence: Confidence
    note: str | None = None


class UnknownPriceError(LookupError):
    """A priced dimension with no entry in the catalog: an error, never $0."""


class PriceCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_per_month: Rate
    free_resource_types: Mapping[str, str]
    """Type token -> why it costs nothing by itself."""
    sections: Mapping[str, Mapping[str, Rate]]

    def rate(self, section: str, item: str) -> Rate:
        """The rate of ``item`` in ``section``; :class:`UnknownPriceError` names what is priced."""
        items = self.sections.get(section)
        if items is None:
            raise UnknownPriceError(f"no price section {section!r}; sections: {', '.join(sorted(self.sections))}")
        if item not in items:
            raise UnknownPriceError(
                f"no price for {item!r} in {section!r} (infra/cost/prices.yaml); priced: {', '.join(sorted(items))}"
            )
        return items[item]

    @property
    def hours(self) -> float:
        return self.hours_per_month.value


@functools.cache
def price_catalog() -> PriceCatalog:
    return PriceCatalog.model_validate(load_file(_PRICES))
