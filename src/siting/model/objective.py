"""Objective modes. ``cost`` minimises the total cost, the penalty pricing the gap."""

from __future__ import annotations

import pyomo.environ as pyo

MODES = ("cost",)


def define_objective(m: pyo.ConcreteModel, mode: str) -> None:
    """Add the objective of ``mode`` to the model."""
    if mode != "cost":
        raise ValueError(f"unknown objective mode {mode!r}; expected one of {MODES}")
    m.objective = pyo.Objective(expr=m.total_cost + m.policy_cost, sense=pyo.minimize)
