"""Where to build collection and recycling facilities for retired EV batteries, and how big.

The Python API (README "Python API")::

    from siting import load_instance, solve
    solution = solve(load_instance("instances/demo"), "mandate-95")
    solution.kpis["total_cost"], solution.to_geodataframe("facilities")
    solution.explore()  # a folium map, shown inline in a notebook

Names are imported on first use, so ``import siting`` (and ``siting --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import version
from typing import TYPE_CHECKING

__version__ = version("siting")

_HOMES = {
    "solve": "siting.engine.pipeline",
    "load_instance": "siting.instance.load",
    "Instance": "siting.instance.load",
    "load_scenario": "siting.scenario",
    "Scenario": "siting.scenario",
    "load_profile": "siting.engine.highs",
    "SolverProfile": "siting.engine.highs",
    "Solution": "siting.results.solution",
    "write_run": "siting.results.runfiles",
    "verify_run": "siting.verify",
}
__all__ = ["Instance", "Scenario", "Solution", "SolverProfile", "__version__", "load_instance",
           "load_profile", "load_scenario", "solve", "verify_run", "write_run"]

if TYPE_CHECKING:
    from siting.engine.highs import SolverProfile, load_profile
    from siting.engine.pipeline import solve
    from siting.instance.load import Instance, load_instance
    from siting.results.runfiles import write_run
    from siting.results.solution import Solution
    from siting.scenario import Scenario, load_scenario
    from siting.verify import verify_run


def __getattr__(name: str) -> object:
    """Import a public name from its module on first use."""
    if name not in _HOMES:
        raise AttributeError(f"module 'siting' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
