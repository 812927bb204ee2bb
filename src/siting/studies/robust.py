"""``siting robust``: which sites are right whatever the uncertain inputs turn out to be.

1. N samples of the scenario's uncertain inputs (:mod:`siting.studies.uncertainty`) become N
   scenarios. Each is solved and verified as a run folder ``OUT/samples/NNN``, and the
   base scenario as ``OUT/baseline``, like bench runs (:mod:`siting.studies.bench`): written
   atomically, skipped when current, so an interrupted run keeps every finished sample.
2. ``frequency.csv``: per site, the share of samples that select it (build it, or send
   tonnes to an existing facility), the share at each size, and its mean throughput.
3. ``costs.csv``: per sample, its factors and key figures (the cost distribution).
4. Regret: every distinct network among the baseline's and the samples' is evaluated on
   every sample with its builds fixed and the flows re-optimised (a linear programme).
   Its regret on a sample is its cost there minus the least cost any of these networks
   reaches there. ``regret_matrix.csv`` holds the costs, ``regret.csv`` one row per
   network: expected and worst cost, mean and largest regret.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting.engine.highs import highspy, load_profile, to_highs
from siting.engine.job import resolve_scenario
from siting.engine.steps import build
from siting.errors import InfeasibleError, InstanceError, ScenarioError
from siting.folders import claim_runs, write_atomic
from siting.instance.load import INSTANCE_FILE, Instance, load_instance
from siting.results.runfiles import csv_text, read_table
from siting.scenario import Scenario
from siting.studies.bench import OnDone, RunSpec, run_specs
from siting.studies.executor import run_all, workers
from siting.studies.uncertainty import draw, load_uncertainty, sample_scenario, supply_groups

ROBUST_SHARE = 0.9  # a site selected in at least this share of samples is robust
BASELINE = "baseline"
Builds = dict[str, str]  # site id -> size built


@dataclass
class Robust:
    """The tables of a robust run (each also written as CSV)."""

    frequency: pd.DataFrame
    costs: pd.DataFrame
    regret: pd.DataFrame
    matrix: pd.DataFrame


def plan_samples(instance: str | Path, out: str | Path, scenario: str | Path | None = None,
                 samples: int = 100, seed: int = 0, solver: str | Path = "highs"
                 ) -> tuple[RunSpec, list[RunSpec], list[dict[str, float]]]:
    """Return the baseline run, the sample runs and each sample's factors.

    Sample ``i`` is written to ``out/samples/<i>``, zero-padded to three digits or more.

    Raises
    ------
    siting.errors.InputError
        If an input cannot be read, or the scenario's objective is lexicographic (a network's
        regret needs one cost to compare).
    """
    if samples < 1:
        raise ValueError("robust siting needs at least one sample")
    inst = load_instance(instance)
    base = costed_scenario(inst, scenario, "robust siting")
    uncertainty = load_uncertainty(base)
    profile = load_profile(solver)
    root = Path(out)
    groups = supply_groups(uncertainty, inst.regions)
    width = max(3, len(str(samples - 1)))
    draws = [draw(uncertainty, groups, seed, i) for i in range(samples)]
    runs = [RunSpec.of(inst, sample_scenario(base, uncertainty, factors,
                                             f"{base.name} sample {i:0{width}d}"),
                       profile, root, f"samples/{i:0{width}d}")
            for i, factors in enumerate(draws)]
    return RunSpec.of(inst, base, profile, root, BASELINE), runs, draws


def costed_scenario(instance: Instance, scenario: str | Path | None, command: str) -> Scenario:
    """Resolve the scenario of a command that compares networks by cost.

    Raises
    ------
    siting.errors.ScenarioError
        If its objective is lexicographic (no single cost to compare).
    siting.errors.InstanceError
        If the instance has ``[periods]`` (these commands compare single-period networks).
    """
    if instance.spec.periods is not None:
        raise InstanceError(instance.path / INSTANCE_FILE, "[periods]",
                            f"{command} takes single-period instances; solve a horizon "
                            "with `siting solve`")
    base = resolve_scenario(instance.path, scenario)
    if base.objective == "lexicographic":
        raise ScenarioError(base.path or "scenario", "objective.mode",
                            f"{command} compares costs: use mode cost or value")
    return base


def robust(instance: str | Path, out: str | Path, scenario: str | Path | None = None,
           samples: int = 100, seed: int = 0, solver: str | Path = "highs", jobs: int = 1,
           force: bool = False, on_done: OnDone | None = None,
           executor: Executor | None = None) -> Robust:
    """Solve the samples of a scenario's uncertain inputs and write the robustness tables.

    Parameters
    ----------
    instance
        The instance folder.
    out
        Folder of the runs and of frequency.csv, costs.csv, regret.csv, regret_matrix.csv.
    scenario
        Scenario name or file; its ``[uncertainty]`` table declares the uncertain inputs
        (:data:`siting.studies.uncertainty.DEFAULT` without one).
    samples, seed
        How many samples to draw, and from which seed.
    solver, jobs, force, on_done, executor
        As in :func:`siting.studies.bench.run_bench`.

    Returns
    -------
    Robust
        The tables; see the module's docstring.

    Raises
    ------
    siting.errors.InfeasibleError
        If no sample has a solution.
    siting.errors.InputError
        If an input cannot be read, or ``out`` is not a folder of runs, an empty folder
        or absent, or holds or lies in the instance (before any solve).
    """
    baseline, runs, draws = plan_samples(instance, out, scenario, samples, seed, solver)
    root = claim_runs(out, [baseline.instance])
    with workers(jobs, executor) as running:
        rows = run_specs([baseline, *runs], running, force, False, on_done)
        solved = [spec for spec, row in zip([baseline, *runs], rows, strict=True)
                  if row["has_solution"]]
        networks = distinct_networks(solved)
        sampled = [spec for spec in solved if spec is not baseline]
        if not sampled:
            raise InfeasibleError(f"{baseline.instance_name}: no sample has a solution: "
                                  + "; ".join(sorted({row["message"] or row["status"]
                                                      for row in rows[1:]})))
        tasks = [(spec, list(networks.values())) for spec in sampled]
        evaluated = {spec.run: costs for (spec, _), costs in run_all(running, network_costs,
                                                                     tasks)}
    matrix = pd.DataFrame({_sample(spec): evaluated[spec.run] for spec in sampled},
                          index=pd.Index(list(networks), name="network"))
    result = Robust(site_frequency([spec.folder for spec in sampled]),
                    cost_table(runs, rows[1:], draws),
                    regret_table(matrix, networks, site_names(solved[0].folder)), matrix)
    for name, table in (("frequency", result.frequency), ("costs", result.costs),
                        ("regret", result.regret), ("regret_matrix", result.matrix)):
        write_atomic(root / f"{name}.csv", csv_text(table, index=name == "regret_matrix"))
    return result


def _sample(spec: RunSpec) -> str:
    return spec.run.removeprefix("samples/")


def short_name(network: str, shown: int = 3) -> str:
    """Shorten a network's name (the runs that built it) to its first ``shown`` runs."""
    runs = network.split("+")
    if len(runs) <= shown:
        return network
    return f"{'+'.join(runs[:shown])} (+{len(runs) - shown} more)"


def provinces_by_verdict(frequency: pd.DataFrame) -> dict[str, str]:
    """Summarise the site verdicts by province: ``{"robust": "Anhui (5), ...", "bet": ...}``."""
    return {verdict: ", ".join(f"{province} ({n})" for province, n in
                               frequency[frequency["verdict"] == verdict]
                               .groupby("province").size().items())
            for verdict in ("robust", "bet")}


def network_of(folder: Path) -> Builds:
    """Return the sizes a run built, by site id, from its facilities.csv."""
    facilities = read_table(folder, "facilities")
    built = facilities[facilities["size"] != ""]
    return dict(zip(built["id"], built["size"], strict=True))


def site_names(folder: Path) -> dict[str, str]:
    """Map each site id of a run folder's facilities to its name."""
    facilities = read_table(folder, "facilities")
    return dict(zip(facilities["id"], facilities["name"], strict=True))


def builds_text(builds: Builds) -> str:
    """Write builds as ``site:size`` items joined by ``;`` (as periods.csv does)."""
    return ";".join(f"{site}:{size}" for site, size in sorted(builds.items()))


def named(builds: str, names: dict[str, str]) -> str:
    """Write a network's builds (:func:`builds_text`) with site names.

    ``a:L;b:M`` becomes ``Beijing (L), Wuhan (M)``.
    """
    pairs = [build.rpartition(":") for build in builds.split(";") if build]
    return ", ".join(f"{names.get(site, site)} ({size})" for site, _, size in pairs) \
        or "no new site"


def distinct_networks(specs: Sequence[RunSpec]) -> dict[str, Builds]:
    """Return each distinct network built by ``specs``' runs, named by the runs that built it.

    A name lists the runs (``baseline``, sample numbers) joined by ``+``.
    """
    found: dict[tuple, tuple[list[str], Builds]] = {}
    for spec in specs:
        builds = network_of(spec.folder)
        names, _ = found.setdefault(tuple(sorted(builds.items())), ([], builds))
        names.append(BASELINE if spec.run == BASELINE else _sample(spec))
    return {"+".join(names): builds for names, builds in found.values()}


def network_costs(task: tuple[RunSpec, list[Builds]]) -> list[float]:
    """Return the cost of each network under one run's data, flows re-optimised.

    ``task`` is the run (instance, scenario, solver profile) and the networks. The model
    is built and handed to HiGHS once with its build variables continuous; each network
    fixes their bounds to 0 or 1 and HiGHS re-solves the linear programme from the last
    basis. A network whose flows cannot meet the scenario costs ``inf``. Runs in a worker.
    """
    spec, networks = task
    m, _ = build(load_instance(spec.instance), spec.scenario, spec.solver)
    highs, form = to_highs(m, spec.solver)
    column = {id(var): j for j, var in enumerate(form.columns)}
    sites = m.net.instance.sites["id"].to_numpy()
    options = [(column[id(m.build[j])], sites[f], size) for j, (f, size) in
               enumerate(zip(m.net.option_site, m.net.option_size, strict=True))
               if id(m.build[j]) in column]
    index = np.array([c for c, _, _ in options], dtype=np.int32)
    highs.changeColsIntegrality(len(index), index, np.full(
        len(index), int(highspy.HighsVarType.kContinuous), dtype=np.uint8))
    known = {(site, size) for _, site, size in options}
    costs = []
    for builds in networks:
        if not set(builds.items()) <= known:
            costs.append(math.inf)
            continue
        on = np.array([float(builds.get(site) == size) for _, site, size in options])
        highs.changeColsBounds(len(index), index, on, on)
        highs.run()
        optimal = highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        costs.append(float(highs.getInfo().objective_function_value) if optimal else math.inf)
    return costs


def site_frequency(folders: Sequence[Path]) -> pd.DataFrame:
    """Return how often each site is selected across the runs in ``folders``.

    A site is selected in a run when it is built there, or when it is an existing facility
    that receives tonnes. Columns: the site's ``id``, ``name``, ``province``, ``tier``,
    ``existing``; ``selected`` (share of runs), ``size_<name>`` (share built at each size),
    ``mean_throughput`` (t/yr, over all runs) and ``verdict``: ``robust`` (selected in at
    least :data:`ROBUST_SHARE` of the runs), ``bet`` (in some) or ``never``.
    """
    tables = [read_table(folder, "facilities") for folder in folders]
    first = tables[0][["id", "name", "province", "tier", "existing"]].set_index("id")
    size = np.column_stack([t.set_index("id")["size"].reindex(first.index) for t in tables])
    used = np.column_stack([t.set_index("id")["throughput"].reindex(first.index)
                            for t in tables])
    selected = (size != "") | (first[["existing"]].to_numpy() & (used > 1e-6))
    table = first.assign(selected=selected.mean(axis=1))
    for name in sorted(set(size.ravel()) - {""}):
        table[f"size_{name}"] = (size == name).mean(axis=1)
    table["mean_throughput"] = used.mean(axis=1)
    table["verdict"] = np.select([table["selected"] >= ROBUST_SHARE, table["selected"] > 0],
                                 ["robust", "bet"], "never")
    return table.reset_index().sort_values(["selected", "mean_throughput"], ascending=False,
                                           ignore_index=True)


def cost_table(runs: Sequence[RunSpec], rows: Sequence[dict], draws: Sequence[dict[str, float]]
               ) -> pd.DataFrame:
    """Return one row per sample: its factors, status, cost, collection rate, sites built."""
    records = []
    for spec, row, factors in zip(runs, rows, draws, strict=True):
        built = len(network_of(spec.folder)) if row["has_solution"] else math.nan
        records.append({"sample": _sample(spec), **factors, "status": row["status"],
                        "verified": row["verified"], "total_cost": row["total_cost"],
                        "collection_rate": row["collection_rate"], "sites_built": built})
    return pd.DataFrame(records)


def regret_table(matrix: pd.DataFrame, networks: dict[str, Builds],
                 names: dict[str, str]) -> pd.DataFrame:
    """Return one row per network: its cost and regret over the samples, least worst first.

    Columns: ``network`` (the runs that built it), ``sites_built``, ``builds``
    (:func:`builds_text`), ``sites`` (the same by site name, ``names`` mapping site ids to
    names: :func:`named`), ``expected_cost`` and ``worst_cost`` over the samples,
    ``mean_regret`` and ``max_regret`` (cost minus the least cost of any network on the
    same sample), ``infeasible`` (samples where its flows cannot meet the scenario).
    """
    best = matrix.min(axis=0)
    regret = matrix - best
    table = pd.DataFrame({
        "network": matrix.index,
        "sites_built": [len(networks[name]) for name in matrix.index],
        "builds": [builds_text(networks[name]) for name in matrix.index],
        "sites": [named(builds_text(networks[name]), names) for name in matrix.index],
        "expected_cost": matrix.mean(axis=1).to_numpy(),
        "worst_cost": matrix.max(axis=1).to_numpy(),
        "mean_regret": regret.mean(axis=1).to_numpy(),
        "max_regret": regret.max(axis=1).to_numpy(),
        "infeasible": np.isinf(matrix).sum(axis=1).to_numpy(),
    })
    return table.sort_values(["max_regret", "mean_regret"], ignore_index=True)

