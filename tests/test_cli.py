"""End-to-end CLI: solve, validate, verify, generate; bad input gives one line and exit 2."""

from __future__ import annotations

import gc
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from siting.instance.generate import BBOX, SIDE_KM
from siting.instance.load import load_instance
from siting.verify.checks import verify_run
from support import DEMO, ROOT, cli, solve_verified


def test_solve_demo_prints_kpis_and_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    result = cli("solve", DEMO, "--out", out)
    assert result.exit_code == 0, result.output
    assert "collection rate" in result.output
    assert "total cost" in result.output
    written = ["solution.json", "facilities.csv", "flows.csv", "regions.csv", "solution.gpkg",
               "map.html", ".siting-run"]
    assert sorted(p.name for p in out.iterdir()) == sorted(written)
    meta = json.loads((out / "solution.json").read_text())
    assert meta["scenario"]["name"] == "baseline"
    assert set(meta["versions"]) == {"siting", "pyomo", "highspy", "python"}
    assert verify_run(out).ok
    assert gc.get_freeze_count() == 0  # the heap frozen for the end is thawed after it


def test_scenario_by_name_binds_the_collection_mandate(tmp_path):
    base = solve_verified(DEMO, tmp_path / "base")
    mandate = solve_verified(DEMO, tmp_path / "m95", "--scenario", "mandate-95")
    assert base["kpis"]["collection_rate"] < 0.95
    assert mandate["kpis"]["collection_rate"] >= 0.95 - 1e-9
    assert mandate["objective"] > base["objective"]


def test_validate_and_generate(tmp_path):
    result = cli("validate", DEMO)
    assert result.exit_code == 0, result.output
    assert "12 regions" in result.output
    result = cli("generate", tmp_path / "g", "--regions", "25", "--sites", "6", "--tiers", "2")
    assert result.exit_code == 0, result.output
    solve_verified(tmp_path / "g", tmp_path / "run", "--solver", "highs-quick")


def generated_twice(tmp_path, *args) -> Path:
    """Generate with ``args`` into two folders; check they hold the same bytes (seeded)."""
    assert cli("generate", tmp_path / "a", *args).exit_code == 0
    assert cli("generate", tmp_path / "b", *args).exit_code == 0
    for name in ("instance.toml", "regions.csv", "sites.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    return tmp_path / "a"


@pytest.mark.parametrize("ratio", [2, 8])
def test_generate_writes_capa_like_instances(tmp_path, ratio):
    instance = load_instance(generated_twice(
        tmp_path, "--regions", "60", "--sites", "10", "--streams", "1", "--single-size",
        "--capacity-ratio", ratio, "--seed", "4"))
    (size,) = instance.spec.tiers["plant"].sizes
    assert all(sizes == (size.name,) for sizes in instance.sites["sizes"])
    assert (instance.sites["existing_capacity"] == 0).all()
    assert size.min_throughput == 0
    mean_per_site = instance.supply.to_numpy().sum() / len(instance.sites)
    assert size.capacity == pytest.approx(ratio * mean_per_site, abs=1)
    meta = solve_verified(tmp_path / "a", tmp_path / "run")
    assert meta["kpis"]["collection_rate"] == pytest.approx(1.0)  # collection is mandatory
    result = cli("generate", tmp_path / "c", "--single-size", "--tiers", "2")
    assert result.exit_code == 2
    assert "--single-size: needs --tiers 1" in result.output
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("ratio", [3, 8])
def test_generate_writes_the_tight_shape(tmp_path, ratio):
    instance = load_instance(generated_twice(
        tmp_path, "--regions", "60", "--sites", "12", "--streams", "1", "--shape", "tight",
        "--capacity-ratio", ratio, "--seed", "2"))
    sites, supply = instance.sites, instance.supply.to_numpy()
    (size,) = instance.spec.tiers["plant"].sizes
    assert ((supply >= 5) & (supply <= 35)).all()
    assert (supply == supply.round()).all()
    assert size.capacity / (supply.sum() / len(sites)) == pytest.approx(ratio, abs=len(sites)
                                                                        / supply.sum())
    assert len(sites) * size.capacity / supply.sum() >= ratio  # total capacity over supply
    lon_min, lon_max, lat_min, lat_max = BBOX
    for table in (instance.regions, sites):
        assert table["lon"].between(lon_min, lon_max).all()
        assert table["lat"].between(lat_min, lat_max).all()
    fixed = size.fixed_cost * sites["fixed_cost_factor"] / (SIDE_KM / 10)  # a + b sqrt(cap)
    root = size.capacity ** 0.5
    assert (fixed >= 100 * root - 1e-3).all()
    assert (fixed <= 90 + 110 * root + 1e-3).all()
    meta = solve_verified(tmp_path / "a", tmp_path / "run")
    assert meta["status"] == "optimal"
    assert meta["kpis"]["collection_rate"] == pytest.approx(1.0)  # collection is mandatory
    fewest = math.ceil(supply.sum() / size.capacity)
    assert fewest <= meta["kpis"]["facilities_open"]["plant"] <= fewest + 1  # measured: fewest
    for bad, words in ((("--tiers", "2"), "--shape tight: needs --tiers 1"),
                       (("--capacity-ratio", "0.9"), "--capacity-ratio: with --shape tight, at "
                        "least 1"),
                       (("--shape", "tigth"), "--shape: expected one of clustered, tight")):
        result = cli("generate", tmp_path / "c", "--shape", "tight", *bad)
        assert result.exit_code == 2
        assert words in " ".join(result.output.split())
        assert not (tmp_path / "c").exists()


def test_verifier_catches_a_tampered_run(tmp_path):
    out = tmp_path / "run"
    solve_verified(DEMO, out)
    flows = pd.read_csv(out / "flows.csv", dtype=str)
    flows.loc[0, "tonnes"] = str(float(flows.loc[0, "tonnes"]) * 3)
    flows.to_csv(out / "flows.csv", index=False)
    assert not verify_run(out).ok
    result = cli("verify", out)
    assert result.exit_code == 5
    assert "FAIL" in result.output


@pytest.mark.parametrize(("edit", "expected"), [
    (("instance.toml", "transport_cost = 0.8", "transport_cost = -1"),
     "instance.toml: streams.lfp.transport_cost"),
    (("instance.toml", "circuity = 1.21", "circuity = 1.21\ncircuitty = 2"),
     "instance.toml: distance.circuitty"),
    (("instance.toml", "[tiers.plant]", "[tiers.plant"), "instance.toml: invalid TOML"),
    (("sites.csv", "P-EX,Existing recycler (Central),plant",
      "P-B2,Existing recycler (Central),plant"),
     "sites.csv: row 10: duplicate id 'P-B2'"),
    (("sites.csv", "C-C4,Collection point C4,collection", "C-C4,Collection point C4,depot"),
     "unknown tier 'depot'"),
    (("sites.csv", "113.20,23.30,8000", "113.20,23.30,nan"), "column 'existing_capacity'"),
    (("instance.toml", 'sites = "sites.csv"', 'sites = "missing.csv"'),
     "layers.sites: file not found"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, edit, expected):
    folder = tmp_path / "demo"
    folder.mkdir()
    for path in DEMO.rglob("*"):
        if path.is_file():
            target = folder / path.relative_to(DEMO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    name, old, new = edit
    text = (folder / name).read_text()
    assert old in text
    (folder / name).write_text(text.replace(old, new, 1))
    out = tmp_path / "run"
    result = cli("solve", folder, "--out", out)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not out.exists()


def test_a_profile_is_found_by_name_in_the_users_folders(tmp_path, monkeypatch):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "mine.toml").write_text('[solver]\ndescription = "mine"\nmip_rel_gap = 0.02\n')
    monkeypatch.setenv("SITING_PROFILES", str(folder))
    meta = solve_verified(DEMO, tmp_path / "run", "--solver", "mine")
    assert (meta["solver"]["name"], meta["solver"]["mip_rel_gap"]) == ("mine", 0.02)
    result = cli("solve", DEMO, "--solver", "nowhere", "--out", tmp_path / "none")
    assert result.exit_code == 2
    assert "known: ['highs', 'highs-quick', 'mine']" in " ".join(result.output.split())


@pytest.mark.parametrize("failure", ['raise ImportError("libhighs.so: cannot open shared object '
                                     'file")',
                                     'raise ModuleNotFoundError("No module named highspy")'])
@pytest.mark.parametrize("command", ["solve", "bench", "validate"])
def test_a_missing_or_broken_highspy_is_one_line_exit_7(tmp_path, failure, command):
    """A ``highspy`` package that fails to import stands first on the path, as a broken one."""
    (tmp_path / "highspy").mkdir()
    (tmp_path / "highspy" / "__init__.py").write_text(failure + "\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    out = [] if command == "validate" else ["--out", str(tmp_path / "run")]
    process = subprocess.run([sys.executable, "-m", "siting", command, str(DEMO), *out],
                             env=env, capture_output=True, text=True, timeout=300)
    assert process.returncode == 7, process.stderr
    (line,) = process.stderr.strip().splitlines()
    assert line.startswith("error: highspy is not installed or broken"), line
    assert "pip install" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "words"), [
    (("robust", DEMO, "--samples", "1000000000"), ("--samples", "10,000 allowed", "years")),
    (("pareto", DEMO, "--points", "1000000000"), ("--points", "1,000 allowed", "years")),
    (("alternatives", DEMO, "--count", "1000000000"), ("--count", "100 allowed", "years")),
    (("generate", "big", "--regions", "1000000000"), ("--regions", "at most 10,000,000",
                                                      "400.0 GB of memory")),
])
def test_counts_beyond_their_limit_are_refused_with_an_estimate(tmp_path, monkeypatch, args,
                                                                words):
    monkeypatch.chdir(tmp_path)
    result = cli(*args, "--jobs", "2") if args[0] != "generate" else cli(*args)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error:"), line
    assert all(word in line for word in words), line
    assert list(tmp_path.iterdir()) == []


COMMANDS = ["solve", "validate", "verify", "map", "bench", "pareto", "robust", "alternatives",
            "generate", "policies", "import"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_plain_text_with_no_placeholder_for_flags(command):
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run([sys.executable, "-m", "siting", command, "--help"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "<bool>" not in text
    assert "╭" not in text  # no boxes: the help reads the same in a pipe and a terminal
    assert "--help" in text
    assert "--tiles" not in text or command in ("solve", "map")  # --offline names no option
    assert max(len(line) for line in text.splitlines()) <= 100  # rewrapped, not the source's


def test_help_keeps_bracketed_words():
    result = subprocess.run([sys.executable, "-m", "siting", "robust", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert "its [uncertainty] table" in " ".join(result.stdout.split())


def test_solve_draws_its_map_with_the_tiles_asked_for(tmp_path):
    meta = solve_verified(DEMO, tmp_path / "run", "--offline")
    assert meta["status"] == "optimal"
    page = (tmp_path / "run" / "map.html").read_text()
    assert "basemaps.cartocdn.com" not in page
    assert "tile.openstreetmap.org" not in page
    solve_verified(DEMO, tmp_path / "osm", "--tiles", "osm")
    assert "tile.openstreetmap.org" in (tmp_path / "osm" / "map.html").read_text()
    refused = cli("solve", DEMO, "--tiles", "https://x/{z}/{x}/{y}.png", "--out", tmp_path / "u")
    assert refused.exit_code == 2
    assert "--tiles" in refused.output
    assert not (tmp_path / "u").exists()
