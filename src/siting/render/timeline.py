"""The timeline page of a multi-period run: capacity against the supply curve, per period.

Drawn from the run folder's ``periods.csv`` and ``solution.json`` only, as one
self-contained HTML page with an inline SVG chart (no script, no external resource).
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from siting.folders import write_atomic
from siting.render.report import BAR, html_table, page
from siting.render.style import money, percent
from siting.results.runfiles import read_meta

SUPPLY = "#222222"
COLLECTED = "#33a02c"
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 300, 70, 56, 30


def render_timeline(run_dir: Path, out: Path) -> Path:
    """Write the timeline page of the multi-period run ``run_dir`` to ``out``."""
    meta = read_meta(run_dir)
    timeline = pd.read_csv(Path(run_dir) / "periods.csv", keep_default_na=False,
                           na_values={c: [""] for c in ("utilisation", "collection_rate",
                                                        "capacity_to_supply")})
    title = f"{meta['instance']['name']} / {meta['scenario']['name']}: plan over the horizon"
    currency = meta["instance"]["currency"]
    headers = ["year", "supply t", "collected t", "gap t", "capacity t/yr", "added t/yr",
               "utilisation", "cost / yr", "built"]
    rows = [[(str(r.year), f"stands for {r.years} yr"), (f"{r.supply_t:,.0f}", ""),
             (f"{r.collected_t:,.0f}", percent(r.collection_rate)),
             (f"{r.uncollected_t:,.0f}", ""), (f"{r.capacity_t:,.0f}", ""),
             (f"{r.capacity_added_t:,.0f}", ""), (percent(r.utilisation), ""),
             (money(r.total_cost, currency), ""), (r.builds.replace(";", ", "), "")]
            for r in timeline.itertuples()]
    horizon = meta["kpis"]["horizon"]
    closures = ", ".join(f"{c['site']} ({c['year']})" for c in horizon["closures"]) or "none"
    body = (f"<h1>{html.escape(title)}</h1>"
            f"<p class='note'>Last-tier capacity (bars) against supply and collected tonnes "
            f"per period. Discounted cost over the horizon: "
            f"{html.escape(money(horizon['discounted_cost'], currency))}; closures: "
            f"{html.escape(closures)}.</p>"
            f"{capacity_chart(timeline)}{html_table(headers, rows)}")
    return write_atomic(Path(out), page(title, body))


def capacity_chart(timeline: pd.DataFrame) -> str:
    """Draw capacity per period as bars and supply and collected tonnes as lines (SVG)."""
    n = len(timeline)
    top = max(timeline["capacity_t"].max(), timeline["supply_t"].max()) or 1.0
    step = (WIDTH - LEFT - 10) / n
    plot_h = HEIGHT - BOTTOM - TOP

    def y(value: float) -> float:
        return TOP + plot_h * (1 - value / top)

    def x(i: int) -> float:
        return LEFT + step * (i + 0.5)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             'role="img" aria-label="capacity against supply per period">']
    for tick in (0, 0.5, 1):
        parts.append(f'<text x="{LEFT - 6}" y="{y(top * tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{top * tick:,.0f} t</text>')
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 10}" y1="{y(top * tick):.1f}" '
                     f'y2="{y(top * tick):.1f}" stroke="#ddd"/>')
    for i, r in enumerate(timeline.itertuples()):
        parts.append(f'<rect x="{x(i) - step * 0.3:.1f}" y="{y(r.capacity_t):.1f}" '
                     f'width="{step * 0.6:.1f}" height="{plot_h * r.capacity_t / top:.1f}" '
                     f'fill="{BAR}"><title>{r.year}: {r.capacity_t:,.0f} t/yr</title></rect>')
        parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'font-size="12">{r.year}</text>')
        if r.capacity_added_t > 0:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 32}" text-anchor="middle" '
                         f'font-size="11" fill="{BAR}">+{r.capacity_added_t:,.0f}</text>')
    for column, colour in (("supply_t", SUPPLY), ("collected_t", COLLECTED)):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(timeline[column]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     'stroke-width="2"/>')
    legend = ((BAR, "capacity"), (SUPPLY, "supply"), (COLLECTED, "collected"))
    for i, (colour, label) in enumerate(legend):
        parts.append(f'<rect x="{LEFT + i * 140}" y="8" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{LEFT + i * 140 + 16}" y="18" font-size="12">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)
