"""Scaling: plain HiGHS on the unpruned strong formulation against the default profile's
steps (the Lagrangian relaxation by size, the restricted warm start, lean linking), on the
unpruned model and with arcs pruned to the 10 nearest sites, every run time-capped.
Most runs use the quick profile's 1% gap; at 1000x100 plain and default also run to the
default profile's 0.01% (*-exact*), for the time to proven optimality. Gaps are reported
against a bound valid for the full problem (``bound_valid`` in solution.json); a pruned run
without one is compared with the best valid bound of the same size in the same session.

``python -m benchmarks.scaling CASE REGIONS SITES CAP`` runs one case and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.common import in_subprocess, peak_rss_mb, synthetic
from siting.engine.highs import SolverProfile
from siting.engine.pipeline import solve
from siting.errors import SitingError

SIZES = [(100, 30), (1000, 100), (3000, 300), (10000, 500)]
NEAREST = 10
PLAIN = {"lagrangian": False, "warm_start_sites": 0, "lean_linking": False}  # HiGHS alone
QUICK, EXACT = 0.01, 1e-4
CASES = {  # name: (profile settings, strong linking, gap)
    "plain": (PLAIN, True, QUICK),
    "default": ({}, True, QUICK),
    "pruned": ({"nearest_sites": NEAREST}, True, QUICK),
    "pruned-weak": ({"nearest_sites": NEAREST}, False, QUICK),
    "plain-exact": (PLAIN, True, EXACT),
    "default-exact": ({}, True, EXACT),
}
# The weak-linking run compares the two linkings on the largest pruned model
# (10000x500: 200,000 link rows); the exact runs are made at 1000x100.
ONLY = {"pruned-weak": {(10000, 500)}, "plain-exact": {(1000, 100)},
        "default-exact": {(1000, 100)}}
# Unpruned 10000x500 has 10M flows: Pyomo would need more than this machine's RAM (3000x300,
# 1.8M flows, peaks above 3 GB before HiGHS starts), so it is not attempted.
SKIP = {("plain", 10000, 500), ("default", 10000, 500)}


def measure(case: str, regions: int, sites: int, cap: float) -> dict:
    """Solve one size with one case in this process; time includes load and build."""
    extra, strong, wanted = CASES[case]
    profile = SolverProfile(name=case, time_limit=cap, mip_rel_gap=wanted, **extra)
    folder = synthetic(regions, sites)
    t0 = time.perf_counter()
    try:
        solution = solve(folder, solver=profile, strong_linking=strong)
    except SitingError as exc:
        return {"case": case, "size": f"{regions}x{sites}", "status": f"no solution ({exc})",
                "seconds": time.perf_counter() - t0, "peak_mb": peak_rss_mb()}
    meta = solution.meta
    return {"case": case, "size": f"{regions}x{sites}", "status": meta["status"],
            "seconds": time.perf_counter() - t0, "objective": meta["objective"],
            "bound": meta["best_bound"], "gap": meta["mip_gap"],
            "bound_valid": meta["bound_valid"], "bound_source": meta["bound_source"],
            "lagrangian": meta.get("lagrangian"), "warm_start": meta.get("warm_start"),
            "lean_linking": meta.get("lean_linking"), "wanted_gap": wanted,
            "strong": meta["strong_linking"], "timings": meta["timings"],
            "binding_regions": len(meta.get("pruning", {}).get("binding_regions", [])),
            "peak_mb": peak_rss_mb()}


def run(cap: float) -> list[dict]:
    """Every case at its sizes, each in its own process with a ``cap`` second limit."""
    rows = []
    for regions, sites in SIZES:
        synthetic(regions, sites)
        for case in CASES:
            if case in ONLY and (regions, sites) not in ONLY[case]:
                continue
            if (case, regions, sites) in SKIP:
                rows.append({"case": case, "size": f"{regions}x{sites}",
                             "status": "not attempted (memory)"})
                continue
            try:
                rows.append(in_subprocess("benchmarks.scaling", case, regions, sites, cap,
                                          timeout=cap * 4 + 600))
            except (RuntimeError, TimeoutError) as exc:
                rows.append({"case": case, "size": f"{regions}x{sites}",
                             "status": f"failed: {str(exc).splitlines()[-1][:200]}"})
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                             float(sys.argv[4]))))
