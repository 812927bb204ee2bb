"""Steps that make the full MIP faster without changing what its solve proves.

Both run before HiGHS branches on the full (unpruned, or as the profile prunes it) model:

- :func:`warm_start`: the same problem restricted to each region's few nearest sites is
  solved first. It is a restriction, so its network is feasible for the full model and
  becomes HiGHS's MIP start (HiGHS's own heuristics stay on behind it).
- :func:`drop_unused_links`: the strong linking rows ``x <= q * open`` are valid
  inequalities, not part of the problem's definition (the capacity rows already close a
  site's flows), so dropping any of them leaves the problem and HiGHS's bound as they
  were; only the strength of the LP changes. Two rules choose the rows that go:

  - after the Lagrangian relaxation, the rows of flows whose reduced cost (cost less the
    pair's multiplier) is not negative, so no LP is solved. A site's subproblem ships
    only along flows of negative reduced cost, and a row with a non-zero dual in the LP
    has a negative reduced cost at the LP's duals, of which the multipliers are an
    estimate;
  - otherwise the rows whose dual is zero in the LP relaxation: the root LP keeps the same
    optimum (the LP's solution and duals stay optimal without them).

  Either way every node LP is far smaller. Measured on 1000 customers x 100 sites at
  capacity ratio 2 (``benchmarks/capacitated.py``): 100,000 linking rows, 956 with a
  non-zero dual; on the tight shape at ratio 8 (``benchmarks/tight.py``), 5,156 with a
  non-zero dual and 9,724 of negative reduced cost, which hold 5,122 of those 5,156.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from siting.engine.highs import HighsModel, SolverProfile
from siting.errors import SolverError
from siting.instance.network import Network
from siting.instance.prune import nearest_flows, nearest_for, prune_nearest
from siting.model.matrix import link_rows
from siting.model.spec import ModelSpec

AUTO_FLOWS = 20_000  # the steps run on networks of at least this many flows

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


def warms(net: Network, profile: SolverProfile) -> bool:
    """Whether :func:`warm_start` runs on ``net`` under ``profile``."""
    nearest = profile.warm_start_sites
    kept = nearest_for(profile.nearest_sites, len(net.flow_arc))
    return bool(nearest and applies(net) and (kept is None or kept > nearest))


def reaches(net: Network, builds: np.ndarray, nearest: int) -> float:
    """Share of the supply whose region has a site open in ``builds`` among its ``nearest``.

    Existing sites count as open. A network that reaches every region there is one the
    problem restricted to the nearest sites can hold; one that reaches few is a sign that
    the optimum serves regions from far away, where the restriction only finds poor
    networks.
    """
    is_open = net.site_existing > 0
    is_open[net.option_site[builds]] = True
    near = nearest_flows(net, nearest) & net.flow_from_region & is_open[net.flow_dest]
    q = net.supply.ravel()
    reached = np.zeros(len(q), dtype=bool)
    reached[net.flow_pair[near]] = True
    return float(q[reached].sum() / q.sum()) if q.sum() > 0 else 1.0


def warm_start(net: Network, spec: ModelSpec, profile: SolverProfile,
               stop: Callable[[], bool], time_limit: float) -> WarmStart | None:
    """Solve the problem restricted to each region's ``profile.warm_start_sites`` nearest sites.

    Runs when the network is large (:func:`applies`), ``warm_start_sites`` is not 0 and is
    narrower than the profile's own ``nearest_sites``. The restricted model has the
    scenario's policies and objective and the profile's gap; its work is bounded by
    ``profile.warm_start_nodes`` branch-and-bound nodes, its time by the run's
    ``time_limit`` (seconds left), and ``stop``. Returns None when it does not run or finds
    no network (the restricted model may be infeasible where the full one is not).
    """
    if not warms(net, profile):
        return None
    nearest = profile.warm_start_sites
    t0 = time.perf_counter()
    pruned = prune_nearest(net, nearest)
    if not pruned.cut:
        return None
    m = spec.build(pruned.net)
    try:  # no listener: its bound is not one of the full problem
        result = HighsModel(m, profile, stop).solve(
            time_limit=time_limit, options={"mip_max_nodes": profile.warm_start_nodes})
    except SolverError:  # stopped before any network: the full solve goes on without one
        return None
    if not result.has_solution:
        return None
    return WarmStart(Choices.of(m), result.objective, nearest, time.perf_counter() - t0)


def leans(m: pyo.ConcreteModel, profile: SolverProfile) -> bool:
    """Whether :func:`drop_unused_links` runs on the model ``m`` under ``profile``.

    It needs the strong linking rows in matrix form, the only rows HighsModel can drop.
    """
    wanted = applies(m.net) if profile.lean_linking == "auto" else profile.lean_linking
    return bool(wanted and m.strong_linking and m.rows_in_matrix and len(link_rows(m.net)))


def drop_unused_links(model: HighsModel, profile: SolverProfile,
                      multipliers: np.ndarray | None = None) -> dict | None:
    """Delete the strong linking rows that the relaxations leave unused (module docstring).

    Runs on the compiled ``model`` itself when ``profile.lean_linking`` says so (``auto``:
    on large networks, see :func:`applies`) and the model has strong linking. With the
    Lagrangian's ``multipliers`` (one per supply pair), the rows of flows whose reduced
    cost is not negative go. Without them, the rows whose dual is zero in the LP
    relaxation go; the LP may take ``profile.lean_linking_iterations`` simplex iterations.
    Returns what it did (``by``: ``lagrangian`` or ``lp``), or None when it did not run or
    the LP did not finish (then every row stays).
    """
    m = model.m
    if not leans(m, profile):
        return None
    t0 = time.perf_counter()
    if multipliers is not None:
        index, by = model.rows.segment(m, "link").index, "lagrangian"
        net = m.net
        unused = net.flow_cost[index] >= multipliers[net.flow_pair[index]]
    else:
        relaxed = model.relaxation(profile.lean_linking_iterations)
        if relaxed is None:
            return None
        (index, dual), by = relaxed[1].of(m, "link"), "lp"
        unused = dual == 0.0
    dropped = model.drop_rows(m, "link", unused)
    return {"rows": len(index), "dropped": dropped, "by": by,
            "seconds": time.perf_counter() - t0}
