"""Lagrangian relaxation: a valid bound, feasible networks, honest gaps and the pruning check."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from siting.engine.budget import Budget
from siting.engine.heuristics.lagrangian import cheapest_cover, lagrangian_bound
from siting.engine.highs import SolverProfile
from siting.engine.pipeline import solve
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.instance.network import build_network
from siting.results.runfiles import write_run
from siting.verify.checks import verify_run
from support import EXACT, cli, import_orlib, profile_file, solve_verified
from test_orlib import known_optima

# HiGHS stops at its first improving solution (the start, when feasible) and logs to a file
# (profile files may not set log options: the tests reading the log use the highs_log fixture).
FIRST = ("[options]\nmip_max_improving_sols = 1\noutput_flag = true\nlog_to_console = false\n"
         "log_file = '{log}'\n")


@pytest.mark.parametrize(("regions", "sites", "ratio", "seed"), [
    (30, 8, 1.5, 0), (60, 15, 1.1, 1), (50, 12, 1.2, 2)])
def test_bound_is_below_the_exact_optimum(tmp_path, regions, sites, ratio, seed):
    folder = generate_instance(tmp_path / "g", regions=regions, sites=sites, seed=seed,
                               capacity_ratio=ratio)
    net = build_network(load_instance(folder))
    relaxed = lagrangian_bound(net, iterations=300)
    exact = solve_verified(folder, tmp_path / "exact", "--solver", profile_file(tmp_path, EXACT))
    assert exact["status"] == "optimal"
    assert relaxed.bound <= exact["objective"] * (1 + 1e-9)
    assert relaxed.bound >= exact["objective"] * 0.99  # tight on the full problem
    assert relaxed.cost >= exact["objective"] * (1 - 1e-9)


@pytest.mark.parametrize(("regions", "sites", "ratio", "seed"), [(80, 12, 2, 0), (60, 12, 8, 3)])
def test_capa_like_bound_and_fixings_are_sound(tmp_path, regions, sites, ratio, seed):
    # More sites than the working set: the multipliers are tuned on every arc it gains.
    folder = generate_instance(tmp_path / "g", regions=regions, sites=sites, streams=1,
                               seed=seed, capacity_ratio=ratio, single_size=True)
    relaxed = lagrangian_bound(build_network(load_instance(folder)), iterations=1000)
    solver = profile_file(tmp_path, EXACT)
    exact = solve_verified(folder, tmp_path / "exact", "--solver", solver)["objective"]
    assert relaxed.bound <= exact * (1 + 1e-9) <= relaxed.cost * (1 + 2e-9)
    assert relaxed.bound >= exact * 0.98  # 1.8% below at ratio 2, 0.002% at ratio 8
    assert len(relaxed.closed) + len(relaxed.opened) > 0
    ids = load_instance(folder).sites["id"].to_numpy()
    # Forcing a fixed site into its other state costs more than the network in hand.
    for policy, fixed in (("force_open", relaxed.closed), ("forbid", relaxed.opened)):
        for site in ids[fixed]:
            scenario = tmp_path / f"{policy}-{site}.toml"
            scenario.write_text(f'[scenario]\nname = "{site}"\n[[policy]]\ntype = "{policy}"\n'
                                f'sites = ["{site}"]\n')
            out = tmp_path / scenario.stem
            result = cli("solve", folder, "--out", out, "--solver", solver, "--scenario", scenario)
            if "no network meets the scenario" in result.output:
                continue  # forcing the site that way leaves no feasible network at all
            assert result.exit_code == 0, result.output
            assert verify_run(out).ok
            forced = json.loads((out / "solution.json").read_text())
            assert forced["objective"] > relaxed.cost * (1 - 1e-9)


@pytest.mark.parametrize("name", ["cap41", "cap71", "cap101", "cap131"])
def test_bound_is_below_the_orlib_optimum(tmp_path, name):
    optimum = known_optima()[name]
    folder = import_orlib(name, tmp_path)
    relaxed = lagrangian_bound(build_network(load_instance(folder)), iterations=300)
    assert optimum * 0.99 <= relaxed.bound <= optimum * (1 + 1e-9)
    assert relaxed.cost >= optimum * (1 - 1e-9)


@pytest.mark.parametrize("source", ["generated", "cap131"])
@pytest.mark.usefixtures("highs_log")
def test_the_lagrangian_network_is_feasible(tmp_path, source):
    if source == "generated":
        folder = generate_instance(tmp_path / "g", regions=80, sites=20, seed=4,
                                   capacity_ratio=1.1)
    else:
        folder = import_orlib(source, tmp_path)
    log = tmp_path / "highs.log"
    solver = profile_file(tmp_path, EXACT + "lagrangian = true\n" + FIRST.format(log=log))
    meta = solve_verified(folder, tmp_path / "run", "--solver", solver)
    lag = meta["lagrangian"]
    sites = len(load_instance(folder).sites)
    if lag["fixed_closed"] + lag["fixed_open"] < sites:  # else no binary is left to start
        assert "MIP start solution is feasible" in log.read_text()
    assert meta["status"] in ("solution_limit", "optimal")
    # HiGHS routes the start's network optimally: no dearer than the greedy routing.
    assert meta["objective"] <= lag["heuristic_cost"] * (1 + 1e-9)
    assert meta["best_bound"] >= lag["bound"]
    assert meta["bound_source"] in ("highs", "lagrangian")
    assert meta["bound_valid"]


def test_pruning_check_fires_when_pruning_cuts_off_the_optimum(tmp_path):
    # One neighbour per region, and no pricing to put cut arcs back: the model keeps the
    # arcs of the Lagrangian's network too, but the optimum needs others.
    folder = generate_instance(tmp_path / "g", regions=30, sites=8, seed=7, capacity_ratio=1.5)
    solver = profile_file(tmp_path, EXACT + "nearest_sites = 1\nlagrangian = true\n"
                          "pricing_rounds = 0\n")
    result = cli("solve", folder, "--out", tmp_path / "k1", "--solver", solver)
    assert result.exit_code == 0, result.output
    assert "not proven optimal for the full problem" in " ".join(result.output.split())
    meta = solve_verified(folder, tmp_path / "k1b", "--solver", solver)
    full = solve_verified(folder, tmp_path / "full", "--solver", profile_file(tmp_path, EXACT))
    assert meta["pruning"]["proven"] is False
    assert (meta["bound_source"], meta["status"]) == ("lagrangian", "feasible")
    assert meta["best_bound"] <= full["objective"] * (1 + 1e-9) < meta["objective"]


def test_a_pruned_model_keeps_the_arcs_of_the_lagrangian_network(tiny, tmp_path):
    # Capacity 50: r2's 60 t need both plants, but one neighbour each leaves r2 one arc.
    # The Lagrangian's network ships along the other: it comes back, and so the optimum.
    folder = tiny(capacity=50, fixed=1)
    pruned = solve_verified(folder, tmp_path / "k1", "--solver", profile_file(
        tmp_path, EXACT + "nearest_sites = 1\nlagrangian = true\npricing_rounds = 0\n"))
    alone = solve_verified(folder, tmp_path / "alone", "--solver", profile_file(
        tmp_path, EXACT + "nearest_sites = 1\nlagrangian = false\npricing_rounds = 0\n"))
    full = solve_verified(folder, tmp_path / "full", "--solver", profile_file(tmp_path, EXACT))
    assert pruned["pruning"]["flows_cut"] == alone["pruning"]["flows_cut"] - 1
    assert alone["objective"] > full["objective"] * (1 + 1e-6)  # 10 t uncollected
    assert pruned["objective"] == pytest.approx(full["objective"], rel=1e-9)
    assert (pruned["status"], pruned["pruning"]["proven"]) == ("optimal", True)


def test_pruning_check_proves_a_pruning_that_cut_nothing(tmp_path):
    folder = generate_instance(tmp_path / "g", regions=200, sites=40, seed=3, capacity_ratio=1.2)
    solver = profile_file(tmp_path, "[solver]\nmip_rel_gap = 0.01\nnearest_sites = 15\n"
                          "lagrangian = true\n")
    result = cli("solve", folder, "--out", tmp_path / "run", "--solver", solver)
    assert result.exit_code == 0, result.output
    assert "may have cut off" not in " ".join(result.output.split())
    meta = solve_verified(folder, tmp_path / "run2", "--solver", solver)
    assert meta["pruning"]["proven"] is True
    assert meta["pruning"]["gap_to_full_bound"] <= 0.01
    assert meta["mip_gap"] == meta["pruning"]["gap_to_full_bound"]


def test_pruned_bound_without_lagrangian_is_marked_not_valid(tiny, tmp_path):
    folder = tiny(capacity=50, fixed=1)
    meta = solve_verified(folder, tmp_path / "run", "--solver",
                          profile_file(tmp_path, EXACT + "nearest_sites = 1\n"
                                       "pricing_rounds = 0\n"))
    assert meta["bound_source"] == "pruned_model"
    assert meta["bound_valid"] is False
    assert meta["best_bound"] is None
    assert meta["pruning"]["proven"] is None


def test_two_tiers_fall_back_to_highs_alone(tmp_path):
    folder = generate_instance(tmp_path / "g", regions=30, sites=9, tiers=2, seed=5)
    meta = solve_verified(folder, tmp_path / "run", "--solver",
                          profile_file(tmp_path, EXACT + "lagrangian = true\n"))
    assert meta["lagrangian"] == {"skipped": "more than one tier"}
    assert meta["bound_source"] == "highs"
    assert meta["bound_valid"]


def test_default_profile_runs_it_by_size(tmp_path, monkeypatch):
    folder = generate_instance(tmp_path / "g", regions=150, sites=15, streams=1, seed=0,
                               capacity_ratio=2, single_size=True)
    small = solve_verified(folder, tmp_path / "small")
    assert "lagrangian" not in small
    monkeypatch.setattr("siting.engine.steps.LAGRANGIAN_AUTO_FLOWS", 1000)  # 150 x 15 = 2250 flows
    meta = solve_verified(folder, tmp_path / "large")
    lag = meta["lagrangian"]
    assert lag["fixed_closed"] + lag["fixed_open"] > 0
    assert meta["status"] == "optimal"
    assert meta["bound_valid"]
    assert meta["objective"] == pytest.approx(small["objective"], rel=1e-4)
    assert lag["bound"] <= meta["objective"] * (1 + 1e-9)


def _enumerated_cover(value, cap, site, n_sites, demand):
    """The least value of one configuration per site whose capacities reach ``demand``."""
    best = np.inf
    for choice in itertools.product(*(np.flatnonzero(site == f) for f in range(n_sites))):
        if cap[list(choice)].sum() >= demand - 1e-9:
            best = min(best, value[list(choice)].sum())
    return best


@pytest.mark.parametrize("seed", range(40))
def test_the_capacity_cover_is_the_knapsack_s_minimum(seed):
    # Beasley's aggregate capacity cut, solved exactly when the capacities share a unit
    # (equal sizes: where its LP opens 3.3 sites, four are bought), a valid bound otherwise.
    rng = np.random.default_rng(seed)
    n_sites = int(rng.integers(3, 7))
    sizes = rng.integers(1, 3, n_sites)  # build options per site
    site = np.r_[np.arange(n_sites), np.repeat(np.arange(n_sites), sizes)]
    whole = seed % 2 == 0
    options = rng.choice([30.0, 45.0, 60.0], sizes.sum()) if whole \
        else rng.uniform(10, 70, sizes.sum())
    existing = np.where(rng.random(n_sites) < 0.3, 15.0, 0.0)
    cap = np.r_[existing, existing[site[n_sites:]] + options]
    value = np.r_[rng.uniform(-5, 5, n_sites), rng.uniform(-20, 60, sizes.sum())]
    demand = float(rng.uniform(0.2, 0.9) * cap[n_sites:].sum())
    exact = _enumerated_cover(value, cap, site, n_sites, demand)
    bound, chosen = cheapest_cover(value, cap, site, n_sites, demand)
    assert bound <= exact + 1e-9 or bound == exact == np.inf  # no choice holds the demand
    if whole:
        assert bound == pytest.approx(exact, abs=1e-9)
    if whole and np.isfinite(exact):
        assert cap[chosen].sum() >= demand - 1e-9
        assert value[chosen].sum() == pytest.approx(bound, abs=1e-9)
        assert sorted(site[chosen]) == list(range(n_sites))


@pytest.mark.parametrize(("ratio", "seed"), [(8, 0), (30, 1)])
def test_a_tight_network_is_proven_by_the_relaxation(tmp_path, ratio, seed):
    # The tight shape (few sites hold the supply): the bound of the exact cover meets the
    # repaired network, which is then only routed; HiGHS alone proves the same optimum.
    folder = generate_instance(tmp_path / "g", regions=150, sites=20, streams=1, seed=seed,
                               capacity_ratio=ratio, shape="tight")
    relaxed = lagrangian_bound(build_network(load_instance(folder)), iterations=1000)
    exact = solve_verified(folder, tmp_path / "exact", "--solver", profile_file(
        tmp_path, EXACT + "lagrangian = false\nwarm_start_sites = 0\n"))["objective"]
    assert relaxed.bound <= exact * (1 + 1e-9)
    assert relaxed.cost >= exact * (1 - 1e-9)
    meta = solve_verified(folder, tmp_path / "run", "--solver", profile_file(
        tmp_path, "[solver]\nlagrangian = true\n"))
    assert meta["objective"] == pytest.approx(exact, rel=1e-4)
    assert meta["status"] == "optimal"
    assert meta["bound_source"] == "lagrangian"
    assert "step_solve_s" not in meta["timings"]
    assert "step_route_s" in meta["timings"]


@pytest.mark.parametrize("nearest", ["all", 3])
def test_a_run_stopped_after_the_relaxation_routes_its_network_at_the_optimal_cost(tmp_path,
                                                                                  nearest):
    # Stopped after the relaxation, the run routes the Lagrangian's network on the model
    # with only the flows of that network's optimal routing open (positions mapped into a
    # pruned model): it costs exactly what the relaxation's exact routing found.
    folder = generate_instance(tmp_path / "g", regions=80, sites=20, seed=4, capacity_ratio=1.1)
    budget = Budget(3600)

    def stop_after_relax(status) -> None:
        budget.interrupted = budget.interrupted or status.step not in ("load", "prepare",
                                                                        "build", "relax")

    profile = SolverProfile(lagrangian=True, nearest_sites=nearest, pricing_rounds=0)
    solution = solve(folder, solver=profile, budget=budget, listener=stop_after_relax)
    meta = solution.meta
    assert meta["status"] == "interrupted"
    assert meta["start"]["source"] == "lagrangian"
    assert ("pruning" in meta) == (nearest != "all")
    assert meta["objective"] == pytest.approx(meta["lagrangian"]["heuristic_cost"], rel=1e-9)
    assert verify_run(write_run(solution, tmp_path / "run")).ok
