"""``facility_count``: bounds on the number of open facilities (p-median as a special case)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register, sites_of_tier, unknown_tier

if TYPE_CHECKING:
    import pyomo.environ as pyo

Count = Annotated[int, Field(ge=0, le=1_000_000)]


@register
class FacilityCount(Policy):
    """Keep the number of open facilities between ``min`` and ``max``, or at ``exactly``.

    Only facilities of ``tier`` count, and only new ones with ``new_only``.

    Formulation: ``min <= sum_f open[f] <= max``.
    """

    type: Literal["facility_count"] = "facility_count"
    summary = "bounds the number of open facilities (planning caps; p-median with exactly)"
    priced = True
    relaxed = True
    counts_sites = True
    unit = "facilities"
    one_more = "one facility more or fewer, at the limit that binds"
    min: Count | None = None
    max: Count | None = None
    exactly: Count | None = None
    tier: str | None = None
    new_only: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> FacilityCount:
        if self.exactly is not None and (self.min is not None or self.max is not None):
            raise ValueError("give exactly, or min and/or max, not both")
        if self.exactly is None and self.min is None and self.max is None:
            raise ValueError("give exactly, min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min exceeds max")
        return self

    @property
    def bounds(self) -> tuple[int | None, int | None]:
        """(lower, upper) number of facilities."""
        if self.exactly is not None:
            return self.exactly, self.exactly
        return self.min, self.max

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the tier exists."""
        return unknown_tier(self.tier, instance)

    def counted(self, sites, existing: np.ndarray) -> list[int]:
        """Positions of the counted sites in ``sites`` (existing capacity ``existing``)."""
        mask = sites_of_tier(sites, self.tier)
        if self.new_only:
            mask &= existing == 0
        return np.flatnonzero(mask).tolist()

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One row bounding the count."""
        import pyomo.environ as pyo

        counted = self.counted(net.instance.sites, net.site_existing)
        lower, upper = self.bounds
        block.count = pyo.Constraint(expr=pyo.inequality(
            lower, pyo.quicksum(m.is_open[f] for f in counted), upper))

    def check(self, run: RunView) -> list[str]:
        """Count open facilities in the facilities table."""
        fac = run.facilities
        counted = fac.iloc[self.counted(fac, fac["existing_capacity"].to_numpy())]
        n = int(counted["open"].sum())
        lower, upper = self.bounds
        if (lower is not None and n < lower) or (upper is not None and n > upper):
            return [f"facility_count: {n} open, expected within [{lower}, {upper}]"]
        return []
