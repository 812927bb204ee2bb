"""``in_province_share``: tonnes kept inside their province >= share (hazardous-waste transfer)."""

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


def flow_provinces(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Province of the origin and of the destination of every flow of the network."""
    regions = net.instance.regions["province"].to_numpy()
    sites = net.instance.sites["province"].to_numpy()
    origin = net.flow_origin
    from_region = net.flow_from_region
    origin_prov = np.where(from_region, regions[np.where(from_region, origin, 0)],
                           sites[np.where(from_region, 0, origin)])
    return origin_prov, sites[net.flow_dest]


@register
class InProvinceShare(Policy):
    """Ship at least ``share`` of the tonnes collected in a province within the province.

    This holds for the tonnes leaving the province's regions and sites, on every leg of the
    network. Tonnes left uncollected do not count: a province meets the rule by collecting
    less, down to nothing (the console's by-province table shows it).

    Formulation: ``sum_{a from p to p} x[a,s] >= share * sum_{a from p} x[a,s]`` per group of
    the scope. With one tier this is exactly "processed in the province of origin".
    """

    type: Literal["in_province_share"] = "in_province_share"
    summary = ("tonnes processed in their province of origin >= share x tonnes collected "
               "there (not x supply: collecting less also meets it)")
    one_more = "processing one more tonne inside its province"
    share: Annotated[float, Field(ge=0, le=1)]
    scope: Scope = "each"

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the provinces exist."""
        return unknown_provinces(self.scope, instance)

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One row per province group."""
        import pyomo.environ as pyo

        origin, dest = flow_provinces(net)
        rows = {}
        for group, members in groups_of(self.scope, net.instance.regions["province"]).items():
            leaving = np.isin(origin, members)
            if leaving.any():
                rows[group] = (np.flatnonzero(leaving).tolist(),
                               np.flatnonzero(leaving & (origin == dest)).tolist())

        @block.Constraint(list(rows))
        def kept(b, group):
            leaving, kept_flows = rows[group]
            return (pyo.quicksum(m.flow[k] for k in kept_flows)
                    >= self.share * pyo.quicksum(m.flow[k] for k in leaving))

    def check(self, run: RunView) -> list[str]:
        """Kept share per group from the flows table."""
        origin, dest = run.flow_provinces()
        tonnes = run.flows["tonnes"]
        out = []
        for group, members in groups_of(self.scope, run.instance.regions["province"]).items():
            leaving = origin.isin(members)
            total = float(tonnes[leaving].sum())
            kept = float(tonnes[leaving & (origin == dest)].sum())
            if kept < self.share * total - 1e-6 * max(total, 1.0):
                out.append(f"in_province_share: {group} keeps {kept:.6g} of {total:.6g} t")
        return out
