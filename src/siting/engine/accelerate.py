"""Steps that make the full MIP faster without changing what its solve proves.

Both run before HiGHS branches on the full (unpruned, or as the profile prunes it) model:

- :func:`warm_start`: the same problem restricted to each region's few nearest sites is
  solved first. It is a restriction, so its network is feasible for the full model and
  becomes HiGHS's MIP start; with such a start HiGHS's own sub-MIP heuristics (RINS, RENS
  and the like, which re-solve the large model many times) cost more than they find, so
  they are switched off unless the profile sets them.
- :func:`drop_unused_links`: the strong linking rows ``x <= q * open`` are valid
  inequalities, not part of the problem's definition (the capacity rows already close a
  site's flows). Rows whose dual is zero in the LP relaxation are dropped: the root LP
  keeps the same optimum (the LP's solution and duals stay optimal without them) and every
  node LP is far smaller. HiGHS's bound stays a bound of the full problem.

Measured on 1000 customers x 100 sites at capacity ratio 2 (``benchmarks/capacitated.py``):
100,000 linking rows, 956 with a non-zero dual.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from siting.engine.highs import SolverProfile, reporting, solve_model, solve_relaxation
from siting.errors import SolverError
from siting.instance.network import Network
from siting.instance.prune import prune_nearest
from siting.model.core import build_model

AUTO_FLOWS = 20_000  # the steps run on networks of at least this many flows
STEP_SHARE = 0.25  # share of the profile's time limit each step may take
HEURISTICS_OFF = {  # HiGHS's sub-MIP and start heuristics, off when a warm start is given
    "mip_heuristic_effort": 0.0, "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False, "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False}


@dataclass(frozen=True)
class Choices:
    """The build and keep decisions of a solved model, by index.

    The indices are the same in every model of the same sites, pruned or not.
    """

    builds: dict[int, float]
    keeps: dict[int, float]

    @classmethod
    def of(cls, m: pyo.ConcreteModel) -> Choices:
        """Read the decisions of the solved model ``m``."""
        return cls({j: m.build[j].value for j in m.OPTIONS},
                   {f: m.keep[f].value for f in m.CLOSABLE})

    def start(self, m: pyo.ConcreteModel) -> ComponentMap:
        """Return these decisions as a MIP start for ``m`` (HiGHS completes the flows)."""
        start = ComponentMap((m.build[j], v) for j, v in self.builds.items())
        start.update((m.keep[f], v) for f, v in self.keeps.items())
        return start


@dataclass(frozen=True)
class WarmStart:
    """The restricted model's solution: a network feasible for the full problem."""

    choices: Choices
    cost: float  # its objective (the full model routes the same network at most as dear)
    nearest: int
    seconds: float

    def describe(self) -> dict:
        """Return what solution.json records of it."""
        return {"nearest_sites": self.nearest, "cost": self.cost, "seconds": self.seconds}


def applies(net: Network) -> bool:
    """Whether the network is large enough for the steps of this module to pay."""
    return len(net.flow_arc) >= AUTO_FLOWS


def warm_start(net: Network, policies: tuple | list, objective: str, profile: SolverProfile,
               strong_linking: bool) -> WarmStart | None:
    """Solve the problem restricted to each region's ``profile.warm_start_sites`` nearest sites.

    Runs when the network is large (:func:`applies`), ``warm_start_sites`` is not 0 and is
    narrower than the profile's own ``nearest_sites``. The restricted model has the
    scenario's policies and objective, the profile's gap and a quarter of its time limit.
    Returns None when it does not run or finds no network (the restricted model may be
    infeasible where the full one is not).
    """
    nearest = profile.warm_start_sites
    if (not nearest or not applies(net)
            or (profile.nearest_sites is not None and profile.nearest_sites <= nearest)):
        return None
    t0 = time.perf_counter()
    pruned = prune_nearest(net, nearest)
    if not pruned.cut:
        return None
    m = build_model(pruned.net, policies, objective, strong_linking)
    try:
        with reporting(None):  # its bound is not one of the full problem: not shown as such
            result = solve_model(m, shortened(profile))
    except SolverError:  # stopped before any network: the full solve goes on without one
        return None
    if not result.has_solution:
        return None
    return WarmStart(Choices.of(m), result.objective, nearest, time.perf_counter() - t0)


def shortened(profile: SolverProfile) -> SolverProfile:
    """``profile`` with the time limit of one step: :data:`STEP_SHARE` of its own."""
    return profile.model_copy(update={"time_limit": STEP_SHARE * profile.time_limit})


def without_heuristics(profile: SolverProfile) -> SolverProfile:
    """``profile`` with HiGHS's sub-MIP heuristics off, except those its options set."""
    return profile.model_copy(update={"options": {**HEURISTICS_OFF, **profile.options}})


def drop_unused_links(m: pyo.ConcreteModel, profile: SolverProfile) -> dict | None:
    """Deactivate the strong linking rows whose dual is zero in ``m``'s LP relaxation.

    Runs when ``profile.lean_linking`` says so (``auto``: on large networks, see
    :func:`applies`) and ``m`` has strong linking. Returns what it did, or None when it
    did not run (the LP did not finish within a quarter of the time limit: every row stays).
    """
    wanted = profile.lean_linking
    if wanted == "auto":
        wanted = applies(m.net)
    if not wanted or not m.strong_linking or not len(m.link):
        return None
    t0 = time.perf_counter()
    relaxed = solve_relaxation(m, shortened(profile))
    if relaxed is None:
        return None
    _, duals = relaxed
    dropped = 0
    for k in m.link:
        if duals.get(m.link[k], 0.0) == 0.0:
            m.link[k].deactivate()
            dropped += 1
    return {"rows": len(m.link), "dropped": dropped, "seconds": time.perf_counter() - t0}

