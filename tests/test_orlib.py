"""OR-Library capacitated warehouse problems: import, solve to the known optimum, verify."""

from __future__ import annotations

import csv

import pytest

from siting.errors import InputError
from siting.instance.load import load_instance
from siting.instance.orlib import read_orlib_cap
from support import EXACT, cli, import_orlib, profile_file, shared_or_skip, solve_verified

# Two warehouses (capacity 10, fixed 5; capacity 10, fixed 7) and three customers; the
# last has zero demand. Numbers wrap across lines as in the OR-Library files.
SMALL = """2 3
10 5.
10 7.
6
6. 12.
8 16.
4.
0
3. 1.
"""


def known_optima() -> dict[str, float]:
    with open(shared_or_skip("data", "orlib", "optima.csv")) as f:
        return {row["instance"]: float(row["optimal_cost"]) for row in csv.DictReader(f)}


def test_reader_splits_the_token_stream(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text(SMALL)
    p = read_orlib_cap(path)
    assert p.capacity.tolist() == [10, 10]
    assert p.fixed.tolist() == [5, 7]
    assert p.demand.tolist() == [6, 8, 0]
    assert p.cost.tolist() == [[6, 12], [16, 4], [3, 1]]


@pytest.mark.parametrize(("text", "message"), [
    ("2 3\n10 5\n", "need 15"),
    ("2 x\n", "expected finite numbers only, found 'x'"),
    ("1 1\n10 5\n3\nnan\n", "expected finite numbers only, found 'nan'"),
    ("1 1\n1e400 5\n3\n1\n", "expected finite numbers only, found '1e400'"),
    ("1 1\n-5 1\n1 1\n", "capacities must be positive"),
])
def test_reader_refuses_malformed_files(tmp_path, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_orlib_cap(path)


def test_small_file_imports_and_solves_by_hand(tmp_path):
    # Both warehouses open (5 + 7) or one: w1 alone cannot hold 14; w2 alone neither.
    # Open both: customer 1 -> w1 (6), customer 2 -> w2 (4): 12 + 10 = 22.
    # Zero-demand customer 3 has no arcs and costs nothing.
    (tmp_path / "small.txt").write_text(SMALL)
    (tmp_path / "exact.toml").write_text(EXACT)
    result = cli("import", "orlib-cap", tmp_path / "small.txt", tmp_path / "small")
    assert result.exit_code == 0, result.output
    assert "1 customers with zero demand" in result.output
    inst = load_instance(tmp_path / "small")
    assert inst.supply["demand"].tolist() == [6, 8, 0]
    meta = solve_verified(tmp_path / "small", tmp_path / "run", "--solver", tmp_path / "exact.toml")
    assert meta["objective"] == pytest.approx(22, rel=1e-9)


@pytest.mark.parametrize(("name", "message"), [("none.txt", "file not found"),
                                             ("folder", "not a regular file")])
def test_import_of_a_missing_file_is_one_line_exit_2(tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    result = cli("import", "orlib-cap", tmp_path / name, tmp_path / "out")
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["cap41", "cap71", "cap101", "cap131"])
def test_orlib_instance_reaches_its_known_optimum(tmp_path, name):
    optimum = known_optima()[name]
    folder = import_orlib(name, tmp_path)
    meta = solve_verified(folder, tmp_path / "run", "--solver", profile_file(tmp_path, EXACT))
    assert meta["status"] == "optimal"
    assert meta["objective"] == pytest.approx(optimum, rel=1e-6)
