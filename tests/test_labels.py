"""Honest results: what may be called optimal, pricing of pruned arcs, starts that fail."""

from __future__ import annotations

import json

from support import solve_verified, write_instance

LAGRANGIAN = "[solver]\ntime_limit = 60\nmip_rel_gap = 0\nlagrangian = true\n"

ONE_TIER = """
[instance]
name = "one-tier"
[layers]
regions = "regions.csv"
sites = "sites.csv"
distances = "distances.csv"
[distance]
method = "matrix"
missing = "no_arc"
[streams.s]
transport_cost = 1.0
[tiers.plant]
sizes = [{ name = "A", capacity = 100, fixed_cost = 10 }]
"""


def _no_infinity(text: str) -> dict:
    def refuse(constant: str):
        raise AssertionError(f"solution.json holds {constant}")

    return json.loads(text, parse_constant=refuse)


def test_a_lagrangian_with_no_feasible_network_leaves_no_start(tmp_path):
    # greedy routing sends a (100 t, the larger) to x, its cheapest site, and b (60 t, which
    # reaches only x) finds no room: every repair fails. HiGHS still splits a: 40 t to x.
    folder = write_instance(tmp_path / "inst", ONE_TIER,
                            "id,name,lon,lat,supply\na,A,0,0,100\nb,B,0,0,60\n",
                            "id,name,tier,lon,lat\nx,X,plant,0,0\ny,Y,plant,0,0\n",
                            distances__csv="origin,destination,km\na,x,1\na,y,5\nb,x,1\n")
    profile = tmp_path / "profile.toml"
    profile.write_text(LAGRANGIAN)
    solve_verified(folder, tmp_path / "run", "--solver", profile)
    meta = _no_infinity((tmp_path / "run" / "solution.json").read_text())
    assert meta["lagrangian"]["heuristic_cost"] is None
    assert "start" not in meta
    assert meta["objective"] == 10 + 10 + 40 * 1 + 60 * 5 + 60 * 1
    assert meta["status"] == "optimal"
