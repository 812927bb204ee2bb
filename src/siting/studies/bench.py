"""``siting bench``: solve an instance x scenario (x solver profile) matrix and compare it.

Every run is one run folder (docs/run-folder.md), written atomically by the worker that
solved it, with the independent verifier's report (``verification.json``) inside; a run
that fails leaves a folder holding only ``failure.json`` (its status and message). So an
interrupted bench loses no finished run, and the comparison is always rebuilt from the
folders on disk: ``comparison.csv``, ``comparison.md`` and ``comparison.html``.

A folder is current when its ``solution.json`` (or ``failure.json``) records the same
instance hash, resolved scenario and solver profile as the bench asks for. Current folders
with a solution, or with a failure the same inputs would repeat (infeasible, bad input),
are not solved again; other failures (solver errors, crashes) are retried.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from siting.engine.highs import SolverProfile, load_profile
from siting.engine.pipeline import solve
from siting.errors import InfeasibleError, InputError, SitingError, SolverError
from siting.folders import (
    RUN,
    check_target,
    claim_runs,
    remove_partial,
    write_atomic,
    write_folder,
)
from siting.instance.load import Instance, load_instance
from siting.render.maps import render_maps
from siting.render.report import comparison_html, comparison_markdown
from siting.results.records import Record, RunRecord
from siting.results.runfiles import csv_text, read_meta, read_record, read_table, write_run
from siting.scenario import Scenario, find_scenario, load_scenario, name_problem
from siting.studies.executor import run_all, workers
from siting.verify.checks import verify_run

KPIS = ("total_cost", "collection_rate", "uncollected_t", "capacity_t", "utilisation",
        "tonne_km", "co2_t")
COMPARED = (*KPIS, "facilities_new")  # changes against the baseline
BASELINE = "baseline"
VERIFICATION = "verification.json"
FAILURE = "failure.json"
FAILURES = ((InfeasibleError, "infeasible"), (SolverError, "no solution"),
            (InputError, "bad input"), (Exception, "error"))
SETTLED = ("infeasible", "bad input")  # failures that the same inputs would repeat

OnDone = Callable[["RunSpec", dict[str, Any], bool], None]


@dataclass(frozen=True)
class RunSpec:
    """One run: an instance under a scenario and a solver profile, and where it is written.

    ``root / run`` is the run folder; ``run`` (e.g. ``demo/mandate-95``) names the run in
    the comparison tables and links.
    """

    instance: Path
    instance_name: str
    instance_hash: str
    currency: str
    scenario: Scenario
    solver: SolverProfile
    root: Path
    run: str

    @classmethod
    def of(cls, instance: Instance, scenario: Scenario, solver: SolverProfile, root: Path,
           run: str) -> RunSpec:
        """Make the run of ``instance`` under ``scenario`` and ``solver`` at ``root / run``."""
        return cls(instance.path.resolve(), instance.name, instance.hash,
                   instance.spec.instance.currency, scenario, solver, root.resolve(), run)

    @property
    def folder(self) -> Path:
        """The run folder."""
        return self.root / self.run

    def inputs(self) -> dict[str, Any]:
        """Return what a run record (solution.json, failure.json) says about its inputs."""
        return {"instance": {"name": self.instance_name, "path": str(self.instance),
                             "hash": self.instance_hash, "currency": self.currency},
                "scenario": self.scenario.describe(),
                "solver": self.solver.model_dump(mode="json")}

    def made_this(self, record: dict[str, Any]) -> bool:
        """Tell whether ``record`` was made from this run's inputs (same instance hash too)."""
        mine = self.inputs()
        return (record.get("instance", {}).get("hash") == self.instance_hash
                and record.get("scenario") == mine["scenario"]
                and record.get("solver") == mine["solver"])


def select_scenarios(instance_dir: Path, selection: str = "all") -> list[tuple[str, Scenario]]:
    """Return the scenarios of a bench for one instance, as (folder name, scenario) pairs.

    Parameters
    ----------
    instance_dir
        The instance folder.
    selection
        ``"all"`` (every file in the instance's ``scenarios/`` folder, ``baseline.toml``
        first; the default scenario when there is none) or a comma-separated list of
        scenario names or files, in the order given.

    Raises
    ------
    siting.errors.ScenarioError
        If a scenario cannot be found or read.
    """
    if selection.strip() == "all":
        paths = sorted((instance_dir / "scenarios").glob("*.toml"),
                       key=lambda p: (p.stem != BASELINE, p.stem))
        if not paths:
            return [(BASELINE, Scenario())]
    else:
        paths = [find_scenario(item.strip(), instance_dir)
                 for item in selection.split(",") if item.strip()]
    return [(path.stem, load_scenario(path)) for path in paths]


def plan_bench(instances: Sequence[str | Path], scenarios: str = "all",
               solvers: Sequence[str | Path] = ("highs",),
               out: str | Path = "runs/bench") -> list[RunSpec]:
    """Return the runs of a bench: every instance x scenario x solver profile.

    Runs are written to ``out/<instance folder>/<scenario file>`` and, with more than one
    solver profile, to ``.../<profile>``. Every input is read and checked here, before
    anything is solved.

    Raises
    ------
    siting.errors.InputError
        If an instance, scenario or solver profile cannot be read, or two runs would write
        the same folder.
    """
    root = Path(out)
    profiles = [(name, load_profile(name)) for name in solvers]
    specs = []
    for path in instances:
        instance = load_instance(path)
        for stem, scenario in select_scenarios(instance.path, scenarios):
            _check_folder_name(stem, scenario.path or instance.path, "file name")
            scenario.check_fits(instance)
            for source, profile in profiles:
                run = f"{instance.path.resolve().name}/{stem}"
                if len(profiles) > 1:
                    _check_folder_name(profile.name, source, "solver.name")
                    run += f"/{profile.name}"
                specs.append(RunSpec.of(instance, scenario, profile, root, run))
    runs = [spec.run for spec in specs]
    clash = next((run for run in runs if runs.count(run) > 1), None)
    if clash is not None:
        raise InputError(root / clash, None, "two runs of the bench would write this folder; "
                         "give the instances, scenario files or solver profiles distinct names")
    return specs


def _check_folder_name(name: str, source: str | Path, field: str) -> None:
    """Refuse ``name``, read from ``field`` of ``source``, unless it can name a run folder."""
    problem = name_problem(name)
    if problem:
        raise InputError(source, field, f"names a run folder of the bench: {problem}")


def execute(spec: RunSpec) -> str:
    """Solve one run and write its folder, or its failure record; return its status.

    Runs in a worker process. Every error of the run is recorded in its folder rather than
    raised: one failed run never stops a bench.
    """
    try:
        instance = load_instance(spec.instance)
        solution = solve(instance, spec.scenario, spec.solver)

        def finish(folder: Path) -> None:
            report = verify_run(folder, instance)
            write_atomic(folder / VERIFICATION, json.dumps(
                {"ok": report.ok, "problems": report.problems, "checked": report.checked},
                indent=2) + "\n")

        write_run(solution, spec.folder, extra=finish)
        return solution.status
    except Exception as exc:  # any failure, a bug included, is this run's row, not the bench's end
        status = next(name for kind, name in FAILURES if isinstance(exc, kind))
        message = str(exc) if isinstance(exc, SitingError) else f"{type(exc).__name__}: {exc}"
    record = json.dumps({**spec.inputs(), "status": status, "message": message}, indent=2)
    write_folder(spec.folder, lambda folder: (folder / FAILURE).write_text(record + "\n"))
    return status


class Verification(Record):
    """A run's verification.json: the verifier's report."""

    ok: bool
    problems: list[str]


class Failure(Record):
    """A failed run's failure.json: its inputs, status and message."""

    status: str
    message: str


class Marginal(Record):
    """An entry of solution.json's ``marginal_costs``."""

    policy: str
    value: float


class BenchRecord(RunRecord):
    """What a bench reads of solution.json, beyond every run's keys."""

    mip_gap: float | None = None
    marginal_costs: list[Marginal] | None = None


def read_row(spec: RunSpec) -> dict[str, Any]:
    """Read the comparison row of a run from its folder.

    ``status`` is the solver status of a solved run, the failure status of a failed one
    (``infeasible``, ``no solution``, ``bad input``, ``error``), ``not run`` when the folder
    is absent or incomplete, ``stale`` when it was made from other inputs, or
    ``unreadable`` when a file of it is malformed (edited by hand): the message names it.
    ``has_solution`` is true for a current run folder with a solution, verified or not.
    """
    row: dict[str, Any] = {
        "instance": spec.instance_name, "instance_dir": spec.instance.name,
        "scenario": spec.scenario.name, "description": spec.scenario.description or "",
        "solver": spec.solver.name, "status": "not run",
        "verified": False, "has_solution": False, "message": "", "currency": spec.currency,
        **dict.fromkeys((*KPIS, "supply_t", "collected_t", "capex_total", "mip_gap",
                         "solve_s"), math.nan),
        "facilities_open": math.nan, "facilities_new": math.nan, "new_plants": "",
        "marginal_costs": "",
        "run": spec.run,
        "map": (spec.folder / "map.html").is_file(),
    }
    if not RUN.holds(spec.folder):
        return row
    try:
        return {**row, **_recorded(spec)}
    except InputError as exc:
        return {**row, "status": "unreadable", "message": f"{exc}; run again"}


def _recorded(spec: RunSpec) -> dict[str, Any]:
    """Read what a run's folder records for its row (see :func:`read_row`)."""
    folder = spec.folder
    if (folder / "solution.json").is_file():
        meta = read_meta(folder, BenchRecord)
        if not spec.made_this(meta):
            return {"status": "stale", "message": "made from other inputs; run again"}
        report = read_record(folder / VERIFICATION, Verification)
        kpis = meta["kpis"]
        return {**{key: _number(kpis.get(key))
                   for key in (*KPIS, "supply_t", "collected_t", "capex_total")},
                "status": meta["status"], "has_solution": True, "verified": report["ok"],
                "message": "; ".join(report["problems"][:3]),
                "mip_gap": _number(meta.get("mip_gap")),
                "solve_s": _number(meta["timings"].get("solve_s")),
                "facilities_open": sum(kpis["facilities_open"].values()),
                "facilities_new": sum(kpis["facilities_new"].values()),
                "new_plants": new_plants(folder),
                "marginal_costs": marginal_text(meta.get("marginal_costs") or [])}
    record = read_record(folder / FAILURE, Failure)
    if not spec.made_this(record):
        return {"status": "stale", "message": "made from other inputs; run again"}
    return {"status": record["status"], "message": record["message"]}


def new_plants(folder: Path) -> str:
    """Name the facilities a run builds, with province and size: ``Wuhan (Hubei, L)``."""
    facilities = read_table(folder, "facilities")
    built = facilities[facilities["new"]]
    return "; ".join(f"{name} ({', '.join(filter(None, (province, size)))})" for name, province,
                     size in zip(built["name"], built["province"], built["size"], strict=True))


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def marginal_text(entries: list[dict[str, Any]]) -> str:
    """Describe the marginal costs of binding policies, largest first.

    Each entry (solution.json ``marginal_costs``) is what tightening a policy row by one
    unit costs, with the network fixed, e.g. ``min_collection_rate: collecting one more
    tonne costs 4,812 CNY/yr``; a horizon run's entries also name their period.
    """
    return "; ".join(f"{entry['policy']}: {entry['meaning']}"
                     for entry in sorted(entries, key=lambda e: -e["value"]))


def compare(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Return the comparison table: the rows, with every KPI's change against the baseline.

    The baseline of an instance (and solver profile) is its scenario named ``baseline``,
    else its first. ``d_<kpi>`` is the change of each KPI of :data:`COMPARED`, and
    ``d_total_cost_pct`` the relative change of cost; they are empty where either run has
    no solution.
    """
    table = pd.DataFrame(list(rows))
    table["baseline"] = ""
    for kpi in (*COMPARED, "total_cost_pct"):
        table[f"d_{kpi}"] = math.nan
    for _, group in table.groupby(["instance_dir", "solver"], sort=False):
        named = group[group["scenario"] == BASELINE]
        base = (named if len(named) else group).iloc[0]
        table.loc[group.index, "baseline"] = base["scenario"]
        if base["has_solution"]:
            for kpi in COMPARED:
                table.loc[group.index, f"d_{kpi}"] = group[kpi] - base[kpi]
            table.loc[group.index, "d_total_cost_pct"] = (
                group["total_cost"] / base["total_cost"] - 1 if base["total_cost"] else math.nan)
    return table


def comparison(specs: Sequence[RunSpec]) -> pd.DataFrame:
    """Read the comparison table of ``specs`` from their folders (see :func:`compare`)."""
    return compare([read_row(spec) for spec in specs])


PROVINCE_COLUMNS = ["instance_dir", "solver", "scenario", "baseline", "province", "supply_t",
                    "collected_t", "collection_rate"]


def province_table(specs: Sequence[RunSpec], table: pd.DataFrame) -> pd.DataFrame:
    """Return the tonnes collected per province by every solved run of ``table``.

    ``table`` is the comparison of ``specs`` (:func:`comparison`), in their order.
    ``d_collected_t`` is the change against the run's baseline (empty where the baseline
    has no solution); ``collects_nothing`` marks a province with supply that collects none.
    """
    rows = []
    for spec, row in zip(specs, table.itertuples(index=False), strict=True):
        if not row.has_solution:
            continue
        meta = read_meta(spec.folder)
        rows += [{"instance_dir": row.instance_dir, "solver": row.solver,
                  "scenario": row.scenario, "baseline": row.baseline, "province": province,
                  "supply_t": p["supply_t"], "collected_t": p["collected_t"],
                  "collection_rate": p["collection_rate"]}
                 for province, p in meta["kpis"].get("by_province", {}).items()]
    frame = pd.DataFrame(rows, columns=PROVINCE_COLUMNS)
    keys = ["instance_dir", "solver", "province"]
    base = frame.loc[frame["scenario"] == frame["baseline"], [*keys, "collected_t"]]
    frame = frame.merge(base.rename(columns={"collected_t": "base_t"}), on=keys, how="left")
    frame["d_collected_t"] = frame["collected_t"] - frame.pop("base_t")
    frame["collects_nothing"] = (frame["supply_t"] > 1e-6) & (frame["collected_t"] <= 1e-6)
    return frame


def write_comparison(table: pd.DataFrame, out: str | Path,
                     provinces: pd.DataFrame) -> list[Path]:
    """Write ``comparison.csv``, ``.md``, ``.html`` and ``provinces.csv`` into ``out``.

    ``provinces`` is :func:`province_table` of the same runs.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"comparison.csv": csv_text(table),
             "comparison.md": comparison_markdown(table, provinces),
             "comparison.html": comparison_html(table, provinces),
             "provinces.csv": csv_text(provinces)}
    for name, text in files.items():
        write_atomic(out / name, text)
    return [out / name for name in files]


def run_specs(specs: Sequence[RunSpec], executor: Executor, force: bool = False,
              maps: bool = False, on_done: OnDone | None = None, *,
              cdn: bool = False) -> list[dict[str, Any]]:
    """Solve the runs whose folders are not current (every run with ``force``).

    Parameters
    ----------
    specs
        The runs.
    executor
        Where to solve them (from :func:`siting.studies.executor.workers`).
    force
        Solve again runs whose folder is current (see the module's docstring).
    maps
        Draw each solved run's ``map.html`` (see :func:`draw_maps`).
    on_done
        Called in this process as ``on_done(spec, row, skipped)`` for every run, when it is
        found current (skipped) or finishes.
    cdn
        Link Leaflet on its CDN in the maps instead of inlining it.

    Returns
    -------
    list of dict
        Every run's row (:func:`read_row`), in the order of ``specs``.

    Raises
    ------
    siting.errors.InputError
        If the folder of a run to solve may not be written (see
        :func:`siting.folders.check_target`), before any run is solved.
    """
    todo = []
    for spec in specs:
        row = read_row(spec)
        if (row["has_solution"] or row["status"] in SETTLED) and not force:
            if on_done is not None:
                on_done(spec, row, True)
        else:
            todo.append(spec)
    for spec in todo:  # before any solve: a folder holding a planner's file is refused
        check_target(spec.folder, RUN)
    for spec, _status in run_all(executor, execute, todo):
        if on_done is not None:
            on_done(spec, read_row(spec), False)
    rows = [read_row(spec) for spec in specs]
    if maps:
        draw_maps(specs, rows, cdn)
    return rows


def draw_maps(specs: Sequence[RunSpec], rows: Sequence[dict[str, Any]],
              cdn: bool = False) -> None:
    """Draw the ``map.html`` of every solved run, one common scale per instance and solver.

    ``rows`` are the runs' rows (:func:`read_row`), in the order of ``specs``; ``cdn``
    links Leaflet on its CDN instead of inlining it.
    """
    same: dict[tuple[str, str], list[Path]] = {}
    for spec, row in zip(specs, rows, strict=True):
        if row["has_solution"]:
            same.setdefault((str(spec.instance), spec.solver.name), []).append(spec.folder)
    for folders in same.values():
        render_maps(folders, cdn)


def run_bench(specs: Sequence[RunSpec], out: str | Path, jobs: int = 1, force: bool = False,
              maps: bool = False, on_done: OnDone | None = None,
              executor: Executor | None = None, *, cdn: bool = False) -> pd.DataFrame:
    """Run a bench and write its comparison, also when interrupted.

    Parameters
    ----------
    specs
        The runs (:func:`plan_bench`).
    out
        Folder of the comparison files (the runs' ``root``).
    jobs
        Worker processes of the local pool (ignored when ``executor`` is given).
    force, maps, on_done, cdn
        As in :func:`run_specs`.
    executor
        Another executor to use instead of a local pool (left open).

    Returns
    -------
    pandas.DataFrame
        The comparison table (:func:`compare`). On Ctrl-C the comparison of the runs
        finished so far is written, then ``KeyboardInterrupt`` propagates. What a worker
        killed mid-write left is removed.

    Raises
    ------
    siting.errors.InputError
        If ``out`` is not a folder of runs, an empty folder or absent, or holds or lies in an
        instance of the bench (before any solve).
    """
    claim_runs(out, {spec.instance for spec in specs})
    try:
        with workers(jobs, executor) as running:
            run_specs(specs, running, force, maps, on_done, cdn=cdn)
    except KeyboardInterrupt:
        finish_bench(specs, out)
        raise
    return finish_bench(specs, out)


def finish_bench(specs: Sequence[RunSpec], out: str | Path) -> pd.DataFrame:
    """Remove what killed workers left half written, and write and return the comparison."""
    for spec in specs:
        remove_partial(spec.folder)
    table = comparison(specs)
    write_comparison(table, out, province_table(specs, table))
    return table
