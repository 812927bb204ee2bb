"""``force_open`` and ``forbid``: fix sites open or closed (what-if questions)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import Field

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register

if TYPE_CHECKING:
    import pyomo.environ as pyo


class _SiteList(Policy):
    sites: list[str] = Field(min_length=1)
    opened: ClassVar[bool] = True

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the sites exist; an existing facility cannot be forbidden (it is built)."""
        known = instance.sites.set_index("id")["existing_capacity"]
        missing = sorted(set(self.sites) - set(known.index))
        if missing:
            return "sites", f"unknown sites {missing}"
        if not self.opened and (known[self.sites] > 0).any():
            return "sites", "existing facilities are always open; they cannot be forbidden"
        return None

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """One row per listed site: open (or closed)."""
        position = {s: i for i, s in enumerate(net.instance.sites["id"])}
        sites = [position[s] for s in self.sites if net.site_existing[position[s]] == 0]
        target = 1 if self.opened else 0

        @block.Constraint(sites)
        def fixed(b, f):
            return m.is_open[f] == target

    def check(self, run: RunView) -> list[str]:
        """Open status of the listed sites in the facilities table."""
        status = run.facilities.set_index("id")["open"].reindex(self.sites)
        wrong = status[np.asarray(status) != self.opened]
        state = "closed" if self.opened else "open"
        return [f"{self.type}: site {s} is {state}" for s in wrong.index]


@register
class ForceOpen(_SiteList):
    """Open the listed sites (at a size the model chooses).

    Formulation: ``sum_l b[f,l] = 1`` for each listed candidate site.
    """

    type: Literal["force_open"] = "force_open"
    summary = "fixes the listed sites open"
    counts_sites = True
    unit = "facilities"
    one_more = "keeping the site open"


@register
class Forbid(_SiteList):
    """Keep the listed candidate sites closed.

    Formulation: ``sum_l b[f,l] = 0`` for each listed site.
    """

    type: Literal["forbid"] = "forbid"
    summary = "fixes the listed sites closed"
    unit = "facilities"
    one_more = "keeping the site closed"
    opened: ClassVar[bool] = False
