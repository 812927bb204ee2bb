"""Solve a Pyomo model with HiGHS, and solver profiles (``solvers/*.toml``).

The shipped profiles are package data (``siting/profiles``; ``solvers/`` links there).
The model is compiled to matrix form with Pyomo's ``LinearStandardFormCompiler`` and handed
to ``highspy`` in one call: the fastest sound route measured (docs/solving.md), and the one
that exposes every HiGHS feature we use (MIP start, duals, seed, incumbent on a time limit).
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import highspy
import numpy as np
import pydantic
import pyomo.environ as pyo
from pydantic import Field
from pyomo.common.gc_manager import PauseGC
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from siting.errors import InputError, SolverError
from siting.inputs import Strict, read_toml, toml_table, validation_error

PROFILES = resources.files("siting") / "profiles"  # solvers/ links here: one copy
PROFILE_OPTIONS = frozenset({
    # algorithm choice and presolve
    "presolve", "solver", "parallel", "run_crossover", "simplex_strategy",
    "simplex_scale_strategy", "simplex_dual_edge_weight_strategy",
    "simplex_primal_edge_weight_strategy", "simplex_max_concurrency", "simplex_update_limit",
    # numerics and tolerances
    "infinite_cost", "infinite_bound", "small_matrix_value", "large_matrix_value",
    "kkt_tolerance", "primal_feasibility_tolerance", "dual_feasibility_tolerance",
    "primal_residual_tolerance", "dual_residual_tolerance", "optimality_tolerance",
    "ipm_optimality_tolerance", "mip_feasibility_tolerance", "user_objective_scale",
    "user_bound_scale",
    # limits and targets
    "objective_bound", "objective_target", "simplex_iteration_limit", "ipm_iteration_limit",
    "mip_max_nodes", "mip_max_stall_nodes", "mip_max_start_nodes", "mip_max_leaves",
    "mip_max_improving_sols", "mip_abs_gap",
    # branch and bound search and heuristics
    "mip_detect_symmetry", "mip_allow_restart", "mip_root_presolve_only",
    "mip_lifting_for_probing", "mip_lp_age_limit", "mip_pool_age_limit", "mip_pool_soft_limit",
    "mip_pscost_minreliable", "mip_min_cliquetable_entries_for_parallelism",
    "mip_heuristic_effort", "mip_heuristic_run_feasibility_jump", "mip_heuristic_run_rins",
    "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_zi_round", "mip_heuristic_run_shifting",
    "mip_allow_cut_separation_at_nodes", "mip_lp_solver", "mip_ipm_solver",
})
"""The HiGHS options a profile file's [options] may set: none reads or writes a file or
prints, and none duplicates a [solver] setting (time_limit, mip_rel_gap, threads, seed)."""
_THREADS_IN_USE: list[int] = []
REPORT_EVERY_S = 0.5


@dataclass(frozen=True)
class Progress:
    """Where a MIP solve stands: seconds, best network's cost (None before one), bound, gap."""

    seconds: float
    incumbent: float | None
    bound: float
    gap: float | None


_LISTENER: ContextVar[Callable[[Progress], None] | None] = ContextVar("listener", default=None)


@contextmanager
def reporting(listener: Callable[[Progress], None] | None) -> Iterator[None]:
    """Call ``listener`` with the :class:`Progress` of every MIP solved inside the block.

    It is called from HiGHS's thread at most every :data:`REPORT_EVERY_S` seconds.
    """
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)


class SolverProfile(Strict):
    """A solver profile: the HiGHS settings of a run."""

    name: str = "highs"
    description: str = ""
    time_limit: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 600.0
    mip_rel_gap: Annotated[float, Field(ge=0, le=1)] = 1e-4
    threads: Annotated[int, Field(ge=1, le=256)] = 1
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0  # HiGHS's random_seed range
    nearest_sites: Annotated[int, Field(ge=1)] | None = None
    """Prune region arcs to this many nearest first-tier sites (siting.instance.prune)."""
    heuristic_start: bool = False
    """Give HiGHS the DROP heuristic's network as a MIP start (siting.engine.heuristics.drop)."""
    lagrangian: bool | Literal["auto"] = "auto"
    """Run the Lagrangian relaxation first (siting.engine.heuristics.lagrangian): its network is
the MIP start,
    the sites whose state its reduced costs prove are fixed, and its bound, valid for the
    unpruned problem, enters the reported gap. ``auto``: on one-tier networks of at least
    ``siting.engine.heuristics.lagrangian.LAGRANGIAN_AUTO_FLOWS`` flows."""
    lagrangian_iterations: Annotated[int, Field(ge=1)] = 1000
    lagrangian_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 30.0
    """Time budget of the Lagrangian iterations (the final bound on every arc comes after)."""
    pricing_rounds: Annotated[int, Field(ge=0)] = 10
    """Rounds of pricing of pruned arcs when a pruned result is not proven (siting.engine.pricing);
    0 keeps the pruned model as it is."""
    warm_start_sites: Annotated[int, Field(ge=0)] = 10
    """On large networks, first solve the problem restricted to each region's this many
    nearest sites (siting.engine.accelerate.warm_start): its network is the MIP start and HiGHS's
    sub-MIP heuristics are off for the full solve. 0 turns it off."""
    lean_linking: bool | Literal["auto"] = "auto"
    """Drop the strong linking rows whose dual is zero in the LP relaxation before
    branching (siting.engine.accelerate.drop_unused_links): same root bound, smaller node LPs.
    ``auto``: on large networks."""
    local_search_seconds: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    """Budget of the local search on the MIP start, DROP's or the Lagrangian's
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
    refused = sorted(set(profile.options) - PROFILE_OPTIONS)
    if refused:
        raise InputError(path, f"options.{refused[0]}", "not a HiGHS option a solver profile "
                         "may set (allowed: presolve, algorithm, tolerances, limits and MIP search "
                         "settings; no option that reads or writes files or prints)")
    _set_options(_quiet_highs(), profile.options, path)  # HiGHS itself checks the values
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
    duals: dict[Any, float] | None = None


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


def solve_model(m: pyo.ConcreteModel, profile: SolverProfile,
                start: dict | None = None) -> SolveResult:
    """Solve ``m`` with HiGHS under ``profile`` and load the solution into its variables.

    ``start`` maps Pyomo variables to values for a MIP start (HiGHS completes the rest;
    :func:`siting.engine.run.mip_start` makes it from ``profile``).
    Infeasible and unbounded models come back as a status, not an exception; a run that
    stops with no solution at all raises :class:`SolverError`.
    """
    t0 = time.perf_counter()
    highs, form = to_highs(m, profile)
    columns = form.columns
    if start:
        _set_start(highs, columns, start)
    listener = _LISTENER.get()
    if listener is not None:
        _report_to(highs, listener)
    t1 = time.perf_counter()
    highs.solve()
    t2 = time.perf_counter()
    status = _STATUS.get(highs.getModelStatus(), "error")
    if status == "interrupted":  # Ctrl-C: HiGHS stopped; the run is abandoned, not written
        raise KeyboardInterrupt
    info = highs.getInfo()
    empty = highs.getModelStatus() == highspy.HighsModelStatus.kModelEmpty  # nothing to decide
    has_solution = info.primal_solution_status == 2 or empty  # kSolutionStatusFeasible
    n_integer = sum(v.is_integer() for v in columns)
    is_mip = n_integer > 0
    result = SolveResult(
        status=status,
        has_solution=has_solution and status not in ("infeasible", "unbounded"),
        objective=None,
        best_bound=None,
        mip_gap=None,
        timings={"handoff_s": t1 - t0, "solve_s": t2 - t1},
        model_size={"variables": highs.getNumCol(), "binaries": n_integer,
                    "constraints": highs.getNumRow(), "nonzeros": int(form.A.nnz)},
    )
    bound = profile.options.get("objective_bound")
    if not result.has_solution and bound is not None and status != "unbounded":
        raise SolverError(f"HiGHS found no solution within the objective_bound {bound:g} of "
                          f"solver profile {profile.name!r}: raise or remove it")
    if not result.has_solution and status not in ("infeasible", "infeasible_or_unbounded",
                                                  "unbounded"):
        reason = highs.modelStatusToString(highs.getModelStatus())
        raise SolverError(f"HiGHS stopped ({reason}) before finding any feasible solution; "
                          f"{_LIMIT_FIX.get(status, 'see the solver profile')}")
    if result.has_solution:
        values = highs.getSolution().col_value
        for var, value in zip(columns, values, strict=True):
            var.set_value(value, skip_validation=True)
        result.objective = float(highs.getLp().offset_ if empty else info.objective_function_value)
        bound = float(info.mip_dual_bound) if is_mip else result.objective
        if math.isfinite(bound):  # else HiGHS stopped before it had any bound
            result.best_bound, result.mip_gap = bound, gap(result.objective, bound)
        if not is_mip:
            result.duals = _duals(highs, form)
    return result


def solve_relaxation(m: pyo.ConcreteModel,
                     profile: SolverProfile) -> tuple[float, dict[Any, float]] | None:
    """Solve the LP relaxation of ``m`` (every integer relaxed), leaving its variables alone.

    Returns the optimum and the row duals keyed by Pyomo constraint (HiGHS's sign: a
    column's reduced cost is its cost minus the duals times its coefficients), or None
    when the LP has no optimum (infeasible, unbounded or stopped by the time limit).
    """
    highs, form = to_highs(m, profile)
    n = highs.getNumCol()
    highs.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                np.full(n, highspy.HighsVarType.kContinuous))
    highs.solve()
    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return float(highs.getInfo().objective_function_value), _duals(highs, form)


def to_highs(m: pyo.ConcreteModel, profile: SolverProfile) -> tuple[highspy.Highs, Any]:
    """Hand ``m`` to HiGHS: compile it to matrix form and pass it in one call.

    Returns
    -------
    highs
        A Highs object holding the model, with the options of ``profile`` set.
    form
        The compiled standard form; ``form.columns`` maps HiGHS columns to Pyomo variables
        and ``form.rows`` HiGHS rows to Pyomo constraints.
    """
    with PauseGC():
        form = LinearStandardFormCompiler().write(m, mixed_form=True)
        highs = _highs(profile)
        highs.passModel(_to_highs_lp(form))
    return highs, form


def gap(objective: float, bound: float) -> float:
    """Relative gap between an objective and a bound, as HiGHS reports it."""
    if objective == bound:
        return 0.0
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _report_to(highs: highspy.Highs, listener: Callable[[Progress], None]) -> None:
    """Pass HiGHS's incumbent and bound to ``listener`` while it branches."""
    last = [-REPORT_EVERY_S]

    def on_interrupt(event) -> None:
        out = event.data_out
        if out.running_time - last[0] < REPORT_EVERY_S:
            return
        last[0] = out.running_time
        found = abs(out.mip_primal_bound) < highspy.kHighsInf
        listener(Progress(out.running_time, out.mip_primal_bound if found else None,
                          out.mip_dual_bound, out.mip_gap if found else None))

    highs.cbMipInterrupt.subscribe(on_interrupt)


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
    highs.HandleKeyboardInterrupt = True  # solve() runs HiGHS in a thread that Ctrl-C stops
    options = {"time_limit": profile.time_limit, "mip_rel_gap": profile.mip_rel_gap,
               "random_seed": profile.seed, **profile.options}  # threads: new_highs
    _set_options(highs, options, f"solvers/{profile.name}.toml")
    return highs


def _set_options(highs: highspy.Highs, options: dict, path: str | Path) -> None:
    for key, value in options.items():
        if highs.setOptionValue(key, value) != highspy.HighsStatus.kOk:
            raise InputError(path, f"options.{key}", "HiGHS refused it: no such option, or "
                             f"the value {value!r} is not allowed")


def _to_highs_lp(form) -> highspy.HighsLp:
    """Convert the compiled matrix form to a HighsLp, bounds and integrality from the vars."""
    n_col = len(form.columns)
    cost = form.c.toarray()[0] if form.c.shape[0] else np.zeros(n_col)
    inf = highspy.kHighsInf
    bounds = np.array([v.bounds for v in form.columns], dtype=float).reshape(n_col, 2)
    senses = np.array([sense for _, sense in form.rows], dtype=int)
    rhs = np.asarray(form.rhs, dtype=float)
    return highs_lp(form.A.tocsc(), cost,
                    (np.nan_to_num(bounds[:, 0], nan=-inf), np.nan_to_num(bounds[:, 1], nan=inf)),
                    (np.where(senses <= 0, rhs, -inf), np.where(senses >= 0, rhs, inf)),
                    offset=float(form.c_offset[0]) if len(form.c_offset) else 0.0,
                    integer=np.array([v.is_integer() for v in form.columns], dtype=bool))


def highs_lp(matrix, cost: np.ndarray, columns: tuple[np.ndarray, np.ndarray],
             rows: tuple[np.ndarray, np.ndarray], offset: float = 0.0,
             integer: np.ndarray | None = None) -> highspy.HighsLp:
    """Return the HighsLp of a scipy CSC ``matrix``, column bounds ``columns``, rows ``rows``.

    ``integer`` marks the integer columns (none when None or all False).
    """
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = matrix.shape
    lp.col_cost_, lp.offset_ = cost, offset
    lp.col_lower_, lp.col_upper_ = columns
    lp.row_lower_, lp.row_upper_ = rows
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_row_, lp.a_matrix_.num_col_ = matrix.shape
    lp.a_matrix_.start_, lp.a_matrix_.index_ = matrix.indptr, matrix.indices
    lp.a_matrix_.value_ = matrix.data
    if integer is not None and integer.any():
        lp.integrality_ = np.where(integer, highspy.HighsVarType.kInteger,
                                   highspy.HighsVarType.kContinuous).tolist()
    return lp


def _set_start(highs: highspy.Highs, columns: list, start: dict) -> None:
    position = {id(v): j for j, v in enumerate(columns)}
    index = [position[id(v)] for v in start if id(v) in position]
    values = [float(start[v]) for v in start if id(v) in position]
    highs.setSolution(len(index), np.array(index, dtype=np.int32), np.array(values))


def _duals(highs: highspy.Highs, form) -> dict[Any, float]:
    """Row duals of an LP keyed by Pyomo constraint (rows of one constraint summed)."""
    duals: dict[Any, float] = {}
    for (con, _), dual in zip(form.rows, highs.getSolution().row_dual, strict=True):
        duals[con] = duals.get(con, 0.0) + dual
    return duals
