"""Solve a Pyomo model with HiGHS, and solver profiles (``solvers/*.toml``).

The shipped profiles are package data (``siting/profiles``; ``solvers/`` links there).
The model is handed to ``highspy`` as one sparse matrix in one call
(:mod:`siting.engine.handoff`: core rows from the network's arrays, the rest compiled by
Pyomo): the fastest sound route measured (docs/solving.md), and the one
that exposes every HiGHS feature we use (MIP start, duals, seed, incumbent on a time limit).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pydantic
import pyomo.environ as pyo
from pydantic import Field
from pyomo.common.gc_manager import PauseGC

from siting.engine.handoff import Compiled, Duals, compile_model, highspy, linear_form
from siting.errors import InputError, SolverError
from siting.inputs import Strict, read_toml, toml_table, validation_error
from siting.options import OPTION_LIMITS, PROFILE_OPTIONS, UNSOUND_OPTIONS, limit_problem
from siting.results.labels import gap

PROFILES = resources.files("siting") / "profiles"  # solvers/ links here: one copy
_THREADS_IN_USE: list[int] = []
REPORT_EVERY_S = 0.5


@dataclass(frozen=True)
class Progress:
    """Where a MIP solve stands: seconds, best network's cost (None before one), bound, gap."""

    seconds: float
    incumbent: float | None
    bound: float
    gap: float | None


class SolverProfile(Strict):
    """A solver profile: the HiGHS settings of a run."""

    name: str = "highs"
    description: str = ""
    time_limit: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 600.0
    """Seconds the whole run may take, from its start to the written run folder
    (siting.engine.budget): the only wall-clock limit; every step's budget is in work units."""
    mip_rel_gap: Annotated[float, Field(ge=0, le=1)] = 1e-4
    threads: Annotated[int, Field(ge=1, le=256)] = 1
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0  # HiGHS's random_seed range
    nearest_sites: Annotated[int, Field(ge=1)] | Literal["all"] | None = None
    """Prune region arcs to this many nearest first-tier sites (siting.instance.prune);
    ``"all"`` keeps every arc. Unset, every arc is kept up to 1M flows, and from there each
    region's 10 nearest sites plus the arcs of the Lagrangian's network
    (``siting.instance.prune.nearest_for``); the Lagrangian's bound and pricing's are
    valid for the unpruned problem."""
    heuristic_start: bool = False
    """Give HiGHS the DROP heuristic's network as a MIP start (siting.engine.heuristics.drop)."""
    lagrangian: bool | Literal["auto"] = "auto"
    """Run the Lagrangian relaxation first (siting.engine.heuristics.lagrangian): its network is
the MIP start,
    the sites whose state its reduced costs prove are fixed, and its bound, valid for the
    unpruned problem, enters the reported gap. ``auto``: on one-tier networks of at least
    ``siting.engine.heuristics.lagrangian.LAGRANGIAN_AUTO_FLOWS`` flows."""
    lagrangian_iterations: Annotated[int, Field(ge=1)] = 1000
    """Budget of the Lagrangian's subgradient iterations (the final bound on every arc comes
    after)."""
    pricing_rounds: Annotated[int, Field(ge=0)] = 10
    """Rounds of pricing of pruned arcs when a pruned result is not proven (siting.engine.pricing);
    0 keeps the pruned model as it is."""
    warm_start_sites: Annotated[int, Field(ge=0)] = 10
    """On large networks, first solve the problem restricted to each region's this many
    nearest sites (siting.engine.accelerate.warm_start): its network is the MIP start and HiGHS's
    sub-MIP heuristics are off for the full solve. 0 turns it off."""
    warm_start_nodes: Annotated[int, Field(ge=0)] = 500
    """Budget of the warm start's branch-and-bound nodes (HiGHS's mip_max_nodes)."""
    lean_linking: bool | Literal["auto"] = "auto"
    """Drop the strong linking rows that the Lagrangian relaxation (by reduced costs, no LP)
    or else the LP relaxation (zero duals) leaves unused, before branching
    (siting.engine.accelerate.drop_unused_links): smaller node LPs. ``auto``: on large
    networks."""
    lean_linking_iterations: Annotated[int, Field(ge=1)] = 1_000_000
    """Budget of the lean-linking LP's simplex iterations; if it does not finish, every row
    stays."""
    local_search_trials: Annotated[int, Field(ge=0)] = 0
    """Budget of moves the local search tries on the MIP start, DROP's or the Lagrangian's
    (siting.engine.heuristics.local_search); 0 keeps the start as it is."""
    options: dict[str, bool | int | float | str] = {}
    """HiGHS options; a profile file may set those in :data:`PROFILE_OPTIONS`."""


def load_profile(name_or_path: str | Path = "highs") -> SolverProfile:
    """Read a solver profile by name or from a TOML file.

    A name is looked up in the folders of ``$SITING_PROFILES`` (``os.pathsep``-separated,
    the user's own profiles) and then among the shipped ``solvers/NAME.toml``.
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        folders = [Path(f) for f in os.environ.get("SITING_PROFILES", "").split(os.pathsep) if f]
        found = [f / f"{name_or_path}.toml" for f in folders
                 if (f / f"{name_or_path}.toml").is_file()]
        shipped = PROFILES / f"{name_or_path}.toml"
        if not found and not shipped.is_file():
            known = sorted({p.name.removesuffix(".toml") for f in (*folders, PROFILES)
                            if f.is_dir() for p in f.iterdir() if p.name.endswith(".toml")})
            raise InputError(f"solvers/{name_or_path}.toml", None,
                             f"no solver profile {str(name_or_path)!r}; known: {known}")
        path = found[0] if found else Path(str(shipped))
    data = read_toml(path)
    unknown = sorted(set(data) - {"solver", "options"})
    if unknown:
        raise InputError(path, unknown[0], "unknown section; expected [solver] and [options]")
    try:
        profile = SolverProfile.model_validate({"name": path.stem,
                                                **toml_table(data, "solver", path),
                                                "options": toml_table(data, "options", path)})
    except pydantic.ValidationError as exc:
        raise validation_error(path, exc, "solver.") from None
    endless = sorted(k for k, v in profile.options.items()
                     if isinstance(v, float) and not math.isfinite(v))
    if endless:
        raise InputError(path, f"options.{endless[0]}", "expected a finite number, got "
                         f"{profile.options[endless[0]]}")
    refused = sorted(set(profile.options) - PROFILE_OPTIONS)
    if refused:
        why = (limit_problem(refused[0], None) if refused[0] in UNSOUND_OPTIONS else
               "allowed: presolve, algorithm, tolerances, limits and MIP search settings; no "
               "option that reads or writes files or prints")
        raise InputError(path, f"options.{refused[0]}",
                         f"not a HiGHS option a solver profile may set ({why})")
    highs = _quiet_highs()
    _set_options(highs, profile.options, path)  # HiGHS itself checks the values
    for key in sorted(OPTION_LIMITS.keys() & profile.options.keys()):
        problem = limit_problem(key, highs.getOptionValue(key)[1])  # as HiGHS read it
        if problem:
            raise InputError(path, f"options.{key}", problem)
    return profile


@dataclass
class SolveResult:
    """What HiGHS reported, with the variable values loaded back into the model."""

    status: str  # optimal | time_limit | infeasible | unbounded | error
    has_solution: bool
    objective: float | None
    best_bound: float | None
    mip_gap: float | None
    timings: dict[str, float] = field(default_factory=dict)
    model_size: dict[str, int] = field(default_factory=dict)
    log: str = ""
    duals: Duals | None = None
    stages: list[dict] = field(default_factory=list)  # a staged objective's, in order


_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kModelEmpty: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time_limit",
    highspy.HighsModelStatus.kInterrupt: "interrupted",
    highspy.HighsModelStatus.kSolutionLimit: "solution_limit",
    highspy.HighsModelStatus.kIterationLimit: "iteration_limit",
    highspy.HighsModelStatus.kObjectiveBound: "objective_bound",
    highspy.HighsModelStatus.kObjectiveTarget: "objective_target",
    highspy.HighsModelStatus.kInfeasible: "infeasible",
    highspy.HighsModelStatus.kUnboundedOrInfeasible: "infeasible_or_unbounded",
    highspy.HighsModelStatus.kUnbounded: "unbounded",
}


_LIMIT_FIX = {
    "time_limit": "raise the time limit (--solver with a longer time_limit)",
    "solution_limit": "raise or remove the profile's mip_max_nodes, mip_max_leaves or "
                      "mip_max_improving_sols",
    "iteration_limit": "raise or remove the profile's iteration limit "
                       "(simplex_iteration_limit, ipm_iteration_limit)",
    "objective_target": "remove the profile's objective_target",
}


class HighsModel:
    """A Pyomo model compiled once and held by HiGHS: its LPs, MIP stages and re-solves.

    ``stop`` is asked from inside HiGHS (its interrupt callbacks) whether to stop now
    (:meth:`siting.engine.budget.Budget.stopped`); ``listener`` gets the MIP's progress.
    """

    def __init__(self, m: pyo.ConcreteModel, profile: SolverProfile,
                 stop: Callable[[], bool] | None = None,
                 listener: Callable[[Progress], None] | None = None):
        t0 = time.perf_counter()
        self.highs, form = to_highs(m, profile)
        self.m, self.profile = m, profile
        self.columns, self.rows, self._position = form.columns, form.rows, form.position
        self.integer, self.nonzeros = form.integer, form.nonzeros
        self.stop = stop or (lambda: False)
        self.listener = listener
        self._subscribe()
        self.compile_s = time.perf_counter() - t0

    def _subscribe(self) -> None:
        last = [-REPORT_EVERY_S]

        # HiGHS keeps an interrupt asked in one run for the next (an LP stopped by the
        # budget would stop the routing MIP after it): every callback sets the flag anew.
        def on_mip(event) -> None:
            event.interrupt(self.stop())
            out = event.data_out
            if self.listener is None or out.running_time - last[0] < REPORT_EVERY_S:
                return
            last[0] = out.running_time
            found = abs(out.mip_primal_bound) < highspy.kHighsInf
            self.listener(Progress(out.running_time, out.mip_primal_bound if found else None,
                                   out.mip_dual_bound, out.mip_gap if found else None))

        def on_lp(event) -> None:
            event.interrupt(self.stop())

        self.highs.cbMipInterrupt.subscribe(on_mip)
        self.highs.cbSimplexInterrupt.subscribe(on_lp)
        self.highs.cbIpmInterrupt.subscribe(on_lp)

    def column(self, var) -> int | None:
        """Return the HiGHS column of a Pyomo variable (None when the model has none)."""
        return self._position.get(id(var))

    def solve(self, start: dict | None = None, time_limit: float | None = None,
              options: dict | None = None) -> SolveResult:
        """Solve the model as it stands and load the solution into the Pyomo variables.

        ``start`` maps Pyomo variables to values for a MIP start (HiGHS completes the
        rest); ``time_limit`` (seconds) and ``options`` hold for this solve only: HiGHS's
        clock counts every run of the model, so the limit is set past the time it shows.
        Infeasible and unbounded models come back as a status; a solve that stops with no
        solution at all raises :class:`SolverError` (not when it was asked to stop).
        """
        if start:
            self.highs.setSolution(*self._columns(start))
        limit = self.profile.time_limit if time_limit is None else time_limit
        with self._options({"time_limit": self.highs.getRunTime() + limit,
                            **(options or {})}):
            t0 = time.perf_counter()
            self.highs.run()
            seconds = time.perf_counter() - t0
        return self._result(seconds)

    def relaxation(self, iteration_limit: int | None = None) -> tuple[float, Duals] | None:
        """Solve the LP relaxation (every integer relaxed); the model keeps its integers.

        Returns the optimum and the row duals (HiGHS's sign), or
        None when the LP has no optimum (infeasible, unbounded, stopped or out of
        ``iteration_limit`` simplex iterations). The Pyomo variables are left alone.
        """
        integer = np.flatnonzero(self.integer).astype(np.int32)
        self._integrality(integer, highspy.HighsVarType.kContinuous)
        options = {} if iteration_limit is None else {"simplex_iteration_limit": iteration_limit}
        try:
            with self._options(options):
                self.highs.run()
            if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            return float(self.highs.getInfo().objective_function_value), self._duals()
        finally:
            self._integrality(integer, highspy.HighsVarType.kInteger)
            self.highs.clearSolver()

    def fixed_duals(self) -> Duals:
        """Row duals of the LP with every integer column fixed at its value in the model.

        The model's own bounds and values are restored afterwards.
        """
        integer = np.flatnonzero(self.integer).astype(np.int32)
        if not len(integer):
            return self._duals()
        lower, upper = self._bounds(integer)
        values = np.array([round(self.columns[j].value or 0.0) for j in integer], dtype=float)
        self.highs.changeColsBounds(len(integer), integer, values, values)
        self._integrality(integer, highspy.HighsVarType.kContinuous)
        try:
            self.highs.run()
            ok = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
            return self._duals() if ok else self.rows.duals(0.0)
        finally:
            self._integrality(integer, highspy.HighsVarType.kInteger)
            self.highs.changeColsBounds(len(integer), integer, lower, upper)
            self.highs.clearSolver()

    def fix(self, values: dict) -> None:
        """Fix the columns of the Pyomo variables in ``values`` (a network to route)."""
        count, cols, vals = self._columns(values)
        self.highs.changeColsBounds(count, cols, vals, vals)

    def close_flows(self, block, flows: np.ndarray) -> None:
        """Fix at 0 the flows at positions ``flows`` of the network ``block``.

        A block's flows are consecutive columns (:class:`~siting.engine.handoff.Compiled`).
        """
        cols = (self.column(block.flow[0]) + np.asarray(flows)).astype(np.int32)
        zeros = np.zeros(len(cols))
        self.highs.changeColsBounds(len(cols), cols, zeros, zeros)

    def route(self, values: dict) -> SolveResult:
        """Fix the Pyomo variables in ``values`` (a network) and solve what is left to its end.

        When that fixes every integer column, HiGHS solves it as an LP: the same optimum
        for less work than its MIP solver's (0.6x the CPU at 3000 x 300).
        """
        self.fix(values)
        integer = np.flatnonzero(self.integer).astype(np.int32)
        lower, upper = self._bounds(integer)
        as_lp = bool(np.array_equal(lower, upper))
        if as_lp:
            self._integrality(integer, highspy.HighsVarType.kContinuous)
        try:
            return self.solve(time_limit=float("inf"))
        finally:
            if as_lp:
                self._integrality(integer, highspy.HighsVarType.kInteger)

    def drop_rows(self, block, name: str, which: np.ndarray) -> int:
        """Delete the rows of the core constraint ``name`` of ``block`` where ``which``."""
        segment = self.rows.segment(block, name)
        gone = self.rows.drop(segment.rows[which]) if segment is not None else []
        if len(gone):
            self.highs.deleteRows(len(gone), gone)
        return len(gone)

    def hold_and_advance(self, held, optimum: float, objective) -> None:
        """Add the row ``held <= optimum`` and minimise ``objective`` instead (expressions)."""
        cols, coefs, constant = self._linear(held)
        self.highs.addRow(-highspy.kHighsInf, optimum - constant, len(cols), cols, coefs)
        self.rows.add()
        cols, coefs, constant = self._linear(objective)
        cost = np.zeros(len(self.columns))
        cost[cols] = coefs
        everything = np.arange(len(self.columns), dtype=np.int32)
        self.highs.changeColsCost(len(everything), everything, cost)
        self.highs.changeObjectiveOffset(constant)

    def _linear(self, expr) -> tuple[np.ndarray, np.ndarray, float]:
        def column(var) -> int:
            j = self.column(var)
            if j is None:
                raise ValueError("an objective stage has a variable the model in HiGHS lacks")
            return j

        return linear_form(expr, column)

    def _result(self, seconds: float) -> SolveResult:
        highs = self.highs
        model_status = highs.getModelStatus()
        status = _STATUS.get(model_status, "error")
        info = highs.getInfo()
        empty = model_status == highspy.HighsModelStatus.kModelEmpty  # nothing to decide
        has_solution = info.primal_solution_status == 2 or empty  # kSolutionStatusFeasible
        is_mip = bool(self.integer.any())
        result = SolveResult(
            status=status,
            has_solution=has_solution and status not in ("infeasible", "unbounded"),
            objective=None, best_bound=None, mip_gap=None,
            timings={"solve_s": seconds},
            model_size={"variables": highs.getNumCol(), "binaries": int(self.integer.sum()),
                        "constraints": highs.getNumRow(), "nonzeros": self.nonzeros})
        if not result.has_solution and status not in ("infeasible", "infeasible_or_unbounded",
                                                      "unbounded", "interrupted"):
            reason = highs.modelStatusToString(model_status)
            raise SolverError(f"HiGHS stopped ({reason}) before finding any feasible solution; "
                              f"{_LIMIT_FIX.get(status, 'see the solver profile')}")
        if result.has_solution:
            values = highs.getSolution().col_value
            for var, value in zip(self.columns, values, strict=True):
                var.set_value(value, skip_validation=True)
            result.objective = float(highs.getLp().offset_ if empty
                                     else info.objective_function_value)
            bound = float(info.mip_dual_bound) if is_mip else result.objective
            if math.isfinite(bound):  # else HiGHS stopped before it had any bound
                result.best_bound, result.mip_gap = bound, gap(result.objective, bound)
            if not is_mip:
                result.duals = self._duals()
        return result

    @contextmanager
    def _options(self, options: dict) -> Iterator[None]:
        saved = {key: self.highs.getOptionValue(key)[1] for key in options}  # (status, value)
        _set_options(self.highs, options, f"solvers/{self.profile.name}.toml")
        try:
            yield
        finally:
            _set_options(self.highs, saved, f"solvers/{self.profile.name}.toml")

    def _integrality(self, cols: np.ndarray, kind) -> None:
        if len(cols):
            self.highs.changeColsIntegrality(len(cols), cols, np.full(len(cols), kind))

    def _bounds(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lp = self.highs.getLp()
        return (np.asarray(lp.col_lower_)[cols].copy(), np.asarray(lp.col_upper_)[cols].copy())

    def _columns(self, values: dict) -> tuple[int, np.ndarray, np.ndarray]:
        """Return how many, the columns and the values of the variables in ``values``."""
        index = [(self.column(v), float(x)) for v, x in values.items()
                 if self.column(v) is not None]
        return (len(index), np.array([j for j, _ in index], dtype=np.int32),
                np.array([x for _, x in index], dtype=float))

    def _duals(self) -> Duals:
        return self.rows.duals(np.asarray(self.highs.getSolution().row_dual))


def solve_model(m: pyo.ConcreteModel, profile: SolverProfile,
                start: dict | None = None) -> SolveResult:
    """Compile ``m``, solve it with HiGHS under ``profile`` and load its solution.

    See :meth:`HighsModel.solve`; ``start`` maps Pyomo variables to values.
    """
    model = HighsModel(m, profile)
    result = model.solve(start)
    result.timings["handoff_s"] = model.compile_s
    return result


def solve_relaxation(m: pyo.ConcreteModel,
                     profile: SolverProfile) -> tuple[float, Duals] | None:
    """Compile ``m`` and solve its LP relaxation (see :meth:`HighsModel.relaxation`)."""
    return HighsModel(m, profile).relaxation()


def to_highs(m: pyo.ConcreteModel, profile: SolverProfile) -> tuple[highspy.Highs, Compiled]:
    """Hand ``m`` to HiGHS in one call (:func:`siting.engine.handoff.compile_model`).

    Returns the Highs object (the options of ``profile`` set) and the compiled form
    (``columns`` maps HiGHS columns to Pyomo variables, ``rows`` names the rows).
    """
    with PauseGC():
        compiled = compile_model(m)
        highs = _highs(profile)
        highs.passModel(compiled.lp)
        compiled.lp = None  # HiGHS holds its own copy
    return highs, compiled


def _quiet_highs() -> highspy.Highs:
    """Make a silent Highs object: no banner on first construction, no log (output_flag)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    return highs


def new_highs(threads: int | None = None) -> highspy.Highs:
    """Make a silent Highs object on ``threads`` threads (None: the number in use, else 1).

    HiGHS's thread pool is process-wide: a new number resets it first.
    """
    threads = threads or (_THREADS_IN_USE or [1])[0]
    highs = _quiet_highs()
    if _THREADS_IN_USE and _THREADS_IN_USE[0] != threads:
        highspy.Highs.resetGlobalScheduler(True)
        _THREADS_IN_USE.clear()
    _THREADS_IN_USE[:] = [threads]
    highs.setOptionValue("threads", threads)
    return highs


def _highs(profile: SolverProfile) -> highspy.Highs:
    highs = new_highs(profile.threads)
    options = {"time_limit": profile.time_limit, "mip_rel_gap": profile.mip_rel_gap,
               "random_seed": profile.seed, **profile.options}  # threads: new_highs
    _set_options(highs, options, f"solvers/{profile.name}.toml")
    return highs


def _set_options(highs: highspy.Highs, options: dict, path: str | Path) -> None:
    for key, value in options.items():
        if highs.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise InputError(path, f"options.{key}", "HiGHS refused it: no such option, or "
                             f"the value {value!r} is not allowed")
