"""Modelling overhead: siting's load + build + hand-off against the same matrix built with numpy.

``python -m benchmarks.overhead siting|floor|ROUTE REGIONS SITES`` measures one case in this
process and prints JSON; :func:`run` drives one subprocess per case.
"""

from __future__ import annotations

import gc
import json
import sys
import time

import highspy
import numpy as np
import scipy.sparse as sp

from benchmarks.common import in_subprocess, peak_rss_mb, synthetic
from siting.engine.highs import SolverProfile, highs_lp, to_highs
from siting.instance.load import load_instance
from siting.instance.network import Network, build_network
from siting.model.core import build_model, link_rows

SIZES = [(100, 30), (1000, 100), (3000, 300)]
ROUTE_SIZE = (1000, 100)
ROUTES = ("standard_form", "appsi", "contrib")
PROFILE = SolverProfile(time_limit=60, mip_rel_gap=0.01)


def floor_highs(net: Network, strong: bool) -> highspy.Highs:
    """The core model of a one-tier network assembled directly as a HiGHS matrix.

    Columns are flows, builds, then uncollected tonnes; rows are supply balances, capacity,
    minimum throughput, one size per site and (``strong``) the linking rows: the same rows
    and coefficients as :func:`siting.model.core.build_model` gives with no policies.
    """
    if net.n_tiers != 1:
        raise ValueError("the floor is written for one-tier networks")
    n_flow, n_opt = len(net.flow_arc), len(net.option_site)
    n_site = len(net.site_tier)
    pair_r, pair_s = np.nonzero(net.supply > 0)
    pair_of = np.full(net.supply.shape, -1)
    pair_of[pair_r, pair_s] = np.arange(len(pair_r))
    optional = np.flatnonzero(~np.isnan(net.penalty[pair_s]))
    n_unc = len(optional)
    flows, builds, unc = np.arange(n_flow), n_flow + np.arange(n_opt), n_flow + n_opt
    dest, cap, low = net.flow_dest, net.option_capacity, net.option_min
    blocks, lower, upper = [], [], []

    def add(rows, cols, vals, n_rows, lo, up):
        blocks.append((np.asarray(rows) + sum(len(b) for b in lower), cols, vals))
        lower.append(np.broadcast_to(lo, n_rows))
        upper.append(np.broadcast_to(up, n_rows))

    q = net.supply[pair_r, pair_s]
    add(np.concatenate([pair_of[net.flow_origin, net.flow_stream], optional]),
        np.concatenate([flows, unc + np.arange(n_unc)]), np.ones(n_flow + n_unc), len(q), q, q)
    used = np.unique(dest)
    row_of = np.full(n_site, -1)
    row_of[used] = np.arange(len(used))
    opt_used = np.isin(net.option_site, used)
    add(np.concatenate([row_of[dest], row_of[net.option_site[opt_used]]]),
        np.concatenate([flows, builds[opt_used]]),
        np.concatenate([np.ones(n_flow), -cap[opt_used]]), len(used), -np.inf,
        net.site_existing[used])
    with_min = np.intersect1d(used, np.unique(net.option_site[low > 0]))
    row_of[:] = -1
    row_of[with_min] = np.arange(len(with_min))
    f_in, o_in = row_of[dest] >= 0, (row_of[net.option_site] >= 0)
    add(np.concatenate([row_of[dest][f_in], row_of[net.option_site][o_in]]),
        np.concatenate([flows[f_in], builds[o_in]]),
        np.concatenate([np.ones(f_in.sum()), -low[o_in]]), len(with_min), 0.0, np.inf)
    counts = np.bincount(net.option_site, minlength=n_site)
    multi = np.flatnonzero(counts > 1)
    row_of[:] = -1
    row_of[multi] = np.arange(len(multi))
    o_in = row_of[net.option_site] >= 0
    add(row_of[net.option_site][o_in], builds[o_in], np.ones(o_in.sum()), len(multi), -np.inf, 1.0)
    if strong:
        k = link_rows(net)
        r = np.arange(len(k))
        site_opts = sp.csr_matrix((np.ones(n_opt), (net.option_site, np.arange(n_opt))),
                                  shape=(n_site, n_opt))
        opts = site_opts[dest[k]].tocoo()
        q_k = net.supply[net.flow_origin[k], net.flow_stream[k]]
        add(np.concatenate([r, opts.row]), np.concatenate([k, builds[opts.col]]),
            np.concatenate([np.ones(len(k)), -q_k[opts.row]]), len(k), -np.inf, 0.0)
    rows = np.concatenate([b[0] for b in blocks])
    cols = np.concatenate([b[1] for b in blocks])
    vals = np.concatenate([b[2] for b in blocks])
    n_col, n_row = n_flow + n_opt + n_unc, sum(len(b) for b in lower)
    A = sp.csc_matrix((vals, (rows, cols)), shape=(n_row, n_col))
    finance = net.instance.spec.finance
    annuity = finance.annuity_factor if finance else 0.0
    integer = np.r_[np.zeros(n_flow, dtype=bool), np.ones(n_opt, dtype=bool),
                    np.zeros(n_unc, dtype=bool)]
    lp = highs_lp(A, np.concatenate([net.flow_transport_cost + net.flow_processing_cost,
                                     net.option_fixed + annuity * net.option_capex,
                                     net.penalty[pair_s[optional]]]),
                  (np.zeros(n_col), np.concatenate([np.full(n_flow, np.inf), np.ones(n_opt),
                                                    np.full(n_unc, np.inf)])),
                  (np.concatenate(lower), np.concatenate(upper)),
                  offset=float(net.instance.sites["existing_fixed_cost"].sum()), integer=integer)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs


def _handoff(route: str, m) -> highspy.Highs:
    """Hand ``m`` to HiGHS by ``route``; return the Highs object holding it."""
    if route == "standard_form":
        return to_highs(m, PROFILE)[0]
    if route == "appsi":
        from pyomo.contrib.appsi.solvers import Highs
    else:
        from pyomo.contrib.solver.solvers.highs import Highs
    opt = Highs()
    opt.set_instance(m)
    return opt._solver_model  # private, read only to check the size in a benchmark


def measure(case: str, regions: int, sites: int, strong: bool | None = None) -> dict:
    """Time load, build and hand-off (or the direct assembly) of one size in this process.

    The smallest size is also solved (untimed) so that the objectives show the floor is
    the same model.
    """
    folder = synthetic(regions, sites)
    gc.collect()
    t0 = time.perf_counter()
    net = build_network(load_instance(folder))
    t1 = time.perf_counter()
    if case == "floor":
        highs = floor_highs(net, bool(strong))
        t2 = t3 = time.perf_counter()
    else:
        m = build_model(net)
        t2 = time.perf_counter()
        highs = _handoff("standard_form" if case == "siting" else case, m)
        t3 = time.perf_counter()
        strong = bool(m.strong_linking)
    result = {"case": case, "size": f"{regions}x{sites}", "load_s": t1 - t0,
              "build_s": t2 - t1, "handoff_s": t3 - t2, "columns": highs.getNumCol(),
              "rows": highs.getNumRow(), "strong": strong, "peak_mb": peak_rss_mb()}
    if (regions, sites) == SIZES[0]:
        highs.setOptionValue("mip_rel_gap", 0.0)
        highs.run()
        result["objective"] = highs.getInfo().objective_function_value
    return result


def run() -> dict:
    """Measure siting and the floor at every size, and the hand-off routes at one size."""
    sizes = []
    for regions, sites in SIZES:
        synthetic(regions, sites)
        ours = in_subprocess("benchmarks.overhead", "siting", regions, sites)
        floor = in_subprocess("benchmarks.overhead", "floor", regions, sites,
                              json.dumps(ours["strong"]))
        same = ("columns", "rows", "objective")
        if any(abs(floor.get(k, 0) - ours.get(k, 0)) > 1e-6 * abs(ours.get(k, 1)) for k in same):
            raise RuntimeError(f"the floor is not the same model: {floor} vs {ours}")
        sizes.append({"siting": ours, "floor": floor})
    routes = [in_subprocess("benchmarks.overhead", route, *ROUTE_SIZE) for route in ROUTES]
    return {"sizes": sizes, "routes": routes}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                             *map(json.loads, sys.argv[4:]))))
