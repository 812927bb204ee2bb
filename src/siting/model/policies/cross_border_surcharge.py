"""``cross_border_surcharge``: a cost on every tonne crossing a province border."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from siting.instance.network import Network
from siting.instance.schema import PerTonne
from siting.model.policies.base import Policy, RunView, register
from siting.model.policies.in_province_share import flow_provinces

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class CrossBorderSurcharge(Policy):
    """Charge ``per_tonne`` on every tonne shipped between provinces (permits, manifests).

    Formulation: adds ``per_tonne * sum_{a crossing} x[a,s]`` to the objective.
    """

    type: Literal["cross_border_surcharge"] = "cross_border_surcharge"
    summary = "extra cost per tonne crossing a province border"
    per_tonne: PerTonne
    by: Literal["province"] = "province"

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Set the surcharge as the block's cost term."""
        import pyomo.environ as pyo

        origin, dest = flow_provinces(net)
        crossing = np.flatnonzero(origin != dest).tolist()
        block.cost = pyo.Expression(expr=self.per_tonne * pyo.quicksum(m.flow[k] for k in crossing))

    def cost(self, run: RunView) -> float:
        """Surcharge on the tonnes that cross a border in the flows table."""
        origin, dest = run.flow_provinces()
        return self.per_tonne * float(run.flows["tonnes"][origin != dest].sum())
