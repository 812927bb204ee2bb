"""Test helpers: instances written in code, and solving through the CLI + verifier."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from siting.cli.main import app
from siting.instance.load import load_instance
from siting.instance.network import Network, build_network
from siting.verify.checks import verify_run

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "instances" / "demo"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's chromium, driven by Playwright
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def write_instance(folder: Path, toml: str, regions: str, sites: str, **files: str) -> Path:
    """Write an instance folder from text: instance.toml, regions.csv, sites.csv and extras."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "instance.toml").write_text(toml)
    (folder / "regions.csv").write_text(regions)
    (folder / "sites.csv").write_text(sites)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text)
    return folder


TINY_TOML = """
[instance]
name = "tiny"
[layers]
regions = "regions.csv"
sites = "sites.csv"
[distance]
method = "matrix"
[streams.s]
transport_cost = 1.0
uncollected_penalty = {penalty}
[tiers.plant]
processing_cost = 10
sizes = [{{ name = "A", capacity = {capacity}, fixed_cost = {fixed} }}]
"""


runner = CliRunner()


def cli(*args: str):
    """Run the siting CLI in-process and return the Click result."""
    return runner.invoke(app, [str(a) for a in args])


def solve_verified(instance: Path, out: Path, *extra: str) -> dict:
    """Solve through the CLI, check the run with the verifier, and return solution.json."""
    result = cli("solve", instance, "--out", out, *extra)
    assert result.exit_code == 0, result.output
    report = verify_run(out)
    assert report.ok, report.problems
    return json.loads((out / "solution.json").read_text())


EXACT = "[solver]\ntime_limit = 600\nmip_rel_gap = 0\nthreads = 1\n"  # proven optimum


def profile_file(folder: Path, text: str) -> Path:
    """Write the solver profile ``text`` to ``folder/profile.toml`` and return its path."""
    path = folder / "profile.toml"
    path.write_text(text)
    return path


def import_orlib(name: str, folder: Path) -> Path:
    """Import OR-Library's ``name`` (from ../shared; skip when absent) into ``folder/name``."""
    result = cli("import", "orlib-cap", shared_or_skip("data", "orlib", f"{name}.txt"),
                 folder / name)
    assert result.exit_code == 0, result.output
    return folder / name


def shared_or_skip(*parts: str) -> Path:
    """A path under ../shared/, or skip the test loudly when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the shared data folder beside the project")
    return path


def brute_force_optimum(instance_dir: Path) -> float:
    """Enumerate every build decision, price each with scipy's LP; inf if none is feasible."""
    net = build_network(load_instance(instance_dir))
    per_site = [[None, *np.flatnonzero(net.option_site == f).tolist()]
                for f in range(len(net.site_tier))]
    return min((priced_builds(net, [j for j in choice if j is not None])
                for choice in itertools.product(*per_site)), default=np.inf)


def priced_builds(net: Network, built: list[int]) -> float:
    """The least cost of a network with the build options ``built``; inf if infeasible.

    Written from docs/model.md with scipy: flows and uncollected tonnes are the LP's
    variables; supply balance, conservation at every tier but the last, capacity and
    minimum throughput its rows; fixed costs (and annualised capex) of ``built`` are added.
    """
    n_flow, (n_region, n_stream) = len(net.flow_arc), net.supply.shape
    n_pair, n_site = n_region * n_stream, len(net.site_tier)
    flows = np.arange(n_flow)
    cap, low = net.site_existing.astype(float), np.zeros(n_site)
    np.add.at(cap, net.option_site[built], net.option_capacity[built])
    np.add.at(low, net.option_site[built], net.option_min[built])
    # variables: the flows, then the uncollected tonnes of each (region, stream) pair
    penalty = np.tile(net.penalty, n_region)
    c = np.concatenate([net.flow_transport_cost + net.flow_processing_cost,
                        np.nan_to_num(penalty)])
    bounds = [(0, None)] * n_flow + [(0, 0 if np.isnan(p) else None) for p in penalty]
    supply = np.zeros((n_pair, n_flow + n_pair))
    region = net.flow_from_region
    supply[net.flow_origin[region] * n_stream + net.flow_stream[region], flows[region]] = 1
    supply[np.arange(n_pair), n_flow + np.arange(n_pair)] = 1
    conserve = np.zeros((n_site * n_stream, n_flow + n_pair))
    np.add.at(conserve, (net.flow_dest * n_stream + net.flow_stream, flows), 1)
    np.add.at(conserve, (net.flow_origin[~region] * n_stream + net.flow_stream[~region],
                         flows[~region]), -1)
    middle = np.repeat(net.site_tier < net.n_tiers - 1, n_stream)
    into = np.zeros((n_site, n_flow + n_pair))
    into[net.flow_dest, flows] = 1
    lp = linprog(c, A_ub=np.vstack([into, -into]), b_ub=np.concatenate([cap, -low]),
                 A_eq=np.vstack([supply, conserve[middle]]),
                 b_eq=np.concatenate([net.supply.ravel(), np.zeros(middle.sum())]),
                 bounds=bounds, method="highs-ds")
    if lp.status != 0:
        return np.inf
    finance = net.instance.spec.finance
    annuity = finance.annuity_factor if finance else 0.0
    fixed = net.option_fixed[built] + annuity * net.option_capex[built]
    return lp.fun + fixed.sum() + float(net.instance.sites["existing_fixed_cost"].sum())
