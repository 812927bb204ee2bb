"""``whitelist_only``: no new facilities; only the existing (certified) ones operate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register, sites_of_tier, unknown_tier

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class WhitelistOnly(Policy):
    """Build nothing new (at ``tier``, or anywhere): only existing facilities operate.

    Formulation: ``sum_{f in tier, l} b[f,l] = 0``.
    """

    type: Literal["whitelist_only"] = "whitelist_only"
    summary = "no new facilities at that tier; only existing (certified) ones"
    unit = "facilities"
    tier: str | None = None

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the tier exists."""
        return unknown_tier(self.tier, instance)

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One row: no build option of the tier is chosen."""
        import pyomo.environ as pyo

        in_tier = sites_of_tier(net.instance.sites, self.tier)[net.option_site]
        options = np.flatnonzero(in_tier).tolist()
        block.no_new = pyo.Constraint(expr=pyo.quicksum(m.build[j] for j in options) <= 0)

    def check(self, run: RunView) -> list[str]:
        """No size built at the tier in the facilities table."""
        fac = run.facilities[sites_of_tier(run.facilities, self.tier)]
        new = fac[fac["size"].astype(str) != ""]
        return [f"whitelist_only: new facility {r.id} ({r.size})" for r in new.head(3).itertuples()]
