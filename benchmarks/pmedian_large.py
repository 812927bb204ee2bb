"""Large p-median problems (n clients = n candidate sites, p of them open), where plain MILP
is slowest: plain HiGHS on the unpruned strong model against the default profile, whose
Lagrangian relaxation keeps the ``facility_count`` policy (its bound, its network as the
MIP start, its reduced-cost fixings), to a 0.01% gap.

Clients are random points in a 100 x 100 square (seeded by n), costs their Euclidean
distances, weights integers 1-99. The time to a proven 1% gap is read as in
:mod:`benchmarks.capacitated`.

``python -m benchmarks.pmedian_large CASE N P CAP`` runs one case and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from benchmarks.capacitated import CASES, first_within
from benchmarks.common import CACHE, in_subprocess, peak_rss_mb, save
from benchmarks.pmedian import write_pmedian
from siting.run import solve
from siting.scenario import load_scenario
from siting.solver import SolverProfile, gap

SIZES = (400, 600, 900)
PS = (5, 10)


def instance(n: int, p: int) -> tuple:
    """The instance folder and scenario of the ``n`` x ``n`` p-median, written once."""
    name = f"pmedian-large-{n}-p{p}"
    folder = CACHE / name
    if not (folder / "pmedian.toml").is_file():
        rng = np.random.default_rng(n)
        points = rng.uniform(0, 100, (n, 2))
        cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2), 3)
        write_pmedian(cost, rng.integers(1, 100, n).astype(float), p, name)
    return folder, folder / "pmedian.toml"


def measure(case: str, n: int, p: int, cap: float) -> dict:
    """Solve one p-median with one case in this process (strong linking, 0.01% gap)."""
    folder, scenario = instance(n, p)
    log = CACHE / f"pmedian-large-{n}-p{p}-{case}.log"
    log.unlink(missing_ok=True)
    profile = SolverProfile(name=case, time_limit=cap, mip_rel_gap=1e-4, **CASES[case],
                            options={"output_flag": True, "log_to_console": False,
                                     "log_file": str(log)})
    t0 = time.perf_counter()
    meta = solve(folder, load_scenario(scenario), profile, strong_linking=True).meta
    seconds = time.perf_counter() - t0
    timings = meta["timings"]
    lag = meta.get("lagrangian")
    at_lag = lag is not None and "bound" in lag and gap(lag["heuristic_cost"], lag["bound"]) <= 0.01
    in_highs = first_within(log.read_text())
    before = timings["load_s"] + timings["build_s"] + timings["handoff_s"]
    to_1 = (timings["load_s"] + lag["seconds"] if at_lag else
            None if in_highs is None else before + in_highs)
    proven = meta["status"] == "optimal" and meta["bound_valid"]
    return {"case": case, "n": n, "p": p, "status": meta["status"],
            "status_text": meta["status_text"], "seconds": seconds,
            "objective": meta["objective"], "bound": meta["best_bound"], "gap": meta["mip_gap"],
            "bound_source": meta["bound_source"], "lagrangian": lag, "to_1pct_s": to_1,
            "to_optimal_s": seconds if proven else None, "timings": timings,
            "peak_mb": peak_rss_mb()}


def run(cap: float) -> dict:
    """Both cases on every size and p, each in its own process with a ``cap`` second limit.

    The results so far are saved after every case, so a session cut short keeps them.
    """
    rows = []
    for n in SIZES:
        for p in PS:
            instance(n, p)
            for case in CASES:
                try:
                    rows.append(in_subprocess("benchmarks.pmedian_large", case, n, p, cap,
                                              timeout=cap * 3 + 900))
                except (RuntimeError, TimeoutError) as exc:
                    rows.append({"case": case, "n": n, "p": p,
                                 "status": f"failed: {str(exc).splitlines()[-1][:200]}"})
                save("pmedian_large", {"cap_s": cap, "rows": rows})
    return {"cap_s": cap, "rows": rows}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                             float(sys.argv[4]))))
