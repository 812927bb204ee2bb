"""Objective modes: value (recovered value minus cost) and lexicographic (gap, cost, idle)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from siting.results.labels import gap, label_gap
from siting.verify.checks import verify_run
from support import DEMO, EXACT, profile_file, solve_verified, write_instance


def mode_scenario(tmp_path, mode: str, extra: str = ""):
    path = tmp_path / f"{mode}.toml"
    path.write_text(f'[scenario]\nname = "{mode}"\n[objective]\nmode = "{mode}"\n{extra}')
    return str(path)


def test_value_mode_collects_what_pays(tiny, tmp_path):
    folder = tiny(penalty=5, fixed=100)
    toml = (folder / "instance.toml").read_text().replace(
        "uncollected_penalty = 5", "uncollected_penalty = 5\nvalue = 20")
    (folder / "instance.toml").write_text(toml)
    cost = solve_verified(folder, tmp_path / "cost")
    value_mode = mode_scenario(tmp_path, "value")
    value = solve_verified(folder, tmp_path / "value", "--scenario", value_mode)
    assert cost["kpis"]["collection_rate"] == 0.0
    assert value["kpis"]["collection_rate"] == 1.0
    # two plants, each region 1 km away: 2*100 + 100 t * 11 - 100 t * 20 recovered
    assert value["objective"] == pytest.approx(200 + 1100 - 2000)
    assert value["kpis"]["recovered_value"] == pytest.approx(2000)


def test_lexicographic_closes_the_gap_first_then_costs_least(tmp_path):
    lex_mode = mode_scenario(tmp_path, "lexicographic")
    lex = solve_verified(DEMO, tmp_path / "lex", "--scenario", lex_mode)
    full = solve_verified(DEMO, tmp_path / "full", "--scenario", mode_scenario(
        tmp_path, "cost", '[[policy]]\ntype = "min_collection_rate"\nrate = 1.0\n'))
    assert lex["kpis"]["uncollected_t"] == pytest.approx(0, abs=1e-3)
    # cost is held within the stated tolerance (mip_rel_gap 1e-4) of the best full-collection cost
    assert lex["kpis"]["total_cost"] <= full["kpis"]["total_cost"] * (1 + 2e-4)
    idle = lambda k: k["capacity_t"] - k["throughput_t"]  # noqa: E731
    assert idle(lex["kpis"]) <= idle(full["kpis"]) + 1e-6


def test_lexicographic_later_stages_never_raise_the_held_cost(tmp_path):
    # cost ~1e7/yr: size B holds 100 t with 100 t idle less than A but costs 5/yr more, well
    # inside any relative tolerance (1e-6 x 1e7 = 10). The idle-capacity stage may not pay it.
    toml = """
[instance]
name = "idle"
[layers]
regions = "regions.csv"
sites = "sites.csv"
distances = "distances.csv"
[distance]
method = "matrix"
[streams.s]
transport_cost = 1.0
uncollected_penalty = 1e6
[tiers.plant]
sizes = [{ name = "A", capacity = 200, fixed_cost = 1000 },
         { name = "B", capacity = 100, fixed_cost = 1005 }]
"""
    folder = write_instance(tmp_path / "inst", toml, "id,name,lon,lat,supply\nr1,R1,0,0,100\n",
                            "id,name,tier,lon,lat\nf1,F1,plant,0,0\n",
                            distances__csv="origin,destination,km\nr1,f1,100000\n")
    cost = solve_verified(folder, tmp_path / "cost")
    lex = solve_verified(folder, tmp_path / "lex", "--scenario",
                         mode_scenario(tmp_path, "lexicographic"))
    assert cost["kpis"]["total_cost"] == 100 * 100_000 + 1000
    assert abs(lex["kpis"]["total_cost"] - cost["kpis"]["total_cost"]) <= 1e-6
    sizes = pd.read_csv(tmp_path / "lex" / "facilities.csv")["size"].tolist()
    assert sizes == ["A"]


def test_a_lexicographic_run_is_optimal_only_when_every_stage_is_proven(tmp_path):
    # At a 50% gap HiGHS stops the cost stage early; the idle-capacity stage after it is
    # proven, but the network is not the lexicographic optimum.
    lex_mode = mode_scenario(tmp_path, "lexicographic")
    loose = profile_file(tmp_path, "[solver]\nmip_rel_gap = 0.5\n")
    early = solve_verified(DEMO, tmp_path / "early", "--scenario", lex_mode, "--solver", loose)
    exact = solve_verified(DEMO, tmp_path / "exact", "--scenario", lex_mode, "--solver",
                           profile_file(tmp_path, EXACT))
    assert [s["name"] for s in early["stages"]] == ["gap", "cost", "idle capacity"]
    cost_stage = early["stages"][1]
    assert gap(cost_stage["objective"], cost_stage["best_bound"]) > 1e-4
    assert early["status"] == "feasible"
    assert early["status_text"].startswith(f"feasible, gap {label_gap(early):.3%}")
    assert exact["status"] == "optimal"
    assert early["kpis"]["total_cost"] > exact["kpis"]["total_cost"] * 1.001


def test_the_verifier_recomputes_every_stage_of_a_lexicographic_run(tmp_path):
    solved = tmp_path / "lex"
    solve_verified(DEMO, solved, "--scenario", mode_scenario(tmp_path, "lexicographic"))
    meta = json.loads((solved / "solution.json").read_text())

    def halved_idle(m: dict) -> str:
        half = m["objective"] / 2
        m.update(objective=half, best_bound=half, highs_bound=half, mip_gap=0.0)
        m["stages"][-1].update(objective=half, best_bound=half)
        return "differs from the recomputed idle capacity objective"

    def cheaper_cost_stage(m: dict) -> str:
        m["stages"][1].update(objective=m["kpis"]["total_cost"] * 0.9, best_bound=0.0)
        return "exceeds that stage's optimum"

    def no_stages(m: dict) -> str:
        del m["stages"]
        return "one entry per stage"

    for tamper in (halved_idle, cheaper_cost_stage, no_stages):
        changed = json.loads(json.dumps(meta))
        words = tamper(changed)
        (solved / "solution.json").write_text(json.dumps(changed))
        report = verify_run(solved)
        assert any(words in p for p in report.problems), (tamper.__name__, report.problems)
