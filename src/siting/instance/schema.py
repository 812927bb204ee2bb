"""The schema of ``instance.toml`` (pydantic, strict: unknown keys are errors).

Every quantity has a range: a value far outside any real one is a typo or a unit slip
(a capacity in grams, a cost in cents), and would also wreck the solver's numerics.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from siting.inputs import Strict

MAX_TONNES = 1e10  # t or t/yr: far above any real supply or capacity
MAX_PER_TONNE = 1e9  # currency per tonne or tonne-km: dearer than any real handling
MAX_AMOUNT = 1e13  # currency: the fixed cost or capex of one facility
MAX_CO2_KG = 1e5  # kg CO2 per tonne or tonne-km: 100 t of CO2 per tonne moved or processed

Tonnes = Annotated[float, Field(ge=0, le=MAX_TONNES, allow_inf_nan=False)]
PerTonne = Annotated[float, Field(ge=0, le=MAX_PER_TONNE, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Co2 = Annotated[float, Field(ge=0, le=MAX_CO2_KG, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]


class InstanceMeta(Strict):
    """Table ``[instance]``: name, description, currency, year."""

    name: str = Field(min_length=1)
    description: str = ""
    currency: str = "CNY"
    year: int | None = None


class LayerRef(Strict):
    """A layer file, with the layer name inside a GeoPackage."""

    path: str = Field(min_length=1)
    layer: str | None = None


class Layers(Strict):
    """Table ``[layers]``: where the regions, sites, supply and distances are."""

    regions: LayerRef
    sites: LayerRef
    supply: LayerRef | None = None
    distances: LayerRef | None = None

    @field_validator("regions", "sites", "supply", "distances", mode="before")
    @classmethod
    def _path_alone(cls, value: object) -> object:
        return {"path": value} if isinstance(value, str) else value


class Distance(Strict):
    """Table ``[distance]``: great circle x circuity, or a matrix."""

    method: Literal["great_circle", "matrix"] = "great_circle"
    circuity: Annotated[float, Field(ge=1, le=5)] = 1.3
    missing: Literal["error", "no_arc"] = "error"


class Finance(Strict):
    """Table ``[finance]``: discount rate and lifetime for annualising capex."""

    discount_rate: Share
    lifetime_years: Annotated[int, Field(ge=1, le=100)]

    @property
    def annuity_factor(self) -> float:
        """Share of capex charged per year: r / (1 - (1 + r)^-n), or 1/n at r = 0."""
        r, n = self.discount_rate, self.lifetime_years
        return 1 / n if r == 0 else r / (1 - (1 + r) ** -n)


class Stream(Strict):
    """One ``[streams.<id>]`` table: costs, penalty, emissions, value."""

    label: str = ""
    transport_cost: PerTonne
    uncollected_penalty: PerTonne | None = None
    co2_kg_per_tkm: Co2 = 0.0
    value: PerTonne = 0.0


class Size(Strict):
    """One size option of a tier: capacity, costs, minimum throughput."""

    name: str = Field(min_length=1)
    capacity: Annotated[float, Field(gt=0, le=MAX_TONNES, allow_inf_nan=False)]
    fixed_cost: Amount = 0.0
    capex: Amount = 0.0
    min_throughput: Tonnes = 0.0

    @model_validator(mode="after")
    def _min_below_capacity(self) -> Size:
        if self.min_throughput > self.capacity:
            raise ValueError(f"min_throughput {self.min_throughput:g} exceeds capacity")
        return self


class Tier(Strict):
    """One ``[tiers.<name>]`` table: per-tonne costs, emissions, recovery, sizes."""

    processing_cost: PerTonne | dict[str, PerTonne] = 0.0
    transport_cost_factor: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 1.0
    co2_kg_per_t: Co2 | dict[str, Co2] = 0.0
    recovery: Share | dict[str, Share] | None = None
    sizes: list[Size] = []

    @field_validator("sizes")
    @classmethod
    def _unique_names(cls, sizes: list[Size]) -> list[Size]:
        names = [s.name for s in sizes]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate size names {sorted(dup)}")
        return sizes


class InstanceFile(Strict):
    """The whole of ``instance.toml``."""

    instance: InstanceMeta
    layers: Layers
    distance: Distance = Distance()
    finance: Finance | None = None
    streams: dict[str, Stream] = Field(min_length=1)
    tiers: dict[str, Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _per_stream_keys(self) -> InstanceFile:
        for tier_name, tier in self.tiers.items():
            for field in ("processing_cost", "co2_kg_per_t", "recovery"):
                value = getattr(tier, field)
                if isinstance(value, dict):
                    unknown = sorted(set(value) - set(self.streams))
                    if unknown:
                        raise ValueError(
                            f"tiers.{tier_name}.{field}: unknown streams {unknown}; "
                            f"expected some of {sorted(self.streams)}"
                        )
        if self.distance.method == "matrix" and self.layers.distances is None:
            raise ValueError("distance.method = 'matrix' needs layers.distances")
        return self


def per_stream(value: float | dict[str, float], stream: str) -> float:
    """Value of a number-or-per-stream-table field for one stream (0 where not listed)."""
    if isinstance(value, dict):
        return float(value.get(stream, 0.0))
    return float(value)
