"""Near-optimal alternatives: within the cost slack by the verifier's numbers, and different."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from siting.studies.alternatives import alternatives
from siting.studies.robust import network_of
from siting.verify.checks import verify_run
from support import DEMO, cli

SLACK = 0.05


def test_alternatives_cost_at_most_the_slack_more_and_differ(tmp_path: Path):
    with ThreadPoolExecutor(1) as pool:
        table = alternatives(DEMO, tmp_path, count=2, slack=SLACK, solver="highs-quick",
                             executor=pool)
    assert list(table["run"]) == ["optimum", "alternative-1", "alternative-2"]
    costs, networks = {}, {}
    for run in table["run"]:
        report = verify_run(tmp_path / run)
        assert report.ok, report.problems
        costs[run] = json.loads((tmp_path / run / "solution.json").read_text())["kpis"][
            "total_cost"]
        networks[run] = network_of(tmp_path / run)
    optimum = networks["optimum"]
    for run in ("alternative-1", "alternative-2"):
        assert costs[run] <= (1 + SLACK) * costs["optimum"] * (1 + 1e-9)
        assert set(networks[run]) != set(optimum)  # other sites, not only other sizes
    assert set(networks["alternative-1"]) != set(networks["alternative-2"])
    assert (table["differs_from_optimum"].iloc[1:] > 0).all()
    assert table["verified"].all()
    assert (tmp_path / "alternatives.csv").is_file()


@pytest.mark.parametrize("slack", ["two", "150%", "-1%"])
def test_bad_slack_is_rejected_before_solving(tmp_path: Path, slack: str):
    result = cli("alternatives", DEMO, "--slack", slack, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "slack" in result.output.lower()
    assert not (tmp_path / "out").exists()
