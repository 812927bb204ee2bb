"""The steps of a run, in the order :func:`siting.engine.pipeline.run` calls them.

Each step takes the :class:`~siting.engine.job.Job`, returns early when it does not apply
or when the run must stop (its outer time limit, or Ctrl-C), spends work units the profile
sets, and records what it did in ``job.reports`` (what ``solution.json`` keeps of it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from itertools import zip_longest

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from siting.engine import accelerate
from siting.engine.heuristics.drop import builds_start, greedy_builds
from siting.engine.heuristics.exchange import exchange
from siting.engine.heuristics.lagrangian import (
    LAGRANGIAN_AUTO_FLOWS,
    lagrangian_bound,
    not_applicable,
    proven_sites,
)
from siting.engine.heuristics.local_search import improve
from siting.engine.highs import HighsModel, Progress, SolveResult, SolverProfile, gap
from siting.engine.job import Candidate, Job, run_meta
from siting.engine.labels import label, report_bound
from siting.engine.pricing import not_applicable as pricing_not_applicable
from siting.engine.pricing import price_pruned_arcs
from siting.errors import InfeasibleError, SolverError
from siting.instance.load import Instance
from siting.instance.network import Network, build_network
from siting.instance.prune import (
    Pruned,
    binding_regions,
    nearest_for,
    prune_nearest,
    pruning_check,
    restrict,
)
from siting.instance.size import check_fits_memory
from siting.model.analysis import diagnose_infeasibility, marginal_costs
from siting.model.objective import stages
from siting.model.policies.base import Policy, supply_under
from siting.model.spec import ModelSpec
from siting.results.labels import PROOF_GAP
from siting.results.solution import Solution, extract_solution
from siting.scenario import Scenario

WARM_REACH = 0.99  # the warm start runs when the Lagrangian network reaches this share
REACH_SITES = 10  # the exchange runs when it reaches less from this many nearest sites


@dataclass
class Built:
    """A model of the run's network, pruned as the profile says, compiled once into HiGHS."""

    net: Network  # the full network
    m: pyo.ConcreteModel
    highs: HighsModel
    pruned: Pruned | None
    result: SolveResult | None = None


def prepare(instance: Instance, scenario: Scenario, supply: pd.DataFrame | None = None) -> Network:
    """Return the network of ``instance`` as the scenario's policies change it (pruned arcs...).

    ``supply`` replaces the instance's supply (one period's). Raises
    :class:`~siting.errors.ScenarioError` for a policy that does not fit the instance.
    """
    scenario.check_fits(instance)
    net = build_network(instance, supply_under(scenario.policies, instance, supply))
    for policy in scenario.policies:
        net = policy.prepare(net)
    return net


def pruned_model(net: Network, spec: ModelSpec,
                 profile: SolverProfile) -> tuple[pyo.ConcreteModel, Pruned | None]:
    """Build the model of a prepared network, its arcs pruned as ``profile`` says."""
    nearest = nearest_for(profile.nearest_sites, len(net.flow_arc))
    pruned = prune_nearest(net, nearest) if nearest else None
    return spec.build(pruned.net if pruned else net), pruned


def build(instance: Instance, scenario: Scenario, profile: SolverProfile,
          strong_linking: bool = True) -> tuple[pyo.ConcreteModel, Pruned | None]:
    """Build the model of ``instance`` under ``scenario``, arcs pruned as ``profile`` says."""
    spec = ModelSpec(tuple(scenario.policies), scenario.objective, strong_linking)
    return pruned_model(prepare(instance, scenario), spec, profile)


def prepare_network(job: Job) -> Network:
    """Step *prepare*: check the model fits in memory; the network under the scenario."""
    with job.step("prepare"):
        check_fits_memory(job.instance, job.profile.nearest_sites)
        return prepare(job.instance, job.scenario)


def relax(job: Job, built: Built) -> Built:
    """Step *relax*: the Lagrangian bound, its network and the sites it proves open or closed.

    Runs on large one-tier networks (profile ``lagrangian``), for ``lagrangian_iterations``;
    the sites and arcs it proves are fixed in the compiled model. A pruned model gains the
    arcs the relaxation's network routes on (so that it can be routed there). Returns the
    model.
    """
    profile, spec, net = job.profile, job.spec, built.net
    wanted = (len(net.flow_arc) >= LAGRANGIAN_AUTO_FLOWS if profile.lagrangian == "auto"
              else profile.lagrangian)
    if not wanted:
        return built
    skipped = not_applicable(net, spec.policies, spec.objective)
    if skipped is not None or job.budget.stopped():
        job.reports["lagrangian"] = {"skipped": skipped or job.budget.reason()}
        return built
    with job.step("relax"):
        relaxed = lagrangian_bound(net, profile.lagrangian_iterations, job.budget.stopped,
                                   profile.mip_rel_gap, spec.policies)
    job.relaxed = relaxed
    if relaxed.routed is not None:
        built = with_network(job, built, relaxed.routed)
    fix_proven(built, relaxed)
    if np.isfinite(relaxed.bound):  # infinite: no network meets the count; HiGHS says so
        job.bounds.append((relaxed.bound, "lagrangian"))
    if relaxed.builds is not None:
        job.offer(Candidate(relaxed.cost, "lagrangian",
                            lambda m, b=relaxed.builds: builds_start(m, b), relaxed.routed))
    job.reports["lagrangian"] = {
        "bound": relaxed.bound,
        "heuristic_cost": relaxed.cost if relaxed.builds is not None else None,
        "iterations": relaxed.iterations, "seconds": relaxed.seconds,
        "fixed_closed": len(relaxed.closed), "fixed_open": len(relaxed.opened),
        "arcs_closed": None if relaxed.arcs_closed is None else len(relaxed.arcs_closed)}
    return built


def with_network(job: Job, built: Built, used: np.ndarray) -> Built:
    """Return the model ``built``, pruned, with the flows ``used`` (a network's) put back."""
    if built.pruned is None or built.pruned.keep[used].all():
        return built
    keep = built.pruned.keep.copy()
    keep[used] = True
    with job.step("build"):
        return with_arcs(job, built, keep)


def with_arcs(job: Job, built: Built, keep: np.ndarray) -> Built:
    """Return the model of ``built``'s network restricted to the flows ``keep``, compiled."""
    pruned = restrict(built.net, keep, built.pruned.nearest)
    m = job.spec.build(pruned.net)
    return Built(built.net, m, HighsModel(m, job.profile, job.budget.stopped, job.show), pruned)


def proven(job: Job) -> bool:
    """Whether the best network found so far is within the profile's gap of a valid bound."""
    best, bound = job.best(), max((b for b, _ in job.bounds), default=None)
    return (best is not None and bound is not None
            and gap(best.cost, bound) <= job.profile.mip_rel_gap)


def exchange_sites(job: Job, built: Built) -> Built:
    """Step *exchange*: close and swap moves on the Lagrangian's network, each routed exactly.

    Runs where the warm start cannot hold that network: it leaves regions without an open
    site among their :data:`REACH_SITES` nearest (:data:`WARM_REACH`), as on the tight
    shape; not under policies (a facility count, which the moves would change), nor once
    the network is proven. A cheaper network proves more sites at the relaxation's
    multipliers; they are fixed too. A pruned model gains the new network's arcs. Returns
    the model.
    """
    relaxed = job.relaxed
    if (relaxed is None or relaxed.builds is None or job.spec.policies or proven(job)
            or job.budget.stopped()
            or accelerate.reaches(built.net, relaxed.builds, REACH_SITES) >= WARM_REACH):
        return built
    with job.step("exchange"):
        found = exchange(built.net, relaxed.builds, relaxed.cost, relaxed.routed,
                         job.budget.stopped, fixed=np.r_[relaxed.closed, relaxed.opened])
    job.reports["exchange"] = report = {"moves": found.moves, "tried": found.evaluations,
                                        "cost": found.cost}
    if not found.moves:
        return built
    closed, opened = proven_sites(built.net, relaxed.multipliers, found.cost)
    job.relaxed = replace(relaxed, builds=found.builds, cost=found.cost, routed=found.routed,
                          closed=closed, opened=opened)
    report.update(fixed_closed=len(closed), fixed_open=len(opened))
    job.offer(Candidate(found.cost, "exchange",
                        lambda m, b=found.builds: builds_start(m, b), found.routed))
    built = with_network(job, built, found.routed)
    fix_proven(built, job.relaxed)
    return built


def warm_start(job: Job, net: Network) -> None:
    """Step *warm start*: solve the problem restricted to each region's nearest sites.

    Skipped when the Lagrangian's network proves itself, or leaves some regions without
    an open site among their nearest (:data:`WARM_REACH`): there the optimum serves
    regions from far away, and the restricted problem is slow and its network poor
    (benchmarks/RESULTS.md: the tight shape reaches 47-96%, capa-like networks 100%).
    """
    builds = job.relaxed.builds if job.relaxed is not None else None
    if (proven(job) or job.budget.stopped() or not accelerate.warms(net, job.profile)
            or (builds is not None and accelerate.reaches(
                net, builds, job.profile.warm_start_sites) < WARM_REACH)):
        return
    with job.step("warm start"):
        warm = accelerate.warm_start(net, job.spec, job.profile, job.budget.stopped,
                                     job.budget.left())
    if warm is not None:
        job.reports["warm_start"] = warm.describe()
        job.offer(Candidate(warm.cost, "restricted", warm.choices.start))


def build_model(job: Job, net: Network) -> Built:
    """Step *build*: the model, pruned as the profile says, compiled once into HiGHS.

    It comes first, so that a run stopped in any later step only routes its best network
    on it; the budget keeps time for the end of the run (routing, files, map,
    verification) in proportion to this step's (:meth:`Budget.expect_finish`).
    """
    with job.step("build"):
        t0 = time.perf_counter()
        m, pruned = pruned_model(net, job.spec, job.profile)
        highs = HighsModel(m, job.profile, job.budget.stopped, job.show)
        job.highs_bound_valid = pruned is None or not pruned.cut
        job.timings["handoff_s"] = highs.compile_s
        job.timings["model_s"] = time.perf_counter() - t0 - highs.compile_s
        job.budget.expect_finish(time.perf_counter() - t0)
    return Built(net, m, highs, pruned)


def fix_proven(built: Built, relaxed) -> None:
    """Fix, in the compiled model, the sites and arcs the relaxation proved.

    A site proven closed has every build option fixed at 0; a site proven open with a
    single option has it fixed at 1 (with several sizes the choice stays free); an arc
    proven closed has its flow fixed at 0. HiGHS's presolve drops what the fixings make
    useless. Sound: every network cheaper than the relaxation's feasible one satisfies
    the fixings, so HiGHS's bound stays valid for the problem without them.
    """
    m = built.m
    fixed = ComponentMap((m.build[j], 0.0) for f in relaxed.closed.tolist()
                         for j in m.options_of[f])
    fixed.update((m.build[m.options_of[f][0]], 1.0) for f in relaxed.opened.tolist()
                 if len(m.options_of[f]) == 1)
    if fixed:
        built.highs.fix(fixed)
    arcs = relaxed.arcs_closed
    if arcs is not None and len(arcs):
        built.highs.close_flows(m, in_model(built, arcs))


def in_model(built: Built, flows: np.ndarray) -> np.ndarray:
    """Positions in the model's network of the network's ``flows`` (a pruned model lacks some)."""
    if built.pruned is None:
        return flows
    keep = built.pruned.keep
    return (np.cumsum(keep) - 1)[flows[keep[flows]]]


def drop_unused_links(job: Job, built: Built) -> None:
    """Step *lean linking*: drop the linking rows the Lagrangian, or else the LP, leaves unused."""
    if proven(job) or job.budget.stopped() or not accelerate.leans(built.m, job.profile):
        return
    multipliers = job.relaxed.multipliers if job.relaxed is not None else None
    with job.step("lean linking"):
        lean = accelerate.drop_unused_links(built.highs, job.profile, multipliers)
    if lean:
        job.reports["lean_linking"] = lean


def start(job: Job, built: Built) -> dict | None:
    """Return the MIP start: the best network found so far, else DROP's if the profile asks.

    A DROP or Lagrangian start is improved by the local search within
    ``profile.local_search_trials``, unless the scenario has policies (the search does not
    know them). HiGHS's own heuristics stay on behind every start: a start is not known
    to be good without a bound, and a poor one with them off left HiGHS stuck on it
    (benchmarks/RESULTS.md, the tight shape).
    """
    best = job.best()
    if best is not None and best.source in ("restricted", "exchange"):
        job.reports["start"] = {"source": best.source, "cost": best.cost}
        return best.start(built.m)
    builds, source = None, "drop"
    if best is not None:
        builds, source = job.relaxed.builds, "lagrangian"
    elif job.profile.heuristic_start:
        builds = greedy_builds(built.m.net, job.budget.stopped)
    if builds is None:
        return None
    trials = 0 if job.spec.policies else job.profile.local_search_trials
    found = improve(built.m.net, builds, trials, stop=job.budget.stopped)
    job.reports["start"] = {"source": source, "cost": found.start_cost,
                            "improved_cost": found.cost, "moves": found.moves,
                            "search_seconds": found.seconds}
    if source == "drop":
        job.offer(Candidate(found.cost, "drop", lambda m: builds_start(m, found.builds)))
    return builds_start(built.m, found.builds)


def solve_stages(job: Job, built: Built) -> None:
    """Step *solve*: HiGHS on the compiled model, each stage of the objective in turn.

    Each later stage holds the one before at its optimum (to within HiGHS's feasibility
    tolerance on that row) and starts from its solution, on the same HiGHS model. HiGHS
    may take the time the run has left. When a relaxation's bound already proves the
    network in hand (:func:`proven`), HiGHS only routes it; so too when less time is left
    than the lean-linking LP took: HiGHS cannot stop inside the root LP of its search,
    which on a busy machine overran a 120 s limit by 21 s.
    """
    if job.budget.stopped():
        return
    if proven(job):  # a relaxation's bound proves the network in hand: HiGHS only routes it
        with job.step("route"):
            route(job, built, "optimal")
        return
    lean = job.reports.get("lean_linking")
    if job.best() is not None and lean and job.budget.left() < lean["seconds"]:
        with job.step("route"):  # HiGHS cannot stop inside its root LP: it would overrun
            route(job, built, "time_limit")
        return
    with job.step("solve"):
        built.result = result = solve_each_stage(built.highs, job, start(job, built))
        if result.has_solution and result.best_bound is not None:
            job.show(Progress(result.timings["solve_s"], result.objective, result.best_bound,
                              result.mip_gap))


def solve_each_stage(highs: HighsModel, job: Job, first: dict | None = None) -> SolveResult:
    """Solve the stages of the job's objective on ``highs`` (a model or a horizon).

    With more than one stage, the result lists each stage's objective and bound (None for
    a stage a stop left unsolved): the label needs every stage proven.
    """
    steps = stages(highs.m, job.spec.objective)
    result = highs.solve(first, job.budget.left())
    solved = [result]
    for i in range(1, len(steps)):
        if not result.has_solution or job.budget.stopped():
            break
        highs.hold_and_advance(steps[i - 1][1], result.objective, steps[i][1])
        current = ComponentMap((v, v.value) for v in highs.columns if v.value is not None)
        result = with_timings(highs.solve(current, job.budget.left()), result)
        solved.append(result)
    if len(steps) > 1:
        result.stages = [{"name": name, "objective": r.objective if r else None,
                          "best_bound": r.best_bound if r else None}
                         for (name, _), r in zip_longest(steps, solved)]
    return result


def with_timings(result: SolveResult, earlier: SolveResult) -> SolveResult:
    """Return ``result`` with the timings of an ``earlier`` solve added to its own."""
    result.timings = {k: v + earlier.timings.get(k, 0.0) for k, v in result.timings.items()}
    return result


def price_and_resolve(job: Job, built: Built) -> Built:
    """Step *price*: price the arcs pruning dropped; re-solve with those that pay put back.

    Runs on a pruned model whose result no valid bound proves yet. Returns the model to
    report (the same when no arc came back).
    """
    pruned, result = built.pruned, built.result
    tolerance = max(job.profile.mip_rel_gap, PROOF_GAP)
    if (pruned is None or not pruned.cut or result is None or not result.has_solution
            or any(gap(result.objective, b) <= tolerance for b, _ in job.bounds)
            or job.budget.stopped()):
        return built
    why = pricing_not_applicable(job.spec.policies, job.spec.objective)
    if why is not None or not job.profile.pricing_rounds:
        job.reports["pricing"] = {"skipped": why or "pricing_rounds = 0"}
        return built
    with job.step("price"):
        priced = price_pruned_arcs(built.net, pruned.keep, built.m, job.spec, job.profile,
                                   job.budget.stopped)
        if priced.bound is not None:
            job.bounds.append((priced.bound, "pricing"))
        job.reports["pricing"] = {"bound": priced.bound, "rounds": priced.rounds,
                                  "arcs_added": priced.added, "converged": priced.converged}
        if not priced.added or job.budget.stopped():
            return built
        solved = accelerate.Choices.of(built.m)
        priced_model = with_arcs(job, built, priced.keep)
        again = solve_each_stage(priced_model.highs, job, solved.start(priced_model.m))
        if not again.has_solution:
            return built
        priced_model.result = with_timings(again, result)
        return priced_model


def route_best(job: Job, built: Built) -> None:
    """Route the best network the steps found, when HiGHS has none or a dearer one.

    HiGHS has none when it stopped before finding one (time limit, Ctrl-C); a dearer one
    when it stopped without using the start (a single-stage objective: the costs compare).
    Nothing changes otherwise, or when no step found a network.
    """
    best, result = job.best(), built.result
    if best is None:
        return
    if result is None or not result.has_solution:
        if result is None or result.status in ("interrupted", "time_limit"):
            with job.step("route"):
                route(job, built, job.budget.reason() or "interrupted")
        return
    if (len(stages(built.m, job.spec.objective)) == 1
            and best.cost < result.objective * (1 - 1e-9)):
        with job.step("route"):
            route(job, built, result.status, result.best_bound)


def route(job: Job, built: Built, status: str, bound: float | None = None) -> None:
    """Route the job's best network on the compiled model: the result to report, ``status``.

    The network's build decisions are fixed and HiGHS routes every tonne (an LP, run to its
    end). When the step that found the network routed it (the Lagrangian, the exchange: the
    transportation LP over each pair's 20 cheapest open sites), the other flows are fixed at
    0 first: that LP's routing and cost, for a far smaller LP. HiGHS's bound is
    then of the fixed network only: the result keeps ``bound``, that of HiGHS's search
    before, if any; the run's other bounds are ``job.bounds``.
    """
    best = job.best()
    built.highs.stop = lambda: False
    if best.routed is not None:
        unused = np.ones(len(built.m.FLOWS), dtype=bool)
        unused[in_model(built, best.routed)] = False
        built.highs.close_flows(built.m, np.flatnonzero(unused))
    routed = built.highs.route(best.start(built.m))
    routed.status, routed.best_bound, routed.mip_gap = status, bound, None
    built.result = routed
    job.reports.setdefault("start", {"source": best.source, "cost": best.cost})


def extract(job: Job, built: Built) -> Solution:
    """Step *extract*: the :class:`Solution`, its bound, label, and every step's report.

    A run stopped by its time limit or by the user is labelled so (``time_limit``,
    ``interrupted``) with the best network found; with none, it raises
    :class:`KeyboardInterrupt` (interrupted) or :class:`~siting.errors.SolverError`.
    """
    reason = job.budget.reason()
    route_best(job, built)
    if built.result is None or built.result.status in ("interrupted", "time_limit") \
            and not built.result.has_solution:  # stopped: nothing proves it infeasible
        if reason == "interrupted":
            raise KeyboardInterrupt
        raise SolverError("the run's time limit came before any network was found; raise "
                          "the time limit (--solver with a longer time_limit)")
    m, result, pruned = built.m, built.result, built.pruned
    policies = policy_blocks(m, job.scenario)
    cut = pruned is not None and pruned.cut
    if not result.has_solution:
        causes = diagnose_infeasibility(m, job.profile, policies) \
            if result.status != "unbounded" \
            else []
        where = (f"with arcs pruned to the {pruned.nearest} nearest sites (the full problem may "
                 "be feasible: raise nearest_sites), " if cut else "")
        raise InfeasibleError(f"{job.instance.name} / {job.scenario.name}: {where}no network "
                              "meets the scenario" + (": " + "; ".join(causes[:5]) if causes
                              else f" (HiGHS: {result.status.replace('_', ' ')})"))
    if result.status == "interrupted":  # by the run's budget: say which limit
        result.status = reason or "interrupted"
    tolerance = max(job.profile.mip_rel_gap, PROOF_GAP)
    with job.step("extract"):
        solution = extract_solution(m, m.net, result, run_meta(job))
        report_bound(solution.meta, cut, job.bounds)
        if result.stages:
            solution.meta["stages"] = result.stages
        label(solution.meta, job.profile.mip_rel_gap)
        solution.meta.update({k: v for k, v in job.reports.items() if k != "pricing"})
        if pruned:
            flows = np.array([m.flow[k].value or 0.0 for k in m.FLOWS])
            full = solution.meta["best_bound"] if solution.meta["bound_valid"] else None
            solution.meta["pruning"] = {
                "nearest_sites": pruned.nearest, "automatic": job.profile.nearest_sites is None,
                "flows_cut": int((~pruned.keep).sum()),
                "binding_regions": binding_regions(pruned, flows),
                **pruning_check(solution.meta["objective"], full, tolerance),
                "pricing": job.reports.get("pricing")}
        solution.meta["marginal_costs"] = marginal_costs(
            m, built.highs.fixed_duals, policies, job.instance.spec.instance.currency)
    steps = job.timings.get("steps", {})
    solution.meta["timings"].update(step_timings(steps))
    solution.meta["timings"]["build_s"] = sum(steps.get(s, 0.0) for s in BEFORE_SOLVE)
    return solution


def step_timings(steps: dict[str, float]) -> dict[str, float]:
    """Each step's seconds as a ``timings`` key of solution.json: ``step_<name>_s``."""
    return {f"step_{name.replace(' ', '_')}_s": seconds for name, seconds in steps.items()}


BEFORE_SOLVE = ("prepare", "relax", "exchange", "warm start", "build", "lean linking")


def policy_blocks(m, scenario: Scenario) -> dict[str, Policy]:
    """Return the policy of each of the model's policy blocks, by block name."""
    blocks = [b.local_name for b in m.policies.component_objects(descend_into=False)]
    return dict(zip(blocks, scenario.policies, strict=True))
