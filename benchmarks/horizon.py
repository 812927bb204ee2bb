"""Planning horizon: the china-2025-2035 model with six periods against one (2035 alone).

The one-period instance is the shipped one with ``[periods] years = [2035]`` and the 2035
rows of its supply table, written to the benchmark cache. Both are solved in this process,
back to back, on the default profile.
"""

from __future__ import annotations

import re

import pandas as pd

from benchmarks.common import CACHE, ROOT
from siting.engine.pipeline import solve

HORIZON = ROOT / "instances" / "china-2025-2035"


def one_period(year: int = 2035) -> str:
    """Write the horizon instance cut to the one period ``year``; return its folder."""
    folder = CACHE / f"china-{year}-one-period"
    (folder / "scenarios").mkdir(parents=True, exist_ok=True)
    text = (HORIZON / "instance.toml").read_text()
    text = re.sub(r'"\.\./', f'"{HORIZON.parent}/', text)  # layer paths made absolute
    text = re.sub(r"years = \[[^\]]*\]", f"years = [{year}]", text)
    text = re.sub(r"weights = \[[^\]]*\]", "weights = [1]", text)
    (folder / "instance.toml").write_text(text)
    supply = pd.read_csv(HORIZON / "supply_by_year.csv")
    supply[supply["year"] == year].to_csv(folder / "supply_by_year.csv", index=False)
    (folder / "scenarios" / "baseline.toml").write_text(
        (HORIZON / "scenarios" / "baseline.toml").read_text())
    return str(folder)


def run() -> dict:
    """Solve one period and six periods; return model sizes, timings and objectives."""
    rows = []
    for label, folder in (("1 period (2035)", one_period()), ("6 periods", str(HORIZON))):
        solution = solve(folder, "baseline", "highs")
        rows.append({"model": label, **solution.meta["model_size"],
                     **solution.meta["timings"], "status": solution.meta["status"],
                     "objective": solution.meta["objective"]})
    return {"rows": rows}
