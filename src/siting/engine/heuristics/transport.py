"""Exact routing of a fixed one-tier network: the transportation LP, solved by HiGHS.

With the build options fixed, what is left of the one-tier problem is a linear program:
flows from each supplied (region, stream) pair to the open sites, uncollected tonnes at
their penalty where collection is optional, each site's throughput between its option's
minimum and its capacity. It is assembled from the network arrays (no Pyomo: this is an
inner step of :mod:`siting.engine.heuristics.lagrangian`) over each pair's ``nearest``
cheapest open sites,
a restriction, so its optimum is a true upper bound of the network's cost.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from siting.engine.handoff import highs_lp
from siting.engine.heuristics.drop import built_capacity, option_prices
from siting.engine.highs import highspy, new_highs
from siting.instance.network import Network
from siting.sparse import sparse as sp

NEAREST = 20  # open sites per (region, stream) pair in the LP


class Transport(NamedTuple):
    """A solved transportation LP: HiGHS holding it, and the network's flow of each column."""

    highs: highspy.Highs
    flows: np.ndarray


def route_exactly(net: Network, builds: np.ndarray,
                  nearest: int = NEAREST) -> tuple[float, np.ndarray]:
    """Cost of the network with the build options ``builds``, routed optimally, and its flows.

    Parameters
    ----------
    net
        A one-tier network without closable sites or capacity groups.
    builds
        Positions in ``net.option_*``, at most one per site.
    nearest
        Open sites each pair may ship to (the cheapest ones).

    Returns
    -------
    tuple
        Routing, penalties and option prices plus the fixed cost of existing sites (inf
        when the LP is infeasible: mandatory supply finds no room), and the positions of
        the flows carrying tonnes (none when infeasible).
    """
    solved = solve_transport(net, builds, nearest)
    if solved is None:
        return np.inf, np.zeros(0, dtype=int)
    x = np.asarray(solved.highs.getSolution().col_value)[:len(solved.flows)]
    return routed_cost(net, builds, solved), solved.flows[x > 0]


def routed_cost(net: Network, builds: np.ndarray, solved: Transport | None) -> float:
    """Return the cost of the network ``builds`` opens, routed by its ``solved`` LP.

    Routing and penalties, option prices and the fixed cost of existing sites; inf when
    ``solved`` is None (the LP was infeasible).
    """
    if solved is None:
        return np.inf
    existing_fixed = float(net.instance.sites["existing_fixed_cost"].sum())
    return (solved.highs.getInfo().objective_function_value
            + option_prices(net)[builds].sum() + existing_fixed)


def solve_transport(net: Network, builds: np.ndarray,
                    nearest: int = NEAREST) -> Transport | None:
    """Solve the transportation LP of the network ``builds`` opens; None when infeasible.

    Arguments as :func:`route_exactly`'s. The LP's first rows are the supply balances of
    the supplied (region, stream) pairs, in the order of ``net.supply.ravel()``; then one
    throughput row per site.
    """
    n_sites = len(net.site_tier)
    capacity = built_capacity(net, builds)
    minimum = np.zeros(n_sites)
    minimum[net.option_site[builds]] = net.option_min[builds]
    cost = net.flow_cost
    pair = net.flow_pair
    usable = np.flatnonzero(capacity[net.flow_dest] > 0)
    by_cost = usable[np.argsort(cost[usable], kind="stable")]
    by_pair = by_cost[np.argsort(pair[by_cost], kind="stable")]
    starts = np.searchsorted(pair[by_pair], pair[by_pair], side="left")
    flows = by_pair[np.arange(len(by_pair)) - starts < nearest]
    q = net.supply.ravel()
    supplied = np.flatnonzero(q > 0)
    row_of_pair = np.full(len(q), -1)
    row_of_pair[supplied] = np.arange(len(supplied))
    penalty = np.repeat(net.penalty[None, :], net.supply.shape[0], axis=0).ravel()[supplied]
    optional = np.flatnonzero(~np.isnan(penalty))
    n_rows, n_flow = len(supplied) + n_sites, len(flows)
    rows = np.r_[row_of_pair[pair[flows]], len(supplied) + net.flow_dest[flows], optional]
    cols = np.r_[np.arange(n_flow), np.arange(n_flow), n_flow + np.arange(len(optional))]
    matrix = sp.csc_matrix((np.ones(len(rows)), (rows, cols)),
                           shape=(n_rows, n_flow + len(optional)))
    highs = new_highs()
    n_col = matrix.shape[1]
    highs.passModel(highs_lp(matrix, np.r_[cost[flows], penalty[optional]],
                             (np.zeros(n_col), np.full(n_col, highspy.kHighsInf)),
                             (np.r_[q[supplied], minimum], np.r_[q[supplied], capacity])))
    highs.run()
    optimal = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return Transport(highs, flows) if optimal else None

