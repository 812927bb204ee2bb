"""Infeasibility diagnosis names the policy and the shortfall; marginal costs are LP duals."""

from __future__ import annotations

import pytest

from support import DEMO, cli, solve_verified


def scenario(tmp_path, body: str):
    path = tmp_path / "s.toml"
    path.write_text('[scenario]\nname = "s"\n' + body)
    return path


def test_infeasible_scenario_names_the_policy_and_shortfall(tmp_path):
    path = scenario(tmp_path, '[[policy]]\ntype = "min_collection_rate"\nrate = 0.8\n'
                              '[[policy]]\ntype = "carbon_cap"\ntonnes_co2 = 9000\n')
    result = cli("solve", DEMO, "--scenario", path, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "carbon_cap cannot hold: short by" in result.output
    assert "t CO2" in result.output
    assert not (tmp_path / "run").exists()


def test_scoped_policy_names_the_province(tmp_path):
    path = scenario(tmp_path,
                    '[[policy]]\ntype = "min_collection_rate"\nrate = 1.0\nscope = "each"\n'
                    '[[policy]]\ntype = "max_distance"\nkm = 40\n')
    result = cli("solve", DEMO, "--scenario", path, "--out", tmp_path / "run")
    assert result.exit_code == 4, result.output
    assert "min_collection_rate for North cannot hold: short by" in result.output


def test_marginal_cost_of_the_collection_mandate_is_the_hand_computed_price(tiny, tmp_path):
    # Both plants forced open; collecting costs 1 km + 10 processing = 11 per tonne against a
    # penalty of 5, so each tonne the mandate adds costs 6 (the row's dual is -6 per tonne of
    # allowed gap; the entry gives the cost of tightening, never negative).
    path = scenario(tmp_path, '[[policy]]\ntype = "force_open"\nsites = ["f1", "f2"]\n'
                              '[[policy]]\ntype = "min_collection_rate"\nrate = 0.5\n')
    meta = solve_verified(tiny(penalty=5, fixed=1), tmp_path / "run", "--scenario", str(path))
    assert meta["kpis"]["collection_rate"] == pytest.approx(0.5)
    mandate = [m for m in meta["marginal_costs"] if m["policy"] == "min_collection_rate"]
    assert mandate[0]["value"] == pytest.approx(6.0)
    assert mandate[0]["unit"] == "per t"
    assert mandate[0]["meaning"] == "collecting one more tonne costs 6 CNY/yr"


def test_a_marginal_cost_of_one_site_names_the_site(tiny, tmp_path):
    # Both plants forced open and held to 30 % use: each tonne through a plant costs 11 and
    # saves a penalty of 5, so each row's last tonne costs 6; entries name F1 and F2.
    path = scenario(tmp_path, '[[policy]]\ntype = "force_open"\nsites = ["f1", "f2"]\n'
                              '[[policy]]\ntype = "min_utilisation"\nshare = 0.3\n'
                              'tier = "plant"\n')
    meta = solve_verified(tiny(penalty=5, fixed=1), tmp_path / "run", "--scenario", str(path))
    entries = {e["group"]: e for e in meta["marginal_costs"] if e["policy"] == "min_utilisation"}
    assert {site: e["value"] for site, e in entries.items()} == pytest.approx({"f1": 6, "f2": 6})
    assert entries["f1"]["meaning"] == "one more tonne through the facility (F1) costs 6 CNY/yr"
