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
FACILITIES = ["name", "tier", "province", "lon", "lat", "existing", "open", "size",
              "existing_capacity", "new_capacity", "capacity", "throughput", "utilisation",
              "fixed_cost", "capex", "throughput_*"]
FLOWS = ["km", "transport_cost", "processing_cost", "co2_t", "revenue"]
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
