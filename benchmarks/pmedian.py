"""siting beside spopt (PySAL) on one p-median instance, both solving with HiGHS.

spopt is a benchmark-only dependency: ``pip install spopt``. siting expresses the
p-median as an uncapacitated instance (one size, capacity above total demand, no fixed
cost, collection mandatory) with the scenario policy ``facility_count`` ``exactly = p``.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmarks.common import CACHE
from siting.engine.highs import SolverProfile
from siting.engine.pipeline import solve
from siting.scenario import load_scenario

CLIENTS, FACILITIES, P, SEED = 1000, 100, 10, 0


def write_pmedian(cost: np.ndarray, weights: np.ndarray, p: int, name: str | None = None) -> tuple:
    """The instance folder (``name`` in the cache) and scenario file of a p-median problem."""
    folder = CACHE / (name or f"pmedian-{len(weights)}x{cost.shape[1]}-p{p}")
    folder.mkdir(parents=True, exist_ok=True)
    n, m = cost.shape
    pd.DataFrame({"id": [f"c{i}" for i in range(n)], "lon": 100.0, "lat": 30.0,
                  "supply": weights}).to_csv(folder / "regions.csv", index=False)
    pd.DataFrame({"id": [f"f{j}" for j in range(m)], "tier": "facility", "lon": 100.0,
                  "lat": 30.0}).to_csv(folder / "sites.csv", index=False)
    pd.DataFrame({"origin": np.repeat([f"c{i}" for i in range(n)], m),
                  "destination": np.tile([f"f{j}" for j in range(m)], n),
                  "km": cost.ravel()}).to_csv(folder / "distances.csv", index=False)
    (folder / "instance.toml").write_text(f"""[instance]
name = "p-median {n}x{m} p={p}"
[layers]
regions = "regions.csv"
sites = "sites.csv"
distances = "distances.csv"
[distance]
method = "matrix"
[streams.demand]
transport_cost = 1.0
[tiers.facility]
sizes = [{{ name = "any", capacity = {float(weights.sum()) * 2} }}]
""")
    scenario = folder / "pmedian.toml"
    scenario.write_text(f'[scenario]\nname = "p{p}"\n[[policy]]\ntype = "facility_count"\n'
                        f"exactly = {p}\n")
    return folder, scenario


def run() -> dict:
    """Solve the same p-median with spopt (pulp + HiGHS) and siting; compare."""
    import pulp  # benchmark-only dependencies, imported where used
    from spopt.locate import PMedian

    rng = np.random.default_rng(SEED)
    clients, facilities = rng.uniform(0, 100, (CLIENTS, 2)), rng.uniform(0, 100, (FACILITIES, 2))
    cost = np.round(np.linalg.norm(clients[:, None] - facilities[None], axis=2), 3)
    weights = rng.integers(1, 100, CLIENTS).astype(float)
    folder, scenario = write_pmedian(cost, weights, P)
    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, weights, p_facilities=P)
    model.solve(pulp.HiGHS(msg=False, gapRel=0.0, threads=1))  # one pool size per process
    spopt_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    solution = solve(folder, load_scenario(scenario),
                     SolverProfile(name="exact", mip_rel_gap=0.0, time_limit=600))
    siting_s = time.perf_counter() - t0
    spopt_obj = float(pulp.value(model.problem.objective))
    return {"instance": f"{CLIENTS} clients x {FACILITIES} sites, p={P}",
            "spopt_objective": spopt_obj, "siting_objective": solution.meta["objective"],
            "spopt_s": spopt_s, "siting_s": siting_s,
            "same_optimum": abs(spopt_obj - solution.meta["objective"]) <= 1e-6 * spopt_obj}
