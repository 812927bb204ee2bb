"""The multi-period model: one block of the core model per period, builds that stay built.

Period ``t`` is ``m.period[t]``, a block holding the whole single-period model of
:mod:`siting.model.core` for that period's supply. In a block, ``build[j]`` is the
operating indicator ``o[f,l,t]``; the build decision is its increase,
``b[f,l,t] = o[f,l,t] - o[f,l,t-1]``, and ``o[f,l,t] >= o[f,l,t-1]`` keeps a size
open from its build period on (``m.stay_built``). With one size per site in every
period, a site can never switch sizes, which is ``sum_{l,t} b[f,l,t] <= 1``.

The objective adds the periods' yearly costs weighted by ``w[t]`` (years the period
stands for, discounted); the lexicographic gap and idle capacity are summed over the
years (not discounted).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from siting.instance.network import Network
from siting.model.core import define_network
from siting.model.objective import define_objective


def build_horizon_model(nets: Sequence[Network], weights: Sequence[float],
                        years_per_period: Sequence[int], policies: Sequence = (),
                        objective: str = "cost",
                        strong_linking: bool | None = None) -> pyo.ConcreteModel:
    """Build the multi-period model from one network per period.

    Parameters
    ----------
    nets
        The network of each period (same sites and build options, own supply).
    weights
        Discounted weight ``w[t]`` of each period's yearly costs.
    years_per_period
        Years each period stands for (weights the gap and idle capacity).
    policies, objective, strong_linking
        As in :func:`siting.model.core.build_model`; policies hold in every period.
    """
    periods = range(len(nets))
    with PauseGC():
        m = pyo.ConcreteModel(name=nets[0].instance.name)
        m.PERIODS = pyo.Set(initialize=list(periods))
        m.period = pyo.Block(m.PERIODS)
        for t in periods:
            define_network(m.period[t], nets[t], policies, strong_linking)
        options = list(m.period[0].OPTIONS)

        @m.Constraint([(t, j) for t in periods if t > 0 for j in options])
        def stay_built(m, t, j):
            return m.period[t].build[j] >= m.period[t - 1].build[j]

        def weighted(name: str, factors: Sequence[float]) -> pyo.Expression:
            return pyo.Expression(expr=pyo.quicksum(
                w * m.period[t].component(name) for t, w in zip(periods, factors, strict=True)))

        for name in ("total_cost", "policy_cost", "revenue"):
            m.add_component(name, weighted(name, weights))
        for name in ("gap_t", "idle_capacity"):
            m.add_component(name, weighted(name, years_per_period))
        define_objective(m, objective)
    return m
