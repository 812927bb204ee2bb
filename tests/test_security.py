"""What a planner opens is safe: names from input files come out escaped in every HTML,
SVG and Markdown page and on the terminal, and no input file can run code."""

from __future__ import annotations

import ast
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import highspy
import pandas as pd
import pyogrio
import pytest

import siting.instance.layers  # noqa: F401 (turns GDAL's network access off)
from siting.engine.highs import PROFILE_OPTIONS
from siting.instance.generate import generate_instance
from support import ROOT, cli, solve_verified

SCRIPT = "<script>alert(1)</script>"
LINK = "a|b](javascript:x)"
SCRIPT_TAG = re.compile(r"<script[^>]*>\s*alert", re.IGNORECASE)
JS_URL = re.compile(r"(?:href|src|action)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
MD_LINK = re.compile(r"(?<!\\)\]\((?:javascript:)")
NAMES = (SCRIPT, LINK)
SCRIPT_OPEN = "<script>alert(1)"  # a scenario name: plain, no "/" (it names the run folder)


def evil_instance(folder: Path) -> Path:
    """A small generated instance whose every name is one of :data:`NAMES`."""
    generate_instance(folder, regions=12, sites=4, streams=2, seed=4)
    toml = folder / "instance.toml"
    text = toml.read_text().replace('name = "synthetic 12x4 seed 4"',
                                    f"name = {json.dumps(SCRIPT + ' ' + LINK)}")
    text = text.replace('label = "LFP"', f"label = {json.dumps(SCRIPT)}")
    text = text.replace('label = "NCM"', f"label = {json.dumps(LINK)}")
    text = text.replace("uncollected_penalty = 6000", "uncollected_penalty = 1500")
    toml.write_text(text.replace('name = "S"', f"name = {json.dumps(LINK)}"))
    for layer in ("regions", "sites"):
        table = pd.read_csv(folder / f"{layer}.csv", dtype=str, keep_default_na=False)
        table["name"] = [NAMES[i % 2] for i in range(len(table))]
        table["province"] = [NAMES[(i + 1) % 2] for i in range(len(table))]
        if layer == "sites":
            table["sizes"] = table["sizes"].str.replace("S;", f"{LINK};")
        table.to_csv(folder / f"{layer}.csv", index=False)
    scenarios = folder / "scenarios"
    scenarios.mkdir()
    (scenarios / "baseline.toml").write_text(f"[scenario]\nname = {json.dumps(LINK)}\n")
    (scenarios / "mandate.toml").write_text(
        f"[scenario]\nname = {json.dumps(SCRIPT_OPEN)}\n"
        '[[policy]]\ntype = "min_collection_rate"\nrate = 0.95\n')
    return folder


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[Path]:
    """Every page the tool writes about the evil instance: solve, map, bench, pareto."""
    tmp = tmp_path_factory.mktemp("escaping")
    instance = evil_instance(tmp / "evil")
    commands = [
        ("solve", instance, "--out", tmp / "a"),
        ("solve", instance, "--scenario", "mandate", "--out", tmp / "b"),
        ("map", tmp / "a", "--offline", "--out", tmp / "offline.html"),
        ("map", "--compare", tmp / "a", tmp / "b", "--out", tmp / "compare.html"),
        ("bench", instance, "--jobs", "1", "--out", tmp / "bench"),
        ("pareto", instance, "--points", "2", "--jobs", "1", "--maps", "--out", tmp / "pareto"),
    ]
    for args in commands:
        result = cli(*args)
        assert result.exit_code == 0, result.output
    return sorted(path for suffix in ("html", "svg", "md") for path in tmp.rglob(f"*.{suffix}"))


def test_every_page_is_checked(pages):
    names = {path.name for path in pages}
    assert names == {"map.html", "offline.html", "compare.html", "comparison.html",
                     "comparison.md", "pareto.html", "pareto.svg"}
    assert len(pages) >= 11  # 2 solves, 2 bench runs and 2 pareto points draw a map.html


def test_html_and_svg_show_names_as_text(pages):
    for page in (p for p in pages if p.suffix != ".md"):
        text = page.read_text(encoding="utf-8")
        assert not SCRIPT_TAG.search(text), page
        assert not JS_URL.search(text), page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text, page


def test_markdown_shows_names_as_text(pages):
    for page in (p for p in pages if p.suffix == ".md"):
        text = page.read_text(encoding="utf-8")
        assert "<script" not in text.lower()
        assert not MD_LINK.search(text)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "a\\|b\\](javascript:x)" in text  # no link: its "]" is escaped


# rich console markup: an unmatched closing tag used to crash the CLI, and ":x:" was printed
# as an emoji (an error then named a file that does not exist)
MARKUP = "[/x] [bold]b :x:"


def test_the_terminal_prints_names_as_text(tmp_path):
    instance = generate_instance(tmp_path / "inst", regions=5, sites=3, seed=2)
    toml = instance / "instance.toml"
    toml.write_text(toml.read_text().replace('name = "synthetic 5x3 seed 2"',
                                             f"name = {json.dumps(MARKUP)}"))
    for args in (("validate", instance), ("solve", instance, "--out", tmp_path / "run")):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert MARKUP in result.output
    regions = instance / "regions.csv"
    rows = regions.read_text().splitlines()
    rows[1:3] = [f'"{MARKUP}",' + row.split(",", 1)[1] for row in rows[1:3]]
    regions.write_text("\n".join(rows) + "\n")
    result = cli("validate", instance)
    assert result.exit_code == 2
    assert f"duplicate id '{MARKUP}'" in result.output


def test_every_command_prints_input_names_as_text(tmp_path):
    """Provinces, names and the currency holding rich markup reach every command's output."""
    instance = generate_instance(tmp_path / "inst", regions=6, sites=3, seed=2)
    toml = instance / "instance.toml"
    toml.write_text(toml.read_text().replace('name = "synthetic 6x3 seed 2"',
                                             f"name = {json.dumps(MARKUP)}")
                    .replace('currency = "CNY"', f"currency = {json.dumps(MARKUP)}"))
    for layer in ("regions", "sites"):
        table = pd.read_csv(instance / f"{layer}.csv", dtype=str, keep_default_na=False)
        table["province"] = MARKUP
        table.to_csv(instance / f"{layer}.csv", index=False)
    for args in (("robust", instance, "--samples", "2", "--jobs", "1"),
                 ("alternatives", instance, "--count", "1", "--jobs", "1"),
                 ("bench", instance, "--jobs", "1", "--no-maps"),
                 ("pareto", instance, "--points", "2", "--jobs", "1")):
        result = cli(*args, "--solver", "highs-quick", "--out", tmp_path / args[0])
        assert result.exit_code == 0, result.output
        assert all(part in result.output for part in MARKUP.split()), result.output  # wraps


UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__"}
UNSAFE_METHODS = {"read_pickle", "loads", "load"}
UNSAFE_MODULES = {"pickle", "marshal", "shelve", "dill", "joblib", "yaml", "cloudpickle"}
SAFE_LOADERS = {"json", "tomllib"}  # json.load(s) and tomllib.load(s) parse, never run code


def test_no_input_reader_can_run_code():
    """Inputs are read by parsers only (tomllib, json, pandas CSV, GDAL via pyogrio)."""
    found = []
    for path in sorted((ROOT / "src" / "siting").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) \
                    else [node.module or ""]
                found += [f"{path.name}: import {m}" for m in modules
                          if m.split(".")[0] in UNSAFE_MODULES]
            elif isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id in UNSAFE_BUILTINS:
                    found.append(f"{path.name}:{node.lineno}: {func.id}(...)")
                if isinstance(func, ast.Attribute) and func.attr in UNSAFE_METHODS and not (
                        isinstance(func.value, ast.Name) and func.value.id in SAFE_LOADERS):
                    found.append(f"{path.name}:{node.lineno}: .{func.attr}(...)")
                if any(k.arg == "allow_pickle" for k in node.keywords):
                    found.append(f"{path.name}:{node.lineno}: allow_pickle")
    assert found == []


def test_profile_options_are_real_highs_options_that_touch_no_file():
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    for name in PROFILE_OPTIONS:
        status, _ = highs.getOptionValue(name)
        assert status == highspy.HighsStatus.kOk, name
        assert not re.search(r"file|log|write|read|output|save|report", name), name


def test_a_profile_may_set_allowed_highs_options(tmp_path):
    profile = tmp_path / "tuned.toml"
    profile.write_text('[solver]\nmip_rel_gap = 0\n[options]\npresolve = "off"\n'
                       "primal_feasibility_tolerance = 1e-8\nmip_heuristic_effort = 0.2\n"
                       "mip_max_nodes = 100000\nsimplex_strategy = 1\n")
    instance = generate_instance(tmp_path / "inst", regions=10, sites=4, seed=3)
    solve_verified(instance, tmp_path / "run", "--solver", profile)


@pytest.mark.parametrize("option", [
    "write_solution_to_file = true\nsolution_file = 'x.sol'", "log_file = 'x.log'",
    "write_model_file = 'x.lp'", "mip_improving_solution_file = 'x.sol'",
    "read_solution_file = 'x.sol'", "write_iis_model_file = 'x.lp'"])
def test_a_profile_may_not_set_highs_options_that_touch_files(tmp_path, monkeypatch, option):
    monkeypatch.chdir(tmp_path)
    profile = tmp_path / "evil.toml"
    profile.write_text(f"[options]\n{option}\n")
    instance = generate_instance(tmp_path / "inst", regions=10, sites=4, seed=3)
    result = cli("solve", instance, "--solver", profile, "--out", tmp_path / "run")
    assert result.exit_code == 2, result.output
    refused = option.split("\n")[-1].split(" =")[0]
    assert result.output.strip() == (
        f"error: {profile}: options.{refused}: not a HiGHS option a solver profile may set "
        "(allowed: presolve, algorithm, tolerances, limits and MIP search settings; no option "
        "that reads or writes files or prints)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.toml", "inst"]


@pytest.fixture
def web_server():
    """A local HTTP server that records every request; yields its address and the record."""
    requests: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            requests.append(f"GET {self.path}")
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", ["regions.vrt", "regions.geojson"])
def test_a_vrt_layer_with_a_url_source_is_refused_and_calls_nothing(tmp_path, web_server, name):
    """A VRT (as itself or named .geojson) whose source is a URL makes no request."""
    url, requests = web_server
    folder = tmp_path / "instance"
    shutil.copytree(ROOT / "tests" / "bad_inputs" / "base", folder)
    (folder / name).write_text(
        f'<OGRVRTDataSource><OGRVRTLayer name="regions"><SrcDataSource>/vsicurl/{url}/x.geojson'
        "</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>\n")
    toml = folder / "instance.toml"
    toml.write_text(toml.read_text().replace('regions = "regions.geojson"',
                                             f'regions = "{name}"'))
    for command in ("validate", "solve"):
        result = cli(command, folder, *(["--out", tmp_path / "run"] if command == "solve" else []))
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1
    assert requests == []
    assert not (tmp_path / "run").exists()


def test_gdal_opens_no_url_once_siting_reads_layers(web_server):
    """The GDAL configuration itself: a /vsicurl/ or http:// name fetches nothing."""
    url, requests = web_server
    for name in (f"/vsicurl/{url}/x.geojson", f"{url}/y.geojson"):
        with pytest.raises(pyogrio.errors.DataSourceError):
            pyogrio.read_info(name)
    assert requests == []
