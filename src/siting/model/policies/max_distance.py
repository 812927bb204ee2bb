"""``max_distance``: no arc longer than ``km`` (hazardous-goods haul limits, service radius)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register, unknown_tier


@register
class MaxDistance(Policy):
    """Remove every arc longer than ``km`` (into sites of ``tier``, or all arcs).

    Formulation: ``x[a,s] = 0`` for ``d[a] > km``, by leaving those arcs out of the model.
    """

    type: Literal["max_distance"] = "max_distance"
    summary = "arcs longer than km are removed (haul limits, service radius)"
    unit = "km"
    km: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    tier: str | None = None

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the tier exists."""
        return unknown_tier(self.tier, instance)

    def prepare(self, net: Network) -> Network:
        """Drop the flows on arcs that are too long."""
        too_long = net.arc_km[net.flow_arc] > self.km
        if self.tier is not None:
            tier = net.instance.tiers.index(self.tier)
            too_long &= net.site_tier[net.flow_dest] == tier
        return net.keep_flows(~too_long)

    def check(self, run: RunView) -> list[str]:
        """No flow on an arc longer than km."""
        flows = run.flows
        if self.tier is not None:
            tiers = run.instance.sites.set_index("id")["tier"]
            flows = flows[flows["destination"].map(tiers) == self.tier]
        long = flows[flows["km"] > self.km * (1 + 1e-9)]
        return [f"max_distance: {r.origin} -> {r.destination} is {r.km:.1f} km > {self.km:g}"
                for r in long.head(3).itertuples()]
