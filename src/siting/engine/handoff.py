"""Hand a Pyomo model to HiGHS as one sparse matrix, and name its rows afterwards.

The core rows of every network block built with ``rows_in_matrix`` (the model, or each
period of a horizon) come from :mod:`siting.model.matrix`, assembled from the network's
arrays; the rest (policy rows, rows between periods, the objective) from Pyomo's
``LinearStandardFormCompiler``. Columns are the Pyomo variables, core blocks first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyomo.environ as pyo
from pyomo.common.numeric_types import native_numeric_types
from pyomo.core.expr.numeric_expr import (
    LinearExpression,
    MonomialTermExpression,
    NegationExpression,
    ProductExpression,
    SumExpression,
)
from pyomo.repn import generate_standard_repn
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from siting.errors import SetupError
from siting.model.matrix import COLUMN_BLOCKS, core_rows

try:  # every module of siting imports highspy from here (or from siting.engine.highs)
    import highspy
except Exception as exc:  # missing, or broken: a native library that fails to load
    raise SetupError(f"highspy is not installed or broken ({type(exc).__name__}: {exc}): "
                     "pip install --force-reinstall highspy") from None
from siting.sparse import sparse as sp


@dataclass
class Segment:
    """The matrix rows of one core constraint of one block, at their first positions."""

    block: Any
    name: str
    index: np.ndarray
    rows: np.ndarray


@dataclass
class RowMap:
    """What each row of the model in HiGHS stands for, as rows are deleted and added.

    Rows keep the positions they had when handed over (``alive`` marks those still in
    HiGHS): first the core rows (``segments``), then one Pyomo constraint per row
    (``constraints``; None for a row added later without one).
    """

    segments: list[Segment]
    constraints: list[Any]
    alive: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.first = sum(len(s.rows) for s in self.segments)
        self.alive = np.ones(self.first + len(self.constraints), dtype=bool)

    def add(self) -> None:
        """Record a row appended to the model with no constraint of its own."""
        self.constraints.append(None)
        self.alive = np.r_[self.alive, True]

    def drop(self, rows: np.ndarray) -> np.ndarray:
        """Mark the original ``rows`` deleted; return their positions in HiGHS now."""
        rows = rows[self.alive[rows]]
        now = np.cumsum(self.alive) - 1
        self.alive[rows] = False
        return now[rows].astype(np.int32)

    def segment(self, block, name: str) -> Segment | None:
        """Return the core rows of ``name`` in ``block``, if it has them in matrix form."""
        return next((s for s in self.segments if s.block is block and s.name == name), None)

    def duals(self, row_dual) -> Duals:
        """Place the duals of HiGHS's rows now (``row_dual``) at their original positions."""
        values = np.zeros(len(self.alive))
        values[self.alive] = row_dual
        return Duals(self, values)


@dataclass
class Duals:
    """Row duals of an LP (HiGHS's sign), by core constraint or by Pyomo constraint."""

    rows: RowMap
    values: np.ndarray

    def of(self, block, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Return the index and the dual of every row of the core constraint ``name``."""
        segment = self.rows.segment(block, name)
        if segment is not None:
            return segment.index, self.values[segment.rows]
        component = block.component(name)  # a model built with its core rows in Pyomo
        keys = list(component.keys()) if component is not None else []
        return np.array(keys), np.array([self.get(component[k]) for k in keys], dtype=float)

    def get(self, con, default: float = 0.0) -> float:
        """Return the dual of a Pyomo constraint (its rows' summed), ``default`` if none."""
        at = self._rows_of.get(id(con))
        return default if at is None else float(self.values[at].sum())

    @cached_property
    def _rows_of(self) -> dict[int, list[int]]:
        """The rows of each Pyomo constraint, by its id (a ranged one has two)."""
        rows: dict[int, list[int]] = {}
        for i, con in enumerate(self.rows.constraints):
            if con is not None:
                rows.setdefault(id(con), []).append(self.rows.first + i)
        return rows


@dataclass
class Compiled:
    """A model in matrix form: the HighsLp, and the Pyomo variable of each column."""

    lp: highspy.HighsLp
    columns: list
    position: dict[int, int]  # column of each variable, by id
    rows: RowMap
    integer: np.ndarray
    nonzeros: int


def network_blocks(m: pyo.Block) -> Iterator[pyo.Block]:
    """Yield the blocks of ``m`` whose core rows are left to the matrix (``rows_in_matrix``)."""
    for block in m.block_data_objects(active=True):
        if getattr(block, "rows_in_matrix", False):
            yield block


def linear_form(expr, column: Callable[[Any], int]) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the columns, coefficients and constant of a linear expression.

    Sums, named expressions, constant multiples, variables and ``LinearExpression`` terms
    are read here, a large sum in one pass; any other node is left to Pyomo's
    ``generate_standard_repn`` (which refuses a nonlinear one). ``column`` gives a
    variable's column. Coefficients of one column are summed; zeros are dropped.
    """
    cols: list[int] = []
    coefs: list[float] = []
    constant = 0.0
    stack = [(expr, 1.0)]
    while stack:
        node, scale = stack.pop()
        if node.__class__ in native_numeric_types:
            constant += scale * node
        elif node.is_variable_type():
            if node.fixed:
                constant += scale * node.value
            else:
                cols.append(column(node))
                coefs.append(scale)
        elif node.is_named_expression_type():
            stack.append((node.expr, scale))
        elif isinstance(node, LinearExpression) and _read_linear(node, scale, column, cols, coefs):
            continue
        elif isinstance(node, SumExpression):  # a LinearExpression read above is one too
            stack.extend((arg, scale) for arg in node.args)
        elif isinstance(node, MonomialTermExpression | ProductExpression) and \
                node.args[0].__class__ in native_numeric_types:
            stack.append((node.args[1], scale * node.args[0]))
        elif isinstance(node, NegationExpression):
            stack.append((node.args[0], -scale))
        else:
            repn = generate_standard_repn(node, compute_values=True, quadratic=False)
            if not repn.is_linear():
                raise ValueError(f"not a linear expression: {node}")
            cols += [column(v) for v in repn.linear_vars]
            coefs += [scale * c for c in repn.linear_coefs]
            constant += scale * float(repn.constant)
    if not cols:
        return np.zeros(0, dtype=np.int32), np.zeros(0), constant
    at, total = np.unique(np.asarray(cols), return_inverse=True)
    summed = np.bincount(total, weights=np.asarray(coefs, dtype=float), minlength=len(at))
    used = summed != 0
    return at[used].astype(np.int32), summed[used], constant


def _read_linear(node: LinearExpression, scale: float, column: Callable[[Any], int],
                 cols: list[int], coefs: list[float]) -> bool:
    """Read a ``LinearExpression`` of numeric coefficients and free variables in one pass.

    Returns False, reading nothing, when a term is anything else.
    """
    terms = node.args
    if not all(t.__class__ is MonomialTermExpression and t.args[0].__class__ is float
               and not t.args[1].fixed for t in terms):
        return False
    cols += [column(t.args[1]) for t in terms]
    coefs += [scale * t.args[0] for t in terms]
    return True


@dataclass
class _Core:
    """The core part of a model: its columns (Pyomo variables), rows and their names."""

    columns: list = field(default_factory=list)
    real: list = field(default_factory=list)  # positions of flows and uncollected tonnes
    parts: list = field(default_factory=list)  # (CSR rows, lower, upper)
    segments: list = field(default_factory=list)

    def add(self, block: pyo.Block) -> None:
        """Add the columns and core rows of one network block."""
        layout, blocks = core_rows(block.net, block.strong_linking)
        start = len(self.columns)
        for name in COLUMN_BLOCKS:
            if name in ("flow", "uncollected"):  # [0, inf), continuous
                self.real.append(len(self.columns) + np.arange(layout.sizes[name]))
            self.columns += list(block.component(name).values())
        n_rows = sum(len(s.rows) for s in self.segments)
        for rb in blocks:
            mat = rb.matrix
            self.parts.append((sp.csr_matrix((mat.data, mat.indices + start, mat.indptr),
                                             shape=mat.shape), rb.lower, rb.upper))
            self.segments.append(Segment(block, rb.name, rb.index,
                                         n_rows + np.arange(mat.shape[0])))
            n_rows += mat.shape[0]


def compile_model(m: pyo.ConcreteModel) -> Compiled:
    """Assemble ``m``'s core rows from its networks and compile the rest with Pyomo.

    The objective (minimised) is read by :func:`linear_form`.
    """
    objective = next(m.component_data_objects(pyo.Objective, active=True))
    if objective.sense != pyo.minimize:
        raise ValueError("the hand-off expects an objective to minimise")
    objective.deactivate()
    try:
        form = LinearStandardFormCompiler().write(m, mixed_form=True)
    finally:
        objective.activate()
    core = _Core()
    for block in network_blocks(m):
        core.add(block)
    columns = core.columns
    position = {id(v): j for j, v in enumerate(columns)}

    def column(var) -> int:
        j = position.get(id(var))
        if j is None:  # a variable no core row has (a policy's, or a horizon's)
            j = position[id(var)] = len(columns)
            columns.append(var)
        return j

    remap = np.array([column(v) for v in form.columns], dtype=np.int64)
    cost_cols, cost_coefs, offset = linear_form(objective.expr, column)
    n_cols = len(columns)
    A = form.A.tocsr()
    senses = np.array([sense for _, sense in form.rows], dtype=int)
    rhs = np.asarray(form.rhs, dtype=float)
    parts = [*core.parts, (sp.csr_matrix((A.data, remap[A.indices], A.indptr),
                                         shape=(A.shape[0], n_cols)),
                           np.where(senses <= 0, rhs, -highspy.kHighsInf),
                           np.where(senses >= 0, rhs, highspy.kHighsInf))]
    matrix = sp.vstack([sp.csr_matrix(p[0], shape=(p[0].shape[0], n_cols)) for p in parts],
                       format="csc")
    cost = np.zeros(n_cols)
    cost[cost_cols] = cost_coefs
    lower, upper, integer = _column_bounds(columns, core.real)
    row_lower, row_upper = (np.concatenate([p[i] for p in parts]) for i in (1, 2))
    lp = highs_lp(matrix, cost, (lower, upper), (row_lower, row_upper), offset=offset,
                  integer=integer)
    return Compiled(lp, columns, position, RowMap(core.segments, [con for con, _ in form.rows]),
                    integer, int(matrix.nnz))


def _column_bounds(columns: list, real: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """Lower and upper bounds and integrality of the columns; ``real`` are [0, inf) reals."""
    inf = highspy.kHighsInf
    lower, upper = np.zeros(len(columns)), np.full(len(columns), inf)
    integer = np.zeros(len(columns), dtype=bool)
    known = np.zeros(len(columns), dtype=bool)
    if real:
        known[np.concatenate(real)] = True
    for j in np.flatnonzero(~known).tolist():
        v = columns[j]
        lo, up = (v.value, v.value) if v.fixed else v.bounds
        lower[j] = -inf if lo is None else lo
        upper[j] = inf if up is None else up
        integer[j] = v.is_integer()
    return lower, upper, integer


def highs_lp(matrix, cost: np.ndarray, columns: tuple[np.ndarray, np.ndarray],
             rows: tuple[np.ndarray, np.ndarray], offset: float = 0.0,
             integer: np.ndarray | None = None) -> highspy.HighsLp:
    """Return the HighsLp of a scipy CSC ``matrix``, column bounds ``columns``, rows ``rows``.

    ``integer`` marks the integer columns (none when None or all False).
    """
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = matrix.shape
    lp.col_cost_, lp.offset_ = cost, offset
    lp.col_lower_, lp.col_upper_ = columns
    lp.row_lower_, lp.row_upper_ = rows
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_row_, lp.a_matrix_.num_col_ = matrix.shape
    lp.a_matrix_.start_, lp.a_matrix_.index_ = matrix.indptr, matrix.indices
    lp.a_matrix_.value_ = matrix.data
    if integer is not None and integer.any():
        kinds = [highspy.HighsVarType.kContinuous] * len(integer)
        for j in np.flatnonzero(integer).tolist():
            kinds[j] = highspy.HighsVarType.kInteger
        lp.integrality_ = kinds
    return lp
