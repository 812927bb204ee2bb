"""p-median and facility counts: the Lagrangian bound, its networks and fixings, pricing."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from siting.engine.heuristics.lagrangian import lagrangian_bound
from siting.engine.steps import prepare
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.scenario import load_scenario
from support import EXACT, cli, profile_file, solve_verified

PMEDIAN = """[instance]
name = "p-median"
[layers]
regions = "regions.csv"
sites = "sites.csv"
[streams.demand]
transport_cost = 1.0
[tiers.facility]
sizes = [{{ name = "any", capacity = {capacity} }}]
"""


def pmedian(folder, n: int, seed: int, existing: int = 0):
    """A p-median: n clients that are also the candidate sites, great-circle costs.

    The first ``existing`` sites are existing facilities (open whatever the count says).
    """
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(100, 102, n), rng.uniform(30, 32, n)
    weights = rng.integers(1, 100, n)
    capacity = 2.0 * weights.sum()
    folder.mkdir(parents=True)
    ids = [f"c{i}" for i in range(n)]
    pd.DataFrame({"id": ids, "lon": lon, "lat": lat, "supply": weights}).to_csv(
        folder / "regions.csv", index=False)
    pd.DataFrame({"id": ids, "tier": "facility", "lon": lon, "lat": lat,
                  "existing_capacity": np.where(np.arange(n) < existing, capacity, 0.0)}).to_csv(
        folder / "sites.csv", index=False)
    (folder / "instance.toml").write_text(PMEDIAN.format(capacity=capacity))
    return folder


def scenario_file(folder, policy: str):
    path = folder / "count.toml"
    path.write_text(f'[scenario]\nname = "count"\n[[policy]]\ntype = "facility_count"\n{policy}\n')
    return path


def counted_open(instance, builds: np.ndarray, net, policy) -> int:
    """Open counted sites of a network, counted from the sites table (not the policy code)."""
    sites = instance.sites
    is_open = sites["existing_capacity"].to_numpy() > 0
    is_open[net.option_site[builds]] = True
    counted = np.ones(len(sites), dtype=bool) if policy.tier is None else (
        sites["tier"].to_numpy() == policy.tier)
    if policy.new_only:
        counted &= sites["existing_capacity"].to_numpy() == 0
    return int((is_open & counted).sum())


CASES = {
    "exactly-3": (lambda d: pmedian(d, 30, 0), "exactly = 3", 0.005),
    "exactly-5": (lambda d: pmedian(d, 40, 1), "exactly = 5", 0.005),
    "new-only": (lambda d: pmedian(d, 40, 2, existing=2),
                 'exactly = 2\ntier = "facility"\nnew_only = true', 0.005),
    # fixed costs and capacities: the count's bound is the larger, or the cover's
    "min": (lambda d: generate_instance(d, regions=40, sites=12, seed=0), "min = 8", 0.03),
    "max": (lambda d: generate_instance(d, regions=40, sites=12, seed=1, capacity_ratio=1.2),
            "max = 2", 0.03),
}


@pytest.mark.parametrize("case", CASES)
def test_bound_networks_and_fixings_are_sound(tmp_path, case):
    make, policy, close = CASES[case]
    folder = make(tmp_path / "instance")
    scenario = scenario_file(tmp_path, policy)
    instance, count = load_instance(folder), load_scenario(scenario)
    net = prepare(instance, count)
    relaxed = lagrangian_bound(net, 1000, None, 1e-4, count.policies)
    exact_profile = profile_file(tmp_path, EXACT + "lagrangian = false\n")
    out = tmp_path / "exact"
    exact = solve_verified(folder, out, "--scenario", scenario, "--solver", exact_profile)
    assert exact["status"] == "optimal"
    optimum = exact["objective"]
    assert optimum * (1 - close) <= relaxed.bound <= optimum * (1 + 1e-9)
    # The repaired network meets the count and cannot beat the optimum.
    assert np.isfinite(relaxed.cost)
    assert relaxed.cost >= optimum * (1 - 1e-9)
    n_open = counted_open(instance, relaxed.builds, net, count.policies[0])
    lower, upper = count.policies[0].bounds
    assert (lower or 0) <= n_open <= (upper if upper is not None else n_open)
    # No fixing excludes the optimal network (fixings are on builds: an existing site
    # "closed" builds nothing new).
    facilities = pd.read_csv(out / "facilities.csv")
    optimal_builds = set(facilities.loc[facilities["new_capacity"] > 0, "id"])
    ids = instance.sites["id"].to_numpy()
    assert not optimal_builds & set(ids[relaxed.closed])
    assert set(ids[relaxed.opened]) <= optimal_builds
    # Arcs are closed where every site takes whole supplies (p-medians), and the optimal
    # network ships nothing along them.
    if case.startswith(("exactly", "new")):
        assert relaxed.arcs_closed is not None
        assert len(relaxed.arcs_closed) > 0
        flows = pd.read_csv(out / "flows.csv")
        used = set(zip(flows["origin"], flows["destination"], strict=True))
        closed = relaxed.arcs_closed
        regions = instance.regions["id"].to_numpy()
        assert not used & set(zip(regions[net.flow_origin[closed]], ids[net.flow_dest[closed]],
                                  strict=True))
    else:
        assert relaxed.arcs_closed is None  # capacities: a supply may be split


def test_default_profile_on_a_pmedian_runs_the_relaxation_and_proves_the_optimum(tmp_path):
    folder = pmedian(tmp_path / "instance", 150, 3)  # 22,500 flows: `auto` runs it
    scenario = scenario_file(tmp_path, "exactly = 5")
    meta = solve_verified(folder, tmp_path / "default", "--scenario", scenario)
    exact = solve_verified(folder, tmp_path / "exact", "--scenario", scenario, "--solver",
                           profile_file(tmp_path, EXACT + "lagrangian = false\n"))
    assert "bound" in meta["lagrangian"]
    assert meta["lagrangian"]["arcs_closed"] > 0  # fixed at 0 in HiGHS's model
    assert meta["start"]["source"] == "lagrangian"
    assert meta["lagrangian"]["bound"] <= exact["objective"] * (1 + 1e-9)
    assert meta["bound_valid"]
    assert meta["mip_gap"] <= 1e-4
    assert meta["status"] == "optimal"
    assert meta["objective"] <= exact["objective"] * (1 + 1e-4)
    facilities = pd.read_csv(tmp_path / "default" / "facilities.csv")
    assert facilities["open"].astype(bool).sum() == 5


def test_local_search_leaves_a_counted_start_alone(tmp_path):
    # The search knows no policy: with one, the Lagrangian network is the start as it is.
    folder = pmedian(tmp_path / "instance", 40, 4)
    scenario = scenario_file(tmp_path, "exactly = 4")
    meta = solve_verified(folder, tmp_path / "run", "--scenario", scenario, "--solver",
                          profile_file(tmp_path, EXACT + "lagrangian = true\n"
                                       "lagrangian_iterations = 5\n"
                                       "local_search_trials = 100000\n"))
    assert meta["start"]["source"] == "lagrangian"
    assert meta["start"]["moves"] == 0
    assert meta["start"]["improved_cost"] == meta["start"]["cost"]
    assert meta["status"] == "optimal"


def test_pricing_bounds_a_pruned_pmedian(tmp_path):
    folder = pmedian(tmp_path / "instance", 40, 5)
    scenario = scenario_file(tmp_path, "exactly = 5")
    exact = solve_verified(folder, tmp_path / "exact", "--scenario", scenario, "--solver",
                           profile_file(tmp_path, EXACT + "lagrangian = false\n"))
    pruned = solve_verified(folder, tmp_path / "pruned", "--scenario", scenario, "--solver",
                            profile_file(tmp_path, EXACT + "lagrangian = false\n"
                                         "nearest_sites = 12\n"))
    pricing = pruned["pruning"]["pricing"]
    assert "skipped" not in pricing
    assert pricing["rounds"] >= 1
    assert pruned["bound_source"] == "pricing"
    assert pruned["best_bound"] <= exact["objective"] * (1 + 1e-9)
    assert pruned["objective"] >= exact["objective"] * (1 - 1e-9)
    if pruned["status"] == "optimal":
        assert pruned["objective"] == pytest.approx(exact["objective"], rel=1e-9)


@pytest.mark.parametrize("policy", ["exactly = 12", "max = 0"])
def test_an_impossible_count_is_a_clear_error(tmp_path, policy):
    # No network to repair (12 sites of 10: the relaxation is infinite; none: no capacity),
    # so none is the start and no site is fixed.
    folder = pmedian(tmp_path / "instance", 10, 6)
    scenario = scenario_file(tmp_path, policy)
    result = cli("solve", folder, "--out", tmp_path / "run", "--scenario", scenario, "--solver",
                 profile_file(tmp_path, EXACT + "lagrangian = true\n"))
    assert result.exit_code == 4, result.output
    assert "no network meets the scenario: facility_count cannot hold" in result.output
    assert not (tmp_path / "run").exists()
    relaxed = lagrangian_bound(prepare(load_instance(folder), load_scenario(scenario)),
                               policies=load_scenario(scenario).policies)
    assert relaxed.builds is None
    assert len(relaxed.closed) + len(relaxed.opened) == 0


@pytest.mark.parametrize(("existing", "iterations", "seed"),
                         [(0, 1000, 0), (0, 180, 0), (0, 210, 1), (1, 150, 2), (2, 210, 3)])
def test_closed_arcs_are_in_no_cheaper_network(tmp_path, existing, iterations, seed):
    # Every network of a 12-point p-median, by enumeration: none cheaper than the one in
    # hand ships a client's supply along an arc the relaxation closed. Fewer iterations
    # leave a wider gap, and close fewer arcs (57, 98, 20 and 58 of 144; 132 at the end).
    p = 4
    folder = pmedian(tmp_path / "instance", 12, seed, existing=existing)
    scenario = load_scenario(scenario_file(tmp_path, f"exactly = {p}"))
    net = prepare(load_instance(folder), scenario)
    relaxed = lagrangian_bound(net, iterations, None, 0.0, scenario.policies)
    closed = relaxed.arcs_closed
    assert closed is not None
    assert len(closed) > 0
    cost = np.full((12, 12), np.inf)  # per tonne, client x site
    cost[net.flow_origin, net.flow_dest] = net.flow_transport_cost + net.flow_processing_cost
    supply = net.supply.ravel()
    forced_least = np.full(len(closed), np.inf)  # cheapest network shipping along each arc
    for rest in itertools.combinations(range(existing, 12), p - existing):
        sites = [*range(existing), *rest]
        assigned = cost[:, sites].min(axis=1)
        total = supply @ assigned
        origin, dest = net.flow_origin[closed], net.flow_dest[closed]
        forced = total + supply[origin] * (cost[origin, dest] - assigned[origin])
        forced_least = np.where(np.isin(dest, sites), np.minimum(forced_least, forced),
                                forced_least)
    assert (forced_least >= relaxed.cost * (1 - 1e-9)).all()
