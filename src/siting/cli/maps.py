"""``siting map``: render a run folder (or two, compared) as an HTML map."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from siting.cli.main import CdnOption, OfflineOption, app, base_map, console, friendly


@app.command("map")
@friendly
def map_command(
    run_dirs: Annotated[list[Path], typer.Argument(
        help="Run folder written by solve; with --compare, 2 to 6 of them.")],
    out: Annotated[Path | None, typer.Option(help="HTML file (default RUN_DIR/map.html).")] = None,
    tiles: Annotated[str, typer.Option(help="cartodb, osm, none, or a URL template.")] = "cartodb",
    attribution: Annotated[str | None, typer.Option(help="Attribution of custom tiles (shown as "
                                                             "text).")] = None,
    cdn: CdnOption = False,
    offline: OfflineOption = False,
    compare: Annotated[bool, typer.Option(
        help="Draw the runs on one page, compared with the first (needs --out).")] = False,
) -> None:
    """Render a solution map from saved results (no re-solve), or compare 2 to 6 runs.

    ``--out`` is a new .html file or a page siting wrote; nothing else is overwritten.
    """
    from siting.folders import check_page
    from siting.render.maps import render_comparison, render_map
    from siting.results.runfiles import check_finished

    tiles = base_map(tiles, offline)
    if compare:
        if out is None:
            raise typer.BadParameter("--compare needs --out FILE", param_hint="--out")
        path = render_comparison([check_finished(run) for run in run_dirs], check_page(out),
                                 tiles, cdn, attribution)
    elif len(run_dirs) == 1:
        path = render_map(check_finished(run_dirs[0]), out and check_page(out), tiles, cdn,
                          attribution)
    else:
        raise typer.BadParameter("several run folders: add --compare to draw them on one page")
    console.print(f"wrote [bold]{escape(str(path))}[/]")
