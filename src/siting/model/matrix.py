"""The core rows of :mod:`siting.model.core`, assembled as sparse matrices from the arrays.

The Pyomo model of ``core.py`` is the definition; this module builds the same rows (same
orientation, coefficients and bounds as Pyomo's standard-form compiler gives them) in a
few vectorised numpy/scipy steps, so that a large model reaches HiGHS at the speed of its
matrix. ``tests/test_matrix.py`` proves both agree for every shipped instance and policy.

The columns of one network are laid out in blocks: ``flow[k]``, then ``uncollected[i]``
(``UNCOLLECTABLE`` order), ``build[j]``, ``keep[f]`` (``CLOSABLE`` order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.instance.network import Network
from siting.instance.schema import per_stream
from siting.sparse import sparse as sp

COLUMN_BLOCKS = ("flow", "uncollected", "build", "keep")


@dataclass(frozen=True)
class RowBlock:
    """Rows of one core constraint: ``lower <= matrix @ columns <= upper``, one per index."""

    name: str  # the Pyomo constraint it stands for
    index: np.ndarray  # the constraint's index of each row ((site, stream) pairs: 2 columns)
    matrix: sp.csr_matrix
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class Columns:
    """Where each column block of one network starts, and the sites' linear forms.

    ``throughput``, ``capacity`` and ``is_open`` are (sites x columns) matrices; the
    constant parts (existing capacity, an existing site's being open) are the vectors
    ``capacity_const`` and ``open_const``.
    """

    sizes: dict[str, int]
    throughput: sp.csr_matrix
    capacity: sp.csr_matrix
    capacity_const: np.ndarray
    is_open: sp.csr_matrix
    open_const: np.ndarray

    @property
    def count(self) -> int:
        """Number of columns."""
        return sum(self.sizes.values())

    def start(self, block: str) -> int:
        """First column of ``block`` (one of :data:`COLUMN_BLOCKS`)."""
        return sum(self.sizes[b] for b in COLUMN_BLOCKS[:COLUMN_BLOCKS.index(block)])


def column_positions(net: Network) -> dict[str, np.ndarray]:
    """Return the index of every column within its block's Pyomo variable, by block."""
    pair_s = np.nonzero(net.supply > 0)[1]
    return {"flow": np.arange(len(net.flow_arc)),
            "uncollected": np.flatnonzero(~np.isnan(net.penalty[pair_s])),
            "build": np.arange(len(net.option_site)),
            "keep": np.flatnonzero(~np.isnan(net.site_closure_cost))}


def columns(net: Network) -> Columns:
    """Lay out the columns of ``net``; each site's throughput, capacity and open status."""
    index = column_positions(net)
    sizes = {name: len(index[name]) for name in COLUMN_BLOCKS}
    n_sites, n_cols = len(net.site_tier), sum(sizes.values())
    starts = np.cumsum([0, *sizes.values()])
    build0, keep0 = starts[2], starts[3]
    closable = index["keep"]
    existing = net.site_existing.copy()

    def site_matrix(sites, cols, vals) -> sp.csr_matrix:
        m = sp.csr_matrix((vals, (sites, cols)), shape=(n_sites, n_cols))
        m.eliminate_zeros()
        return m

    throughput = site_matrix(net.flow_dest, index["flow"], np.ones(sizes["flow"]))
    capacity = site_matrix(np.r_[net.option_site, closable],
                           np.r_[build0 + index["build"], keep0 + np.arange(len(closable))],
                           np.r_[net.option_capacity, existing[closable]])
    capacity_const = existing.copy()
    capacity_const[closable] = 0.0
    candidate = existing <= 0
    candidate[closable] = False
    opts = candidate[net.option_site]
    is_open = site_matrix(np.r_[net.option_site[opts], closable],
                          np.r_[build0 + index["build"][opts], keep0 + np.arange(len(closable))],
                          np.ones(opts.sum() + len(closable)))
    open_const = (existing > 0).astype(float)
    open_const[closable] = 0.0
    return Columns(sizes, throughput, capacity, capacity_const, is_open, open_const)


def core_rows(net: Network, strong_linking: bool) -> tuple[Columns, list[RowBlock]]:
    """Assemble the core rows of ``net`` (``core.define_network`` without policies)."""
    cols = columns(net)
    blocks = [supply_balance(net, cols), *conservation(net, cols), *branch_shares(net, cols),
              *capacity_rows(net, cols)]
    if strong_linking:
        blocks.append(linking(net, cols))
    return cols, [b for b in blocks if len(b.index)]


def _block(name: str, index, matrix, lower, upper) -> RowBlock:
    matrix = sp.csr_matrix(matrix)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    n = matrix.shape[0]
    return RowBlock(name, np.asarray(index), matrix,
                    np.broadcast_to(np.asarray(lower, dtype=float), n).copy(),
                    np.broadcast_to(np.asarray(upper, dtype=float), n).copy())


def _unit_rows(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int,
               vals: np.ndarray | float = 1.0) -> sp.csr_matrix:
    return sp.csr_matrix((np.broadcast_to(vals, len(rows)), (rows, cols)), shape=(n_rows, n_cols))


def supply_balance(net: Network, cols: Columns) -> RowBlock:
    """``sum_{a out of r} x[a,s] + u[r,s] = q[r,s]`` per supplied pair."""
    pair_r, pair_s = np.nonzero(net.supply > 0)
    pair_of = np.full(net.supply.shape, -1)
    pair_of[pair_r, pair_s] = np.arange(len(pair_r))
    region = np.flatnonzero(net.flow_from_region)
    optional = column_positions(net)["uncollected"]
    rows = np.r_[pair_of[net.flow_origin[region], net.flow_stream[region]], optional]
    at = np.r_[region, cols.start("uncollected") + np.arange(len(optional))]
    q = net.supply[pair_r, pair_s]
    return _block("supply_balance", np.arange(len(q)),
                  _unit_rows(rows, at, len(q), cols.count), q, q)


def conservation(net: Network, cols: Columns) -> list[RowBlock]:
    """``sum_{a into f} x[a,s] - sum_{a out of f} x[a,s] = 0`` at intermediate tiers."""
    ends = [i for i, tier in enumerate(net.instance.spec.tiers.values())
            if tier.branch is not None]
    sites = (net.site_tier < net.n_tiers - 1) & ~np.isin(net.site_tier, ends)
    n_streams = net.supply.shape[1]
    dest_key = net.flow_dest * n_streams + net.flow_stream
    out_key = np.where(net.flow_from_region, -1, net.flow_origin * n_streams + net.flow_stream)
    into = sites[net.flow_dest]
    out = ~net.flow_from_region & sites[np.where(net.flow_from_region, 0, net.flow_origin)]
    keys = np.unique(np.r_[dest_key[into], out_key[out]])
    if not len(keys):
        return []
    flows = np.arange(len(net.flow_arc))
    rows = np.r_[np.searchsorted(keys, dest_key[into]), np.searchsorted(keys, out_key[out])]
    matrix = _unit_rows(rows, np.r_[flows[into], flows[out]], len(keys), cols.count,
                        np.r_[np.ones(into.sum()), -np.ones(out.sum())])
    index = np.c_[keys // n_streams, keys % n_streams]
    return [_block("conservation", index, matrix, 0.0, 0.0)]


def branch_shares(net: Network, cols: Columns) -> list[RowBlock]:
    """``sum_{a: f -> branch} x[a,s] - share[s] * sum_{a into f} x[a,s] = 0`` (see core)."""
    rows = branch_rows(net)
    if not rows:
        return []
    r, k, v = [], [], []
    for i, (share, into, out, _, _) in enumerate(rows):
        r += [i] * (len(out) + len(into))
        k += out + into
        v += [1.0] * len(out) + [-share] * len(into)
    matrix = sp.csr_matrix((v, (r, k)), shape=(len(rows), cols.count))
    return [_block("branch_share", np.arange(len(rows)), matrix, 0.0, 0.0)]


def branch_rows(net: Network) -> list[tuple[float, list[int], list[int], int, list[int]]]:
    """Each branch-share row: share, flows in, flows out, stream, and its source sites."""
    tiers = list(net.instance.spec.tiers.values())
    names = list(net.instance.spec.tiers)
    dest_tier = net.site_tier[net.flow_dest]
    rows = []
    for b, tier in enumerate(tiers):
        if tier.branch is None:
            continue
        source = names.index(tier.branch.source)
        each = tier.branch.scope == "each"
        sources = np.flatnonzero(net.site_tier == source)
        for s, stream in enumerate(net.instance.streams):
            share = per_stream(tier.branch.share, stream)
            into = (dest_tier == source) & (net.flow_stream == s)
            out = (dest_tier == b) & (net.flow_stream == s) & ~net.flow_from_region
            key = net.flow_dest if each else np.zeros_like(net.flow_dest)
            okey = net.flow_origin if each else key
            for site in np.unique(key[into]).tolist():
                rows.append((share, np.flatnonzero(into & (key == site)).tolist(),
                             np.flatnonzero(out & (okey == site)).tolist(), s,
                             [site] if each else sources.tolist()))
    return rows


def capacity_rows(net: Network, cols: Columns) -> list[RowBlock]:
    """Capacity, shared limits, aggregate capacity, minimum throughput, one size/process."""
    used = np.flatnonzero(np.bincount(net.flow_dest, minlength=len(net.site_tier)) > 0)
    blocks = [_block("capacity_limit", used, cols.throughput[used] - cols.capacity[used],
                     -np.inf, cols.capacity_const[used])]
    limits = shared_limits(net)
    if limits:
        members = sp.csr_matrix(
            (np.ones(sum(len(m) for m, _ in limits)),
             (np.repeat(np.arange(len(limits)), [len(m) for m, _ in limits]),
              np.concatenate([m for m, _ in limits]))), shape=(len(limits), len(net.site_tier)))
        blocks.append(_block("shared_capacity", np.arange(len(limits)),
                             members @ cols.throughput, -np.inf, [lim for _, lim in limits]))
    mandatory = float(net.supply[:, np.isnan(net.penalty)].sum())
    receiving = np.unique(net.flow_dest[net.flow_from_region])
    total = cols.capacity[receiving].sum(axis=0)
    if mandatory > 0 and np.any(total):
        blocks.append(_block("aggregate_capacity", np.array([None]), total,
                             mandatory - cols.capacity_const[receiving].sum(), np.inf))
    start = cols.start("build")
    has_min = np.zeros(len(net.site_tier), dtype=bool)
    has_min[net.option_site[net.option_min > 0]] = True
    with_min = used[has_min[used]]
    minimum = sp.csr_matrix((net.option_min, (net.option_site, start + np.arange(
        len(net.option_site)))), shape=(len(net.site_tier), cols.count))
    blocks.append(_block("min_throughput", with_min,
                         minimum[with_min] - cols.throughput[with_min], -np.inf, 0.0))
    n_options = np.bincount(net.option_site, minlength=len(net.site_tier))
    exclusive = np.ones(len(net.site_tier), dtype=bool)
    exclusive[net.option_site[net.option_most > 1]] = False
    one = np.flatnonzero((n_options > 1) & exclusive & (cols.open_const == 0))
    blocks.append(_block("one_size", one, cols.is_open[one], -np.inf, 1.0))
    sites = net.instance.sites
    located = sites.groupby("location").indices if "location" in sites.columns else {}
    shared = [rows for rows in located.values() if len(rows) > 1]
    if shared:
        group = sp.csr_matrix(
            (np.ones(sum(len(r) for r in shared)),
             (np.repeat(np.arange(len(shared)), [len(r) for r in shared]),
              np.concatenate(shared))), shape=(len(shared), len(net.site_tier)))
        blocks.append(_block("one_process", np.arange(len(shared)), group @ cols.is_open,
                             -np.inf, 1.0 - group @ cols.open_const))
    return blocks


def linking(net: Network, cols: Columns) -> RowBlock:
    """``x[a,s] - q[r,s] * open[f] <= q[r,s] * (f is open as it stands)`` (see core)."""
    k = link_rows(net)
    q = net.supply[net.flow_origin[k], net.flow_stream[k]]
    dest = net.flow_dest[k]
    flows = _unit_rows(np.arange(len(k)), k, len(k), cols.count)
    return _block("link", k, flows - sp.diags(q) @ cols.is_open[dest], -np.inf,
                  q * cols.open_const[dest])


def shared_limits(net: Network) -> list[tuple[list[int], float]]:
    """Each ``capacity_group`` with a ``group_capacity``: its sites' positions and that limit."""
    sites = net.instance.sites
    limit = sites["group_capacity"].to_numpy()
    return [(rows.tolist(), float(limit[rows[0]]))
            for name, rows in sites.groupby("capacity_group").indices.items()
            if name and not np.isnan(limit[rows[0]])]


def link_rows(net: Network) -> np.ndarray:
    """Flows that strong linking bounds: from a region into a candidate (not existing) site."""
    return np.flatnonzero(net.flow_from_region & (net.site_existing[net.flow_dest] == 0))
