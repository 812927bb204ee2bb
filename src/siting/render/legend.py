"""Fixed panels of a map: the title with headline KPIs, and the legend of scales.

Every name from input files is escaped here; panels hold finished markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from branca.element import MacroElement
from folium.template import Template

from siting.render import style
from siting.render.layers import Scales, js_json, svg_shape, tier_shapes
from siting.render.run import Run

Number = float | None
STATUS_CLASS = {"optimal": "ok", "feasible": "warn", "time_limit": "warn"}


class Panel(MacroElement):
    """A Leaflet control showing fixed markup.

    Parameters
    ----------
    html
        Markup, with every name in it already escaped.
    position
        Leaflet control position, e.g. ``"topleft"``.
    class_name
        CSS class of the panel.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.class_name|tojson }});
            div.innerHTML = {{ this.html }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str, class_name: str):
        super().__init__()
        self._name = "Panel"
        self.html = js_json(html)
        self.position = position
        self.class_name = f"siting-panel {class_name}"


@dataclass(frozen=True)
class Kpi:
    """One headline figure: its number (None for text-only rows) and how to show it."""

    label: str
    number: Number
    text: str
    delta: Callable[[float], str] | None = None


def kpis(run: Run) -> list[Kpi]:
    """Return the headline KPIs of a run, in panel order."""
    k = run.kpis
    opened, new = k.get("facilities_open", {}), k.get("facilities_new", {})
    rows = [
        Kpi("Total cost", k.get("total_cost"), style.money(k.get("total_cost"), run.currency),
            lambda d: style.money(d, run.currency)),
        Kpi("Collection rate", k.get("collection_rate"), style.percent(k.get("collection_rate")),
            lambda d: f"{100 * d:.1f} pp"),
        Kpi("Collection gap", k.get("uncollected_t"), style.tonnes(k.get("uncollected_t")),
            style.tonnes),
        Kpi("Capacity utilisation", k.get("utilisation"), style.percent(k.get("utilisation")),
            lambda d: f"{100 * d:.1f} pp"),
    ]
    rows += [Kpi(f"Open {tier} (new)", opened.get(tier, 0),
                 f"{opened.get(tier, 0)} ({new.get(tier, 0)} new)", lambda d: f"{d:.0f}")
             for tier in run.tiers]
    rows.append(Kpi("Solver", None, solver_text(run)))
    return rows


def solver_text(run: Run) -> str:
    """Return the status in words, e.g. ``feasible, gap 1.2% against a valid bound``."""
    return run.solution.get("status_text", run.solution.get("status", "unknown"))


def title_panel(title: str, runs: Sequence[tuple[str, Run]]) -> Panel:
    """Return the title panel: a title and a KPI table with one column per run.

    With two runs a third column shows the change from the first to the second; with more,
    each later run's cell shows its change from the first in brackets.
    """
    columns = [kpis(run) for _, run in runs]
    heads = "".join(f"<th>{escape(head)}</th>" for head, _ in runs)
    if len(runs) == 2:
        heads += "<th>change</th>"
    body = f"<tr><th></th>{heads}</tr>" if any(head for head, _ in runs) else ""
    for i, first in enumerate(columns[0]):
        row = [column[i] for column in columns]
        texts = [k.text for k in row]
        if len(runs) == 2:
            texts.append(change(row[0], row[1]))
        elif len(runs) > 2:
            texts[1:] = [f"{k.text} ({change(row[0], k)})" if change(row[0], k) else k.text
                         for k in row[1:]]
        cells = "".join(f"<td>{escape(text)}</td>" for text in texts)
        body += f"<tr><th>{escape(first.label)}</th>{cells}</tr>"
    notes = "".join(f"<div class='siting-status siting-{_status_class(run)}'>"
                    f"{escape(f'{head}: ' if head else '')}{escape(_status_note(run))}</div>"
                    for head, run in runs if _status_note(run))
    html = f"<h3>{escape(title)}</h3>{notes}<table class='siting-kpis'>{body}</table>"
    return Panel(html, "topleft", "siting-title")


def change(a: Kpi, b: Kpi) -> str:
    """Return the signed change from ``a`` to ``b``, or an empty string."""
    if a.number is None or b.number is None or a.delta is None:
        return ""
    difference = b.number - a.number
    return ("+" if difference > 0 else "") + a.delta(difference)


def _status_class(run: Run) -> str:
    return STATUS_CLASS.get(run.solution.get("status", ""), "bad")


def _status_note(run: Run) -> str:
    status = run.solution.get("status", "unknown")
    if not run.solution.get("has_solution", True):
        return f"{status}: no solution to map"
    text = run.solution.get("status_text", status)
    return "" if status == "optimal" else f"{text}: the solution may not be optimal"


def ramp_bar(title: str, ramp: style.Ramp, left: str, right: str) -> str:
    """Return a legend entry: a colour bar with its end labels."""
    return (f"<div class='siting-entry'>{escape(title)}<div class='siting-bar' "
            f"style='background:{ramp.css()}'></div><div class='siting-ends'>"
            f"<span>{escape(left)}</span><span>{escape(right)}</span></div></div>")


def symbol_row(symbol: str, label: str) -> str:
    """Return a legend entry: an inline SVG symbol and its label."""
    return f"<div class='siting-row'><span class='siting-sym'>{symbol}</span>{escape(label)}</div>"


def line_symbol(colour: str, width: float, dash: str | None = None) -> str:
    """Return an inline SVG of a flow line."""
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg width="34" height="14"><line x1="2" y1="7" x2="32" y2="7" stroke="{colour}" '
            f'stroke-width="{width}" stroke-linecap="round"{dashes}/></svg>')


def gap_symbol(radius: float, outline: str = style.GAP_RED) -> str:
    """Return an inline SVG of a collection-gap circle, hatched like on the map."""
    size = 2 * radius + 4
    return (f'<svg width="{size}" height="{size}"><circle class="siting-gap-sample" '
            f'cx="{size / 2}" cy="{size / 2}" r="{radius}" stroke="{outline}" '
            f'stroke-width="2"/></svg>')


def nothing_symbol() -> str:
    """Return an inline SVG of the grey hatch of a province that collects nothing."""
    return ('<svg width="34" height="16"><rect x="1" y="1" width="32" height="14" '
            'fill="url(#siting-nothing)" stroke="#666666"/></svg>')


def facility_entries(run: Run, scales: Scales) -> list[str]:
    """Return legend entries of facility symbols: size samples, tier shapes, outlines."""
    shapes = tier_shapes(run.tiers)
    samples = [scales.capacity / 4, scales.capacity] if scales.capacity > 0 else []
    rows = [symbol_row(svg_shape("circle", scales.facility_px(c), "#ffffff", "#222222", 1.2),
                       f"{style.tonnes(c)}/yr capacity") for c in samples]
    rows += [symbol_row(svg_shape(shape, 16, "#dddddd", "#222222", 1.2), f"tier: {tier}")
             for tier, shape in shapes.items()]
    rows += [symbol_row(svg_shape("circle", 18, "#dddddd", "#222222", 1.2), "existing"),
             symbol_row(svg_shape("circle", 18, "#dddddd", "#222222", 1.2, new=True), "new"),
             symbol_row(svg_shape("circle", 11, "#ffffff", style.CANDIDATE_GREY, 1.2, 0.7),
                        "candidate, not opened")]
    return rows


def flow_width_entries(scales: Scales, colour: str = "#555555") -> list[str]:
    """Return legend entries of flow widths."""
    samples = [scales.flow / 10, scales.flow] if scales.flow > 0 else []
    return [symbol_row(line_symbol(colour, style.line_width(t, scales.flow)),
                       f"{style.tonnes(t)}/yr") for t in samples]


def legend_panel(sections: Sequence[tuple[str, Sequence[str]]]) -> Panel:
    """Return the legend panel from (heading, entries) sections; empty sections are left out.

    Sections flow in two columns, so that the legend of a busy map fits a laptop screen.
    """
    shown = [(heading, entries) for heading, entries in sections if entries]
    html = "".join(f"<div class='siting-section'><h4>{escape(heading)}</h4>"
                   f"{''.join(entries)}</div>" for heading, entries in shown)
    columns = "siting-sections" + (" siting-one" if len(shown) == 1 else "")
    return Panel(f"<details open><summary>Legend</summary><div class='{columns}'>{html}"
                 "</div></details>", "bottomright",
                 "siting-legend")
