"""The warm start and lean linking (siting.engine.accelerate): faster, never a different answer."""

from __future__ import annotations

import numpy as np
import pytest

from siting.engine import accelerate
from siting.engine.accelerate import drop_unused_links, warm_start
from siting.engine.heuristics.drop import builds_start
from siting.engine.heuristics.lagrangian import lagrangian_bound
from siting.engine.highs import HighsModel, SolverProfile, highspy
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.instance.network import build_network
from siting.model.core import build_model
from siting.model.spec import ModelSpec
from support import EXACT, profile_file, solve_verified

PLAIN = EXACT + "lagrangian = false\nwarm_start_sites = 0\nlean_linking = false\n"


@pytest.fixture
def capa_like(tmp_path):
    """A tight capa-like instance: 120 customers, 20 sites at twice the mean demand."""
    return generate_instance(tmp_path / "g", regions=120, sites=20, streams=1, seed=4,
                             capacity_ratio=2, single_size=True)


def test_lean_linking_keeps_the_lp_bound(capa_like):
    net = build_network(load_instance(capa_like))
    m = build_model(net, [], "cost", True)
    profile = SolverProfile(lean_linking=True)
    model = HighsModel(m, profile)  # compiled once: the LPs below run on the same HiGHS model
    rows = model.highs.getNumRow()
    full, _ = model.relaxation()
    lean = drop_unused_links(model, profile)
    assert lean["rows"] == 120 * 20
    assert 0 < lean["dropped"] < lean["rows"]
    assert model.highs.getNumRow() == rows - lean["dropped"]
    kept, _ = model.relaxation()
    assert kept == pytest.approx(full, rel=1e-9)
    # The rows dropped were doing work somewhere: without any, the LP is weaker.
    assert model.drop_rows(m, "link", np.ones(120 * 20, dtype=bool)) == 120 * 20 - lean["dropped"]
    assert model.highs.getNumRow() == rows - 120 * 20
    weak, _ = model.relaxation()
    assert weak < full * (1 - 1e-4)


def test_lean_linking_after_the_lagrangian_keeps_the_rows_of_negative_reduced_cost(capa_like):
    # No LP: a row stays where its flow costs less than its pair's multiplier.
    net = build_network(load_instance(capa_like))
    multipliers = lagrangian_bound(net, 200).multipliers
    m = build_model(net, [], "cost", True)
    profile = SolverProfile(lean_linking=True)
    model = HighsModel(m, profile)
    rows = model.highs.getNumRow()
    lean = drop_unused_links(model, profile, multipliers)
    negative = net.flow_transport_cost + net.flow_processing_cost < multipliers[net.flow_pair]
    assert lean["by"] == "lagrangian"
    assert lean["rows"] == 120 * 20
    assert lean["rows"] - lean["dropped"] == negative.sum()
    assert 0 < lean["dropped"] < lean["rows"]
    assert model.highs.getNumRow() == rows - lean["dropped"]


def test_lean_rows_chosen_by_the_lagrangian_keep_the_optimum(capa_like, tmp_path, monkeypatch):
    plain = solve_verified(capa_like, tmp_path / "plain", "--solver",
                           profile_file(tmp_path, PLAIN))
    monkeypatch.setattr("siting.engine.accelerate.AUTO_FLOWS", 1000)  # 120 x 20 = 2400 flows
    lean = solve_verified(capa_like, tmp_path / "lean", "--solver", profile_file(
        tmp_path, EXACT + "lagrangian = true\nlagrangian_iterations = 200\n"
        "warm_start_sites = 0\n"))
    assert lean["lean_linking"]["by"] == "lagrangian"
    assert lean["lean_linking"]["dropped"] > 0
    assert lean["status"] == plain["status"] == "optimal"
    assert lean["objective"] == pytest.approx(plain["objective"], rel=1e-7)


def test_lean_linking_keeps_every_row_when_its_lp_runs_out_of_iterations(capa_like):
    m = build_model(build_network(load_instance(capa_like)), [], "cost", True)
    profile = SolverProfile(lean_linking=True, lean_linking_iterations=1)
    model = HighsModel(m, profile)
    rows = model.highs.getNumRow()
    assert drop_unused_links(model, profile) is None
    assert model.highs.getNumRow() == rows


def test_an_lp_stopped_by_the_budget_does_not_stop_the_next_solve(capa_like):
    # HiGHS kept the interrupt of a stopped LP for the next run: the network routed after a
    # lean-linking LP cut short by the time limit came back "interrupted", with no solution
    stop = [True]
    m = build_model(build_network(load_instance(capa_like)), [], "cost", True)
    model = HighsModel(m, SolverProfile(lean_linking=True), lambda: stop[0])
    assert model.relaxation() is None  # stopped at once
    stop[0] = False
    result = model.solve()
    assert result.status == "optimal"
    assert result.has_solution


def solve_both(capa_like, tmp_path, monkeypatch, nearest: int, *extra) -> tuple[dict, dict]:
    """solution.json of HiGHS alone and of the accelerated steps (restricted to ``nearest``)."""
    plain = solve_verified(capa_like, tmp_path / "plain", "--solver",
                           profile_file(tmp_path, PLAIN), *extra)
    monkeypatch.setattr("siting.engine.accelerate.AUTO_FLOWS", 1000)  # 120 x 20 = 2400 flows
    fast = solve_verified(capa_like, tmp_path / "fast", "--solver",
                          profile_file(tmp_path, EXACT + "lagrangian = false\n"
                                       f"warm_start_sites = {nearest}\n"), *extra)
    assert "warm_start" not in plain
    assert "lean_linking" not in plain
    assert fast["lean_linking"]["dropped"] > 0
    assert fast["status"] == plain["status"] == "optimal"
    assert fast["bound_source"] == "highs"
    assert fast["objective"] == pytest.approx(plain["objective"], rel=1e-7)
    return plain, fast


@pytest.mark.parametrize("policy", [None, "max = 12"])
def test_the_default_profile_proves_the_same_optimum(capa_like, tmp_path, monkeypatch, policy):
    extra = []
    if policy:  # the restricted model carries the scenario's policies: its start is feasible
        path = tmp_path / "cap.toml"
        path.write_text(f'[scenario]\nname = "cap"\n[[policy]]\ntype = "facility_count"\n'
                        f"{policy}\n")
        extra = ["--scenario", path]
    _, fast = solve_both(capa_like, tmp_path, monkeypatch, 6, *extra)
    assert fast["warm_start"]["nearest_sites"] == 6
    assert fast["start"] == {"source": "restricted", "cost": fast["warm_start"]["cost"]}
    assert fast["warm_start"]["cost"] >= fast["objective"] * (1 - 1e-9)


def test_a_restricted_model_without_a_network_leaves_no_start(capa_like, tmp_path, monkeypatch):
    # Capacity for twice the demand, but each customer restricted to its nearest site
    # cannot reach enough of it: the restricted model is infeasible, the full one is not.
    _, fast = solve_both(capa_like, tmp_path, monkeypatch, 1)
    assert "warm_start" not in fast
    assert "start" not in fast


def test_the_steps_skip_small_networks_and_narrow_profiles(capa_like, monkeypatch):
    net = build_network(load_instance(capa_like))
    default = SolverProfile()

    def warm(profile):
        return warm_start(net, ModelSpec(), profile, lambda: False, 60.0)

    assert warm(default) is None  # 2400 flows: too small
    m = build_model(net, [], "cost", True)
    assert drop_unused_links(HighsModel(m, default), default) is None
    monkeypatch.setattr("siting.engine.accelerate.AUTO_FLOWS", 1000)
    assert warm(SolverProfile(nearest_sites=8, warm_start_sites=10)) is None  # pruned as tight
    assert warm(SolverProfile(warm_start_sites=0)) is None
    assert warm(default).nearest == 10




def test_highs_does_not_start_a_search_its_root_lp_would_overrun(capa_like, tmp_path,
                                                                   monkeypatch):
    # HiGHS cannot stop inside the root LP of its search: with less time left than the
    # lean-linking LP took, the run routes the network in hand and says it was stopped.
    drop = accelerate.drop_unused_links
    monkeypatch.setattr(accelerate, "drop_unused_links",
                        lambda *args: {**drop(*args), "seconds": 1e6})  # a very slow LP
    meta = solve_verified(capa_like, tmp_path / "run", "--solver", profile_file(
        tmp_path, EXACT + "lagrangian = true\nlagrangian_iterations = 20\n"
        "warm_start_sites = 0\nlean_linking = true\n"))
    assert meta["status"] == "time_limit"
    assert meta["objective"] == pytest.approx(meta["lagrangian"]["heuristic_cost"], rel=1e-9)
    assert meta["bound_source"] == "lagrangian"
    assert "step_solve_s" not in meta["timings"]


def test_the_warm_start_runs_only_where_the_lagrangian_network_is_near(tmp_path, monkeypatch):
    # Few sites serving far regions (the tight shape): the problem restricted to the
    # nearest sites cannot hold such a network, so the warm start is skipped; where the
    # network reaches every region from its nearest sites (capa-like), it runs.
    tight = generate_instance(tmp_path / "tight", regions=120, sites=20, streams=1, seed=0,
                              capacity_ratio=15, shape="tight")
    near = generate_instance(tmp_path / "near", regions=120, sites=20, streams=1, seed=4,
                             capacity_ratio=2, single_size=True)
    net = build_network(load_instance(tight))
    assert accelerate.reaches(net, np.arange(len(net.option_site)), 3) == 1.0
    assert accelerate.reaches(net, np.array([0]), 3) < 0.5
    monkeypatch.setattr("siting.engine.accelerate.AUTO_FLOWS", 1000)
    profile = profile_file(tmp_path, EXACT + "lagrangian = true\nlagrangian_iterations = 30\n"
                           "warm_start_sites = 6\n")
    far_meta = solve_verified(tight, tmp_path / "far", "--solver", profile)
    near_meta = solve_verified(near, tmp_path / "near-run", "--solver", profile)
    lagrangian = far_meta["lagrangian"]  # a network, not proven by the relaxation
    assert lagrangian["heuristic_cost"] > lagrangian["bound"] * (1 + 1e-4)
    assert "warm_start" not in far_meta
    assert near_meta["warm_start"]["nearest_sites"] == 6


def test_a_network_with_every_integer_fixed_is_routed_as_an_lp(capa_like):
    # the same optimum as HiGHS's MIP solver on the fixed network, and the model keeps its
    # integer columns for what comes after (the marginal-cost LP fixes them again)
    net = build_network(load_instance(capa_like))
    relaxed = lagrangian_bound(net, 50)
    profile = SolverProfile(mip_rel_gap=0.0)
    m = build_model(net, [], "cost", True)
    model = HighsModel(m, profile)
    routed = model.route(builds_start(m, relaxed.builds))
    as_mip = HighsModel(m, profile)
    as_mip.fix(builds_start(m, relaxed.builds))
    assert routed.status == as_mip.solve().status == "optimal"
    assert routed.objective == pytest.approx(as_mip.highs.getInfo().objective_function_value,
                                             rel=1e-9)
    integrality = model.highs.getLp().integrality_
    assert [int(integrality[j]) for j in np.flatnonzero(model.integer)] == \
        [int(highspy.HighsVarType.kInteger)] * int(model.integer.sum())
    assert routed.objective == pytest.approx(relaxed.cost, rel=1e-6)  # its own transport LP
