"""Objective modes, each a sequence of stages solved in turn.

- ``cost``: minimise total cost (the penalty prices the gap) plus policy cost terms.
- ``value``: maximise recovered value minus that cost.
- ``lexicographic``: minimise the collection gap; then cost with the gap held at its
  optimum; then idle capacity with cost held. A held value may move by the solver's own
  feasibility tolerance on the held row only (``mip_feasibility_tolerance``, absolute);
  each stage starts from the previous stage's solution, which meets that row, so it
  stays feasible.
"""

from __future__ import annotations

import pyomo.environ as pyo

from siting.results.labels import STAGES
from siting.scenario import MODES


def stages(m: pyo.ConcreteModel, mode: str) -> list[tuple[str, pyo.Expression]]:
    """Return the (name, expression to minimise) stages of ``mode``."""
    cost = m.total_cost + m.policy_cost
    if mode == "cost":
        return [("cost", cost)]
    if mode == "value":
        return [("value", cost - m.revenue)]
    if mode == "lexicographic":
        return list(zip(STAGES[mode], (m.gap_t, cost, m.idle_capacity), strict=True))
    raise ValueError(f"unknown objective mode {mode!r}; expected one of {MODES}")


def define_objective(m: pyo.ConcreteModel, mode: str) -> None:
    """Set the objective of the first stage of ``mode``."""
    m.objective = pyo.Objective(expr=stages(m, mode)[0][1], sense=pyo.minimize)


def hold_and_advance(m: pyo.ConcreteModel, expr: pyo.Expression, optimum: float,
                     next_expr: pyo.Expression, stage: int) -> None:
    """Hold ``expr`` at its optimum and minimise ``next_expr`` instead."""
    m.add_component(f"hold_stage_{stage}", pyo.Constraint(expr=expr <= optimum))
    m.objective.set_value(next_expr)
