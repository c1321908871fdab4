"""The price catalog: sourced unit prices loaded once from ``prices.yaml``."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


class UnknownRegionError(UnknownPriceError):
    """A region the catalog has no prices for: an error, never another region's prices."""

    def __init__(self, region: str, priced: Sequence[str]) -> None:
        self.region = region
        self.priced = tuple(priced)
        super().__init__(
            f"no prices for region {region!r} in infra/cost/prices.yaml; regions with prices: {', '.join(priced)}"
        )


class PriceCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hours_per_month: Rate
    free_resource_types: Mapping[str, str]
    """Type token -> why it costs nothing by itself."""
    region: str
    """The AWS region whose prices ``sections`` hold."""
    regional_sections: frozenset[str]
    """Sections whose prices differ by AWS region; the others (Cloudflare, modelling figures)
    hold everywhere."""
    regions: Mapping[str, Mapping[str, Mapping[str, Rate]]] = {}
    """Other regions: region -> regional section -> item -> rate. An item a region does not
    list has no price there (an error when the estimate needs it), never ``region``'s price."""
    sections: Mapping[str, Mapping[str, Rate]]

    @model_validator(mode="after")
    def _regional_sections_exist(self) -> PriceCatalog:
        unknown = sorted(self.regional_sections - set(self.sections))
        if unknown:
            raise ValueError(f"regional_sections names no section: {', '.join(unknown)}")
        for region, sections in self.regions.items():
            stray = sorted(set(sections) - self.regional_sections)
            if stray:
                raise ValueError(f"regions.{region}: only regional sections differ by region, not {', '.join(stray)}")
        return self

    @property
    def priced_regions(self) -> list[str]:
        return sorted({self.region, *self.regions})

    def for_region(self, region: str) -> PriceCatalog:
        """The catalog as seen from ``region``: its own regional prices and the global ones.

        :class:`UnknownRegionError` when the catalog has no prices for ``region`` at all.
        """
        if region == self.region:
            return self
        overrides = self.regions.get(region)
        if overrides is None:
            raise UnknownRegionError(region, self.priced_regions)
        sections = {
            name: (overrides.get(name, {}) if name in self.regional_sections else items)
            for name, items in self.sections.items()
        }
        return self.model_copy(update={"region": region, "sections": sections, "regions": {}})

    def rate(self, section: str, item: str) -> Rate:
        """The rate of ``item`` in ``section``; :class:`UnknownPriceError` names what is priced."""
        items = self.sections.get(section)
        if items is None:
            raise UnknownPriceError(f"no price section {section!r}; sections: {', '.join(sorted(self.sections))}")
        if item not in items:
            where = f" for {self.region}" if section in self.regional_sections else ""
            raise UnknownPriceError(
                f"no price for {item!r} in {section!r}{where} (infra/cost/prices.yaml); "
                f"priced: {', '.join(sorted(items)) or 'nothing'}"
            )
        return items[item]

    @property
    def hours(self) -> float:
        return self.hours_per_month.value


@functools.cache
def price_catalog() -> PriceCatalog:
    return PriceCatalog.model_validate(load_file(_PRICES))
