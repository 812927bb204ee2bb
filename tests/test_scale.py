"""Pruning, the DROP heuristic and the MIP start: real models, real HiGHS, verified runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from siting.engine.heuristics.drop import builds_start, greedy_builds
from siting.engine.highs import SolverProfile, solve_model
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.instance.network import build_network
from siting.instance.prune import prune_nearest
from siting.instance.size import check_fits_memory
from siting.model.core import build_model
from support import EXACT, profile_file, solve_verified


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return generate_instance(tmp_path_factory.mktemp("gen") / "g", regions=40, sites=10, seed=3)


def test_pruning_keeps_the_k_nearest_sites_of_each_region_and_stream(small):
    net = build_network(load_instance(small))
    pruned = prune_nearest(net, 3)
    kept = pruned.net
    key = kept.flow_origin * 10 + kept.flow_stream
    assert np.bincount(key).max() == 3
    km = net.arc_km[net.flow_arc]
    for r, s in [(0, 0), (17, 1)]:
        full = np.sort(km[(net.flow_origin == r) & (net.flow_stream == s)])
        mine = np.sort(kept.arc_km[kept.flow_arc][(kept.flow_origin == r)
                                                  & (kept.flow_stream == s)])
        np.testing.assert_allclose(mine, full[:3])
    assert pruned.edge.sum() == len(np.unique(key))


def test_binding_check_reports_a_region_pushed_to_the_edge(tiny, tmp_path):
    # Capacity 50: r2's 60 t need both plants; with one neighbour (and no pricing to put
    # the other back) it ships to its edge, and the cut run is not called optimal.
    folder = tiny(capacity=50, fixed=1)
    (tmp_path / "k1.toml").write_text(EXACT + "nearest_sites = 1\npricing_rounds = 0\n")
    (tmp_path / "k2.toml").write_text(EXACT + "nearest_sites = 2\n")
    cut = solve_verified(folder, tmp_path / "k1", "--solver", tmp_path / "k1.toml")
    assert "r2" in cut["pruning"]["binding_regions"]
    assert cut["status"] == "feasible"
    full = solve_verified(folder, tmp_path / "k2", "--solver", tmp_path / "k2.toml")
    assert full["pruning"]["binding_regions"] == []
    assert full["objective"] == pytest.approx(2 + 40 + 50 + 100 + 1000)
    assert cut["objective"] > full["objective"]


def test_greedy_builds_are_a_feasible_network(small):
    net = build_network(load_instance(small))
    chosen = greedy_builds(net)
    assert len(set(net.option_site[chosen].tolist())) == len(chosen)
    capacity = net.site_existing.sum() + net.option_capacity[chosen].sum()
    assert capacity >= net.supply.sum() * 0.5


def test_highs_uses_the_heuristic_start(small, tmp_path):
    # HiGHS's log says whether it took the start: it completes the flows by an LP first.
    m = build_model(build_network(load_instance(small)))
    start = builds_start(m, greedy_builds(m.net))
    log = tmp_path / "highs.log"
    profile = SolverProfile(mip_rel_gap=0, options={"output_flag": True, "log_to_console": False,
                                                    "log_file": str(log)})
    result = solve_model(m, profile, start)
    text = log.read_text()
    assert "MIP start solution is feasible" in text
    start_objective = float(text.split("MIP start solution is feasible: objective value is")[1]
                            .split()[0])
    assert result.status == "optimal"
    assert result.objective <= start_objective + 1e-6


def test_pruned_heuristic_solve_matches_the_full_optimum(small, tmp_path):
    (tmp_path / "exact.toml").write_text(EXACT)
    (tmp_path / "fast.toml").write_text(EXACT + "nearest_sites = 6\nheuristic_start = true\n")
    full = solve_verified(small, tmp_path / "full", "--solver", tmp_path / "exact.toml")
    fast = solve_verified(small, tmp_path / "fast", "--solver", tmp_path / "fast.toml")
    assert fast["pruning"]["binding_regions"] == []
    assert fast["objective"] == pytest.approx(full["objective"], rel=1e-6)
    assert json.loads((tmp_path / "fast" / "solution.json").read_text())["solver"][
        "heuristic_start"] is True


def test_a_large_network_is_pruned_unless_the_profile_says_all(tmp_path, monkeypatch):
    # The size at which an unset nearest_sites prunes, lowered to this 1,200-flow network:
    # the run keeps each region's 10 nearest sites and the Lagrangian network's arcs, and
    # its gap is against the Lagrangian bound, valid for every arc.
    monkeypatch.setattr("siting.instance.prune.AUTO_PRUNE_FLOWS", 1000)
    folder = generate_instance(tmp_path / "g", regions=60, sites=20, streams=1, seed=2)
    gap = "[solver]\nmip_rel_gap = 0.001\nlagrangian = true\n"
    auto = solve_verified(folder, tmp_path / "auto", "--solver", profile_file(tmp_path, gap))
    assert auto["pruning"]["automatic"] is True
    assert auto["pruning"]["nearest_sites"] == 10
    assert 0 < auto["pruning"]["flows_cut"] <= 600
    assert (auto["bound_valid"], auto["bound_source"]) == (True, "lagrangian")
    every = solve_verified(folder, tmp_path / "all", "--solver",
                           profile_file(tmp_path, gap + 'nearest_sites = "all"\n'))
    assert "pruning" not in every
    assert auto["best_bound"] <= every["objective"] * (1 + 1e-9)
    assert auto["objective"] == pytest.approx(every["objective"], rel=1e-3)
    instance = load_instance(folder)
    assert check_fits_memory(instance).model_flows == 600
    assert check_fits_memory(instance, "all").model_flows == 1200
