"""Start-up of the console: ``siting --help`` against the interpreter and the full engine.

Each command runs in a fresh interpreter, the commands interleaved ``repeats`` times so
that a busy machine slows them alike; the median wall time of each is kept. Importing
``siting.engine.pipeline`` (the engine: pandas, Pyomo, HiGHS...) is what ``siting --help`` cost
before the CLI imported them lazily.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from benchmarks.common import ROOT

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "import typer, rich": ["-c", "import typer, rich.console"],
    "siting --help": ["-m", "siting", "--help"],
    "import siting.engine.pipeline (the engine)": ["-c", "import siting.engine.pipeline"],
}


def run(repeats: int = 7) -> dict:
    """Return the median wall time of each command, in seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for _ in range(repeats):
        for label, args in COMMANDS.items():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)
            times[label].append(time.perf_counter() - t0)
    return {"repeats": repeats,
            "rows": [{"command": label, "median_s": statistics.median(values)}
                     for label, values in times.items()]}
