"""``siting map``: render a run folder (or two, compared) as an HTML map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from siting.cli import app, console, friendly
from siting.render.maps import render_comparison, render_map


@app.command("map")
@friendly
def map_command(
    run_dir: Annotated[Path | None, typer.Argument(help="Run folder written by solve.")] = None,
    out: Annotated[Path | None, typer.Option(help="HTML file (default RUN_DIR/map.html).")] = None,
    tiles: Annotated[str, typer.Option(help="osm, cartodb, none, or a URL template.")] = "osm",
    attribution: Annotated[str | None, typer.Option(help="Attribution of custom tiles.")] = None,
    offline: Annotated[bool, typer.Option(help="One self-contained file, no tiles.")] = False,
    compare: Annotated[tuple[Path, Path] | None, typer.Option(
        help="Two run folders to compare on one page (needs --out).")] = None,
) -> None:
    """Render a solution map from saved results (no re-solve), or compare two runs."""
    if compare is not None:
        if out is None:
            raise typer.BadParameter("--compare needs --out FILE", param_hint="--out")
        path = render_comparison(compare[0], compare[1], out, tiles, offline, attribution)
    elif run_dir is not None:
        path = render_map(run_dir, out, tiles, offline, attribution)
    else:
        raise typer.BadParameter("give RUN_DIR or --compare RUN_A RUN_B")
    console.print(f"wrote [bold]{escape(str(path))}[/]")
