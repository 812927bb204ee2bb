"""The core model against hand-computed optima and the independent verifier."""

from __future__ import annotations

import pytest

from siting.engine.pipeline import solve
from siting.instance.generate import generate_instance
from siting.results.runfiles import write_run
from siting.verify.checks import verify_run
from support import DEMO, brute_force_optimum, solve_verified


def test_tiny_both_plants_open_when_fixed_cost_is_low(tiny, tmp_path):
    # Each region ships 1 km to its own plant: 2*100 fixed + 100 t * (1 km + 10 processing),
    # cheaper than one plant (100 fixed + 40 t * 10 km + 60 t * 1 km + 1000 processing).
    meta = solve_verified(tiny(fixed=100), tmp_path / "run")
    assert meta["objective"] == pytest.approx(200 + 100 * 11, rel=1e-9)
    assert meta["kpis"]["facilities_open"] == {"plant": 2}


def test_tiny_one_plant_when_fixed_cost_is_high(tiny, tmp_path):
    # One plant f2: fixed 5000 + r2 60 t * 1 km + r1 40 t * 10 km + 100 t * 10 processing.
    meta = solve_verified(tiny(fixed=5000), tmp_path / "run")
    assert meta["objective"] == pytest.approx(5000 + 60 + 400 + 1000, rel=1e-9)
    assert meta["kpis"]["facilities_open"] == {"plant": 1}


def test_tiny_nothing_built_when_penalty_is_cheaper(tiny, tmp_path):
    meta = solve_verified(tiny(penalty=5, fixed=500), tmp_path / "run")
    assert meta["objective"] == pytest.approx(100 * 5)
    assert meta["kpis"]["collection_rate"] == 0.0
    assert meta["kpis"]["uncollected_t"] == pytest.approx(100)


def test_tiny_capacity_splits_supply(tiny, tmp_path):
    # Capacity 50 per plant: r2 sends 50 t to f2 and 10 t to f1 (10 km).
    meta = solve_verified(tiny(capacity=50, fixed=1), tmp_path / "run")
    assert meta["objective"] == pytest.approx(2 + 40 * 1 + 50 * 1 + 10 * 10 + 100 * 10)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_random_instances_match_brute_force(tmp_path, seed):
    folder = generate_instance(tmp_path / "inst", regions=6, sites=4, streams=2, seed=seed,
                               capacity_ratio=0.9)
    meta = solve_verified(folder, tmp_path / "run", "--solver", str(tmp_path / "exact.toml"))
    assert meta["objective"] == pytest.approx(brute_force_optimum(folder), rel=1e-7)


@pytest.fixture(autouse=True)
def exact_profile(tmp_path):
    (tmp_path / "exact.toml").write_text("[solver]\nmip_rel_gap = 0\ntime_limit = 60\n")


def test_strong_and_weak_linking_agree(tmp_path):
    folder = generate_instance(tmp_path / "inst", regions=30, sites=8, seed=5)
    profile = tmp_path / "exact.toml"
    strong = solve(folder, solver=profile, strong_linking=True)
    weak = solve(folder, solver=profile, strong_linking=False)
    for name, solution in (("strong", strong), ("weak", weak)):
        report = verify_run(write_run(solution, tmp_path / name))
        assert report.ok, report.problems
    assert strong.meta["strong_linking"]
    assert not weak.meta["strong_linking"]
    assert strong.meta["objective"] == pytest.approx(weak.meta["objective"], rel=1e-6)
    assert strong.meta["model_size"]["constraints"] > weak.meta["model_size"]["constraints"]


def test_two_tier_demo_conserves_flow_and_verifies(tmp_path):
    meta = solve_verified(DEMO, tmp_path / "run")
    assert meta["status"] == "optimal"
    assert meta["tiers"] == ["collection", "plant"]
    assert meta["kpis"]["facilities_open"]["collection"] >= 1
    k = meta["kpis"]
    assert k["total_cost"] == pytest.approx(sum(k["cost"].values()))
    assert k["by_tier"]["collection"]["throughput_t"] == pytest.approx(
        k["by_tier"]["plant"]["throughput_t"], rel=1e-6)


def test_mandatory_collection_without_penalty(tmp_path, tiny):
    folder = tiny()
    toml = (folder / "instance.toml").read_text().replace("uncollected_penalty = 1000\n", "")
    (folder / "instance.toml").write_text(toml)
    meta = solve_verified(folder, tmp_path / "run")
    assert meta["kpis"]["collection_rate"] == 1.0
