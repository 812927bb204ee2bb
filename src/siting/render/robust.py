"""The pages of a robust run: a site-selection map, and a report page with charts.

The map colours each site by the share of samples that select it; the report page holds
the site table, the cost distribution and the regret table (inline SVG, no script).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from siting.folders import write_atomic
from siting.render import layers as ly
from siting.render import legend as lg
from siting.render import style
from siting.render.maps import bounds
from siting.render.page import add_layers, new_map, write_page
from siting.render.report import bar_chart, html_table, link, page
from siting.render.run import load_run
from siting.studies.robust import ROBUST_SHARE, Robust, short_name

SHARE_RAMP = style.UTILISATION_RAMP
MAP, PAGE = "robust-map.html", "robust.html"
COST_BINS = 12
SHOWN_NETWORKS = 15


def frequency_map(result: Robust, run_dir: Path, out: Path, title: str,
                  tiles: str = "cartodb", cdn: bool = False) -> Path:
    """Draw the sites coloured by the share of samples that select them.

    ``run_dir`` is a run folder of the same instance (the baseline) that gives the region
    outlines; ``tiles`` and ``cdn`` are as in :func:`siting.render.maps.render_map`.
    """
    run = load_run(run_dir)
    m = new_map(title, bounds([run]), tiles, None, cdn)
    shapes = ly.tier_shapes(run.tiers)
    sites = result.frequency.merge(run.facilities[["id", "lon", "lat"]], on="id")
    features = []
    for row in ly.records(sites):
        share = row["selected"]
        sizes = [(f"  at size {c.removeprefix('size_')}", style.percent(row[c]))
                 for c in sites.columns if c.startswith("size_") and row[c] > 0]
        pop = ly.popup(row["name"], [("Selected in", style.percent(share)), *sizes,
                                     ("Mean throughput", f"{style.tonnes(row['mean_throughput'])}"
                                                         "/yr"), ("Verdict", row["verdict"])],
                       f"{row['id']} · {row['province']} · {row['tier']}")
        tip = ly.tooltip(row["name"], f"selected in {style.percent(share)} of samples")
        icon = ly.icon(shapes[row["tier"]], 12 + 10 * share, SHARE_RAMP(share),
                       bool(row["existing"]), faint=share == 0)
        features.append(ly.feature(ly.point(row["lon"], row["lat"]), tip, pop, icon=icon))
    add_layers(m, [ly.FeatureLayer("Supply regions", ly.region_features(
                       run, ["#f4f4f4"] * len(run.regions), ly.Scales.of([run])), "region"),
                   ly.FeatureLayer("Sites by share of samples selecting them", features,
                                   "facility")])
    m.add_child(lg.Panel(f"<h3>{html.escape(title)}</h3>", "topleft", "siting-title"))
    m.add_child(lg.legend_panel([("Sites", [
        lg.ramp_bar("share of samples selecting the site", SHARE_RAMP, "0 %", "100 %"),
        lg.symbol_row(ly.svg_shape("circle", 18, "#dddddd", "#222222", 1.2),
                      "existing facility (selected: receives tonnes)"),
        lg.symbol_row(ly.svg_shape("circle", 18, "#dddddd", "#222222", 1.2, new=True),
                      "candidate (selected: built)")])]))
    return write_page(m, out, cdn)


def robust_html(result: Robust, title: str, currency: str) -> str:
    """Render the report page of a robust run (it embeds :data:`MAP` from the same folder)."""
    freq = result.frequency[result.frequency["selected"] > 0]
    sizes = [c for c in freq.columns if c.startswith("size_")]
    site_rows = [[(str(r["name"]), str(r["id"])), (str(r["province"]), str(r["tier"])),
                  (style.percent(r["selected"]), ", ".join(
                      f"{c.removeprefix('size_')} {style.percent(r[c])}" for c in sizes
                      if r[c] > 0)),
                  (f"{style.tonnes(r['mean_throughput'])}/yr", ""), (str(r["verdict"]), "")]
                 for r in freq.to_dict("records")]
    regret = result.regret.head(SHOWN_NETWORKS)
    regret_rows = [[(r["sites"], f"built by {short_name(r['network'])}"),
                    (str(r["sites_built"]), ""),
                    (style.money(r["expected_cost"], currency), ""),
                    (style.money(r["worst_cost"], currency), ""),
                    (style.money(r["mean_regret"], currency), ""),
                    (style.money(r["max_regret"], currency), ""),
                    (str(r["infeasible"]), "")] for r in regret.to_dict("records")]
    costs = result.costs["total_cost"].dropna().to_numpy()
    solved = len(costs)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='note'>{solved} of {len(result.costs)} samples solved and "
        f"{int(result.costs['verified'].sum())} verified. A site is <b>robust</b> when "
        f"selected (built, or an existing facility receiving tonnes) in at least "
        f"{ROBUST_SHARE:.0%} of the samples, a <b>bet</b> when selected in fewer. Files: "
        + ", ".join(link(f"{n}.csv", f"{n}.csv")
                    for n in ("frequency", "costs", "regret", "regret_matrix")) + ".</p>",
        f"<iframe src='{MAP}' title='site selection map' style='width:100%;height:44em;"
        "border:1px solid #ccc'></iframe>",
        "<h2>Sites selected in at least one sample</h2>",
        html_table(["site", "province / tier", "selected (sizes)", "mean throughput",
                    "verdict"], site_rows),
        "<h2>Cost distribution</h2>", _histogram(costs, currency),
        "<h2>Regret of each candidate network</h2>",
        "<p class='note'>Each network (the baseline's, and each distinct sample's, named by the "
        "runs that built it) is evaluated on every sample with its sites fixed and the flows "
        "re-optimised. Regret on a sample: its cost minus the least cost of any network "
        "there.</p>",
        html_table(["network (the runs that built it)", "sites built", "expected cost",
                    "worst cost", "mean regret", "max regret", "infeasible samples"], regret_rows),
        bar_chart("largest regret", [short_name(n) for n in regret["network"]],
                  regret["max_regret"].tolist(),
                  [style.money(v, currency) for v in regret["max_regret"]]),
    ]
    return page(title, "".join(body))


def write_report(result: Robust, out: Path, title: str, currency: str,
                 tiles: str = "cartodb", cdn: bool = False) -> list[Path]:
    """Write :data:`PAGE` and :data:`MAP` into ``out`` (the robust run's folder)."""
    out = Path(out)
    return [frequency_map(result, out / "baseline", out / MAP, title, tiles, cdn),
            write_atomic(out / PAGE, robust_html(result, title, currency))]


def _histogram(costs: np.ndarray, currency: str) -> str:
    if not len(costs):
        return "<p>No sample was solved.</p>"
    counts, edges = np.histogram(costs, bins=min(COST_BINS, max(1, len(np.unique(costs)))))
    labels = [f"{style.money(a, '').strip()} – {style.money(b, '').strip()}"
              for a, b in zip(edges[:-1], edges[1:], strict=True)]
    low, median, high = (html.escape(style.money(q, currency))
                         for q in pd.Series(costs).quantile([0.05, 0.5, 0.95]))
    note = (f"<p class='note'>Total cost per year ({html.escape(currency)}): 5th percentile "
            f"{low}, median {median}, 95th percentile {high}.</p>")
    return note + bar_chart("samples by total cost / yr", labels, counts.tolist(),
                            [str(c) for c in counts])
