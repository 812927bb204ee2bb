"""``min_collection_rate``: collected tonnes >= rate x supply (collection mandates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import (
    Policy,
    RunView,
    Scope,
    groups_of,
    register,
    unknown_provinces,
)

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class MinCollectionRate(Policy):
    """Collect at least ``rate`` of supply, overall, per listed province group, or in each.

    Formulation: ``sum_{r in g, s} q[r,s] - u[r,s] >= rate * sum_{r in g, s} q[r,s]`` for each
    group g of the scope (for one stream if ``stream`` is given).
    """

    type: Literal["min_collection_rate"] = "min_collection_rate"
    summary = "collected tonnes >= rate x supply (collection mandates, EPR targets)"
    one_more = "collecting one more tonne"
    rate: Annotated[float, Field(ge=0, le=1)]
    scope: Scope = "all"
    stream: str | None = None

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the stream and provinces exist."""
        if self.stream is not None and self.stream not in instance.streams:
            return "stream", f"unknown stream {self.stream!r}; expected one of {instance.streams}"
        return unknown_provinces(self.scope, instance)

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Add one row per province group."""
        import pyomo.environ as pyo

        regions = net.instance.regions
        streams = net.instance.streams
        province = regions["province"].to_numpy()[m.supplied_r]
        in_stream = (np.ones(len(m.supplied_s), dtype=bool) if self.stream is None
                     else m.supplied_s == streams.index(self.stream))
        q = net.supply[m.supplied_r, m.supplied_s]
        rows = {}
        for group, members in groups_of(self.scope, regions["province"]).items():
            pairs = np.flatnonzero(np.isin(province, members) & in_stream).tolist()
            if pairs:
                rows[group] = pairs
        uncollectable = set(m.UNCOLLECTABLE)

        @block.Constraint(list(rows))
        def collected(b, group):
            pairs = rows[group]
            gap = pyo.quicksum(m.uncollected[i] for i in pairs if i in uncollectable)
            return gap <= (1 - self.rate) * float(q[pairs].sum())

    def check(self, run: RunView) -> list[str]:
        """Check the collected share per group from the regions table."""
        regions = run.regions
        suffix = f"_{self.stream}" if self.stream else ""
        out = []
        for group, members in groups_of(self.scope, regions["province"]).items():
            rows = regions[regions["province"].isin(members)]
            supply = float(rows[f"supply{suffix}"].sum())
            collected = float(rows[f"collected{suffix}"].sum())
            if supply > 0 and collected < self.rate * supply - 1e-6 * max(supply, 1.0):
                out.append(f"min_collection_rate: {group} collects {collected / supply:.4%} "
                           f"< {self.rate:.2%}")
        return out
