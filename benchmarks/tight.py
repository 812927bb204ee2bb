"""The hard capacitated shape (``siting generate --shape tight``, after Cornuéjols, Sridharan
and Thizy 1991): 1000 regions x 100 sites of equal capacity ``ratio`` times the mean supply
per site, fixed costs large enough that the optimum opens close to the fewest sites that
hold the supply. HiGHS alone on the unpruned strong model against the default profile, alone
and beside two CPU hogs per core (*siting-busy*), each with a time limit, one process each,
one after the other. The case *no-warm-start* (the
default profile without the warm start and lean linking: the Lagrangian's network is
HiGHS's start) runs only when asked: ``python -m benchmarks.tight no-warm-start 15 0 180``.

Each row: CPU seconds of the solve (its process's, HiGHS on one thread), wall seconds, the
final gap against the run's own bound, the network's cost, the sites it opens against the
fewest that hold the supply, and for the default profile the Lagrangian bound and its
network. Over the runs of an instance, the best cost known; it is the optimum when a run
proved it (0.01% gap), and the Lagrangian bound is reported over it.

``python -m benchmarks.tight CASE RATIO SEED CAP`` runs one case and prints JSON.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

from benchmarks.capacitated import PLAIN, solve_logged
from benchmarks.common import CACHE, busy, run_grid
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance

RATIOS = (8, 15, 30)
SEEDS = (0, 1)
CASES = {"highs-alone": PLAIN, "siting": {}, "siting-busy": {}}
EXTRA = {"no-warm-start": {"warm_start_sites": 0, "lean_linking": False}}  # on request only
HOGS_PER_CORE = 2  # case *siting-busy*: the default profile beside this many CPU hogs a core


def instance(ratio: float, seed: int):
    """The tight instance of ``ratio`` and ``seed``, generated once and cached."""
    folder = CACHE / f"tight-{ratio:g}-{seed}"
    if not (folder / "instance.toml").is_file():
        generate_instance(folder, regions=1000, sites=100, streams=1, seed=seed,
                          capacity_ratio=ratio, shape="tight")
    return folder


def measure(case: str, ratio: float, seed: int, cap: float) -> dict:
    """Solve one instance with one case in this process; CPU seconds included."""
    folder = instance(ratio, seed)
    loaded = load_instance(folder)
    capacity = loaded.spec.tiers["plant"].sizes[0].capacity
    fewest = math.ceil(loaded.supply.to_numpy().sum() / capacity)
    log = CACHE / f"tight-{ratio:g}-{seed}-{case}.log"
    with busy(HOGS_PER_CORE * (os.cpu_count() or 1) if case.endswith("busy") else 0):
        cpu = time.process_time()
        row = solve_logged(folder, None, {**CASES, **EXTRA}[case], cap, log)
    return {"case": case, "ratio": ratio, "seed": seed, "cpu_s": time.process_time() - cpu,
            "fewest": fewest, **row}


def run(cap: float) -> dict:
    """Both cases on every instance, seed 0 first; saved after every row."""
    grid = [{"ratio": ratio, "seed": seed} for seed in SEEDS for ratio in RATIOS]
    return run_grid("tight", "benchmarks.tight", grid, CASES, cap, instance, slack=600)


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]),
                             float(sys.argv[4]))))
