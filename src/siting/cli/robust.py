"""``siting robust`` and ``siting alternatives``: decisions that hold under uncertainty."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from siting.cli.bench import CPUS, ForceOption, JobsOption, SchedulerOption, print_table
from siting.cli.bench import progress as progress_bar
from siting.cli.main import CdnOption, OfflineOption, app, base_map, check_runs, console, friendly
from siting.render.style import money, percent

ScenarioOption = Annotated[str | None, typer.Option(help="Scenario name or file.")]
SolverOption = Annotated[str, typer.Option(help="Solver profile.")]
SHOWN_NETWORKS = 5
MAX_SAMPLES = 10_000  # robust --samples
MAX_COUNT = 100  # alternatives --count


def _out(out: Path | None, instance: Path, what: str) -> Path:
    return out or Path("runs") / instance.resolve().name / what


def _interrupted(out: Path, what: str) -> typer.Exit:
    console.print(f"[bold red]interrupted[/]: finished {what} are kept in "
                  f"{escape(str(out))}; run the same command again to solve the rest")
    return typer.Exit(130)


@app.command()
@friendly
def robust(
    instance: Annotated[Path, typer.Argument(help="Instance folder.")],
    samples: Annotated[int, typer.Option(min=1, help="Samples of the uncertain inputs (at most "
                                         f"{MAX_SAMPLES:,}).")] = 100,
    scenario: Annotated[str | None, typer.Option(
        help="Scenario name or file; its [uncertainty] table declares the uncertain inputs "
        "(default: supply per province, lognormal, sigma 0.4).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the samples.")] = 0,
    solver: SolverOption = "highs",
    jobs: JobsOption = CPUS,
    scheduler: SchedulerOption = None,
    out: Annotated[Path | None, typer.Option(help="Folder of the runs, tables and pages "
                                             "(default runs/<instance>/robust).")] = None,
    force: ForceOption = False,
    cdn: CdnOption = False,
    offline: OfflineOption = False,
) -> None:
    """Solve seeded samples of uncertain inputs: robust sites, bets, networks by regret.

    Each sample is a verified run folder OUT/samples/NNN (the base scenario: OUT/baseline).
    Writes frequency.csv (how often each site is selected, at which size), costs.csv (the
    cost distribution), regret.csv and regret_matrix.csv (every candidate network priced on
    every sample, flows re-optimised), robust.html and robust-map.html. Finished samples
    are kept on Ctrl-C and skipped when the command runs again.
    """
    from siting.instance.load import load_instance
    from siting.render.robust import MAP, PAGE, write_report
    from siting.studies.executor import cluster
    from siting.studies.robust import provinces_by_verdict, short_name
    from siting.studies.robust import robust as run_robust

    check_runs("--samples", samples, MAX_SAMPLES, samples + 1, solver, jobs)
    out = _out(out, instance, "robust")
    try:
        with cluster(scheduler) as executor, progress_bar(samples + 1, "robust") as on_done:
            result = run_robust(instance, out, scenario, samples, seed, solver, jobs, force,
                                on_done, executor)
    except KeyboardInterrupt:
        raise _interrupted(out, "samples") from None
    inst = load_instance(instance)
    currency = inst.spec.instance.currency
    write_report(result, out, f"{inst.name}: robust siting over {samples} samples", currency,
                 base_map("cartodb", offline), cdn)
    freq = result.frequency[result.frequency["selected"] > 0]
    print_table(f"{inst.name}: sites selected in at least one of {samples} samples",
                ["site", "province", "selected", "verdict"],
                [[(r.name, ""), (r.province, ""), (percent(r.selected), ""), (r.verdict, "")]
                 for r in freq.itertuples()], inline=True)
    for verdict, provinces in provinces_by_verdict(result.frequency).items():
        console.print(f"[bold]{verdict}[/] sites by province: {escape(provinces or 'none')}")
    costs = result.costs["total_cost"].dropna()
    console.print(escape(f"total cost: median {money(costs.median(), currency)}, 5-95 % "
                         f"{money(costs.quantile(0.05), currency)} to "
                         f"{money(costs.quantile(0.95), currency)} ({len(costs)} samples "
                         f"solved, {int(result.costs['verified'].sum())} verified)"))
    print_table("least worst-case regret first",
                ["network (built by samples)", "sites built", "mean regret", "max regret"],
                [[(r.sites, short_name(r.network)), (str(r.sites_built), ""),
                  (money(r.mean_regret, currency), ""), (money(r.max_regret, currency), "")]
                 for r in result.regret.head(SHOWN_NETWORKS).itertuples()])
    console.print(f"wrote [bold]{escape(str(out))}[/]/frequency.csv, costs.csv, regret.csv, "
                  f"regret_matrix.csv, {PAGE}, {MAP}")
    if not result.costs["verified"].all():
        raise typer.Exit(5)


def parse_slack(text: str) -> float:
    """Read a slack as a percentage (``2%``) or a fraction (``0.02``)."""
    try:
        value = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected a percentage such as 2% or a fraction "
                                 "such as 0.02") from None
    if not 0 <= value <= 1:
        raise typer.BadParameter(f"{text!r}: expected between 0% and 100%")
    return value


@app.command()
@friendly
def alternatives(
    instance: Annotated[Path, typer.Argument(help="Instance folder.")],
    count: Annotated[int, typer.Option(min=1, help="Alternatives to look for (at most "
                                       f"{MAX_COUNT}).")] = 3,
    slack: Annotated[float, typer.Option(parser=parse_slack, metavar="PERCENT",
                                         help="Largest cost increase over the optimum, "
                                         "e.g. 2% or 0.02.")] = "2%",
    scenario: ScenarioOption = None,
    solver: SolverOption = "highs",
    jobs: JobsOption = CPUS,
    scheduler: SchedulerOption = None,
    out: Annotated[Path | None, typer.Option(help="Folder of the runs and alternatives.csv "
                                             "(default runs/<instance>/alternatives).")] = None,
    force: ForceOption = False,
) -> None:
    """Find networks that cost at most SLACK more than the optimum and differ from it most.

    Each network is as far as possible (sites opened or closed) from the optimum and the
    networks found before it; each is solved with its sites fixed as a verified run folder
    OUT/alternative-K. Writes alternatives.csv.
    """
    from siting.instance.load import load_instance
    from siting.studies.alternatives import alternatives as find_alternatives
    from siting.studies.executor import cluster
    from siting.studies.robust import named

    check_runs("--count", count, MAX_COUNT, 2 * count + 1, solver, jobs)
    out = _out(out, instance, "alternatives")
    try:
        with cluster(scheduler) as executor, progress_bar(count + 1, "alternatives") as on_done:
            table = find_alternatives(instance, out, scenario, count, slack, solver, jobs,
                                      force, on_done, executor)
    except KeyboardInterrupt:
        raise _interrupted(out, "runs") from None
    inst = load_instance(instance)
    currency = inst.spec.instance.currency
    names = dict(zip(inst.sites["id"], inst.sites["name"], strict=True))
    print_table(f"networks within {slack:.1%} of the optimum's cost",
                ["run", "sites built", "sites changed", "total cost", "over optimum"],
                [[(r.run, named(r.builds, names)), (str(r.sites_built), ""),
                  (str(r.differs_from_optimum), ""),
                  (money(r.total_cost, currency), r.status if not r.verified else ""),
                  (f"{r.over_optimum - 1:+.2%}", "")] for r in table.itertuples()])
    console.print(f"wrote [bold]{escape(str(out))}[/]/alternatives.csv")
    if not table["verified"].all():
        raise typer.Exit(5)
