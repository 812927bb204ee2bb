"""Run folders: they move with their instance, and their tables carry no solver noise."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from siting.verify.checks import verify_run
from support import DEMO, TINY_TOML, cli, solve_verified, write_instance

NOISE = re.compile(r"\d\.\d{7,}")  # more decimals than the solver's tolerance of 1e-6


def test_run_folder_moved_with_its_instance_still_verifies(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(DEMO, project / "instances" / "demo")
    out = project / "runs" / "demo"
    result = cli("solve", project / "instances" / "demo", "--out", out)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "solution.json").read_text())["instance"]["path"] == \
        "../../instances/demo"
    moved = tmp_path / "elsewhere" / "project"
    shutil.move(project, moved)
    assert verify_run(moved / "runs" / "demo").ok
    assert cli("verify", moved / "runs" / "demo").exit_code == 0


def test_tables_are_rounded_at_the_tolerance_and_verify(tmp_path):
    result = cli("solve", DEMO, "--scenario", "mandate-95", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    for name in ("facilities", "flows", "regions"):
        text = (tmp_path / "run" / f"{name}.csv").read_text()
        assert not NOISE.search(text), (name, NOISE.search(text))
    assert verify_run(tmp_path / "run").ok


def test_a_short_arc_with_many_tonnes_verifies_despite_its_rounded_km(tmp_path):
    # 0.37721044569 km is written 0.37721: priced on it, 2,477.6 t would cost 1.2e-6 less
    # than the run's figure (found at 10000 x 500, where a region lies 290 m from a site).
    toml = TINY_TOML.format(penalty=1000, capacity=5000, fixed=500).replace(
        "[layers]\n", "[layers]\ndistances = \"distances.csv\"\n")
    folder = write_instance(tmp_path / "short", toml, "id,name,lon,lat,supply\n"
                            "r1,R1,100,30,2477.6\n", "id,name,tier,lon,lat\n"
                            "f1,F1,plant,100,30\n",
                            distances__csv="origin,destination,km\nr1,f1,0.37721044569\n")
    meta = solve_verified(folder, tmp_path / "run")
    assert meta["kpis"]["tonne_km"] == pytest.approx(2477.6 * 0.37721044569, rel=1e-9)


def test_map_and_solve_draw_the_same_tiles(tmp_path):
    result = cli("solve", DEMO, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert cli("map", tmp_path / "run", "--out", tmp_path / "again.html").exit_code == 0
    tiles = re.compile(r"https://[^\"']*\{z\}/\{x\}/\{y\}[^\"']*")
    solved = set(tiles.findall((tmp_path / "run" / "map.html").read_text()))
    assert solved
    assert set(tiles.findall((tmp_path / "again.html").read_text())) == solved
