"""``cost_scale``: scale transport costs, fixed costs and material values (price sensitivity)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register

if TYPE_CHECKING:
    import pyomo.environ as pyo

Factor = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]


@register
class CostScale(Policy):
    """Multiply transport costs, fixed costs and the value of material by factors.

    ``transport`` scales transport costs, ``fixed`` the yearly fixed costs and annualised
    capex, ``value`` the value of material, priced in the model as the penalty on each
    uncollected tonne.

    Formulation: a cost term ``(transport-1) C_tr + (fixed-1) (C_fix + C_capex) +
    (value-1) C_pen`` on top of the core terms, so the core cost terms keep their
    nominal values and this policy's term is the change.
    """

    type: Literal["cost_scale"] = "cost_scale"
    summary = "scales transport costs, fixed costs and material values (price sensitivity)"
    transport: Factor = 1.0
    fixed: Factor = 1.0
    value: Factor = 1.0

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Add the change of cost as this block's objective term."""
        import pyomo.environ as pyo

        block.cost = pyo.Expression(expr=(self.transport - 1) * m.cost_transport
                                    + (self.fixed - 1) * (m.cost_fixed + m.cost_capex)
                                    + (self.value - 1) * m.cost_penalty)

    def cost(self, run: RunView) -> float:
        """Recompute the change of cost from the verifier's own core cost terms."""
        core = run.costs
        return ((self.transport - 1) * core["transport"]
                + (self.fixed - 1) * (core["fixed"] + core["capex"])
                + (self.value - 1) * core["penalty"])
