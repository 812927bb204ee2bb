"""County scale on a laptop: siting against the matrix model, in CPU seconds.

``python -m benchmarks county`` measures, in one run, every figure issue 23 sets a goal for.
Each measurement is a fresh process; CPU is user + system seconds of that process from its
start (imports included), so a machine shared with other work slows both sides alike.
Instances are ``siting generate X --regions R --sites F --streams 1 --single-size --seed 0``
(no policies). The *matrix model* (:mod:`benchmarks.floor`) reads the same data with
siting's loader and writes the same rows straight into highspy.

- *hand-off*: process start to the model held by HiGHS; peak resident memory.
- *end to end*: process start to the solution in hand (siting: ``siting.solve`` with the
  quick profile; matrix model: HiGHS to the same 1% gap, the flows read into a table);
  the median of three interleaved pairs.
- *solve*: ``siting.solve`` with the quick profile on the unpruned model; CPU to the end.
- *p-median*: :mod:`benchmarks.pmedian_large`'s instances, the default profile to a 0.01%
  gap, p from 5 to n/10.

``python -m benchmarks.county handoff|end_to_end|solve|pmedian CASE REGIONS SITES [CAP]``
measures one case in this process and prints JSON (a p-median's REGIONS SITES are n p).
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
from pathlib import Path

from benchmarks.common import CACHE, in_subprocess, save

HANDOFF_SIZES = [(100, 30), (1000, 100), (3000, 300)]
SOLVE_SIZES = [(1000, 100), (3000, 300), (10000, 500)]
SMALL = (100, 30)
QUICK = 0.01
PMEDIANS = [(400, 5), (400, 40), (600, 30), (900, 5), (900, 90)]  # p from 5 to n/10


def instance(regions: int, sites: int) -> Path:
    """The one-stream, one-size instance of a size (generated once, cached)."""
    from siting.instance.generate import generate_instance

    folder = CACHE / f"county-{regions}x{sites}"
    if not (folder / "instance.toml").is_file():
        generate_instance(folder, regions=regions, sites=sites, streams=1, seed=0,
                          single_size=True)
    return folder


def cpu_s() -> float:
    """CPU seconds of this process since it started (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    """Peak resident memory of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def handoff(case: str, regions: int, sites: int) -> dict:
    """Load the instance and hand its model to HiGHS (siting, or the matrix model)."""
    from siting.instance.load import load_instance
    from siting.instance.network import build_network

    folder = instance(regions, sites)
    if case == "matrix":
        from benchmarks.floor import floor_highs

        highs = floor_highs(build_network(load_instance(folder)), strong=True)
    else:
        from siting.engine.highs import SolverProfile, to_highs
        from siting.model.core import build_model

        highs = to_highs(build_model(build_network(load_instance(folder))), SolverProfile())[0]
    return {"case": case, "size": f"{regions}x{sites}", "cpu_s": cpu_s(), "peak_mb": peak_mb(),
            "rows": highs.getNumRow(), "columns": highs.getNumCol()}


def end_to_end(case: str, regions: int, sites: int) -> dict:
    """Load, build, solve to 1% and read the flows: the whole of a small solve."""
    folder = instance(regions, sites)
    if case == "matrix":
        import pandas as pd

        from benchmarks.floor import floor_highs
        from siting.instance.load import load_instance
        from siting.instance.network import build_network

        net = build_network(load_instance(folder))
        highs = floor_highs(net, strong=True)
        highs.setOptionValue("mip_rel_gap", QUICK)
        highs.run()
        x = highs.getSolution().col_value[:len(net.flow_arc)]
        flows = pd.DataFrame({"origin": net.flow_origin, "dest": net.flow_dest, "tonnes": x})
        objective, count = highs.getInfo().objective_function_value, int((flows.tonnes > 0).sum())
    else:
        from siting import solve

        solution = solve(folder, solver="highs-quick")
        objective, count = solution.meta["objective"], len(solution.flows)
    return {"case": case, "cpu_s": cpu_s(), "peak_mb": peak_mb(), "objective": objective,
            "flows": count}


def solve_unpruned(regions: int, sites: int, cap: float) -> dict:
    """``siting.solve`` with the quick profile (``time_limit = cap``) on the unpruned model."""
    from siting import solve
    from siting.engine.highs import load_profile

    profile = load_profile("highs-quick").model_copy(update={"time_limit": cap})
    solution = solve(instance(regions, sites), solver=profile)
    meta = solution.meta
    relaxed = meta.get("lagrangian") or {}
    return {"size": f"{regions}x{sites}", "cpu_s": cpu_s(), "peak_mb": peak_mb(),
            "status": meta["status"], "gap": meta.get("mip_gap"),
            "bound_source": meta.get("bound_source"), "pruning": meta.get("pruning"),
            "variables": (meta.get("model_size") or {}).get("variables"),
            "timings": meta.get("timings", {}), "lagrangian": relaxed,
            "lean_linking": meta.get("lean_linking")}


def pmedian(n: int, p: int, cap: float) -> dict:
    """The default profile on one large p-median (:mod:`benchmarks.pmedian_large`)."""
    from benchmarks.pmedian_large import measure

    return {**measure("siting", n, p, cap), "cpu_s": cpu_s(), "peak_mb": peak_mb()}


def end_to_end_pairs(repeats: int = 3) -> list[dict]:
    """Both small solves ``repeats`` times, interleaved; the median CPU and peak of each."""
    pairs = [[in_subprocess("benchmarks.county", "end_to_end", case, *SMALL)
              for case in ("matrix", "siting")] for _ in range(repeats)]
    return [{"case": case, "cpu_s": statistics.median(p[i]["cpu_s"] for p in pairs),
             "peak_mb": statistics.median(p[i]["peak_mb"] for p in pairs),
             "objective": pairs[0][i]["objective"]}
            for i, case in enumerate(("matrix", "siting"))]


def run(cap: float) -> dict:
    """Every measurement of the section, in this order, each in its own process.

    ``cap`` is the time limit of each solve (the goals: 10 minutes).
    """
    for size in {*HANDOFF_SIZES, *SOLVE_SIZES, SMALL}:
        instance(*size)
    out: dict = {"cap_s": cap, "handoff": [], "end_to_end": [], "solve": [], "pmedian": []}
    for size in HANDOFF_SIZES:
        for case in ("matrix", "siting"):
            out["handoff"].append(in_subprocess("benchmarks.county", "handoff", case, *size))
    out["end_to_end"] = end_to_end_pairs()
    for size in SOLVE_SIZES:
        out["solve"].append(in_subprocess("benchmarks.county", "solve", "siting", *size, cap,
                                          timeout=cap * 3 + 600))
        save("county", out)
    for n, p in PMEDIANS:
        out["pmedian"].append(in_subprocess("benchmarks.county", "pmedian", "siting", n, p, cap,
                                            timeout=cap * 3 + 600))
        save("county", out)
    return out


if __name__ == "__main__":
    kind, case, regions, sites = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if kind == "handoff":
        print(json.dumps(handoff(case, regions, sites)))
    elif kind == "end_to_end":
        print(json.dumps(end_to_end(case, regions, sites)))
    elif kind == "pmedian":
        print(json.dumps(pmedian(regions, sites, float(sys.argv[5])), default=str))
    else:
        print(json.dumps(solve_unpruned(regions, sites, float(sys.argv[5])), default=str))
