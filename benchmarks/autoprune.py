"""Where automatic pruning starts: the unpruned model against each region's 10 nearest sites.

``python -m benchmarks autoprune`` solves the county instances of :mod:`benchmarks.county`
around ``siting.instance.prune.AUTO_PRUNE_FLOWS`` with the quick profile (1% gap) and the
run's cap as time limit, once with ``nearest_sites = "all"`` and once with 10, each in a
fresh process. Both gaps are against bounds valid for every arc (HiGHS's on the unpruned
model, the Lagrangian's or pricing's on the pruned one).

``python -m benchmarks.autoprune REGIONS SITES NEAREST CAP`` measures one case and prints JSON.
"""

from __future__ import annotations

import json
import sys

from benchmarks.common import in_subprocess
from benchmarks.county import cpu_s, instance, peak_mb

SIZES = [(3000, 300), (3000, 500), (5000, 500)]  # 0.9M, 1.5M and 2.5M flows
CASES = ("all", 10)


def measure(regions: int, sites: int, nearest: str | int, cap: float) -> dict:
    """Solve one instance with ``nearest_sites = nearest`` in this process."""
    from siting import solve
    from siting.engine.highs import load_profile

    profile = load_profile("highs-quick").model_copy(
        update={"time_limit": cap, "nearest_sites": nearest})
    meta = solve(instance(regions, sites), solver=profile).meta
    return {"regions": regions, "sites": sites, "flows": regions * sites, "nearest": nearest,
            "status": meta["status"], "gap": meta["mip_gap"], "bound_valid": meta["bound_valid"],
            "objective": meta["objective"], "cpu_s": cpu_s(), "peak_mb": peak_mb()}


def run(cap: float) -> dict:
    """Every size with every case, one process each."""
    for size in SIZES:
        instance(*size)
    rows = [in_subprocess("benchmarks.autoprune", *size, case, cap)
            for size in SIZES for case in CASES]
    return {"cap_s": cap, "rows": rows}


if __name__ == "__main__":
    regions, sites, nearest, cap = sys.argv[1:5]
    print(json.dumps(measure(int(regions), int(sites),
                             nearest if nearest == "all" else int(nearest), float(cap))))
