"""Local search on the MIP start: never dearer, swaps find what DROP misses, verified runs."""

from __future__ import annotations

import numpy as np
import pytest

from siting.engine.heuristics.drop import Router, greedy_builds, priced
from siting.engine.heuristics.lagrangian import lagrangian_bound
from siting.engine.heuristics.local_search import improve
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.instance.network import build_network
from support import EXACT, profile_file, solve_verified
from test_lagrangian import FIRST


def generated(tmp_path, seed: int, ratio: float = 1.5):
    folder = generate_instance(tmp_path / f"g{seed}", regions=40, sites=12, seed=seed,
                               capacity_ratio=ratio)
    return build_network(load_instance(folder))


def random_builds(net, seed: int) -> np.ndarray:
    """One random option at each site of a random half of the sites with options."""
    rng = np.random.default_rng(seed)
    sites = np.unique(net.option_site)
    sites = sites[rng.random(len(sites)) < 0.5]
    return np.array([rng.choice(np.flatnonzero(net.option_site == f)) for f in sites], dtype=int)


@pytest.mark.parametrize("seed", [0, 3, 6])
@pytest.mark.parametrize("start", ["drop", "lagrangian", "random"])
def test_the_search_never_returns_a_dearer_network(tmp_path, seed, start):
    net = generated(tmp_path, seed)
    builds = {"drop": lambda: greedy_builds(net),
              "lagrangian": lambda: lagrangian_bound(net, iterations=50).builds,
              "random": lambda: random_builds(net, seed)}[start]()
    found = improve(net, builds, trials=100_000)
    router = Router(net)  # re-price both networks from scratch
    assert found.start_cost == pytest.approx(priced(net, router, builds), rel=1e-12)
    assert found.cost == pytest.approx(priced(net, router, found.builds), rel=1e-12)
    assert found.cost <= found.start_cost
    sites = net.option_site[found.builds]
    assert len(np.unique(sites)) == len(sites)  # at most one size per site


def test_swaps_improve_a_drop_start_that_resizing_and_closing_cannot(tmp_path):
    # Seed 11 was found by trying seeds: DROP ends where no resize or closure helps.
    net = generated(tmp_path, 11)
    drop = greedy_builds(net)
    no_swaps = improve(net, drop, trials=100_000, neighbours=0)
    found = improve(net, drop, trials=100_000)
    assert no_swaps.moves == 0
    assert no_swaps.cost == no_swaps.start_cost
    assert found.cost < 0.9 * found.start_cost
    # Greedy routing prices a feasible network: never below the exact optimum.
    exact = solve_verified(tmp_path / "g11", tmp_path / "exact", "--solver",
                           profile_file(tmp_path, EXACT))
    assert exact["status"] == "optimal"
    assert found.cost >= exact["objective"] * (1 - 1e-9)


@pytest.mark.usefixtures("highs_log")
@pytest.mark.parametrize("source", ["drop", "lagrangian"])
def test_the_searched_start_gives_a_verified_run(tmp_path, source):
    folder = generate_instance(tmp_path / "g", regions=40, sites=12, seed=11)
    log = tmp_path / "highs.log"
    option = "heuristic_start" if source == "drop" else "lagrangian"
    solver = profile_file(tmp_path, EXACT + f"{option} = true\nlocal_search_trials = 100000\n"
                          + FIRST.format(log=log))
    meta = solve_verified(folder, tmp_path / "run", "--solver", solver)
    start = meta["start"]
    assert start["source"] == source
    assert "MIP start solution is feasible" in log.read_text()
    assert meta["status"] in ("solution_limit", "optimal")
    assert start["improved_cost"] <= start["cost"]
    # HiGHS re-routes the start's network optimally: no dearer than the greedy routing
    # (the generated instance has no existing sites' fixed cost outside the start's cost).
    assert meta["objective"] <= start["improved_cost"] * (1 + 1e-9)
