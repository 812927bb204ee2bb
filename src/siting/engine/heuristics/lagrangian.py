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

The sites are also coupled by the aggregate capacity cut ``sum cap >= mandatory supply``
(Beasley 1988), the minimum of that knapsack (:func:`cheapest_cover`), and by the
count bounds of a ``facility_count`` policy (a p-median with ``exactly = p``), met exactly
by :func:`cheapest_count`. The sites' part of the bound is the larger of those two
minima, each over a relaxation of the sites' problem with both couplings (exact when the
count's choice also covers the mandatory supply, as in every uncapacitated problem): the
bound is valid for every multiplier vector. With a count, the count's choice makes the
subgradient and the networks repaired, so that every repaired network meets the count.

Multipliers move from the best point so far along an average of recent subgradients
(the deflection of the volume algorithm), with Polyak steps towards a target: the best
feasible cost found, or 2% above the best bound when that is lower (2% of that cost while
the bound is 0, as at the first multipliers of a p-median, whose clients are sites).
Iterations run on a working set of arcs: each pair's nearest sites at first (more under
a facility count, :func:`_work_nearest`). Every few
iterations the relaxation is evaluated on every arc of the network (a bound valid for the
unpruned problem; the best is kept), every arc its solution uses joins the working set,
so that the multipliers are tuned for the whole problem, and the configurations it
chose are opened and routed optimally
(:func:`siting.engine.heuristics.transport.route_exactly`), which gives feasible networks.
At the end, reduced-cost fixing (:func:`fixings`) proves which sites are
closed, or open, in every network cheaper than the best one found; where every site takes
whole supplies (:func:`ships_whole`), also which arcs carry nothing in such a network
(:func:`closed_arcs`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from siting.engine.heuristics.drop import option_prices
from siting.engine.heuristics.transport import route_exactly
from siting.instance.network import Network
from siting.instance.prune import nearest_flows
from siting.model.policies.base import declaring
from siting.model.policies.facility_count import FacilityCount

LAGRANGIAN_AUTO_FLOWS = 20_000  # profiles with lagrangian = "auto" run it from this many flows
WORK_NEAREST = 10  # sites per pair in the working set (25: same bound at 1000x100, 3x slower)
REPAIR_EVERY = 10  # iterations between two evaluations on every arc (at least)
GAP_MARGIN = 0.5  # stop within this share of the wanted gap
SMALL = 200_000  # up to this many flows routed, every evaluation is repaired; above, 2**k-th
STALL = 20  # iterations without a better bound before the step halves
AVERAGE = 0.1  # weight of the newest subgradient in the averaged direction
TARGET = 0.02  # Polyak target at most this far above the best bound
COVER_UNITS = 2000  # capacity units of the aggregate cut's programme (at most)
COVER_WORK = 400_000  # ... and at most this many units times the configurations that grow
FIX_MARGIN = 1e-7  # a fixing needs a forced bound this far (relative) above the upper bound


@dataclass(frozen=True)
class LagrangianResult:
    """Outcome of :func:`lagrangian_bound`."""

    bound: float  # lower bound of the full, unpruned problem
    builds: np.ndarray | None  # build options of the best feasible network found
    cost: float  # that network's cost, routed optimally (inf when none was found)
    iterations: int
    seconds: float
    closed: np.ndarray  # sites closed in every network cheaper than ``cost``
    opened: np.ndarray  # sites open in every network cheaper than ``cost``
    arcs_closed: np.ndarray | None = None  # flows carrying nothing in every such network
    multipliers: np.ndarray | None = None  # per supplied pair: those of the best bound
    routed: np.ndarray | None = None  # flows carrying tonnes in ``builds``, routed optimally


def not_applicable(net: Network, policies: tuple | list, objective: str) -> str | None:
    """Why the relaxation does not apply to this problem, or None when it does."""
    if net.n_tiers != 1:
        return "more than one tier"
    if any(not p.relaxed for p in policies):
        return f"the scenario has policies other than {declaring('relaxed')}"
    if len(policies) > 1:
        return "more than one facility_count policy"
    if objective != "cost":
        return f"objective {objective!r} (only 'cost')"
    if (net.option_most > 1).any():
        return "modular expansion"
    if net.instance.sites["group_capacity"].notna().any():
        return "shared group capacities"
    return None


@dataclass(frozen=True)
class Count:
    """The bounds of a ``facility_count`` policy over a network's configurations."""

    opens: np.ndarray  # per configuration: it opens a counted site that could stay closed
    always: int  # counted sites open in every configuration (existing capacity)
    lower: int | None
    upper: int | None

    @classmethod
    def of(cls, net: Network, policy: FacilityCount, conf_site: np.ndarray) -> Count:
        """Return the count of ``policy`` over configurations (sites ``conf_site``) of ``net``."""
        counted = np.zeros(len(net.site_tier), dtype=bool)
        counted[policy.counted(net.instance.sites, net.site_existing)] = True
        closable = counted & (net.site_existing == 0)
        builds = np.arange(len(conf_site)) >= len(net.site_tier)
        return cls(closable[conf_site] & builds, int((counted & ~closable).sum()),
                   *policy.bounds)


class Relaxation:
    """The per-site subproblems of one network, prepared once and solved for any ``lam``."""

    def __init__(self, net: Network, flows: np.ndarray | None = None,
                 policies: tuple | list = ()):
        """Prepare ``net``, or its ``flows`` only (positions of a working set) when given.

        ``policies`` are the scenario's: at most one ``facility_count`` (:func:`not_applicable`).
        """
        self.flows, self.policies = flows, policies
        if flows is not None:
            keep = np.zeros(len(net.flow_arc), dtype=bool)
            keep[flows] = True
            net = net.keep_flows(keep)
        self.q = net.supply.ravel()
        self.penalty = np.repeat(net.penalty[None, :], net.supply.shape[0], axis=0).ravel()
        self.pair = net.flow_pair
        self.cost = net.flow_cost
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
        self.mandatory = float(self.q[np.isnan(self.penalty)].sum())
        self.count = Count.of(net, policies[0], self.conf_site) if policies else None

    def cheapest(self, value: np.ndarray) -> tuple[float, np.ndarray]:
        """Lower bound of the sites' part for configuration values ``value``, and a choice.

        The larger of the capacity cover's bound and the count's (each a relaxation of
        both); with a count, the choice is the count's, which meets it.
        """
        cover, chosen = cheapest_cover(value, self.conf_cap, self.conf_site, self.n_sites,
                                       self.mandatory)
        if self.count is None:
            return cover, chosen
        counted, chosen = cheapest_count(value, self.conf_site, self.n_sites, self.count)
        return max(cover, counted), chosen

    def solve(self, lam: np.ndarray) -> Relaxed:
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
        sites_value, chosen = self.cheapest(value)
        # Flows of the chosen fills: the first `fill` tonnes of each site's sorted flows.
        end = start + fill[chosen]
        x = np.clip(end[site] - xp[:-1], 0.0, q)
        shipped = np.bincount(self.pair[order], weights=x, minlength=len(self.q))
        optional = ~np.isnan(self.penalty)
        uncollected = np.where(optional & (self.penalty < lam), self.q, 0.0)
        relief = np.where(optional, np.minimum(0.0, self.penalty - lam) * self.q, 0.0)
        base = float(lam @ self.q + relief.sum()) + self.constant
        return Relaxed(base + sites_value, self.q - shipped - uncollected, chosen, value, base,
                       self.flow_index(order[x > 0]))

    def flow_index(self, flows: np.ndarray) -> np.ndarray:
        """Positions in the full network of this relaxation's flows ``flows``."""
        return flows if self.flows is None else self.flows[flows]

    def on(self, net: Network, flows: np.ndarray) -> Relaxation:
        """Return this relaxation on the working set ``flows`` of ``net``."""
        return Relaxation(net, flows, self.policies)


@dataclass(frozen=True)
class Relaxed:
    """The relaxation at one ``lam``."""

    value: float  # the bound
    subgradient: np.ndarray  # per supplied pair: supply minus shipped and uncollected
    chosen: np.ndarray  # configuration per site
    conf_value: np.ndarray  # per configuration: price plus its best fill's reduced cost
    base: float  # the value without the sites' part
    used: np.ndarray  # flows (positions in the full network) that carry tonnes


def cheapest_cover(value: np.ndarray, cap: np.ndarray, site: np.ndarray, n_sites: int,
                   demand: float) -> tuple[float, np.ndarray]:
    """Lower bound of choosing one configuration per site with ``sum cap >= demand``.

    Every site takes its cheapest configuration; when their capacity falls short, the
    sites that must grow are chosen by an exact dynamic programme over the capacity still
    needed (the aggregate capacity cut of Beasley 1988, solved as the knapsack it is: its
    LP relaxation, which may open a fraction of a site, is 24% below the optimum where
    four sites hold the supply). Capacities are counted in a unit they are all whole
    multiples of (equal sizes: one site), else in units of ``need / COVER_UNITS`` with
    each extra capacity rounded up: the programme is then a relaxation, its minimum still
    a valid bound, and its choice may fall a little short of the need. Returns the bound
    and a configuration per site.
    """
    by_value = np.lexsort((value, site))
    best = by_value[np.diff(site[by_value], prepend=-1) != 0]
    total = float(value[best].sum())
    need = demand - cap[best].sum()
    if need <= 1e-9:
        return total, best
    extra = cap - cap[best][site]
    larger = np.flatnonzero((extra > 1e-9) & np.isfinite(value))
    dearer = value[larger] - value[best][site[larger]]
    units = max(1, min(COVER_UNITS, COVER_WORK // max(1, len(larger))))
    unit = max(need / units, common_unit(extra[larger]))  # exact when the common one fits
    units = int(np.ceil(need / unit - 1e-9))
    steps = np.minimum(np.ceil(extra[larger] / unit - 1e-9), units).astype(int)
    # least[r]: the least extra value of the sites so far that add r units or more
    least = np.r_[0.0, np.full(units, np.inf)]
    taken = []  # per site: the position in `larger` its best choice takes at each r, or -1
    order = np.argsort(site[larger], kind="stable")
    firsts = np.flatnonzero(np.diff(site[larger][order], prepend=-1) != 0)
    for group in np.split(order, firsts[1:]):
        now, which = least.copy(), np.full(units + 1, -1)
        for k in group:
            grown = dearer[k] + np.r_[np.zeros(steps[k]), least[:units + 1 - steps[k]]]
            better = grown < now
            now[better], which[better] = grown[better], k
        taken.append(which)
        least = now
    chosen, r = best.copy(), units
    for which in reversed(taken):  # walk back from the whole need
        k = which[r]
        if k >= 0:
            chosen[site[larger[k]]] = larger[k]
            r = max(r - steps[k], 0)
    return total + float(least[units]), chosen


def common_unit(amounts: np.ndarray) -> float:
    """Return the largest amount all ``amounts`` are whole multiples of (to 0.001 t; 0: none)."""
    milli = np.round(amounts * 1000)
    if len(milli) == 0 or np.abs(milli - amounts * 1000).max() > 1e-6:
        return 0.0
    return float(np.gcd.reduce(milli.astype(np.int64))) / 1000


def cheapest_count(value: np.ndarray, site: np.ndarray, n_sites: int,
                   count: Count) -> tuple[float, np.ndarray]:
    """Minimum of choosing one configuration per site with the open counted sites in bounds.

    Every site takes its cheapest configuration; then, while fewer counted sites than
    ``count.lower`` are open, those whose cheapest open configuration costs least more
    than their cheapest closed one open, and while more than ``count.upper`` are open,
    those that gain least from being open close. Exact (a cardinality-constrained choice);
    infinite when no choice meets the bounds. Returns the minimum and the configuration
    per site.
    """
    open_value, open_conf = _cheapest_per_site(value, site, count.opens, n_sites)
    shut_value, shut_conf = _cheapest_per_site(value, site, ~count.opens, n_sites)
    with np.errstate(invalid="ignore"):
        extra = open_value - shut_value  # nan where the site has no configuration at all
    is_open = extra < 0
    n_open = count.always + int(is_open.sum())
    if count.lower is not None and n_open < count.lower:
        can = np.flatnonzero(~is_open & np.isfinite(extra))
        is_open[can[np.argsort(extra[can], kind="stable")][:count.lower - n_open]] = True
    if count.upper is not None and n_open > count.upper:
        can = np.flatnonzero(is_open & np.isfinite(extra))
        is_open[can[np.argsort(-extra[can], kind="stable")][:n_open - count.upper]] = False
    n_open = count.always + int(is_open.sum())
    fits = ((count.lower is None or n_open >= count.lower)
            and (count.upper is None or n_open <= count.upper))
    total = float(np.where(is_open, open_value, shut_value).sum()) if fits else np.inf
    return total, np.where(is_open, open_conf, shut_conf)


def _cheapest_per_site(value: np.ndarray, site: np.ndarray, among: np.ndarray,
                       n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """Per site, the least ``value`` of its configurations ``among`` (inf: none) and which."""
    confs = np.flatnonzero(among & np.isfinite(value))
    confs = confs[np.lexsort((value[confs], site[confs]))]
    first = confs[np.diff(site[confs], prepend=-1) != 0]
    least, which = np.full(n_sites, np.inf), np.zeros(n_sites, dtype=int)
    least[site[first]], which[site[first]] = value[first], first
    return least, which


def lagrangian_bound(net: Network, iterations: int = 200, stop: Callable[[], bool] | None = None,
                     gap: float = 1e-4, policies: tuple | list = ()) -> LagrangianResult:
    """Subgradient optimisation of the relaxation of a one-tier ``net``, repairs and fixings.

    Parameters
    ----------
    net
        The full (unpruned) one-tier network; see :func:`not_applicable`.
    iterations
        Budget of subgradient iterations (work units: the same on a busy machine).
    stop
        Asked every iteration whether to stop now (the run's outer limit or Ctrl-C);
        the bound and network found so far are returned.
    gap
        Stop when the best feasible cost is within half this relative gap of the bound (the
        other half for HiGHS, whose network may cost a little more on a pruned model).
    policies
        The scenario's policies: none, or one ``facility_count``.

    Returns
    -------
    LagrangianResult
        The bound, valid for the full problem, the best network found, and the sites
        whose state is proven by reduced costs.
    """
    t0 = time.perf_counter()
    full = Relaxation(net, policies=policies)
    nearest = _work_nearest(full)
    work = (np.flatnonzero(nearest_flows(net, nearest)) if len(net.site_tier) > nearest
            else None)
    relax = full if work is None else full.on(net, work)
    scale = np.where(full.q > 0, full.q, 1.0)  # steps in per-tonne-of-supply units
    centre = np.full(len(full.q), np.inf)
    np.minimum.at(centre, full.pair, full.cost)
    if work is not None and nearest > WORK_NEAREST:  # a pair's cost to its farthest there
        np.maximum.at(centre, relax.pair, relax.cost)
    centre = np.fmin(np.where(np.isinf(centre), 0.0, centre), full.penalty)
    first = relax.solve(centre)
    best, direction = first.value, first.subgradient
    bound_at = None  # the best relaxation on every arc
    upper, builds, routed_on, tried = np.inf, None, None, {}
    # Evaluations on every arc cost about as much as `every` iterations on the working set.
    every = REPAIR_EVERY * max(1, len(full.cost) // (REPAIR_EVERY * len(relax.cost)))
    step, fails, done, evaluations = 1.0, 0, 0, 0
    # Flows a repair routes: about every arc, or under a count those into `upper` sites.
    upper_count = None if full.count is None else full.count.upper
    routed = len(full.cost) if upper_count is None else upper_count * len(full.q)
    while True:
        if done % every == 0:
            on_all = full.solve(centre)
            if bound_at is None or on_all.value > bound_at.value:
                bound_at, at_best = on_all, centre
            if relax is not full and not np.isin(on_all.used, relax.flows).all():
                relax = full.on(net, np.union1d(relax.flows, on_all.used))
                best = relax.solve(centre).value
            evaluations += 1
            feasible = np.isfinite(on_all.value)  # else no network meets the facility count
            if feasible and (evaluations & (evaluations - 1) == 0 or routed <= SMALL):
                cost, trial, used = _repair(net, full, on_all.chosen, tried)  # 1st, 2nd, 4th...
                if cost < upper:
                    upper, builds, routed_on = cost, trial, used
        unit = direction / scale
        if (done >= iterations or (stop is not None and stop()) or unit @ unit == 0
                or upper - bound_at.value <= GAP_MARGIN * gap * abs(upper) < np.inf
                or not feasible):
            break  # out of budget, the relaxed solution meets every supply, the gap closed,
            # or the problem is infeasible
        # the scale of the step: the bound, or its distance to the network in hand when
        # larger (a p-median's first bounds are about 0)
        reach = max(abs(best), abs(upper - best) if np.isfinite(upper) else 0.0) or 1.0
        target = min(upper, best + TARGET * reach)
        lam = np.fmin(centre + step * (target - best) / (unit @ unit) * unit / scale,
                      full.penalty)
        at = relax.solve(lam)
        direction = AVERAGE * at.subgradient + (1 - AVERAGE) * direction
        if at.value > best:
            centre, best, fails = lam, at.value, 0
        else:
            fails += 1
            if fails >= STALL:
                step, fails = step / 2, 0
        done += 1
    final = full.solve(centre)  # the best multipliers, on every arc
    if final.value > bound_at.value:
        bound_at, at_best = final, centre
    closed, opened, forced_open = fixings(full, bound_at, upper)
    arcs = (closed_arcs(full, bound_at, at_best, forced_open, upper) if ships_whole(full)
            else None)
    return LagrangianResult(bound=bound_at.value, builds=builds, cost=upper, iterations=done,
                            seconds=time.perf_counter() - t0, closed=closed, opened=opened,
                            arcs_closed=arcs, multipliers=at_best, routed=routed_on)


def _work_nearest(full: Relaxation) -> int:
    """Sites per pair in the working set: ``WORK_NEAREST``, or more under a facility count.

    With at most ``upper`` counted sites open, a pair's site is often far down its list of
    nearest sites: the set holds at least half the sites per open site (40 for p = 5 of 400
    sites: a 0.05% gap after 1000 iterations, against 20% with 10). The multipliers
    then start at each pair's cost to the farthest of them (a p-median's first ones are 0).
    """
    upper = None if full.count is None else full.count.upper
    return max(2 * WORK_NEAREST, full.n_sites // (2 * upper)) if upper else WORK_NEAREST


def fixings(relax: Relaxation, at: Relaxed,
            upper: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites proven closed, and proven open, in every network cheaper than ``upper``.

    A site's state is proven when the relaxation with the site forced into the other state
    (only its build configurations, or only "no build") is above ``upper``, the cost of a
    network in hand: then no better network has the site in that state (reduced-cost
    fixing, sound for any multipliers; the relaxation keeps the facility count, if any).
    Also returns, per site, the relaxation with the site forced to build.
    """
    forced = np.full((2, relax.n_sites), np.inf)
    if not np.isfinite(upper):  # no network in hand: nothing is proven
        return np.zeros(0, dtype=int), np.zeros(0, dtype=int), forced[0]
    builds = np.arange(len(at.conf_value)) >= relax.n_sites
    for f in range(relax.n_sites):
        here = relax.conf_site == f
        for i, state in enumerate((builds, ~builds)):
            value = np.where(here & ~state, np.inf, at.conf_value)
            forced[i, f] = at.base + relax.cheapest(value)[0]
    return (np.flatnonzero(_above(forced[0], upper)), np.flatnonzero(_above(forced[1], upper)),
            forced[0])


def proven_sites(net: Network, multipliers: np.ndarray,
                 upper: float) -> tuple[np.ndarray, np.ndarray]:
    """Sites closed, and open, in every network cheaper than ``upper``, at ``multipliers``.

    :func:`fixings` for a network found after the relaxation (by the exchange, which runs
    without policies): the cheaper it is, the more sites are proven.
    """
    full = Relaxation(net)
    closed, opened, _ = fixings(full, full.solve(multipliers), upper)
    return closed, opened


def _above(forced: np.ndarray, upper: float) -> np.ndarray:
    """Where a forced relaxation exceeds ``upper`` by the margin that proves a fixing."""
    return forced > upper + FIX_MARGIN * abs(upper)


def ships_whole(relax: Relaxation) -> bool:
    """Whether every network routes each supply whole to one site (or leaves it uncollected).

    So it is when no configuration has a minimum throughput and each holds nothing or all
    the supply its site can be sent: the cheapest open site then takes a pair's supply.
    """
    reach = np.bincount(relax.site, weights=relax.flow_q, minlength=relax.n_sites)
    cap = relax.conf_cap
    return bool((relax.conf_min <= 0).all()
                and ((cap <= 0) | (cap >= reach[relax.conf_site] - 1e-9)).all())


def closed_arcs(relax: Relaxation, at: Relaxed, lam: np.ndarray, forced_open: np.ndarray,
                upper: float) -> np.ndarray:
    """Flows that carry nothing in any network cheaper than ``upper`` (:func:`ships_whole`).

    Shipping a pair's whole supply ``q`` along a flow of reduced cost ``rc`` at ``lam``
    (where the relaxation is ``at``) adds ``max(rc, 0) * q`` or more to every configuration
    of its site that can take it: the builds (``forced_open``, the relaxation with the
    site forced to build, from :func:`fixings`), and "no build" too at a site with
    existing capacity. Above ``upper``, no cheaper network ships along the flow; and
    every network ships whole supplies. Returns the flows' positions in the network.
    """
    takes = np.where(relax.conf_cap[:relax.n_sites] > 0, at.value, forced_open)
    rc = relax.cost - lam[relax.pair]
    forced = takes[relax.site] + np.maximum(rc, 0.0) * relax.flow_q
    return relax.flow_index(np.flatnonzero(_above(forced, upper)))


def _repair(net: Network, relax: Relaxation, chosen: np.ndarray,
            tried: dict) -> tuple[float, np.ndarray, np.ndarray]:
    """Open the configurations the relaxation chose and route the network optimally.

    Returns (cost, build options, flows carrying tonnes); the cost is infinite when
    mandatory supply finds no room. With a facility count, ``chosen`` is the count's
    choice, so the network meets it. ``tried`` caches every network already routed.
    """
    builds = chosen[chosen >= relax.n_sites] - relax.n_sites
    key = builds.tobytes()
    if key not in tried:
        tried[key] = route_exactly(net, builds)
    return tried[key][0], builds, tried[key][1]
