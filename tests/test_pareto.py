"""siting pareto: an epsilon-constraint frontier of verified runs, monotone in cost and rate."""

from __future__ import annotations

import re
from itertools import pairwise

import pandas as pd

from siting.studies.pareto import pareto
from siting.verify.checks import verify_run
from support import cli
from test_bench import small_instance


def test_pareto_points_are_verified_runs_on_a_monotone_frontier(tmp_path):
    instance = small_instance(tmp_path / "small")
    out = tmp_path / "frontier"
    table = pareto(instance, out, points=4, jobs=2)
    labels = list(table["label"])
    assert labels[0] == "cheapest"
    assert labels[-1] == "most-collected"
    assert [label[:5] for label in labels[1:-1]] == ["rate-", "rate-"]
    assert table["verified"].all()
    for run in table["run"]:
        assert verify_run(out / run).ok
    rates, costs = table["collection_rate"].to_numpy(), table["total_cost"].to_numpy()
    targets = table["target_rate"].to_numpy()
    assert rates[0] < targets[1] < targets[2] < rates[-1] <= 1 + 1e-9
    assert (rates[1:-1] >= targets[1:-1] - 1e-9).all()
    assert (rates[1:] >= rates[:-1] - 1e-9).all()
    assert (costs[1:] >= costs[:-1] * (1 - 1e-4)).all()  # within the profile's MIP gap
    assert (table["cost_per_extra_t"].iloc[1:] > 0).all()
    assert pd.read_csv(out / "pareto.csv")["label"].tolist() == table["label"].tolist()
    svg = (out / "pareto.svg").read_text()
    assert svg.count("<circle") == 4
    step = re.search(r'class="step" points="([^"]+)"', svg)[1].split()
    on_line = 4 - svg.count('fill="white"')  # hollow: dominated points, off the line
    assert len(step) == 2 * on_line - 1 >= 3
    corners = [tuple(map(float, c.split(","))) for c in step]
    assert all(a[0] == b[0] or a[1] == b[1] for a, b in pairwise(corners))  # no slope
    assert "<script" not in (out / "pareto.html").read_text()

    result = cli("pareto", instance, "--points", "4", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.count("up to date, skipped") == 4
    assert "most-collected" in result.output
