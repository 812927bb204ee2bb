"""The page around the layers: base map, tiles, Leaflet (inlined or linked), styles, writing."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from pathlib import Path

import folium
from branca.element import Element, Figure, MacroElement
from folium.template import Template

from siting.errors import SitingError
from siting.folders import GENERATOR, write_atomic
from siting.render import assets
from siting.render.layers import PANES, FeatureLayer

OSM_CREDIT = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
              'contributors')
TILES = {  # name: (URL template, attribution)
    "osm": ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", OSM_CREDIT),
    "cartodb": ("https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}{r}.png",
                f'{OSM_CREDIT} &copy; <a href="https://carto.com/attributions">CARTO</a>'),
}
ZOOM_SNAP = 0.25  # fractional zoom: the instance fills the space beside the panels
FIT_PADDING_TOP_LEFT = (30, 245)  # pixels kept clear of the title panel and layer control
FIT_PADDING_BOTTOM_RIGHT = (500, 30)  # ... and of the legend (two columns)
TILE_NOTICE = ("The base map cannot load (no network?): the map shows the instance's own "
               "regions and sites only.")
REMOTE_LINK = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
                         re.IGNORECASE)

SCRIPT = """
var FAR_ZOOM = 4.75, NEAR_ZOOM = 7;  // smaller symbols at or below, all labels at or above
var siting = {
    flows: [],
    layer: function (data, pane, className, base, pointPane) {
        function look(feature) { return L.extend({}, base, feature.properties.style); }
        var layer = L.geoJSON(data, {
            pane: pane, className: className, style: look,
            pointToLayer: function (feature, latlng) {
                var icon = feature.properties.icon;
                if (icon) {
                    return L.marker(latlng, {pane: pane, icon: L.divIcon({
                        className: className, html: icon.html, iconSize: [icon.size, icon.size]
                    })});
                }
                return L.circleMarker(latlng, L.extend({pane: pointPane, className: className},
                                                       look(feature)));
            },
            onEachFeature: function (feature, layer) {
                layer.bindTooltip(feature.properties.tip, {sticky: true});
                layer.bindPopup(feature.properties.pop, {maxWidth: 600});
                var site = feature.properties.site;
                if (site) {
                    layer.on("popupopen", function () { siting.highlight(site); });
                    layer.on("popupclose", function () { siting.highlight(null); });
                }
            }
        });
        if (className.split(" ").indexOf("siting-flow") >= 0) {
            layer.look = look;
            siting.flows.push(layer);
        }
        return layer;
    },
    highlight: function (site) {  // the flows into and out of one site; null: all again
        siting.flows.forEach(function (group) {
            group.eachLayer(function (line) {
                var ends = line.feature.properties.ends, base = group.look(line.feature);
                var lit = site === null || ends.indexOf(site) >= 0;
                line.setStyle({opacity: lit ? base.opacity : 0.08});
                if (site !== null && lit) { line.bringToFront(); }
            });
        });
    },
    keepClear: function (map, bounds, padding) {
        // at any width: the title panel ends before the layer list, the instance below both
        var box = map.getContainer();
        function fit() {
            var title = box.querySelector(".siting-title");
            var layers = box.querySelector(".leaflet-control-layers");
            if (!title || !layers) { return; }
            var room = layers.getBoundingClientRect().left - title.getBoundingClientRect().left;
            title.style.maxWidth = Math.max(room - 14, 220) + "px";
            var top = box.getBoundingClientRect().top, below = Math.max(
                title.getBoundingClientRect().bottom, layers.getBoundingClientRect().bottom);
            map.fitBounds(bounds, {paddingTopLeft: [padding[0], below - top + 10],
                                   paddingBottomRight: [padding[2], padding[3]],
                                   animate: false});
        }
        window.addEventListener("load", fit);
        map.on("resize", function () { fit(); siting.fitLegend(map); });  // once Leaflet resized
    },
    fitLegend: function (map) {  // the legend ends below the panels of the top right corner
        var box = map.getContainer(), legend = box.querySelector(".siting-legend");
        var above = box.querySelector(".leaflet-top.leaflet-right");
        if (!legend || !above) { return; }
        var room = legend.getBoundingClientRect().bottom - above.getBoundingClientRect().bottom;
        legend.style.maxHeight = Math.max(room - 12, 120) + "px";
    },
    declutter: function (map) {  // a label that would cover a weightier one shows on hover
        function rank(label) {  // new sites first, then by symbol size
            return (label.classList.contains("siting-label-new") ? 1e6 : 0)
                + label.parentNode.offsetWidth;
        }
        function run() {
            var kept = [], labels = [].slice.call(
                map.getContainer().querySelectorAll(".siting-label"));
            labels.forEach(function (label) { label.classList.remove("siting-label-hidden"); });
            labels = labels.filter(function (label) { return label.offsetParent !== null; });
            labels.sort(function (a, b) { return rank(b) - rank(a); });
            labels.forEach(function (label) {
                var r = label.getBoundingClientRect();
                var covers = kept.some(function (k) {
                    return r.left < k.right && k.left < r.right && r.top < k.bottom
                        && k.top < r.bottom;
                });
                if (covers) { label.classList.add("siting-label-hidden"); } else { kept.push(r); }
            });
        }
        map.on("zoomend moveend overlayadd overlayremove", run);
        window.addEventListener("load", run);
    },
    zoomClasses: function (map) {
        function mark() {
            var zoom = map.getZoom(), box = map.getContainer().classList;
            box.toggle("siting-far", zoom <= FAR_ZOOM);
            box.toggle("siting-near", zoom >= NEAR_ZOOM);
        }
        map.on("zoomend", mark);
        mark();
    },
    tileNotice: function (map, text) {
        map.eachLayer(function (layer) {
            if (!(layer instanceof L.TileLayer)) { return; }
            layer.once("tileerror", function () {
                var notice = L.control({position: "topright"});
                notice.onAdd = function () {
                    var div = L.DomUtil.create("div", "siting-panel siting-notice");
                    div.setAttribute("role", "status");
                    div.textContent = text;
                    return div;
                };
                notice.addTo(map);
                siting.fitLegend(map);
            });
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
.siting-title { overflow-x: auto; box-sizing: border-box; }
.siting-kpis tr:last-child td { white-space: normal; min-width: 7em; }  /* the solver's words */
.siting-status { padding: 2px 6px; margin-bottom: 5px; border-radius: 3px; font-weight: 600; }
.siting-warn, .siting-notice { background: #fff3cd; } .siting-bad { background: #f8d7da; }
.siting-notice { max-width: 260px; font-weight: 600; }
.siting-legend { max-height: calc(100vh - 240px); box-sizing: border-box; }
.siting-sections { display: grid; grid-template-columns: repeat(2, 230px); column-gap: 14px; }
.siting-one { grid-template-columns: 230px; }
@media (max-width: 900px) { .siting-sections { grid-template-columns: 230px; } }
.siting-section h4 { margin-top: 0; }
.siting-label { position: absolute; left: 100%; top: 50%; transform: translateY(-50%);
  margin-left: 3px; white-space: nowrap; font: 600 11px/1 system-ui, sans-serif; color: #222;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; pointer-events: none; }
.siting-far .siting-facility svg { transform: scale(0.7); }
.siting-label-existing { display: none; }
.siting-label-hidden { visibility: hidden; }
.siting-near .siting-label-existing { display: block; }
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
"""

HATCH = """
<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="siting-hatch" patternUnits="userSpaceOnUse" width="6" height="6"
 patternTransform="rotate(45)"><rect width="6" height="6" fill="#d7191c" fill-opacity="0.2"/>
<line x1="1.5" y1="0" x2="1.5" y2="6" stroke="#d7191c" stroke-width="2.5"/></pattern>
<pattern id="siting-nothing" patternUnits="userSpaceOnUse" width="8" height="8"
 patternTransform="rotate(-45)"><rect width="8" height="8" fill="#d9d9d9"/>
<line x1="2" y1="0" x2="2" y2="8" stroke="#525252" stroke-width="2"/></pattern>
</defs></svg>
"""


class MapError(SitingError):
    """A map cannot be drawn with the options given."""

    exit_code = 2


def new_map(title: str, bounds: Sequence[float], tiles: str, attribution: str | None,
            cdn: bool = False) -> folium.Map:
    """Return an empty map fitted to ``bounds`` (west, south, east, north), with its page.

    Leaflet is inlined (the page needs no network) unless ``cdn`` links it on its CDN. When
    a tile of the base map cannot load, the page says so in a notice; the layers drawn on
    top (the instance's own regions and sites) need no tiles.
    """
    m = folium.Map(tiles=tile_layer(tiles, attribution), control_scale=True,
                   zoom_control="bottomleft", zoom_snap=ZOOM_SNAP)
    m.get_root().title = escape(title)
    m.get_root().header.add_child(Element(GENERATOR), name="generator")
    use_leaflet_only(m, cdn)
    m.get_root().header.add_child(Element(f"<style>{STYLE}</style><script>{SCRIPT}</script>"),
                                  name="siting")
    m.get_root().html.add_child(Element(HATCH), name="siting_hatch")
    west, south, east, north = bounds
    box = [[south, west], [north, east]]
    m.add_child(PageScript(box))
    for pane, z_index in PANES.items():
        m.add_child(folium.map.CustomPane(pane, z_index=z_index))
    m.fit_bounds(box, padding_top_left=FIT_PADDING_TOP_LEFT,
                 padding_bottom_right=FIT_PADDING_BOTTOM_RIGHT)
    return m


def use_leaflet_only(m: folium.Map, cdn: bool = False) -> None:
    """Make ``m`` load Leaflet alone (not folium's jQuery and Bootstrap), inlined by default.

    Inlined, the page needs no network, in a browser or a notebook; ``cdn`` links Leaflet
    on its CDN instead.
    """
    if cdn:
        m.default_js, m.default_css = assets.leaflet_links()
        return
    leaflet = assets.leaflet_inline()
    m.default_js, m.default_css = [], []
    m.get_root().header.add_child(Element(f"<style>{leaflet.css}</style>"
                                          f"<script>{leaflet.js}</script>"), name="leaflet")


class PageScript(MacroElement):
    """Wire the page's behaviour to the map: tile notice, zoom classes, panels kept clear.

    A notice shows when a tile of the base map cannot load. At a country's zoom
    (``siting-far``) facility symbols shrink; close up (``siting-near``) every opened site
    is labelled, not only the new ones; a label that would cover a new site's or a bigger
    site's label is hidden (the site's tooltip names it). Once the page is laid out (and
    on every resize) the title panel is narrowed to end before the layer list, and
    ``bounds`` is fitted below both.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        siting.tileNotice({{ this._parent.get_name() }}, {{ this.text|tojson }});
        siting.zoomClasses({{ this._parent.get_name() }});
        siting.declutter({{ this._parent.get_name() }});
        siting.keepClear({{ this._parent.get_name() }}, {{ this.bounds|tojson }},
                         {{ this.padding|tojson }});
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "PageScript"
        self.text = TILE_NOTICE
        self.bounds = bounds
        self.padding = [*FIT_PADDING_TOP_LEFT, *FIT_PADDING_BOTTOM_RIGHT]


def tile_layer(tiles: str, attribution: str | None) -> folium.TileLayer | None:
    """Return the base layer for ``tiles``: "osm", "cartodb", "none" or a URL template.

    A custom ``attribution`` is shown as text: Leaflet inserts it as HTML, so it is escaped.

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
    return folium.TileLayer(tiles, attr=escape(attribution), control=False)  # Leaflet: HTML


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


def write_page(m: folium.Map, out: Path, cdn: bool = False) -> Path:
    """Render the page and write it atomically (temporary file, then rename).

    Raises
    ------
    MapError
        If a page without ``cdn`` would still load a script or style from the network.
    """
    root = m.get_root()
    number_elements(root)
    html = root.render()
    if not cdn and REMOTE_LINK.search(html):
        raise MapError(f"{out}: the self-contained map still links {REMOTE_LINK.search(html)[0]}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(out, html)
