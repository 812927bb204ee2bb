"""Properties of the solver on random small instances (hypothesis), each run verified.

Every instance is written as files and solved end to end through the CLI into a run
folder, exactly (``mip_rel_gap = 0``), and every solution must pass the independent
verifier. The examples are derandomized: CI sees the same instances on every run.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.instance.network import build_network
from siting.results.runfiles import read_table
from siting.verify.checks import verify_run
from support import brute_force_optimum, cli, priced_builds

EXACT = "[solver]\nmip_rel_gap = 0\ntime_limit = 60\nthreads = 1\nseed = 0\n"
SETTINGS = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
REL = 1e-6


@dataclass(frozen=True)
class Site:
    """A site of a tiny instance: its tier (0 or 1), existing capacity, km to each origin."""

    tier: int
    existing: float
    km: tuple[float, ...]  # from each region (tier 0) or each tier-0 site (tier 1)


@dataclass(frozen=True)
class Tiny:
    """A tiny instance, written to files by :func:`write_tiny`; costs times ``scale``."""

    supply: tuple[tuple[float, ...], ...]  # region x stream
    transport: tuple[float, ...]  # per stream, per t-km
    penalty: tuple[float | None, ...]  # per stream; None: collection is mandatory
    processing: tuple[float, ...]  # per tier
    sizes: tuple[tuple[tuple[float, float, float], ...], ...]  # per tier: (cap, fixed, min)
    sites: tuple[Site, ...]
    scale: float = 1.0

    @property
    def n_tiers(self) -> int:
        return len(self.processing)


def write_tiny(folder: Path, tiny: Tiny) -> Path:
    """Write ``tiny`` as an instance folder (CSV layers and a distance matrix)."""
    folder.mkdir(parents=True)
    c = tiny.scale
    tiers = ["collection", "plant"][-tiny.n_tiers:]
    streams = [f"s{j}" for j in range(len(tiny.transport))]
    toml = ['[instance]\nname = "tiny"', '[layers]\nregions = "regions.csv"\n'
            'sites = "sites.csv"\ndistances = "distances.csv"', '[distance]\nmethod = "matrix"']
    for s, cost, penalty in zip(streams, tiny.transport, tiny.penalty, strict=True):
        toml.append(f"[streams.{s}]\ntransport_cost = {cost * c!r}"
                    + ("" if penalty is None else f"\nuncollected_penalty = {penalty * c!r}"))
    for tier, cost, sizes in zip(tiers, tiny.processing, tiny.sizes, strict=True):
        options = ", ".join(f'{{ name = "L{k}", capacity = {cap!r}, fixed_cost = {fixed * c!r}, '
                            f"min_throughput = {low!r} }}"
                            for k, (cap, fixed, low) in enumerate(sizes))
        toml.append(f"[tiers.{tier}]\nprocessing_cost = {cost * c!r}\nsizes = [{options}]")
    (folder / "instance.toml").write_text("\n\n".join(toml) + "\n")
    regions = pd.DataFrame({"id": [f"r{i}" for i in range(len(tiny.supply))],
                            "lon": 100.0, "lat": 30.0})
    for j, s in enumerate(streams):
        regions[f"supply_{s}"] = [row[j] for row in tiny.supply]
    regions.to_csv(folder / "regions.csv", index=False)
    sites = pd.DataFrame({"id": [f"f{i}" for i in range(len(tiny.sites))],
                          "tier": [tiers[site.tier] for site in tiny.sites],
                          "lon": 100.0, "lat": 30.0,
                          "existing_capacity": [site.existing for site in tiny.sites]})
    sites.to_csv(folder / "sites.csv", index=False)
    first = [i for i, site in enumerate(tiny.sites) if site.tier == 0]
    rows = []
    for i, site in enumerate(tiny.sites):
        origins = regions["id"] if site.tier == 0 else [f"f{f}" for f in first]
        rows += [(origin, f"f{i}", km) for origin, km in zip(origins, site.km, strict=True)]
    pd.DataFrame(rows, columns=["origin", "destination", "km"]).to_csv(
        folder / "distances.csv", index=False)
    return folder


money = st.integers(0, 5000).map(float)
km = st.integers(1, 60).map(float)


@st.composite
def size_options(draw) -> tuple[float, float, float]:
    """A size option: capacity, fixed cost, and a minimum throughput of 0 or 20% of capacity."""
    capacity = float(draw(st.integers(10, 300)))
    return capacity, draw(money), draw(st.sampled_from([0.0, 0.0, 0.2])) * capacity


sizes_ = size_options()


@st.composite
def tinies(draw, max_sites: int = 4) -> Tiny:
    """A random instance of 1-3 regions, 1-2 streams, 1-2 tiers and 1-``max_sites`` sites."""
    n_regions, n_streams = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    n_tiers = draw(st.integers(1, 2))
    supply = draw(st.lists(st.tuples(*[st.integers(0, 100).map(float)] * n_streams),
                           min_size=n_regions, max_size=n_regions))
    per_tier = range(1, max_sites // n_tiers + 1)  # sampled, not shrunk towards 1 site
    counts = [draw(st.sampled_from(per_tier)) for _ in range(n_tiers)]
    sizes = tuple(tuple(draw(st.lists(sizes_, min_size=1, max_size=2))) for _ in range(n_tiers))
    sites = []
    for tier, count in enumerate(counts):
        origins = n_regions if tier == 0 else counts[0]
        for _ in range(count):
            existing = draw(st.sampled_from([0.0, 0.0, 0.0, 50.0]))
            sites.append(Site(tier, existing, tuple(draw(st.lists(
                km, min_size=origins, max_size=origins)))))
    return Tiny(supply=tuple(supply),
                transport=tuple(draw(st.lists(st.sampled_from([0.5, 1.0, 3.0]),
                                              min_size=n_streams, max_size=n_streams))),
                penalty=tuple(draw(st.lists(st.one_of(st.none(), money), min_size=n_streams,
                                            max_size=n_streams))),
                processing=tuple(draw(st.lists(st.integers(0, 50).map(float),
                                               min_size=n_tiers, max_size=n_tiers))),
                sizes=sizes, sites=tuple(sites))


def solved(instance: Path, out: Path) -> dict | None:
    """Solve exactly through the CLI; return solution.json of the verified run, None if
    the instance is infeasible (exit code 4, no run folder)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = out.parent / "exact.toml"
    profile.write_text(EXACT)
    result = cli("solve", instance, "--out", out, "--solver", profile)
    if result.exit_code == 4:
        assert not out.exists()
        return None
    assert result.exit_code == 0, result.output
    report = verify_run(out)
    assert report.ok, report.problems
    return json.loads((out / "solution.json").read_text())


def cost(meta: dict | None) -> float:
    """The optimal cost of a run, inf for an infeasible instance."""
    return np.inf if meta is None else meta["objective"]


@st.composite
def generated(draw) -> dict:
    """Arguments of generate_instance: up to 30 regions, 8 sites, 3 streams, 2 tiers."""
    return {"regions": draw(st.integers(2, 30)), "sites": draw(st.integers(3, 8)),
            "streams": draw(st.integers(1, 3)), "tiers": draw(st.integers(1, 2)),
            "seed": draw(st.integers(0, 10**6)),
            "capacity_ratio": draw(st.sampled_from([0.5, 1.0, 2.0])),
            "existing_share": draw(st.sampled_from([0.0, 0.3]))}


@SETTINGS
@given(args=generated(), mandatory=st.booleans())
def test_every_solution_of_a_generated_instance_passes_the_verifier(args, mandatory):
    with tempfile.TemporaryDirectory() as tmp:
        folder = generate_instance(Path(tmp) / "inst", **args)
        if mandatory:  # the first stream must be collected in full
            toml = folder / "instance.toml"
            toml.write_text(toml.read_text().replace("uncollected_penalty = 6000\n", "", 1))
        meta = solved(folder, Path(tmp) / "run")
        if meta is not None:
            assert meta["status"] == "optimal"
        else:  # infeasible only when a mandatory stream cannot fit in the capacity offered
            assert mandatory


@settings(SETTINGS, max_examples=20)  # cheap: one solve per example
@given(tiny=tinies())
@example(tiny=Tiny(  # nothing to decide: HiGHS calls the model empty, still optimal
    supply=((0.0,),), transport=(0.5,), penalty=(None,), processing=(0.0,),
    sizes=(((10.0, 0.0, 0.0),),), sites=(Site(0, 0.0, (1.0,)),)))
@example(tiny=Tiny(  # infeasible: 100 t must be collected, 60 t of capacity: exit code 4
    supply=((100.0,),), transport=(1.0,), penalty=(None,), processing=(5.0,),
    sizes=(((30.0, 10.0, 0.0),),), sites=(Site(0, 0.0, (1.0,)), Site(0, 0.0, (2.0,)))))
def test_the_optimum_of_a_tiny_instance_equals_brute_force(tiny):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny(Path(tmp) / "inst", tiny)
        expected = brute_force_optimum(folder)
        got = cost(solved(folder, Path(tmp) / "run"))
    event(f"{tiny.n_tiers} tier(s), {len(tiny.sites)} sites")  # --hypothesis-show-statistics
    event("infeasible" if np.isinf(expected) else "feasible")
    assert got == pytest.approx(expected, rel=REL, abs=1e-6)


def builds(run: Path) -> dict[str, str]:
    """The size built at each site of a run folder (empty where none)."""
    facilities = read_table(run, "facilities")
    return dict(zip(facilities["id"], facilities["size"], strict=True))


def priced_run_builds(instance: Path, run: Path) -> float:
    """The least cost, in ``instance``, of the sizes that ``run`` built."""
    net = build_network(load_instance(instance))
    ids = net.instance.sites["id"].to_numpy()
    chosen = set(builds(run).items())
    return priced_builds(net, [j for j in range(len(net.option_site))
                               if (ids[net.option_site[j]], net.option_size[j]) in chosen])


@SETTINGS
@given(tiny=tinies(), scale=st.sampled_from([0.001, 0.5, 7.0, 1000.0]))
def test_scaling_every_cost_leaves_the_build_decisions_unchanged(tiny, scale):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        one = write_tiny(tmp / "one", tiny)
        base = solved(one, tmp / "runs" / "one")
        scaled = solved(write_tiny(tmp / "scaled", replace(tiny, scale=scale)),
                        tmp / "runs" / "scaled")
        assert (base is None) == (scaled is None)
        if base is None:
            return
        assert scaled["objective"] == pytest.approx(scale * base["objective"], rel=REL, abs=1e-6)
        chosen, other = builds(tmp / "runs" / "one"), builds(tmp / "runs" / "scaled")
        event("same builds" if chosen == other else "a tie")
        if chosen != other:  # a tie: the scaled run's builds cost the same, unscaled
            assert priced_run_builds(one, tmp / "runs" / "scaled") == pytest.approx(
                base["objective"], rel=REL, abs=1e-6)


def with_more_capacity(tiny: Tiny, how: str, fixed: float, km_new: tuple[float, ...]) -> Tiny:
    """``tiny`` with a larger size option in its first tier, or an extra first-tier site."""
    if how == "bigger size":
        largest = max(cap for cap, _, _ in tiny.sizes[0])
        sizes = (tiny.sizes[0] + ((2 * largest, fixed, 0.0),), *tiny.sizes[1:])
        return replace(tiny, sizes=sizes)
    first = [site for site in tiny.sites if site.tier == 0]
    extra = Site(0, 0.0, km_new[:len(tiny.supply)])
    plants = [replace(site, km=(*site.km, km_new[-1]))  # the extra site is one more origin
              for site in tiny.sites if site.tier == 1]
    return replace(tiny, sites=(*first, extra, *plants))


@SETTINGS
@given(tiny=tinies(), how=st.sampled_from(["bigger size", "extra site"]), fixed=money,
       km_new=st.lists(km, min_size=4, max_size=4).map(tuple))
def test_adding_capacity_never_raises_the_optimal_cost(tiny, how, fixed, km_new):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = cost(solved(write_tiny(tmp / "before", tiny), tmp / "runs" / "before"))
        more = with_more_capacity(tiny, how, fixed, km_new)
        after = cost(solved(write_tiny(tmp / "after", more), tmp / "runs" / "after"))
    assert after <= before * (1 + REL) + 1e-6
