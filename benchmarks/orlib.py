"""All 37 OR-Library capacitated warehouse problems to proven optimality, verified."""

from __future__ import annotations

import csv
import time

from benchmarks.common import CACHE, SHARED
from siting.engine.highs import SolverProfile
from siting.engine.pipeline import solve
from siting.instance.orlib import import_orlib_cap
from siting.results.runfiles import write_run
from siting.verify.checks import verify_run

EXACT = SolverProfile(name="exact", time_limit=600, mip_rel_gap=0.0)


def run() -> list[dict]:
    """Import, solve with ``mip_rel_gap = 0``, verify, and compare with the known optimum."""
    data = SHARED / "data" / "orlib"
    with open(data / "optima.csv") as f:
        optima = {row["instance"]: float(row["optimal_cost"]) for row in csv.DictReader(f)}
    rows = []
    for name, optimum in optima.items():
        folder = CACHE / "orlib" / name
        if not (folder / "instance.toml").is_file():
            import_orlib_cap(data / f"{name}.txt", folder)
        t0 = time.perf_counter()
        solution = solve(folder, solver=EXACT)
        seconds = time.perf_counter() - t0
        run_dir = write_run(solution, CACHE / "orlib-runs" / name)
        objective = solution.meta["objective"]
        rows.append({"instance": name, "known": optimum, "objective": objective,
                     "rel_error": abs(objective - optimum) / optimum,
                     "status": solution.status, "verified": verify_run(run_dir).ok,
                     "seconds": seconds, "solve_s": solution.meta["timings"]["solve_s"]})
    return rows
