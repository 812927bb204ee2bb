"""Lagrangian relaxation of the one-tier problem: a valid lower bound and good networks.

Relaxing the supply balance ``sum_k x[k] + u[i] = q[i]`` of every supplied (region, stream)
pair ``i`` with a multiplier ``lam[i]`` leaves, for given multipliers, one problem per
site: choose a configuration (no build, with the existing capacity if any, or one build
option) and fill it with flows of reduced cost ``c[k] - lam[i]``, each at most ``q[i]``
(the strong linking bound), between the option's minimum throughput and its capacity.
For a configuration that is a continuous knapsack: take flows by increasing reduced cost,
as many negative ones as fit, and cheap positive ones only to reach the minimum. The
uncollected tonnes ``u[i] <= q[i]`` cost ``penalty - lam[i]`` each. The sum of these
minima plus ``sum lam q`` is a lower bound of the full problem for every ``lam``.

Multipliers move from the best point so far along an average of recent subgradients
(the deflection of the volume algorithm), with Polyak steps towards a target: the best
feasible cost found, or 2% above the best bound when that is lower.
Iterations run on a working set of arcs (each pair's nearest sites); the final bound is
evaluated once on every arc of the network, so it is valid for the unpruned problem. Every
few iterations the sites the subproblem opens are sized and routed greedily
(:func:`siting.heuristic.size_and_route`), which gives feasible networks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from siting.heuristic import MANDATORY, Router, option_prices, size_and_route
from siting.instance.network import Network
from siting.instance.prune import prune_nearest

WORK_NEAREST = 10  # sites per pair in the working set (25: same bound at 1000x100, 3x slower)
REPAIR_EVERY = 10  # iterations between two primal repairs
STALL = 20  # iterations without a better bound before the step halves
AVERAGE = 0.1  # weight of the newest subgradient in the averaged direction
TARGET = 0.02  # Polyak target at most this far above the best bound


@dataclass(frozen=True)
class LagrangianResult:
    """Outcome of :func:`lagrangian_bound`."""

    bound: float  # lower bound of the full, unpruned problem
    builds: np.ndarray | None  # build options of the best feasible network found
    cost: float  # that network's cost under greedy routing (inf when none was found)
    iterations: int
    seconds: float


def not_applicable(net: Network, policies: tuple | list, objective: str) -> str | None:
    """Why the relaxation does not apply to this problem, or None when it does."""
    if net.n_tiers != 1:
        return "more than one tier"
    if policies:
        return "the scenario has policies"
    if objective != "cost":
        return f"objective {objective!r} (only 'cost')"
    return None


class _Relaxation:
    """The per-site subproblems of one network, prepared once and solved for any ``lam``."""

    def __init__(self, net: Network):
        n_streams = net.supply.shape[1]
        self.q = net.supply.ravel()
        self.penalty = np.repeat(net.penalty[None, :], net.supply.shape[0], axis=0).ravel()
        self.pair = net.flow_origin * n_streams + net.flow_stream
        self.cost = net.flow_transport_cost + net.flow_processing_cost
        self.site = net.flow_dest
        self.flow_q = self.q[self.pair]
        self.n_sites = len(net.site_tier)
        sites = np.arange(self.n_sites)
        # Configurations: "no build" at every site (existing capacity, maybe 0), then options.
        self.conf_site = np.r_[sites, net.option_site]
        self.conf_cap = np.r_[net.site_existing,
                              net.site_existing[net.option_site] + net.option_capacity]
        self.conf_min = np.r_[np.zeros(self.n_sites), net.option_min]
        self.conf_price = np.r_[np.zeros(self.n_sites), option_prices(net)]
        self.constant = float(net.instance.sites["existing_fixed_cost"].sum())

    def solve(self, lam: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Value of the relaxation at ``lam``, a subgradient, and the configuration per site.

        The configuration of site f is f itself for "no build", else ``n_sites + option``.
        """
        rc = self.cost - lam[self.pair]
        by_rc = np.argsort(rc)  # then a stable sort by site: several times faster than lexsort
        order = by_rc[np.argsort(self.site[by_rc], kind="stable")]
        site, q, rc = self.site[order], self.flow_q[order], rc[order]
        xp = np.r_[0.0, np.cumsum(q)]  # the per-site fill curves, laid end to end
        fp = np.r_[0.0, np.cumsum(q * rc)]
        bounds = np.searchsorted(site, np.arange(self.n_sites + 1))
        start, total = xp[bounds[:-1]], np.diff(xp[bounds])
        wanted = np.bincount(site, weights=q * (rc < 0), minlength=self.n_sites)
        f = self.conf_site
        fill = np.clip(wanted[f], self.conf_min, np.minimum(self.conf_cap, total[f]))
        value = self.conf_price + np.interp(start[f] + fill, xp, fp) - np.interp(start[f], xp, fp)
        value[self.conf_min > total[f] + 1e-9] = np.inf
        by_site = np.lexsort((value, f))
        chosen = by_site[np.diff(f[by_site], prepend=-1) != 0]
        # Flows of the chosen fills: the first `fill` tonnes of each site's sorted flows.
        end = start + fill[chosen]
        x = np.clip(end[site] - xp[:-1], 0.0, q)
        shipped = np.bincount(self.pair[order], weights=x, minlength=len(self.q))
        optional = ~np.isnan(self.penalty)
        uncollected = np.where(optional & (self.penalty < lam), self.q, 0.0)
        relief = np.where(optional, np.minimum(0.0, self.penalty - lam) * self.q, 0.0)
        total_value = lam @ self.q + relief.sum() + value[chosen].sum() + self.constant
        return float(total_value), self.q - shipped - uncollected, chosen


def lagrangian_bound(net: Network, iterations: int = 200, max_seconds: float = 60.0,
                     gap: float = 1e-4) -> LagrangianResult:
    """Subgradient optimisation of the relaxation of a one-tier ``net``.

    Parameters
    ----------
    net
        The full (unpruned) one-tier network; see :func:`not_applicable`.
    iterations, max_seconds
        Budget of subgradient iterations and of time (the final bound comes after it).
    gap
        Stop when the best feasible cost is within this relative gap of the bound.

    Returns
    -------
    LagrangianResult
        The bound, valid for the full problem, and the best feasible network found.
    """
    t0 = time.perf_counter()
    pruned = len(net.site_tier) > WORK_NEAREST
    work = prune_nearest(net, WORK_NEAREST).net if pruned else net
    relax = _Relaxation(work)
    router = Router(work)
    scale = np.where(relax.q > 0, relax.q, 1.0)  # steps in per-tonne-of-supply units
    centre = np.full(len(relax.q), np.inf)
    np.minimum.at(centre, relax.pair, relax.cost)
    centre = np.fmin(np.where(np.isinf(centre), 0.0, centre), relax.penalty)
    best, direction, chosen = relax.solve(centre)
    upper, builds = _repair(work, router, relax, chosen)
    step, fails, done = 1.0, 0, 1
    while done < iterations and time.perf_counter() - t0 < max_seconds:
        unit = direction / scale
        if unit @ unit == 0 or np.isfinite(upper) and upper - best <= gap * abs(upper):
            break  # the relaxed solution meets every supply, or the gap is closed
        target = min(upper, best + TARGET * abs(best))
        lam = np.fmin(centre + step * (target - best) / (unit @ unit) * unit / scale,
                      relax.penalty)
        value, subgradient, chosen = relax.solve(lam)
        direction = AVERAGE * subgradient + (1 - AVERAGE) * direction
        if value > best:
            centre, best, fails = lam, value, 0
        else:
            fails += 1
            if fails >= STALL:
                step, fails = step / 2, 0
        if done % REPAIR_EVERY == 0:
            cost, trial = _repair(work, router, relax, chosen)
            if cost < upper:
                upper, builds = cost, trial
        done += 1
    bound = _Relaxation(net).solve(centre)[0] if pruned else best
    return LagrangianResult(bound=bound, builds=builds if np.isfinite(upper) else None,
                            cost=upper, iterations=done, seconds=time.perf_counter() - t0)


def _repair(net: Network, router: Router, relax: _Relaxation,
            chosen: np.ndarray) -> tuple[float, np.ndarray]:
    """Build a feasible network at the sites the subproblem builds at, sized and routed greedily.

    When mandatory supply exceeds the capacity of those sites, more sites open, those with
    the most capacity first, until it fits. Returns (cost, build options); the cost is
    infinite when mandatory supply still finds no room.
    """
    open_sites = np.zeros(relax.n_sites, dtype=bool)
    open_sites[relax.conf_site[chosen[chosen >= relax.n_sites]]] = True
    largest = np.zeros(relax.n_sites)
    np.maximum.at(largest, relax.conf_site, relax.conf_cap)
    mandatory = relax.q[np.isnan(relax.penalty)].sum()
    for f in np.argsort(-largest, kind="stable"):
        if largest[open_sites | (net.site_existing > 0)].sum() >= mandatory:
            break
        open_sites[f] = True
    cost, builds = size_and_route(net, router, open_sites)
    return (cost + relax.constant if cost < MANDATORY else np.inf), builds
