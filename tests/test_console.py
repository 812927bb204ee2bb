"""The console: --version, --json, --quiet, --debug, progress, names, provinces, warnings."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version

import pandas as pd
from rich.table import Table
from rich.text import Text

from siting import load_instance, solve
from siting.cli import main as cli_module
from siting.engine.job import Status
from siting.errors import InstanceError
from siting.render.style import money
from siting.verify.checks import verify_run
from support import DEMO, ROOT, cli, solve_verified, write_instance

HEAVY = ("pandas", "pyomo", "highspy", "folium", "geopandas", "scipy", "dask")


def test_version():
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"siting {version('siting')}"


def test_help_imports_no_heavy_library():
    code = ("import sys; from siting.cli.main import app; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout
    assert out.strip() == "[]"


def test_json_prints_the_kpis_of_the_verified_run(tmp_path):
    result = cli("solve", DEMO, "--scenario", "mandate-95", "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert verify_run(tmp_path / "run").ok
    meta = json.loads((tmp_path / "run" / "solution.json").read_text())
    assert printed["run"] == str((tmp_path / "run").resolve())
    assert printed["kpis"] == meta["kpis"]
    assert printed["status"] == "optimal"
    facilities = pd.read_csv(tmp_path / "run" / "facilities.csv")
    built = facilities[facilities["new_capacity"] > 0]
    assert printed["new_sites"] == [f"{n} ({s})" for n, s in zip(built["name"], built["size"],
                                                                 strict=True)]


def test_quiet_prints_only_warnings(tmp_path):
    result = cli("solve", far_instance(tmp_path), "--out", tmp_path / "run", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("warning: instance.toml: sizes plant.A have capex")
    assert verify_run(tmp_path / "run").ok


def test_the_shipped_demo_solves_without_a_warning(tmp_path):
    result = cli("solve", DEMO, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert verify_run(tmp_path / "run").ok


def test_debug_shows_the_traceback_instead_of_one_line(tmp_path):
    plain = cli("solve", tmp_path / "nowhere")
    assert plain.exit_code == 2
    assert plain.stderr.startswith("error: ")
    assert len(plain.stderr.strip().splitlines()) == 1
    debug = cli("--debug", "solve", tmp_path / "nowhere")
    assert isinstance(debug.exception, InstanceError)


def test_progress_reports_each_step_and_incumbent_above_and_bound_below_the_optimum():
    seen: list[Status] = []
    solution = solve(load_instance(DEMO), listener=seen.append)
    optimum = solution.meta["objective"]
    assert [s.step for s in seen][:2] == ["prepare", "build"]
    assert "solve" in {s.step for s in seen}
    assert all(s.limit == solution.meta["solver"]["time_limit"] for s in seen)
    assert [s.elapsed for s in seen] == sorted(s.elapsed for s in seen)
    assert any(s.incumbent is not None and s.bound is not None for s in seen)
    assert all(s.bound <= optimum * (1 + 1e-9) for s in seen if s.bound is not None)
    assert all(s.incumbent >= optimum * (1 - 1e-9) for s in seen if s.incumbent is not None)


def test_progress_display_shows_step_time_bound_and_incumbent_on_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(cli_module, "err_console", cli_module.safe_console(
        file=stream, force_terminal=True, width=160))
    with cli_module.progress_display(hidden=False) as show:
        show(Status("solve", 12.0, 600.0, 1234567.0, 1200000.0, 0.028, 1e-4))
    text = stream.getvalue()
    assert "solve: 12 / 600 s" in text
    assert "best network 1,234,567" in text
    assert "bound 1,200,000, gap 2.80% (target 0.01%)" in text
    with cli_module.progress_display(hidden=True) as hidden:
        assert hidden is None


FAR_TOML = """
[instance]
name = "two provinces"
[layers]
regions = "regions.csv"
sites = "sites.csv"
[streams.s]
transport_cost = 1.0
uncollected_penalty = 100
[tiers.plant]
processing_cost = 10
sizes = [{ name = "A", capacity = 1000, fixed_cost = 0, capex = 5000 }]
"""


def far_instance(tmp_path, finance: str = ""):
    """Province Far is 2000 km from the only site: collecting there costs more than leaving."""
    return write_instance(tmp_path / "far", FAR_TOML + finance,
                          "id,name,province,lon,lat,supply\nn,Near,Home,100,30,40\n"
                          "f,Far,Far,120,30,60\n",
                          "id,name,tier,lon,lat\np,Plant <P>,plant,100,30\n")


def test_console_lists_provinces_and_marks_one_that_collects_nothing(tmp_path):
    result = cli("solve", far_instance(tmp_path), "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert verify_run(tmp_path / "run").ok
    rows = {line.split()[1]: line for line in result.stdout.splitlines()
            if re.match(r"^\W+(Home|Far) ", line)}
    assert "collects nothing" in rows["Far"]
    assert "100.0%" in rows["Home"]
    assert "new sites: Plant <P> (A)" in " ".join(result.stdout.split())


def test_capex_without_finance_warns_in_one_line(tmp_path):
    folder = far_instance(tmp_path)
    result = cli("validate", folder)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "warning: instance.toml: sizes plant.A have capex but there is no [finance] table, so "
        "the cost charges no capex (only capex_budget counts it); add [finance] with "
        "discount_rate and lifetime_years to annualise it"]
    shutil.rmtree(folder)
    priced = far_instance(tmp_path, "[finance]\ndiscount_rate = 0.05\nlifetime_years = 10\n")
    result = cli("solve", priced, "--out", tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert json.loads(result.stdout)["kpis"]["cost"]["capex"] > 0
    assert verify_run(tmp_path / "run").ok


def test_marginal_costs_are_printed(tmp_path):
    toml = FAR_TOML.replace("uncollected_penalty = 100", "uncollected_penalty = 1")
    folder = write_instance(tmp_path / "m", toml, "id,name,lon,lat,supply\nn,Near,100,30,40\n",
                            "id,name,tier,lon,lat\np,P,plant,100.1,30\n")
    scenario = folder / "mandate.toml"
    scenario.write_text('[scenario]\nname = "mandate"\n[[policy]]\n'
                        'type = "min_collection_rate"\nrate = 0.5\n')
    result = cli("solve", folder, "--scenario", scenario, "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert verify_run(tmp_path / "run").ok
    assert ("marginal cost of binding policies: min_collection_rate: collecting one more tonne "
            "costs") in result.stdout


EVIL = "\x1b]52;c;SGVsbG8=\x07\x1b[2J\x1b[31mred\x9b2J\x00end"  # clipboard, clear, colour, C1


def test_every_console_prints_control_characters_as_escapes(monkeypatch):
    """Names reach the terminal as text: escapes shown, rich's own styling kept."""
    colour = cli_module.safe_console(file=io.StringIO(), force_terminal=True,
                                     color_system="standard")
    for printer in (cli_module.console, cli_module.err_console, colour):
        stream = io.StringIO()
        monkeypatch.setattr(printer, "_file", stream)  # restored to None: the current stdout
        printer.print(f"[bold]name[/]: {cli_module.escape(EVIL)}", highlight=False)
        table = Table(title=EVIL)
        table.add_column(EVIL)
        table.add_row(Text(EVIL))
        printer.print(table)
        text = stream.getvalue()
        for raw in ("\x1b]", "\x1b[2J", "\x1b[31m", "\x9b", "\x00", "\x07"):
            assert raw not in text, text
        assert text.count("\\x1b]52;c;SGVsbG8=\\x1b[2J\\x1b[31mred\\x9b2J\\x00end") == 4
    assert "\x1b[1m" in text  # bold, from rich, on the colour terminal


def test_a_name_read_from_a_run_folder_reaches_the_terminal_as_text(tmp_path):
    run = tmp_path / "run"
    solve_verified(DEMO, run)
    flows = run / "flows.csv"
    rows = flows.read_text().splitlines()
    rows[1] = EVIL.replace("\x00", "") + rows[1][rows[1].index(","):]  # the origin of a flow
    flows.write_text("\n".join(rows) + "\n")
    result = cli("map", run, "--out", tmp_path / "map.html")
    assert result.exit_code == 2, result.output
    assert "\x1b" not in result.output
    assert "\\x1b]52;c;SGVsbG8=" in result.output


def test_tables_piped_to_a_file_keep_every_figure(tmp_path):
    """Output that is not a terminal is not cut to 80 columns: the regret table is whole."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    result = subprocess.run([sys.executable, "-m", "siting", "robust", str(DEMO), "--samples",
                             "3", "--out", str(tmp_path / "robust")],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "…" not in result.stdout
    regret = pd.read_csv(tmp_path / "robust" / "regret.csv")
    assert len(regret) > 1
    lines = result.stdout.splitlines()
    for row in regret.itertuples():
        line = next(line for line in lines if line.strip().startswith(row.sites))
        assert money(row.mean_regret, "CNY") in line
        assert money(row.max_regret, "CNY") in line
    assert max(len(line) for line in lines) > 80
    for run in ["baseline", *(f"samples/{i:03d}" for i in range(3))]:
        assert verify_run(tmp_path / "robust" / run).ok
