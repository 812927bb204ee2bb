"""``siting bench`` and ``siting pareto``: many runs in parallel, compared."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from siting.cli.main import CdnOption, app, check_runs, console, friendly

if TYPE_CHECKING:
    import pandas as pd

    from siting.render.report import Cell
    from siting.studies.bench import OnDone, RunSpec

CPUS = os.cpu_count() or 1
SIDE_BY_SIDE = 4  # runs of an instance up to which the terminal shows them as columns
MAX_POINTS = 1000  # pareto --points (rates are told apart to 0.01 percentage point anyway)
JobsOption = Annotated[int, typer.Option(min=1, help="Runs solved at the same time, each in "
                                         "its own process (default: one per CPU).")]
ForceOption = Annotated[bool, typer.Option(help="Solve again runs whose folder is up to date.")]
MapsOption = Annotated[bool, typer.Option(help="Draw each run's map.html.")]
SchedulerOption = Annotated[str | None, typer.Option(
    help="Solve on a Dask cluster: its scheduler's address, e.g. tcp://HOST:PORT "
    "(default: a local pool of --jobs processes).")]


@app.command()
@friendly
def bench(
    instances: Annotated[list[Path], typer.Argument(help="Instance folders.")],
    scenarios: Annotated[str, typer.Option(help="'all' (each instance's scenarios/ folder), "
                                           "or comma-separated scenario names or files.")] = "all",
    solver: Annotated[list[str] | None, typer.Option(help="Solver profile; repeat to compare "
                                                     "profiles.")] = None,
    jobs: JobsOption = CPUS,
    out: Annotated[Path, typer.Option(help="Folder of the runs and comparison files.")] = Path(
        "runs/bench"),
    force: ForceOption = False,
    maps: MapsOption = True,
    cdn: CdnOption = False,
    scheduler: SchedulerOption = None,
) -> None:
    """Solve every instance x scenario (x solver) run in parallel and compare them.

    Runs go to OUT/instance/scenario (/solver with several profiles), each verified.
    OUT/comparison.csv, .md and .html compare each scenario with the baseline.
    An infeasible or failed run is a row with its status, not the end of the bench.
    Runs solved from the same inputs are skipped; Ctrl-C keeps every finished run.
    Exit code 5 if a solved run fails verification.
    """
    from siting.studies.bench import comparison, plan_bench, run_bench
    from siting.studies.executor import cluster

    specs = plan_bench(instances, scenarios, solver or ["highs"], out)
    try:
        with cluster(scheduler) as executor, progress(len(specs), "bench") as on_done:
            table = run_bench(specs, out, jobs, force, maps, on_done, executor, cdn=cdn)
    except KeyboardInterrupt:
        _print_comparison(comparison(specs))
        console.print(f"[bold red]interrupted[/]: finished runs are kept in "
                      f"{escape(str(out))}; run the same command again to solve the rest")
        raise typer.Exit(130) from None
    _print_comparison(table)
    console.print(f"wrote [bold]{escape(str(out))}[/]/comparison.csv, comparison.md, "
                  "comparison.html")
    if (table["has_solution"] & ~table["verified"]).any():
        raise typer.Exit(5)


@app.command()
@friendly
def pareto(
    instance: Annotated[Path, typer.Argument(help="Instance folder.")],
    scenario: Annotated[str | None, typer.Option(help="Scenario name or file whose "
                                                 "policies every point keeps.")] = None,
    points: Annotated[int, typer.Option(min=2, help="Points on the frontier, both ends "
                                        f"included (at most {MAX_POINTS:,}).")] = 5,
    solver: Annotated[str, typer.Option(help="Solver profile.")] = "highs",
    jobs: JobsOption = CPUS,
    out: Annotated[Path | None, typer.Option(help="Folder of the points and pareto files "
                                             "(default runs/<instance>/pareto).")] = None,
    force: ForceOption = False,
    maps: MapsOption = False,
    cdn: CdnOption = False,
    scheduler: SchedulerOption = None,
) -> None:
    """Trace the cost vs collection-rate frontier (epsilon-constraint), each point verified.

    Writes every point's run folder, pareto.csv, pareto.svg and pareto.html.
    """
    from siting.render.report import pareto_cells
    from siting.studies.executor import cluster
    from siting.studies.pareto import pareto as solve_frontier

    check_runs("--points", points, MAX_POINTS, points, solver, jobs)
    out = out or Path("runs") / instance.resolve().name / "pareto"
    try:
        with cluster(scheduler) as executor, progress(points, "pareto") as on_done:
            table = solve_frontier(instance, out, scenario, points, solver, jobs, force, maps,
                                   on_done, executor, cdn=cdn)
    except KeyboardInterrupt:
        console.print(f"[bold red]interrupted[/]: finished points are kept in "
                      f"{escape(str(out))}; run the same command again to solve the rest")
        raise typer.Exit(130) from None
    headers, rows = pareto_cells(table)
    print_table(f"{table['instance'].iloc[0]}: cost against collection rate", headers[:-1],
                [row[:-1] for row in rows], [(row[0][0], row[-1][0]) for row in rows], inline=True)
    console.print(f"wrote [bold]{escape(str(out))}[/]/pareto.csv, pareto.svg, pareto.html")


@contextmanager
def progress(total: int, what: str) -> Iterator[OnDone]:
    """Show a progress bar (count, time, time left); yield the callback that advances it."""
    with Progress(TextColumn(f"[bold]{what}[/]"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(what, total=total)

        def on_done(spec: RunSpec, row: dict[str, Any], skipped: bool) -> None:
            state = "up to date, skipped" if skipped else row["status"]
            bar.console.print(Text(f"{spec.run}: {state}", style="dim" if skipped else ""))
            bar.advance(task)

        yield on_done


def _print_comparison(table: pd.DataFrame) -> None:
    """Print one table per instance: scenarios side by side when few, else one per row."""
    from siting.render.report import groups, kpi_cells

    for name, folder, frame in groups(table):
        headers, rows = kpi_cells(frame)
        notes = [(row[0][0], row[-1][0]) for row in rows]
        if len(rows) <= SIDE_BY_SIDE:
            columns = [[("status", ""), *((row[0][1], "") for row in rows)],
                       *([(header, ""), *(row[i] for row in rows)]
                         for i, header in enumerate(headers[1:-1], start=1))]
            print_table(f"{name} ({folder})", ["", *(row[0][0] for row in rows)], columns,
                        notes, inline=True)
        else:
            print_table(f"{name} ({folder})", headers[:-1], [row[:-1] for row in rows], notes)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Cell]],
                notes: Sequence[tuple[str, str]] = (), inline: bool = False) -> None:
    """Print a table, then the notes (marginal costs, messages) by name.

    A cell's note goes after its value with ``inline``, else under it.
    """
    table = Table(title=Text(title, style="bold"), box=box.SIMPLE_HEAD, show_lines=not inline)
    for i, header in enumerate(headers):
        table.add_column(Text(header), justify="right" if i else "left", no_wrap=not i)
    for row in rows:
        table.add_row(*(Text(value) + Text(f" ({note})" if inline else f"\n{note}", style="dim")
                        if note else Text(value) for value, note in row))
    console.print(table)
    for name, note in notes:
        if note:
            console.print(Text(f"  {name}: {note}"))
    console.print()
