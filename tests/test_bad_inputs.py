"""The bad-input corpus: every malformed input gets one clear line, exit code 2, no output.

Each case of ``bad_inputs/cases.toml`` starts from the valid instance ``bad_inputs/base``,
breaks one thing (a text replacement, a file written, or a generator below for binary and
GIS files), and names the fragments the error line must hold: the file, the row or field,
and what was expected.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from support import ROOT, cli, solve_verified

CORPUS = Path(__file__).parent / "bad_inputs"
BASE = CORPUS / "base"
CASES = tomllib.loads((CORPUS / "cases.toml").read_text(encoding="utf-8"))["case"]
# Run through a real interpreter too, to prove that no traceback reaches stderr.
SUBPROCESS = {"instance-toml-broken", "regions-projected-as-lonlat", "sites-not-utf8",
              "scenario-extends-missing", "solver-wrong-type", "gpkg-empty-layer"}


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


MAKERS = {f.__name__: f for f in (projected_regions, gpkg_empty_layer, gpkg_missing_layer,
                                   gpkg_empty_geometry, shapefile_without_dbf)}


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
    ids = [case["id"] for case in CASES]
    print(f"\n{len(CASES)} bad inputs in {CORPUS / 'cases.toml'}")
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 50
    keys = {"id", "replace", "write", "encoding", "make", "scenario", "solver", "expect"}
    for case in CASES:
        assert set(case) <= keys, case["id"]
        assert re.search(r"\.(toml|csv|geojson|gpkg|shp)\b", case["expect"][0]), case["id"]
    assert set(MAKERS) <= {case.get("make") for case in CASES}
    assert SUBPROCESS <= set(ids)


def test_the_base_of_the_corpus_is_valid(tmp_path):
    """The control: unbroken, the base solves and passes the verifier."""
    solve_verified(BASE, tmp_path / "run", "--scenario", "mandate")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
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
