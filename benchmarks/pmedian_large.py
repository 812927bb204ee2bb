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

import numpy as np

from benchmarks.capacitated import PLAIN, solve_logged
from benchmarks.common import CACHE, run_grid
from benchmarks.pmedian import write_pmedian
from siting.scenario import load_scenario

SIZES = (400, 600, 900)
CASES = {"plain": PLAIN, "siting": {}}  # HiGHS alone, the default profile
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
    """Solve one p-median with one case in this process."""
    folder, scenario = instance(n, p)
    log = CACHE / f"pmedian-large-{n}-p{p}-{case}.log"
    return {"case": case, "n": n, "p": p,
            **solve_logged(folder, load_scenario(scenario), CASES[case], cap, log)}


def run(cap: float) -> dict:
    """Both cases on every size and p, each in its own process with a ``cap`` second limit.

    The results so far are saved after every case, so a session cut short keeps them.
    """
    grid = [{"n": n, "p": p} for n in SIZES for p in PS]
    return run_grid("pmedian_large", "benchmarks.pmedian_large", grid, CASES, cap, instance,
                    slack=900)


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                             float(sys.argv[4]))))
