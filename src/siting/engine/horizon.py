"""The multi-period pipeline: networks per period, the horizon model, the plan over time.

One network per period goes into the horizon model; its solution comes back as one
:class:`Solution` per period, the timeline, and the network at the horizon's end.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from siting.engine.highs import HighsModel, SolverProfile
from siting.engine.job import Job, run_meta
from siting.engine.labels import label
from siting.engine.steps import policy_blocks, prepare, solve_each_stage, step_timings
from siting.errors import InfeasibleError, InputError, ScenarioError
from siting.instance.load import Instance
from siting.instance.size import check_fits_memory
from siting.model.analysis import diagnose_infeasibility, marginal_costs
from siting.model.horizon import build_horizon_model
from siting.model.objective import stages
from siting.results.solution import Solution, extract_solution
from siting.scenario import Scenario


def solve_horizon(job: Job) -> Solution:
    """Solve an instance with ``[periods]`` and return the plan over the horizon.

    Every policy holds in every period. Raises :class:`~siting.errors.ScenarioError` for
    a policy that has no per-period meaning and :class:`~siting.errors.InfeasibleError`
    when no plan meets the scenario.
    """
    instance, scenario, profile = job.instance, job.scenario, job.profile
    _check_supported(instance, scenario, profile)
    periods = instance.spec.periods
    with job.step("prepare"):
        check_fits_memory(instance, "all")
    with job.step("build"):
        t0 = time.perf_counter()
        nets = [prepare(instance, scenario, supply) for supply in instance.period_supply]
        m = build_horizon_model(nets, periods, scenario.policies, scenario.objective,
                                job.spec.strong_linking)
        highs = HighsModel(m, profile, job.budget.stopped, job.show)
        job.budget.expect_finish(time.perf_counter() - t0)
    job.highs_bound_valid = True
    with job.step("solve"):
        result = solve_each_stage(highs, job)
    policies = policy_blocks(m.period[0], scenario)
    if result.status == "interrupted":
        result.status = job.budget.reason() or "interrupted"
    if not result.has_solution:
        if result.status == "interrupted":
            raise KeyboardInterrupt
        causes = (diagnose_infeasibility(m, profile, policies, periods.years)
                  if result.status != "unbounded" else [])
        raise InfeasibleError(f"{instance.name} / {scenario.name}: no plan over the horizon "
                              "meets the scenario" + (": " + "; ".join(causes[:5]) if causes else
                              f" (HiGHS: {result.status.replace('_', ' ')})"))
    meta = run_meta(job)
    meta["timings"]["build_s"] = job.timings["steps"]["build"]
    meta["timings"].update(step_timings(job.timings["steps"]))
    by_year = {}
    for t, year in enumerate(periods.years):
        block = m.period[t]
        own_objective = stages(block, scenario.objective)[-1][1]
        yearly = replace(result, objective=float(pyo.value(own_objective)), best_bound=None,
                         mip_gap=None)
        by_year[year] = extract_solution(block, nets[t], yearly, {**meta, "period": year})
    last = by_year[periods.years[-1]]
    facilities = last.facilities.copy()
    facilities["build_year"] = build_years(by_year)
    events = builds(by_year)
    timeline = timeline_frame(by_year, events, periods.weights, periods.discount_weights)
    top = {**last.meta, "objective": result.objective, "best_bound": result.best_bound,
           "mip_gap": result.mip_gap, "highs_bound": result.best_bound,
           "bound_valid": result.best_bound is not None, "bound_source": "highs",
           "marginal_costs": marginal_costs(m, highs.fixed_duals, policies,
                                            instance.spec.instance.currency, periods.years),
           "periods": {**periods.model_dump(mode="json"),
                       "discount_weights": periods.discount_weights}}
    del top["period"]
    if result.stages:
        top["stages"] = result.stages
    label(top, profile.mip_rel_gap)
    for solution in by_year.values():
        solution.meta.update({k: top[k] for k in ("status", "solver_status", "status_text")})
    kpis = {**last.kpis, "horizon": {
        "discounted_cost": float((timeline["total_cost"] * timeline["weight"]).sum()
                                 + pyo.value(m.closure_cost)),
        "closure_cost": float(pyo.value(m.closure_cost)),
        "closures": closures(by_year),
        "builds": events}}
    return Solution(top, facilities, last.flows, last.regions, kpis, by_year, timeline)


def _check_supported(instance: Instance, scenario: Scenario, profile: SolverProfile) -> None:
    modular = any(t.expansion == "modules" for t in instance.spec.tiers.values())
    processes = any(t.processes for t in instance.spec.tiers.values())
    for i, policy in enumerate(scenario.policies, start=1):
        if policy.per_period is not None:
            why = f"with [periods]: {policy.per_period}"
        elif modular and policy.counts_sites:
            why = "with a tier of modules (it reads a site with several units as several sites)"
        elif processes and policy.reads_tier_rates:
            why = ("with processes yet (it reads the tier's emissions and recovery, not the "
                   "process's)")
        else:
            continue
        raise ScenarioError(scenario.path or "scenario", f"policy[{i}].type",
                            f"{policy.type} is not supported {why}")
    for option in ("nearest_sites", "heuristic_start"):
        if getattr(profile, option) not in (None, False, "all"):
            raise InputError(f"solvers/{profile.name}.toml", f"solver.{option}",
                             "not supported with [periods]")


def closures(by_year: dict[int, Solution]) -> list[dict]:
    """Existing facilities closed over the horizon, with the first year they are closed."""
    found, seen = [], set()
    for year, solution in by_year.items():
        fac = solution.facilities
        for site in fac["id"][fac["existing"] & ~fac["open"]]:
            if site not in seen:
                seen.add(site)
                found.append({"site": site, "year": year})
    return found


def build_years(by_year: dict[int, Solution]) -> pd.Series:
    """Year each new size was built (the first period it is open in), nan where none."""
    years = list(by_year)
    sized = np.array([(by_year[y].facilities["size"] != "").to_numpy() for y in years])
    first = np.argmax(sized, axis=0)
    return pd.Series(np.where(sized.any(axis=0), np.array(years)[first], np.nan),
                     index=by_year[years[-1]].facilities.index).astype("Int64")


def builds(by_year: dict[int, Solution]) -> list[dict]:
    """Every build and every added module: site, tier, size after it, capacity added, year."""
    events, before = [], None
    for year, solution in by_year.items():
        fac = solution.facilities
        grown = fac["new_capacity"] - (0 if before is None else before["new_capacity"])
        events += [{"site": row.id, "tier": row.tier, "size": row.size,
                    "added_t": float(added), "year": year}
                   for row, added in zip(fac[grown > 0].itertuples(), grown[grown > 0],
                                         strict=True)]
        before = fac
    return events


def timeline_frame(by_year: dict[int, Solution], events: list[dict], spans: list[int],
                   weights: list[float]) -> pd.DataFrame:
    """One row per period: supply, gap, capacity added and available, utilisation, costs.

    ``builds`` lists the sites built or grown in the period, with the size they reach.
    """
    rows = []
    for (year, solution), span, weight in zip(by_year.items(), spans, weights, strict=True):
        k = solution.kpis
        new = [e for e in events if e["year"] == year]
        added = sum(e["added_t"] for e in new if e["tier"] == solution.meta["tiers"][-1])
        rows.append({
            "year": year, "years": span, "weight": weight,
            "supply_t": k["supply_t"], "collected_t": k["collected_t"],
            "uncollected_t": k["uncollected_t"], "collection_rate": k["collection_rate"],
            "capacity_t": k["capacity_t"], "capacity_added_t": float(added),
            "throughput_t": k["throughput_t"], "utilisation": k["utilisation"],
            "capacity_to_supply": k["capacity_to_supply"],
            "builds": ";".join(f"{e['site']}:{e['size']}" for e in new),
            "total_cost": k["total_cost"], "recovered_value": k["recovered_value"],
            **{f"recovered_{m}_t": v["recovered_t"] for m, v in k["materials"].items()},
        })
    return pd.DataFrame(rows)
