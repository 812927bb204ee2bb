"""Prune candidate arcs: keep each region's flows to its k nearest first-tier sites.

Far arcs rarely carry flow in an optimum, and dropping them shrinks the model by the
ratio k / sites. Pruning is a restriction, so it may cut off the optimum; the check
:func:`binding_regions` reports regions whose flows reach their farthest kept site, the
sign that a cut arc might have been used (with none, no region is shipping to the edge of
what pruning left it). That check is only a sign; :func:`pruning_check` can prove that
pruning cost nothing, to within a tolerance, from a lower bound of the unpruned problem.
:func:`restrict` keeps any set of flows: pruning's, with the arcs that pricing
(:mod:`siting.engine.pricing`) puts back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.engine.highs import gap
from siting.instance.network import Network


@dataclass(frozen=True)
class Pruned:
    """A pruned network and, per kept flow, whether it is its group's farthest after a cut."""

    net: Network
    keep: np.ndarray  # (X,) bool over the full network's flows: those ``net`` kept
    edge: np.ndarray  # (kept X,) bool: farthest kept flow of a (region, stream) that lost flows
    nearest: int

    @property
    def kept(self) -> np.ndarray:
        """Positions of the kept flows in the full network."""
        return np.flatnonzero(self.keep)

    @property
    def cut(self) -> bool:
        """Whether any flow was dropped (else the pruned model is the full one)."""
        return not self.keep.all()


AUTO_PRUNE_FLOWS = 1_000_000  # from this many flows, an unset ``nearest_sites`` prunes...
AUTO_NEAREST = 10  # ... to this many sites per region


def nearest_for(setting: int | str | None, flows: int) -> int | None:
    """Sites each region keeps under a profile's ``nearest_sites``; None: every one.

    Unset (None), every site below :data:`AUTO_PRUNE_FLOWS` flows and :data:`AUTO_NEAREST`
    from there (benchmarks/RESULTS.md, *Where automatic pruning starts*: at 1.5M flows the
    unpruned model stopped at its 300 s limit 1.4% from its bound with 3.8 GB, the pruned
    one was within 1% after 58 CPU s with 0.7 GB); ``"all"``, every site.
    """
    if setting is None:
        return AUTO_NEAREST if flows >= AUTO_PRUNE_FLOWS else None
    return None if setting == "all" else int(setting)


def prune_nearest(net: Network, nearest: int) -> Pruned:
    """Keep region flows to the ``nearest`` closest first-tier sites of each region and stream.

    Parameters
    ----------
    net
        The full network.
    nearest
        How many first-tier sites (by arc length) each region keeps, per stream.

    Returns
    -------
    Pruned
        The pruned network and the edge flags used by :func:`binding_regions`.
    """
    return restrict(net, nearest_flows(net, nearest), nearest)


def nearest_flows(net: Network, nearest: int) -> np.ndarray:
    """Return the mask of the flows :func:`prune_nearest` keeps.

    Every flow not from a region, and each region's flows to its ``nearest`` closest
    first-tier sites, per stream.
    """
    region = net.flow_from_region
    group = np.where(region, net.flow_pair, -1)
    km = net.arc_km[net.flow_arc]
    by_km = np.argsort(km)  # then a stable sort by group: several times faster than lexsort
    order = by_km[np.argsort(group[by_km], kind="stable")]
    sorted_group = group[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, sizes)
    return ~region | (rank < nearest)


def restrict(net: Network, keep: np.ndarray, nearest: int) -> Pruned:
    """Keep the flows of ``net`` where ``keep`` is true (a pruning, maybe with arcs put back).

    The edge of a (region, stream) that lost flows is its farthest kept flow (all of
    them on a tie).
    """
    region = net.flow_from_region
    group = np.where(region, net.flow_pair, 0)
    km = net.arc_km[net.flow_arc]
    farthest = np.full(net.supply.size, -np.inf)
    np.maximum.at(farthest, group[region & keep], km[region & keep])
    lost = np.zeros(net.supply.size, dtype=bool)
    lost[group[region & ~keep]] = True
    edge = region & keep & lost[group] & (km >= farthest[group])
    return Pruned(net.keep_flows(keep), keep, edge[keep], nearest)


def binding_regions(pruned: Pruned, x: np.ndarray, tol: float = 1e-6) -> list[str]:
    """Ids of regions that ship on their farthest kept arc while farther arcs were cut.

    ``x`` holds the tonnes of every flow of ``pruned.net``. An empty list means no region
    uses the edge of its pruned neighbourhood; otherwise re-solve with more neighbours.
    """
    used = pruned.edge & (x > tol)
    ids = pruned.net.instance.regions["id"].to_numpy()
    return sorted(set(ids[pruned.net.flow_origin[used]].tolist()))


def pruning_check(objective: float, full_bound: float | None, tol: float) -> dict:
    """Whether a pruned solution is proven within ``tol`` of the unpruned optimum.

    The unpruned optimum lies between ``full_bound`` (a lower bound of the unpruned problem,
    such as the Lagrangian one) and ``objective`` (the pruned solution is feasible for it),
    so a relative gap within ``tol`` proves that pruning cost at most that much. A larger
    gap is reported, not proven either way: the bound may be weak, or pruning cut the optimum.
    """
    if full_bound is None:
        return {"proven": None, "gap_to_full_bound": None}
    excess = gap(objective, full_bound)
    return {"proven": excess <= tol, "gap_to_full_bound": excess}
