"""Import J.E. Beasley's OR-Library capacitated warehouse location problems (cap41 ... cap134).

The file is a stream of whitespace-separated numbers: ``m n``; ``m`` pairs of warehouse
capacity and fixed cost; then for each customer its demand ``d_j`` and the ``m`` costs
``c_ij`` of serving *all* of its demand from warehouse ``i``. Demand may be split.

The mapping to an instance folder keeps the objective identical:

- customers become regions (points on a dummy grid; distances come from the matrix) with
  supply ``d_j`` of one stream whose collection is mandatory;
- warehouses become candidate plant sites, each allowed one size (its capacity and fixed
  cost; warehouses with equal capacity and fixed cost share a size);
- ``km = c_ij / d_j`` in ``distances.csv`` with ``transport_cost = 1`` and no processing
  cost, so shipping ``x`` tonnes costs ``x * c_ij / d_j``.

A customer with zero demand keeps its region with zero supply and no arcs: it contributes
nothing to the objective (the usual convention, ``c_ij = d_j * unit cost``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from siting.errors import InputError
from siting.folders import NEW, write_folder
from siting.inputs import regular_file

GRID = 10  # dummy points are laid out on a GRID-wide grid


@dataclass(frozen=True)
class CapProblem:
    """A capacitated warehouse location problem as arrays (warehouses ``i``, customers ``j``)."""

    name: str
    capacity: np.ndarray  # (m,)
    fixed: np.ndarray  # (m,)
    demand: np.ndarray  # (n,)
    cost: np.ndarray  # (n, m): cost of serving all of customer j from warehouse i


def read_orlib_cap(path: str | Path) -> CapProblem:
    """Read an OR-Library ``cap*.txt`` file.

    Parameters
    ----------
    path
        The file; numbers may wrap across lines.

    Returns
    -------
    CapProblem
        Named after the file stem.

    Raises
    ------
    InputError
        When the file is missing, holds a non-number, or has the wrong number of values.
    """
    path = Path(path)
    regular_file(path)
    tokens = path.read_text(encoding="utf-8", errors="replace").split()
    bad = next((t for t in tokens if not _is_finite_number(t)), None)
    if bad is not None:
        raise InputError(path, None, f"expected finite numbers only, found {bad!r}")
    numbers = np.array(tokens, dtype=float)
    if len(numbers) < 2:
        raise InputError(path, None, "expected 'm n' (warehouses, customers) first")
    m, n = int(numbers[0]), int(numbers[1])
    expected = 2 + 2 * m + n * (1 + m)
    if m < 1 or n < 1 or len(numbers) != expected:
        raise InputError(path, None, f"{len(numbers)} numbers; m={m} warehouses and n={n} "
                         f"customers need {expected}")
    warehouses = numbers[2:2 + 2 * m].reshape(m, 2)
    customers = numbers[2 + 2 * m:].reshape(n, 1 + m)
    if (warehouses[:, 0] <= 0).any() or (numbers[2:] < 0).any():
        raise InputError(path, None, "capacities must be positive, costs and demands >= 0")
    return CapProblem(path.stem, warehouses[:, 0], warehouses[:, 1], customers[:, 0],
                      customers[:, 1:])


def _is_finite_number(token: str) -> bool:
    try:
        return math.isfinite(float(token))
    except ValueError:
        return False


def write_cap_instance(problem: CapProblem, out: str | Path) -> Path:
    """Write ``problem`` as an instance folder (see the module docstring) and return it.

    Parameters
    ----------
    problem
        The problem read by :func:`read_orlib_cap`.
    out
        The folder to write, atomically: absent or empty.

    Raises
    ------
    siting.errors.InputError
        If ``out`` exists and is not an empty folder.
    """
    return write_folder(out, lambda folder: _write(problem, folder), NEW)


def _write(problem: CapProblem, out: Path) -> None:
    m, n = len(problem.capacity), len(problem.demand)
    region_ids = [f"c{j + 1}" for j in range(n)]
    site_ids = [f"w{i + 1}" for i in range(m)]
    pairs = list(zip(problem.capacity.tolist(), problem.fixed.tolist(), strict=True))
    size_of = {pair: f"k{k + 1}" for k, pair in enumerate(dict.fromkeys(pairs))}
    pd.DataFrame({"id": region_ids, **_grid(n, 100.0), "supply": problem.demand}).to_csv(
        out / "regions.csv", index=False)
    pd.DataFrame({"id": site_ids, "tier": "warehouse", **_grid(m, 110.0),
                  "sizes": [size_of[p] for p in pairs]}).to_csv(out / "sites.csv", index=False)
    served = np.flatnonzero(problem.demand > 0)
    km = problem.cost[served] / problem.demand[served, None]
    pd.DataFrame({"origin": np.repeat(np.array(region_ids)[served], m),
                  "destination": np.tile(site_ids, len(served)),
                  "km": km.ravel()}).to_csv(out / "distances.csv", index=False)
    sizes = ",\n".join(f'  {{ name = "{name}", capacity = {cap!r}, fixed_cost = {fixed!r} }}'
                       for (cap, fixed), name in size_of.items())
    (out / "instance.toml").write_text(f"""[instance]
name = "OR-Library {problem.name}"
description = "Beasley's capacitated warehouse location problem {problem.name}, imported"
currency = "cost units"

[layers]
regions = "regions.csv"
sites = "sites.csv"
distances = "distances.csv"

[distance]
method = "matrix"    # km = c_ij / d_j: the cost per unit of demand served

[streams.demand]
transport_cost = 1.0  # mandatory collection: every customer is fully served

[tiers.warehouse]
processing_cost = 0
sizes = [
{sizes},
]
""")
    zero = n - len(served)
    (out / "SOURCES.md").write_text(
        f"# {problem.name}\n\nImported by `siting import orlib-cap` from J.E. Beasley's "
        "OR-Library (capacitated warehouse location; Beasley 1988, EJOR 33, 314-325).\n"
        f"{m} warehouses, {n} customers"
        + (f", {zero} with zero demand (kept without arcs)" if zero else "") + ".\n"
        "Coordinates are a dummy grid; distances.csv holds c_ij / d_j.\n")


def _grid(n: int, lon0: float) -> dict[str, np.ndarray]:
    k = np.arange(n)
    return {"lon": lon0 + 0.1 * (k % GRID), "lat": 30.0 + 0.1 * (k // GRID)}


def import_orlib_cap(path: str | Path, out: str | Path) -> Path:
    """Read an OR-Library capacitated warehouse file and write it as an instance folder."""
    return write_cap_instance(read_orlib_cap(path), out)
