"""Pricing of pruned arcs: a lower bound of the full problem, and the arcs it needs back.

Pruning drops region arcs, so neither the pruned model's optimum nor HiGHS's bound of it
says anything about the full problem. The LP relaxation of the pruned model does, through
its duals: ``y[i]`` of the supply balance of pair i, and the duals of the rows every flow
of stream s into site f enters (capacity, or its group's shared capacity and member row;
minimum throughput; conservation; branch shares), summed into ``S[f,s]``. A pruned arc k
of pair i into f has the reduced cost ``rc[k] = c[k] - y[i] - S[f,s]`` (its own linking
row would be new, and slack). Every feasible solution ships ``x[k] <= q[i]``, so by weak
duality the full problem costs at least ``z + sum_k min(0, rc[k]) q[i]``, with ``z`` the
pruned LP's optimum: a valid bound every round, equal to ``z`` once no arc prices out.
Arcs with a negative reduced cost go back into the model, and the LP is solved again.

Pricing knows the rows of the core model only: it applies to scenarios whose policies put
no flow in any row (``facility_count``, whose row holds open/build variables only, so its
dual enters no flow's reduced cost, and a put-back arc's new linking row is slack), in the
``cost`` and ``value`` modes (see :func:`not_applicable`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from siting.engine.handoff import Duals
from siting.engine.highs import HighsModel, SolverProfile
from siting.instance.network import Network
from siting.model.matrix import branch_rows, shared_limits
from siting.model.policies.base import declaring
from siting.model.spec import ModelSpec

NEGATIVE = -1e-6  # reduced costs below this (per tonne) put an arc back


@dataclass(frozen=True)
class Priced:
    """Outcome of :func:`price_pruned_arcs`."""

    keep: np.ndarray  # (X,) bool over the full network's flows: pruning's and those put back
    bound: float | None  # lower bound of the full problem; None when no LP was solved
    rounds: int  # LPs solved
    added: int  # arcs put back
    converged: bool  # no pruned arc left with a negative reduced cost


def not_applicable(policies: tuple | list, objective: str) -> str | None:
    """Why pruned arcs cannot be priced in this problem, or None when they can."""
    if any(not p.priced for p in policies):
        return f"the scenario has policies other than {declaring('priced')}"
    if objective not in ("cost", "value"):
        return f"objective {objective!r} (only 'cost' and 'value')"
    return None


def reduced_costs(m: pyo.ConcreteModel, net: Network, flows: np.ndarray, duals: Duals,
                  objective: str) -> np.ndarray:
    """Reduced costs, in the LP relaxation of ``m``, of the region ``flows`` of ``net``.

    ``net`` has the sites, supply and build options of ``m.net`` (the full network of a
    pruned model, or the model's own), ``flows`` are positions in it, and ``duals`` the LP's
    row duals (:meth:`siting.engine.highs.HighsModel.relaxation`). A flow's own linking row
    is left out.
    """
    n_sites, n_streams = len(net.site_tier), net.supply.shape[1]
    pair_dual = np.zeros(net.supply.shape)
    index, dual = duals.of(m, "supply_balance")
    pairs = index.astype(int)
    pair_dual[m.supplied_r[pairs], m.supplied_s[pairs]] = dual
    site = np.zeros((n_sites, n_streams))
    for name, sign in (("capacity_limit", 1.0), ("min_throughput", -1.0)):
        index, dual = duals.of(m, name)  # min_throughput's row is min * b - throughput <= 0
        np.add.at(site, index.astype(int), sign * dual[:, None])
    _, dual = duals.of(m, "shared_capacity")
    for (members, _), d in zip(shared_limits(m.net), dual, strict=True):
        site[members] += d
    index, dual = duals.of(m, "conservation")
    if len(index):
        np.add.at(site, (index[:, 0].astype(int), index[:, 1].astype(int)), dual)
    _, dual = duals.of(m, "branch_share")
    for (share, _, _, s, sources), d in zip(branch_rows(m.net), dual, strict=True):
        site[sources, s] -= share * d
    cost = net.flow_cost[flows]
    if objective == "value":
        cost = cost - net.flow_revenue[flows]
    origin, stream, dest = net.flow_origin[flows], net.flow_stream[flows], net.flow_dest[flows]
    return cost - pair_dual[origin, stream] - site[dest, stream]


def price_pruned_arcs(net: Network, keep: np.ndarray, m: pyo.ConcreteModel, spec: ModelSpec,
                      profile: SolverProfile, stop: Callable[[], bool] | None = None) -> Priced:
    """Price the arcs that ``keep`` drops from ``net``, putting back those that pay.

    Parameters
    ----------
    net
        The full network.
    keep
        Its flows in the pruned model ``m``.
    m
        The pruned model, built with ``spec`` (see :func:`not_applicable`).
    spec
        Its policies, objective (``cost`` or ``value``) and linking, kept in the models
        rebuilt with arcs put back.
    profile
        The solver profile: ``pricing_rounds`` bounds the LPs solved.
    stop
        Asked inside each LP whether to stop now (the run's outer limit or Ctrl-C).

    Returns
    -------
    Priced
        The flows of the last LP's model, and the lower bound of the full problem.
    """
    keep = keep.copy()
    bound, added, rounds = None, 0, 0
    region_q = net.supply[net.flow_origin, net.flow_stream] * net.flow_from_region
    while rounds < profile.pricing_rounds and not (stop is not None and stop()):
        if rounds:
            m = spec.build(net.keep_flows(keep))
        lp = HighsModel(m, profile, stop).relaxation()
        rounds += 1
        if lp is None:
            break
        pruned = np.flatnonzero(~keep & net.flow_from_region)
        rc = reduced_costs(m, net, pruned, lp[1], spec.objective)
        bound = lp[0] + float(np.minimum(rc, 0.0) @ region_q[pruned])
        negative = pruned[rc < NEGATIVE]
        if len(negative) == 0:
            return Priced(keep, bound, rounds, added, True)
        keep[negative] = True
        added += len(negative)
    return Priced(keep, bound, rounds, added, False)
