"""Local search on a one-tier network's builds: resize, drop, swap and add moves.

A network is its build options (positions in ``net.option_*``), priced as in
:func:`siting.engine.heuristics.drop.size_and_route`: greedy routing plus option prices. Around each
open site f the moves are: f at its next smaller or larger size (the rest unchanged);
close f; close f and open a closed neighbour g (swap); open g (add). The neighbours of f
are the sites it competes with most for supply
(:meth:`siting.engine.heuristics.drop.Router.neighbours`).
Closing and opening re-size every open site (``size_and_route``). The first move that
lowers the cost is kept; passes over the open sites, least used first, repeat until one
changes nothing or the time budget runs out. The result never costs more than the start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from siting.engine.heuristics.drop import Router, built_capacity, priced, size_and_route
from siting.instance.network import Network

NEIGHBOURS = 5  # closed sites tried in swaps and adds around each open site


@dataclass(frozen=True)
class Improved:
    """Outcome of :func:`improve`: the builds and their cost under greedy routing."""

    builds: np.ndarray
    start_cost: float
    cost: float
    moves: int  # improving moves kept
    seconds: float


def improve(net: Network, builds: np.ndarray, trials: int,
            neighbours: int = NEIGHBOURS, stop: Callable[[], bool] | None = None) -> Improved:
    """Improve the build options ``builds`` of a one-tier ``net`` by first-improvement search.

    Parameters
    ----------
    net
        The network the start is for (the model's, pruned or not).
    builds
        Positions in ``net.option_*``, at most one per site (DROP's or the Lagrangian's).
    trials
        Budget of moves tried (work units); the best network so far is returned when
        it runs out.
    neighbours
        Closed sites tried around each open site.
    stop
        Asked before each move whether to stop now.
    """
    t0 = time.perf_counter()
    router = Router(net)
    cost = start_cost = priced(net, router, builds)
    if trials <= 0:  # no search: only the start's cost, for solution.json
        return Improved(builds, start_cost, cost, 0, time.perf_counter() - t0)
    near = router.neighbours(neighbours)
    moves, tried, changed = 0, 0, True
    while changed:
        changed = False
        _, received = router.route(built_capacity(net, builds))
        for f in np.argsort(received, kind="stable"):
            if f not in net.option_site[builds]:
                continue
            for trial_cost, trial in _moves(net, router, builds, f, near[f]):
                tried += 1
                if tried > trials or (stop is not None and stop()):
                    return Improved(builds, start_cost, cost, moves, time.perf_counter() - t0)
                if trial_cost < cost - 1e-9 * abs(cost):
                    cost, builds, moves, changed = trial_cost, trial, moves + 1, True
                    break
    return Improved(builds, start_cost, cost, moves, time.perf_counter() - t0)


def _moves(net: Network, router: Router, builds: np.ndarray, f: int,
           near: np.ndarray) -> Iterator[tuple[float, np.ndarray]]:
    """Yield the networks around open site ``f``, each with its cost, priced lazily."""
    mine = builds[net.option_site[builds] == f][0]
    sizes = np.flatnonzero(net.option_site == f)
    sizes = sizes[np.argsort(net.option_capacity[sizes], kind="stable")]
    at = int(np.flatnonzero(sizes == mine)[0])
    for other in sizes[max(at - 1, 0):at + 2]:
        if other != mine:
            trial = np.where(builds == mine, other, builds)
            yield priced(net, router, trial), trial
    is_open = np.zeros(len(net.site_tier), dtype=bool)
    is_open[net.option_site[builds]] = True
    closed = near[~is_open[near] & np.isin(near, net.option_site)]  # sites that can open
    without = is_open.copy()
    without[f] = False
    yield size_and_route(net, router, without)
    for base in (without, is_open):  # swaps, then adds
        for g in closed:
            trial_open = base.copy()
            trial_open[g] = True
            yield size_and_route(net, router, trial_open)

