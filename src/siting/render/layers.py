"""Map layers: GeoJSON features that carry their own style, icon, tooltip and popup.

Every text from input files is HTML-escaped here, when the tooltip and popup markup is
built; the browser then inserts that markup as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd
import shapely
from folium.map import Layer
from folium.template import Template

from siting.render import style
from siting.render.run import COORD_DECIMALS, Run, provinces

Feature = dict[str, Any]
Rows = Sequence[tuple[str, str]]
Record = dict[str, Any]
GAP_TOLERANCE_T = 1e-6
SHOWN_SOURCES = 8  # origins listed in a facility's popup; the rest are counted
NOTHING_FILL = "url(#siting-nothing)"  # grey hatch: the province collects nothing
SCRIPT_BREAK = re.compile(r"<(?=[/!]|script)", re.IGNORECASE)
# branca renders the output of every element's script again as a Jinja template: an input
# text holding "{{", "{%" or "{#" would run there (and could run any Python).
TEMPLATE_OPEN = re.compile(r"\{(?=[{%#])")

PANES = {  # z-index, bottom to top: region areas, candidates not opened, region points,
    # the collection gap, flows (over the gap), then opened facilities above everything
    "siting-regions": 350, "siting-candidates": 380, "siting-region-points": 390,
    "siting-gap": 400, "siting-flows": 410, "siting-facilities": 610,
}
POINT_PANE = {"siting-regions": "siting-region-points"}  # where a layer's points go
KINDS = {  # kind of layer: its pane and the style its features share
    "region": ("siting-regions", {"fillOpacity": 0.6, "color": "#666666", "weight": 0.7}),
    "flow": ("siting-flows", {"opacity": 0.8, "lineCap": "round"}),
    "gap": ("siting-gap", {"weight": 2.5, "fillColor": style.GAP_RED}),
    "candidate": ("siting-candidates", {}),
    "facility": ("siting-facilities", {}),
}


class FeatureLayer(Layer):
    """A toggleable ``L.geoJSON`` layer of features built by this module.

    Parameters
    ----------
    name
        Label in the layer control (plain text; it is escaped here).
    features
        GeoJSON features whose properties hold ``style`` (or ``icon``), ``tip`` and ``pop``.
    kind
        One of :data:`KINDS`: sets the drawing order, the shared style and the CSS class
        ``siting-<kind>`` of every feature's element (tests count features by it).
    tag
        Extra CSS class of every feature's element.
    show
        Whether the layer is on when the map opens.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = siting.layer({{ this.data }}, {{ this.pane|tojson }},
            {{ this.class_name|tojson }}, {{ this.base }}, {{ this.point_pane|tojson }});
        {% endmacro %}
    """)

    def __init__(self, name: str, features: list[Feature], kind: str, tag: str = "",
                 show: bool = True):
        super().__init__(name=f"{escape(name)} ({len(features):,})", overlay=True, show=show)
        self._name = "FeatureLayer"
        self.pane, base = KINDS[kind]
        self.point_pane = POINT_PANE.get(self.pane, self.pane)
        self.data = js_json({"type": "FeatureCollection", "features": features})
        self.base = js_json(base)
        self.class_name = f"siting-{kind} {tag}".strip()


def js_json(value: Any) -> str:
    r"""Return JSON that is safe inside an HTML ``<script>`` element and a Jinja template.

    Every ``<`` that could end the script or open a comment (``</``, ``<!``, ``<script``)
    is written as the JSON escape ``\u003c``, and every ``{`` that could open a Jinja
    tag (``{{``, ``{%``, ``{#``: only ever inside a string) as ``\u007b``.
    """
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return TEMPLATE_OPEN.sub(r"\\u007b", SCRIPT_BREAK.sub(r"\\u003c", text))


@dataclass(frozen=True)
class Scales:
    """The largest figures that size symbols; shared by the runs of one map."""

    capacity: float
    flow: float
    uncollected: float
    supply: float

    @classmethod
    def of(cls, runs: Iterable[Run]) -> Scales:
        """Return the scales covering every run in ``runs``."""
        runs = list(runs)

        def largest(frames: Iterable[pd.Series]) -> float:
            return max((float(f.max()) for f in frames if len(f)), default=0.0)

        return cls(capacity=largest(r.facilities["capacity"] for r in runs),
                   flow=largest(r.flows["tonnes"] for r in runs),
                   uncollected=largest(r.regions["uncollected"] for r in runs),
                   supply=largest(r.regions["supply"] for r in runs))

    def facility_px(self, capacity: float) -> float:
        """Return a facility symbol's width in pixels."""
        return style.sqrt_size(capacity, self.capacity, 10, 30)

    def gap_px(self, uncollected: float) -> float:
        """Return a collection-gap circle's radius in pixels."""
        return style.sqrt_size(uncollected, self.uncollected, 5, 20)

    def supply_px(self, supply: float) -> float:
        """Return a point region's radius in pixels."""
        return style.sqrt_size(supply, self.supply, 3, 16)


def feature(geometry: Any, tip: str, pop: str, *, look: dict[str, Any] | None = None,
            icon: dict[str, Any] | None = None, site: str | None = None,
            ends: Sequence[str] | None = None) -> Feature:
    """Return one GeoJSON feature; ``tip`` and ``pop`` are markup already escaped.

    ``site`` (a facility's id) and ``ends`` (a flow's origin and destination) let the page
    highlight the flows of the facility whose popup is open; they are escaped like the
    markup (the page only compares them).
    """
    properties: dict[str, Any] = {"tip": tip, "pop": pop}
    if look is not None:
        properties["style"] = look
    if icon is not None:
        properties["icon"] = icon
    if site is not None:
        properties["site"] = escape(f"site:{site}")
    if ends is not None:
        properties["ends"] = [escape(end) for end in ends]
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def point(lon: float, lat: float) -> dict[str, Any]:
    """Return a GeoJSON point."""
    return {"type": "Point", "coordinates": position(lon, lat)}


def position(lon: float, lat: float) -> list[float]:
    """Return a GeoJSON position rounded to about a metre."""
    return [round(float(lon), COORD_DECIMALS), round(float(lat), COORD_DECIMALS)]


def popup(title: str, rows: Rows, subtitle: str = "") -> str:
    """Return popup markup: an escaped title and a table of (label, value) rows."""
    head = f"<h4>{escape(title)}</h4>"
    if subtitle:
        head += f"<div class='siting-sub'>{escape(subtitle)}</div>"
    body = "".join(f"<tr><th>{escape(k)}<td>{escape(v)}" for k, v in rows)
    return f"<div class='siting-pop'>{head}<table>{body}</table></div>"


def tooltip(name: str, detail: str) -> str:
    """Return tooltip markup: an escaped name in bold and an escaped detail."""
    return f"<b>{escape(name)}</b><br>{escape(detail)}"


def records(frame: pd.DataFrame) -> list[Record]:
    """Return the rows of ``frame`` as dictionaries (much faster to read than Series)."""
    return frame.drop(columns="geometry", errors="ignore").to_dict("records")


def per_stream(row: Record, prefix: str, labels: dict[str, str]) -> list[tuple[str, str]]:
    """Return indented (stream label, tonnes) rows of ``prefix_<stream>`` columns."""
    return [(f"  {label}", style.tonnes(row.get(f"{prefix}_{stream}")))
            for stream, label in labels.items() if f"{prefix}_{stream}" in row]


def region_features(run: Run, fills: Sequence[str], scales: Scales,
                    pops: Sequence[str] | None = None,
                    mark_nothing: bool = False) -> list[Feature]:
    """Return one feature per region, filled with ``fills``, with its supply figures.

    A region that is a point becomes a circle sized by supply. ``pops`` replaces the
    default popups (the comparison map shows both runs in them). ``mark_nothing`` fills
    the regions of a province that collects nothing with a grey hatch instead.
    """
    geometries = [json.loads(g) for g in shapely.to_geojson(run.regions.geometry.to_numpy())]
    rows = records(run.regions)
    by_province = provinces(run.regions)
    pops = pops if pops is not None else [region_popup(row, run.stream_labels, by_province)
                                          for row in rows]
    out = []
    for row, geometry, fill, pop in zip(rows, geometries, fills, pops, strict=True):
        nothing = mark_nothing and by_province.at[row["province"], "collects_nothing"]
        look = {"fillColor": NOTHING_FILL if nothing else fill}
        if nothing:
            look["fillOpacity"] = 1.0
        if geometry["type"] == "Point":
            look |= {"radius": scales.supply_px(row["supply"]), "fillOpacity": 0.8}
        tip = tooltip(row["name"], "its province collects nothing" if nothing else
                      f"collected {style.percent(row['collection_rate'])}")
        out.append(feature(geometry, tip, pop, look=look))
    return out


def region_popup(row: Record, labels: dict[str, str], by_province: pd.DataFrame,
                 heading: str = "") -> str:
    """Return the popup of a region: supply, collected and uncollected by stream.

    A region that is not its whole province also shows its province's totals; a province
    that collects nothing is said to.
    """
    rows = [("Supply", style.tonnes(row["supply"])), *per_stream(row, "supply", labels),
            ("Collected", style.tonnes(row["collected"])),
            ("Collection rate", style.percent(row["collection_rate"])),
            ("Uncollected", style.tonnes(row["uncollected"])),
            *per_stream(row, "uncollected", labels)]
    province = by_province.loc[row["province"]]
    if province["collects_nothing"]:
        rows.insert(0, ("Province", "collects nothing"))
    elif province["supply"] != row["supply"]:
        rows.append((f"Province {row['province']}", f"{style.tonnes(province['collected'])} "
                     f"of {style.tonnes(province['supply'])} collected"))
    return popup(row["name"], rows, f"{heading}region {row['id']} · {row['province']}")


def gap_features(run: Run, scales: Scales, outline: str = style.GAP_RED) -> list[Feature]:
    """Return a hatched circle per region with uncollected tonnes, sized by them."""
    short = run.regions[run.regions["uncollected"] > GAP_TOLERANCE_T]
    by_province = provinces(run.regions)
    return [feature(point(row["lon"], row["lat"]),
                    tooltip(row["name"], f"{style.tonnes(row['uncollected'])} uncollected "
                                         f"({style.percent(1 - row['collection_rate'])} of "
                                         "supply)"),
                    region_popup(row, run.stream_labels, by_province),
                    look={"radius": scales.gap_px(row["uncollected"]), "color": outline})
            for row in records(short)]


def facility_features(run: Run, sites: pd.DataFrame, fills: Sequence[str],
                      scales: Scales, pops: Sequence[str] | None = None) -> list[Feature]:
    """Return a marker per site: shape by tier, width by capacity, gold ring if new.

    ``pops`` replaces the default popups (the comparison map shows both runs in them).
    """
    shapes = tier_shapes(run.tiers)
    rows = records(sites)
    pops = pops if pops is not None else [facility_popup(row, run) for row in rows]
    return [feature(point(row["lon"], row["lat"]),
                    tooltip(row["name"], f"{row['tier']} · {style.tonnes(row['capacity'])}/yr · "
                                         f"{style.percent(row['utilisation'])} used"),
                    pop,
                    icon=icon(shapes.get(row["tier"], "circle"),
                              scales.facility_px(row["capacity"]), fill, bool(row["existing"]),
                              label=row["name"]),
                    site=str(row["id"]))
            for row, fill, pop in zip(rows, fills, pops, strict=True)]


def candidate_features(run: Run, closed: pd.DataFrame) -> list[Feature]:
    """Return a small faint marker per site of ``closed`` (candidates not opened)."""
    shapes = tier_shapes(run.tiers)
    return [feature(point(row["lon"], row["lat"]),
                    tooltip(row["name"], f"{row['tier']} candidate, not opened"),
                    facility_popup(row, run),
                    icon=icon(shapes.get(row["tier"], "circle"), 11, "#ffffff", False,
                              faint=True))
            for row in records(closed)]


def facility_popup(row: Record, run: Run, heading: str = "") -> str:
    """Return the popup of a site: status, capacity, throughput by stream, costs."""
    built = row.get("build_year")
    if row["existing"] and not row["open"]:
        status = "existing, closed"
    elif not row["open"]:
        status = "not opened"
    elif row["existing"]:
        status = "existing"
    else:
        status = f"new, size {row['size']}" if row["size"] else "new"
        status += f", built {built:.0f}" if built is not None and not pd.isna(built) else ""
    rows = [("Status", status), ("Capacity", f"{style.tonnes(row['capacity'])}/yr"),
            ("Throughput", f"{style.tonnes(row['throughput'])}/yr"),
            *per_stream(row, "throughput", run.stream_labels),
            ("Utilisation", style.percent(row["utilisation"])),
            ("Fixed cost", f"{style.money(row['fixed_cost'], run.currency)}/yr"),
            ("Capex", style.money(row["capex"], run.currency)),
            *served_rows(run.sources.get(row["id"], []))]
    subtitle = f"{heading}site {row['id']} · {row['tier']} · {row['province']}".strip(" ·")
    return popup(row["name"], rows, subtitle)


def served_rows(sources: list[tuple[str, float]]) -> list[tuple[str, str]]:
    """Return popup rows naming where a site's flows come from, with their tonnes."""
    if not sources:
        return []
    rows = [("Receives from", f"{len(sources)} origin{'s' if len(sources) > 1 else ''}")]
    rows += [(f"  {name}", style.tonnes(tonnes)) for name, tonnes in sources[:SHOWN_SOURCES]]
    if len(sources) > SHOWN_SOURCES:
        rest = sum(tonnes for _, tonnes in sources[SHOWN_SOURCES:])
        rows.append((f"  {len(sources) - SHOWN_SOURCES} more", style.tonnes(rest)))
    return rows


def flow_features(run: Run, colours: Sequence[str], scales: Scales,
                  dash: str | None = None) -> list[Feature]:
    """Return a line per flow, width by tonnes, colour from ``colours``.

    The largest flows come first, so that thin lines stay on top of thick ones.
    """
    rows = records(run.flows)
    order = run.flows["tonnes"].to_numpy().argsort(kind="stable")[::-1]
    return [flow_feature(rows[i], run, colours[i], scales, dash) for i in order]


def flow_feature(row: Record, run: Run, colour: str, scales: Scales,
                 dash: str | None) -> Feature:
    """Return the line of one flow with its stream, tonnes, distance and cost."""
    label = run.stream_labels.get(row["stream"], row["stream"])
    look = {"color": colour, "weight": style.line_width(row["tonnes"], scales.flow)}
    if dash:
        look["dashArray"] = dash
    line = {"type": "LineString", "coordinates": [position(row["lon0"], row["lat0"]),
                                                  position(row["lon1"], row["lat1"])]}
    figures = [("Stream", label), ("Tonnes", f"{style.tonnes(row['tonnes'])}/yr"),
               ("Distance", style.km(row["km"])),
               ("Transport cost", f"{style.money(row['transport_cost'], run.currency)}/yr")]
    route = f"{row['origin_name']} → {row['destination_name']}"
    return feature(line, tooltip(route, f"{style.tonnes(row['tonnes'])} {label}"),
                   popup(route, figures), look=look,
                   ends=[f"{row['origin_type']}:{row['origin']}", f"site:{row['destination']}"])


def tier_shapes(tiers: Sequence[str]) -> dict[str, str]:
    """Return the marker shape of each tier, in flow order."""
    return {tier: style.TIER_SHAPES[i % len(style.TIER_SHAPES)] for i, tier in enumerate(tiers)}


def icon(shape: str, size: float, fill: str, existing: bool, faint: bool = False,
         label: str | None = None) -> dict[str, Any]:
    """Return a ``divIcon`` spec: an inline SVG ``shape`` of width ``size`` pixels.

    Existing facilities get a thin dark outline, new ones a dark outline with a gold ring
    inside, so that what the plan adds stands out; ``faint`` draws a grey, translucent
    outline for candidates that were not opened. ``label`` (escaped here) is written
    beside the symbol: always for a new site, close up only for an existing one.
    """
    if faint:
        html = svg_shape(shape, size, fill, style.CANDIDATE_GREY, 1.2, 0.7)
    else:
        html = svg_shape(shape, size, fill, "#222222", 1.2, new=not existing)
    if label is not None:
        kind = "existing" if existing else "new"
        html += f"<span class='siting-label siting-label-{kind}'>{escape(label)}</span>"
    return {"html": html, "size": size}


def svg_shape(shape: str, size: float, fill: str, stroke: str, width: float,
              opacity: float = 1.0, new: bool = False) -> str:
    """Return an inline SVG of a circle, square, diamond or triangle (also for legends).

    ``new`` replaces the outline by a thick dark one with a gold ring inside.
    """
    strokes = [("#111111", 5.0), (style.NEW_GOLD, 2.4)] if new else [(stroke, width)]
    margin = strokes[0][1] / 2 + 0.5
    body = "".join(_svg_outline(shape, size, margin, f'fill="{fill}" stroke="{colour}" '
                                f'stroke-width="{line}" opacity="{opacity}"')
                   for colour, line in strokes)
    return f'<svg width="{size}" height="{size}" viewBox="0 0 {size} {size}">{body}</svg>'


def _svg_outline(shape: str, s: float, m: float, paint: str) -> str:
    points = {"square": [(m, m), (s - m, m), (s - m, s - m), (m, s - m)],
              "diamond": [(s / 2, m), (s - m, s / 2), (s / 2, s - m), (m, s / 2)],
              "triangle": [(s / 2, m), (s - m, s - m), (m, s - m)]}
    if shape in points:
        coordinates = " ".join(f"{x:.1f},{y:.1f}" for x, y in points[shape])
        return f'<polygon points="{coordinates}" {paint}/>'
    return f'<circle cx="{s / 2}" cy="{s / 2}" r="{s / 2 - m:.1f}" {paint}/>'
