"""``fixed_network``: build exactly a given network; only the flows are optimised."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from siting.instance.load import Instance
from siting.instance.network import Network
from siting.model.policies.base import Policy, RunView, register

if TYPE_CHECKING:
    import pyomo.environ as pyo


@register
class FixedNetwork(Policy):
    """Build the sizes listed in ``builds`` (site id -> size) and nothing else.

    Formulation: ``b[f,l] = 1`` for each listed (site, size), ``b[f,l] = 0`` for every other
    build option, as fixed variables: the model is a linear programme over the flows. It
    evaluates a network under other data (robust siting's regret) or prices a given plan.
    """

    type: Literal["fixed_network"] = "fixed_network"
    summary = "builds exactly the listed sites at the listed sizes; re-optimises the flows"
    unit = "facilities"
    builds: dict[str, str] = {}

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that every site exists and allows its size."""
        allowed = instance.sites.set_index("id")["sizes"]
        for site, size in self.builds.items():
            if site not in allowed.index:
                return "builds", f"unknown site {site!r}"
            if size not in allowed[site]:
                return "builds", f"site {site!r} cannot be built at size {size!r}"
        return None

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Fix every build variable to whether its option is listed."""
        ids = net.instance.sites["id"].to_numpy()
        for j, (f, size) in enumerate(zip(net.option_site, net.option_size, strict=True)):
            m.build[j].fix(int(self.builds.get(ids[f]) == size))

    def check(self, run: RunView) -> list[str]:
        """Check that the sizes built in the facilities table are exactly the listed ones."""
        sizes = run.facilities.set_index("id")["size"].astype(str)
        built = {site: size for site, size in sizes.items() if size}
        wrong = sorted(set(built.items()) ^ set(self.builds.items()))
        return [f"fixed_network: {site} built at {built.get(site) or 'no size'}, listed "
                f"{self.builds.get(site) or 'none'}" for site, _ in wrong[:3]]
