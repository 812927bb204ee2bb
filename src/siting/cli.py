"""The ``siting`` command line: thin wrappers that parse, call the API, and print."""

from __future__ import annotations

import sys
from functools import wraps
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from siting.errors import SitingError
from siting.instance.generate import generate_instance
from siting.instance.load import load_instance
from siting.model.policies import REGISTRY
from siting.render.maps import render_map
from siting.render.timeline import render_timeline
from siting.run import prepare, resolve_scenario
from siting.run import solve as solve_instance
from siting.runfiles import write_run
from siting.solution import Solution
from siting.solve import load_profile
from siting.verify import verify_run

app = typer.Typer(help="Where to build collection and recycling facilities, and how big.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err_console = Console(stderr=True)


def friendly(command):
    """Turn a SitingError into one line on stderr and its exit code (--debug: traceback)."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SitingError as exc:
            if "--debug" in sys.argv:
                raise
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]: nothing was written for this run")
            raise typer.Exit(130) from None

    return wrapper


LINKING = {"auto": None, "strong": True, "weak": False}
InstanceArg = Annotated[Path, typer.Argument(help="Instance folder (with instance.toml).")]
ScenarioOption = Annotated[str | None, typer.Option(help="Scenario file, or a name in the "
                                                     "instance's scenarios/ folder.")]
SolverOption = Annotated[str, typer.Option(help="Solver profile: a name in solvers/ or a "
                                           "TOML file.")]


@app.command()
@friendly
def solve(
    instance: InstanceArg,
    scenario: ScenarioOption = None,
    solver: SolverOption = "highs",
    out: Annotated[Path | None, typer.Option(help="Run folder to write (default "
                                             "runs/<instance>/<scenario>).")] = None,
    linking: Annotated[str, typer.Option(help="Strong linking: auto, strong or weak.")] = "auto",
) -> None:
    """Solve an instance and write the run folder (solution.json, CSVs, GeoPackage)."""
    if linking not in LINKING:
        raise typer.BadParameter("expected auto, strong or weak", param_hint="--linking")
    strong = LINKING[linking]
    with console.status("solving..."):
        solution = solve_instance(instance, scenario, solver, strong)
    out = out or Path("runs") / instance.resolve().name / solution.meta["scenario"]["name"]
    folder = write_run(solution, out, extra=render_pages)
    print_solution(solution)
    check = solution.meta.get("pruning", {})
    if check.get("proven") is False:
        console.print(f"[yellow]warning[/]: pruning to {check['nearest_sites']} nearest sites may "
                      f"have cut off the optimum: the cost is {check['gap_to_full_bound']:.2%} "
                      "above the full problem's lower bound; raise nearest_sites to check")
    console.print(f"wrote [bold]{escape(str(folder))}[/]")


def render_pages(folder: Path) -> None:
    """Render the map of a run folder, and its timeline when it has periods."""
    render_map(folder, folder / "map.html")
    if (folder / "periods.csv").is_file():
        render_timeline(folder, folder / "timeline.html")


def print_solution(solution: Solution) -> None:
    """Print the headline KPIs of a solution as a table."""
    k, meta = solution.kpis, solution.meta
    timings = meta["timings"]
    currency = escape(meta["instance"]["currency"])
    table = Table(title=escape(f"{meta['instance']['name']} / {meta['scenario']['name']}"),
                  show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    gap = meta["mip_gap"] or 0.0
    status = meta["status"] + ("" if meta["status"] == "optimal" else " (best incumbent)")
    rows = [
        ("status", f"{status}, gap {gap:.3%}"),
        ("total cost", f"{k['total_cost']:,.0f} {currency}/yr"),
        *((f"  {name}", f"{value:,.0f}") for name, value in k["cost"].items()),
        ("supply", f"{k['supply_t']:,.0f} t"),
        ("collection rate", _pct(k["collection_rate"])),
        ("collection gap", f"{k['uncollected_t']:,.0f} t"),
        ("capacity (last tier)", f"{k['capacity_t']:,.0f} t/yr"),
        ("utilisation", _pct(k["utilisation"])),
        ("tonne-km", f"{k['tonne_km']:,.0f}"),
        ("CO2", f"{k['co2_t']:,.0f} t"),
        *((f"open {escape(tier)}", f"{n} ({k['facilities_new'][tier]} new)")
          for tier, n in k["facilities_open"].items()),
        ("build / solve", f"{timings['build_s']:.2f} s / {timings['solve_s']:.2f} s"),
    ]
    if "horizon" in k:
        plan = k["horizon"]
        rows[1:1] = [("horizon, discounted", f"{plan['discounted_cost']:,.0f} {currency}"),
                     ("builds (then: last period)", str(len(plan["builds"])))]
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@app.command()
@friendly
def validate(instance: InstanceArg, scenario: ScenarioOption = None,
             solver: SolverOption = "highs") -> None:
    """Check an instance folder, and a scenario and solver profile, without solving."""
    inst = load_instance(instance)
    resolved = resolve_scenario(inst.path, scenario)
    load_profile(solver)
    net = prepare(inst, resolved)
    console.print("[green]ok[/]: " + escape(
        f"{inst.name}: {len(inst.regions)} regions, {len(inst.sites)} sites, "
        f"{len(inst.streams)} streams, tiers {' -> '.join(inst.tiers)}, "
        f"{len(net.arc_km)} arcs, {len(net.option_site)} build options"))


@app.command()
@friendly
def verify(run_dir: Annotated[Path, typer.Argument(help="Run folder written by solve.")]) -> None:
    """Check a run folder independently: constraints, costs, KPIs, policies."""
    report = verify_run(run_dir)
    if not report.ok:
        for problem in report.problems:
            err_console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False)
        raise typer.Exit(5)
    console.print(f"[green]verified[/]: {', '.join(report.checked)}")


@app.command()
@friendly
def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write the instance to.")],
    regions: Annotated[int, typer.Option(min=1, help="Number of supply regions.")] = 100,
    sites: Annotated[int, typer.Option(min=1, help="Number of candidate sites.")] = 30,
    streams: Annotated[int, typer.Option(min=1, max=6, help="Number of waste streams.")] = 2,
    tiers: Annotated[int, typer.Option(min=1, max=2,
                                       help="1: plants; 2: collection + plants.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    capacity_ratio: Annotated[float, typer.Option(
        min=0.01, help="Largest size of every site together, as a multiple of total supply "
        "(with --single-size: each site's capacity over the mean supply per site).")] = 1.5,
    single_size: Annotated[bool, typer.Option(
        help="One size of equal capacity at every site, no existing sites, mandatory "
        "collection: capacitated facility location shaped like OR-Library's capa/b/c.")] = False,
) -> None:
    """Write a seeded synthetic instance (for tests and benchmarks)."""
    if single_size and tiers != 1:
        raise typer.BadParameter("--single-size needs --tiers 1", param_hint="--tiers")
    folder = generate_instance(out, regions, sites, streams, tiers, seed, capacity_ratio,
                               single_size=single_size)
    console.print(f"wrote [bold]{escape(str(folder))}[/]")


@app.command()
def policies() -> None:
    """List every registered policy with its parameters and what it does."""
    table = Table(title="policies")
    for column in ("policy", "parameters", "what it does"):
        table.add_column(column)
    for name, cls in sorted(REGISTRY.items()):
        params = [f"{field}{'' if info.is_required() else '?'}"
                  for field, info in cls.model_fields.items() if field != "type"]
        table.add_row(name, ", ".join(params), cls.summary)
    console.print(table)


import siting.commands  # noqa: E402, F401  (registers the command modules on app)
