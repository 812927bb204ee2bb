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

from benchmarks.common import in_subprocess, peak_rss_mb, synthetic
from benchmarks.floor import floor_highs
from siting.engine.highs import SolverProfile, to_highs
from siting.instance.load import load_instance
from siting.instance.network import build_network
from siting.model.core import build_model

SIZES = [(100, 30), (1000, 100), (3000, 300)]
ROUTE_SIZE = (1000, 100)
ROUTES = ("standard_form", "appsi", "contrib")
PROFILE = SolverProfile(time_limit=60, mip_rel_gap=0.01)


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
