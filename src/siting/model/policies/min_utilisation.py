"""``min_utilisation``: every open facility runs at least at a share of its capacity."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register, sites_of_tier, unknown_tier

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class MinUtilisation(Policy):
    """Each open facility (of ``tier``, or all) processes at least ``share`` of its capacity.

    Formulation: ``throughput[f] >= share * capacity[f]`` (capacity is 0 when closed;
    existing facilities are always open, so they must be fed).
    """

    type: Literal["min_utilisation"] = "min_utilisation"
    summary = "every open facility processes >= share x its capacity (against overcapacity)"
    one_more = "one more tonne through the facility"
    share: Annotated[float, Field(ge=0, le=1)]
    tier: str | None = None

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the tier exists."""
        return unknown_tier(self.tier, instance)

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One row per facility of the tier, indexed by site id (marginal costs name it)."""
        ids = net.instance.sites["id"].astype(str).to_numpy()
        index = {ids[f]: int(f) for f in np.flatnonzero(sites_of_tier(net.instance.sites,
                                                                       self.tier))}

        @block.Constraint(list(index))
        def utilised(b, site):
            f = index[site]
            return m.throughput[f] >= self.share * m.capacity[f]

    def check(self, run: RunView) -> list[str]:
        """Utilisation of open facilities in the facilities table."""
        fac = run.facilities[sites_of_tier(run.facilities, self.tier) & run.facilities["open"]]
        low = fac[fac["throughput"] < self.share * fac["capacity"] - 1e-6 * fac["capacity"].clip(1)]
        return [f"min_utilisation: {r.id} runs at {r.throughput / r.capacity:.2%}"
                for r in low.head(3).itertuples()]
