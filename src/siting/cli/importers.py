"""``siting import ...``: turn files in other formats into instance folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from siting.cli.main import app, console, friendly

import_app = typer.Typer(help="Import instances from other formats.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("orlib-cap")
@friendly
def orlib_cap(
    file: Annotated[Path, typer.Argument(help="OR-Library capacitated warehouse file "
                                         "(cap41.txt ... cap134.txt).")],
    out_dir: Annotated[Path, typer.Argument(help="Instance folder to write.")],
) -> None:
    """Import a Beasley OR-Library capacitated warehouse location problem."""
    from siting.instance.orlib import read_orlib_cap, write_cap_instance

    problem = read_orlib_cap(file)
    folder = write_cap_instance(problem, out_dir)
    zero = int((problem.demand == 0).sum())
    note = f" ({zero} customers with zero demand kept without arcs)" if zero else ""
    console.print(f"wrote [bold]{escape(str(folder))}[/]: {len(problem.demand)} customers, "
                  f"{len(problem.capacity)} warehouses{note}")
