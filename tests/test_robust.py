"""Robust siting: seeded samples, the same on a process pool and on Dask, known answers,
regret entries against direct re-solves, interrupted runs, and bad uncertainty tables.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from distributed import LocalCluster

from siting.engine.pipeline import solve
from siting.instance.load import load_instance
from siting.model.policies.cost_scale import CostScale
from siting.model.policies.fixed_network import FixedNetwork
from siting.results.runfiles import write_run
from siting.scenario import Scenario
from siting.studies import executor
from siting.studies.robust import network_of, plan_samples, robust
from siting.studies.uncertainty import Lognormal, Uncertainty, draw
from siting.verify.checks import verify_run
from support import DEMO, ROOT, cli

QUICK = "highs-quick"
UNCERTAIN = """
[scenario]
name = "uncertain"
[uncertainty]
supply = {{ distribution = "lognormal", sigma = {sigma} }}
transport_cost = {{ distribution = "uniform", low = 0.8, high = 1.3 }}
"""


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same 3 samples of the demo solved by the CLI on a local process pool and on a
    Dask cluster reached through its scheduler's address; their folders' parent.
    """
    root = tmp_path_factory.mktemp("robust")
    args = ("robust", DEMO, "--samples", "3", "--seed", "7", "--solver", QUICK)
    pool = cli(*args, "--jobs", "2", "--out", root / "pool")
    assert pool.exit_code == 0, pool.output
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as local:
        dask = cli(*args, "--scheduler", local.scheduler_address, "--out", root / "dask")
    assert dask.exit_code == 0, dask.output
    return root


def test_dask_cluster_and_process_pool_give_identical_results(demo_runs: Path):
    for name in ("frequency.csv", "costs.csv", "regret.csv", "regret_matrix.csv"):
        assert (demo_runs / "pool" / name).read_text() == (demo_runs / "dask" / name).read_text()
    for where in ("pool", "dask"):
        samples = sorted((demo_runs / where / "samples").iterdir())
        assert [s.name for s in samples] == ["000", "001", "002"]
        assert all(verify_run(s).ok for s in [demo_runs / where / "baseline", *samples])
    costs = pd.read_csv(demo_runs / "pool" / "costs.csv")
    assert costs["total_cost"].nunique() == 3  # three different samples


def test_regret_entries_equal_direct_resolves_with_builds_fixed(demo_runs: Path,
                                                               tmp_path: Path):
    root = demo_runs / "pool"
    matrix = pd.read_csv(root / "regret_matrix.csv", index_col="network",
                         dtype={"network": str})
    _, runs, _ = plan_samples(DEMO, root, samples=3, seed=7, solver=QUICK)
    first = {name: name.split("+")[0] for name in matrix.index}
    networks = {name: network_of(root / (run if run == "baseline" else f"samples/{run}"))
                for name, run in first.items()}
    checked = 0
    for name in list(networks)[:2]:
        for i in (0, 2):
            spec = runs[i]
            fixed = Scenario(name="direct", objective=spec.scenario.objective,
                             policies=spec.scenario.policies
                             + (FixedNetwork(builds=networks[name]),))
            folder = write_run(solve(DEMO, fixed, QUICK), tmp_path / f"{checked}")
            assert verify_run(folder).ok
            cost = json.loads((folder / "solution.json").read_text())["kpis"]["total_cost"]
            assert matrix.loc[name, f"{i:03d}"] == pytest.approx(cost, rel=1e-6)
            checked += 1
    assert checked == 4
    regret = pd.read_csv(root / "regret.csv", dtype={"network": str}).set_index("network")
    largest = (matrix - matrix.min(axis=0)).max(axis=1)
    assert regret["max_regret"].to_numpy() == pytest.approx(
        largest.reindex(regret.index).to_numpy(), abs=1e-3)
    assert (regret["max_regret"] >= 0).all()


@pytest.fixture
def uncertain_tiny(tiny) -> Path:
    """The tiny instance where f2 is the one site to open whatever the supply and costs.

    Opening f2 alone costs 5000 + (40 x 10 km) x transport factor x supply factor, f1
    alone 5000 + 600 x ..., both 10000 + 100 x ...; capacity never binds.
    """
    folder = tiny(capacity=1e6, fixed=5000)
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "uncertain.toml").write_text(UNCERTAIN.format(sigma=0.4))
    return folder


def test_site_optimal_in_every_sample_is_at_100_percent(uncertain_tiny, tmp_path: Path):
    with ThreadPoolExecutor(1) as pool:
        result = robust(uncertain_tiny, tmp_path / "out", "uncertain", samples=5, seed=1,
                        solver=QUICK, executor=pool)
    freq = result.frequency.set_index("id")
    assert freq.loc["f2", "selected"] == 1.0
    assert freq.loc["f2", "verdict"] == "robust"
    assert freq.loc["f1", "selected"] == 0.0
    assert freq.loc["f1", "verdict"] == "never"
    assert result.costs["verified"].all()
    assert len(result.costs) == 5
    factors = result.costs[["supply", "transport_cost"]]
    assert factors.nunique().min() == 5  # the samples differ
    assert len(result.regret) == 1
    assert result.regret["max_regret"].iloc[0] == 0.0
    # the only network's cost on each sample is the verified sample's own cost
    assert result.matrix.iloc[0].to_numpy() == pytest.approx(
        result.costs["total_cost"].to_numpy(), rel=1e-6)


def test_interrupted_run_keeps_finished_samples(uncertain_tiny, tmp_path: Path):
    out = tmp_path / "out"
    finished: list[str] = []

    def stop_after_first_sample(spec, row, skipped):
        finished.append(spec.run)
        if spec.run.startswith("samples/"):
            raise KeyboardInterrupt

    with ThreadPoolExecutor(1) as pool, pytest.raises(KeyboardInterrupt):
        robust(uncertain_tiny, out, "uncertain", samples=4, seed=3, solver=QUICK,
               on_done=stop_after_first_sample, executor=pool)
    # the run that was solving when Ctrl-C came may finish too; the others never start
    runs = ["baseline", *(f"samples/{i:03d}" for i in range(4))]
    kept = [run for run in runs if (out / run / "verification.json").exists()]
    assert set(finished) <= set(kept)
    assert any(run.startswith("samples/") for run in finished)
    assert len(kept) < len(runs)
    assert all(verify_run(out / run).ok for run in kept)
    skipped: list[str] = []
    with ThreadPoolExecutor(1) as pool:
        result = robust(uncertain_tiny, out, "uncertain", samples=4, seed=3, solver=QUICK,
                        on_done=lambda spec, row, was: skipped.append(spec.run) if was else None,
                        executor=pool)
    assert sorted(skipped) == kept
    assert result.costs["verified"].all()


def test_samples_depend_only_on_seed_and_index():
    uncertainty = Uncertainty(supply=Lognormal(distribution="lognormal", sigma=0.4,
                                               by="province"))
    provinces = ["A", "B", "C"]
    fifth = draw(uncertainty, provinces, 11, 5)
    assert fifth == draw(uncertainty, provinces, 11, 5)
    assert list(fifth) == ["supply:A", "supply:B", "supply:C"]
    assert fifth != draw(uncertainty, provinces, 12, 5) != draw(uncertainty, provinces, 11, 4)
    assert all(math.isfinite(v) and v > 0 for v in fifth.values())


def test_cli_robust_writes_tables_and_pages(uncertain_tiny, tmp_path: Path):
    out = tmp_path / "cli"
    result = cli("robust", uncertain_tiny, "--scenario", "uncertain", "--samples", "2",
                 "--solver", QUICK, "--jobs", "1", "--out", out)
    assert result.exit_code == 0, result.output
    assert "F2 (A)" in result.output  # the network, by its sites' names
    assert "robust" in result.output
    for name in ("frequency.csv", "costs.csv", "regret.csv", "regret_matrix.csv",
                 "robust.html", "robust-map.html"):
        assert (out / name).stat().st_size > 0, name
    page = (out / "robust.html").read_text()
    assert "<svg" in page
    assert "robust-map.html" in page
    assert "<script" not in page
    assert "://" not in page.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.parametrize(("table", "field"), [
    ('[uncertainty]\nsupply = { distribution = "lognormal" }',
     "uncertainty.supply.lognormal.sigma"),
    ('[uncertainty]\nvalue = { distribution = "uniform", low = 2, high = 1 }',
     "uncertainty.value"),
    ('[uncertainty]\nfixed_cost = { distribution = "lognormal", sigma = 0.2, by = "province" }',
     "uncertainty"),
    ('[uncertainty]\nsupply = { distribution = "gamma", shape = 2 }', "uncertainty.supply"),
    ('[objective]\nmode = "lexicographic"', "objective.mode"),
])
def test_bad_uncertainty_is_one_line_naming_file_and_field(uncertain_tiny, tmp_path: Path,
                                                           table: str, field: str):
    scenario = uncertain_tiny / "scenarios" / "bad.toml"
    scenario.write_text(f"{table}\n")
    out = tmp_path / "out"
    result = cli("robust", uncertain_tiny, "--scenario", "bad", "--samples", "2", "--jobs",
                 "1", "--out", out)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line
    assert "Traceback" not in line
    assert f"bad.toml: {field}" in line, line
    assert not out.exists()


def test_scheduler_that_does_not_answer_is_bad_input(uncertain_tiny, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(executor, "CONNECT_TIMEOUT", "1s")
    result = cli("robust", uncertain_tiny, "--samples", "1", "--scheduler",
                 "tcp://127.0.0.1:9", "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "--scheduler" in result.output
    assert "no Dask scheduler" in result.output


def test_verifier_reapplies_the_sampled_factors_and_the_fixed_network(tmp_path: Path):
    scenario = Scenario(policies=(CostScale(transport=1.5, fixed=0.8, value=1.2),))
    folder = write_run(solve(DEMO, scenario, QUICK), tmp_path / "scaled")
    assert verify_run(folder).ok
    meta_path = folder / "solution.json"
    meta = json.loads(meta_path.read_text())
    meta["scenario"]["policies"][0]["transport"] = 1.0  # claim nominal transport costs
    meta_path.write_text(json.dumps(meta))
    assert any("kpis.cost.policies" in p for p in verify_run(folder).problems)
    builds = network_of(folder)
    fixed = Scenario(policies=(FixedNetwork(builds=builds),))
    folder = write_run(solve(DEMO, fixed, QUICK), tmp_path / "fixed")
    assert verify_run(folder).ok
    assert network_of(folder) == builds
    meta = json.loads((folder / "solution.json").read_text())
    meta["scenario"]["policies"][0]["builds"] = dict(list(builds.items())[1:])
    (folder / "solution.json").write_text(json.dumps(meta))
    assert any("fixed_network" in p for p in verify_run(folder).problems)


def test_no_feasible_sample_is_an_infeasible_exit(tiny, tmp_path: Path):
    folder = tiny(capacity=10)  # 20 t/yr of plants for about 100 t of supply
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "all.toml").write_text(
        UNCERTAIN.format(sigma=0.1) + '[[policy]]\ntype = "min_collection_rate"\nrate = 1.0\n')
    result = cli("robust", folder, "--scenario", "all", "--samples", "2", "--jobs", "1",
                 "--solver", QUICK, "--out", tmp_path / "out")
    assert result.exit_code == 4, result.output
    assert "no sample has a solution" in result.output


@pytest.mark.parametrize("command", [("robust", "--samples", "1"),
                                     ("alternatives", "--count", "1")])
def test_horizon_instance_is_refused_before_any_solve(tmp_path: Path, command: tuple[str, ...]):
    out = tmp_path / "out"
    result = cli(command[0], ROOT / "instances" / "china-2025-2035", *command[1:], "--out", out)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line
    assert "instance.toml: [periods]" in line
    assert "single-period" in line
    assert not out.exists()


def test_supply_drawn_per_region_scales_each_region_by_its_own_factor(uncertain_tiny,
                                                                      tmp_path: Path):
    by_region = uncertain_tiny / "scenarios" / "by-region.toml"
    by_region.write_text(UNCERTAIN.format(sigma=0.4).replace(
        "sigma = 0.4 }", 'sigma = 0.4, by = "region" }'))
    with ThreadPoolExecutor(1) as pool:
        result = robust(uncertain_tiny, tmp_path / "out", by_region, samples=2, seed=3,
                        solver=QUICK, executor=pool)
    assert result.costs["verified"].all()  # each sample's scaled supply re-applied and checked
    ids = load_instance(uncertain_tiny).regions["id"].astype(str).tolist()
    base = pd.read_csv(tmp_path / "out" / "baseline" / "regions.csv").set_index("id")
    for i, row in result.costs.iterrows():
        sample = pd.read_csv(tmp_path / "out" / "samples" / f"{i:03d}" / "regions.csv")
        factors = {region: row[f"supply:{region}"] for region in ids}
        assert len(set(factors.values())) == len(ids)  # one factor per region
        for region, supply in sample.set_index("id")["supply"].items():
            assert supply == pytest.approx(base.loc[region, "supply"] * factors[str(region)])
