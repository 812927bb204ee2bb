"""``min_recovery``: a stream may only go to plants whose recovery rate meets a floor."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from pydantic import Field

from siting.instance.load import Instance
from siting.instance.network import Network, recovery_rates
from siting.model.policies.base import Policy, RunView, register


@register
class MinRecovery(Policy):
    """Send ``stream`` only to last-tier plants recovering at least ``rate`` of it.

    Formulation: ``x[a,s] = 0`` into plants with ``rec[f,s] < rate``, by leaving those
    arcs out of the model. Plants with no stated rate are treated as failing the floor.
    """

    type: Literal["min_recovery"] = "min_recovery"
    summary = "a stream may only go to plants whose recovery rate >= rate"
    reads_tier_rates = True
    unit = "share"
    stream: str
    rate: Annotated[float, Field(ge=0, le=1)]

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the stream exists."""
        if self.stream not in instance.streams:
            return "stream", f"unknown stream {self.stream!r}; expected one of {instance.streams}"
        return None

    def prepare(self, net: Network) -> Network:
        """Drop the stream's flows into plants below the floor."""
        inst = net.instance
        ok = recovery_rates(inst)[:, inst.streams.index(self.stream)] >= self.rate
        last = net.n_tiers - 1
        blocked = ((net.flow_stream == inst.streams.index(self.stream))
                   & (net.site_tier[net.flow_dest] == last) & ~ok[net.flow_dest])
        return net.keep_flows(~blocked)

    def check(self, run: RunView) -> list[str]:
        """No tonnes of the stream at a plant below the floor."""
        inst = run.instance
        rates = pd.Series(recovery_rates(inst)[:, inst.streams.index(self.stream)],
                          index=inst.sites["id"])
        flows = run.flows[run.flows["stream"] == self.stream]
        flows = flows[flows["destination"].map(run.instance.sites.set_index("id")["tier"])
                      == run.instance.tiers[-1]]
        low = flows[~(flows["destination"].map(rates) >= self.rate)]
        return [f"min_recovery: {r.tonnes:.3g} t of {self.stream} to {r.destination}"
                for r in low.head(3).itertuples()]
