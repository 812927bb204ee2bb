"""Shared helpers: the machine, cached synthetic instances, and one measurement per process."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import highspy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"  # one JSON per section; RESULTS.md is rendered from them
CACHE = Path(os.environ.get("SITING_BENCH_CACHE", "/tmp/siting-bench"))
SHARED = ROOT.parent / "shared"


def machine() -> dict[str, str]:
    """CPU model, cores, RAM and the versions that decide the figures."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    ram = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 2**20
    libs = {name: version(name) for name in ("siting", "pyomo", "numpy", "scipy")}
    return {"cpu": cpu, "cores": str(os.cpu_count()), "ram": f"{ram:.1f} GiB",
            "python": platform.python_version(), "highs": highspy.Highs().version(), **libs}


def synthetic(regions: int, sites: int, seed: int = 0) -> Path:
    """A synthetic instance folder, generated once and cached."""
    from siting.instance.generate import generate_instance

    folder = CACHE / f"synthetic-{regions}x{sites}-{seed}"
    if not (folder / "instance.toml").is_file():
        generate_instance(folder, regions=regions, sites=sites, seed=seed)
    return folder


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_subprocess(module: str, *args: object, timeout: float = 3600) -> dict:
    """Run ``python -m MODULE ARGS`` and return the JSON it prints on its last line.

    Each measurement runs in a fresh process so that its peak memory is its own and
    HiGHS's process-wide settings do not leak between runs.
    """
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}  # this checkout
    proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{module} {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@contextmanager
def busy(hogs: int) -> Iterator[None]:
    """Keep ``hogs`` CPU-bound processes running for the duration of the block."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def run_grid(section: str, module: str, grid: list[dict], cases: Iterable[str], cap: float,
             prepare: Callable[..., object], slack: float) -> dict:
    """Run every case on every point of ``grid``, each in its own process (``cap`` s limit).

    ``prepare(**point)`` writes a point's instance first; a failed run is a row saying so;
    the rows so far are saved after every one, so a session cut short keeps them.
    """
    rows: list[dict] = []
    for point in grid:
        prepare(**point)
        for case in cases:
            try:
                rows.append(in_subprocess(module, case, *point.values(), cap,
                                          timeout=cap * 3 + slack))
            except (RuntimeError, TimeoutError) as exc:
                rows.append({"case": case, **point,
                             "status": f"failed: {str(exc).splitlines()[-1][:200]}"})
            save(section, {"cap_s": cap, "rows": rows})
    return {"cap_s": cap, "rows": rows}


def save(section: str, data: object) -> None:
    """Store a section's results as JSON."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{section}.json").write_text(json.dumps(data, indent=1))


def load(section: str) -> object | None:
    """A section's stored results, or None."""
    path = RESULTS / f"{section}.json"
    return json.loads(path.read_text()) if path.is_file() else None
