"""Compile share: CPU seconds of Pyomo's standard-form compile in one solve, before and after.

``python -m benchmarks.compile_share``. The same solve (the issue's 1000 x 100 capacitated
case at capacity ratio 2, the quick profile) runs twice in this run, each in a fresh
process: once on this checkout (one compiled HiGHS model per solve) and once on the layout
commit before it (``BASELINE``: the lean-linking LP, the MIP and the marginal-cost LP each
compiled the model again), checked out into a temporary git worktree. Pyomo's
``LinearStandardFormCompiler.write`` is wrapped to count its calls and their CPU seconds.
Writes ``benchmarks/results/compile_share.json`` and prints a Markdown table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from siting.instance.generate import generate_instance

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "d4fc74c"  # the package laid out by stage, before compile-once
PROBE = """
import json, sys, time
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler
calls, cpu, write = [0], [0.0], LinearStandardFormCompiler.write
def counted(self, *args, **kwargs):
    t = time.process_time()
    try:
        return write(self, *args, **kwargs)
    finally:
        cpu[0] += time.process_time() - t
        calls[0] += 1
LinearStandardFormCompiler.write = counted
t0 = time.process_time()
try:
    from siting.engine.pipeline import solve
except ImportError:
    from siting.engine.run import solve
s = solve(sys.argv[1], None, "highs-quick")
print(json.dumps({"compiles": calls[0], "compile_cpu_s": cpu[0],
                  "solve_cpu_s": time.process_time() - t0, "objective": s.meta["objective"],
                  "status": s.meta["status"], "gap": s.meta["mip_gap"]}))
"""


def measure(src: Path, instance: Path) -> dict:
    """Run the probe on the package in ``src``; return what it printed."""
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-c", PROBE, str(instance)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        instance = generate_instance(Path(tmp) / "g", regions=1000, sites=100, streams=1,
                                     seed=3, capacity_ratio=2, single_size=True)
        before = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
                        str(before), BASELINE], check=True)
        try:
            rows = {"before": measure(before / "src", instance),
                    "after": measure(ROOT / "src", instance)}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(before)], check=True)
    return {"baseline": BASELINE, "rows": rows}


def table(result: dict) -> str:
    lines = ["| code | compiles | compile CPU s | solve CPU s | compile share | status, gap |",
             "|---|---:|---:|---:|---:|---|"]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['compiles']} | {r['compile_cpu_s']:.1f} | "
                     f"{r['solve_cpu_s']:.1f} | {r['compile_cpu_s'] / r['solve_cpu_s']:.0%} | "
                     f"{r['status']}, {r['gap']:.2%} |")
    before, after = result["rows"]["before"], result["rows"]["after"]
    ratio = after["compile_cpu_s"] / before["compile_cpu_s"]
    lines.append(f"\ncompile CPU after / before: {ratio:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    measured = run()
    (ROOT / "benchmarks" / "results" / "compile_share.json").write_text(
        json.dumps(measured, indent=1) + "\n")
    print(table(measured))
