"""Input values that must never become silent answers, and names that must not run as formulas.

The bad-input corpus (test_bad_inputs.py) checks refusals; here are the accepted sides: an
empty cell where it has a documented meaning, a byte-order mark, names a spreadsheet would
run, and the messages of solver limits and of a model too large for the machine.
"""

from __future__ import annotations

import csv
import importlib
import math
import pkgutil
import shutil
from pathlib import Path

import pydantic
import pytest

import siting.engine.highs
import siting.model.policies
import siting.scenario
import siting.studies.uncertainty
from siting.inputs import Strict, takes_numbers, validation_error
from siting.instance import size
from siting.instance.load import load_instance
from siting.instance.network import build_network, recovery_rates
from siting.instance.schema import LAYER_COLUMNS, LAYER_NUMBERS, near_miss
from siting.results.runfiles import read_table
from support import ROOT, cli, solve_verified

BASE = Path(__file__).parent / "bad_inputs" / "base"


def _base(tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    shutil.copytree(BASE, folder)
    return folder


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    """Replace every occurrence of each old text, in turn."""
    text = path.read_text(encoding="utf-8")
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def test_an_empty_recovery_cell_takes_the_tier_recovery_and_is_counted(tmp_path):
    """sites.csv: an empty ``recovery`` is the tier's; solution.json counts such cells."""
    folder = _base(tmp_path)
    _edit(folder / "sites.csv", ("fixed_cost_factor\n", "fixed_cost_factor,recovery\n"),
          ("M,lfp;ncm,1.0\n", "M,lfp;ncm,1.0,0.5\n"), ("S,lfp;ncm,1.0\n", "S,lfp;ncm,1.0,\n"),
          (",,lfp;ncm,1.0\n", ",,lfp;ncm,1.0,\n"))
    instance = load_instance(folder)
    rates = recovery_rates(instance)
    plant = instance.sites["id"].tolist().index
    assert rates[plant("p1")].tolist() == [0.5, 0.5]
    assert rates[plant("p2")].tolist() == [0.9, 0.95]  # empty: the tier's recovery
    solution = solve_verified(folder, tmp_path / "run", "--scenario", "mandate")
    assert solution["instance"]["empty_cells"] == {"sites.recovery": 3}


def test_an_unknown_column_is_not_read_and_named_in_a_warning_and_solution_json(tmp_path):
    """Columns that no reader knows change nothing in the model; the planner is told."""
    folder = _base(tmp_path)
    _edit(folder / "sites.csv", ("fixed_cost_factor\n", "fixed_cost_factor,capacity,notes\n"),
          (",1.0\n", ",1.0,90000,call them\n"))
    _edit(folder / "regions.geojson", ('"province": "North"', '"province": "North", "area": 7'))
    lines = ["regions.geojson: column 'area' not read (unknown;",
             "sites.csv: columns 'capacity', 'notes' not read (unknown;"]
    validated = cli("validate", folder)
    assert validated.exit_code == 0, validated.output
    for line in lines:
        assert line in " ".join(validated.output.split())
    solution = solve_verified(folder, tmp_path / "run", "--scenario", "mandate")
    assert [w for w in solution["warnings"] if "not read" in w] == [
        line + f" the known columns of the {layer} layer are "
        + ", ".join(LAYER_COLUMNS[layer]) + ")"
        for line, layer in zip(lines, ("regions", "sites"), strict=True)]
    plain = solve_verified(BASE, tmp_path / "plain", "--scenario", "mandate")
    assert solution["objective"] == plain["objective"]


@pytest.mark.parametrize(("column", "meant"), [
    ("existing_capacty", "existing_capacity"), ("Existing_Capacity", "existing_capacity"),
    ("fixed-cost-factor", "fixed_cost_factor"), ("fixed_cost_factr", "fixed_cost_factor"),
    ("existing_c", "existing_capacity"), ("Province ", "province"), ("tiers", "tier"),
    ("capacity", None), ("notes", None), ("fid", None), ("note", None), ("area", None)])
def test_a_near_miss_of_a_known_column_is_told_from_an_unrelated_name(column, meant):
    assert near_miss(column, list(LAYER_COLUMNS["sites"])) == meant


def test_every_numeric_column_read_is_a_known_column():
    for layer, numbers in LAYER_NUMBERS.items():
        assert set(numbers) - {"lon", "lat"} <= set(LAYER_COLUMNS[layer]), layer


def test_an_empty_closure_cost_means_the_facility_cannot_close(tmp_path):
    """sites.csv with [periods]: an empty ``closure_cost`` is "cannot close", and counted."""
    folder = _base(tmp_path)
    _edit(folder / "instance.toml", ("[finance]", "[periods]\nyears = [2025, 2030]\n"
                                     "weights = [5, 5]\n\n[finance]"))
    _edit(folder / "sites.csv", ("fixed_cost_factor\n", "fixed_cost_factor,closure_cost\n"),
          ("1.0\n", "1.0,\n"))
    instance = load_instance(folder)
    assert instance.sites["closure_cost"].isna().all()
    assert instance.empty_cells == {"sites.closure_cost": 4}
    solution = solve_verified(folder, tmp_path / "run", "--scenario", "mandate")
    assert solution["instance"]["empty_cells"] == {"sites.closure_cost": 4}


FORMULAS = {"site": '=HYPERLINK("http://x.test","y")', "region": "+SUM(A1:A9)",
            "province": "-2+3", "region_id": "@r1", "quoted": "'kept"}


def test_names_a_spreadsheet_would_run_are_escaped_and_the_verifier_reads_them(tmp_path):
    """Every text cell starting with = + - @ (or ') gets a leading ' in every CSV; the
    verifier and read_table read the names as they were."""
    folder = _base(tmp_path)
    _edit(folder / "sites.csv", ("Collection 1", FORMULAS["site"].replace('"', '""').join('""')),
          ("Plant 1", FORMULAS["quoted"]), ("North", FORMULAS["province"]))
    _edit(folder / "regions.geojson", ("District 1", FORMULAS["region"]),
          ('"id": "r1"', f'"id": "{FORMULAS["region_id"]}"'))
    _edit(folder / "supply.csv", ("r1,", f"{FORMULAS['region_id']},"))
    _edit(folder / "distances.csv", ("r1,", f"{FORMULAS['region_id']},"))
    run = tmp_path / "run"
    solve_verified(folder, run, "--scenario", "mandate")
    assert cli("verify", run).exit_code == 0
    cells = [cell for name in ("facilities", "flows", "regions")
             for row in csv.reader((run / f"{name}.csv").read_text().splitlines()) for cell in row]
    for value in FORMULAS.values():
        assert f"'{value}" in cells, value
        assert value not in cells, value
    for cell in cells:
        if cell.startswith(("=", "+", "-", "@")):
            float(cell)  # only numbers may start so (a negative figure)
    facilities, regions = read_table(run, "facilities"), read_table(run, "regions")
    assert {FORMULAS["site"], FORMULAS["quoted"]} <= set(facilities["name"])
    assert FORMULAS["province"] in set(facilities["province"])
    assert FORMULAS["region_id"] in set(regions["id"])
    assert FORMULAS["region"] in set(regions["name"])


def test_a_byte_order_mark_is_accepted_in_every_toml_file(tmp_path):
    folder = _base(tmp_path)
    bom = "\ufeff"
    for path in (folder / "instance.toml", folder / "scenarios" / "mandate.toml"):
        path.write_text(bom + path.read_text(encoding="utf-8"), encoding="utf-8")
    profile = tmp_path / "quick.toml"
    profile.write_text(bom + "[solver]\ntime_limit = 60\n", encoding="utf-8")
    solve_verified(folder, tmp_path / "run", "--scenario", "mandate", "--solver", profile)


@pytest.mark.parametrize(("options", "fix"), [
    ("mip_max_nodes = 0", "mip_max_nodes"),
    ("mip_max_leaves = 0", "mip_max_leaves"),
])
def test_a_solver_limit_names_its_own_option(tmp_path, options, fix):
    """A node, leaf or iteration limit stops HiGHS: exit 3 names that option, not the time
    limit and not infeasibility."""
    folder = _base(tmp_path)
    profile = tmp_path / "quick.toml"
    profile.write_text(f"[options]\n{options}\n")
    result = cli("solve", folder, "--scenario", "mandate", "--solver", profile,
                 "--out", tmp_path / "run")
    assert result.exit_code == 3, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    assert fix in line
    assert "time limit" not in line
    assert "infeasible" not in line
    assert not (tmp_path / "run").exists()


def test_a_model_too_large_for_the_memory_is_refused_before_building(tmp_path, monkeypatch):
    """With a small fake limit, solve refuses with the estimate and the fixes, exit 2."""
    folder = _base(tmp_path)
    instance = load_instance(folder)
    net = build_network(instance)
    estimate = size.estimate_size(instance)
    assert estimate.model_flows == estimate.flows == len(net.flow_arc) == 20
    assert estimate.pairs == len(net.arc_dest) == 10
    monkeypatch.setattr(size, "available_bytes", lambda: estimate.bytes - 1)
    result = cli("solve", folder, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    for fragment in ("instance.toml", "too large for this machine", "about 20 flows",
                     "nearest_sites", "more memory"):
        assert fragment in line, line
    assert not (tmp_path / "run").exists()
    monkeypatch.setattr(size, "available_bytes", lambda: estimate.bytes)
    solve_verified(folder, tmp_path / "run")


def test_pruning_shrinks_the_estimate(tmp_path):
    instance = load_instance(_base(tmp_path))
    full, pruned = size.estimate_size(instance), size.estimate_size(instance, nearest_sites=1)
    assert pruned.model_flows < full.model_flows
    assert pruned.bytes < full.bytes


def _schemas() -> list[type[Strict]]:
    """Every TOML schema: the subclasses of Strict in the package (policies included)."""
    for module in pkgutil.iter_modules(siting.model.policies.__path__):
        importlib.import_module(f"siting.model.policies.{module.name}")
    found, todo = set(), [Strict]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.add(sub)
            todo.append(sub)
    return sorted(found, key=lambda c: c.__qualname__)


def test_every_numeric_field_of_every_toml_schema_refuses_nan_infinities_and_booleans():
    """Derived from the schemas: each int or float field, given NaN, +-inf or a boolean, is
    an error located at that field (TOML has no null or empty number)."""
    fields = [(cls, name) for cls in _schemas() for name, info in cls.model_fields.items()
              if takes_numbers(info.annotation)]
    print(f"\n{len(fields)} numeric fields in {len(_schemas())} TOML schemas")
    assert len(fields) > 40
    for cls, name in fields:
        for value in (math.nan, math.inf, -math.inf, True):
            with pytest.raises(pydantic.ValidationError) as caught:
                cls.model_validate({name: value})
            line = str(validation_error(Path("x.toml"), caught.value))
            located = [err for err in caught.value.errors()
                       if err["loc"][:1] == (name,) or err.get("ctx", {}).get("key") == name]
            assert located, (cls.__name__, name, value, line)


def test_a_horizon_too_large_for_the_memory_is_refused_before_building(tmp_path, monkeypatch):
    """A horizon keeps every arc in every period: the guard counts them, and says so."""
    folder = ROOT / "instances" / "china-2025-2035"
    estimate = size.estimate_size(load_instance(folder))
    assert estimate.model_flows == estimate.flows * 6  # six periods, every arc
    monkeypatch.setattr(size, "available_bytes", lambda: estimate.bytes - 1)
    result = cli("solve", folder, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert len(line.splitlines()) == 1
    for fragment in ("instance.toml", "too large for this machine", "fewer periods"):
        assert fragment in line, line
    assert "nearest_sites" not in line  # refused with periods
    assert not (tmp_path / "run").exists()
