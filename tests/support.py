"""Test helpers: instances written in code, and solving through the CLI + verifier."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from siting.cli import app
from siting.verify import verify_run

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEMO = ROOT / "instances" / "demo"


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


def shared_or_skip(*parts: str) -> Path:
    """A path under ../shared/, or skip the test loudly when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the shared data folder beside the project")
    return path
