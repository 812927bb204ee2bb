"""A fast constructive heuristic for one-tier networks, used as HiGHS's MIP start.

DROP with resizing, the classic heuristic for capacitated facility location: open every
candidate site at its largest size, route greedily, give each site the cheapest size that
holds what it received; then try closing open sites one by one, least used first, and keep
every closure that lowers the total cost. Routing is greedy (largest supplies first, each
to its cheapest site with room left, the rest uncollected where that is cheaper), so the
costs are upper bounds; HiGHS re-routes optimally from the builds it is given.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from siting.instance.network import Network

MANDATORY = 1e12  # price of a tonne that must be collected but found no room


class Router:
    """Greedy routing of every supplied (region, stream) pair, prepared once per network."""

    def __init__(self, net: Network):
        region = np.flatnonzero(net.flow_from_region)
        n_streams = net.supply.shape[1]
        pair = net.flow_origin[region] * n_streams + net.flow_stream[region]
        cost = net.flow_cost[region]
        order = np.lexsort((cost, pair))
        region, pair, cost = region[order], pair[order], cost[order]
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        ends = np.r_[starts[1:], len(pair)]
        key = pair[starts]
        supply = net.supply.ravel()[key]
        penalty = np.nan_to_num(net.penalty[key % n_streams], nan=MANDATORY)
        by_size = np.argsort(-supply, kind="stable")
        self.sorted_pair, self.sorted_dest = pair, net.flow_dest[region]
        self.pair_supply = net.supply.ravel()
        dest = self.sorted_dest.tolist()
        cost_list = cost.tolist()
        self.pairs = [(supply[p], penalty[p], dest[starts[p]:ends[p]],
                       cost_list[starts[p]:ends[p]]) for p in by_size.tolist()]
        self.n_sites = len(net.site_tier)

    def neighbours(self, k: int) -> list[np.ndarray]:
        """Per site, up to ``k`` sites it competes with most, by tonnes of supply.

        Two sites compete for a (region, stream) pair's tonnes when they are next to each
        other in the pair's arcs sorted by cost; the weight is the pair's supply.
        """
        same = self.sorted_pair[1:] == self.sorted_pair[:-1]
        a, b = self.sorted_dest[:-1][same], self.sorted_dest[1:][same]
        weight = np.zeros((self.n_sites, self.n_sites))
        np.add.at(weight, (a, b), self.pair_supply[self.sorted_pair[1:][same]])
        weight += weight.T
        np.fill_diagonal(weight, 0.0)
        ranked = np.argsort(-weight, axis=1, kind="stable")[:, :k]
        return [row[weight[f, row] > 0] for f, row in enumerate(ranked)]

    def route(self, capacity: np.ndarray) -> tuple[float, np.ndarray]:
        """Cost of routing and penalties, and tonnes received per site, under ``capacity``."""
        room = capacity.tolist()
        received = [0.0] * self.n_sites
        total = 0.0
        for need, penalty, dests, costs in self.pairs:
            for f, c in zip(dests, costs, strict=True):
                if c >= penalty or need <= 0:
                    break
                take = min(need, room[f])
                if take > 0:
                    room[f] -= take
                    received[f] += take
                    total += take * c
                    need -= take
            total += max(need, 0.0) * penalty
        return total, np.array(received)


def greedy_builds(net: Network, stop: Callable[[], bool] | None = None) -> np.ndarray | None:
    """Build options chosen by DROP with resizing (positions in ``net.option_*``).

    Parameters
    ----------
    net
        A one-tier network (for more tiers there is no heuristic: returns None).
    stop
        Asked before each closure whether to stop now (the run's outer limit or
        Ctrl-C); the best network so far is returned. Closures are tried once per site.
    """
    if net.n_tiers != 1 or len(net.option_site) == 0:
        return None
    router = Router(net)
    largest = _largest(net)
    open_sites = largest > 0
    best, chosen = size_and_route(net, router, open_sites)
    _, received = router.route(net.site_existing + np.where(open_sites, largest, 0.0))
    for f in np.argsort(received, kind="stable"):
        if stop is not None and stop():
            break
        if not open_sites[f]:
            continue
        open_sites[f] = False
        cost, trial = size_and_route(net, router, open_sites)
        if cost < best:
            best, chosen = cost, trial
        else:
            open_sites[f] = True
    return chosen


def option_prices(net: Network) -> np.ndarray:
    """Yearly price of every build option: fixed cost plus annualised capex (with finance)."""
    finance = net.instance.spec.finance
    return net.option_fixed + (finance.annuity_factor if finance else 0.0) * net.option_capex


def _largest(net: Network) -> np.ndarray:
    largest = np.zeros(len(net.site_tier))
    np.maximum.at(largest, net.option_site, net.option_capacity)
    return largest


def size_and_route(net: Network, router: Router,
                   open_sites: np.ndarray) -> tuple[float, np.ndarray]:
    """Size and route a network with ``open_sites`` open; return its cost and build options.

    Routes with every open site at its largest size, gives each the cheapest size that
    holds what it received, and routes again. The cost (routing, penalties, option prices,
    without the fixed cost of existing sites) is an upper bound of the network's optimum.
    """
    price = option_prices(net)
    _, received = router.route(net.site_existing + np.where(open_sites, _largest(net), 0.0))
    chosen = _sizes(net, price, received, open_sites)
    return priced(net, router, chosen), chosen


def built_capacity(net: Network, builds: np.ndarray) -> np.ndarray:
    """Capacity of every site with the build options ``builds``, existing capacity included."""
    capacity = net.site_existing.copy()
    np.add.at(capacity, net.option_site[builds], net.option_capacity[builds])
    return capacity


def priced(net: Network, router: Router, builds: np.ndarray) -> float:
    """Cost of the network with ``builds``: greedy routing and penalties plus option prices."""
    return router.route(built_capacity(net, builds))[0] + option_prices(net)[builds].sum()


def builds_start(m: pyo.ConcreteModel, chosen: np.ndarray) -> ComponentMap:
    """Return a MIP start for ``m``: build variables set to the options ``chosen``.

    HiGHS completes the flows.
    """
    built = set(chosen.tolist())
    return ComponentMap((m.build[j], float(j in built)) for j in m.OPTIONS)


def _sizes(net: Network, price: np.ndarray, received: np.ndarray,
           open_sites: np.ndarray) -> np.ndarray:
    """For each open site that received tonnes, the cheapest option that holds them."""
    need = received[net.option_site] - net.site_existing[net.option_site]
    fits = (open_sites[net.option_site] & (need > 1e-9) & (net.option_capacity >= need)
            & (net.option_min <= received[net.option_site]))
    candidates = np.flatnonzero(fits)
    order = candidates[np.lexsort((price[candidates], net.option_site[candidates]))]
    first = np.diff(net.option_site[order], prepend=-1) != 0
    return order[first]
