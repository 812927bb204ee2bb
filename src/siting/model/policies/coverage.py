"""``coverage``: an open first-tier facility within reach of every region (or of a share)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
from pydantic import Field

from siting.instance.network import Network
from siting.model.policies.base import SPHERE, Policy, RunView, register

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class Coverage(Policy):
    """Cover regions with an open first-tier facility within ``km`` (arc length).

    Every region with supply is covered or, with ``share``, regions holding that share of supply.

    Formulation: ``c[r] <= sum_{f: d[r,f] <= km} open[f]``, ``0 <= c[r] <= 1``, and
    ``c[r] = 1`` for all r, or ``sum_r q[r] c[r] >= share * sum_r q[r]``.
    """

    type: Literal["coverage"] = "coverage"
    summary = "every region (or a share of supply) has an open first-tier facility within km"
    one_more = "covering one more tonne of supply (or one more region)"
    km: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    share: Annotated[float, Field(gt=0, le=1)] | None = None

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Covered indicators per region and the coverage row(s)."""
        import pyomo.environ as pyo

        q = net.supply.sum(axis=1)
        near = net.arc_from_region & (net.arc_km <= self.km)
        reach = {r: sorted(set(net.arc_dest[near & (net.arc_origin == r)].tolist()))
                 for r in np.flatnonzero(q > 0).tolist()}
        block.REGIONS = pyo.Set(initialize=list(reach))
        block.covered = pyo.Var(block.REGIONS, bounds=(0, 1))

        @block.Constraint(block.REGIONS)
        def reached(b, r):
            return b.covered[r] <= pyo.quicksum(m.is_open[f] for f in reach[r])

        total = float(q.sum())
        share = 1.0 if self.share is None else self.share
        block.enough = pyo.Constraint(
            expr=pyo.quicksum(float(q[r]) * block.covered[r] for r in reach) >= share * total)

    def check(self, run: RunView) -> list[str]:
        """Recompute coverage from the open sites, with geodesic distances."""
        inst = run.instance
        fac = run.facilities
        first = fac[(fac["tier"] == inst.tiers[0]) & fac["open"]]
        regions = run.regions[run.regions["supply"] > 0]
        circuity = inst.spec.distance.circuity
        covered = 0.0
        for r in regions.itertuples():
            _, _, m = SPHERE.inv(np.full(len(first), r.lon), np.full(len(first), r.lat),
                               first["lon"].to_numpy(), first["lat"].to_numpy())
            if len(first) and (np.asarray(m) / 1000 * circuity <= self.km * 1.005).any():
                covered += r.supply
        total = float(regions["supply"].sum())
        share = 1.0 if self.share is None else self.share
        if covered < share * total - 1e-6 * max(total, 1.0):
            return [f"coverage: {covered / total:.2%} of supply within {self.km:g} km, "
                    f"expected {share:.0%}"]
        return []
