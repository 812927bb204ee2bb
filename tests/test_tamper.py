"""The verifier checks every figure a run folder states: change any one, and it fails.

Each case changes one figure of a real, verified run folder (a column of one row of a
table, or one key figure of a solution.json) and expects ``siting verify`` to fail with
exit code 5 and a problem naming that figure. The lists of cases are checked against the
files themselves, so a new column or key figure without a case fails a test.
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from support import DEMO, ROOT, cli, solve_verified
from test_horizon import process_instance

# Decisions are read, not recomputed: a changed decision fails other checks (test_cli.py
# changes tonnes; the cases below change sizes and open flags).
DECISIONS = {"id", "origin", "origin_type", "destination", "stream", "tonnes"}
FACILITIES = ["name", "tier", "province", "lon", "lat", "existing", "open", "new", "size",
              "existing_capacity", "new_capacity", "capacity", "throughput", "utilisation",
              "fixed_cost", "capex", "throughput_*"]
FLOWS = ["origin_name", "destination_name", "km", "transport_cost", "processing_cost", "co2_t",
         "revenue"]
REGIONS = ["name", "province", "lon", "lat", "supply", "collected", "uncollected",
           "collection_rate", "supply_*", "collected_*", "uncollected_*"]
KPIS = ["total_cost", "cost.fixed", "cost.capex", "cost.transport", "cost.processing",
        "cost.penalty", "cost.policies", "capex_total", "supply_t", "collected_t",
        "collection_rate", "uncollected_t", "capacity_t", "capacity_existing_t",
        "capacity_new_t", "throughput_t", "utilisation", "capacity_to_supply", "tonne_km",
        "co2_t", "recovered_value", "facilities_open.*", "facilities_new.*", "by_tier.*.open",
        "by_tier.*.new", "by_tier.*.capacity_t", "by_tier.*.throughput_t",
        "by_tier.*.utilisation", "by_stream.*.supply_t", "by_stream.*.collected_t",
        "by_stream.*.collection_rate", "by_province.*.supply_t", "by_province.*.collected_t",
        "by_province.*.collection_rate"]
# Only in the horizon run with materials and processes (a period's folder, or the top).
PERIOD_ONLY = {"facilities.csv": ["location", "process"], "flows.csv": ["recovered_*"],
               "kpis": ["materials.*.recovered_t", "materials.*.value"]}
PERIODS_CSV = ["years", "weight", "supply_t", "collected_t", "uncollected_t",
               "collection_rate", "capacity_t", "capacity_added_t", "throughput_t",
               "utilisation", "capacity_to_supply", "builds", "total_cost", "recovered_value",
               "recovered_*_t"]
# The GeoPackage's layers repeat the tables: one case per layer (compared column by column).
GPKG = ["facilities:capacity", "flows:co2_t", "regions:name"]
HORIZON = ["kpis.horizon.discounted_cost", "kpis.horizon.closure_cost",
           "kpis.horizon.builds.0.added_t", "kpis.horizon.builds.0.year",
           "kpis.horizon.builds.0.size", "kpis.total_cost", "kpis.by_tier.*.capacity_t",
           "periods.discount_weights.1", "objective", "mip_gap"]

CASES = ([("demo", f"{name}.csv", c) for name, columns in
          (("facilities", FACILITIES), ("flows", FLOWS), ("regions", REGIONS))
          for c in columns]
         + [("demo", "solution.json", f"kpis.{k}") for k in KPIS]
         + [("demo", "solution.json", "objective"), ("demo", "solution.json", "mip_gap")]
         + [("horizon", f"periods/2031/{f}", c) for f, columns in PERIOD_ONLY.items()
            if f != "kpis" for c in columns]
         + [("horizon", "periods/2027/solution.json", f"kpis.{k}") for k in PERIOD_ONLY["kpis"]]
         + [("horizon", "periods/2029/flows.csv", "transport_cost"),
            ("horizon", "periods/2029/solution.json", "kpis.total_cost")]
         + [("demo", "solution.gpkg", f) for f in GPKG]
         + [("horizon", "periods.csv", c) for c in PERIODS_CSV]
         + [("horizon", "solution.json", k) for k in HORIZON])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Two verified runs: the demo (two tiers, two streams), and a horizon of four periods
    with materials and two processes at one site."""
    tmp = tmp_path_factory.mktemp("tamper")
    scenario = tmp / "value.toml"
    scenario.write_text('[scenario]\nname = "value"\n[objective]\nmode = "value"\n')
    solve_verified(DEMO, tmp / "demo")
    solve_verified(process_instance(tmp / "inst", ""), tmp / "horizon", "--scenario", scenario)
    return {"demo": tmp / "demo", "horizon": tmp / "horizon"}


def changed(value):
    """A different value of the same kind, far beyond any tolerance."""
    if value is None:
        return 0.5
    if isinstance(value, bool) or value in ("true", "false"):
        return {"true": "false", "false": "true"}.get(value, not value)
    if isinstance(value, int):  # a count stays a count (a float is refused as malformed)
        return value * 2 + 1000
    if isinstance(value, float):
        return value * 1.5 + 1000
    try:
        return str(float(value) * 1.5 + 1000)
    except ValueError:
        return value + "x" if value else "0.5"


def tamper(folder: Path, file: str, field: str) -> str:
    """Change ``field`` in ``file`` of ``folder``; return the field's name in the problems.

    In solution.json, ``*`` stands for the first key of a table (a tier, a province) and a
    number for a position in a list.
    """
    path = folder / file
    if path.suffix == ".json":
        meta = json.loads(path.read_text())
        table, name, parts = meta, "", field.split(".")
        for i, part in enumerate(parts):
            key = next(iter(table)) if part == "*" else int(part) if part.isdigit() else part
            name += f"[{key}]" if isinstance(key, int) else f".{key}" if name else key
            if i < len(parts) - 1:
                table = table[key]
        table[key] = changed(table[key])
        path.write_text(json.dumps(meta))
        return name
    if path.suffix == ".gpkg":
        layer, column = field.split(":")
        frame = gpd.read_file(path, layer=layer)
        frame.loc[0, column] = changed(frame.loc[0, column])
        frame.to_file(path, layer=layer, engine="pyogrio")
        return f"solution.gpkg layer {layer}: {column}"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    column = next(c for c in frame.columns if c.startswith(field.split("*")[0])
                  and c.endswith(field.split("*")[-1])) if "*" in field else field
    numbers = pd.to_numeric(frame[column], errors="coerce")
    row = int(numbers.abs().fillna(0).argmax()) if numbers.notna().any() else 0
    if column in ("open", "size"):
        row = int((frame["size"] != "").to_numpy().argmax())  # a site with a new size
    frame.loc[row, column] = changed(frame.loc[row, column])
    frame.to_csv(path, index=False)
    return column


@pytest.mark.parametrize(("run", "file", "field"), CASES,
                         ids=[f"{r}:{f}:{c}" for r, f, c in CASES])
def test_a_changed_figure_fails_verification_naming_it(runs, tmp_path, run, file, field):
    folder = tmp_path / run
    shutil.copytree(runs[run], folder)
    name = tamper(folder, file, field)
    result = cli("verify", folder)
    assert result.exit_code == 5, result.output
    assert any(line.startswith("FAIL ") and name in line
               for line in result.output.splitlines()), result.output


def _leaves(table: dict, prefix: str = "") -> set[str]:
    """Every figure of a nested table, keyed like KPIS (``*`` for a table of names)."""
    named = {"facilities_open", "facilities_new", "by_tier", "by_stream", "by_province",
             "materials"}
    found = set()
    for key, value in table.items():
        path = f"{prefix}{'*' if prefix.rstrip('.').split('.')[-1] in named else key}"
        found |= _leaves(value, path + ".") if isinstance(value, dict) else {path}
    return found


def _columns(frame_path: Path, known: list[str]) -> set[str]:
    columns = set(pd.read_csv(frame_path, nrows=0).columns) - DECISIONS
    return {c for c in columns if not any(c.startswith(k.split("*")[0]) and
                                         c.endswith(k.split("*")[-1]) for k in known if "*" in k)
            } - set(known)


def test_every_figure_of_a_run_folder_has_a_case(runs):
    demo, period = runs["demo"], runs["horizon"] / "periods" / "2027"
    kpis = {k.removeprefix("kpis.") for _, f, k in CASES if f.endswith("solution.json")}
    assert _leaves(json.loads((demo / "solution.json").read_text())["kpis"]) <= kpis
    assert _leaves(json.loads((period / "solution.json").read_text())["kpis"]) <= kpis
    for name, known in (("facilities", FACILITIES + PERIOD_ONLY["facilities.csv"]),
                        ("flows", FLOWS + PERIOD_ONLY["flows.csv"]), ("regions", REGIONS)):
        for folder in (demo, period):
            assert _columns(folder / f"{name}.csv", known) == set(), name
    assert _columns(runs["horizon"] / "periods.csv", PERIODS_CSV) == {"year"}


def test_the_verifier_imports_no_model_code():
    """verify.py recomputes on its own: no import of the model, the network or the Solution.

    (Each policy's own ``check`` and ``cost``, which the verifier calls, live with the
    policy in siting.model.policies and read only the run's files.)
    """
    tree = ast.parse((ROOT / "src" / "siting" / "verify" / "checks.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    forbidden = {"siting.model", "siting.model.core", "siting.model.objective",
                 "siting.model.horizon", "siting.instance.network", "siting.results.solution",
                 "siting.engine.pipeline", "siting.engine.horizon", "siting.engine.highs", "pyomo"}
    assert imported & forbidden == set()


# ---- labels, bounds, scenario and side figures: forged, they fail ------------------------

MANDATE = {"policy": "min_collection_rate", "constraint": "rate", "group": None,
           "value": 5.0, "unit": "per t", "meaning": "collecting one more tonne costs 5 CNY/yr"}


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> dict[str, Path]:
    """Verified demo runs: under mandate-95, and stopped by mip_abs_gap at a 45% gap."""
    tmp = tmp_path_factory.mktemp("labelled")
    profile = tmp / "abs-gap.toml"
    profile.write_text("[solver]\nmip_rel_gap = 1e-4\n[options]\nmip_abs_gap = 1e30\n")
    solve_verified(DEMO, tmp / "mandate", "--scenario", "mandate-95")
    solve_verified(DEMO, tmp / "gap", "--solver", profile)
    return {"mandate": tmp / "mandate", "gap": tmp / "gap"}


def _gap_as_optimal(meta: dict) -> None:
    meta.update(status="optimal", status_text="optimal, gap 0.0%")
    meta["solver"]["mip_rel_gap"] = 0.5


FORGERIES = {  # case: (run, change of solution.json, words of the one FAIL line)
    "a 45% gap called optimal under a gap of 0.5": (
        "gap", _gap_as_optimal, "status 'optimal' recorded, 'feasible' follows from the figures"),
    "status_text free text": (
        "mandate", lambda m: m.update(status_text="optimal, proven by hand"),
        "status_text 'optimal, proven by hand' recorded"),
    "highs_bound x1.5": (
        "mandate", lambda m: m.update(highs_bound=m["highs_bound"] * 1.5),
        "highs_bound"),
    "best_bound lowered with its gap": (
        "gap", lambda m: m.update(best_bound=m["objective"], mip_gap=0.0),
        "best_bound"),
    "policy removed from the scenario": (
        "mandate", lambda m: m["scenario"].update(policies=[]),
        f"scenario 'mandate-95': its objective and policies differ from "
        f"{DEMO / 'scenarios' / 'mandate-95.toml'}"),
    "policy removed, the scenario file moved away": (
        "mandate", lambda m: m["scenario"].update(policies=[], file="/nowhere/mandate-95.toml"),
        "scenario 'mandate-95': its objective and policies differ from the instance's "
        "scenarios/mandate-95.toml"),
    "policy removed, no scenario file recorded (a run of before)": (
        "mandate", lambda m: m.update(scenario={**{k: v for k, v in m["scenario"].items()
                                                   if k != "file"}, "policies": []}),
        "scenario 'mandate-95': its objective and policies differ from the instance's "
        "scenarios/mandate-95.toml"),
    "marginal cost of a policy the run does not have": (
        "gap", lambda m: m.update(marginal_costs=[MANDATE]),
        "marginal_costs: 'min_collection_rate' is not a policy of the run"),
    "profile option that changes the model": (
        "gap", lambda m: m["solver"]["options"].update(small_matrix_value=0.9),
        "solver.options.small_matrix_value: 0.9 would change the model"),
}


@pytest.mark.parametrize("case", list(FORGERIES))
def test_a_forged_label_bound_or_scenario_fails_verification(labelled, tmp_path, case):
    run, change, words = FORGERIES[case]
    folder = tmp_path / "run"
    shutil.copytree(labelled[run], folder)
    path = folder / "solution.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))
    result = cli("verify", folder)
    assert result.exit_code == 5, result.output
    assert any(line.startswith("FAIL ") and words in line
               for line in result.output.splitlines()), result.output


def test_figures_verify_cannot_recompute_are_named(labelled, tmp_path):
    # a marginal cost of the run's own policy, invented, and a scenario said to be made in
    # code: named as reported, not verified
    folder = tmp_path / "run"
    shutil.copytree(labelled["mandate"], folder)
    path = folder / "solution.json"
    meta = json.loads(path.read_text())
    meta["marginal_costs"] = [MANDATE]
    meta["scenario"]["file"] = None
    path.write_text(json.dumps(meta))
    result = cli("verify", folder)
    assert result.exit_code == 0, result.output
    words = " ".join(result.output.split())
    assert "reported, not verified: marginal_costs: the duals HiGHS reported (1)" in words
    assert "reported, not verified: best_bound, highs_bound and solver_status" in words
    assert ("reported, not verified: scenario 'mandate-95': its objective and policies as "
            "recorded (made in code)") in words


def test_a_period_with_another_label_than_its_horizon_fails(runs, tmp_path):
    folder = tmp_path / "horizon"
    shutil.copytree(runs["horizon"], folder)
    path = folder / "periods" / "2029" / "solution.json"
    meta = json.loads(path.read_text())
    meta["status_text"] = "optimal, gap 0.000% against a valid bound, twice"
    path.write_text(json.dumps(meta))
    result = cli("verify", folder)
    assert result.exit_code == 5, result.output
    assert "FAIL period 2029: its status differs from the horizon's" in result.output


# ---- a damaged run folder is one line, never a traceback ---------------------------------

def _edit_row(file: str, edit):
    def damage(folder: Path) -> None:
        path = folder / file
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        lines[1:] = edit(header, lines[1:])
        path.write_text("\n".join(lines) + "\n")
    return damage


def _set(column: str, value: str):
    def edit(header: list[str], rows: list[str]) -> list[str]:
        cells = rows[0].split(",")
        cells[header.index(column)] = value
        return [",".join(cells), *rows[1:]]
    return edit


DAMAGES = {  # case: (damage, exit code, words of the one line)
    "renamed facility": (_edit_row("facilities.csv", lambda h, rows: ["X" + rows[0], *rows[1:]]),
                         5, "facilities.csv: its rows are not one per site of the instance: "
                            "'XC-A2' is no site of the instance"),
    "duplicated facility": (_edit_row("facilities.csv", lambda h, rows: [rows[0], *rows]),
                            2, "facilities.csv: rows 2 and 3: the same id 'C-A2'"),
    "duplicated region": (_edit_row("regions.csv", lambda h, rows: [*rows, rows[-1]]),
                          2, "regions.csv: rows 13 and 14: the same id"),
    "region missing": (_edit_row("regions.csv", lambda h, rows: rows[:-1]),
                       5, "regions.csv: its rows are not one per region of the instance"),
    "corrupt solution.gpkg": (lambda f: (f / "solution.gpkg").write_bytes(b"SQLite" * 50),
                              5, "solution.gpkg: not a readable GeoPackage"),
    "empty solution.gpkg": (lambda f: (f / "solution.gpkg").write_bytes(b""),
                            5, "solution.gpkg: not a readable GeoPackage"),
    "1e999 tonnes in a flow": (_edit_row("flows.csv", _set("tonnes", "1e999")),
                               2, "flows.csv: row 2, tonnes: expected a finite number, got "
                                  "'1e999'"),
    "1e999 tonnes in a facility": (_edit_row("facilities.csv", _set("throughput", "1e999")),
                                   2, "facilities.csv: row 2, throughput: expected a finite "
                                      "number"),
}


@pytest.mark.parametrize("case", list(DAMAGES))
def test_verify_of_a_damaged_run_folder_is_one_line(runs, tmp_path, case):
    damage, code, words = DAMAGES[case]
    folder = tmp_path / "demo"
    shutil.copytree(runs["demo"], folder)
    damage(folder)
    result = cli("verify", folder)
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert words in lines[0], result.output
    assert lines[0].startswith("FAIL " if code == 5 else "error: ")
