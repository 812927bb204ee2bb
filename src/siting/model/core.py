"""The core model of ``docs/model.md`` in Pyomo, built from a :class:`Network`.

Index sets are positions in the network's arrays, so only arcs that exist get variables.

=============================  ===========================  ================================
MODEL.md                       Pyomo                        index
=============================  ===========================  ================================
``x[a,s]`` flow                ``m.flow[k]``                network flow k (arc, stream)
``u[r,s]`` uncollected         ``m.uncollected[i]``         supplied pair i (region, stream)
``b[f,l]`` build size          ``m.build[j]``               build option j (site, size);
                                                            units of a module (integer)
existing f kept open           ``m.keep[f]``                closable existing site f
throughput of f                ``m.throughput[f]``          site f
capacity of f                  ``m.capacity[f]``            site f
f is open                      ``m.is_open[f]``             site f
cost terms                     ``m.cost_fixed`` ...         named Expressions
=============================  ===========================  ================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.core.expr.visitor import identify_variables

from siting.instance.network import Network
from siting.model.matrix import branch_rows, link_rows, shared_limits


def build_model(net: Network, policies: Sequence = (), objective: str = "cost",
                strong_linking: bool = True,
                rows: Literal["matrix", "pyomo"] = "matrix") -> pyo.ConcreteModel:
    """Build the Pyomo model: sets, variables, core constraints, policies, objective.

    Parameters
    ----------
    net
        The network arrays of the instance.
    policies
        Policy objects (see :mod:`siting.model.policies`), each adding its own block.
    objective
        The objective mode (see :mod:`siting.model.objective`).
    strong_linking
        Add ``x <= q * open`` for every region flow into a candidate site (the default: it
        won on every instance measured, benchmarks/RESULTS.md).
    rows
        ``matrix``: the core rows are left to :mod:`siting.model.matrix`, which the hand-off
        to HiGHS assembles from the network's arrays (what a solve uses); ``pyomo``: they
        are Pyomo constraints too (the definition, and what the infeasibility diagnosis
        relaxes).
    """
    from siting.model.objective import define_objective

    with PauseGC():
        m = pyo.ConcreteModel(name=net.instance.name)
        define_network(m, net, policies, strong_linking, rows)
        define_objective(m, objective)
    return m


def define_network(m: pyo.Block, net: Network, policies: Sequence,
                   strong_linking: bool, rows: Literal["matrix", "pyomo"] = "matrix") -> None:
    """Everything but the objective on ``m`` (a model, or one period's block).

    ``rows``: see :func:`build_model`; ``m.rows_in_matrix`` says which it was.
    """
    m.net = net
    m.strong_linking = strong_linking
    m.rows_in_matrix = True
    define_sets(m, net)
    define_variables(m, net)
    define_site_expressions(m, net)
    if rows == "pyomo":
        define_rows(m)
    define_costs(m, net)
    define_policies(m, net, policies)


def define_rows(m: pyo.Block) -> None:
    """Add the core rows of ``m``'s network as Pyomo constraints (the definition)."""
    define_supply_balance(m, m.net)
    define_conservation(m, m.net)
    define_capacity(m, m.net)
    define_linking(m, m.net, m.strong_linking)
    m.rows_in_matrix = False


def define_policies(m: pyo.ConcreteModel, net: Network, policies: Sequence) -> None:
    """Give each policy its own block ``m.policies.<type>`` and let it add its rows there."""
    m.policies = pyo.Block()
    for policy in policies:
        name, n = policy.type, 2
        while m.policies.component(name) is not None:
            name, n = f"{policy.type}_{n}", n + 1
        block = pyo.Block()
        m.policies.add_component(name, block)
        policy.apply(m, block, net)
    terms = [b.cost for b in m.policies.component_objects(pyo.Block, descend_into=False)
             if b.component("cost") is not None]
    m.policy_cost = pyo.Expression(expr=pyo.quicksum(terms))


def groups(keys: np.ndarray, n: int) -> list[list[int]]:
    """Positions of ``keys`` grouped by key value ``0..n-1`` (stable order)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    order = order.tolist()
    return [order[bounds[i]:bounds[i + 1]] for i in range(n)]


def linear(coefs: Iterable[float], variables: Iterable) -> LinearExpression:
    """Sum of coefficient x variable, skipping zero coefficients.

    Built as one ``LinearExpression`` from the two lists: several times faster to build and
    to compile than a sum of products (benchmarks/RESULTS.md).
    """
    pairs = [(c, v) for c, v in zip(coefs, variables, strict=True) if c]
    return LinearExpression(linear_coefs=[c for c, _ in pairs], linear_vars=[v for _, v in pairs])


def define_sets(m: pyo.ConcreteModel, net: Network) -> None:
    """Index sets: flows, supplied (region, stream) pairs, build options, sites."""
    n_streams = net.supply.shape[1]
    m.supplied_r, m.supplied_s = np.nonzero(net.supply > 0)
    m.FLOWS = pyo.RangeSet(0, len(net.flow_arc) - 1)
    m.SUPPLIED = pyo.RangeSet(0, len(m.supplied_r) - 1)
    m.OPTIONS = pyo.RangeSet(0, len(net.option_site) - 1)
    m.SITES = pyo.RangeSet(0, len(net.site_tier) - 1)
    supplied_pos = np.full(net.supply.shape, -1)
    supplied_pos[m.supplied_r, m.supplied_s] = np.arange(len(m.supplied_r))
    from_region = net.flow_from_region
    pair_of_flow = np.where(from_region,
                            supplied_pos[np.where(from_region, net.flow_origin, 0),
                                         net.flow_stream], -1)
    m.flows_of_pair = groups(np.where(pair_of_flow >= 0, pair_of_flow, len(m.supplied_r)),
                             len(m.supplied_r) + 1)[:-1]
    m.flows_into = groups(net.flow_dest, len(net.site_tier))
    out_site = np.where(from_region, len(net.site_tier), net.flow_origin)
    m.flows_out_of = groups(out_site, len(net.site_tier) + 1)[:-1]
    m.options_of = groups(net.option_site, len(net.site_tier))
    m.n_streams = n_streams


def define_variables(m: pyo.ConcreteModel, net: Network) -> None:
    """Flows x, uncollected tonnes u (with a penalty), builds b, closable sites kept open."""
    m.flow = pyo.Var(m.FLOWS, domain=pyo.NonNegativeReals)
    most = net.option_most.tolist()
    if any(n > 1 for n in most):
        m.build = pyo.Var(m.OPTIONS, domain=pyo.NonNegativeIntegers,
                          bounds=lambda m, j: (0, most[j]))
    else:
        m.build = pyo.Var(m.OPTIONS, domain=pyo.Binary)
    m.CLOSABLE = pyo.Set(initialize=np.flatnonzero(~np.isnan(net.site_closure_cost)).tolist())
    m.keep = pyo.Var(m.CLOSABLE, domain=pyo.Binary)
    optional = ~np.isnan(net.penalty[m.supplied_s])
    m.UNCOLLECTABLE = pyo.Set(initialize=np.flatnonzero(optional).tolist())
    m.uncollected = pyo.Var(m.UNCOLLECTABLE, domain=pyo.NonNegativeReals)


def define_site_expressions(m: pyo.ConcreteModel, net: Network) -> None:
    """Throughput, capacity and open status of every site, shared by constraints and policies."""
    cap = net.option_capacity.tolist()
    existing = net.site_existing.tolist()

    @m.Expression(m.SITES)
    def throughput(m, f):
        return pyo.quicksum(m.flow[k] for k in m.flows_into[f])

    closable = set(m.CLOSABLE)

    @m.Expression(m.SITES)
    def capacity(m, f):
        kept = existing[f] * m.keep[f] if f in closable else existing[f]
        return kept + linear((cap[j] for j in m.options_of[f]),
                             (m.build[j] for j in m.options_of[f]))

    @m.Expression(m.SITES)
    def is_open(m, f):
        if f in closable:
            return m.keep[f]
        if existing[f] > 0:
            return 1
        return pyo.quicksum(m.build[j] for j in m.options_of[f])


def define_supply_balance(m: pyo.ConcreteModel, net: Network) -> None:
    """Supply balance: flows out of each region plus uncollected equal its supply.

    Formulation: ``sum_{a out of r} x[a,s] + u[r,s] = q[r,s]``.
    """
    q = net.supply[m.supplied_r, m.supplied_s].tolist()
    optional = set(m.UNCOLLECTABLE)

    @m.Constraint(m.SUPPLIED)
    def supply_balance(m, i):
        shipped = pyo.quicksum(m.flow[k] for k in m.flows_of_pair[i])
        if i in optional:
            return shipped + m.uncollected[i] == q[i]
        return shipped == q[i]


def define_conservation(m: pyo.ConcreteModel, net: Network) -> None:
    """Flow conservation at intermediate tiers, per stream.

    Formulation: ``sum_{a into f} x[a,s] = sum_{a out of f} x[a,s]`` for f not in the last tier.
    """
    last = net.n_tiers - 1
    spec = net.instance.spec
    ends = [i for i, tier in enumerate(spec.tiers.values()) if tier.branch is not None]
    streams = net.flow_stream.tolist()
    rows = {}
    for f in np.flatnonzero((net.site_tier < last) & ~np.isin(net.site_tier, ends)).tolist():
        for s in range(m.n_streams):
            into = [k for k in m.flows_into[f] if streams[k] == s]
            out = [k for k in m.flows_out_of[f] if streams[k] == s]
            if into or out:
                rows[f, s] = (into, out)
    m.CONSERVED = pyo.Set(initialize=list(rows), dimen=2)

    @m.Constraint(m.CONSERVED)
    def conservation(m, f, s):
        into, out = rows[f, s]
        # a difference keeps the row's orientation (its dual's sign) when a side is empty
        return (pyo.quicksum(m.flow[k] for k in into)
                - pyo.quicksum(m.flow[k] for k in out) == 0)

    define_branch_shares(m, net)


def define_branch_shares(m: pyo.ConcreteModel, net: Network) -> None:
    """Send fixed shares to branch tiers (second-life), per source site or over all of them.

    Formulation: ``sum_{a: f -> branch} x[a,s] = share[s] * sum_{a into f} x[a,s]`` per
    source site f (scope ``each``) or summed over the source tier's sites (``all``).
    """
    rows = branch_rows(net)

    @m.Constraint(range(len(rows)))
    def branch_share(m, i):
        share, into, out, _, _ = rows[i]
        return (pyo.quicksum(m.flow[k] for k in out)
                - share * pyo.quicksum(m.flow[k] for k in into) == 0)


def define_capacity(m: pyo.ConcreteModel, net: Network) -> None:
    """Capacity, minimum throughput when open, and one size per site.

    Formulation: ``sum_l min[f,l] b[f,l] <= throughput[f] <= existing[f] + sum_l cap[f,l] b[f,l]``
    and ``sum_l b[f,l] <= 1`` (sites of tiers with exclusive sizes; a tier of modules has
    ``b[f,l]`` in ``0..max_modules`` instead); at most one process open per location.
    Sites of one ``capacity_group`` (several roles at one physical site) keep their own
    capacity and share the site's limit: ``sum_f throughput[f] <= G[g]`` over the group,
    with ``G[g]`` its ``group_capacity`` (none given: the sum of the members' capacities,
    which their own rows already keep). The sites regions ship to hold every tonne whose
    collection is mandatory: ``sum_f capacity[f] >= sum of mandatory q[r,s]``.
    """
    minimum = net.option_min.tolist()
    used = [f for f in m.SITES if m.flows_into[f]]

    @m.Constraint(used)
    def capacity_limit(m, f):
        return m.throughput[f] <= m.capacity[f]

    limits = shared_limits(net)

    @m.Constraint(range(len(limits)))
    def shared_capacity(m, i):
        members, limit = limits[i]
        return pyo.quicksum(m.throughput[f] for f in members) <= limit

    # Aggregate capacity (Beasley 1988): the sites regions ship to hold every mandatory
    # tonne. Implied by the rows above for integer builds, but a row of its own lets HiGHS
    # round it (four sites, not 3.3, hold the supply): 1.65% -> 0.15% at the root of a
    # tight 1000 x 100 problem (benchmarks/RESULTS.md).
    mandatory = float(net.supply[:, np.isnan(net.penalty)].sum())
    receiving = np.unique(net.flow_dest[net.flow_from_region]).tolist()
    total = pyo.quicksum(m.capacity[f] for f in receiving)
    if mandatory > 0 and next(identify_variables(total), None) is not None:  # else no row
        m.aggregate_capacity = pyo.Constraint(expr=total >= mandatory)

    with_min = [f for f in used if any(minimum[j] > 0 for j in m.options_of[f])]

    @m.Constraint(with_min)
    def min_throughput(m, f):
        opts = m.options_of[f]
        return m.throughput[f] >= linear((minimum[j] for j in opts), (m.build[j] for j in opts))

    most = net.option_most.tolist()

    @m.Constraint([f for f in m.SITES if len(m.options_of[f]) > 1
                   and all(most[j] == 1 for j in m.options_of[f])])
    def one_size(m, f):
        return m.is_open[f] <= 1

    sites = net.instance.sites
    located = sites.groupby("location").indices if "location" in sites.columns else {}
    shared = [rows.tolist() for rows in located.values() if len(rows) > 1]

    @m.Constraint(range(len(shared)))
    def one_process(m, i):
        return pyo.quicksum(m.is_open[f] for f in shared[i]) <= 1


def define_linking(m: pyo.ConcreteModel, net: Network, strong: bool) -> None:
    """Strong linking of region flows to the opening of candidate sites.

    Formulation: ``x[a,s] <= q[r,s] * sum_l b[f,l]`` for region arcs into candidate sites.
    Redundant for integer solutions; it tightens the LP relaxation (the classic CFLP cut).
    """
    rows = link_rows(net)
    if not strong:
        rows = rows[:0]
    q = net.supply[net.flow_origin[rows], net.flow_stream[rows]].tolist()
    dest = net.flow_dest[rows].tolist()
    index = dict(zip(rows.tolist(), range(len(rows)), strict=True))

    @m.Constraint(list(index))
    def link(m, k):
        i = index[k]
        return m.flow[k] <= q[i] * m.is_open[dest[i]]


def define_costs(m: pyo.ConcreteModel, net: Network) -> None:
    """Define the objective's named cost terms, and emissions in tonnes of CO2.

    Formulation: fixed ``sum fix*b`` (+ existing facilities', x keep where closable), capex
    ``annuity * sum capex*b`` (only with ``[finance]``, else capex serves the budget policy),
    transport ``sum c_tr*d*x``, processing ``sum c_proc*x``, penalty ``sum pen*u``.
    """
    finance = net.instance.spec.finance
    annuity = finance.annuity_factor if finance else 0.0
    existing_fixed = net.instance.sites["existing_fixed_cost"].to_numpy(dtype=float)
    closable = list(m.CLOSABLE)
    always = float(np.delete(existing_fixed, closable).sum())
    builds = [m.build[j] for j in m.OPTIONS]
    flows = [m.flow[k] for k in m.FLOWS]
    pen = net.penalty[m.supplied_s]
    uncollected = list(m.UNCOLLECTABLE)
    m.cost_fixed = pyo.Expression(expr=always + linear(existing_fixed[closable].tolist(),
                                                       (m.keep[f] for f in closable))
                                  + linear(net.option_fixed.tolist(), builds))
    m.cost_capex = pyo.Expression(expr=linear((annuity * net.option_capex).tolist(), builds))
    m.cost_transport = pyo.Expression(expr=linear(net.flow_transport_cost.tolist(), flows))
    m.cost_processing = pyo.Expression(expr=linear(net.flow_processing_cost.tolist(), flows))
    m.cost_penalty = pyo.Expression(expr=linear(pen[uncollected].tolist(),
                                                (m.uncollected[i] for i in uncollected)))
    m.total_cost = pyo.Expression(expr=m.cost_fixed + m.cost_capex + m.cost_transport
                                  + m.cost_processing + m.cost_penalty)
    m.co2_t = pyo.Expression(expr=linear((net.flow_co2_kg / 1000).tolist(), flows))
    m.revenue = pyo.Expression(expr=linear(net.flow_revenue.tolist(), flows))
    m.gap_t = pyo.Expression(expr=pyo.quicksum(m.uncollected[i] for i in uncollected))
    last = np.flatnonzero(net.site_tier == net.n_tiers - 1).tolist()
    m.idle_capacity = pyo.Expression(
        expr=pyo.quicksum(m.capacity[f] - m.throughput[f] for f in last))
