"""``siting pareto``: the cost vs collection-rate frontier, by the epsilon-constraint method.

1. The scenario in ``cost`` mode gives the cheapest network and its collection rate r0.
2. The scenario in ``lexicographic`` mode (least collection gap, then least cost) gives
   the largest rate the candidate sites can reach, r_max, at its least cost: one solve
   instead of a search over infeasible mandates. Both ends are solved at the same time.
3. The scenario plus ``min_collection_rate`` at rates evenly spaced strictly between r0
   and r_max, in ``cost`` mode, gives the points between.

Every point is a verified run folder written like a bench run (:mod:`siting.studies.bench`), so a
second call skips the points already solved; the frontier is written to ``pareto.csv``,
``pareto.svg`` and ``pareto.html``.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import pandas as pd

from siting.engine.highs import load_profile
from siting.engine.job import resolve_scenario
from siting.errors import InfeasibleError
from siting.folders import claim_runs, write_atomic
from siting.instance.load import load_instance
from siting.model.policies.min_collection_rate import MinCollectionRate
from siting.render.report import pareto_html, pareto_svg
from siting.results.runfiles import csv_text
from siting.scenario import Scenario
from siting.studies.bench import OnDone, RunSpec, draw_maps, read_row, run_specs
from siting.studies.executor import workers

CHEAPEST, MOST_COLLECTED = "cheapest", "most-collected"
RATE_STEP = 1e-4  # rates are told apart to 0.01 percentage point (the folder names' precision)
FIRST_COLUMNS = ["point", "label", "target_rate", "collection_rate", "total_cost",
                 "cost_per_extra_t", "status", "verified", "message", "run"]


def pareto(instance: str | Path, out: str | Path, scenario: str | Path | None = None,
           points: int = 5, solver: str | Path = "highs", jobs: int = 1, force: bool = False,
           maps: bool = False, on_done: OnDone | None = None,
           executor: Executor | None = None, *, cdn: bool = False) -> pd.DataFrame:
    """Solve the cost vs collection-rate frontier of a scenario and write it to ``out``.

    Parameters
    ----------
    instance
        The instance folder.
    out
        Folder of the points' run folders and of pareto.csv, pareto.svg, pareto.html.
    scenario
        Scenario name or file (default: no policies); every point keeps its policies.
    points
        Number of points, both ends included (at least 2).
    solver
        Solver profile name or file.
    jobs, force, maps, on_done, executor, cdn
        As in :func:`siting.studies.bench.run_bench`.

    Returns
    -------
    pandas.DataFrame
        The frontier, one row per point in order of rising target rate (see
        :func:`frontier`).

    Raises
    ------
    siting.errors.InfeasibleError
        If an end of the frontier has no solution (the scenario itself is infeasible).
    siting.errors.InputError
        If an input cannot be read, or ``out`` is not a folder of runs, an empty folder
        or absent, or holds or lies in the instance (before any solve).
    """
    if points < 2:
        raise ValueError("a frontier needs at least 2 points")
    inst = load_instance(instance)
    base = resolve_scenario(inst.path, scenario)
    profile = load_profile(solver)
    root = claim_runs(out, [inst.path])

    def point(run: str, objective: str, rate: float | None = None) -> RunSpec:
        extra = () if rate is None else (MinCollectionRate(rate=rate),)
        variant = Scenario(name=f"{base.name} @ {run}", description=base.description,
                           objective=objective, policies=base.policies + extra)
        return RunSpec.of(inst, variant, profile, root, run)

    ends = [point(CHEAPEST, "cost"), point(MOST_COLLECTED, "lexicographic")]
    with workers(jobs, executor) as running:
        rows = run_specs(ends, running, force, False, on_done)
        for row in rows:
            if not row["has_solution"]:
                raise InfeasibleError(f"{inst.name} / {row['scenario']}: {row['status']}: "
                                      f"{row['message']}")
        low, high = rows[0]["collection_rate"], min(rows[1]["collection_rate"], 1.0)
        # one point per distinct folder name: rates closer than 0.01 pt are the same point
        rates = {f"rate-{r:.4f}": float(r) for r in np.linspace(low, high, points)[1:-1]
                 if low + RATE_STEP / 2 < r < high - RATE_STEP / 2}
        middle = [point(run, "cost", r) for run, r in rates.items()]
        run_specs(middle, running, force, False, on_done)
    specs = [ends[0], *middle, ends[1]]
    table = frontier(specs, [math.nan, *rates.values(), math.nan])
    if maps:  # after every point is solved: one common scale
        draw_maps(specs, table.to_dict("records"), cdn)
    title = f"{inst.name} / {base.name}: cost against collection rate"
    write_atomic(root / "pareto.csv", csv_text(table))
    write_atomic(root / "pareto.svg", pareto_svg(table, title) + "\n")
    write_atomic(root / "pareto.html", pareto_html(table, title))
    return table


def frontier(specs: list[RunSpec], targets: list[float]) -> pd.DataFrame:
    """Read the frontier's points from their run folders.

    Columns are those of :func:`siting.studies.bench.read_row` plus ``point`` (0, 1, ...),
    ``label``, ``target_rate`` (empty at the two ends) and ``cost_per_extra_t``: the change
    of total cost over the change of tonnes collected since the previous point.
    """
    table = pd.DataFrame([read_row(spec) for spec in specs])
    table.insert(0, "point", range(len(table)))
    table.insert(1, "label", [spec.run for spec in specs])
    table.insert(2, "target_rate", targets)
    extra_t = table["collected_t"].diff()
    table["cost_per_extra_t"] = (table["total_cost"].diff() / extra_t).where(extra_t > 1e-6)
    return table[FIRST_COLUMNS + [c for c in table.columns if c not in FIRST_COLUMNS]]
