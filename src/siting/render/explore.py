"""A folium map of an in-memory :class:`~siting.results.solution.Solution`, for notebooks.

The run-folder maps (``siting map``) are pages with legends and panels; this one is the
quick look ``Solution.explore()`` returns, like ``GeoDataFrame.explore()``.
"""

from __future__ import annotations

from html import escape

import folium

from siting.render import style
from siting.render.page import tile_layer, use_leaflet_only
from siting.results.solution import Solution, flow_lines

LARGEST_PX = 18


def explore(solution: Solution, tiles: str = "cartodb", cdn: bool = False) -> folium.Map:
    """Draw regions by collection rate, opened facilities and flows on a folium map.

    ``tiles`` is a base map of ``siting map``: "cartodb", "osm" or "none". Leaflet is
    inlined, so the map draws with no network (only the base map's tiles need one);
    ``cdn`` links it on its CDN instead, for a lighter notebook.
    """
    regions, facilities = solution.regions, solution.facilities
    west, south, east, north = regions.total_bounds
    m = folium.Map(tiles=None)
    use_leaflet_only(m, cdn)
    base = tile_layer(tiles, None)
    if base is not None:
        base.add_to(m)
    m.fit_bounds([[south, west], [north, east]])
    shown = regions[["name", "province", "supply", "collected", "collection_rate", "geometry"]]
    shown = shown.assign(name=shown["name"].map(escape), province=shown["province"].map(escape),
                         colour=[style.COLLECTION_RAMP(r) for r in shown["collection_rate"]],
                         rate=shown["collection_rate"].map(style.percent),
                         supply=shown["supply"].map(style.tonnes),
                         collected=shown["collected"].map(style.tonnes))
    folium.GeoJson(
        shown.drop(columns="collection_rate"), name="regions: collection rate",
        style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#555",
                                  "weight": 0.6, "fillOpacity": 0.7},
        tooltip=folium.GeoJsonTooltip(["name", "province", "supply", "collected", "rate"]),
    ).add_to(m)
    flows = folium.FeatureGroup("flows").add_to(m)
    largest = float(solution.flows["tonnes"].max()) if len(solution.flows) else 0.0
    for flow in flow_lines(solution).itertuples():
        folium.PolyLine([(y, x) for x, y in flow.geometry.coords], color="#1f78b4",
                        weight=style.line_width(flow.tonnes, largest), opacity=0.5,
                        tooltip=escape(f"{flow.origin} -> {flow.destination}: {flow.stream}, "
                                       f"{style.tonnes(flow.tonnes)}")).add_to(flows)
    opened = facilities[facilities["open"]]
    sites = folium.FeatureGroup("opened facilities").add_to(m)
    biggest = float(opened["capacity"].max()) if len(opened) else 0.0
    for site in opened.itertuples():
        new = site.new_capacity > 0
        folium.CircleMarker(
            (site.lat, site.lon), radius=style.sqrt_size(site.capacity, biggest, 4, LARGEST_PX),
            color=style.NEW_GOLD if new else "#333", weight=3 if new else 1, fill=True,
            fill_color=style.UTILISATION_RAMP(site.utilisation), fill_opacity=0.9,
            tooltip=escape(f"{site.name} ({site.province}), {site.tier}"
                           f"{', new ' + site.size if new else ''}: "
                           f"{style.tonnes(site.throughput)} of {style.tonnes(site.capacity)}"),
        ).add_to(sites)
    folium.LayerControl().add_to(m)
    return m
