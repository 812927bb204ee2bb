"""``siting alternatives``: networks almost as cheap as the optimum, and as different as can be.

Modelling to generate alternatives (MGA) with a max-min distance objective:

1. The scenario is solved (``OUT/optimum``, verified); its cost is ``c*``.
2. The model gets the row ``cost <= (1 + slack) c*`` and a new objective: maximise ``t``
   with ``t <= d_k`` for every network found so far, where ``d_k`` counts the candidate
   sites whose open status differs from network ``k`` (a Hamming distance, linear in the
   build variables). Each solve gives the next network, as far as possible from all the
   networks before it; the search stops early when no network within the cost bound
   differs from them all.
3. Each network is then solved with its builds fixed and the flows re-optimised
   (``fixed_network`` policy) as a verified run folder ``OUT/alternative-K``, so its cost
   is the verifier's. ``alternatives.csv`` lists them.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from siting.engine.highs import SolverProfile, load_profile, solve_model
from siting.engine.steps import build
from siting.errors import InfeasibleError
from siting.folders import claim_runs, write_atomic
from siting.instance.load import Instance, load_instance
from siting.model.objective import stages
from siting.model.policies.fixed_network import FixedNetwork
from siting.results.runfiles import csv_text, read_meta
from siting.scenario import Scenario
from siting.studies.bench import OnDone, RunSpec, read_row, run_specs
from siting.studies.executor import workers
from siting.studies.robust import Builds, builds_text, costed_scenario, network_of

OPTIMUM = "optimum"
FIRST_COLUMNS = ["run", "sites_built", "differs_from_optimum", "total_cost", "over_optimum",
                 "status", "verified", "message", "builds"]


def alternatives(instance: str | Path, out: str | Path, scenario: str | Path | None = None,
                 count: int = 3, slack: float = 0.02, solver: str | Path = "highs",
                 jobs: int = 1, force: bool = False, on_done: OnDone | None = None,
                 executor: Executor | None = None) -> pd.DataFrame:
    """Find up to ``count`` networks costing at most ``1 + slack`` times the optimum.

    Parameters
    ----------
    instance
        The instance folder.
    out
        Folder of the run folders (optimum, alternative-1, ...) and alternatives.csv.
    scenario
        Scenario name or file (objective mode cost or value).
    count
        Alternatives to look for.
    slack
        Largest relative cost increase over the optimum (0.02: 2 %).
    solver, jobs, force, on_done, executor
        As in :func:`siting.studies.bench.run_bench`.

    Returns
    -------
    pandas.DataFrame
        The optimum and each alternative: its run folder, sites built, how many candidate
        sites it opens or closes against the optimum, its verified cost and the ratio to
        the optimum's (``over_optimum``).

    Raises
    ------
    siting.errors.InfeasibleError
        If the scenario itself has no solution.
    siting.errors.InputError
        If an input cannot be read, or ``out`` is not a folder of runs, an empty folder
        or absent, or holds or lies in the instance (before any solve).
    """
    if count < 1 or not 0 <= slack <= 1:
        raise ValueError("count must be at least 1 and slack between 0 and 1")
    inst = load_instance(instance)
    base = costed_scenario(inst, scenario, "alternatives")
    profile = load_profile(solver)
    root = claim_runs(out, [inst.path])
    optimum = RunSpec.of(inst, base, profile, root, OPTIMUM)
    with workers(jobs, executor) as running:
        (row,) = run_specs([optimum], running, force, False, on_done)
        if not row["has_solution"]:
            raise InfeasibleError(f"{inst.name} / {base.name}: {row['status']}: {row['message']}")
        networks = search(inst, base, profile, network_of(optimum.folder),
                          read_meta(optimum.folder)["objective"], count, slack)
        specs = [RunSpec.of(inst, Scenario(name=f"{base.name} alternative {k}",
                                           description=base.description,
                                           objective=base.objective,
                                           policies=base.policies + (FixedNetwork(builds=b),)),
                            profile, root, f"alternative-{k}")
                 for k, b in enumerate(networks, start=1)]
        run_specs(specs, running, force, False, on_done)
    table = listing([optimum, *specs], row["total_cost"])
    write_atomic(root / "alternatives.csv", csv_text(table))
    return table


def search(instance: Instance, scenario: Scenario, profile: SolverProfile, optimum: Builds,
           best: float, count: int, slack: float) -> list[Builds]:
    """Return up to ``count`` networks, each as far from the optimum and the others as can be.

    ``best`` is the optimum's objective value; every network found keeps the objective
    within ``(1 + slack) * best``. See the module's docstring.
    """
    m, _ = build(instance, scenario, profile)
    net = m.net
    sites = net.instance.sites["id"].to_numpy()
    candidates = [f for f in m.SITES if m.options_of[f]]
    cost = stages(m, scenario.objective)[0][1]
    m.mga_cost = pyo.Constraint(expr=cost <= best + slack * abs(best))
    m.mga_distance = pyo.Var(bounds=(0, len(candidates)))
    m.mga_rows = pyo.ConstraintList()
    m.objective.set_value(-m.mga_distance)
    found = [optimum]
    for _ in range(count):
        opened = set(found[-1])
        m.mga_rows.add(m.mga_distance <= sum(
            1 - m.is_open[f] if sites[f] in opened else m.is_open[f] for f in candidates))
        result = solve_model(m, profile)
        if not result.has_solution or -result.objective < 0.5:
            break
        chosen = np.array([round(m.build[j].value or 0.0) for j in m.OPTIONS], dtype=bool)
        found.append(dict(zip(sites[net.option_site[chosen]].tolist(),
                              net.option_size[chosen].tolist(), strict=True)))
    return found[1:]


def listing(specs: list[RunSpec], optimum_cost: float) -> pd.DataFrame:
    """Return the table of the optimum and the alternatives, read from their run folders."""
    records = []
    reference = set(network_of(specs[0].folder)) if specs[0].folder.is_dir() else set()
    for spec in specs:
        row = read_row(spec)
        builds = network_of(spec.folder) if row["has_solution"] else {}
        records.append({
            "run": spec.run, "sites_built": len(builds),
            "differs_from_optimum": len(set(builds) ^ reference),
            "total_cost": row["total_cost"], "over_optimum": row["total_cost"] / optimum_cost,
            "status": row["status"], "verified": row["verified"], "message": row["message"],
            "builds": builds_text(builds),
        })
    return pd.DataFrame(records, columns=FIRST_COLUMNS)
