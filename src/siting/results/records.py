"""What a run folder's files hold (docs/run-folder.md), checked whenever one is read back.

A run folder can be edited, truncated or made by hand; reading one checks the keys and
types of ``solution.json`` and the columns of each CSV table, so that a malformed folder
is one line naming the file and the field, never a traceback later. Keys beyond these
are kept as they are.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Record(BaseModel):
    """A table of solution.json: the keys below are required, others are kept."""

    model_config = ConfigDict(extra="allow")


class InstanceRecord(Record):
    """The instance a run was solved from."""

    name: str
    path: str | None
    absolute_path: str | None = None
    hash: str
    currency: str


class ObjectiveRecord(Record):
    """The objective mode of the scenario."""

    mode: str


class ScenarioRecord(Record):
    """The resolved scenario: its name, objective and policies."""

    name: str
    file: str | None = None
    objective: ObjectiveRecord
    policies: list[dict[str, Any]]


class StreamRecord(Record):
    """A waste stream and its label."""

    id: str
    label: str


class CostRecord(Record):
    """The cost terms of the cost objective."""

    fixed: float
    capex: float
    transport: float
    processing: float
    penalty: float
    policies: float


class MaterialRecord(Record):
    """Tonnes and value recovered of one material."""

    recovered_t: float
    value: float


class ShareRecord(Record):
    """Supply, tonnes collected and the collection rate of a stream or a province."""

    supply_t: float
    collected_t: float
    collection_rate: float | None


class TierRecord(Record):
    """Facilities open and new, capacity, throughput and utilisation of one tier."""

    open: int
    new: int
    capacity_t: float
    throughput_t: float
    utilisation: float | None


class KpiRecord(Record):
    """The key figures of a run."""

    total_cost: float
    cost: CostRecord
    capex_total: float
    supply_t: float
    collected_t: float
    collection_rate: float | None
    uncollected_t: float
    capacity_t: float
    capacity_existing_t: float
    capacity_new_t: float
    throughput_t: float
    utilisation: float | None
    capacity_to_supply: float | None
    tonne_km: float
    co2_t: float
    recovered_value: float
    materials: dict[str, MaterialRecord]
    facilities_open: dict[str, int]
    facilities_new: dict[str, int]
    by_tier: dict[str, TierRecord]
    by_stream: dict[str, ShareRecord]
    by_province: dict[str, ShareRecord]


class PeriodsRecord(Record):
    """The ``[periods]`` table of a multi-period run."""

    years: list[int]


class SolverRecord(Record):
    """The solver profile of a run: its gap and its HiGHS options."""

    mip_rel_gap: float
    options: dict[str, bool | int | float | str] = {}


class MarginalRecord(Record):
    """What one policy row costs at the margin, in the LP with the network fixed."""

    policy: str
    constraint: str
    group: str | None
    value: float = Field(ge=0)
    unit: str
    meaning: str
    year: int | None = None


class StageRecord(Record):
    """One stage of a staged objective: its optimum and HiGHS's bound (None: not solved)."""

    name: str
    objective: float | None
    best_bound: float | None


class RunRecord(Record):
    """The contents of solution.json."""

    instance: InstanceRecord
    scenario: ScenarioRecord
    solver: SolverRecord
    streams: list[StreamRecord]
    tiers: list[str]
    status: str
    status_text: str
    solver_status: str
    objective: float
    best_bound: float | None
    mip_gap: float | None
    highs_bound: float | None = None  # absent from a period of a horizon run
    bound_valid: bool | None = None
    bound_source: str | None = None
    marginal_costs: list[MarginalRecord] | None = None
    timings: dict[str, float]
    kpis: KpiRecord
    periods: PeriodsRecord | None = None
    period: int | None = None
    stages: list[StageRecord] | None = None


TEXT = ("id", "name", "province", "tier", "size", "origin", "origin_name", "destination",
        "destination_name", "stream", "origin_type", "location", "process")
FLAGS = ("existing", "open", "new")
MAY_BE_EMPTY = ("utilisation", "collection_rate", "build_year")
KEYS = {"facilities": ("id",), "regions": ("id",),  # no two rows of a table share these
        "flows": ("origin_type", "origin", "destination", "stream")}
COLUMNS = {
    "facilities": ("id", "name", "tier", "province", "lon", "lat", "existing", "open", "new",
                   "size", "existing_capacity", "new_capacity", "capacity", "throughput",
                   "utilisation", "fixed_cost", "capex"),
    "flows": ("origin", "origin_name", "origin_type", "destination", "destination_name",
              "stream", "tonnes", "km",
              "transport_cost", "processing_cost", "co2_t", "revenue"),
    "regions": ("id", "name", "province", "lon", "lat", "supply", "collected", "uncollected",
                "collection_rate"),
}
