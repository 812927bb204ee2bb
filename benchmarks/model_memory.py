"""Memory of a model against the estimate that guards solving (siting.instance.size).

``python -m benchmarks.model_memory REGIONS SITES [NEAREST]`` measures one case in this
process (peak resident memory added by network, model and HiGHS hand-off) and prints JSON;
:func:`run` drives one subprocess per case.
"""

from __future__ import annotations

import json
import sys

from benchmarks.common import in_subprocess, peak_rss_mb, synthetic
from siting.engine.highs import SolverProfile, to_highs
from siting.engine.job import resolve_scenario
from siting.engine.steps import prepare, pruned_model
from siting.instance.load import load_instance
from siting.instance.size import estimate_size
from siting.model.spec import ModelSpec

CASES = [(300, 50, None), (1000, 100, None), (2000, 200, 10)]


def measure(regions: int, sites: int, nearest: int | None) -> dict:
    """Estimate, then build and hand off one synthetic case; peak memory added, in MB."""
    instance = load_instance(synthetic(regions, sites))
    size = estimate_size(instance, nearest)
    before = peak_rss_mb()
    profile = SolverProfile(nearest_sites=nearest)
    m, _ = pruned_model(prepare(instance, resolve_scenario(instance.path, None)), ModelSpec(),
                        profile)
    to_highs(m, profile)
    return {"regions": regions, "sites": sites, "nearest": nearest,
            "model_flows": size.model_flows, "estimate_mb": size.bytes / 2**20,
            "measured_mb": peak_rss_mb() - before}


def run() -> list[dict]:
    """Measure every case, each in a fresh process."""
    return [in_subprocess("benchmarks.model_memory", r, s, n or 0) for r, s, n in CASES]


if __name__ == "__main__":
    regions, sites, nearest = map(int, sys.argv[1:4])
    print(json.dumps(measure(regions, sites, nearest or None)))
