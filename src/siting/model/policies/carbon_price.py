"""``carbon_price``: a price on transport and processing emissions in the objective."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from siting.instance.network import Network
from siting.instance.schema import PerTonne, per_stream
from siting.model.policies.base import Policy, RunView, register

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class CarbonPrice(Policy):
    """Add ``per_tonne_co2`` times emissions (transport t-km x factor + processing) to cost.

    Formulation: adds ``price * sum_{a,s} e[a,s] * x[a,s]`` to the objective.
    """

    type: Literal["carbon_price"] = "carbon_price"
    summary = "adds price x emissions (transport and processing) to the objective"
    reads_tier_rates = True
    per_tonne_co2: PerTonne

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Set the carbon cost as the block's cost term."""
        import pyomo.environ as pyo

        block.cost = pyo.Expression(expr=self.per_tonne_co2 * m.co2_t)

    def cost(self, run: RunView) -> float:
        """Price times the emissions recomputed from the flows and the instance factors."""
        return self.per_tonne_co2 * emissions_t(run)


def emissions_t(run: RunView) -> float:
    """Tonnes of CO2 of a solution: transport t-km x stream factor + processing factor."""
    spec = run.instance.spec
    tiers = run.flows["destination"].map(run.instance.sites.set_index("id")["tier"])
    legs = zip(run.flows["tonnes"], run.flows["km"], run.flows["stream"], tiers, strict=True)
    kg = [t * km * spec.streams[s].co2_kg_per_tkm + t * per_stream(spec.tiers[tier].co2_kg_per_t, s)
          for t, km, s, tier in legs]
    return sum(kg) / 1000
