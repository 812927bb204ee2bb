"""The multi-period model: one block of the core model per period, builds that stay built.

Period ``t`` is ``m.period[t]``, a block holding the whole single-period model of
:mod:`siting.model.core` for that period's supply. In a block, ``build[j]`` is the
operating indicator ``o[f,l,t]``; the build decision is its increase,
``b[f,l,t] = o[f,l,t] - o[f,l,t-1]``, and ``o[f,l,t] >= o[f,l,t-1]`` keeps a size
open from its build period on (``m.stay_built``). With one size per site in every
period, a site can never switch sizes, which is ``sum_{l,t} b[f,l,t] <= 1``. A closable
existing facility's ``keep[f]`` never rises again once it fell (``m.stay_closed``); its
closure cost is charged once, in the period it closes, discounted to the first year.

The objective adds the periods' yearly costs weighted by ``w[t]`` (years the period
stands for, discounted); the lexicographic gap and idle capacity are summed over the
years (not discounted).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from siting.instance.network import Network
from siting.instance.schema import Periods
from siting.model.core import define_network
from siting.model.objective import define_objective


def build_horizon_model(nets: Sequence[Network], periods: Periods, policies: Sequence = (),
                        objective: str = "cost",
                        strong_linking: bool = True) -> pyo.ConcreteModel:
    """Build the multi-period model from one network per period.

    Parameters
    ----------
    nets
        The network of each period (same sites and build options, own supply).
    periods
        The horizon: years each period stands for, discount rate.
    policies, objective, strong_linking
        As in :func:`siting.model.core.build_model`; policies hold in every period.
    """
    later = range(1, len(nets))
    with PauseGC():
        m = pyo.ConcreteModel(name=nets[0].instance.name)
        m.PERIODS = pyo.Set(initialize=list(range(len(nets))))
        m.period = pyo.Block(m.PERIODS)
        for t in m.PERIODS:
            define_network(m.period[t], nets[t], policies, strong_linking)
        first = m.period[0]

        @m.Constraint([(t, j) for t in later for j in first.OPTIONS])
        def stay_built(m, t, j):
            return m.period[t].build[j] >= m.period[t - 1].build[j]

        @m.Constraint([(t, f) for t in later for f in first.CLOSABLE])
        def stay_closed(m, t, f):
            return m.period[t].keep[f] <= m.period[t - 1].keep[f]

        closure = nets[0].site_closure_cost
        m.closure_cost = pyo.Expression(expr=pyo.quicksum(
            d * closure[f] * ((m.period[t - 1].keep[f] if t else 1) - m.period[t].keep[f])
            for t, d in zip(m.PERIODS, periods.start_discounts, strict=True)
            for f in first.CLOSABLE))

        def weighted(name: str, factors: Sequence[float]) -> pyo.Expression:
            return pyo.quicksum(w * m.period[t].component(name)
                                for t, w in zip(m.PERIODS, factors, strict=True))

        m.total_cost = pyo.Expression(expr=weighted("total_cost", periods.discount_weights)
                                      + m.closure_cost)
        for name in ("policy_cost", "revenue"):
            m.add_component(name, pyo.Expression(expr=weighted(name, periods.discount_weights)))
        for name in ("gap_t", "idle_capacity"):
            m.add_component(name, pyo.Expression(expr=weighted(name, periods.weights)))
        define_objective(m, objective)
    return m
