"""Robust siting on a Dask cluster: ``siting robust`` on china-2028, one worker vs two.

Both runs draw the same samples (same seed) into fresh folders, on a
``dask.distributed.LocalCluster`` of one then two single-threaded worker processes; the
speed-up is the one-worker time over the two-worker time, and the two runs' tables must
be identical.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, machine

INSTANCE = ROOT / "instances" / "china-2028"


def run(samples: int = 100) -> dict:
    """Time the robust run with 1 and 2 workers; return times, speed-up and the verdicts."""
    from distributed import Client, LocalCluster

    from siting.studies.robust import robust

    rows, tables = [], []
    with tempfile.TemporaryDirectory(prefix="siting-robust-") as tmp:
        for n in (1, 2):
            with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=":0") as local, Client(local) as client:
                t0 = time.perf_counter()
                result = robust(INSTANCE, Path(tmp) / f"workers-{n}", samples=samples,
                                solver="highs-quick", executor=client.get_executor())
                rows.append({"workers": n, "seconds": time.perf_counter() - t0})
                tables.append(result)
    first, second = tables
    same = all(getattr(first, name).equals(getattr(second, name))
               for name in ("frequency", "costs", "regret", "matrix"))
    freq = first.frequency
    verdicts = {verdict: sorted(f"{r.province} ({r.id}, {r.selected:.0%})"
                                for r in freq[freq["verdict"] == verdict].itertuples())
                for verdict in ("robust", "bet")}
    return {"machine": machine(), "samples": samples, "rows": rows,
            "speedup": rows[0]["seconds"] / rows[1]["seconds"], "identical": same,
            "verified": bool(first.costs["verified"].all()),
            "networks": len(first.matrix), "verdicts": verdicts,
            "best_network": first.regret.iloc[0][["network", "builds", "max_regret",
                                                  "mean_regret"]].to_dict()}


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100), indent=2,
                     default=str))
