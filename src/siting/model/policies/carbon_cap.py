"""``carbon_cap``: total emissions stay under a cap."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field

from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, exceeds, register
from siting.model.policies.carbon_price import emissions_t

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class CarbonCap(Policy):
    """Emit at most ``tonnes_co2`` (transport and processing).

    Formulation: ``sum_{a,s} e[a,s] * x[a,s] <= cap``.
    """

    type: Literal["carbon_cap"] = "carbon_cap"
    summary = "total emissions <= cap (climate targets)"
    reads_tier_rates = True
    unit = "t CO2"
    one_more = "emitting one tonne of CO2 less"
    tonnes_co2: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One emissions row."""
        import pyomo.environ as pyo

        block.cap = pyo.Constraint(expr=m.co2_t <= self.tonnes_co2)

    def check(self, run: RunView) -> list[str]:
        """Emissions recomputed from the flows."""
        emitted = emissions_t(run)
        return [f"carbon_cap: {emitted:,.1f} t CO2 > {self.tonnes_co2:,.1f}"] if exceeds(
            emitted, self.tonnes_co2) else []
