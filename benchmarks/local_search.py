"""The local search on the MIP start: pruned quick-profile runs (``nearest_sites = 10``,
1% gap) with the DROP start and with the Lagrangian start, each without and with the
search, same seed and profile otherwise. Gaps are against the best bound valid for the
full problem found at that size in this session (the Lagrangian runs have one).

``python -m benchmarks.local_search START SEARCH_SECONDS REGIONS SITES CAP`` runs one case
and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.common import in_subprocess, synthetic
from benchmarks.scaling import NEAREST
from siting.engine.highs import SolverProfile
from siting.engine.pipeline import solve

SIZES = [(1000, 100), (3000, 300), (10000, 500)]
STARTS = {"drop": {"heuristic_start": True, "lagrangian": False},
          "lagrangian": {"lagrangian": True}}
SEARCH_SECONDS = 5.0


def measure(start: str, search: float, regions: int, sites: int, cap: float) -> dict:
    """Solve one size from one start with ``search`` seconds of local search, in this process."""
    profile = SolverProfile(name=f"quick-{start}", time_limit=cap, mip_rel_gap=0.01,
                            nearest_sites=NEAREST, local_search_seconds=search, **STARTS[start])
    folder = synthetic(regions, sites)
    t0 = time.perf_counter()
    meta = solve(folder, solver=profile).meta
    return {"start": start, "search_s": search, "size": f"{regions}x{sites}",
            "status": meta["status"], "seconds": time.perf_counter() - t0,
            "objective": meta["objective"], "bound": meta["best_bound"],
            "bound_valid": meta["bound_valid"], "start_costs": meta["start"]}


def run(cap: float) -> list[dict]:
    """Every start without and with the search at every size, one process per run."""
    rows = []
    for regions, sites in SIZES:
        synthetic(regions, sites)
        for start in STARTS:
            for search in (0.0, SEARCH_SECONDS):
                rows.append(in_subprocess("benchmarks.local_search", start, search, regions,
                                          sites, cap, timeout=cap * 4 + 600))
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]),
                             int(sys.argv[4]), float(sys.argv[5]))))
