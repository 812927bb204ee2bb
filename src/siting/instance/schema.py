"""The schema of ``instance.toml`` (pydantic, strict: unknown keys are errors).

Every quantity has a range: a value far outside any real one is a typo or a unit slip
(a capacity in grams, a cost in cents), and would also wreck the solver's numerics.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from siting.inputs import Name, Strict

MAX_TONNES = 1e10  # t or t/yr: far above any real supply or capacity
MAX_PER_TONNE = 1e9  # currency per tonne or tonne-km: dearer than any real handling
MAX_AMOUNT = 1e13  # currency: the fixed cost or capex of one facility
MAX_CO2_KG = 1e5  # kg CO2 per tonne or tonne-km: 100 t of CO2 per tonne moved or processed



@dataclass(frozen=True)
class Number:
    """A numeric column of a layer: its range, and what an empty cell or a missing column takes.

    ``empty`` or ``absent`` None: an empty cell is refused, a missing column is an error.
    """

    maximum: float
    minimum: float = 0.0
    empty: float | None = None
    absent: float | None = None


LON = Number(maximum=180.0, minimum=-180.0)  # CSV layers are in WGS84
LAT = Number(maximum=90.0, minimum=-90.0)
SUPPLY = Number(maximum=MAX_TONNES)
LAYER_NUMBERS: dict[str, dict[str, Number]] = {
    "regions": {"supply": SUPPLY, "supply_<stream>": SUPPLY},
    "sites": {
        "lon": LON,
        "lat": LAT,
        "existing_capacity": Number(MAX_TONNES, absent=0.0),
        "existing_fixed_cost": Number(MAX_AMOUNT, absent=0.0),
        "closure_cost": Number(MAX_AMOUNT, empty=float("nan"), absent=float("nan")),
        "group_capacity": Number(MAX_TONNES, empty=float("nan"), absent=float("nan")),
        "fixed_cost_factor": Number(100.0, absent=1.0),
        "recovery": Number(1.0, empty=float("nan"), absent=float("nan")),
    },
    "supply": {"tonnes": SUPPLY, "year": Number(maximum=9999.0, minimum=1000.0)},
    "distances": {"km": Number(maximum=1e6)},
}
"""Every numeric column the loader reads, by layer. An empty cell has a meaning only in
``closure_cost`` (the facility cannot close), a site's ``recovery`` (its tier's) and
``group_capacity`` (its capacity group's, given on another member, or no shared limit)."""

LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "regions": ("id", "name", "province", "supply", "supply_<stream>"),
    "sites": ("id", "name", "tier", "province", "existing_capacity", "existing_fixed_cost",
              "capacity_group", "group_capacity", "process", "closure_cost", "sizes", "streams",
              "fixed_cost_factor", "recovery"),
    "supply": ("region", "stream", "year", "tonnes"),
    "distances": ("origin", "destination", "km"),
}
"""Every column the loader reads, by layer (and ``lon``, ``lat`` of a CSV layer, read as
its geometry). Any other column is not read: see :func:`near_miss`."""

SHAPEFILE_NAME = 10  # a Shapefile (dBASE) keeps this many characters of a column name


def near_miss(column: str, known: list[str]) -> str | None:
    """Return the known column that ``column`` is a slip of, or None for an unrelated name.

    A slip differs in case, in ``_``, ``-`` or spaces, by a character or two of a long name
    (difflib ratio 0.85), or is a long name cut to a Shapefile's 10 characters.
    """
    def norm(name: str) -> str:
        return re.sub(r"[\s_-]+", "_", name.strip().casefold())

    by_norm = {norm(k): k for k in known}
    close = difflib.get_close_matches(norm(column), list(by_norm), n=1, cutoff=0.85)
    if close:
        return by_norm[close[0]]
    if len(column) == SHAPEFILE_NAME:
        return next((k for k in known if len(k) > SHAPEFILE_NAME and k.startswith(column)), None)
    return None


Tonnes = Annotated[float, Field(ge=0, le=MAX_TONNES, allow_inf_nan=False)]
PerTonne = Annotated[float, Field(ge=0, le=MAX_PER_TONNE, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Co2 = Annotated[float, Field(ge=0, le=MAX_CO2_KG, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1)]
Factor = Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]  # growth, cost factors
CostByStream = PerTonne | dict[str, PerTonne]
Co2ByStream = Co2 | dict[str, Co2]


class InstanceMeta(Strict):
    """Table ``[instance]``: name, description, currency, year."""

    name: Name = Field(min_length=1)
    description: str = ""
    currency: Name = "CNY"
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


class Periods(Strict):
    """Table ``[periods]``: the planning horizon.

    ``years`` are the first years of the periods, ``weights`` the number of years each
    stands for, ``discount_rate`` discounts every year to the first; ``growth`` (optional)
    multiplies a supply table without a year column, one factor per period.
    """

    years: list[int] = Field(min_length=1)
    weights: list[Annotated[int, Field(ge=1, le=100)]]
    discount_rate: Annotated[float, Field(ge=0, le=1)] = 0.0
    growth: list[Factor] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Periods:
        for name in ("weights", "growth"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.years):
                raise ValueError(f"{name} has {len(values)} values for {len(self.years)} years")
        for (year, weight), following in zip(zip(self.years, self.weights, strict=True),
                                             self.years[1:], strict=False):
            if year + weight > following:
                raise ValueError(f"period {year} stands for {weight} years, past the next "
                                 f"period {following}; years must increase without overlap")
        return self

    @property
    def start_discounts(self) -> list[float]:
        """Discount factor of a one-off cost at each period's start: (1 + r)^-(year - first)."""
        return [(1 + self.discount_rate) ** -(year - self.years[0]) for year in self.years]

    @property
    def discount_weights(self) -> list[float]:
        """Weight of each period: sum over the years it stands for of (1 + r)^-(year - first)."""
        first, r = self.years[0], self.discount_rate
        return [sum((1 + r) ** -(year + i - first) for i in range(weight))
                for year, weight in zip(self.years, self.weights, strict=True)]


class Material(Strict):
    """One ``[materials.<id>]`` table: a recovered material (Li, Co, Ni...) and its price."""

    label: Name = ""
    price: PerTonne  # per tonne of material recovered


class Stream(Strict):
    """One ``[streams.<id>]`` table: costs, penalty, emissions, value or material contents."""

    label: Name = ""
    transport_cost: PerTonne
    uncollected_penalty: PerTonne | None = None
    co2_kg_per_tkm: Co2 = 0.0
    value: PerTonne = 0.0
    contents: dict[str, Annotated[float, Field(ge=0, le=1)]] = {}
    """Tonnes of each material per tonne of the stream (its value then comes from them)."""

    @model_validator(mode="after")
    def _value_or_contents(self) -> Stream:
        if self.contents and self.value:
            raise ValueError("give value or contents, not both")
        if sum(self.contents.values()) > 1:
            raise ValueError("contents add up to more than one tonne per tonne")
        return self


class Size(Strict):
    """One size option of a tier: capacity, costs, minimum throughput."""

    name: Name = Field(min_length=1)
    capacity: Annotated[float, Field(gt=0, le=MAX_TONNES, allow_inf_nan=False)]
    fixed_cost: Amount = 0.0
    capex: Amount = 0.0
    min_throughput: Tonnes = 0.0

    @model_validator(mode="after")
    def _min_below_capacity(self) -> Size:
        if self.min_throughput > self.capacity:
            raise ValueError(f"min_throughput {self.min_throughput:g} exceeds capacity")
        return self


Rate = Annotated[float, Field(ge=0, le=1)]


class Process(Strict):
    """One ``[tiers.<last>.processes.<id>]`` table: a recycling process a plant may use.

    Its costs and emissions replace the tier's at a plant using it; ``recovery`` is the
    share of each material recovered (materials not listed are not recovered);
    ``cost_factor`` multiplies the sizes' fixed cost and capex.
    """

    label: Name = ""
    processing_cost: CostByStream = 0.0
    co2_kg_per_t: Co2ByStream = 0.0
    streams: list[str] | None = None
    recovery: dict[str, Rate] = {}
    cost_factor: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] = 1.0


class Branch(Strict):
    """A tier fed by a fixed share of what an earlier tier receives (second-life use).

    ``share`` (per stream) of the tonnes each ``source`` site receives (``scope = "each"``),
    or of all its sites together (``"all"``), goes to this tier; the rest moves on along
    the chain. A branch tier ends its flows.
    """

    source: str = Field(min_length=1)
    share: Rate | dict[str, Rate]
    scope: Literal["each", "all"] = "each"


class Tier(Strict):
    """One ``[tiers.<name>]`` table: per-tonne costs, emissions, recovery, sizes."""

    processing_cost: CostByStream = 0.0
    transport_cost_factor: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] = 1.0
    co2_kg_per_t: Co2ByStream = 0.0
    recovery: Share | dict[str, Share] | None = None
    sizes: list[Size] = []
    expansion: Literal["exclusive", "modules"] = "exclusive"
    """``exclusive``: a site opens at most one size; ``modules``: sizes are modules a site
    adds over time, up to ``max_modules`` of each (needs ``[periods]``)."""
    max_modules: Annotated[int, Field(ge=1, le=100)] = 4
    processes: dict[str, Process] = {}
    branch: Branch | None = None

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
    periods: Periods | None = None
    materials: dict[str, Material] = {}
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
        for stream_id, stream in self.streams.items():
            unknown = sorted(set(stream.contents) - set(self.materials))
            if unknown:
                raise ValueError(f"streams.{stream_id}.contents: unknown materials {unknown}; "
                                 f"expected some of {sorted(self.materials)}")
        for tier_name, tier in self.tiers.items():
            for name, process in tier.processes.items():
                where = f"tiers.{tier_name}.processes.{name}"
                if tier_name != list(self.tiers)[-1]:
                    raise ValueError(f"{where}: processes belong to the last tier")
                unknown = sorted(set(process.streams or []) - set(self.streams))
                for field in ("processing_cost", "co2_kg_per_t"):
                    value = getattr(process, field)
                    if isinstance(value, dict):
                        unknown += sorted(set(value) - set(self.streams))
                if unknown:
                    raise ValueError(f"{where}: unknown streams {unknown}")
                if set(process.recovery) - set(self.materials):
                    raise ValueError(f"{where}.recovery: unknown materials "
                                     f"{sorted(set(process.recovery) - set(self.materials))}")
        chain = [name for name, tier in self.tiers.items() if tier.branch is None]
        for name, tier in self.tiers.items():
            if tier.branch is not None and tier.branch.source not in chain[:-1]:
                raise ValueError(f"tiers.{name}.branch.source: expected one of {chain[:-1]}, "
                                 "a tier before the last of the chain")
            if tier.branch is not None and isinstance(tier.branch.share, dict):
                unknown = sorted(set(tier.branch.share) - set(self.streams))
                if unknown:
                    raise ValueError(f"tiers.{name}.branch.share: unknown streams {unknown}")
        if list(self.tiers)[-1] not in chain:
            raise ValueError("the last tier processes: it cannot be a branch")
        modular = [name for name, tier in self.tiers.items() if tier.expansion == "modules"]
        if modular and self.periods is None:
            raise ValueError(f"tiers.{modular[0]}.expansion = 'modules' needs [periods]")
        with_processes = [name for name, tier in self.tiers.items() if tier.processes]
        if with_processes and self.periods is None:
            raise ValueError(f"tiers.{with_processes[0]}.processes needs [periods]")
        if set(with_processes) & set(modular):
            raise ValueError(f"tiers.{modular[0]}: processes with modules are not supported")
        if self.distance.method == "matrix" and self.layers.distances is None:
            raise ValueError("distance.method = 'matrix' needs layers.distances")
        return self


def per_stream(value: float | dict[str, float], stream: str) -> float:
    """Value of a number-or-per-stream-table field for one stream (0 where not listed)."""
    if isinstance(value, dict):
        return float(value.get(stream, 0.0))
    return float(value)
