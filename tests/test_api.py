"""The Python API: names, Solution frames and map, instances from GeoDataFrames, README."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from importlib.metadata import version

import folium
import geopandas as gpd
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import siting
from siting import Instance, Solution, load_instance, solve, verify_run, write_run
from siting.cli.main import app
from siting.errors import InputError, InstanceError
from support import DEMO, ROOT


@pytest.fixture(scope="module")
def demo_solution() -> Solution:
    return solve(load_instance(DEMO), "mandate-95")


def test_public_names_and_version():
    assert siting.__version__ == version("siting")
    assert callable(siting.solve)
    assert callable(siting.load_instance)
    assert set(siting.__all__) <= set(dir(siting))
    with pytest.raises(AttributeError):
        _ = siting.no_such_name


def test_solution_repr_is_one_short_line(demo_solution):
    text = repr(demo_solution)
    kpis = demo_solution.kpis
    assert "\n" not in text
    assert len(text) < 200
    assert text.startswith("<Solution 'Demo")
    assert "'mandate-95': optimal" in text
    assert f"cost {kpis['total_cost']:,.0f} CNY/yr" in text
    assert f"collected {kpis['collected_t']:,.0f} of {kpis['supply_t']:,.0f} t" in text


def test_solution_layers_and_map(tmp_path, demo_solution):
    assert verify_run(write_run(demo_solution, tmp_path / "run")).ok
    facilities = demo_solution.to_geodataframe("facilities")
    regions = demo_solution.to_geodataframe("regions")
    flows = demo_solution.to_geodataframe("flows")
    assert set(facilities.geom_type) == {"Point"}
    assert facilities["new"].tolist() == (facilities["new_capacity"] > 0).tolist()
    assert facilities["new"].any()
    assert len(facilities) == 10
    assert len(regions) == 12
    assert regions.crs.to_epsg() == 4326
    assert set(flows.geom_type) == {"LineString"}
    assert flows["tonnes"].sum() == pytest.approx(demo_solution.flows["tonnes"].sum())
    with pytest.raises(ValueError, match="no layer 'sites'"):
        demo_solution.to_geodataframe("sites")
    m = demo_solution.explore()
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    opened = facilities[facilities["open"]]
    assert html.count("L.circleMarker") == len(opened)
    assert all(name in html for name in opened["name"])


def demo_frames() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """The demo's layers and tables, read with geopandas/pandas instead of siting."""
    regions = gpd.read_file(DEMO / "regions.geojson")
    table = pd.read_csv(DEMO / "sites.csv", dtype={"id": str}, keep_default_na=False)
    sites = gpd.GeoDataFrame(table, geometry=gpd.points_from_xy(table["lon"], table["lat"]),
                             crs=4326)
    spec = tomllib.loads((DEMO / "instance.toml").read_text())
    del spec["layers"]
    return regions, sites, spec


def test_instance_from_geodataframes_solves_as_the_folder_does(tmp_path):
    regions, sites, spec = demo_frames()
    instance = Instance.from_geodataframes(regions=regions.to_crs(3857), sites=sites, spec=spec)
    assert instance.path is None
    solution = solve(instance)
    folder = write_run(solution, tmp_path / "run")
    assert verify_run(folder, instance).ok
    with pytest.raises(InputError, match="made in memory"):
        verify_run(folder)
    from_folder = solve(load_instance(DEMO))
    assert solution.meta["objective"] == pytest.approx(from_folder.meta["objective"], rel=1e-9)
    again = Instance.from_geodataframes(regions=regions, sites=sites, spec=DEMO / "instance.toml")
    assert again.hash == Instance.from_geodataframes(regions, sites, DEMO).hash


def test_instance_from_geodataframes_rejects_bad_frames_by_name():
    regions, sites, spec = demo_frames()
    with pytest.raises(InstanceError, match="^regions: column 'id'"):
        Instance.from_geodataframes(regions=regions.drop(columns="id"), sites=sites, spec=spec)
    with pytest.raises(InstanceError, match="^spec: streams.lfp.transport_cost"):
        Instance.from_geodataframes(regions, sites, {**spec, "streams": {
            **spec["streams"], "lfp": {**spec["streams"]["lfp"], "transport_cost": -1}}})


def test_map_escapes_names_from_the_frames():
    regions, sites, spec = demo_frames()
    regions.loc[0, "name"] = "<script>alert(1)</script>"
    html = solve(Instance.from_geodataframes(regions, sites, spec)).explore().get_root().render()
    assert "<script>alert(1)</script>" not in html
    assert r"\u0026lt;script\u0026gt;alert(1)" in html  # &lt;script&gt; in the tooltip's JSON


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    return re.search(r"## Python API.*?```python\n(.*?)```", text, re.S).group(1)


def test_readme_example_runs(monkeypatch, capsys, tmp_path):
    code = readme_example()
    assert len(code.strip().splitlines()) == 5
    monkeypatch.chdir(ROOT)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert isinstance(scope["solution"], Solution)
    assert "CNY/yr, 100% collected" in capsys.readouterr().out
    assert verify_run(write_run(scope["solution"], tmp_path / "run")).ok


NOTEBOOK = """
import json, sys
import nbclient, nbformat
notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(sys.stdin.read())])
nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[1]}}).execute()
print(json.dumps(notebook.cells[0].outputs))
"""


def test_readme_example_runs_in_a_notebook_kernel():
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    # In a process of its own: the kernel client's event loop stays out of this one.
    done = subprocess.run([sys.executable, "-c", NOTEBOOK, str(ROOT)], input=readme_example(),
                          capture_output=True, text=True, timeout=600, check=True)
    outputs = json.loads(done.stdout)
    assert not [o for o in outputs if o["output_type"] == "error"]
    shown = [o for o in outputs if o["output_type"] == "execute_result"]
    assert "leaflet" in shown[0]["data"]["text/html"].lower()


def readme_commands() -> list[list[str]]:
    """The README's first block's solve, then every line of its command block, as argv."""
    text = (ROOT / "README.md").read_text()
    first = re.search(r"&& (siting solve [^\n]+)", text).group(1)
    block = re.search(r"## What it does.*?```bash\n(.*?)```", text, re.S).group(1)
    lines = [first, *(line.split(" #")[0] for line in block.splitlines())]
    return [shlex.split(line)[1:] for line in lines]


def test_readme_commands_read_only_what_an_earlier_line_wrote():
    written, shipped = set(), {p.name for p in (ROOT / "instances").iterdir()}
    for argv in readme_commands():
        command = argv[0]
        folders = [a for a in argv[1:] if not a.startswith("-") and "/" in a]
        read = [a for a in folders if a.startswith("runs/")
                and argv[argv.index(a) - 1] != "--out"]
        assert set(read) <= written, (argv, written)
        assert all(a.split("/")[1] in shipped for a in folders if a.startswith("instances/"))
        out = argv[argv.index("--out") + 1] if "--out" in argv else None
        if out is not None:
            assert out not in written, argv  # each line writes a folder of its own
            assert not any(out.startswith(w + "/") for w in written), argv  # none nested
            written.add(out)
        assert command in {c.name for c in typer.main.get_command(app).commands.values()}


@pytest.mark.slow
def test_readme_commands_run_as_written(tmp_path, monkeypatch):
    """Every line of the README's command block, in order (about four minutes)."""
    (tmp_path / "instances").symlink_to(ROOT / "instances")
    monkeypatch.chdir(tmp_path)
    for argv in readme_commands():
        argv = [a.replace("/tmp/", f"{tmp_path}/") for a in argv]
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 0, (argv, result.output)
    for run in ("demo", "mandate-95", "quick", "horizon"):
        assert verify_run(tmp_path / "runs" / run).ok
