"""Capacitated facility location shaped like OR-Library's capa/b/c (100 sites x 1000
customers, equal capacities at ``ratio`` times the mean demand per site): plain HiGHS on
the unpruned strong model against the default profile (the Lagrangian relaxation chosen
by size, the restricted warm start, lean linking) and the default profile without the
Lagrangian step, to a 0.01% gap.

The time to a proven 1% gap is read from HiGHS's own log (the first line whose gap is
within 1%, plus the time before HiGHS started), or, when a network in hand (the
Lagrangian's or the warm start's) is already within 1% of the Lagrangian bound, the time
up to the end of those steps.

``python -m benchmarks.capacitated CASE RATIO CAP`` runs one case and prints JSON.
"""

from __future__ import annotations

import json
import re
import sys
import time

from benchmarks.common import CACHE, in_subprocess, peak_rss_mb
from siting.engine.highs import SolverProfile, gap
from siting.engine.pipeline import solve
from siting.instance.generate import generate_instance

RATIOS = (2, 3, 4, 6, 8)
PLAIN = {"lagrangian": False, "warm_start_sites": 0, "lean_linking": False}  # HiGHS alone
CASES = {"plain": PLAIN, "siting": {}, "without-lagrangian": {"lagrangian": False}}
TIME = re.compile(r"\s(\d+\.\d+)s\s*$")


def instance(ratio: float):
    """The capa-like instance of ``ratio``, generated once and cached."""
    folder = CACHE / f"capa-like-{ratio:g}"
    if not (folder / "instance.toml").is_file():
        generate_instance(folder, regions=1000, sites=100, streams=1, seed=0,
                          capacity_ratio=ratio, single_size=True)
    return folder


def first_within(log: str, tol: float = 0.01) -> float | None:
    """HiGHS's time when its log first shows a gap within ``tol``, or None."""
    for line in log.splitlines():
        at = TIME.search(line)
        percents = [t for t in line.split() if t.endswith("%")]  # explored, then gap
        if at and len(percents) == 2 and float(percents[1][:-1]) <= tol * 100:
            return float(at.group(1))
    return None


def solve_logged(folder, scenario, settings: dict, cap: float, log) -> dict:
    """Solve with HiGHS logging to ``log`` (strong linking, 0.01% gap); the measured figures.

    ``settings`` are the case's profile settings; the times to a proven 1% gap and to the
    proven 0.01% gap are read as the module docstring says.
    """
    log.unlink(missing_ok=True)
    profile = SolverProfile(name="case", time_limit=cap, mip_rel_gap=1e-4, **settings,
                            options={"output_flag": True, "log_to_console": False,
                                     "log_file": str(log)})
    t0 = time.perf_counter()
    solution = solve(folder, scenario, profile, strong_linking=True)
    seconds, meta = time.perf_counter() - t0, solution.meta
    timings = meta["timings"]
    before = timings["load_s"] + timings["build_s"] + timings["handoff_s"]
    lag, warm = meta.get("lagrangian"), meta.get("warm_start")
    costs = [c for c in (lag and lag.get("heuristic_cost"), warm and warm["cost"])
             if c is not None]
    at_lag = bool(costs) and "bound" in (lag or {}) and gap(min(costs), lag["bound"]) <= 0.01
    in_highs = first_within(log.read_text())
    to_1 = (timings["load_s"] + lag["seconds"] + (warm["seconds"] if warm else 0) if at_lag
            else None if in_highs is None else before + in_highs)
    proven = meta["status"] == "optimal" and meta["bound_valid"]
    return {"status": meta["status"], "status_text": meta["status_text"], "seconds": seconds,
            "objective": meta["objective"], "bound": meta["best_bound"], "gap": meta["mip_gap"],
            "bound_source": meta["bound_source"], "lagrangian": lag, "warm_start": warm,
            "lean_linking": meta.get("lean_linking"), "to_1pct_s": to_1,
            "to_optimal_s": seconds if proven else None, "timings": timings,
            "open": int(solution.facilities["open"].sum()),
            "peak_mb": peak_rss_mb()}


def measure(case: str, ratio: float, cap: float) -> dict:
    """Solve one ratio with one case in this process."""
    log = CACHE / f"capa-like-{ratio:g}-{case}.log"
    return {"case": case, "ratio": ratio,
            **solve_logged(instance(ratio), None, CASES[case], cap, log)}


def run(cap: float) -> list[dict]:
    """Both cases at every ratio, each in its own process with a ``cap`` second limit."""
    rows = []
    for ratio in RATIOS:
        instance(ratio)
        for case in CASES:
            try:
                rows.append(in_subprocess("benchmarks.capacitated", case, ratio, cap,
                                          timeout=cap * 3 + 600))
            except (RuntimeError, TimeoutError) as exc:
                rows.append({"case": case, "ratio": ratio,
                             "status": f"failed: {str(exc).splitlines()[-1][:200]}"})
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]))))
