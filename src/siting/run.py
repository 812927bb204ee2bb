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

from siting.errors import InfeasibleError, ScenarioError
from siting.heuristic import builds_start, greedy_builds
from siting.instance.load import Instance, load_instance
from siting.instance.network import Network, build_network
from siting.instance.prune import Pruned, binding_regions, prune_nearest, pruning_check
from siting.lagrangian import (
    LAGRANGIAN_AUTO_FLOWS,
    LagrangianResult,
    lagrangian_bound,
    not_applicable,
)
from siting.local_search import improve
from siting.model.analysis import diagnose_infeasibility, marginal_costs
from siting.model.core import build_model
from siting.model.objective import hold_and_advance, stages
from siting.model.policies.base import supply_under
from siting.scenario import Scenario, find_scenario, load_scenario
from siting.solution import Solution, extract_solution
from siting.solve import SolveResult, SolverProfile, gap, load_profile, solve_model


def versions() -> dict[str, str]:
    """Versions of siting and of the libraries that decide its results."""
    return {"siting": version("siting"), "pyomo": version("pyomo"),
            "highspy": highspy.Highs().version(), "python": platform.python_version()}


def resolve_scenario(instance_dir: Path, scenario: str | Path | Scenario | None) -> Scenario:
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
          strong_linking: bool | None = None) -> tuple[pyo.ConcreteModel, Pruned | None]:
    """Build the model of ``instance`` under ``scenario``, arcs pruned as ``profile`` says.

    Returns the model (its network is ``m.net``) and the pruning, if any.
    """
    return pruned_model(prepare(instance, scenario), scenario, profile, strong_linking)


def pruned_model(net: Network, scenario: Scenario, profile: SolverProfile,
                 strong_linking: bool | None = None) -> tuple[pyo.ConcreteModel, Pruned | None]:
    """Build the model of a prepared network, its arcs pruned as ``profile`` says."""
    pruned = prune_nearest(net, profile.nearest_sites) if profile.nearest_sites else None
    net = pruned.net if pruned else net
    return build_model(net, scenario.policies, scenario.objective, strong_linking), pruned


def solve(instance: str | Path | Instance, scenario: str | Path | Scenario | None = None,
          solver: str | Path | SolverProfile = "highs",
          strong_linking: bool | None = None) -> Solution:
    """Solve an instance under a scenario and return the verified-ready :class:`Solution`.

    Raises :class:`~siting.errors.InfeasibleError` when no network meets the scenario and
    :class:`~siting.errors.SolverError` when HiGHS stops before finding any solution.
    """
    t0 = time.perf_counter()
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    scenario = resolve_scenario(instance.path, scenario)
    profile = solver if isinstance(solver, SolverProfile) else load_profile(solver)
    t1 = time.perf_counter()
    if instance.spec.periods is not None:
        from siting.horizon import solve_horizon  # imported here: it builds on this module

        return solve_horizon(instance, scenario, profile, strong_linking, run_meta(
            instance, scenario, profile, {"load_s": t1 - t0}))
    net = prepare(instance, scenario)
    skipped = not_applicable(net, scenario.policies, scenario.objective)
    wanted = uses_lagrangian(profile, net)
    relaxed = (lagrangian_bound(net, profile.lagrangian_iterations, profile.lagrangian_seconds,
                                profile.mip_rel_gap)
               if wanted and skipped is None else None)
    m, pruned = pruned_model(net, scenario, profile, strong_linking)
    net = m.net
    if relaxed is not None:
        fix_sites(m, relaxed)
    start, start_meta = mip_start(m, relaxed, profile)
    t2 = time.perf_counter()
    result = solve_stages(m, scenario.objective, profile, start)
    units = policy_units(m, scenario)
    if not result.has_solution:
        causes = diagnose_infeasibility(m, profile, units) if result.status != "unbounded" else []
        raise InfeasibleError(f"{instance.name} / {scenario.name}: no network meets the scenario"
                              + (": " + "; ".join(causes[:5]) if causes else
                                 f" (HiGHS: {result.status.replace('_', ' ')})"))
    meta = run_meta(instance, scenario, profile, {"load_s": t1 - t0, "build_s": t2 - t1})
    solution = extract_solution(m, net, result, meta)
    report_bound(solution.meta, pruned is not None, relaxed)
    if start_meta:
        solution.meta["start"] = start_meta
    if wanted:
        solution.meta["lagrangian"] = (
            {"skipped": skipped} if relaxed is None else
            {"bound": relaxed.bound, "heuristic_cost": relaxed.cost,
             "iterations": relaxed.iterations, "seconds": relaxed.seconds,
             "fixed_closed": len(relaxed.closed), "fixed_open": len(relaxed.opened)})
    if pruned:
        flows = np.array([m.flow[k].value or 0.0 for k in m.FLOWS])
        full = solution.meta["best_bound"] if solution.meta["bound_valid"] else None
        solution.meta["pruning"] = {
            "nearest_sites": pruned.nearest, "binding_regions": binding_regions(pruned, flows),
            **pruning_check(solution.meta["objective"], full, max(profile.mip_rel_gap, 1e-6))}
    solution.meta["marginal_costs"] = marginal_costs(m, profile, units)
    return solution


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


def mip_start(m: pyo.ConcreteModel, relaxed: LagrangianResult | None,
              profile: SolverProfile) -> tuple[dict | None, dict | None]:
    """HiGHS's MIP start for ``m`` and what it is, or (None, None) when there is none.

    The start is the Lagrangian network, else DROP's when the profile asks for it, then
    improved by the local search within ``profile.local_search_seconds``. Costs are under
    greedy routing, without the fixed cost of existing sites.
    """
    if relaxed is not None and relaxed.builds is not None:
        source, builds = "lagrangian", relaxed.builds
    else:
        source = "drop"
        builds = greedy_builds(m.net, 0.1 * profile.time_limit) if profile.heuristic_start else None
    if builds is None:
        return None, None
    found = improve(m.net, builds, profile.local_search_seconds)
    return builds_start(m, found.builds), {
        "source": source, "cost": found.start_cost, "improved_cost": found.cost,
        "moves": found.moves, "search_seconds": found.seconds}


def run_meta(instance: Instance, scenario: Scenario, profile: SolverProfile,
             timings: dict[str, float]) -> dict:
    """Provenance of a run: instance, scenario, solver, versions, streams, tiers, timings."""
    return {
        "siting_version": version("siting"),
        "instance": {"name": instance.name, "path": str(instance.path), "hash": instance.hash,
                     "currency": instance.spec.instance.currency},
        "scenario": scenario.describe(),
        "solver": profile.model_dump(mode="json"),
        "versions": versions(),
        "streams": [{"id": s, "label": instance.spec.streams[s].label or s}
                    for s in instance.streams],
        "tiers": instance.tiers,
        "timings": timings,
    }


def report_bound(meta: dict, pruned: bool, relaxed: LagrangianResult | None) -> None:
    """Make ``meta``'s best bound and gap those of the full problem, and say where it comes from.

    The bound is the larger of HiGHS's (valid only on an unpruned model) and the Lagrangian
    one; with pruning and no Lagrangian bound, HiGHS's bound of the pruned model stays, with
    ``bound_valid`` false: it bounds only the pruned problem.
    """
    meta["highs_bound"] = meta["best_bound"]
    candidates = [] if pruned or meta["best_bound"] is None else [(meta["best_bound"], "highs")]
    if relaxed is not None:
        candidates.append((relaxed.bound, "lagrangian"))
    meta["bound_valid"] = bool(candidates)
    if not candidates:
        meta["bound_source"] = "pruned_model"
        return
    bound, meta["bound_source"] = max(candidates)
    meta["best_bound"] = bound
    meta["mip_gap"] = gap(meta["objective"], bound)


def solve_stages(m, mode: str, profile: SolverProfile, start: dict | None = None) -> SolveResult:
    """Solve the stages of an objective mode in turn (one stage for cost and value).

    ``start`` is a MIP start for the first stage.
    """
    steps = stages(m, mode)
    result = solve_model(m, profile, start)
    for i in range(1, len(steps)):
        if not result.has_solution:
            break
        hold_and_advance(m, steps[i - 1][1], result.objective, profile.mip_rel_gap,
                         steps[i][1], i)
        timings = result.timings
        result = solve_model(m, profile)
        result.timings = {k: v + timings.get(k, 0.0) for k, v in result.timings.items()}
    return result


def policy_units(m, scenario: Scenario) -> dict[str, str]:
    """Return the unit of each policy block's rows, by block name."""
    blocks = [b.local_name for b in m.policies.component_objects(descend_into=False)]
    return {name: policy.unit for name, policy in zip(blocks, scenario.policies, strict=True)}
