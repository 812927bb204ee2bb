"""The ``siting`` command line: thin wrappers that parse, call the API, and print.

Heavy libraries (pandas, Pyomo, HiGHS, folium) are imported inside the commands, so
``siting --help`` and ``siting --version`` start fast.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, ConsoleOptions, ConsoleRenderable, RenderableType, RenderResult
from rich.markup import escape
from rich.segment import Segment
from rich.table import Table

from siting import __version__
from siting.errors import InputError, SitingError

if TYPE_CHECKING:
    from siting.engine.job import Status
    from siting.results.solution import Solution

app = typer.Typer(help="Where to build collection and recycling facilities, and how big.",
                  rich_markup_mode=None,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1


def visible(text: str) -> str:
    r"""Return ``text`` with each control character written as its escape: ``\x1b``, ``\x07``.

    A name from a file may hold terminal control sequences (OSC 52 writes the clipboard,
    ``ESC [2J`` clears the screen); written out this way they show and do nothing.
    """
    return CONTROL.sub(lambda match: repr(match.group())[1:-1], text)


class _Visible:
    """A renderable whose text is printed through :func:`visible`; rich's own codes pass."""

    def __init__(self, renderable: ConsoleRenderable):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            yield segment if segment.control else Segment(visible(segment.text), segment.style)


class VisibleText:
    """A render hook: everything a console prints shows control characters as escapes."""

    def process_renderables(self, renderables: Iterable[RenderableType]) -> list:
        """Wrap each renderable in :class:`_Visible`."""
        return [_Visible(renderable) for renderable in renderables]


PIPED_WIDTH = 10_000  # columns of output that is not a terminal: tables keep every figure


def safe_console(**options) -> Console:
    """Return a rich Console that never writes a control character of the text it prints.

    Output that is not a terminal (a pipe, a file) is not cut to 80 columns: tables and
    lines keep their full width, unless ``COLUMNS`` says otherwise.
    """
    made = Console(**{"emoji": False, **options})  # ":x:" in a name stays as written
    if not made.is_terminal and "COLUMNS" not in os.environ:
        made.width = PIPED_WIDTH
    made.push_render_hook(VisibleText())
    return made


console = safe_console()
err_console = safe_console(stderr=True)
DEBUG = [False]  # set from --debug by every invocation, read when a command fails


def _print_version(value: bool) -> None:
    if value:
        console.print(f"siting {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="On an error, show the full "
                                        "traceback instead of one line.")] = False,
) -> None:
    """Where to build collection and recycling facilities, and how big."""
    DEBUG[0] = debug


def friendly(command):
    """Turn a SitingError into one line on stderr and its exit code (``--debug``: traceback)."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SitingError as exc:
            if DEBUG[0]:
                raise
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                              soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]: nothing was written for this run")
            raise typer.Exit(130) from None

    return wrapper


def warn(message: str) -> None:
    """Print a warning in one line on stderr."""
    err_console.print(f"[yellow]warning[/]: {escape(message)}", highlight=False, soft_wrap=True)


def check_runs(option: str, value: int, maximum: int, runs: int, solver: str,
               jobs: int) -> None:
    """Refuse ``option`` above its documented ``maximum``, saying what ``runs`` solves would take.

    Raises
    ------
    siting.errors.InputError
        If ``value`` is above ``maximum``: each run may take the profile's time limit.
    """
    if value <= maximum:
        return
    from siting.engine.highs import load_profile

    limit = load_profile(solver).time_limit
    raise InputError(option, None, f"{value:,} is more than the {maximum:,} allowed: it would "
                     f"solve {runs:,} runs of up to {limit:,.0f} s each (the profile's "
                     f"time_limit), up to {duration(runs * limit / jobs)} on {jobs} jobs")


def duration(seconds: float) -> str:
    """Say a duration in its largest unit that it holds twice: ``9,513 years``, ``40 minutes``."""
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f} {unit}"
    return f"{seconds:,.0f} s"


LINKING = {"strong": True, "weak": False}
SHOWN_MARGINS = 5  # largest marginal costs printed
InstanceArg = Annotated[Path, typer.Argument(help="Instance folder (with instance.toml).")]
ScenarioOption = Annotated[str | None, typer.Option(help="Scenario file, or a name in the "
                                                     "instance's scenarios/ folder.")]
SolverOption = Annotated[str, typer.Option(help="Solver profile: a name in solvers/ or a "
                                           "TOML file.")]
CdnOption = Annotated[bool, typer.Option(help="Link Leaflet on its CDN in maps instead of "
                                         "inlining it (smaller pages; need the network).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the run folder, status and "
                                          "KPIs as one JSON object on stdout (for scripts).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print only warnings and "
                                           "errors.")]
TilesOption = Annotated[str, typer.Option(help="Base map: cartodb, osm or none.")]
OfflineOption = Annotated[bool, typer.Option(help="No base map tiles: the pages make no "
                                             "network request.")]


def base_map(tiles: str, offline: bool) -> str:
    """Return the tiles to draw: none when ``offline``."""
    return "none" if offline else tiles


@app.command()
@friendly
def solve(
    instance: InstanceArg,
    scenario: ScenarioOption = None,
    solver: SolverOption = "highs",
    out: Annotated[Path | None, typer.Option(help="Run folder to write (default "
                                             "runs/<instance>/<scenario>).")] = None,
    linking: Annotated[str, typer.Option(help="Linking of flows to open sites: strong or "
                                         "weak.")] = "strong",
    tiles: TilesOption = "cartodb",
    cdn: CdnOption = False,
    offline: OfflineOption = False,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
) -> None:
    """Solve an instance, write the run folder (solution.json, CSVs, GeoPackage, map), verify it.

    The solver profile's time_limit bounds the whole command. On a terminal the run shows
    its step, time, best network, bound and gap as it goes. Ctrl-C (or SIGTERM) stops it
    and writes the best network found so far, labelled interrupted; a second Ctrl-C ends
    it at once. A run that fails its own verification exits with code 5.
    """
    from siting.engine.budget import Budget

    budget = Budget(float("inf"))  # before the imports below, which count; the limit is
    # set once the profile is loaded
    from siting.engine.job import resolve_scenario
    from siting.engine.pipeline import solve as solve_instance
    from siting.folders import RUN, check_target
    from siting.instance.load import load_instance
    from siting.render.page import TILES
    from siting.results.runfiles import read_meta, write_run
    from siting.verify import verify_run

    if linking not in LINKING:
        raise typer.BadParameter("expected strong or weak", param_hint="--linking")
    if tiles not in (*TILES, "none"):
        raise typer.BadParameter(f"expected {', '.join(TILES)} or none (a custom tile URL: "
                                 "siting map --tiles URL --attribution TEXT)",
                                 param_hint="--tiles")
    with budget.stoppable():
        inst = load_instance(instance)
        resolved = resolve_scenario(inst.path, scenario)
        out = check_target(out or Path("runs") / inst.path.resolve().name / resolved.name, RUN,
                           reading=[inst.path])
        with progress_display(quiet or as_json) as listener:
            solution = solve_instance(inst, resolved, solver, LINKING[linking], budget=budget,
                                      listener=listener)
        with heap_frozen():
            folder = write_run(solution, out, extra=partial(render_pages, cdn=cdn,
                                                            tiles=base_map(tiles, offline)))
            report = verify_run(folder, inst)
    if not report.ok:
        for problem in report.problems:
            err_console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]error:[/] the run in {escape(str(folder))} failed its "
                          "verification", highlight=False, soft_wrap=True)
        raise typer.Exit(5)
    for message in warnings_of(solution):
        warn(message)
    if as_json:
        meta = read_meta(folder)
        print(json.dumps({"run": str(folder), "new_sites": new_sites(solution),
                          **{key: meta.get(key) for key in (
                              "status", "objective", "best_bound", "mip_gap", "warnings",
                              "marginal_costs", "kpis")}}, indent=1))
    elif not quiet:
        print_solution(solution)
        console.print(f"wrote [bold]{escape(str(folder))}[/] (verified)")
    if budget.interrupted:  # in the steps, or while the finished run was being written
        what = ("the best network found so far" if solution.meta["status"] == "interrupted"
                else "the finished run, whole,")
        err_console.print(f"[bold red]interrupted[/]: wrote {what} to {escape(str(folder))}",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(130)


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Keep the garbage collector off every object alive now while the block runs.

    After a solve the heap holds the run's model and network: collections triggered while
    the files, map and verification are written would scan them all (1.7 s of the 3.0 s
    end at 3000 x 300). They are scanned again after the block.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def progress_display(hidden: bool) -> Iterator[Callable[[Status], None] | None]:
    """Show one live line on stderr: step, time, best network, bound, gap; yield its listener.

    Nothing is shown when ``hidden`` or when stderr is not a terminal.
    """
    if hidden or not err_console.is_terminal:
        yield None
        return
    with err_console.status("starting...") as status:

        def show(s: Status) -> None:
            status.update(status_line(s))

        yield show


def status_line(s: Status) -> str:
    """Say where a run stands in one line (numbers only; no text from input files)."""
    best = "none yet" if s.incumbent is None else f"{s.incumbent:,.0f}"
    bound = "none yet" if s.bound is None else f"{s.bound:,.0f}"
    gap = "" if s.gap is None else f", gap {s.gap:.2%} (target {s.target:.2%})"
    return (f"{s.step}: {s.elapsed:,.0f} / {s.limit:,.0f} s, best network {best}, "
            f"bound {bound}{gap}")


def warnings_of(solution: Solution) -> list[str]:
    """Return the warnings of a run: the instance's, and pruning that may cut the optimum."""
    messages = list(solution.meta.get("warnings", []))
    meta = solution.meta
    if "pruning" in meta and meta["status"] != "optimal":
        messages.append(f"arcs were pruned to the {meta['pruning']['nearest_sites']} nearest "
                        "sites and the cost is not proven optimal for the full problem "
                        f"({meta['status_text']}); raise nearest_sites or the time limit")
    return messages


def render_pages(folder: Path, cdn: bool = False, tiles: str = "cartodb") -> None:
    """Render the map of a run folder, and its timeline when it has periods."""
    from siting.render.maps import render_map
    from siting.render.timeline import render_timeline

    render_map(folder, folder / "map.html", tiles, cdn)
    if (folder / "periods.csv").is_file():
        render_timeline(folder, folder / "timeline.html")


def new_sites(solution: Solution) -> list[str]:
    """Name each site built, with its size and, in a horizon run, the year: ``Wuhan (L, 2031)``."""
    facilities = solution.facilities.set_index("id")
    if "horizon" in solution.kpis:
        return [f"{facilities.at[b['site'], 'name']} ({b['size']}, {b['year']})"
                for b in solution.kpis["horizon"]["builds"]]
    built = facilities[facilities["new_capacity"] > 0]
    return [f"{name} ({size})" for name, size in zip(built["name"], built["size"], strict=True)]


def print_solution(solution: Solution) -> None:
    """Print the headline KPIs, the new sites, marginal costs and results by province."""
    from siting.studies.bench import marginal_text

    k, meta = solution.kpis, solution.meta
    timings = meta["timings"]
    currency = escape(meta["instance"]["currency"])
    table = Table(title=escape(f"{meta['instance']['name']} / {meta['scenario']['name']}"),
                  show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
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
        rows[0:0] = [("horizon, discounted", f"{plan['discounted_cost']:,.0f} {currency}"),
                     ("builds (then: last period)", str(len(plan["builds"])))]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"status: {meta['status_text']}", soft_wrap=True, highlight=False)
    built = new_sites(solution)
    console.print(f"[bold]new sites[/]: {escape(', '.join(built)) if built else 'none'}",
                  highlight=False, soft_wrap=True)
    entries = sorted(meta.get("marginal_costs") or [], key=lambda e: -e["value"])
    if entries:
        more = len(entries) - SHOWN_MARGINS
        console.print("[bold]marginal cost of binding policies[/]: " + escape(
            marginal_text(entries[:SHOWN_MARGINS])
            + (f"; {more} more in solution.json" if more > 0 else "")), highlight=False,
            soft_wrap=True)
    if len(k["by_province"]) > 1:
        console.print(province_table(k["by_province"]))


def province_table(by_province: dict[str, dict]) -> Table:
    """Tabulate supply and collection by province; one that collects nothing is marked."""
    table = Table(title="by province", title_style="bold")
    for column in ("province", "supply t", "collected t", "rate"):
        table.add_column(column, justify="left" if column == "province" else "right")
    for province, row in by_province.items():
        nothing = row["supply_t"] > 0 and row["collected_t"] < 0.5
        rate = "collects nothing" if nothing else _pct(row["collection_rate"])
        table.add_row(escape(province), f"{row['supply_t']:,.0f}", f"{row['collected_t']:,.0f}",
                      rate, style="red" if nothing else None)
    return table


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@app.command()
@friendly
def validate(instance: InstanceArg, scenario: ScenarioOption = None,
             solver: SolverOption = "highs") -> None:
    """Check an instance folder, and a scenario and solver profile, without solving."""
    from siting.engine.highs import load_profile
    from siting.engine.job import resolve_scenario
    from siting.engine.steps import prepare
    from siting.instance.load import load_instance

    inst = load_instance(instance)
    resolved = resolve_scenario(inst.path, scenario)
    load_profile(solver)
    net = prepare(inst, resolved)
    console.print("[green]ok[/]: " + escape(
        f"{inst.name}: {len(inst.regions)} regions, {len(inst.sites)} sites, "
        f"{len(inst.streams)} streams, tiers {' -> '.join(inst.tiers)}, "
        f"{len(net.arc_km)} arcs, {len(net.option_site)} build options"))
    for message in inst.warnings:
        warn(message)


@app.command()
@friendly
def verify(run_dir: Annotated[Path, typer.Argument(help="Run folder written by solve.")]) -> None:
    """Check a run folder independently: constraints, costs, KPIs, policies."""
    from siting.results.runfiles import check_finished
    from siting.verify.checks import verify_run

    report = verify_run(check_finished(run_dir))
    if not report.ok:
        for problem in report.problems:
            err_console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False,
                              soft_wrap=True)
        raise typer.Exit(5)
    console.print(f"[green]verified[/]: {', '.join(report.checked)}")
    for figure in report.unverified:
        console.print(f"[yellow]reported, not verified[/]: {escape(figure)}", highlight=False,
                      soft_wrap=True)


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
        "(with --single-size or --shape tight: each site's capacity over the mean supply per "
        "site, which is also total capacity over total supply).")] = 1.5,
    single_size: Annotated[bool, typer.Option(
        help="One size of equal capacity at every site, no existing sites, mandatory "
        "collection: capacitated facility location shaped like OR-Library's capa/b/c.")] = False,
    shape: Annotated[str, typer.Option(
        help="clustered (default): regions around province centres. tight: --single-size in "
        "the hard shape of the classic capacitated warehouse instances (Cornuejols, Sridharan "
        "and Thizy 1991): regions and sites uniform, supply 5-35 t, fixed costs tied to "
        "capacity and large enough that the optimum opens close to the fewest sites that hold "
        "the supply; try --capacity-ratio 8 to 30.")] = "clustered",
) -> None:
    """Write a seeded synthetic instance (for tests and benchmarks) into a new folder."""
    from siting.instance.generate import generate_instance

    folder = generate_instance(out, regions, sites, streams, tiers, seed, capacity_ratio,
                               single_size=single_size, shape=shape)
    console.print(f"wrote [bold]{escape(str(folder))}[/]")


@app.command()
def policies() -> None:
    """List every registered policy with its parameters and what it does."""
    from siting.model.policies import REGISTRY

    table = Table(title="policies")
    for column in ("policy", "parameters", "what it does"):
        table.add_column(column)
    for name, cls in sorted(REGISTRY.items()):
        params = [f"{field}{'' if info.is_required() else '?'}"
                  for field, info in cls.model_fields.items() if field != "type"]
        table.add_row(name, ", ".join(params), cls.summary)
    console.print(table)


