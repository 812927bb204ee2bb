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
from siting.render.page import add_layers, new_map, write_page
from siting.render.run import Run, load_run

OPENED_IN = {"a": "A only", "b": "B only", "both": "both"}
B_DASH = "8 6"


def render_map(run_dir: Path, out: Path | None = None, tiles: str = "cartodb",
               offline: bool = False, attribution: str | None = None) -> Path:
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
    offline
        Write one self-contained page: Leaflet inlined (from the npm registry on first use,
        then cached), no tiles; region outlines give the context.
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
        If ``offline`` and Leaflet is neither cached nor obtainable.
    """
    run = load_run(run_dir)
    scales = ly.Scales.of([run])
    m = new_map(_title(run), bounds([run]), tiles, attribution, offline)
    streams = {s: style.STREAM_COLOURS[i % len(style.STREAM_COLOURS)]
               for i, s in enumerate(run.stream_labels)}
    opened = run.facilities[run.facilities["open"]]
    add_layers(m, [
        ly.FeatureLayer("Supply regions: collection rate", ly.region_features(
            run, [style.COLLECTION_RAMP(r) for r in run.regions["collection_rate"]], scales),
            "region"),
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
                                        "100 %"), *_supply_entries(run, scales)]),
        ("Collection gap", _gap_entries(scales, [("uncollected", style.GAP_RED)])),
        ("Opened facilities", [lg.ramp_bar("utilisation", style.UTILISATION_RAMP, "0 %",
                                           "100 %"), *lg.facility_entries(run, scales)]),
        ("Flows", [*(lg.symbol_row(lg.line_symbol(streams[s], 4), label)
                     for s, label in run.stream_labels.items()),
                   *lg.flow_width_entries(scales)]),
    ]))
    return write_page(m, Path(out) if out else run.path / "map.html", offline)


def render_comparison(run_a: Path, run_b: Path, out: Path, tiles: str = "cartodb",
                      offline: bool = False, attribution: str | None = None) -> Path:
    """Draw two runs on one page: what opened in A only, in B only, in both.

    Regions are coloured by the change of their collection rate from A to B; flows and the
    collection gap of each run are separate layers; the title panel shows both runs' KPIs
    and their change. Symbol sizes share one scale across the two runs.

    Parameters
    ----------
    run_a, run_b
        Run folders of the same instance (e.g. two scenarios).
    out
        Page to write.
    tiles, offline, attribution
        As in :func:`render_map`.

    Returns
    -------
    Path
        The page written, atomically.
    """
    a, b = load_run(run_a), load_run(run_b)
    scales = ly.Scales.of([a, b])
    title = f"{a.solution.get('instance', {}).get('name', '')}: {_scenario(a)} vs {_scenario(b)}"
    m = new_map(title, bounds([a, b]), tiles, attribution, offline)
    rate_change = _rate_change(a, b)
    reach = max(0.1, float(np.ceil(np.nanmax(np.abs(rate_change), initial=0) * 10) / 10))
    ramp = style.Ramp(style.CHANGE_RAMP.stops, -reach, reach)
    groups = _opened_groups(a, b)
    runs = {"a": (a, None), "b": (b, B_DASH)}
    add_layers(m, [
        ly.FeatureLayer("Supply regions: change of collection rate", ly.region_features(
            a, [ramp(r) for r in rate_change], scales, _paired_region_popups(a, b)), "region"),
        *(ly.FeatureLayer(f"Flows {key.upper()}", ly.flow_features(
            run, [style.RUN_COLOURS[key]] * len(run.flows), scales, dash), "flow",
            f"siting-{key}") for key, (run, dash) in runs.items()),
        *(ly.FeatureLayer(f"Collection gap {key.upper()}", ly.gap_features(
            run, scales, style.RUN_COLOURS[key]), "gap", f"siting-{key}")
          for key, (run, _) in runs.items()),
        ly.FeatureLayer("Candidate sites not opened", ly.candidate_features(
            a, groups.pop("neither")), "candidate"),
        *(ly.FeatureLayer(f"Opened in {OPENED_IN[key]}", ly.facility_features(
            a, sites, [style.RUN_COLOURS[key]] * len(sites), scales,
            _paired_facility_popups(a, b, sites["id"])), "facility", f"siting-{key}")
          for key, sites in groups.items()),
    ])
    m.add_child(lg.title_panel(title, [(f"A · {_scenario(a)}", a), (f"B · {_scenario(b)}", b)]))
    m.add_child(lg.legend_panel([
        ("Supply regions", [lg.ramp_bar("collection rate, change B − A", ramp,
                                        f"−{100 * reach:.0f} pp", f"+{100 * reach:.0f} pp")]),
        ("Collection gap", _gap_entries(scales, [(k.upper(), style.RUN_COLOURS[k])
                                                 for k in runs])),
        ("Opened facilities", [
            *(lg.symbol_row(ly.svg_shape("circle", 16, style.RUN_COLOURS[k], "#222222", 1.2),
                            f"opened in {label}") for k, label in OPENED_IN.items()),
            *lg.facility_entries(a, scales)]),
        ("Flows", [*(lg.symbol_row(lg.line_symbol(style.RUN_COLOURS[k], 4, dash), k.upper())
                     for k, (_, dash) in runs.items()),
                   *lg.flow_width_entries(scales)]),
    ]))
    return write_page(m, Path(out), offline)


def _scenario(run: Run) -> str:
    return run.solution.get("scenario", {}).get("name", "") or run.path.name


def _title(run: Run) -> str:
    title = f"{run.solution.get('instance', {}).get('name', run.path.name)} · {_scenario(run)}"
    periods = run.path / "periods.csv"
    if periods.is_file():  # a horizon run: the map shows its last period
        years = pd.read_csv(periods)["year"]
        title += f" · {years.iloc[-1]}, last of {len(years)} periods (timeline.html: all)"
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


def _gap_entries(scales: ly.Scales, outlines: Sequence[tuple[str, str]]) -> list[str]:
    if scales.uncollected <= ly.GAP_TOLERANCE_T:
        return ["<div class='siting-entry'>none: every tonne is collected</div>"]
    return [lg.symbol_row(lg.gap_symbol(scales.gap_px(scales.uncollected), colour),
                          f"{label}: {style.tonnes(scales.uncollected)}/yr (area)")
            for label, colour in outlines]


def _rate_change(a: Run, b: Run) -> np.ndarray:
    rate_b = b.regions.set_index("id")["collection_rate"]
    return (a.regions["id"].map(rate_b) - a.regions["collection_rate"]).to_numpy(float)


def _opened_groups(a: Run, b: Run) -> dict[str, pd.DataFrame]:
    in_a = set(a.facilities.loc[a.facilities["open"], "id"])
    in_b = set(b.facilities.loc[b.facilities["open"], "id"])
    sites = pd.concat([b.facilities, a.facilities[~a.facilities["id"].isin(b.facilities["id"])]])
    both = in_a & in_b
    return {"neither": sites[~sites["id"].isin(in_a | in_b)],
            "a": a.facilities[a.facilities["id"].isin(in_a - in_b)],
            "b": b.facilities[b.facilities["id"].isin(in_b - in_a)],
            "both": b.facilities[b.facilities["id"].isin(both)]}


def _paired_facility_popups(a: Run, b: Run, ids: pd.Series) -> list[str]:
    tables = [(key, run, {row["id"]: row for row in ly.records(run.facilities)})
              for key, run in (("A", a), ("B", b))]
    return ["".join(ly.facility_popup(table[site], run, f"{key} · ")
                    for key, run, table in tables if site in table) for site in ids]


def _paired_region_popups(a: Run, b: Run) -> list[str]:
    regions_b = {row["id"]: row for row in ly.records(b.regions)}
    return [ly.region_popup(row, a.stream_labels, "A · ")
            + (ly.region_popup(regions_b[row["id"]], b.stream_labels, "B · ")
               if row["id"] in regions_b else "")
            for row in ly.records(a.regions)]
