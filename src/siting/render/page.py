"""The page around the layers: base map, tiles, Leaflet (linked or inlined), styles, writing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

import folium
from branca.element import Element, Figure

from siting.errors import SitingError
from siting.folders import GENERATOR
from siting.render import assets
from siting.render.layers import PANES, FeatureLayer
from siting.runfiles import write_atomic

OSM_CREDIT = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
              'contributors')
TILES = {  # name: (URL template, attribution)
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", OSM_CREDIT),
    "cartodb": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
                f'{OSM_CREDIT} &copy; <a href="https://carto.com/attributions">CARTO</a>'),
}
FIT_PADDING_TOP_LEFT = (30, 200)  # pixels kept clear of the title panel and layer control
FIT_PADDING_BOTTOM_RIGHT = (260, 30)  # ... and of the legend
REMOTE_LINK = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
                         re.IGNORECASE)

SCRIPT = """
var siting = {
    layer: function (data, pane, className, base) {
        function look(feature) { return L.extend({}, base, feature.properties.style); }
        return L.geoJSON(data, {
            pane: pane, className: className, style: look,
            pointToLayer: function (feature, latlng) {
                var icon = feature.properties.icon;
                if (icon) {
                    return L.marker(latlng, {pane: pane, icon: L.divIcon({
                        className: className, html: icon.html, iconSize: [icon.size, icon.size]
                    })});
                }
                return L.circleMarker(latlng,
                                      L.extend({pane: pane, className: className}, look(feature)));
            },
            onEachFeature: function (feature, layer) {
                layer.bindTooltip(feature.properties.tip, {sticky: true});
                layer.bindPopup(feature.properties.pop, {maxWidth: 420});
            }
        });
    }
};
"""

STYLE = """
.leaflet-container { background: #eef1f4; font: 13px/1.35 system-ui, sans-serif; }
.siting-panel { background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 6px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); max-height: 70vh; overflow-y: auto; }
.siting-panel h3 { margin: 0 0 6px; font-size: 15px; max-width: 420px; }
.siting-panel h4 { margin: 8px 0 3px; font-size: 12px; text-transform: uppercase;
  color: #555; letter-spacing: 0.03em; }
.siting-panel h4:first-child { margin-top: 0; }
.siting-kpis { border-collapse: collapse; }
.siting-kpis th, .siting-kpis td { padding: 1px 8px 1px 0; text-align: right;
  white-space: nowrap; }
.siting-kpis th:first-child { text-align: left; font-weight: 600; }
.siting-kpis { border-top: 1px solid #ccc; }
.siting-status { padding: 2px 6px; margin-bottom: 5px; border-radius: 3px; font-weight: 600; }
.siting-warn { background: #fff3cd; } .siting-bad { background: #f8d7da; }
.siting-legend { max-width: 230px; max-height: max(180px, calc(100vh - 330px)); }
.siting-legend summary { cursor: pointer; font-weight: 600; }
.siting-row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.siting-sym { display: inline-flex; justify-content: center; min-width: 40px; }
.siting-bar { height: 10px; width: 190px; border: 1px solid #999; margin-top: 2px; }
.siting-ends { display: flex; justify-content: space-between; width: 192px; font-size: 11px; }
.siting-pop h4 { margin: 0 0 2px; font-size: 14px; }
.siting-pop .siting-sub { color: #666; margin-bottom: 4px; }
.siting-pop table { border-collapse: collapse; }
.siting-pop th { text-align: left; font-weight: normal; color: #444; padding-right: 12px;
  white-space: pre; }
.siting-pop td { text-align: right; white-space: nowrap; }
path.siting-gap, .siting-gap-sample { fill: url(#siting-hatch); fill-opacity: 1; }
path.siting-gap { animation: siting-pulse 1.8s ease-in-out infinite; }
@keyframes siting-pulse { 50% { stroke-width: 8px; stroke-opacity: 0.35; } }
@media (prefers-reduced-motion: reduce) { path.siting-gap { animation: none; } }
"""

HATCH = """
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="siting-hatch" patternUnits="userSpaceOnUse" width="6" height="6"
 patternTransform="rotate(45)"><rect width="6" height="6" fill="#d7191c" fill-opacity="0.2"/>
<line x1="1.5" y1="0" x2="1.5" y2="6" stroke="#d7191c" stroke-width="2.5"/></pattern>
</defs></svg>
"""


class MapError(SitingError):
    """A map cannot be drawn with the options given."""

    exit_code = 2


def new_map(title: str, bounds: Sequence[float], tiles: str, attribution: str | None,
            offline: bool) -> folium.Map:
    """Return an empty map fitted to ``bounds`` (west, south, east, north), with its page.

    ``offline`` inlines Leaflet and leaves tiles out; otherwise Leaflet comes from its CDN.
    """
    layer = None if offline else tile_layer(tiles, attribution)
    leaflet = assets.leaflet_inline() if offline else None
    m = folium.Map(tiles=layer, control_scale=True, zoom_control="bottomleft")
    m.get_root().title = escape(title)
    m.get_root().header.add_child(Element(GENERATOR), name="generator")
    if leaflet is None:
        m.default_js, m.default_css = assets.leaflet_links()
    else:
        m.default_js, m.default_css = [], []
        m.get_root().header.add_child(Element(f"<style>{leaflet.css}</style>"
                                              f"<script>{leaflet.js}</script>"), name="leaflet")
    m.get_root().header.add_child(Element(f"<style>{STYLE}</style><script>{SCRIPT}</script>"),
                                  name="siting")
    m.get_root().html.add_child(Element(HATCH), name="siting_hatch")
    for pane, z_index in PANES.items():
        m.add_child(folium.map.CustomPane(pane, z_index=z_index))
    west, south, east, north = bounds
    m.fit_bounds([[south, west], [north, east]], padding_top_left=FIT_PADDING_TOP_LEFT,
                 padding_bottom_right=FIT_PADDING_BOTTOM_RIGHT)
    return m


def tile_layer(tiles: str, attribution: str | None) -> folium.TileLayer | None:
    """Return the base layer for ``tiles``: "osm", "cartodb", "none" or a URL template.

    Raises
    ------
    MapError
        If ``tiles`` is none of these, or a URL template comes without ``attribution``.
    """
    if tiles == "none":
        return None
    if tiles in TILES:
        tiles, attribution = TILES[tiles]
        return folium.TileLayer(tiles, attr=attribution, control=False, max_zoom=19)
    if not all(key in tiles for key in ("{z}", "{x}", "{y}")):
        raise MapError(f"tiles {tiles!r}: expected osm, cartodb, none, or a URL template "
                       "with {z}, {x} and {y}")
    if not attribution:
        raise MapError(f"tiles {tiles!r}: a custom tile URL needs an attribution "
                       "(who made the map data and tiles)")
    return folium.TileLayer(tiles, attr=attribution, control=False)


def add_layers(m: folium.Map, layers: Sequence[FeatureLayer]) -> None:
    """Add ``layers`` in drawing order and a layer control listing them."""
    for layer in layers:
        m.add_child(layer)
    m.add_child(folium.LayerControl(collapsed=False))


def number_elements(root: Element) -> None:
    """Give every element under ``root`` an id from its place in the tree.

    folium names each element's JavaScript variable and HTML id after a random hex id;
    numbering them in tree order instead makes the same map render to the same bytes.
    """
    stack, number = [root], 0
    while stack:
        element = stack.pop()
        element._id = f"{number:032x}"
        number += 1
        children = list(element._children.values())
        if isinstance(element, Figure):
            children = [element.header, element.html, element.script, *children]
        stack.extend(reversed(children))


def write_page(m: folium.Map, out: Path, offline: bool) -> Path:
    """Render the page and write it atomically (temporary file, then rename).

    Raises
    ------
    MapError
        If an offline page would still load a script or style from the network.
    """
    root = m.get_root()
    number_elements(root)
    html = root.render()
    if offline and REMOTE_LINK.search(html):
        raise MapError(f"{out}: the offline map still links {REMOTE_LINK.search(html)[0]}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out, html)
