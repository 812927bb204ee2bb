"""The core rows assembled from the arrays are the rows the Pyomo definition gives.

Each model is built once; its hand-off to HiGHS (core rows from ``siting.model.matrix``)
is compared with the same model after its core rows are added as Pyomo constraints and
compiled by Pyomo alone: same rows, columns, coefficients, bounds, integrality and
objective, for every shipped instance and scenario, every registered policy, and random
small instances.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from pyomo.core.expr.numeric_expr import LinearExpression
from pyomo.repn import generate_standard_repn

from siting.engine.handoff import compile_model, linear_form, network_blocks
from siting.engine.highs import SolverProfile
from siting.engine.steps import build, prepare
from siting.instance.load import load_instance
from siting.model.core import build_model, define_rows
from siting.model.horizon import build_horizon_model
from siting.model.policies import REGISTRY
from siting.scenario import Scenario, load_scenario, parse_policy
from support import DEMO, ROOT, write_instance
from test_horizon import GRADING_TOML, HORIZON_TOML, horizon_instance, process_instance
from test_labels import _instances
from test_properties import tinies, write_tiny

DEMO_POLICIES = [
    {"type": "capex_budget", "amount": 60e6},
    {"type": "carbon_cap", "tonnes_co2": 20000},
    {"type": "carbon_price", "per_tonne_co2": 3000},
    {"type": "cost_scale", "transport": 2.0, "fixed": 1.5},
    {"type": "coverage", "km": 80},
    {"type": "cross_border_surcharge", "per_tonne": 300},
    {"type": "facility_count", "max": 1, "tier": "collection"},
    {"type": "fixed_network", "builds": {"C-A2": "S", "P-B2": "M"}},
    {"type": "forbid", "sites": ["C-B2"]},
    {"type": "force_open", "sites": ["C-C2"]},
    {"type": "in_province_share", "share": 0.8},
    {"type": "max_distance", "km": 60},
    {"type": "min_collection_rate", "rate": 0.9, "scope": "each"},
    {"type": "min_recovery", "stream": "lfp", "rate": 0.85},
    {"type": "min_utilisation", "share": 0.6, "tier": "plant"},
    {"type": "supply_scale", "factor": 1.5, "stream": "ncm"},
    {"type": "whitelist_only", "tier": "plant"},
]


def _key(data) -> tuple:
    """Name and index of a Pyomo component's datum, the index as a tuple of ints."""
    return data.parent_component().getname(fully_qualified=True), _index(data.index())


def _index(index) -> tuple:
    if index is None:
        return ()
    items = index if isinstance(index, tuple | np.ndarray) else (index,)
    return tuple(i if isinstance(i, str) else int(i) for i in items)


def canonical(m) -> dict:
    """The compiled model keyed by row and column names, fixed columns folded into bounds.

    Returns the sorted row and column keys, the matrix, bounds, integrality and costs in
    that order, and the objective's constant.
    """
    c = compile_model(m)
    lp = c.lp
    matrix = sp.csc_matrix((lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
                           shape=(lp.num_row_, lp.num_col_))
    fixed = np.array([v.fixed for v in c.columns], dtype=bool)
    value = np.array([v.value if v.fixed else 0.0 for v in c.columns], dtype=float)
    shift = matrix @ value
    free = np.flatnonzero(~fixed)
    matrix = matrix[:, free].tocsr()
    row_keys = []
    for segment in c.rows.segments:
        prefix = "" if segment.block is m else segment.block.getname(fully_qualified=True) + "."
        row_keys += [(prefix + segment.name, _index(i)) for i in segment.index]
    row_keys += [_key(con) for con in c.rows.constraints]
    count: dict = {}
    for i, key in enumerate(row_keys):  # a ranged row comes twice: (key, 1) and (key, 2)
        count[key] = count.get(key, 0) + 1
        row_keys[i] = (*key, count[key])
    lower, upper = np.asarray(lp.row_lower_) - shift, np.asarray(lp.row_upper_) - shift
    empty = np.diff(matrix.indptr) == 0  # every column fixed: Pyomo leaves out a row that holds
    assert np.all(lower[empty] <= 1e-9)
    assert np.all(upper[empty] >= -1e-9)
    rows = np.flatnonzero(~empty)
    row_order = sorted(rows.tolist(), key=lambda i: repr(row_keys[i]))
    col_keys = [_key(c.columns[j]) for j in free]
    col_order = sorted(range(len(free)), key=lambda j: repr(col_keys[j]))
    integer = np.asarray(lp.integrality_, dtype=float) if len(lp.integrality_) \
        else np.zeros(lp.num_col_)
    return {"rows": [row_keys[i] for i in row_order], "columns": [col_keys[j] for j in col_order],
            "matrix": matrix[row_order][:, col_order],
            "row_bounds": np.c_[lower[row_order], upper[row_order]],
            "column_data": np.c_[np.asarray(lp.col_lower_)[free], np.asarray(lp.col_upper_)[free],
                                 integer[free], np.asarray(lp.col_cost_)[free]][col_order],
            "offset": lp.offset_ + np.asarray(lp.col_cost_) @ value}


def assert_same_model(m) -> None:
    """``m`` handed over with matrix rows equals ``m`` with Pyomo rows, compiled by Pyomo."""
    blocks = list(network_blocks(m))
    assert blocks, "the model has no network block with matrix rows"
    ours = canonical(m)
    for block in blocks:
        define_rows(block)
    assert not list(network_blocks(m))
    pyomo = canonical(m)
    # a column that no row or objective has, Pyomo leaves out: it must be free of everything
    kept = set(pyomo["columns"])
    extra = [j for j, key in enumerate(ours["columns"]) if key not in kept]
    assert not ours["matrix"][:, extra].nnz
    assert not ours["column_data"][extra, 3].any()
    keep = [j for j, key in enumerate(ours["columns"]) if key in kept]
    assert [ours["columns"][j] for j in keep] == pyomo["columns"]
    assert ours["rows"] == pyomo["rows"]
    np.testing.assert_allclose(ours["column_data"][keep], pyomo["column_data"], rtol=1e-12)
    np.testing.assert_allclose(ours["row_bounds"], pyomo["row_bounds"], rtol=1e-12, atol=1e-9)
    difference = ours["matrix"][:, keep] - pyomo["matrix"]
    scale = np.abs(pyomo["matrix"]).max() if pyomo["matrix"].nnz else 1.0
    assert difference.nnz == 0 or np.abs(difference).max() <= 1e-12 * scale
    assert ours["offset"] == pytest.approx(pyomo["offset"], rel=1e-12)


def shipped_models():
    for scenario_path in sorted((ROOT / "instances").glob("*/scenarios/*.toml")):
        folder = scenario_path.parents[1]
        yield pytest.param(folder, scenario_path, id=f"{folder.name}/{scenario_path.stem}")


def model_of(folder, scenario: Scenario):
    instance = load_instance(folder)
    if instance.spec.periods is None:
        return build(instance, scenario, SolverProfile())[0]
    nets = [prepare(instance, scenario, supply) for supply in instance.period_supply]
    return build_horizon_model(nets, instance.spec.periods, scenario.policies, scenario.objective)


@pytest.mark.parametrize(("folder", "scenario_path"), shipped_models())
def test_every_shipped_scenario(folder, scenario_path):
    assert_same_model(model_of(folder, load_scenario(scenario_path)))


def test_every_policy_and_objective_on_the_demo(tmp_path):
    assert {p["type"] for p in DEMO_POLICIES} == set(REGISTRY)
    for i, policy in enumerate(DEMO_POLICIES):
        parsed = (parse_policy(policy, tmp_path / "s.toml", i),)
        assert_same_model(model_of(DEMO, Scenario(name=policy["type"], policies=parsed)))
    for objective in ("value", "lexicographic"):
        assert_same_model(model_of(DEMO, Scenario(name=objective, objective=objective)))


def group_limit_instance(folder: Path) -> Path:
    """Collection and second life at one site (``hub``) under a site limit of 91 t."""
    sites = ("id,name,tier,lon,lat,capacity_group,group_capacity\n"
             "c1,C1,collection,0,0,hub,91\ns1,S1,second_life,0,0,hub,\np1,P1,plant,0,0,,\n")
    return write_instance(folder, GRADING_TOML.replace("SCOPE", "each"),
                          "id,name,lon,lat,supply_a\nr1,R1,0,0,100\n", sites,
                          distances__csv="origin,destination,km\nr1,c1,1\nc1,s1,1\nc1,p1,1\n")


def test_branch_tiers_capacity_groups_and_weak_linking(tmp_path):
    for folder in [*_instances(tmp_path), group_limit_instance(tmp_path / "group")]:
        net = prepare(load_instance(folder), Scenario(name="base"))
        for strong in (True, False):
            assert_same_model(build_model(net, (), "cost", strong))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny=tinies())
def test_random_small_instances(tiny):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tiny(Path(tmp) / "inst", tiny)
        assert_same_model(model_of(folder, Scenario(name="base")))


def test_closable_sites_modules_and_shared_locations_over_a_horizon(tmp_path):
    closable = horizon_instance(tmp_path / "closable")
    (closable / "sites.csv").write_text(
        "id,name,tier,lon,lat,existing_capacity,existing_fixed_cost,closure_cost\n"
        "f1,F1,plant,0,0,0,0,\nold,Old,plant,0,0,15,2000,1000\n")
    modules = horizon_instance(tmp_path / "modules", toml=(
        HORIZON_TOML.split("sizes = [")[0] + 'sizes = [{ name = "S", capacity = 50, '
        'fixed_cost = 2400 }]\nexpansion = "modules"\nmax_modules = 3\n'))
    shared = process_instance(tmp_path / "processes", "hydro;pyro")
    for folder in (closable, modules, shared):
        assert_same_model(model_of(folder, Scenario(name="base")))


def test_the_cases_above_cover_every_core_row(tmp_path):
    models = [build_model(prepare(load_instance(f), Scenario(name="base")))
              for f in [*_instances(tmp_path), group_limit_instance(tmp_path / "group")]]
    models.append(model_of(process_instance(tmp_path / "processes", "hydro;pyro"),
                           Scenario(name="base")))
    names = {s.name for m in models for s in compile_model(m).rows.segments}
    assert names == {"supply_balance", "conservation", "branch_share", "capacity_limit",
                     "shared_capacity", "aggregate_capacity", "min_throughput", "one_size",
                     "one_process", "link"}


def test_linear_form_reads_what_pyomo_reads_and_refuses_what_is_not_linear():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(4))
    m.x[3].fix(2.0)
    m.p = pyo.Param(initialize=3.0, mutable=True)
    m.e = pyo.Expression(expr=LinearExpression(linear_coefs=[1.5, -2.0],
                                               linear_vars=[m.x[0], m.x[1]]))
    column = {id(m.x[j]): j for j in range(4)}.__getitem__
    shapes = [2 * m.e - (m.x[2] * 4 + 1) + m.p * m.x[0] + m.e * 0.5 + 7 * m.x[3],
              -(m.x[0] + m.x[1]) + m.x[0] / 2]
    for expr in shapes:
        cols, coefs, constant = linear_form(expr, lambda v: column(id(v)))
        repn = generate_standard_repn(expr, compute_values=True)
        expected = {}
        for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True):
            expected[column(id(v))] = expected.get(column(id(v)), 0.0) + c
        assert dict(zip(cols.tolist(), coefs.tolist(), strict=True)) == pytest.approx(
            {j: c for j, c in expected.items() if c})
        assert constant == pytest.approx(float(repn.constant))
    with pytest.raises(ValueError, match="not a linear expression"):
        linear_form(m.x[0] * m.x[1] + m.e, lambda v: column(id(v)))
