"""The same input gives the same run folder, byte for byte; a run folder is complete or absent.

Only the ``timings`` key of solution.json may differ between two solves (docs/run-folder.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from siting.instance.generate import generate_instance
from siting.results import solution
from siting.verify.checks import verify_run
from support import DEMO, cli, solve_verified

TIMINGS = re.compile(rb'\n  "timings": \{[^}]*\},?')


def without_timings(path: Path) -> bytes:
    """The bytes of a run file, with solution.json's ``timings`` block cut out."""
    data = path.read_bytes()
    if path.name != "solution.json":
        return data
    assert set(json.loads(data)["timings"]) >= {"load_s", "build_s", "solve_s"}
    cut, n = TIMINGS.subn(b"", data)
    assert n == 1
    assert "timings" not in json.loads(cut)
    return cut


def assert_same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"solution.json", "solution.gpkg", "map.html", "flows.csv"} <= set(names)
    for name in names:
        assert without_timings(a / name) == without_timings(b / name), name


@pytest.mark.parametrize("instance", ["demo", "generated"])
def test_solving_twice_writes_the_same_bytes(tmp_path, instance):
    folder = DEMO if instance == "demo" else generate_instance(
        tmp_path / "inst", regions=40, sites=9, streams=2, tiers=2, seed=11)
    first = solve_verified(folder, tmp_path / "a")
    second = solve_verified(folder, tmp_path / "b")
    assert first["timings"] != second["timings"]  # measured afresh, the one allowed change
    assert_same_files(tmp_path / "a", tmp_path / "b")


def disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_run_folder_is_complete_or_absent_when_writing_fails(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    monkeypatch.setattr(solution, "flow_lines", disk_full)  # after facilities, mid-GeoPackage
    result = cli("solve", DEMO, "--out", runs / "demo")
    assert result.exit_code == 6, result.output  # one line: OutputError
    assert result.output.startswith(f"error: {runs / 'demo'}: could not be written (No space")
    assert list(runs.iterdir()) == []  # neither the run folder nor a temporary one


def test_a_failed_rewrite_keeps_the_previous_run_whole(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    solve_verified(DEMO, runs / "demo")
    before = {p.name: p.read_bytes() for p in (runs / "demo").iterdir()}
    monkeypatch.setattr(solution, "flow_lines", disk_full)
    result = cli("solve", DEMO, "--out", runs / "demo", "--scenario", "mandate-95")
    assert result.exit_code == 6, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert [p.name for p in runs.iterdir()] == ["demo"]
    assert {p.name: p.read_bytes() for p in (runs / "demo").iterdir()} == before
    assert verify_run(runs / "demo").ok
