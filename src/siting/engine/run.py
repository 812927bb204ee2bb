"""The pipeline: instance folder -> network -> model -> HiGHS -> :class:`Solution`."""

from __future__ import annotations

import platform
import time
from importlib.metadata import version
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from siting.engine.accelerate import (
    Choices,
    WarmStart,
    drop_unused_links,
    warm_start,
    without_heuristics,
)
from siting.engine.heuristics.drop import builds_start, greedy_builds
from siting.engine.heuristics.lagrangian import (
    LAGRANGIAN_AUTO_FLOWS,
    LagrangianResult,
    lagrangian_bound,
    not_applicable,
)
from siting.engine.heuristics.local_search import improve
from siting.engine.highs import (
    SolveResult,
    SolverProfile,
    gap,
    load_profile,
    solve_model,
)
from siting.engine.pricing import not_applicable as pricing_not_applicable
from siting.engine.pricing import price_pruned_arcs
from siting.errors import InfeasibleError, ScenarioError
from siting.instance.load import Instance, load_instance
from siting.instance.network import Network, build_network
from siting.instance.prune import (
    Pruned,
    binding_regions,
    prune_nearest,
    pruning_check,
    restrict,
)
from siting.instance.size import check_fits_memory
from siting.model.analysis import diagnose_infeasibility, marginal_costs
from siting.model.core import build_model
from siting.model.objective import hold_and_advance, stages
from siting.model.policies.base import supply_under
from siting.results.solution import Solution, extract_solution
from siting.scenario import Scenario, find_scenario, load_scenario


def versions() -> dict[str, str]:
    """Versions of siting and of the libraries that decide its results."""
    return {"siting": version("siting"), "pyomo": version("pyomo"),
            "highspy": highspy.Highs().version(), "python": platform.python_version()}


def resolve_scenario(instance_dir: Path | None,
                     scenario: str | Path | Scenario | None) -> Scenario:
    """Return the Scenario of a name in the instance's scenarios/ folder, a path, or None."""
    if isinstance(scenario, Scenario):
        return scenario
    if scenario is None:
        return Scenario()
    return load_scenario(find_scenario(scenario, instance_dir))


def prepare(instance: Instance, scenario: Scenario, supply: pd.DataFrame | None = None) -> Network:
    """Return the network of ``instance`` as the scenario's policies change it (pruned arcs...).

    ``supply`` replaces the instance's supply (one period's). Raises
    :class:`~siting.errors.ScenarioError` for a policy that does not fit the instance.
    """
    for i, policy in enumerate(scenario.policies, start=1):
        problem = policy.problem_with(instance)
        if problem is not None:
            field, message = problem
            raise ScenarioError(scenario.path or "scenario", f"policy[{i}].{field}", message)
    net = build_network(instance, supply_under(scenario.policies, instance, supply))
    for policy in scenario.policies:
        net = policy.prepare(net)
    return net


def build(instance: Instance, scenario: Scenario, profile: SolverProfile,
          strong_linking: bool = True) -> tuple[pyo.ConcreteModel, Pruned | None]:
    """Build the model of ``instance`` under ``scenario``, arcs pruned as ``profile`` says.

    Returns the model (its network is ``m.net``) and the pruning, if any.
    """
    return pruned_model(prepare(instance, scenario), scenario, profile, strong_linking)


def pruned_model(net: Network, scenario: Scenario, profile: SolverProfile,
                 strong_linking: bool = True) -> tuple[pyo.ConcreteModel, Pruned | None]:
    """Build the model of a prepared network, its arcs pruned as ``profile`` says."""
    pruned = prune_nearest(net, profile.nearest_sites) if profile.nearest_sites else None
    net = pruned.net if pruned else net
    return build_model(net, scenario.policies, scenario.objective, strong_linking), pruned


PROOF_GAP = 1e-9  # relative gap that proves a result even when the profile asks for 0


def solve(instance: str | Path | Instance, scenario: str | Path | Scenario | None = None,
          solver: str | Path | SolverProfile = "highs",
          strong_linking: bool = True) -> Solution:
    """Solve an instance under a scenario and return the verified-ready :class:`Solution`.

    Raises :class:`~siting.errors.InfeasibleError` when no network meets the scenario and
    :class:`~siting.errors.SolverError` when HiGHS stops before finding any solution.
    """
    t0 = time.perf_counter()
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    scenario = resolve_scenario(instance.path, scenario)
    profile = solver if isinstance(solver, SolverProfile) else load_profile(solver)
    check_fits_memory(instance, profile.nearest_sites)
    t1 = time.perf_counter()
    if instance.spec.periods is not None:
        from siting.engine.horizon import solve_horizon  # imported here: it builds on this module

        return solve_horizon(instance, scenario, profile, strong_linking, run_meta(
            instance, scenario, profile, {"load_s": t1 - t0}))
    net = prepare(instance, scenario)
    skipped = not_applicable(net, scenario.policies, scenario.objective)
    wanted = uses_lagrangian(profile, net)
    relaxed = (lagrangian_bound(net, profile.lagrangian_iterations, profile.lagrangian_seconds,
                                profile.mip_rel_gap, scenario.policies)
               if wanted and skipped is None else None)
    proven = (relaxed is not None and relaxed.builds is not None
              and gap(relaxed.cost, relaxed.bound) <= profile.mip_rel_gap)
    warm = None if proven else warm_start(net, scenario.policies, scenario.objective, profile,
                                          strong_linking)
    m, pruned = pruned_model(net, scenario, profile, strong_linking)
    if relaxed is not None:
        fix_sites(m, relaxed)
    lean = drop_unused_links(m, profile)
    start, start_meta = mip_start(m, relaxed, profile, warm, bool(scenario.policies))
    t2 = time.perf_counter()
    result = solve_stages(m, scenario.objective, without_heuristics(profile) if warm else profile,
                          start)
    units = policy_units(m, scenario)
    cut = pruned is not None and pruned.cut
    if not result.has_solution:
        causes = diagnose_infeasibility(m, profile, units) if result.status != "unbounded" else []
        where = (f"with arcs pruned to the {pruned.nearest} nearest sites (the full problem may "
                 "be feasible: raise nearest_sites), " if cut else "")
        raise InfeasibleError(f"{instance.name} / {scenario.name}: {where}no network meets the "
                              "scenario" + (": " + "; ".join(causes[:5]) if causes else
                                            f" (HiGHS: {result.status.replace('_', ' ')})"))
    bounds = [] if relaxed is None else [(relaxed.bound, "lagrangian")]
    pricing = None
    tol = max(profile.mip_rel_gap, PROOF_GAP)
    if cut and not any(gap(result.objective, b) <= tol for b, _ in bounds):
        m, pruned, result, pricing = price_and_resolve(net, m, pruned, result, scenario, profile)
        if pricing.get("bound") is not None:
            bounds.append((pricing["bound"], "pricing"))
    meta = run_meta(instance, scenario, profile, {"load_s": t1 - t0, "build_s": t2 - t1})
    solution = extract_solution(m, m.net, result, meta)
    report_bound(solution.meta, cut, bounds)
    label(solution.meta, tol)
    if start_meta:
        solution.meta["start"] = start_meta
    if lean:
        solution.meta["lean_linking"] = lean
    if warm:
        solution.meta["warm_start"] = warm.describe()
    if wanted:
        solution.meta["lagrangian"] = (
            {"skipped": skipped} if relaxed is None else
            {"bound": relaxed.bound,
             "heuristic_cost": relaxed.cost if relaxed.builds is not None else None,
             "iterations": relaxed.iterations, "seconds": relaxed.seconds,
             "fixed_closed": len(relaxed.closed), "fixed_open": len(relaxed.opened)})
    if pruned:
        flows = np.array([m.flow[k].value or 0.0 for k in m.FLOWS])
        full = solution.meta["best_bound"] if solution.meta["bound_valid"] else None
        solution.meta["pruning"] = {
            "nearest_sites": pruned.nearest, "flows_cut": int((~pruned.keep).sum()),
            "binding_regions": binding_regions(pruned, flows),
            **pruning_check(solution.meta["objective"], full, tol),
            "pricing": pricing}
    solution.meta["marginal_costs"] = marginal_costs(m, profile, units)
    return solution


def price_and_resolve(net: Network, m: pyo.ConcreteModel, pruned: Pruned, result: SolveResult,
                      scenario: Scenario, profile: SolverProfile) -> tuple:
    """Price the arcs pruning dropped; re-solve with those that pay put back.

    ``m`` is the solved pruned model of the full network ``net``. Returns the model,
    pruning and result to report (the same when no arc came back) and what pricing did
    (its ``bound`` is valid for the full problem; ``skipped`` says why it did not run).
    """
    t0 = time.perf_counter()
    why = pricing_not_applicable(scenario.policies, scenario.objective)
    if why is not None or not profile.pricing_rounds:
        return m, pruned, result, {"skipped": why or "pricing_rounds = 0"}
    priced = price_pruned_arcs(net, pruned.keep, m, scenario.objective, profile,
                               m.strong_linking, scenario.policies)
    if priced.added:
        solved = Choices.of(m)
        pruned = restrict(net, priced.keep, pruned.nearest)
        m = build_model(pruned.net, scenario.policies, scenario.objective, m.strong_linking)
        result = with_timings(solve_stages(m, scenario.objective, profile, solved.start(m)),
                              result)
    result.timings["pricing_s"] = time.perf_counter() - t0
    return m, pruned, result, {"bound": priced.bound, "rounds": priced.rounds,
                               "arcs_added": priced.added, "converged": priced.converged}


def with_timings(result: SolveResult, earlier: SolveResult) -> SolveResult:
    """Return ``result`` with the timings of an ``earlier`` solve added to its own."""
    result.timings = {k: v + earlier.timings.get(k, 0.0) for k, v in result.timings.items()}
    return result


def uses_lagrangian(profile: SolverProfile, net: Network) -> bool:
    """Whether ``profile`` runs the Lagrangian relaxation on ``net`` (``auto``: by size)."""
    if profile.lagrangian == "auto":
        return len(net.flow_arc) >= LAGRANGIAN_AUTO_FLOWS
    return profile.lagrangian


def fix_sites(m: pyo.ConcreteModel, relaxed: LagrangianResult) -> None:
    """Fix the build variables of the sites whose state the relaxation proved.

    A site proven closed has every build option fixed at 0; a site proven open with a
    single option has it fixed at 1 (with several sizes the choice stays free). The model
    keeps every arc; HiGHS's presolve drops what the fixings make useless. Sound: every
    network cheaper than the relaxation's feasible one satisfies the fixings, so HiGHS's
    bound stays valid for the problem without them.
    """
    for f in relaxed.closed.tolist():
        for j in m.options_of[f]:
            m.build[j].fix(0)
    for f in relaxed.opened.tolist():
        if len(m.options_of[f]) == 1:
            m.build[m.options_of[f][0]].fix(1)


def mip_start(m: pyo.ConcreteModel, relaxed: LagrangianResult | None, profile: SolverProfile,
              warm: WarmStart | None = None,
              policies: bool = False) -> tuple[dict | None, dict | None]:
    """HiGHS's MIP start for ``m`` and what it is, or (None, None) when there is none.

    The start is the restricted model's network (``warm``) unless the Lagrangian found a
    cheaper one; else the Lagrangian network, else DROP's when the profile asks for it,
    then improved by the local search within ``profile.local_search_seconds``, unless the
    scenario has ``policies`` (the search does not know them: it could break a facility
    count the Lagrangian network meets). Costs of these last are under greedy routing,
    without the fixed cost of existing sites.
    """
    if warm is not None and (relaxed is None or warm.cost <= relaxed.cost):
        return warm.choices.start(m), {"source": "restricted", "cost": warm.cost}
    if relaxed is not None and relaxed.builds is not None:
        source, builds = "lagrangian", relaxed.builds
    else:
        source = "drop"
        builds = greedy_builds(m.net, 0.1 * profile.time_limit) if profile.heuristic_start else None
    if builds is None:
        return None, None
    found = improve(m.net, builds, 0.0 if policies else profile.local_search_seconds)
    return builds_start(m, found.builds), {
        "source": source, "cost": found.start_cost, "improved_cost": found.cost,
        "moves": found.moves, "search_seconds": found.seconds}


def run_meta(instance: Instance, scenario: Scenario, profile: SolverProfile,
             timings: dict[str, float]) -> dict:
    """Provenance of a run: instance, scenario, solver, versions, streams, tiers, timings."""
    return {
        "siting_version": version("siting"),
        "instance": {"name": instance.name, "path": instance.path and str(instance.path),
                     "hash": instance.hash, "currency": instance.spec.instance.currency,
                     "empty_cells": instance.empty_cells},
        "scenario": scenario.describe(),
        "solver": profile.model_dump(mode="json"),
        "versions": versions(),
        "streams": [{"id": s, "label": instance.spec.streams[s].label or s}
                    for s in instance.streams],
        "tiers": instance.tiers,
        "timings": timings,
        "warnings": instance.warnings,
    }


def report_bound(meta: dict, pruned: bool, bounds: list[tuple[float, str]]) -> None:
    """Make ``meta``'s best bound and gap those of the full problem, and say where it comes from.

    The bound is the largest of HiGHS's (valid only on an unpruned model) and ``bounds``
    (valid bounds of the full problem, each with its source: ``lagrangian``, ``pricing``).
    With none, ``best_bound`` and ``mip_gap`` are null and ``bound_valid`` false; HiGHS's
    own bound, of the model it solved, stays in ``highs_bound``.
    """
    meta["highs_bound"] = meta["best_bound"]
    candidates = [] if pruned or meta["best_bound"] is None else [(meta["best_bound"], "highs")]
    candidates += bounds
    meta["bound_valid"] = bool(candidates)
    if not candidates:
        meta.update(bound_source="pruned_model", best_bound=None, mip_gap=None)
        return
    bound, meta["bound_source"] = max(candidates)
    meta["best_bound"] = bound
    meta["mip_gap"] = gap(meta["objective"], bound)


STOPPED = {"time_limit": "stopped at the time limit", "solution_limit": "stopped at the "
           "solution limit", "iteration_limit": "stopped at the iteration limit"}


def label(meta: dict, mip_rel_gap: float) -> None:
    """Set ``meta``'s status to what is known of the full problem, and say it in words.

    ``optimal`` only when HiGHS proved the unpruned model optimal, or the gap against a
    bound valid for the full problem is within ``mip_rel_gap``; else ``feasible`` when
    HiGHS finished (a pruned model), or HiGHS's reason for stopping. HiGHS's own status
    stays in ``solver_status``; ``status_text`` says the status and the gap in words.
    """
    solver = meta["solver_status"] = meta["status"]
    valid = meta["bound_valid"]
    proven = valid and (meta["mip_gap"] <= mip_rel_gap
                        or solver == "optimal" and meta["bound_source"] == "highs")
    status = "optimal" if proven else "feasible" if solver == "optimal" else solver
    known = (f"gap {meta['mip_gap']:.3%} against a valid bound" if valid
             else "no valid bound for the full problem")
    meta["status"] = status
    meta["status_text"] = f"{STOPPED.get(status, status)}, {known}"


def solve_stages(m, mode: str, profile: SolverProfile, start: dict | None = None) -> SolveResult:
    """Solve the stages of an objective mode in turn (one stage for cost and value).

    ``start`` is a MIP start for the first stage; each later stage starts from the
    solution of the one before, its objective held at its optimum (to within HiGHS's
    feasibility tolerance on that row).
    """
    steps = stages(m, mode)
    result = solve_model(m, profile, start)
    for i in range(1, len(steps)):
        if not result.has_solution:
            break
        hold_and_advance(m, steps[i - 1][1], result.objective, steps[i][1], i)
        previous = ComponentMap((v, v.value) for v in m.component_data_objects(pyo.Var)
                                if v.value is not None)
        result = with_timings(solve_model(m, profile, previous), result)
    return result


def policy_units(m, scenario: Scenario) -> dict[str, str]:
    """Return the unit of each policy block's rows, by block name."""
    blocks = [b.local_name for b in m.policies.component_objects(descend_into=False)]
    return {name: policy.unit for name, policy in zip(blocks, scenario.policies, strict=True)}
