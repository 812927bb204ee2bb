"""Benders decomposition on the tight capacitated shape, as the issue asked to measure it.

The master chooses one configuration per site (no build, or a build option) and an
estimate ``eta`` of the cost; it keeps the aggregate capacity cut and one optimality cut
per round. A cut is the Lagrangian relaxation of the supply rows at multipliers ``u``
(``eta >= base(u) + sum value(u)[c] z[c]``): valid for every ``u``, and exact at the
network it came from when ``u`` are the duals of that network's transportation LP. The
loop starts from the Lagrangian's network and its best multipliers (1,000 iterations), so
the master's first bound is the Lagrangian's; each round solves the master MIP with HiGHS
from scratch (100 binaries), routes its network with every arc to the open sites, and adds
the cut at that LP's duals, until the master's bound meets the best network within 0.01%
or the CPU budget is spent. One process per instance.

``python -m benchmarks.benders benders RATIO SEED CAP`` runs one instance and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import scipy.sparse as sp

from benchmarks.common import run_grid
from benchmarks.tight import instance
from siting.engine.handoff import highs_lp
from siting.engine.heuristics.lagrangian import Relaxation, lagrangian_bound
from siting.engine.heuristics.transport import routed_cost, solve_transport
from siting.engine.highs import new_highs
from siting.instance.load import load_instance
from siting.instance.network import Network, build_network

POINTS = ((8, 0), (8, 1), (15, 0), (15, 1))  # R 30: the Lagrangian alone proves them


def master(relax: Relaxation, cuts: list[tuple[float, np.ndarray]]) -> tuple[float, np.ndarray]:
    """The master's bound and the configuration it takes per site."""
    n_conf = len(relax.conf_site)
    values = np.array([value for _, value in cuts])
    never = ~np.isfinite(values).all(axis=0)  # a configuration no fill can serve
    values[:, never] = 0.0
    optimality = sp.hstack([sp.csr_matrix(-values), np.ones((len(cuts), 1))])
    one_each = sp.csr_matrix((np.ones(n_conf), (relax.conf_site, np.arange(n_conf))),
                             shape=(relax.n_sites, n_conf + 1))
    cover = sp.csr_matrix(np.r_[relax.conf_cap, 0.0][None, :])
    matrix = sp.vstack([optimality, one_each, cover]).tocsc()
    rows = (np.r_[[base for base, _ in cuts], np.ones(relax.n_sites), relax.mandatory],
            np.r_[np.full(len(cuts), np.inf), np.ones(relax.n_sites), np.inf])
    upper = np.r_[np.where(never, 0.0, 1.0), np.inf]
    highs = new_highs()
    highs.setOptionValue("mip_rel_gap", 1e-6)
    highs.passModel(highs_lp(matrix, np.r_[np.zeros(n_conf), 1.0],
                             (np.r_[np.zeros(n_conf), -np.inf], upper), rows,
                             integer=np.r_[np.ones(n_conf, dtype=bool), False]))
    highs.run()
    chosen = np.flatnonzero(np.asarray(highs.getSolution().col_value)[:n_conf] > 0.5)
    return highs.getInfo().mip_dual_bound, chosen


def cut_at(net: Network, relax: Relaxation, builds: np.ndarray) -> tuple[float, np.ndarray]:
    """The routed cost of ``builds`` and the cut at its transportation LP's duals."""
    solved = solve_transport(net, builds, nearest=relax.n_sites)
    if solved is None:
        return np.inf, None
    u = np.zeros(len(relax.q))
    supplied = np.flatnonzero(relax.q > 0)
    u[supplied] = np.asarray(solved.highs.getSolution().row_dual)[:len(supplied)]
    at = relax.solve(u)
    return routed_cost(net, builds, solved), (at.base, at.conf_value)


def measure(ratio: float, seed: int, cap: float) -> dict:
    """Run the loop on one tight instance for at most ``cap`` CPU seconds."""
    net = build_network(load_instance(instance(ratio, seed)))
    cpu = time.process_time()
    lagrangian = lagrangian_bound(net, 1000)
    relax = Relaxation(net)
    at = relax.solve(lagrangian.multipliers)
    cuts, bound, upper = [(at.base, at.conf_value)], lagrangian.bound, lagrangian.cost
    trace, rounds = [], 0
    while time.process_time() - cpu < cap and upper - bound > 1e-4 * upper:
        found, chosen = master(relax, cuts)
        bound = max(bound, found)
        cost, cut = cut_at(net, relax, chosen[chosen >= relax.n_sites] - relax.n_sites)
        upper, rounds = min(upper, cost), rounds + 1
        if cut is None:
            break  # a network the LP cannot route: no optimality cut (not met on this shape)
        cuts.append(cut)
        trace.append((round(time.process_time() - cpu, 1), (upper - bound) / upper))
    return {"ratio": ratio, "seed": seed, "case": "benders", "rounds": rounds,
            "cpu_s": time.process_time() - cpu, "lagrangian_bound": lagrangian.bound,
            "lagrangian_cost": lagrangian.cost, "bound": bound, "cost": upper,
            "gap": (upper - bound) / upper, "trace": trace[::max(1, len(trace) // 10)]}


def run(cap: float) -> dict:
    """The loop on every point, each in its own process with ``cap`` CPU seconds."""
    grid = [{"ratio": ratio, "seed": seed} for ratio, seed in POINTS]
    return run_grid("benders", "benchmarks.benders", grid, ["benders"], cap, instance,
                    slack=300)


if __name__ == "__main__":
    print(json.dumps(measure(float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))))
