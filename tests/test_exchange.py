"""Close and swap moves (siting.engine.heuristics.exchange): cheaper networks, priced exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from siting.engine.heuristics.exchange import exchange
from siting.engine.heuristics.lagrangian import lagrangian_bound, proven_sites
from siting.engine.heuristics.transport import route_exactly
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.instance.network import build_network
from support import EXACT, profile_file, solve_verified

PLAIN = EXACT + "lagrangian = false\nwarm_start_sites = 0\nlean_linking = false\n"


@pytest.fixture
def tight(tmp_path):
    """The tight shape at ratio 8: 100 regions, 20 sites, the optimum opens about 3."""
    return generate_instance(tmp_path / "g", regions=100, sites=20, streams=1, seed=2,
                             capacity_ratio=8, shape="tight")


def poor_start(net) -> np.ndarray:
    """One option at each of the first sites, two more than the supply needs: a poor network."""
    first = np.unique(net.option_site, return_index=True)[1]
    count = int(np.searchsorted(np.cumsum(net.option_capacity[first]), net.supply.sum())) + 2
    return first[:count]


def test_moves_lower_the_cost_of_a_poor_network_to_its_exact_routing(tight, tmp_path):
    net = build_network(load_instance(tight))
    builds = poor_start(net)
    cost, routed = route_exactly(net, builds)
    assert np.isfinite(cost)
    found = exchange(net, builds, cost, routed)
    assert found.moves > 0
    assert found.cost < cost * (1 - 1e-3)
    again, flows = route_exactly(net, found.builds)  # priced as built
    assert found.cost == pytest.approx(again, rel=1e-9)
    assert set(found.routed.tolist()) == set(flows.tolist())
    assert len(set(net.option_site[found.builds].tolist())) == len(found.builds)
    optimum = solve_verified(tight, tmp_path / "exact", "--solver",
                             profile_file(tmp_path, PLAIN))["objective"]
    assert found.cost >= optimum * (1 - 1e-9)


def test_no_work_or_a_stop_leaves_the_network_as_it_was(tight):
    net = build_network(load_instance(tight))
    builds = poor_start(net)
    cost, routed = route_exactly(net, builds)
    for found in (exchange(net, builds, cost, routed, work=0),
                  exchange(net, builds, cost, routed, stop=lambda: True)):
        assert found.evaluations == found.moves == 0
        assert found.cost == cost
        assert (found.builds == builds).all()
    few = exchange(net, builds, cost, routed, work=3 * 100 * len(builds))  # three moves' flows
    assert few.evaluations == 3


def test_fixed_sites_stay_open_or_closed(tight):
    net = build_network(load_instance(tight))
    builds = poor_start(net)
    cost, routed = route_exactly(net, builds)
    free = exchange(net, builds, cost, routed)
    opened = np.setdiff1d(net.option_site[free.builds], net.option_site[builds])
    assert len(opened)  # unfixed, the moves open sites the start had closed
    fixed = np.r_[net.option_site[builds][:1], opened]
    held = exchange(net, builds, cost, routed, fixed=fixed)
    sites = net.option_site[held.builds]
    assert net.option_site[builds][0] in sites
    assert not np.isin(opened, sites).any()
    assert held.cost >= free.cost * (1 - 1e-9)


def test_a_cheaper_network_proves_more_sites_and_each_as_the_optimum_has_it(tight, tmp_path):
    net = build_network(load_instance(tight))
    multipliers = lagrangian_bound(net, 20).multipliers
    builds = poor_start(net)
    cost, routed = route_exactly(net, builds)
    found = exchange(net, builds, cost, routed)
    before = proven_sites(net, multipliers, cost)
    closed, opened = proven_sites(net, multipliers, found.cost)
    assert set(before[0].tolist()) <= set(closed.tolist())
    assert set(before[1].tolist()) <= set(opened.tolist())
    assert len(closed) + len(opened) > len(before[0]) + len(before[1])
    solve_verified(tight, tmp_path / "exact", "--solver", profile_file(tmp_path, PLAIN))
    is_open = pd.read_csv(tmp_path / "exact" / "facilities.csv")["open"].to_numpy()
    assert not is_open[closed].any()
    assert is_open[opened].all()


def test_a_run_improves_the_relaxation_s_network_and_proves_the_optimum(tmp_path):
    # Few sites (3 of 40) serve regions from far: the warm start cannot hold their network,
    # so close and swap moves improve it; five iterations leave a poor one to improve.
    folder = generate_instance(tmp_path / "g", regions=100, sites=40, streams=1, seed=2,
                               capacity_ratio=8, shape="tight")
    optimum = solve_verified(folder, tmp_path / "exact", "--solver",
                             profile_file(tmp_path, PLAIN))["objective"]
    meta = solve_verified(folder, tmp_path / "run", "--solver", profile_file(
        tmp_path, EXACT + "lagrangian = true\nlagrangian_iterations = 5\n"))
    assert meta["exchange"]["moves"] > 0
    assert meta["exchange"]["fixed_closed"] >= meta["lagrangian"]["fixed_closed"]
    assert meta["exchange"]["cost"] < meta["lagrangian"]["heuristic_cost"]
    assert meta["exchange"]["cost"] >= optimum * (1 - 1e-9)
    assert meta["start"] == {"source": "exchange", "cost": meta["exchange"]["cost"]}
    assert meta["status"] == "optimal"
    assert meta["objective"] == pytest.approx(optimum, rel=1e-7)
