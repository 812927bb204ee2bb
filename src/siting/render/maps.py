"""Solution maps: one run, or two runs compared, drawn from run folders only.

A map is one HTML page (Leaflet via folium) with toggleable layers: supply regions,
candidate sites not opened, opened facilities, flows and the collection gap; a title panel
with the headline KPIs and a legend of every colour and size scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from siting.render import layers as ly
from siting.render import legend as lg
from siting.render import style
from siting.render.page import MapError, add_layers, new_map, write_page
from siting.render.run import Run, load_run, provinces


def render_map(run_dir: Path, out: Path | None = None, tiles: str = "cartodb",
               cdn: bool = False, attribution: str | None = None) -> Path:
    """Draw the solution map of a run folder.

    Parameters
    ----------
    run_dir
        Run folder written by ``siting solve`` (docs/run-folder.md).
    out
        Page to write; default ``run_dir / "map.html"``.
    tiles
        Base map: ``"osm"``, ``"cartodb"`` (CartoDB positron), ``"none"``, or a tile URL
        template with ``{z}``, ``{x}``, ``{y}`` (e.g. a local tile server).
    cdn
        Link Leaflet on its CDN instead of inlining it (a smaller page that needs the
        network). Either way the regions and sites are drawn without tiles, and the page
        says so when the tiles cannot load.
    attribution
        Attribution markup of a custom tile URL (required with one).

    Returns
    -------
    Path
        The page written, atomically.

    Raises
    ------
    siting.errors.InputError
        If the run folder is incomplete or malformed.
    siting.render.page.MapError
        If ``tiles`` is not valid or a custom URL has no attribution.
    siting.render.assets.AssetError
        If Leaflet's installed package is incomplete.
    """
    run = load_run(run_dir)
    return draw_map(run, ly.Scales.of([run]), Path(out) if out else run.path / "map.html",
                    tiles, cdn, attribution)


def render_maps(run_dirs: Sequence[Path], cdn: bool = False) -> list[Path]:
    """Draw the ``map.html`` of each run folder, all on one colour and size scale.

    Symbol sizes and legends then mean the same on every map (e.g. the scenarios of a
    bench); ``cdn`` is as in :func:`render_map`, other options are its defaults.
    """
    runs = [load_run(path) for path in run_dirs]
    scales = ly.Scales.of(runs)
    return [draw_map(run, scales, run.path / "map.html", cdn=cdn) for run in runs]


def draw_map(run: Run, scales: ly.Scales, out: Path, tiles: str = "cartodb", cdn: bool = False,
             attribution: str | None = None) -> Path:
    """Draw the map of ``run`` with symbols sized on ``scales``; see :func:`render_map`."""
    m = new_map(_title(run), bounds([run]), tiles, attribution, cdn)
    streams = {s: style.STREAM_COLOURS[i % len(style.STREAM_COLOURS)]
               for i, s in enumerate(run.stream_labels)}
    opened = run.facilities[run.facilities["open"]]
    add_layers(m, [
        ly.FeatureLayer("Supply regions: collection rate", ly.region_features(
            run, [style.COLLECTION_RAMP(r) for r in run.regions["collection_rate"]], scales,
            mark_nothing=True), "region"),
        ly.FeatureLayer("Flows by stream", ly.flow_features(
            run, [streams.get(s, "#555555") for s in run.flows["stream"]], scales), "flow"),
        ly.FeatureLayer("Collection gap: uncollected tonnes", ly.gap_features(run, scales),
                        "gap"),
        ly.FeatureLayer("Candidate sites not opened", ly.candidate_features(
            run, run.facilities[~run.facilities["open"]]), "candidate"),
        ly.FeatureLayer("Opened facilities", ly.facility_features(
            run, opened, [style.UTILISATION_RAMP(u) for u in opened["utilisation"]], scales),
            "facility"),
    ])
    m.add_child(lg.title_panel(_title(run), [("", run)]))
    m.add_child(lg.legend_panel([
        ("Supply regions", [lg.ramp_bar("collection rate", style.COLLECTION_RAMP, "0 %",
                                        "100 %"), *_nothing_entries(run),
                            *_supply_entries(run, scales)]),
        ("Collection gap", _gap_entries(scales, [("uncollected", style.GAP_RED)])),
        ("Opened facilities", [lg.ramp_bar("utilisation", style.UTILISATION_RAMP, "0 %",
                                           "100 %"), *lg.facility_entries(run, scales)]),
        ("Flows", [*(lg.symbol_row(lg.line_symbol(streams[s], 4), label)
                     for s, label in run.stream_labels.items()),
                   *lg.flow_width_entries(scales)]),
    ]))
    return write_page(m, out, cdn)


def render_comparison(run_dirs: Sequence[Path], out: Path, tiles: str = "cartodb",
                      cdn: bool = False, attribution: str | None = None) -> Path:
    """Draw two or more runs on one page: which sites each run opens, and what changes.

    The runs are A, B, C, ... in the order given. Opened sites are grouped by the runs
    that open them (A only, B only, both or all, ...). Regions are coloured by the change of
    their collection rate from A to each other run (one layer each, on one scale; the
    first shown); flows and the collection gap of each run are separate layers; the title
    panel shows every run's KPIs and their change from A. Symbol sizes share one scale.

    Parameters
    ----------
    run_dirs
        Two or more run folders of the same instance (e.g. scenarios).
    out
        Page to write.
    tiles, cdn, attribution
        As in :func:`render_map`.

    Returns
    -------
    Path
        The page written, atomically.

    Raises
    ------
    MapError
        If fewer than two runs, or more than six, are given.
    """
    if not 2 <= len(run_dirs) <= len(style.RUN_KEYS):
        raise MapError(f"{out}: a comparison takes 2 to {len(style.RUN_KEYS)} run folders, "
                       f"not {len(run_dirs)}")
    runs = {key: load_run(path) for key, path in zip(style.RUN_KEYS, run_dirs, strict=False)}
    a, *others = runs.values()
    keys = list(runs)
    scales = ly.Scales.of(runs.values())
    title = (f"{a.solution.get('instance', {}).get('name', '')}: "
             + " vs ".join(_scenario(run) for run in runs.values()))
    m = new_map(title, bounds(list(runs.values())), tiles, attribution, cdn)
    changes = {key: _rate_change(a, run) for key, run in runs.items() if run is not a}
    largest = max(float(np.nanmax(np.abs(c), initial=0)) for c in changes.values())
    reach = max(0.1, float(np.ceil(largest * 10) / 10))
    ramp = style.Ramp(style.CHANGE_RAMP.stops, -reach, reach)
    groups = _opened_groups(runs)
    region_pops = _paired_region_popups(runs)
    add_layers(m, [
        *(ly.FeatureLayer(f"Supply regions: change of collection rate, {key.upper()} − A",
                          ly.region_features(a, [ramp(r) for r in change], scales, region_pops),
                          "region", show=i == 0)
          for i, (key, change) in enumerate(changes.items())),
        *(ly.FeatureLayer(f"Flows {key.upper()}", ly.flow_features(
            run, [style.RUN_COLOURS[key]] * len(run.flows), scales, style.RUN_DASHES[key]),
            "flow", f"siting-{key}") for key, run in runs.items()),
        *(ly.FeatureLayer(f"Collection gap {key.upper()}", ly.gap_features(
            run, scales, style.RUN_COLOURS[key]), "gap", f"siting-{key}")
          for key, run in runs.items()),
        ly.FeatureLayer("Candidate sites not opened", ly.candidate_features(
            a, groups.pop(())), "candidate"),
        *(ly.FeatureLayer(f"Opened in {_opened_in(group, keys)}", ly.facility_features(
            a, sites, [_group_colour(group, keys)] * len(sites), scales,
            _paired_facility_popups(runs, sites["id"])), "facility",
            f"siting-{_group_tag(group, keys)}")
          for group, sites in groups.items()),
    ])
    named = {key: f"{key.upper()} · {_scenario(run)}" for key, run in runs.items()}
    m.add_child(lg.title_panel(title, [(named[key], run) for key, run in runs.items()]))
    span = "B − A" if len(runs) == 2 else "each run − A"
    m.add_child(lg.legend_panel([
        ("Supply regions", [lg.ramp_bar(f"collection rate, change {span}", ramp,
                                        f"−{100 * reach:.0f} pp", f"+{100 * reach:.0f} pp")]),
        ("Collection gap", _gap_entries(scales, [(named[k], style.RUN_COLOURS[k])
                                                 for k in runs])),
        ("Opened facilities", [
            *(lg.symbol_row(ly.svg_shape("circle", 16, _group_colour(group, keys), "#222222",
                                         1.2), f"opened in {_opened_in(group, keys)}")
              for group in groups),
            *lg.facility_entries(a, scales)]),
        ("Flows", [*(lg.symbol_row(lg.line_symbol(style.RUN_COLOURS[k], 4, style.RUN_DASHES[k]),
                                   named[k]) for k in runs),
                   *lg.flow_width_entries(scales)]),
    ]))
    return write_page(m, Path(out), cdn)


def _scenario(run: Run) -> str:
    return run.solution.get("scenario", {}).get("name", "") or run.path.name


def _title(run: Run) -> str:
    title = f"{run.solution.get('instance', {}).get('name', run.path.name)} · {_scenario(run)}"
    years = (run.solution.get("periods") or {}).get("years")
    if years:  # a horizon run: the map shows its last period
        title += f" · {years[-1]}, last of {len(years)} periods (timeline.html: all)"
    return title


def bounds(runs: Sequence[Run]) -> tuple[float, float, float, float]:
    """Return (west, south, east, north) around the regions and facilities of ``runs``."""
    west, south, east, north = np.array([r.regions.total_bounds for r in runs]).T
    lon = np.concatenate([r.facilities["lon"].to_numpy(float) for r in runs] + [west, east])
    lat = np.concatenate([r.facilities["lat"].to_numpy(float) for r in runs] + [south, north])
    return float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), \
        float(np.nanmax(lat))


def _supply_entries(run: Run, scales: ly.Scales) -> list[str]:
    if not run.regions.geom_type.eq("Point").any():
        return []
    return [lg.symbol_row(ly.svg_shape("circle", 2 * scales.supply_px(scales.supply),
                                       "#a1d99b", "#666666", 1.0),
                          f"{style.tonnes(scales.supply)}/yr supply (area)")]


def _nothing_entries(run: Run) -> list[str]:
    nothing = provinces(run.regions)["collects_nothing"]
    if not nothing.any():
        return []
    return [lg.symbol_row(lg.nothing_symbol(), f"province collects nothing ({nothing.sum()} "
                          f"of {len(nothing)})")]


def _gap_entries(scales: ly.Scales, outlines: Sequence[tuple[str, str]]) -> list[str]:
    if scales.uncollected <= ly.GAP_TOLERANCE_T:
        return ["<div class='siting-entry'>none: every tonne is collected</div>"]
    return [lg.symbol_row(lg.gap_symbol(scales.gap_px(scales.uncollected), colour),
                          f"{label}: {style.tonnes(scales.uncollected)}/yr (area)")
            for label, colour in outlines]


def _rate_change(a: Run, b: Run) -> np.ndarray:
    rate_b = b.regions.set_index("id")["collection_rate"]
    return (a.regions["id"].map(rate_b) - a.regions["collection_rate"]).to_numpy(float)


def _opened_groups(runs: dict[str, Run]) -> dict[tuple[str, ...], pd.DataFrame]:
    """Split every site by the runs that open it: {(): not opened, ("a",): A only, ...}.

    A site's row comes from the last run that opens it (its size there), else from the
    first run that lists it. Groups are ordered by their number of runs, then by run.
    """
    opened_by: dict[str, tuple[str, ...]] = {}
    row_of: dict[str, tuple[str, int]] = {}
    for key, run in runs.items():
        for i, (site, is_open) in enumerate(zip(run.facilities["id"], run.facilities["open"],
                                                strict=True)):
            if is_open:
                opened_by[site] = (*opened_by.get(site, ()), key)
                row_of[site] = (key, i)
            row_of.setdefault(site, (key, i))
    groups: dict[tuple[str, ...], list[pd.Series]] = {(): []}
    for site, (key, i) in row_of.items():
        groups.setdefault(opened_by.get(site, ()), []).append(runs[key].facilities.iloc[i])
    columns = next(iter(runs.values())).facilities.columns
    return {group: pd.DataFrame(groups[group], columns=columns)
            for group in sorted(groups, key=lambda g: (len(g), g))}


def _opened_in(group: tuple[str, ...], keys: Sequence[str]) -> str:
    if len(group) == len(keys):
        return "both" if len(keys) == 2 else "all"
    return ", ".join(k.upper() for k in group) + (" only" if len(group) == 1 else "")


def _group_tag(group: tuple[str, ...], keys: Sequence[str]) -> str:
    if len(group) == len(keys):
        return "both" if len(keys) == 2 else "all"
    return group[0] if len(group) == 1 else "some"


def _group_colour(group: tuple[str, ...], keys: Sequence[str]) -> str:
    return style.RUN_COLOURS["all" if len(group) == len(keys) else _group_tag(group, keys)]


def _paired_facility_popups(runs: dict[str, Run], ids: pd.Series) -> list[str]:
    tables = [(key, run, {row["id"]: row for row in ly.records(run.facilities)})
              for key, run in runs.items()]
    return ["".join(ly.facility_popup(table[site], run, f"{key.upper()} · ")
                    for key, run, table in tables if site in table) for site in ids]


def _paired_region_popups(runs: dict[str, Run]) -> list[str]:
    a, *_ = runs.values()
    tables = [(key, run, {row["id"]: row for row in ly.records(run.regions)},
               provinces(run.regions)) for key, run in runs.items()]
    return ["".join(ly.region_popup(table[row["id"]], run.stream_labels, by_province,
                                    f"{key.upper()} · ")
                    for key, run, table, by_province in tables if row["id"] in table)
            for row in ly.records(a.regions)]
