"""Comparison pages of a bench and a Pareto frontier: Markdown, and HTML with inline SVG.

Pages are drawn from the comparison tables only (:mod:`siting.studies.bench`,
:mod:`siting.studies.pareto`).
They load nothing from the network. Every text that comes from an input file (instance,
scenario, policy names, messages) is escaped for HTML, or for Markdown in .md tables.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

import pandas as pd

from siting.folders import GENERATOR
from siting.render.placement import place_labels
from siting.render.style import money, percent

Cell = tuple[str, str]  # the value, and a note under it (the change against the baseline)

MD_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
FAILED = ("infeasible", "no solution", "bad input", "error")
NOTHING = "collects nothing"
BAR = "#4a78b5"
BASE_BAR = "#9a9a9a"
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; padding: 0 1em;
       max-width: 90em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: .35em .6em; text-align: left;
         vertical-align: top; }
td:first-child { white-space: nowrap; }
td small { color: #666; }
.bad { color: #b00020; font-weight: 600; }
td.nothing { background: repeating-linear-gradient(-45deg, #d9d9d9 0 4px, #f4f4f4 4px 8px); }
dl.questions dt { font-weight: 600; } dl.questions dd { margin: 0 0 .4em 1.5em; }
.charts { display: flex; flex-wrap: wrap; gap: 1em; }
p.note { color: #555; max-width: 60em; }
"""


def _amount(value: float) -> str:
    return money(value, "").strip()


def _tonnes(value: float) -> str:
    return "–" if _missing(value) else f"{value:,.0f}"


def _points(value: float) -> str:
    return f"{100 * value:.1f} pt"


def _count(value: float) -> str:
    return "–" if _missing(value) else f"{value:.0f}"


# (header, column, format of a value, format of a change)
KPI_COLUMNS: tuple[tuple[str, str, Callable[[float], str], Callable[[float], str]], ...] = (
    ("new plants", "facilities_new", _count, _count),
    ("collection rate", "collection_rate", percent, _points),
    ("gap t", "uncollected_t", _tonnes, _tonnes),
    ("capacity t/yr", "capacity_t", _tonnes, _tonnes),
    ("utilisation", "utilisation", percent, _points),
    ("tonne-km", "tonne_km", _amount, _amount),
    ("CO2 t", "co2_t", _tonnes, _tonnes),
)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _signed(change: float, fmt: Callable[[float], str]) -> str:
    if _missing(change):
        return ""
    text = fmt(abs(change))
    sign = "±" if not re.search("[1-9]", text) else "+" if change > 0 else "−"
    return sign + text


def kpi_cells(table: pd.DataFrame) -> tuple[list[str], list[list[Cell]]]:
    """Return the headers and cells of a comparison table as a planner reads it.

    Under each scenario: its status, and whether the independent verifier confirmed it.
    Each KPI cell is its value and its change against the baseline; under the count of new
    plants, their names, provinces and sizes. The last column gives
    the marginal cost of binding policies, or the message of a run that failed.
    """
    currency = table["currency"].iloc[0] if len(table) else ""
    solvers = table["solver"].nunique() > 1
    headers = ["scenario", *(["solver"] if solvers else []), f"total cost {currency}/yr",
               *(h for h, *_ in KPI_COLUMNS), "marginal cost of binding policies / notes"]
    rows = []
    for row in table.itertuples(index=False):
        is_base = row.scenario == row.baseline
        cost_note = _change(row, "total_cost", _amount)
        if cost_note and not _missing(row.d_total_cost_pct):
            cost_note += ", " + _signed(row.d_total_cost_pct, percent)
        notes = "; ".join(text for text in (_first(row.marginal_costs), row.message) if text)
        marker = "baseline, " if is_base and row.scenario != "baseline" else ""
        rows.append([
            (row.scenario, marker + status_text(row)),
            *([(row.solver, "")] if solvers else []),
            (_amount(row.total_cost), cost_note),
            *((fmt(getattr(row, col)), "; ".join(filter(None, (
                _change(row, col, delta), row.new_plants if col == "facilities_new" else ""))))
              for _, col, fmt, delta in KPI_COLUMNS),
            (notes, ""),
        ])
    return headers, rows


def _change(row: tuple, column: str, fmt: Callable[[float], str]) -> str:
    """Format the change of ``column`` against the baseline (none on the baseline row)."""
    return "" if row.scenario == row.baseline else _signed(getattr(row, f"d_{column}"), fmt)


def _first(marginal_costs: str, most: int = 3) -> str:
    parts = marginal_costs.split("; ") if marginal_costs else []
    more = f"; {len(parts) - most} more in comparison.csv" if len(parts) > most else ""
    return "; ".join(parts[:most]) + more


def status_text(row: tuple) -> str:
    """Describe a run's status: ``optimal, verified``, ``infeasible``, ..."""
    if not row.has_solution:
        return row.status
    return f"{row.status}, {'verified' if row.verified else 'NOT VERIFIED'}"


def groups(table: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """Split the table by instance: (instance name, instance folder name, rows)."""
    return [(frame["instance"].iloc[0], str(folder), frame)
            for folder, frame in table.groupby("instance_dir", sort=False)]


def escape_md(text: str) -> str:
    """Escape text for a Markdown table cell.

    ``&``, ``<`` and ``>`` become HTML entities (no renderer reads them as markup); other
    punctuation that could format, link or break the table is backslash-escaped; line
    breaks become spaces.
    """
    text = html.escape(" ".join(str(text).split()), quote=False)
    return MD_SPECIAL.sub(r"\\\1", text)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """Render a Markdown table; a cell's note goes on a second line (``<br>``)."""
    def cell(value: str, note: str) -> str:
        return escape_md(value) + (f"<br>{escape_md(note)}" if note else "")

    lines = ["| " + " | ".join(escape_md(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(*c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


BENCH_NOTE = ("Each value is followed by its change against the instance's baseline. "
              "Gap: tonnes left uncollected. Capacity: of the last tier, t/yr. Marginal "
              "cost: what tightening a binding policy by one unit costs (the dual of its "
              "row in the LP with the build decisions fixed); for a collection mandate, "
              "the cost of the last tonne collected. 'verified': the independent verifier "
              "confirmed the run.")


def comparison_markdown(table: pd.DataFrame, provinces: pd.DataFrame) -> str:
    """Render the bench comparison as Markdown: questions, KPIs and provinces per instance.

    ``provinces`` is :func:`siting.studies.bench.province_table` of the same runs.
    """
    parts = ["# Bench comparison\n", f"{BENCH_NOTE}\n"]
    for name, folder, frame in groups(table):
        parts.append(f"## {escape_md(name)} ({escape_md(folder)})\n")
        questions = [f"- **{escape_md(s)}**: {escape_md(d)}"
                     for s, d in zip(frame["scenario"], frame["description"], strict=True) if d]
        if questions:
            parts.append("\n".join(questions) + "\n")
        parts.append(markdown_table(*kpi_cells(frame)))
        mine = provinces[provinces["instance_dir"] == folder]
        for solver in dict.fromkeys(mine["solver"]):
            parts.append(f"### {PROVINCES_TITLE}\n\n{PROVINCES_NOTE}\n")
            parts.append(markdown_table(*province_cells(mine[mine["solver"] == solver])))
    return "\n".join(parts)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]],
               links: Sequence[str] = ()) -> str:
    """Render an HTML table; a cell's note goes under its value; ``links``: a last column."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    head += "<th>run</th>" if links else ""
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td{_cell_class(value, note)}>{html.escape(value)}'
            + (f"<br><small>{html.escape(note)}</small>" if note else "") + "</td>"
            for value, note in row)
        cells += f"<td>{links[i]}</td>" if links else ""
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell_class(value: str, note: str) -> str:
    if note.startswith(NOTHING):
        return ' class="nothing"'
    bad = "NOT VERIFIED" in note or note in FAILED or value in FAILED
    return ' class="bad"' if bad else ""


def link(href: str, text: str) -> str:
    """Render an ``<a>`` element to a relative path, both escaped."""
    return f'<a href="{html.escape(quote(href))}">{html.escape(text)}</a>'


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float],
              texts: Sequence[str], highlight: int | None = None) -> str:
    """Draw a horizontal bar chart as inline SVG, one bar per label (missing: no bar).

    ``texts`` are printed after the bars; bar ``highlight`` (the baseline) is grey.
    """
    label_w, bar_w, text_w, step, top = 170, 220, 110, 22, 28
    known = [v for v in values if not _missing(v)]
    largest = max([abs(v) for v in known], default=0.0) or 1.0
    height = top + step * len(labels) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + text_w}" '
             f'height="{height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="16" font-weight="600" font-size="13">{html.escape(title)}</text>']
    for i, (label, value, text) in enumerate(zip(labels, values, texts, strict=True)):
        y = top + i * step
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
                     f"<title>{html.escape(label)}</title>{html.escape(short)}</text>")
        width = 0.0 if _missing(value) else bar_w * max(value, 0.0) / largest
        colour = BASE_BAR if i == highlight else BAR
        parts.append(f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="{step - 6}" '
                     f'fill="{colour}"/>')
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 13}" font-size="12">'
                     f"{html.escape(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


RATES = ("collection_rate", "utilisation")  # changes in percentage points, others in %
CHARTED = (("total cost", "total_cost"), *((h, c) for h, c, *_ in KPI_COLUMNS
                                           if c != "facilities_new"))


def delta_chart(title: str, labels: Sequence[str], changes: Sequence[float], unit: str) -> str:
    """Draw changes against the baseline as bars either side of zero (inline SVG).

    The axis is logarithmic in 1 + |change| and reaches just past the largest change, so
    that a 2 % change stays visible (about a quarter of the half-axis) beside a 50 % one.
    """
    label_w, half, text_w, step, top = 170, 110, 70, 22, 28
    known = [abs(c) for c in changes if not _missing(c)]
    reach = _nice(max(known, default=0.0))  # 1, 2, 5, 10, 20, ...
    zero = label_w + half
    height = top + step * len(labels) + 18
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + 2 * half + text_w}" '
             f'height="{height}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="16" font-weight="600" font-size="13">{html.escape(title)}</text>',
             f'<line x1="{zero}" y1="{top - 2}" x2="{zero}" y2="{height - 16}" stroke="#444"/>',
             f'<text x="{zero}" y="{height - 4}" font-size="10" text-anchor="middle" '
             f'fill="#555">0 {unit}</text>']

    def offset(change: float) -> float:
        return half * math.log1p(abs(change)) / math.log1p(reach)

    for tick in sorted({t for t in (10, 100, 1000) if t <= reach / 4} | {reach}):
        for sign, mark in ((1, "+"), (-1, "−")):
            x = zero + sign * offset(tick)
            parts.append(f'<line x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{height - 16}" '
                         'stroke="#ddd"/>'
                         f'<text x="{x:.1f}" y="{height - 4}" font-size="10" '
                         f'text-anchor="middle" fill="#555">{mark}{tick:g}</text>')
    for i, (label, change) in enumerate(zip(labels, changes, strict=True)):
        y = top + i * step
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="12">'
                     f"<title>{html.escape(label)}</title>{html.escape(short)}</text>")
        if _missing(change):
            parts.append(f'<text x="{zero + 4}" y="{y + 13}" font-size="12">n/a</text>')
            continue
        width = offset(change)
        x = zero if change >= 0 else zero - width
        parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{width:.1f}" height="{step - 6}" '
                     f'fill="{BAR}"/>')
        text = _signed(change, lambda v: f"{v:.1f} {unit}" if v < 10 else f"{v:,.0f} {unit}")
        parts.append(f'<text x="{zero + half + 4}" y="{y + 13}" font-size="12">'
                     f"{html.escape(text)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _nice(largest: float) -> float:
    """Return the least of 1, 2, 5, 10, 20, ... that is at least ``largest``."""
    reach = 1.0
    while reach < largest:
        reach = reach * 2.5 if str(reach)[0] == "2" else reach * 2
    return reach


def kpi_charts(frame: pd.DataFrame) -> str:
    """Draw each KPI's change against the baseline, one bar per run other than the baseline.

    Rates change in percentage points, other KPIs in % of the baseline's value.
    """
    others = frame[frame["scenario"] != frame["baseline"]]
    labels = [s if frame["solver"].nunique() == 1 else f"{s} / {p}"
              for s, p in zip(others["scenario"], others["solver"], strict=True)]
    charts = []
    for title, col in CHARTED:
        change = others[f"d_{col}"].astype(float)
        if col in RATES:
            changes, unit = 100 * change, "pt"
        else:
            base = others[col].astype(float) - change
            changes, unit = 100 * change / base.where(base != 0), "%"
        charts.append(delta_chart(f"{title}: change against baseline", labels,
                                  changes.tolist(), unit))
    return f'<div class="charts">{"".join(charts)}</div>'


def cost_rate_chart(rates: Sequence[float], costs: Sequence[float], labels: Sequence[str],
                    currency: str, title: str, step: bool = False) -> str:
    """Draw total cost against collection rate as inline SVG: labelled points, or a step.

    With ``step`` the points are a frontier: each point's cost is the least that reaches
    its rate, and it reaches every rate above the previous point's too. So the line rises
    at the previous point's rate and runs flat to the point: steps, not straight segments
    (no network between two points is known to cost what a straight line would say).
    Points that another point dominates (as much collected for less, e.g. within the
    solver's gap) are drawn hollow, off the line.
    """
    w, h, left, bottom, pad = 640, 380, 90, 50, 40
    xs, ys, labels = [float(x) for x in rates], [float(y) for y in costs], list(labels)
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    x0, x1 = (x0 - 0.01, x1 + 0.01) if x1 - x0 < 1e-9 else (x0, x1)
    y0, y1 = (y0 * 0.99 - 1, y1 * 1.01 + 1) if y1 - y0 < 1e-9 else (y0, y1)

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (w - left - pad)

    def py(y: float) -> float:
        return h - bottom - (y - y0) / (y1 - y0) * (h - bottom - pad - 10)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="{html.escape(title)}">',
             f'<text x="{left}" y="14" font-size="13" font-weight="600">{html.escape(title)}'
             "</text>",
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - pad}" y2="{h - bottom}" '
             'stroke="#444"/>',
             f'<line x1="{left}" y1="{pad + 10}" x2="{left}" y2="{h - bottom}" stroke="#444"/>']
    for k in range(5):
        x, y = x0 + (x1 - x0) * k / 4, y0 + (y1 - y0) * k / 4
        parts.append(f'<text x="{px(x):.1f}" y="{h - bottom + 16}" font-size="11" '
                     f'text-anchor="middle">{html.escape(percent(x))}</text>')
        parts.append(f'<text x="{left - 6}" y="{py(y) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{html.escape(money(y, currency))}</text>')
    parts.append(f'<text x="{(left + w - pad) / 2}" y="{h - 10}" font-size="12" '
                 'text-anchor="middle">collection rate</text>')
    on_frontier = [not step or not _dominated(i, xs, ys) for i in range(len(xs))]
    if step and xs:
        kept = sorted((x, y) for x, y, keep in zip(xs, ys, on_frontier, strict=True) if keep)
        corners = [kept[0]]
        for x, y in kept[1:]:
            corners += [(corners[-1][0], y), (x, y)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in corners)
        parts.append(f'<polyline class="step" points="{points}" fill="none" stroke="{BAR}" '
                     'stroke-width="2"/>')
    merged: dict[tuple[float, float], list[str]] = {}
    for x, y, label in zip(xs, ys, labels, strict=True):  # runs at one point share a label
        merged.setdefault((round(px(x) / 8), round(py(y) / 8)), []).append(label)  # 8 px
    shown = {key: ", ".join(n for n in names if n) for key, names in merged.items()}
    order = sorted(range(len(xs)), key=lambda i: on_frontier[i])  # frontier points on top
    at = [(px(xs[i]), py(ys[i])) for i in order]
    texts = [shown.pop((round(x / 8), round(y / 8)), "") for x, y in at]
    for (cx, cy), i in zip(at, order, strict=True):
        tip = f"{labels[i]}: " if labels[i] else ""
        note = "" if on_frontier[i] else " (dominated: another point collects as much for less)"
        paint = (f'fill="{BAR}"' if on_frontier[i]
                 else f'fill="white" stroke="{BAR}" stroke-width="1.5"')
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" {paint}><title>'
                     f"{html.escape(tip + percent(xs[i]))}: {html.escape(money(ys[i], currency))}"
                     f"{note}</title></circle>")
    places = place_labels(at, texts, (left, 20, w, h - bottom))
    for (cx, cy), text, place in zip(at, texts, places, strict=True):
        if place is None:
            continue  # no free room near the point: its name shows on hover
        if place.leader:
            parts.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{place.x:.1f}" '
                         f'y2="{place.y - 4:.1f}" stroke="#999" stroke-width="0.8"/>')
        parts.append(f'<text x="{place.x:.1f}" y="{place.y:.1f}" font-size="11" '
                     f'text-anchor="{place.anchor}">{html.escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _dominated(i: int, xs: Sequence[float], ys: Sequence[float]) -> bool:
    """Tell whether another point collects at least as much as point ``i`` for less.

    Rates within 1e-9 and costs within a millionth are the same (solver noise).
    """
    def less(a: float, b: float) -> bool:
        return a < b - 1e-6 * abs(b)

    return any((xs[j] >= xs[i] - 1e-9 and less(ys[j], ys[i]))
               or (xs[j] > xs[i] + 1e-9 and not less(ys[i], ys[j]))
               for j in range(len(xs)) if j != i)


def questions_html(frame: pd.DataFrame) -> str:
    """List each scenario's question (its description), where it has one."""
    items = "".join(f"<dt>{html.escape(s)}</dt><dd>{html.escape(d)}</dd>"
                    for s, d in zip(frame["scenario"], frame["description"], strict=True) if d)
    return f"<dl class='questions'>{items}</dl>" if items else ""


def province_cells(provinces: pd.DataFrame) -> tuple[list[str], list[list[Cell]]]:
    """Return a table of tonnes collected per province (rows) and scenario (columns).

    Under each value: its change against the baseline, or that the province collects
    nothing. Provinces come in order of falling supply.
    """
    scenarios = list(dict.fromkeys(provinces["scenario"]))
    supply = provinces.groupby("province", sort=False)["supply_t"].max()
    cells = provinces.set_index(["province", "scenario"], drop=False)
    rows = []
    for province in supply.sort_values(ascending=False, kind="stable").index:
        row: list[Cell] = [(province, f"supply {_tonnes(supply[province])} t")]
        for scenario in scenarios:
            if (province, scenario) not in cells.index:
                row.append(("–", ""))
                continue
            cell = cells.loc[(province, scenario)]
            base = cell["scenario"] == cell["baseline"]
            note = NOTHING if cell["collects_nothing"] else (
                "" if base else _signed(cell["d_collected_t"], _tonnes))
            row.append((_tonnes(cell["collected_t"]), note))
        rows.append(row)
    return ["province", *scenarios], rows


PROVINCES_TITLE = "Tonnes collected per province"
PROVINCES_NOTE = "Under each value: its change against the baseline, or 'collects nothing'."


def province_section(provinces: pd.DataFrame) -> str:
    """Render the per-province table of one instance, or nothing without provinces."""
    if provinces.empty:
        return ""
    return (f"<h3>{PROVINCES_TITLE}</h3><p class='note'>{PROVINCES_NOTE} Hatched: the "
            "province collects nothing.</p>" + html_table(*province_cells(provinces)))


def page(title: str, body: str) -> str:
    """Render a self-contained HTML page (no script, no external resource)."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{GENERATOR}'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def comparison_html(table: pd.DataFrame, provinces: pd.DataFrame) -> str:
    """Render the bench comparison page.

    Per instance: each scenario's question, the KPI table with run links, the change of
    each KPI against the baseline, cost against collection rate, and the tonnes collected
    per province (``provinces``: :func:`siting.studies.bench.province_table`).
    """
    sections = [f"<h1>Bench comparison</h1><p class='note'>{html.escape(BENCH_NOTE)}</p>"]
    for name, folder, frame in groups(table):
        links = [" · ".join([link(f"{run}/", "folder")]
                            + ([link(f"{run}/map.html", "map")] if has_map else []))
                 for run, has_map in zip(frame["run"], frame["map"], strict=True)]
        solved = frame[frame["has_solution"]]
        mine = provinces[provinces["instance_dir"] == folder]
        sections.append(
            f"<section><h2>{html.escape(name)} <small>({html.escape(folder)})</small></h2>"
            f"{questions_html(frame)}{html_table(*kpi_cells(frame), links)}"
            f"{kpi_charts(frame)}"
            + cost_rate_chart(solved["collection_rate"], solved["total_cost"],
                              solved["scenario"], frame["currency"].iloc[0],
                              "total cost / yr against collection rate")
            + "".join(province_section(mine[mine["solver"] == solver])
                      for solver in dict.fromkeys(mine["solver"]))
            + "</section>")
    return page("Bench comparison", "".join(sections))


def pareto_cells(table: pd.DataFrame) -> tuple[list[str], list[list[Cell]]]:
    """Return the headers and cells of a Pareto frontier table (:mod:`siting.studies.pareto`)."""
    currency = table["currency"].iloc[0] if len(table) else ""
    headers = ["point", "target rate", "collection rate", f"total cost {currency}/yr",
               f"{currency} per extra t", "status", "notes"]
    rows = [[(row.label, ""), (percent(row.target_rate), ""), (percent(row.collection_rate), ""),
             (_amount(row.total_cost), ""), (_amount(row.cost_per_extra_t), ""),
             (status_text(row), ""), (row.message, "")]
            for row in table.itertuples(index=False)]
    return headers, rows


def pareto_svg(table: pd.DataFrame, title: str) -> str:
    """Draw the frontier as the step function it is: total cost against collection rate."""
    solved = table[table["has_solution"]].sort_values("collection_rate")
    currency = table["currency"].iloc[0] if len(table) else ""
    return cost_rate_chart(solved["collection_rate"], solved["total_cost"],
                           [""] * len(solved), currency, title, step=True)


PARETO_NOTE = ("Epsilon-constraint frontier: the least total cost at each collection rate. "
               "The first point is the scenario's own optimum; the last collects as much as "
               "the network can (least gap, then least cost); the points between require "
               "evenly spaced minimum collection rates. 'Per extra t': the change of total "
               "cost over the change of tonnes collected since the previous point. The line "
               "is a step: a point's cost buys every rate up to its own. A hollow point is "
               "dominated (another collects as much for less, e.g. within the solver's gap).")


def pareto_html(table: pd.DataFrame, title: str) -> str:
    """Render the frontier page: the chart, the points, links to their run folders."""
    links = [link(f"{run}/", "folder") for run in table["run"]]
    body = (f"<h1>{html.escape(title)}</h1><p class='note'>{html.escape(PARETO_NOTE)}</p>"
            f"{pareto_svg(table, 'total cost against collection rate')}"
            f"{html_table(*pareto_cells(table), links)}")
    return page(title, body)
