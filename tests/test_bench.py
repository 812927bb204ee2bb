"""siting bench: the instance x scenario matrix end to end, reruns, Ctrl-C, escaping."""

from __future__ import annotations

import html
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from siting.engine.pipeline import solve
from siting.folders import claim_runs
from siting.instance.generate import generate_instance
from siting.studies import bench
from siting.studies.bench import compare, marginal_text, plan_bench, read_row, run_bench
from siting.verify.checks import verify_run
from support import DEMO, cli

EVIL = "<script>alert('x')</script>"
EVIL_NAME = "<script>alert('x')"  # a scenario name: plain, no "/" (it may name a run folder)
SCENARIOS = {
    "base.toml": '[scenario]\nname = "baseline"\n',
    "mandate.toml": f'[scenario]\nname = "{EVIL_NAME} | 90%"\n'
                    f'description = "What does {EVIL} cost?"\n'
                    '[[policy]]\ntype = "min_collection_rate"\nrate = 0.9\n',
    "locked.toml": '[scenario]\nname = "locked"\n[[policy]]\ntype = "whitelist_only"\n'
                   '[[policy]]\ntype = "min_collection_rate"\nrate = 0.9\n',
}


def small_instance(folder: Path, name: str = "small") -> Path:
    """A 20-region, 5-plant generated instance whose penalty leaves some supply uncollected."""
    generate_instance(folder, regions=20, sites=5, streams=1, tiers=1, seed=3)
    toml = folder / "instance.toml"
    text = toml.read_text().replace("uncollected_penalty = 6000", "uncollected_penalty = 1500")
    toml.write_text(text.replace('name = "synthetic 20x5 seed 3"', f'name = "{name}"'))
    return folder


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """One bench through the CLI: demo and a small instance x three scenario files."""
    tmp = tmp_path_factory.mktemp("bench")
    small = small_instance(tmp / "small", f"{EVIL} & co")
    files = []
    for name, text in SCENARIOS.items():
        (tmp / name).write_text(text)
        files.append(str(tmp / name))
    out = tmp / "out"
    args = ("bench", DEMO, small, "--scenarios", ",".join(files), "--jobs", "2", "--out", out)
    result = cli(*args)
    return result, out, args


def test_bench_writes_a_verified_folder_per_run_and_the_comparison(bench_run):
    result, out, _ = bench_run
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "comparison.csv")
    assert len(table) == 6
    assert sorted(table["run"]) == sorted(f"{i}/{s}" for i in ("demo", "small")
                                          for s in ("base", "mandate", "locked"))
    solved = table[table["has_solution"]]
    assert len(solved) == 4
    assert solved["verified"].all()
    for run in solved["run"]:
        assert verify_run(out / run).ok
        assert (out / run / "map.html").is_file()
    locked = table[table["scenario"] == "locked"]
    assert (locked["status"] == "infeasible").all()
    assert locked["message"].str.contains("min_collection_rate").all()
    assert json.loads((out / "demo/locked/failure.json").read_text())["status"] == "infeasible"
    base = table[table["scenario"] == "baseline"]
    assert (base["d_total_cost"] == 0).all()
    assert (base["baseline"] == "baseline").all()
    mandate = table[table["scenario"].str.endswith("| 90%")]
    assert (mandate["collection_rate"] >= 0.9 - 1e-9).all()
    assert (mandate["d_collection_rate"] > 0).all()
    assert (mandate["d_total_cost"] > 0).all()
    small = mandate[mandate["instance_dir"] == "small"].iloc[0]
    assert small["marginal_costs"].startswith("min_collection_rate")
    assert "total cost CNY/yr" in result.output


def test_comparison_pages_escape_names_from_input_files(bench_run):
    _, out, _ = bench_run
    page = (out / "comparison.html").read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert 'href="demo/base/map.html"' in page
    markdown = (out / "comparison.md").read_text()
    assert "<script" not in markdown
    assert "&lt;script&gt;alert('x') \\| 90%" in markdown
    lines = markdown.splitlines()
    header = next(line for line in lines if line.startswith("| scenario"))
    row = next(line for line in lines if "90%" in line and line.startswith("|"))
    unescaped_pipes = re.compile(r"(?<!\\)\|")
    assert len(unescaped_pipes.findall(row)) == len(unescaped_pipes.findall(header))


def test_rerun_skips_finished_runs(bench_run):
    _, out, args = bench_run
    stamp = (out / "demo/base/solution.json").stat().st_mtime_ns
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert result.output.count("up to date, skipped") == 6
    assert (out / "demo/base/solution.json").stat().st_mtime_ns == stamp


def test_force_solves_again_and_changed_inputs_make_a_folder_stale(tmp_path):
    specs = plan_bench([DEMO], "baseline", out=tmp_path)
    with ThreadPoolExecutor(1) as pool:
        run_bench(specs, tmp_path, executor=pool)
        stamp = (tmp_path / "demo/baseline/solution.json").stat().st_mtime_ns
        skipped = []
        run_bench(specs, tmp_path, executor=pool, on_done=lambda s, r, skip: skipped.append(skip))
        assert skipped == [True]
        table = run_bench(specs, tmp_path, force=True, executor=pool)
    assert (tmp_path / "demo/baseline/solution.json").stat().st_mtime_ns != stamp
    assert table["verified"].all()
    other = plan_bench([DEMO], "mandate-95", out=tmp_path)[0]
    assert read_row(replace(other, run="demo/baseline"))["status"] == "stale"


def test_an_interrupted_bench_keeps_finished_runs_and_writes_their_comparison(
        tmp_path, monkeypatch):
    specs = plan_bench([DEMO], "all", out=tmp_path)

    def ctrl_c_in_second_run(instance, scenario, solver):
        if scenario.name != "baseline":
            raise KeyboardInterrupt
        return solve(instance, scenario, solver)

    monkeypatch.setattr(bench, "solve", ctrl_c_in_second_run)
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(KeyboardInterrupt):
            run_bench(specs, tmp_path, executor=pool)
        table = pd.read_csv(tmp_path / "comparison.csv")
        assert list(table["status"]) == ["optimal", "not run"]
        assert verify_run(tmp_path / "demo/baseline").ok
        assert not (tmp_path / "demo/mandate-95").exists()
        monkeypatch.undo()
        done = []
        run_bench(specs, tmp_path, executor=pool, on_done=lambda s, r, skip: done.append(skip))
    assert done == [True, False]


def test_baseline_is_the_first_scenario_when_none_is_named_baseline():
    rows = [{"instance_dir": "a", "solver": "highs", "scenario": name, "has_solution": True,
             "total_cost": cost, **dict.fromkeys(
                 ("collection_rate", "uncollected_t", "capacity_t", "utilisation", "tonne_km",
                  "co2_t", "facilities_new"), 1.0)}
            for name, cost in (("cap", 100.0), ("mandate", 150.0))]
    table = compare(rows)
    assert list(table["baseline"]) == ["cap", "cap"]
    assert list(table["d_total_cost"]) == [0.0, 50.0]
    assert table["d_total_cost_pct"].iloc[1] == pytest.approx(0.5)
    rows[0]["has_solution"] = False
    assert math.isnan(compare(rows)["d_total_cost"].iloc[1])


def test_marginal_costs_read_largest_first_and_absent_is_empty():
    entries = [{"policy": "in_province_share", "constraint": "share", "group": "Hunan",
                "value": 2.5, "unit": "per t",
                "meaning": "processing one more tonne inside its province (Hunan) costs "
                           "2.5 CNY/yr"},
               {"policy": "min_collection_rate", "constraint": "collected", "group": None,
                "value": 679.4, "unit": "per t",
                "meaning": "collecting one more tonne costs 679 CNY/yr"}]
    assert marginal_text(entries) == (
        "min_collection_rate: collecting one more tonne costs 679 CNY/yr; in_province_share: "
        "processing one more tonne inside its province (Hunan) costs 2.5 CNY/yr")
    assert marginal_text([]) == ""


def test_a_local_bench_removes_what_a_killed_worker_left_half_written(tmp_path):
    specs = plan_bench([DEMO], "baseline", out=tmp_path)
    claim_runs(tmp_path)  # the folder of an earlier bench, whose worker was killed
    partial = tmp_path / "demo" / ".baseline.siting-tmp-k1ll3d"  # as write_folder names them
    partial.mkdir(parents=True)
    (partial / "solution.json").write_text("{")
    table = run_bench(specs, tmp_path, jobs=1)
    assert table["verified"].all()
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == ["baseline"]


def test_bench_page_shows_questions_new_plants_and_provinces(bench_run):
    _, out, _ = bench_run
    page = (out / "comparison.html").read_text()
    assert "<dd>What does &lt;script&gt;" in page  # the scenario's question, escaped
    assert "<th>new plants</th>" in page
    assert "change against baseline" in page
    assert "total cost / yr against collection rate" in page
    table = pd.read_csv(out / "comparison.csv")
    provinces = pd.read_csv(out / "provinces.csv")
    solved = table[table["has_solution"]]
    assert len(provinces.groupby(["instance_dir", "scenario"])) == len(solved)
    named = 0
    for row in solved.itertuples():
        facilities = pd.read_csv(out / row.run / "facilities.csv", keep_default_na=False)
        built = facilities[facilities["new"]]
        listed = [f"{name} ({province}, {size})" if province else f"{name} ({size})"
                  for name, province, size in built[["name", "province", "size"]].to_numpy()]
        assert (row.new_plants if isinstance(row.new_plants, str) else "") == "; ".join(listed)
        assert all(html.escape(item) in page for item in listed)
        named += len(listed)
        regions = pd.read_csv(out / row.run / "regions.csv")
        mine = provinces[(provinces["instance_dir"] == row.instance_dir)
                         & (provinces["scenario"] == row.scenario)].set_index("province")
        expected = regions.groupby("province")["collected"].sum()
        assert mine["collected_t"].sort_index().to_numpy() == pytest.approx(
            expected.sort_index().to_numpy(), abs=1e-6)
        assert (mine["collects_nothing"] == (expected <= 1e-6)).all()
    assert named > 0
    base = provinces[provinces["scenario"] == "baseline"]
    assert (base["d_collected_t"].abs() < 1e-9).all()
    assert "Tonnes collected per province" in page


def test_bench_maps_of_an_instance_share_one_scale(bench_run):
    _, out, _ = bench_run
    for instance in ("demo", "small"):
        runs = [out / instance / s for s in ("base", "mandate")]
        largest = max(pd.read_csv(run / "facilities.csv")["capacity"].max() for run in runs)
        legends = {re.findall(r"([\d,]+) t/yr capacity", (run / "map.html").read_text())[-1]
                   for run in runs}
        assert legends == {f"{largest:,.0f}"}


def test_changes_against_the_baseline_show_a_two_percent_change():
    from siting.render.report import delta_chart

    svg = delta_chart("total cost", ["small", "large"], [2.0, 50.0], "%")
    small, large = (float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', svg))
    assert small >= 0.25 * large
    assert small > 20
    assert "+2.0 %" in svg
    assert "+50 %" in svg
