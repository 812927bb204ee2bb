"""Strong against weak linking where the old automatic rule chose weak (over 250,000 rows).

Two problems, each solved with both linkings in its own process under the same time cap:
a p-median of 600 clients x 600 sites, p = 5 (the shape of OR-Library pmed26; 360,000 link
rows), and the synthetic 3000 x 300 instance pruned to its 50 nearest sites with the DROP
start (300,000 link rows) on the quick profile. Gaps are the runs' own, against HiGHS's
bound (p-median, unpruned) or the pruned model's bound (synthetic; the same model for both
linkings, so the comparison holds).

``python -m benchmarks.linking CASE STRONG CAP`` runs one and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from benchmarks.common import in_subprocess, peak_rss_mb, synthetic
from benchmarks.pmedian import write_pmedian
from siting.engine.highs import SolverProfile, gap
from siting.engine.pipeline import solve
from siting.scenario import load_scenario

CASES = ("pmedian-600x600-p5", "synthetic-3000x300-nearest50")


def _problem(case: str, cap: float) -> tuple:
    """The instance folder, scenario and profile of ``case``."""
    if case == CASES[0]:
        rng = np.random.default_rng(26)
        points = rng.uniform(0, 100, (600, 2))
        cost = np.round(np.linalg.norm(points[:, None] - points[None], axis=2), 3)
        folder, scenario = write_pmedian(cost, rng.integers(1, 100, 600).astype(float), 5)
        return folder, load_scenario(scenario), SolverProfile(name="exact", time_limit=cap,
                                                              mip_rel_gap=1e-4)
    return synthetic(3000, 300), None, SolverProfile(
        name="quick-nearest50", time_limit=cap, mip_rel_gap=0.01, nearest_sites=50,
        heuristic_start=True)


def measure(case: str, strong: bool, cap: float) -> dict:
    """Solve ``case`` with strong or weak linking in this process."""
    folder, scenario, profile = _problem(case, cap)
    t0 = time.perf_counter()
    meta = solve(folder, scenario, profile, strong_linking=strong).meta
    return {"case": case, "linking": "strong" if strong else "weak",
            "rows": meta["model_size"]["constraints"], "status": meta["status"],
            "seconds": time.perf_counter() - t0, "objective": meta["objective"],
            "model_gap": gap(meta["objective"], meta["highs_bound"]), "peak_mb": peak_rss_mb()}


def run(cap: float) -> list[dict]:
    """Every case with both linkings, each in its own process."""
    return [in_subprocess("benchmarks.linking", case, strong, cap, timeout=cap * 4 + 600)
            for case in CASES for strong in (1, 0)]


if __name__ == "__main__":
    case, strong, cap = sys.argv[1], bool(int(sys.argv[2])), float(sys.argv[3])
    print(json.dumps(measure(case, strong, cap)))
