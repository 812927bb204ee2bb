"""``capex_budget``: the up-front cost of new builds stays within a budget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, exceeds, register

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class CapexBudget(Policy):
    """Spend at most ``amount`` on capex of new facilities.

    Formulation: ``sum_{f,l} capex[f,l] * b[f,l] <= amount``.
    """

    type: Literal["capex_budget"] = "capex_budget"
    summary = "sum of capex of new builds <= amount (public budget)"
    per_period = "its budget would be spent again in every period"
    unit = "currency"
    one_more = "a capex budget one {currency} smaller"
    amount: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One budget row."""
        import pyomo.environ as pyo

        capex = net.option_capex.tolist()
        block.budget = pyo.Constraint(
            expr=pyo.quicksum(capex[j] * m.build[j] for j in m.OPTIONS) <= self.amount)

    def check(self, run: RunView) -> list[str]:
        """Total capex in the facilities table."""
        spent = float(run.facilities["capex"].sum())
        return [f"capex_budget: {spent:,.0f} spent > {self.amount:,.0f}"] if exceeds(
            spent, self.amount) else []
