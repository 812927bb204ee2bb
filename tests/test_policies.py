"""Every registered policy binds on the demo, moves the answer as expected, and verifies."""

from __future__ import annotations

import pandas as pd
import pytest

from siting.engine.pipeline import solve
from siting.model.policies import REGISTRY
from siting.results.runfiles import write_run
from siting.scenario import Scenario, parse_policy
from siting.verify.checks import verify_run
from support import DEMO, cli


def run(tmp_path, name: str, *policies: dict) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Solve the demo under the policies, write and verify the run; return KPIs and tables."""
    parsed = tuple(parse_policy(p, tmp_path / f"{name}.toml", i) for i, p in enumerate(policies))
    solution = solve(DEMO, Scenario(name=name, policies=parsed))
    out = write_run(solution, tmp_path / name)
    report = verify_run(out)
    assert report.ok, report.problems
    return solution.kpis, solution.facilities, solution.flows


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return run(tmp_path_factory.mktemp("base"), "baseline")


def crossing_tonnes(flows: pd.DataFrame, facilities: pd.DataFrame) -> float:
    regions = pd.read_json(DEMO / "regions.geojson")["features"].map(
        lambda f: (f["properties"]["id"], f["properties"]["province"]))
    prov = dict(regions.tolist()) | dict(zip(facilities["id"], facilities["province"], strict=True))
    return float(flows["tonnes"][flows["origin"].map(prov) != flows["destination"].map(prov)].sum())


def test_min_collection_rate(tmp_path, base):
    k, _, _ = run(tmp_path, "m", {"type": "min_collection_rate", "rate": 0.9})
    assert base[0]["collection_rate"] < 0.9 <= k["collection_rate"] + 1e-9
    assert k["total_cost"] > base[0]["total_cost"]


def test_min_collection_rate_each_province(tmp_path):
    k, _, _ = run(tmp_path, "m", {"type": "min_collection_rate", "rate": 0.8, "scope": "each"})
    assert all(v["collection_rate"] >= 0.8 - 1e-9 for v in k["by_province"].values())


def test_max_distance(tmp_path, base):
    k, _, flows = run(tmp_path, "d", {"type": "max_distance", "km": 45})
    assert base[2]["km"].max() > 45 >= flows["km"].max()
    assert k["total_cost"] >= base[0]["total_cost"]


def test_in_province_share(tmp_path, base):
    assert crossing_tonnes(base[2], base[1]) > 0
    k, fac, flows = run(tmp_path, "p", {"type": "in_province_share", "share": 1.0})
    assert crossing_tonnes(flows, fac) == pytest.approx(0, abs=1e-6)
    assert k["total_cost"] > base[0]["total_cost"]


def test_cross_border_surcharge(tmp_path, base):
    k, fac, flows = run(tmp_path, "s", {"type": "cross_border_surcharge", "per_tonne": 300})
    assert crossing_tonnes(flows, fac) < crossing_tonnes(base[2], base[1])
    assert k["cost"]["policies"] == pytest.approx(300 * crossing_tonnes(flows, fac))


def test_facility_count(tmp_path, base):
    assert base[0]["facilities_open"]["collection"] > 1
    k, _, _ = run(tmp_path, "c", {"type": "facility_count", "max": 1, "tier": "collection"})
    assert k["facilities_open"]["collection"] == 1


def test_capex_budget(tmp_path, base):
    budget = base[0]["capex_total"] / 2
    k, _, _ = run(tmp_path, "b", {"type": "capex_budget", "amount": budget})
    assert k["capex_total"] <= budget
    assert k["total_cost"] > base[0]["total_cost"]


def test_min_utilisation(tmp_path, base):
    k, fac, _ = run(tmp_path, "u", {"type": "min_utilisation", "share": 0.99, "tier": "plant"})
    plants = fac[(fac["tier"] == "plant") & fac["open"]]
    assert (plants["utilisation"] >= 0.99 - 1e-9).all()


def test_whitelist_only(tmp_path, base):
    assert base[0]["facilities_new"]["plant"] >= 1
    k, _, _ = run(tmp_path, "w", {"type": "whitelist_only", "tier": "plant"})
    assert k["facilities_new"]["plant"] == 0
    assert k["collection_rate"] < base[0]["collection_rate"]


def test_force_open(tmp_path, base):
    closed = base[1][~base[1]["open"] & (base[1]["tier"] == "plant")]["id"].iloc[0]
    k, fac, _ = run(tmp_path, "f", {"type": "force_open", "sites": [closed]})
    assert fac.set_index("id").at[closed, "open"]
    assert k["total_cost"] >= base[0]["total_cost"]


def test_forbid(tmp_path, base):
    chosen = base[1][base[1]["open"] & ~base[1]["existing"]]["id"].iloc[0]
    k, fac, _ = run(tmp_path, "x", {"type": "forbid", "sites": [chosen]})
    assert not fac.set_index("id").at[chosen, "open"]
    assert k["total_cost"] >= base[0]["total_cost"]


def test_carbon_price(tmp_path, base):
    k, _, _ = run(tmp_path, "cp", {"type": "carbon_price", "per_tonne_co2": 3000})
    assert k["co2_t"] < base[0]["co2_t"]
    assert k["cost"]["policies"] == pytest.approx(3000 * k["co2_t"], rel=1e-6)


def test_carbon_cap(tmp_path, base):
    cap = 0.8 * base[0]["co2_t"]
    k, _, _ = run(tmp_path, "cc", {"type": "carbon_cap", "tonnes_co2": cap})
    assert k["co2_t"] <= cap * (1 + 1e-9)


def test_coverage(tmp_path, base):
    k, fac, _ = run(tmp_path, "cv", {"type": "coverage", "km": 80})
    assert k["facilities_open"]["collection"] >= base[0]["facilities_open"]["collection"]


def test_min_recovery(tmp_path, base):
    k, _, flows = run(tmp_path, "r", {"type": "min_recovery", "stream": "lfp", "rate": 0.85})
    assert not ((flows["destination"] == "P-C3") & (flows["stream"] == "lfp")).any()


def test_supply_scale(tmp_path, base):
    k, _, _ = run(tmp_path, "g", {"type": "supply_scale", "factor": 1.5, "stream": "ncm"})
    assert k["by_stream"]["ncm"]["supply_t"] == pytest.approx(
        1.5 * base[0]["by_stream"]["ncm"]["supply_t"])


def test_every_registered_policy_has_a_test():
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    assert set(REGISTRY) <= tested


@pytest.mark.parametrize(("policy", "field"), [
    ('type = "min_collection_rat"\nrate = 0.9', "policy[1].type"),
    ('type = "min_collection_rate"\nrate = 1.5', "policy[1].rate"),
    ('type = "min_collection_rate"\nrat = 0.9', "policy[1].rat"),
    ('type = "facility_count"\nmin = 3\nmax = 1', "policy[1]"),
    ('type = "forbid"\nsites = ["nowhere"]', "policy[1].sites"),
    ('type = "max_distance"\nkm = 100\ntier = "depot"', "policy[1].tier"),
])
def test_bad_policy_parameters_name_the_file_and_field(tmp_path, policy, field):
    path = tmp_path / "bad.toml"
    path.write_text(f'[scenario]\nname = "bad"\n\n[[policy]]\n{policy}\n')
    result = cli("solve", DEMO, "--scenario", path, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert f"bad.toml: {field}" in result.output
    assert not (tmp_path / "run").exists()


def test_policies_command_lists_every_policy():
    result = cli("policies")
    assert result.exit_code == 0, result.output
    for name in REGISTRY:
        assert name in result.output


def test_scenario_extends_inherits_policies_and_objective(tmp_path):
    (tmp_path / "parent.toml").write_text(
        '[scenario]\nname = "parent"\n[objective]\nmode = "cost"\n'
        '[[policy]]\ntype = "min_collection_rate"\nrate = 0.9\n')
    (tmp_path / "child.toml").write_text(
        '[scenario]\nname = "child"\nextends = "parent.toml"\n'
        '[[policy]]\ntype = "whitelist_only"\ntier = "plant"\n')
    from siting.scenario import load_scenario

    child = load_scenario(tmp_path / "child.toml")
    assert [p.type for p in child.policies] == ["min_collection_rate", "whitelist_only"]
    assert child.name == "child"
    (tmp_path / "parent.toml").write_text('[scenario]\nextends = "child.toml"\n')
    result = cli("solve", DEMO, "--scenario", tmp_path / "child.toml", "--out", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert "circular extends" in result.output


def test_cost_scale(tmp_path, base):
    k, _, _ = run(tmp_path, "cs", {"type": "cost_scale", "transport": 2.0, "fixed": 1.5})
    assert k["cost"]["policies"] == pytest.approx(
        k["cost"]["transport"] + 0.5 * (k["cost"]["fixed"] + k["cost"]["capex"]), rel=1e-6)
    assert k["tonne_km"] <= base[0]["tonne_km"] * 1.001  # dearer transport, shorter hauls


def test_fixed_network(tmp_path, base):
    built = base[1][base[1]["size"].astype(str) != ""]
    builds = dict(zip(built["id"], built["size"], strict=True))
    k, fac, _ = run(tmp_path, "fn", {"type": "fixed_network", "builds": builds})
    assert k["total_cost"] == pytest.approx(base[0]["total_cost"], rel=1e-4)
    fewer = dict(list(builds.items())[1:])
    k, fac, _ = run(tmp_path, "fn2", {"type": "fixed_network", "builds": fewer})
    opened = fac[fac["size"].astype(str) != ""]
    assert dict(zip(opened["id"], opened["size"], strict=True)) == fewer
    assert k["total_cost"] >= base[0]["total_cost"] * (1 - 1e-4)
