"""Questions asked of a built model after a solve.

Why is it infeasible, and what does each binding policy cost at the margin.
"""

from __future__ import annotations

from collections.abc import Callable

import pyomo.environ as pyo

from siting.engine.handoff import Duals
from siting.engine.highs import SolverProfile, solve_model
from siting.model.core import define_rows
from siting.model.policies.base import Policy

SLACK_TOL = 1e-6


def _periods(m: pyo.ConcreteModel) -> list:
    """Return the single-period blocks of a model: itself, or each period of a horizon."""
    return [m.period[t] for t in m.PERIODS] if hasattr(m, "PERIODS") else [m]


def _relaxable(m: pyo.ConcreteModel) -> list[tuple[int, object]]:
    """Return the rows a scenario can make infeasible, with their period's position.

    They are every policy row, and every mandatory-collection row, of every period.
    """
    rows = []
    for t, block in enumerate(_periods(m)):
        rows += [(t, row) for row in block.policies.component_data_objects(pyo.Constraint,
                                                                            active=True)]
        optional = set(block.UNCOLLECTABLE)
        rows += [(t, block.supply_balance[i]) for i in block.supply_balance if i not in optional]
    return rows


def diagnose_infeasibility(m: pyo.ConcreteModel, profile: SolverProfile,
                           policies: dict[str, Policy],
                           years: list[int] | None = None) -> list[str]:
    """Find which rows cannot hold, and by how much, from an elastic copy of the model.

    Every policy row and every mandatory-collection row gets non-negative slacks (scaled by
    the row's bound, so tonnes and currency compare); the elastic model minimises their
    sum. ``policies`` maps a policy block name to its policy; ``years`` names the
    periods of a horizon model. Returns one phrase per violated row, largest first.
    """
    for block in _periods(m):
        if block.rows_in_matrix:  # the rows to relax must be Pyomo's
            define_rows(block)
    located = _relaxable(m)
    rows = [row for _, row in located]
    m.objective.deactivate()
    m.elastic = pyo.Block()
    m.elastic.up = pyo.Var(range(len(rows)), domain=pyo.NonNegativeReals)
    m.elastic.down = pyo.Var(range(len(rows)), domain=pyo.NonNegativeReals)
    m.elastic.rows = pyo.ConstraintList()
    scale = []
    for i, row in enumerate(rows):
        row.deactivate()
        m.elastic.rows.add((row.lower, row.body + m.elastic.up[i] - m.elastic.down[i], row.upper))
        bound = pyo.value(row.upper if row.upper is not None else row.lower)
        scale.append(1.0 / max(1.0, abs(bound)))
    m.elastic.objective = pyo.Objective(expr=pyo.quicksum(
        s * (m.elastic.up[i] + m.elastic.down[i]) for i, s in enumerate(scale)))
    solve_model(m, profile)
    found = []
    for i, row in enumerate(rows):
        slack = (m.elastic.up[i].value or 0.0) + (m.elastic.down[i].value or 0.0)
        if slack > SLACK_TOL * max(1.0, 1.0 / scale[i]):
            where = f" in {years[located[i][0]]}" if years else ""
            found.append((slack * scale[i], _describe(row, slack, policies) + where))
    return [text for _, text in sorted(found, key=lambda item: -item[0])]


def _describe(row, slack: float, policies: dict[str, Policy]) -> str:
    parent = row.parent_block()
    if parent.parent_block() is not None and parent.parent_block().local_name == "policies":
        policy = parent.local_name
        index = row.index()
        where = "" if index is None else f" for {index}"
        unit = policies[policy].unit if policy in policies else ""
        return f"{policy}{where} cannot hold: short by {slack:,.6g} {unit}".strip()
    region = row.index()
    return (f"mandatory collection cannot hold (supplied pair {region}): "
            f"{slack:,.6g} t cannot be collected")


def marginal_costs(m: pyo.ConcreteModel, fixed_duals: Callable[[], Duals],
                   policies: dict[str, Policy], currency: str,
                   years: list[int] | None = None) -> list[dict]:
    """Return what each binding policy row costs at the margin, with the network fixed.

    ``fixed_duals`` solves the LP with every integer decision fixed and returns its row
    duals (:meth:`siting.engine.highs.HighsModel.fixed_duals`); it is not called when the
    model has no policy row to price. ``policies`` maps a
    policy block name to its policy. Each entry's ``value`` is the dual's size: what
    tightening the row by one unit of its right-hand side adds to the cost (a binding
    inequality never gets cheaper when tightened), never negative; ``meaning`` says it in
    words, e.g. "collecting one more tonne (Hunan) costs 4,812 CNY/yr". In a horizon model
    (``years`` names its periods) the cost is the discounted cost of the horizon and each
    entry carries its period's year.
    """
    located = [(t, row) for t, block in enumerate(_periods(m))
               for row in block.policies.component_data_objects(pyo.Constraint, active=True)]
    if not located:
        return []
    duals = fixed_duals()
    sites = _periods(m)[0].net.instance.sites
    site_names = dict(zip(sites["id"], sites["name"], strict=True))  # rows of one site
    out = []
    for t, row in located:
        dual = duals.get(row, 0.0)
        if abs(dual) > 1e-9:
            name = row.parent_block().local_name
            policy = policies[name]
            group = None if row.index() is None else str(row.index())
            where = "".join(f" ({site_names.get(label, label)})"
                            for label in (group, years and years[t]) if label not in (None, "all"))
            value = abs(float(dual))
            amount = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
            per = "" if years else "/yr"
            phrase = policy.one_more.format(unit=policy.unit, currency=currency)
            out.append({"policy": name, "constraint": row.parent_component().local_name,
                        "group": group, "value": value, "unit": f"per {policy.unit}",
                        "meaning": f"{phrase}{where} costs {amount} {currency}{per}",
                        **({"year": years[t]} if years else {})})
    return out
