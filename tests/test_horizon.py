"""Planning horizon: periods, timed builds, discounting, per-period runs and their checks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest

from siting.engine.highs import SolverProfile, solve_model
from siting.engine.steps import prepare
from siting.instance.load import load_instance
from siting.model.horizon import build_horizon_model
from siting.scenario import Scenario
from siting.verify.checks import verify_run
from support import ROOT, cli, solve_verified, write_instance

YEARS = [2025, 2027, 2029, 2031]
# One region 5 km from a candidate plant (sizes S and L) and an existing plant of 15 t/yr.
# A collected tonne saves 100 of penalty and costs 5 + 10, so 85 net. S (2400 a year) pays
# from 2029 on (85 x 45 t > 2400, but 85 x 15 t < 2400 in 2027); L (7500 a year) pays only
# in 2031 (85 x 115 t), and less over the horizon than S from 2029.
HORIZON_TOML = """
[instance]
name = "horizon"
[layers]
regions = "regions.csv"
sites = "sites.csv"
supply = "supply.csv"
distances = "distances.csv"
[distance]
method = "matrix"
[periods]
years = [2025, 2027, 2029, 2031]
weights = [2, 2, 2, 3]
discount_rate = 0.05
[streams.s]
transport_cost = 1.0
uncollected_penalty = 100
[tiers.plant]
processing_cost = 10
sizes = [{ name = "S", capacity = 50, fixed_cost = 2400 },
         { name = "L", capacity = 120, fixed_cost = 7500 }]
"""
SITES = ("id,name,tier,lon,lat,existing_capacity,existing_fixed_cost\n"
         "f1,F1,plant,0,0,0,0\nold,Old,plant,0,0,15,300\n")
DISTANCES = "origin,destination,km\nr1,f1,5\nr1,old,5\n"


def horizon_instance(folder, tonnes=(10, 30, 60, 130), toml=HORIZON_TOML):
    supply = "region,stream,year,tonnes\n" + "".join(
        f"r1,s,{y},{t}\n" for y, t in zip(YEARS, tonnes, strict=True))
    return write_instance(folder, toml, "id,name,province,lon,lat\nr1,R1,P,0,0\n", SITES,
                          supply__csv=supply, distances__csv=DISTANCES)


def plan_cost(instance, plan: dict[int, int | None]) -> float:
    """Objective of the horizon LP with every build fixed by ``plan`` (option -> first period)."""
    nets = [prepare(instance, Scenario(), supply) for supply in instance.period_supply]
    m = build_horizon_model(nets, instance.spec.periods)
    for t, block in m.period.items():
        for j in block.OPTIONS:
            block.build[j].fix(int(plan.get(j) is not None and t >= plan[j]))
    return solve_model(m, SolverProfile()).objective


def test_build_is_timed_as_brute_force_over_build_periods(tmp_path):
    folder = horizon_instance(tmp_path / "inst")
    meta = solve_verified(folder, tmp_path / "run")
    instance = load_instance(folder)
    plans = [{}] + [{j: t} for j, t in itertools.product((0, 1), range(len(YEARS)))]
    costs = [plan_cost(instance, plan) for plan in plans]
    best = plans[min(range(len(plans)), key=costs.__getitem__)]
    assert best == {0: 2}  # size S from 2029: earlier idles, later pays the penalty
    assert meta["objective"] == pytest.approx(min(costs), rel=1e-6)
    assert meta["kpis"]["horizon"]["builds"] == [
        {"site": "f1", "tier": "plant", "size": "S", "added_t": 50.0, "year": 2029}]
    early, late = costs[plans.index({0: 1})], costs[plans.index({0: 3})]
    assert min(early, late) > min(costs)


def test_periods_files_capacity_follows_supply(tmp_path):
    result = cli("solve", horizon_instance(tmp_path / "inst"), "--out", tmp_path / "run")
    assert "horizon, discounted" in result.output
    assert "new sites: F1 (S, 2029)" in " ".join(result.output.split())
    meta = solve_verified(horizon_instance(tmp_path / "inst"), tmp_path / "run")
    timeline = (tmp_path / "run" / "periods.csv").read_text().splitlines()
    assert timeline[0].startswith("year,years,weight,supply_t")
    rows = [dict(zip(timeline[0].split(","), line.split(","), strict=True))
            for line in timeline[1:]]
    assert [float(r["capacity_t"]) for r in rows] == [15, 15, 65, 65]
    assert [float(r["capacity_added_t"]) for r in rows] == [0, 0, 50, 0]
    assert float(rows[0]["weight"]) == pytest.approx(1 + 1 / 1.05)
    assert float(rows[3]["weight"]) == pytest.approx(sum(1.05 ** -i for i in (6, 7, 8)))
    assert meta["periods"]["years"] == YEARS
    facilities = (tmp_path / "run" / "facilities.csv").read_text().splitlines()
    assert facilities[0].endswith(",build_year")
    assert facilities[1].endswith(",2029")  # f1; the existing plant has no build year
    assert facilities[2].endswith(",")
    page = (tmp_path / "run" / "timeline.html").read_text()
    assert "<svg" in page
    assert "+50</text>" in page  # the capacity added in 2029, under its year
    assert "<script" not in page
    assert "src=" not in page
    assert "new, size S, built 2029" in (tmp_path / "run" / "map.html").read_text()


def test_verifier_catches_a_wrong_build_year_and_objective(tmp_path):
    run = tmp_path / "run"
    solve_verified(horizon_instance(tmp_path / "inst"), run)
    path = run / "facilities.csv"
    path.write_text(path.read_text().replace(",2029\n", ",2027\n"))
    meta = json.loads((run / "solution.json").read_text())
    meta["objective"] *= 0.99
    (run / "solution.json").write_text(json.dumps(meta))
    problems = verify_run(run).problems
    assert any("build year" in p for p in problems)
    assert any("discounted sum" in p for p in problems)


def test_verifier_catches_a_size_switched_between_periods(tmp_path):
    run = tmp_path / "run"
    solve_verified(horizon_instance(tmp_path / "inst"), run)
    path = run / "periods" / "2031" / "facilities.csv"
    row = "f1,F1,plant,,0.0,0.0,false,true,true,S,"  # id ... existing, open, new, size
    assert row in path.read_text()
    path.write_text(path.read_text().replace(row, row.replace(",S,", ",L,")))
    problems = verify_run(run).problems
    assert any("open in 2029 but 'L' in 2031" in p for p in problems)
    assert any(p.startswith("period 2031: site 'f1'") for p in problems)


def test_policies_hold_in_every_period(tmp_path):
    scenario = tmp_path / "full.toml"
    scenario.write_text('[scenario]\nname = "full"\n[[policy]]\ntype = "min_collection_rate"\n'
                        "rate = 1.0\n")
    solve_verified(horizon_instance(tmp_path / "inst"), tmp_path / "run", "--scenario", scenario)
    for year in YEARS:
        period = json.loads((tmp_path / "run" / "periods" / str(year) / "solution.json")
                            .read_text())
        assert period["kpis"]["uncollected_t"] == pytest.approx(0, abs=1e-6)
    # 10 t in 2025 still fits the existing plant; 30 t in 2027 needs S two periods earlier
    meta = json.loads((tmp_path / "run" / "solution.json").read_text())
    assert meta["kpis"]["horizon"]["builds"][0]["year"] == 2027


def test_infeasible_horizon_names_the_policy_the_period_and_the_shortfall(tmp_path):
    # 200 t in 2031 against at most 135 t/yr of capacity (L 120 + the existing 15)
    scenario = tmp_path / "full.toml"
    scenario.write_text('[scenario]\nname = "full"\n[[policy]]\ntype = "min_collection_rate"\n'
                        "rate = 1.0\n")
    folder = horizon_instance(tmp_path / "inst", tonnes=(10, 30, 60, 200))
    result = cli("solve", folder, "--scenario", scenario, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "min_collection_rate for all cannot hold: short by 65 t in 2031" in result.output
    assert "in 2029" not in result.output
    assert not (tmp_path / "run").exists()


def test_marginal_cost_of_a_mandate_is_the_loss_per_tonne_in_each_period(tmp_path):
    # With a penalty of 10, a collected tonne (5 + 10) loses 5 a year; a 50 % mandate binds in
    # every period, so one more tonne of allowed gap saves 5 x the period's discounted years
    # (the row's dual is negative; the entry gives the cost of tightening, never negative).
    scenario = tmp_path / "half.toml"
    scenario.write_text('[scenario]\nname = "half"\n[[policy]]\ntype = "min_collection_rate"\n'
                        "rate = 0.5\n")
    toml = HORIZON_TOML.replace("uncollected_penalty = 100", "uncollected_penalty = 10")
    run = tmp_path / "run"
    solve_verified(horizon_instance(tmp_path / "inst", toml=toml), run, "--scenario", scenario)
    meta = json.loads((run / "solution.json").read_text())
    weights = meta["periods"]["discount_weights"]
    found = {entry["year"]: entry["value"] for entry in meta["marginal_costs"]}
    assert found == pytest.approx({year: 5 * w for year, w in zip(YEARS, weights, strict=True)})
    first = meta["marginal_costs"][0]
    assert first["meaning"] == (f"collecting one more tonne ({first['year']}) costs "
                                f"{5 * weights[0]:.3g} CNY")


def test_growth_factors_scale_one_supply_table(tmp_path):
    toml = HORIZON_TOML.replace("discount_rate = 0.05", "discount_rate = 0.05\n"
                                "growth = [1, 3, 6, 13]")
    folder = write_instance(tmp_path / "inst", toml, "id,name,province,lon,lat\nr1,R1,P,0,0\n",
                            SITES, supply__csv="region,stream,tonnes\nr1,s,10\n",
                            distances__csv=DISTANCES)
    meta = solve_verified(folder, tmp_path / "run")
    reference = solve_verified(horizon_instance(tmp_path / "ref"), tmp_path / "ref-run")
    assert meta["objective"] == pytest.approx(reference["objective"], rel=1e-9)


@pytest.mark.parametrize(("change", "expected"), [
    (("weights = [2, 2, 2, 3]", "weights = [2, 2, 3]"), "weights has 3 values for 4 years"),
    (("weights = [2, 2, 2, 3]", "weights = [3, 2, 2, 3]"), "past the next period 2027"),
    (("weights = [2, 2, 2, 3]", "weights = [2, 2, 2, 3]\ngrowth = [1, 2, 3, 4]"),
     "supply.csv: column 'year': give supply per year or periods.growth, not both"),
    (("years = [2025, 2027, 2029, 2031]", "years = [2025, 2027, 2029, 2033]"),
     "supply.csv: row 4, column 'year': unknown year '2031'"),
    (("years = [2025, 2027, 2029, 2031]\nweights = [2, 2, 2, 3]",
      "years = [2023, 2025, 2027, 2029, 2031]\nweights = [2, 2, 2, 2, 3]"),
     "supply.csv: column 'year': no rows for periods [2023]"),
])
def test_bad_periods_are_one_line_exit_2(tmp_path, change, expected):
    folder = horizon_instance(tmp_path / "inst", toml=HORIZON_TOML.replace(*change))
    result = cli("solve", folder, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_horizon_wide_policy_is_refused(tmp_path):
    scenario = tmp_path / "budget.toml"
    scenario.write_text('[scenario]\nname = "budget"\n[[policy]]\ntype = "capex_budget"\n'
                        "amount = 1000\n")
    result = cli("solve", horizon_instance(tmp_path / "inst"), "--scenario", scenario,
                 "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "policy[1].type: capex_budget is not supported with [periods]" in result.output
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("closure_cost", "closed"), [(1000, [{"site": "old", "year": 2025}]),
                                                      (1e6, [])])
def test_existing_facility_closes_when_its_savings_pay_for_closing(tmp_path, closure_cost, closed):
    # the existing plant costs 2000 a year and saves at most 85 x 15 = 1275 of penalty
    folder = horizon_instance(tmp_path / "inst")
    (folder / "sites.csv").write_text(
        "id,name,tier,lon,lat,existing_capacity,existing_fixed_cost,closure_cost\n"
        f"f1,F1,plant,0,0,0,0,\nold,Old,plant,0,0,15,2000,{closure_cost}\n")
    meta = solve_verified(folder, tmp_path / "run")
    assert meta["kpis"]["horizon"]["closures"] == closed
    assert meta["kpis"]["horizon"]["closure_cost"] == pytest.approx(closure_cost if closed else 0)


@pytest.mark.parametrize(("toml", "sites", "expected"), [
    (HORIZON_TOML, "f1,F1,plant,0,0,0,0,5\nold,Old,plant,0,0,15,300,\n",
     "sites.csv: row 1, column 'closure_cost': only an existing facility"),
    (HORIZON_TOML.split("[periods]")[0] + "[streams" + HORIZON_TOML.split("[streams", 1)[1],
     "f1,F1,plant,0,0,0,0,\nold,Old,plant,0,0,15,300,5\n",
     "sites.csv: column 'closure_cost': closing a facility needs [periods]"),
])
def test_closure_cost_only_on_existing_facilities_with_periods(tmp_path, toml, sites, expected):
    folder = horizon_instance(tmp_path / "inst", toml=toml)
    (folder / "sites.csv").write_text(
        "id,name,tier,lon,lat,existing_capacity,existing_fixed_cost,closure_cost\n" + sites)
    result = cli("solve", folder, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_modules_are_added_when_supply_needs_them_as_brute_force(tmp_path):
    toml = (HORIZON_TOML.split("sizes = [")[0] + 'sizes = [{ name = "S", capacity = 50, '
            'fixed_cost = 2400 }]\nexpansion = "modules"\nmax_modules = 3\n')
    folder = horizon_instance(tmp_path / "inst", toml=toml)
    meta = solve_verified(folder, tmp_path / "run")
    # 2029: 45 t beyond the existing plant pay for one module; 2031: 115 t pay for a second
    # (85 x 50 > 2400) but not a third (85 x 15 < 2400)
    assert [(e["size"], e["year"]) for e in meta["kpis"]["horizon"]["builds"]] == [
        ("S", 2029), ("S+S", 2031)]
    instance = load_instance(folder)
    nets = [prepare(instance, Scenario(), supply) for supply in instance.period_supply]
    costs = []
    for units in itertools.combinations_with_replacement(range(4), len(YEARS)):
        m = build_horizon_model(nets, instance.spec.periods)
        for t, block in m.period.items():
            block.build[0].fix(units[t])
        costs.append(solve_model(m, SolverProfile()).objective)
    assert meta["objective"] == pytest.approx(min(costs), rel=1e-6)


def test_modules_need_periods(tmp_path):
    toml = (HORIZON_TOML.split("[periods]")[0] + "[streams" + HORIZON_TOML.split("[streams", 1)[1]
            + 'expansion = "modules"\n')
    result = cli("solve", horizon_instance(tmp_path / "inst", toml=toml), "--out", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert "tiers.plant.expansion = 'modules' needs [periods]" in result.output


def test_shipped_horizon_instance_loads_six_periods():
    instance = load_instance(ROOT / "instances" / "china-2025-2035")
    assert instance.spec.periods.years == [2025, 2027, 2029, 2031, 2033, 2035]
    totals = [float(s.to_numpy().sum()) for s in instance.period_supply]
    assert totals == sorted(totals)  # supply grows period on period
    assert totals[0] == pytest.approx(754_745)


@pytest.mark.slow
def test_shipped_horizon_instance_solves_and_verifies(tmp_path):
    meta = solve_verified(ROOT / "instances" / "china-2025-2035", tmp_path / "run")
    assert meta["status"] == "optimal"
    assert (tmp_path / "run" / "timeline.html").is_file()


def test_materials_recovered_per_period_and_priced_in_the_value_objective(tmp_path):
    toml = HORIZON_TOML.replace("uncollected_penalty = 100\n", (
        "uncollected_penalty = 100\ncontents = { li = 0.02, co = 0.01 }\n"
        "[materials.li]\nprice = 1000\n[materials.co]\nprice = 5000\n")).replace(
        "processing_cost = 10\n", "processing_cost = 10\nrecovery = 0.9\n")
    scenario = tmp_path / "value.toml"
    scenario.write_text('[scenario]\nname = "value"\n[objective]\nmode = "value"\n')
    run = tmp_path / "run"
    meta = solve_verified(horizon_instance(tmp_path / "inst", toml=toml), run,
                          "--scenario", scenario)
    for year in YEARS:
        kpis = json.loads((run / "periods" / str(year) / "solution.json").read_text())["kpis"]
        processed = kpis["throughput_t"]
        assert kpis["materials"]["li"]["recovered_t"] == pytest.approx(processed * 0.9 * 0.02)
        assert kpis["materials"]["co"]["value"] == pytest.approx(processed * 0.9 * 0.01 * 5000)
        assert kpis["recovered_value"] == pytest.approx(processed * 0.9 * (20 + 50))
    assert "recovered_li_t" in (run / "periods.csv").read_text().splitlines()[0]
    # a collected tonne is worth 63 more in the value mode (85 + 0.9 x 70 = 148): L from
    # 2031 (115 t x 148 - 7500 a year) now beats S from 2029, as in the cost mode it did not
    assert [(e["size"], e["year"]) for e in meta["kpis"]["horizon"]["builds"]] == [("L", 2031)]


@pytest.mark.parametrize(("change", "expected"), [
    (("transport_cost = 1.0\n", "transport_cost = 1.0\ncontents = { ni = 0.1 }\n"),
     "streams.s.contents: unknown materials ['ni']"),
    (("transport_cost = 1.0\n", "transport_cost = 1.0\ncontents = { ni = 0.1 }\nvalue = 5\n"),
     "give value or contents, not both"),
])
def test_bad_materials_are_one_line_exit_2(tmp_path, change, expected):
    toml = HORIZON_TOML.replace(*change) + "[materials.li]\nprice = 1\n"
    result = cli("solve", horizon_instance(tmp_path / "inst", toml=toml), "--out", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert expected in result.output


PROCESSES = """
[materials.li]
price = 1000
[materials.co]
price = 5000
[tiers.plant.processes.hydro]
processing_cost = 30
recovery = { li = 0.9, co = 0.95 }
cost_factor = 1.2
[tiers.plant.processes.pyro]
processing_cost = 10
recovery = { co = 0.9 }
"""


def process_instance(folder, allowed: str):
    toml = HORIZON_TOML.replace("uncollected_penalty = 100\n", "uncollected_penalty = 100\n"
                                "contents = { li = 0.02, co = 0.01 }\n") + PROCESSES
    folder = horizon_instance(folder, toml=toml)
    (folder / "sites.csv").write_text(
        "id,name,tier,lon,lat,existing_capacity,existing_fixed_cost,process\n"
        f"f1,F1,plant,0,0,0,0,{allowed}\nold,Old,plant,0,0,15,300,pyro\n")
    return folder


def test_process_choice_matches_solving_each_process_alone(tmp_path):
    scenario = tmp_path / "value.toml"
    scenario.write_text('[scenario]\nname = "value"\n[objective]\nmode = "value"\n')
    runs = {allowed: solve_verified(process_instance(tmp_path / f"i-{allowed}", allowed),
                                    tmp_path / f"r-{allowed}", "--scenario", scenario)
            for allowed in ("", "hydro", "pyro")}
    best = min(("hydro", "pyro"), key=lambda p: runs[p]["objective"])
    assert runs[""]["objective"] == pytest.approx(runs[best]["objective"], rel=1e-6)
    facilities = (tmp_path / "r-" / "facilities.csv").read_text()
    assert "f1/hydro" in facilities
    assert "f1/pyro" in facilities
    built = {e["site"] for e in runs[""]["kpis"]["horizon"]["builds"]}
    assert built == {f"f1/{best}"}
    # pyro recovers no lithium: the existing pyro plant's lithium is zero in 2025
    first = json.loads((tmp_path / "r-" / "periods" / "2025" / "solution.json").read_text())
    assert first["kpis"]["materials"]["li"]["recovered_t"] == pytest.approx(0)
    assert first["kpis"]["materials"]["co"]["recovered_t"] == pytest.approx(10 * 0.01 * 0.9)


GRADING_TOML = """
[instance]
name = "grading"
[layers]
regions = "regions.csv"
sites = "sites.csv"
distances = "distances.csv"
[distance]
method = "matrix"
[streams.a]
transport_cost = 1.0
uncollected_penalty = 1000
[streams.b]
transport_cost = 1.0
uncollected_penalty = 1000
[tiers.collection]
sizes = [{ name = "C", capacity = 500, fixed_cost = 10 }]
[tiers.second_life]
processing_cost = 5
branch = { source = "collection", share = { a = 0.3, b = 0.0 }, scope = "SCOPE" }
sizes = [{ name = "X", capacity = 500, fixed_cost = 10 }]
[tiers.plant]
processing_cost = 20
sizes = [{ name = "P", capacity = 500, fixed_cost = 10 }]
"""


@pytest.mark.parametrize("scope", ["each", "all"])
def test_graded_share_goes_to_second_life(tmp_path, scope):
    regions = "id,name,lon,lat,supply_a,supply_b\nr1,R1,0,0,100,50\nr2,R2,0,0,40,0\n"
    sites = ("id,name,tier,lon,lat\nc1,C1,collection,0,0\nc2,C2,collection,0,0\n"
             "s1,S1,second_life,0,0\np1,P1,plant,0,0\n")
    distances = ("origin,destination,km\nr1,c1,1\nr1,c2,9\nr2,c1,9\nr2,c2,1\n"
                 "c1,s1,1\nc2,s1,1\nc1,p1,1\nc2,p1,1\n")
    folder = write_instance(tmp_path / "inst", GRADING_TOML.replace("SCOPE", scope), regions,
                            sites, distances__csv=distances)
    run = tmp_path / "run"
    solve_verified(folder, run)
    flows = pd.read_csv(run / "flows.csv")
    graded = flows[flows["destination"] == "s1"].groupby("stream")["tonnes"].sum()
    assert graded.to_dict() == pytest.approx({"a": 0.3 * (100 + 40)})  # none of b
    flows.loc[flows["destination"] == "s1", "tonnes"] *= 0.9
    flows.to_csv(run / "flows.csv", index=False)
    problems = verify_run(run).problems
    assert any("branch second_life, a" in p for p in problems)


def test_branch_from_the_last_tier_is_refused(tmp_path):
    toml = GRADING_TOML.replace("SCOPE", "each").replace('source = "collection"',
                                                         'source = "plant"')
    folder = write_instance(tmp_path / "inst", toml, "id,name,lon,lat,supply_a\nr1,R1,0,0,1\n",
                            "id,name,tier,lon,lat\n", distances__csv="origin,destination,km\n")
    result = cli("validate", folder)
    assert result.exit_code == 2, result.output
    assert "branch.source: expected one of ['collection']" in result.output


@pytest.mark.parametrize(("second_life", "group", "limit", "collected"), [
    (50, "", "", 80),  # collection C holds 80 t; 30% of it (24 t) graded to X
    (50, "hub", "", 80),  # one site: each role keeps its own capacity
    (50, "hub", 91, 70),  # and the site's limit binds: 70 t collected + 21 t graded = 91 t
    (6, "hub", "", 20),  # X rated 6 t takes 30% of 20 t; pooled (130 t), it would take 30 t
])
def test_roles_at_one_site_keep_their_capacity_and_share_the_site_limit(
        tmp_path, second_life, group, limit, collected):
    toml = (GRADING_TOML.replace("SCOPE", "each").replace("capacity = 500, fixed_cost = 10 }]\n"
                                                          "[tiers.second_life]",
                                                          "capacity = 80, fixed_cost = 10 }]\n"
                                                          "[tiers.second_life]")
            .replace('{ name = "X", capacity = 500', f'{{ name = "X", capacity = {second_life}'))
    sites = ("id,name,tier,lon,lat,capacity_group,group_capacity\n"
             f"c1,C1,collection,0,0,{group},{limit}\ns1,S1,second_life,0,0,{group},\n"
             "p1,P1,plant,0,0,,\n")
    folder = write_instance(tmp_path / "inst", toml, "id,name,lon,lat,supply_a\nr1,R1,0,0,100\n",
                            sites, distances__csv="origin,destination,km\nr1,c1,1\nc1,s1,1\n"
                            "c1,p1,1\n")
    meta = solve_verified(folder, tmp_path / "run")
    assert meta["kpis"]["collected_t"] == pytest.approx(collected)
    facilities = pd.read_csv(tmp_path / "run" / "facilities.csv").set_index("id")
    assert facilities.loc["s1", "throughput"] == pytest.approx(0.3 * collected)
    assert facilities.loc["s1", "throughput"] <= second_life + 1e-6


def test_verifier_catches_a_role_or_a_site_over_its_capacity(tmp_path):
    test_roles_at_one_site_keep_their_capacity_and_share_the_site_limit(
        tmp_path, 50, "hub", 91, 70)
    flows = pd.read_csv(tmp_path / "run" / "flows.csv")
    flows["tonnes"] *= 1.2
    flows.to_csv(tmp_path / "run" / "flows.csv", index=False)
    problems = verify_run(tmp_path / "run").problems
    assert "capacity group 'hub': 109.2 t exceeds its group_capacity 91" in problems
    assert "site 'c1': 84 t exceeds capacity 80" in problems


FIRM_TOML = """
[instance]
name = "firm"
[layers]
regions = "regions.csv"
sites = "sites.csv"
distances = "distances.csv"
[distance]
method = "matrix"
[streams.a]
transport_cost = 1.0
[tiers.collection]
sizes = [{ name = "C", capacity = 500, fixed_cost = 10 }]
[tiers.recycling]
sizes = [{ name = "R", capacity = 500, fixed_cost = 100 }]
"""


def _firm(tmp_path: Path, fixed: float) -> Path:
    # one firm holds a collection role (c1) and a recycling role (r1) in one capacity group;
    # r1 is 1 km away, the other recycler r2 50 km: 100 t cost 5,000 more to send there
    sites = ("id,name,tier,lon,lat,capacity_group,fixed_cost_factor\n"
             f"c1,C1,collection,0,0,firm,1\nr1,R1,recycling,0,0,firm,{fixed / 100}\n"
             "r2,R2,recycling,0,0,,1\n")
    return write_instance(tmp_path / "inst", FIRM_TOML,
                          "id,name,lon,lat,supply_a\nreg,Reg,0,0,100\n", sites,
                          distances__csv="origin,destination,km\nreg,c1,1\nc1,r1,1\n"
                          "c1,r2,50\n")


@pytest.mark.parametrize(("fixed", "opened"), [(10_000, "r2"), (1_000, "r1")])
def test_a_closed_member_of_a_capacity_group_takes_no_flow(tmp_path, fixed, opened):
    # the pattern: r1 closed (too dear to open) while c1 of its group is open; the
    # pooled row alone let r1 receive the flow free. r1 opens only when worth its fixed cost
    meta = solve_verified(_firm(tmp_path, fixed), tmp_path / "run")
    flows = pd.read_csv(tmp_path / "run" / "flows.csv")
    assert flows.loc[flows["origin"] == "c1", "destination"].tolist() == [opened]
    # 10 (c1) + 100 t x 1 km + 100 t x (50 or 1) km + the recycler's fixed cost
    assert meta["objective"] == pytest.approx(10 + 100 + (5_000 + 100 if opened == "r2"
                                                          else 100 + fixed))


def test_verifier_catches_flow_into_a_closed_group_member(tmp_path):
    test_a_closed_member_of_a_capacity_group_takes_no_flow(tmp_path, 10_000, "r2")
    flows = pd.read_csv(tmp_path / "run" / "flows.csv")
    flows.loc[flows["destination"] == "r2", ["destination", "km"]] = ["r1", 1.0]
    flows.to_csv(tmp_path / "run" / "flows.csv", index=False)
    problems = verify_run(tmp_path / "run").problems
    assert "site 'r1': closed, but receives 100 t" in problems
