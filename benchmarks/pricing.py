"""What pricing of pruned arcs costs, and what it proves.

Synthetic instances pruned to the 10 nearest sites, DROP start, quick profile (1% gap),
HiGHS capped per solve, each run in its own process: without pricing (``pricing_rounds =
0``: no bound of the full problem) and with it (the default 10 rounds).

``python -m benchmarks.pricing REGIONS SITES ROUNDS CAP`` runs one and prints JSON.
"""

from __future__ import annotations

import json
import sys
import time

from benchmarks.common import in_subprocess, peak_rss_mb, synthetic
from siting.engine.highs import SolverProfile
from siting.engine.pipeline import solve

SIZES = [(1000, 100), (3000, 300)]


def measure(regions: int, sites: int, rounds: int, cap: float) -> dict:
    """Solve one pruned synthetic instance with ``rounds`` of pricing in this process."""
    profile = SolverProfile(name="quick-nearest10", time_limit=cap, mip_rel_gap=0.01,
                            nearest_sites=10, heuristic_start=True, pricing_rounds=rounds)
    t0 = time.perf_counter()
    meta = solve(synthetic(regions, sites), solver=profile).meta
    return {"size": f"{regions}x{sites}", "rounds": rounds, "seconds": time.perf_counter() - t0,
            "status_text": meta["status_text"], "objective": meta["objective"],
            "pricing": meta["pruning"]["pricing"],
            "pricing_s": meta["timings"].get("pricing_s", 0.0), "peak_mb": peak_rss_mb()}


def run(cap: float) -> list[dict]:
    """Every size without and with pricing, each in its own process."""
    return [in_subprocess("benchmarks.pricing", regions, sites, rounds, cap,
                          timeout=cap * 4 + 600)
            for regions, sites in SIZES for rounds in (0, 10)]


if __name__ == "__main__":
    regions, sites, rounds, cap = map(float, sys.argv[1:5])
    print(json.dumps(measure(int(regions), int(sites), int(rounds), cap)))
