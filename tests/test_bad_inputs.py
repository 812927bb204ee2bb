"""The bad-input corpus: every malformed input gets one clear line, exit code 2, no output.

Each case of ``bad_inputs/cases.toml`` starts from the valid instance ``bad_inputs/base``,
breaks one thing (a text replacement, a file written, or a generator below for binary and
GIS files), and names the fragments the error line must hold: the file, the row or field,
and what was expected.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
import shapely.affinity

from siting.instance import layers, load
from siting.instance.layers import number_column
from siting.instance.schema import LAYER_NUMBERS
from support import ROOT, cli, solve_verified

CORPUS = Path(__file__).parent / "bad_inputs"
BASE = CORPUS / "base"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
# Run through a real interpreter too, to prove that no traceback reaches stderr.
SUBPROCESS = {"instance-toml-broken", "regions-projected-as-lonlat", "sites-not-utf8",
              "scenario-extends-missing", "solver-wrong-type", "gpkg-empty-layer",
              "regions-supply_stream-list", "instance-layer-fifo", "regions-json-nested-too-deeply"}


def _regions(folder: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(folder / "regions.geojson")


def _point_regions_to(folder: Path, path: str, layer: str | None = None) -> None:
    toml = folder / "instance.toml"
    ref = f'{{ path = "{path}", layer = "{layer}" }}' if layer else f'"{path}"'
    toml.write_text(toml.read_text().replace('regions = "regions.geojson"', f"regions = {ref}"))


def projected_regions(folder: Path) -> None:
    """Web Mercator metres written as if they were lon/lat (the CRS label lost)."""
    frame = _regions(folder).to_crs("EPSG:3857").set_crs("EPSG:4326", allow_override=True)
    frame.to_file(folder / "regions.geojson", driver="GeoJSON")


def gpkg_empty_layer(folder: Path) -> None:
    """A GeoPackage whose regions layer has the columns but no features."""
    _regions(folder).iloc[:0].to_file(folder / "layers.gpkg", layer="regions", driver="GPKG")
    _point_regions_to(folder, "layers.gpkg", "regions")


def gpkg_missing_layer(folder: Path) -> None:
    """A GeoPackage without the layer that instance.toml names."""
    _regions(folder).to_file(folder / "layers.gpkg", layer="districts", driver="GPKG")
    _point_regions_to(folder, "layers.gpkg", "regions")


def gpkg_empty_geometry(folder: Path) -> None:
    """A GeoPackage region whose polygon is empty."""
    frame = _regions(folder)
    frame.loc[1, "geometry"] = shapely.Polygon()
    frame.to_file(folder / "layers.gpkg", layer="regions", driver="GPKG")
    _point_regions_to(folder, "layers.gpkg", "regions")


def shapefile_without_dbf(folder: Path) -> None:
    """A shapefile whose attribute table (.dbf) went missing: no ids."""
    _regions(folder).to_file(folder / "regions.shp")
    (folder / "regions.dbf").unlink()
    _point_regions_to(folder, "regions.shp")


def projected_point_out_of_range(folder: Path) -> None:
    """A region in Web Mercator far beyond the projection's range (PROJ would clamp it)."""
    frame = _regions(folder).to_crs("EPSG:3857")
    frame.loc[2, "geometry"] = shapely.affinity.translate(frame.geometry[2], yoff=1e9)
    frame.to_file(folder / "regions.geojson", driver="GeoJSON")


def _regions_with_supply(folder: Path) -> gpd.GeoDataFrame:
    """The regions with their supply as supply_<stream> attributes, r2's lfp null."""
    frame = _regions(folder)
    supply = pd.read_csv(folder / "supply.csv").pivot(index="region", columns="stream",
                                                      values="tonnes")
    for stream in supply.columns:
        frame[f"supply_{stream}"] = supply[stream].reindex(frame["id"]).to_numpy(dtype=float)
    frame.loc[1, "supply_lfp"] = None
    _drop_supply_layer(folder)
    return frame


def _drop_supply_layer(folder: Path) -> None:
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace('supply = "supply.csv"\n', ""))


def gpkg_null_supply(folder: Path) -> None:
    """A GeoPackage region whose supply attribute is NULL."""
    _regions_with_supply(folder).to_file(folder / "layers.gpkg", layer="regions", driver="GPKG")
    _point_regions_to(folder, "layers.gpkg", "regions")


def shapefile_null_supply(folder: Path) -> None:
    """A Shapefile region whose supply attribute is null."""
    _regions_with_supply(folder).to_file(folder / "regions.shp")
    _point_regions_to(folder, "regions.shp")


def gpkg_boolean_supply(folder: Path) -> None:
    """A GeoPackage whose supply column is of GeoPackage's boolean type."""
    frame = _regions_with_supply(folder)
    frame["supply_lfp"] = [True, False, True]
    frame.to_file(folder / "layers.gpkg", layer="regions", driver="GPKG")
    _point_regions_to(folder, "layers.gpkg", "regions")


def sqlite_named_gpkg(folder: Path) -> None:
    """A plain SQLite database (GDAL's SQLite driver would open it) named regions.gpkg."""
    with sqlite3.connect(folder / "regions.gpkg") as db:
        db.execute("CREATE TABLE regions (id TEXT, name TEXT)")
    _point_regions_to(folder, "regions.gpkg", "regions")


def regions_link_outside(folder: Path) -> None:
    """regions.geojson a link to a file outside the instance folder."""
    (folder / "regions.geojson").unlink()
    (folder / "regions.geojson").symlink_to(BASE / "regions.geojson")


def shapefile_upper_case_dbf_outside(folder: Path) -> None:
    """REGIONS.SHP whose attribute table REGIONS.DBF links to a file outside the folder."""
    _regions(folder).to_file(folder / "regions.shp")
    for part in folder.glob("regions.*"):
        part.rename(folder / f"REGIONS{part.suffix.upper()}")
    (folder / "REGIONS.DBF").unlink()
    (folder / "REGIONS.DBF").symlink_to(BASE / "sites.csv")
    _point_regions_to(folder, "REGIONS.SHP")


def shapefile_dbf_fifo(folder: Path) -> None:
    """regions.shp whose attribute table regions.dbf is a named pipe (GDAL would wait)."""
    _regions(folder).to_file(folder / "regions.shp")
    (folder / "regions.dbf").unlink()
    os.mkfifo(folder / "regions.dbf")
    _point_regions_to(folder, "regions.shp")


def gpkg_unfinished_writes(folder: Path) -> None:
    """A GeoPackage beside its write-ahead log: an editor still has it open."""
    _regions(folder).to_file(folder / "layers.gpkg", layer="regions", driver="GPKG")
    (folder / "layers.gpkg-wal").write_bytes(b"\x37\x7f\x06\x82" + bytes(28))
    _point_regions_to(folder, "layers.gpkg", "regions")


def regions_link_loop(folder: Path) -> None:
    """regions.geojson a link to itself."""
    (folder / "regions.geojson").unlink()
    (folder / "regions.geojson").symlink_to("regions.geojson")


def scenario_link_loop(folder: Path) -> None:
    """scenarios/bad.toml a link to itself."""
    (folder / "scenarios" / "bad.toml").symlink_to("bad.toml")


def scenario_extends_chain(folder: Path) -> None:
    """scenarios/bad.toml extending a chain of 60 files (Python's stack would end at ~500)."""
    for i in range(60):
        parent = f'extends = "s{i + 1}.toml"\n' if i < 59 else ""
        (folder / "scenarios" / ("bad.toml" if i == 0 else f"s{i}.toml")).write_text(
            f"[scenario]\n{parent}")


def regions_larger_than_memory(folder: Path) -> None:
    """regions.geojson grown (sparse) beyond the machine's memory."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    os.truncate(folder / "regions.geojson", memory + 1)


def sites_fifo(folder: Path) -> None:
    """sites.csv a named pipe (reading it would wait forever)."""
    (folder / "sites.csv").unlink()
    os.mkfifo(folder / "sites.csv")


def scenario_fifo(folder: Path) -> None:
    """scenarios/bad.toml a named pipe."""
    os.mkfifo(folder / "scenarios" / "bad.toml")


def deep_toml(folder: Path) -> None:
    """An instance.toml nested deeper than Python's parser recurses."""
    with (folder / "instance.toml").open("a") as handle:
        handle.write("\n[extra]\nvalue = " + "[" * 5000 + "]" * 5000 + "\n")


def deep_json(folder: Path) -> None:
    """A regions.geojson nested deeper than Python's parser recurses."""
    (folder / "regions.geojson").write_text('{"type": "FeatureCollection", "features": '
                                            + "[" * 5000 + "]" * 5000 + "}")


def degrees_declared_3857(folder: Path) -> None:
    """Regions in degrees whose file declares Web Mercator (metres)."""
    frame = _regions(folder).set_crs("EPSG:3857", allow_override=True)
    frame.to_file(folder / "regions.geojson", driver="GeoJSON")


def regions_far_from_sites(folder: Path) -> None:
    """Regions moved 100 degrees west of every site."""
    frame = _regions(folder)
    frame.geometry = frame.geometry.translate(xoff=-100)
    frame.to_file(folder / "regions.geojson", driver="GeoJSON")


def gpkg_column_case(folder: Path) -> None:
    """A GeoPackage whose province column is spelt Province."""
    _regions(folder).rename(columns={"province": "Province"}).to_file(
        folder / "layers.gpkg", layer="regions", driver="GPKG")
    _point_regions_to(folder, "layers.gpkg", "regions")


def shapefile_sites(folder: Path) -> None:
    """The sites as a Shapefile, which cuts existing_capacity to existing_c."""
    table = pd.read_csv(folder / "sites.csv", dtype=str, keep_default_na=False)
    frame = gpd.GeoDataFrame(table.drop(columns=["lon", "lat"]), crs="EPSG:4326",
                             geometry=gpd.points_from_xy(table["lon"], table["lat"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GDAL warns that it cuts the names
        frame.to_file(folder / "sites.shp")
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace('sites = "sites.csv"', 'sites = "sites.shp"'))


MAKERS = {f.__name__: f for f in (projected_regions, gpkg_empty_layer, gpkg_missing_layer,
                                   gpkg_empty_geometry, shapefile_without_dbf,
                                   projected_point_out_of_range, gpkg_null_supply,
                                   shapefile_null_supply, regions_link_outside, sites_fifo,
                                   scenario_fifo, deep_toml, deep_json, degrees_declared_3857,
                                   regions_far_from_sites, gpkg_column_case, shapefile_sites,
                                   gpkg_boolean_supply, sqlite_named_gpkg,
                                   shapefile_upper_case_dbf_outside, shapefile_dbf_fifo,
                                   gpkg_unfinished_writes, regions_link_loop,
                                   scenario_link_loop, scenario_extends_chain,
                                   regions_larger_than_memory)}

# ---- generated cases: every numeric column of every layer, with every kind of bad value ----
# Each value as written in a GeoJSON property (a JSON value) and in a CSV cell (text).
BAD_NUMBERS = {"nan": (math.nan, "NaN"), "inf": (math.inf, "inf"), "-inf": (-math.inf, "-inf"),
               "null": (None, "null"), "empty": ("", ""), "negative": (-1000, "-1000"),
               "thousands": ("1,000", "1,000"), "boolean": (True, "true"),
               "list": ([1000, 2000], None)}


def _set_property(folder: Path, column: str, value: object) -> None:
    """Give every region its supply in regions.geojson (``column``), r2's being ``value``."""
    data = json.loads((folder / "regions.geojson").read_text())
    supply = pd.read_csv(folder / "supply.csv").pivot(index="region", columns="stream",
                                                      values="tonnes")
    for feature in data["features"]:
        props = feature["properties"]
        streams = ["lfp"] if column == "supply" else list(supply.columns)
        for stream in streams:
            props["supply" if column == "supply" else f"supply_{stream}"] = float(
                supply.loc[props["id"], stream])
        if props["id"] == "r2":
            props[column] = value
    (folder / "regions.geojson").write_text(json.dumps(data, allow_nan=True))
    _drop_supply_layer(folder)


def _one_stream(folder: Path) -> None:
    """Make the base a one-stream (lfp) instance."""
    toml = folder / "instance.toml"
    text = toml.read_text()
    ncm = text[text.index("[streams.ncm]"):text.index("[tiers.collection]")]
    for old, new in ((ncm, ""), ("{ lfp = 600, ncm = 900 }", "600"),
                     ("{ lfp = 0.9, ncm = 0.95 }", "0.9")):
        text = text.replace(old, new)
    toml.write_text(text)
    sites = folder / "sites.csv"
    sites.write_text(sites.read_text().replace("lfp;ncm", "lfp"))


def _add_periods(folder: Path) -> None:
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace("[finance]", "[periods]\nyears = [2025]\n"
                                             "weights = [1]\n\n[finance]"))


def _set_cell(folder: Path, name: str, column: str, row: int, value: str,
              filler: str = "") -> None:
    """Set a CSV cell (row counted from 1 after the header), adding the column if absent."""
    path = folder / name
    rows = list(csv.reader(path.read_text().splitlines()))
    if column not in rows[0]:
        rows = [rows[0] + [column]] + [r + [filler] for r in rows[1:]]
    rows[row][rows[0].index(column)] = value
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


def _region_cell(column: str) -> Callable[[Path, object], None]:
    def put(folder: Path, value: object) -> None:
        if column == "supply":
            _one_stream(folder)
        _set_property(folder, column.replace("<stream>", "lfp"), value)
    return put


def _site_cell(column: str, row: int, filler: str = "") -> Callable[[Path, object], None]:
    def put(folder: Path, value: object) -> None:
        if column == "closure_cost":
            _add_periods(folder)
        _set_cell(folder, "sites.csv", column, row, value, filler)
    return put


def _supply_year(folder: Path, value: object) -> None:
    _add_periods(folder)
    _set_cell(folder, "supply.csv", "year", 3, value, filler="2025")


# Where each numeric column of LAYER_NUMBERS is broken: (file, what locates the row, writer).
CELLS = {
    ("regions", "supply"): ("regions.geojson", "row 2 (id 'r2')", _region_cell("supply")),
    ("regions", "supply_<stream>"): ("regions.geojson", "row 2 (id 'r2')",
                                     _region_cell("supply_<stream>")),
    ("sites", "lon"): ("sites.csv", "row 1 (id 'c1')", _site_cell("lon", 1)),
    ("sites", "lat"): ("sites.csv", "row 1 (id 'c1')", _site_cell("lat", 1)),
    ("sites", "existing_capacity"): ("sites.csv", "row 4 (id 'p2')",
                                     _site_cell("existing_capacity", 4)),
    ("sites", "existing_fixed_cost"): ("sites.csv", "row 4 (id 'p2')",
                                       _site_cell("existing_fixed_cost", 4, filler="0")),
    ("sites", "closure_cost"): ("sites.csv", "row 4 (id 'p2')", _site_cell("closure_cost", 4)),
    ("sites", "fixed_cost_factor"): ("sites.csv", "row 2 (id 'c2')",
                                     _site_cell("fixed_cost_factor", 2)),
    ("sites", "recovery"): ("sites.csv", "row 3 (id 'p1')", _site_cell("recovery", 3)),
    ("sites", "group_capacity"): ("sites.csv", "row 3 (id 'p1')",
                                  _site_cell("group_capacity", 3)),
    ("supply", "tonnes"): ("supply.csv", "row 3", lambda f, v: _set_cell(f, "supply.csv",
                                                                          "tonnes", 3, v)),
    ("supply", "year"): ("supply.csv", "row 3", _supply_year),
    ("distances", "km"): ("distances.csv", "row 3", lambda f, v: _set_cell(f, "distances.csv",
                                                                           "km", 3, v)),
}


def generated_cases() -> list[dict]:
    """One case per numeric column and bad value; an empty cell only where it means nothing."""
    cases = []
    for (layer, column), (name, row, _) in CELLS.items():
        geojson = name.endswith(".geojson")
        for kind, (json_value, text) in BAD_NUMBERS.items():
            value = json_value if geojson else text
            if value is None and not geojson:
                continue
            if LAYER_NUMBERS[layer][column].empty is not None and kind == "empty":
                continue  # a documented meaning: test_an_empty_cell_takes_its_documented_meaning
            shown = column.replace("<stream>", "lfp")
            cases.append({"id": f"{layer}-{column}-{kind}".replace("<stream>", "stream"),
                          "cell": [layer, column, value],
                          "expect": [name, f"{row}, column {shown!r}", "expected a finite number"]})
    return cases


GENERATED = generated_cases()


def make_case(case: dict, tmp_path: Path) -> tuple[Path, list[str]]:
    """Write the case's broken instance under ``tmp_path``; return it and the CLI options."""
    folder = tmp_path / "instance"
    shutil.copytree(BASE, folder)
    encoding = case.get("encoding", "utf-8")
    for name, old, new in case.get("replace", []):
        text = (folder / name).read_text(encoding="utf-8")
        assert old in text, f"{case['id']}: {old!r} is not in {name}"
        (folder / name).write_bytes(text.replace(old, new, 1).encode(encoding))
    for name, text in case.get("write", {}).items():
        (folder / name).write_bytes(text.encode(encoding))
    if "make" in case:
        MAKERS[case["make"]](folder)
    if "cell" in case:
        layer, column, value = case["cell"]
        CELLS[layer, column][2](folder, value)
    options = []
    if "scenario" in case:
        options += ["--scenario", case["scenario"]]
    if "solver" in case:
        options += ["--solver", folder / case["solver"]]
    return folder, options


def assert_one_clear_line(case: dict, output: str) -> str:
    line = output.strip()
    assert "Traceback" not in output
    assert len(line.splitlines()) == 1, output
    assert line.startswith("error: "), line
    for fragment in case["expect"]:
        assert fragment in line, f"{case['id']}: {fragment!r} not in {line!r}"
    return line


def test_the_corpus_is_large_and_each_case_is_distinct():
    ids = [case["id"] for case in CASES + GENERATED]
    print(f"\n{len(CASES)} bad inputs in {CORPUS / 'cases.toml'}, {len(GENERATED)} generated "
          f"(every numeric column of every layer): {len(ids)} in all")
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 50
    keys = {"id", "replace", "write", "encoding", "make", "scenario", "solver", "expect", "cell"}
    for case in CASES + GENERATED:
        assert set(case) <= keys, case["id"]
        assert re.search(r"\.(toml|csv|geojson|gpkg|shp)\b", case["expect"][0]), case["id"]
    assert set(MAKERS) <= {case.get("make") for case in CASES}
    assert SUBPROCESS <= set(ids)


def test_the_base_of_the_corpus_is_valid(tmp_path):
    """The control: unbroken, the base solves and passes the verifier."""
    solve_verified(BASE, tmp_path / "run", "--scenario", "mandate")


def test_every_numeric_column_of_every_layer_has_every_bad_value(tmp_path, monkeypatch):
    """The columns are those of the loader's table LAYER_NUMBERS, and the loader reads none
    outside it: every number it reads from the base and its variants is recorded."""
    columns = {(layer, column) for layer, numbers in LAYER_NUMBERS.items() for column in numbers}
    assert set(CELLS) == columns
    specs = {column: spec for numbers in LAYER_NUMBERS.values()
             for column, spec in numbers.items()}
    read = []

    def recording(frame, column, path, spec):
        read.append((column, spec))
        return number_column(frame, column, path, spec)

    monkeypatch.setattr(load, "number_column", recording)
    monkeypatch.setattr(layers, "number_column", recording)
    variants = {"base": None, "supply": (("regions", "supply"), 2400.0),
                "streams": (("regions", "supply_<stream>"), 2400.0),
                "year": (("supply", "year"), "2025")}
    for name, change in variants.items():
        folder = tmp_path / name
        shutil.copytree(BASE, folder)
        if change:
            CELLS[change[0]][2](folder, change[1])
        load.load_instance(folder)
    for column, spec in read:
        key = column if column in specs else "supply_<stream>"
        assert specs[key] == spec, column
    assert {c for c, _ in read} | {"supply_<stream>"} >= set(specs)
    for layer, column in columns:
        tried = {case["id"].removeprefix(f"{layer}-{column}-".replace("<stream>", "stream"))
                 for case in GENERATED if case["cell"][:2] == [layer, column]}
        needed = {"nan", "inf", "-inf", "null", "negative", "thousands", "boolean"}
        if LAYER_NUMBERS[layer][column].empty is None:
            needed.add("empty")
        assert needed <= tried, (layer, column, needed - tried)


@pytest.mark.parametrize("case", CASES + GENERATED, ids=[case["id"] for case in CASES + GENERATED])
def test_bad_input_is_one_clear_line_exit_2_and_writes_nothing(case, tmp_path):
    folder, options = make_case(case, tmp_path)
    out = tmp_path / "run"
    solved = cli("solve", folder, *options, "--out", out)
    assert solved.exit_code == 2, solved.output
    line = assert_one_clear_line(case, solved.output)
    assert not out.exists()
    validated = cli("validate", folder, *options)
    assert validated.exit_code == 2, validated.output
    assert assert_one_clear_line(case, validated.output) == line
    assert [p.name for p in tmp_path.iterdir()] == ["instance"]
    if case["id"] in SUBPROCESS:
        run = subprocess.run([sys.executable, "-m", "siting", "solve", folder, *options,
                              "--out", out], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
        assert run.returncode == 2, run.stderr
        assert run.stdout == ""
        assert assert_one_clear_line(case, run.stderr) == line
        assert not out.exists()


def test_no_source_file_can_run_code_from_an_input():
    """No pickle, eval, exec or YAML loader anywhere in the package."""
    forbidden = re.compile(r"\bpickle\b|\bmarshal\b|\bshelve\b|\beval\(|\bexec\(|\byaml\b"
                           r"|__import__|\bdill\b|\bjoblib\b")
    assert all(forbidden.search(s) for s in ("pickle.loads(b)", "eval(text)", "yaml.load(f)"))
    sources = sorted((ROOT / "src").rglob("*.py"))
    assert len(sources) > 40
    hits = [f"{p}:{i}" for p in sources
            for i, line in enumerate(p.read_text().splitlines(), start=1) if forbidden.search(line)]
    assert hits == []


CODE = "__import__('os').system('touch PWNED')"
# Jinja that would create the folder PWNED if a template ever evaluated an input text.
TEMPLATE_CODE = "{{ lipsum.__globals__.os.mkdir(dict(PWNED=1)|list|first) }}"


def test_code_in_text_fields_comes_out_as_plain_data(tmp_path, monkeypatch):
    """Names that look like Python or Jinja are written back verbatim, never run."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "instance"
    shutil.copytree(BASE, folder)
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace('name = "bad-input base"', f'name = "{CODE}"'))
    regions = folder / "regions.geojson"
    regions.write_text(regions.read_text().replace("District 1", "{{ 6*7 }}x {% if 1 %}"))
    sites = folder / "sites.csv"
    sites.write_text(sites.read_text().replace("Collection 1", TEMPLATE_CODE))
    run = tmp_path / "run"
    solution = solve_verified(folder, run)
    assert solution["instance"]["name"] == CODE
    assert "{{ 6*7 }}x {% if 1 %}" in (run / "regions.csv").read_text()
    assert TEMPLATE_CODE in (run / "facilities.csv").read_text()
    page = (run / "map.html").read_text()
    assert "6*7 }}x" in page
    assert "42x" not in page
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("kind", ["home", "driver-prefix"])
def test_a_layer_is_read_from_the_file_its_path_names_in_the_instance_folder(
        tmp_path, monkeypatch, kind):
    """Run from inside the instance, a path beginning "~/" or "GPKG:" names a file there:
    pandas does not expand it to the home folder, nor GDAL take it as a driver prefix."""
    folder = tmp_path / "instance"
    shutil.copytree(BASE, folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if kind == "home":
        monkeypatch.setenv("HOME", str(elsewhere))
        ref, layer = "~/sites.csv", "sites"
        sites = (folder / "sites.csv").read_text()
        (elsewhere / "sites.csv").write_text(sites.replace("Collection 1", "From home"))
    else:
        ref, layer = f"GPKG:{elsewhere}/regions.gpkg:regions.gpkg", "regions"
        _regions(folder).assign(name="From elsewhere").to_file(elsewhere / "regions.gpkg")
    meant = folder / ref
    meant.parent.mkdir(parents=True)
    old = f'{layer} = "{layer}.geojson"' if layer == "regions" else 'sites = "sites.csv"'
    if layer == "regions":
        _regions(folder).to_file(meant, driver="GPKG")
    else:
        shutil.copy(folder / "sites.csv", meant)
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace(old, f"{layer} = {json.dumps(ref)}"))
    monkeypatch.chdir(folder)
    instance = load.load_instance(Path("."))
    names = set(instance.regions["name"]) | set(instance.sites["name"])
    assert not names & {"From home", "From elsewhere"}
    assert "Collection 1" in names


def unprivileged() -> list[str]:
    """The prefix that runs a command without root's right to read any file, or skips."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: every file is readable")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


@pytest.mark.parametrize("file", ["instance.toml", "regions.geojson", "sites.csv",
                                  "scenarios/mandate.toml", "quick.toml"])
def test_a_file_that_cannot_be_read_is_one_clear_line(tmp_path, file):
    folder = tmp_path / "instance"
    shutil.copytree(BASE, folder)
    (folder / "quick.toml").write_text("[solver]\ntime_limit = 10\n")
    (folder / file).chmod(0)
    run = subprocess.run([*unprivileged(), sys.executable, "-m", "siting", "validate", folder,
                          "--scenario", "mandate", "--solver", folder / "quick.toml"],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1, run.stderr
    assert file.split("/")[-1] in run.stderr
    assert "cannot be read (permission denied)" in run.stderr
