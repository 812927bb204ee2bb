"""The matrix model: siting's core formulation assembled by hand as one sparse matrix.

An independent baseline for the hand-off benchmarks. It reads the same data as siting (the
instance loaded and turned into network arrays by ``siting.instance``), then writes the
rows of docs/model.md for a one-tier network straight into a ``highspy.HighsLp``: no Pyomo
and no code of ``siting.model`` or ``siting.engine``, so importing it costs numpy, scipy,
highspy and the loader only.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from siting.instance.network import Network


def floor_highs(net: Network, strong: bool) -> highspy.Highs:
    """The core model of a one-tier network assembled directly as a HiGHS matrix.

    Columns are flows, builds, then uncollected tonnes; rows are supply balances, capacity,
    minimum throughput, one size per site and (``strong``) the linking rows: the same rows
    and coefficients as :func:`siting.model.core.build_model` gives with no policies.
    """
    if net.n_tiers != 1:
        raise ValueError("the floor is written for one-tier networks")
    n_flow, n_opt = len(net.flow_arc), len(net.option_site)
    n_site = len(net.site_tier)
    pair_r, pair_s = np.nonzero(net.supply > 0)
    pair_of = np.full(net.supply.shape, -1)
    pair_of[pair_r, pair_s] = np.arange(len(pair_r))
    optional = np.flatnonzero(~np.isnan(net.penalty[pair_s]))
    n_unc = len(optional)
    flows, builds, unc = np.arange(n_flow), n_flow + np.arange(n_opt), n_flow + n_opt
    dest, cap, low = net.flow_dest, net.option_capacity, net.option_min
    blocks, lower, upper = [], [], []

    def add(rows, cols, vals, n_rows, lo, up):
        blocks.append((np.asarray(rows) + sum(len(b) for b in lower), cols, vals))
        lower.append(np.broadcast_to(lo, n_rows))
        upper.append(np.broadcast_to(up, n_rows))

    q = net.supply[pair_r, pair_s]
    add(np.concatenate([pair_of[net.flow_origin, net.flow_stream], optional]),
        np.concatenate([flows, unc + np.arange(n_unc)]), np.ones(n_flow + n_unc), len(q), q, q)
    used = np.unique(dest)
    row_of = np.full(n_site, -1)
    row_of[used] = np.arange(len(used))
    opt_used = np.isin(net.option_site, used)
    add(np.concatenate([row_of[dest], row_of[net.option_site[opt_used]]]),
        np.concatenate([flows, builds[opt_used]]),
        np.concatenate([np.ones(n_flow), -cap[opt_used]]), len(used), -np.inf,
        net.site_existing[used])
    with_min = np.intersect1d(used, np.unique(net.option_site[low > 0]))
    row_of[:] = -1
    row_of[with_min] = np.arange(len(with_min))
    f_in, o_in = row_of[dest] >= 0, (row_of[net.option_site] >= 0)
    add(np.concatenate([row_of[dest][f_in], row_of[net.option_site][o_in]]),
        np.concatenate([flows[f_in], builds[o_in]]),
        np.concatenate([np.ones(f_in.sum()), -low[o_in]]), len(with_min), 0.0, np.inf)
    counts = np.bincount(net.option_site, minlength=n_site)
    multi = np.flatnonzero(counts > 1)
    row_of[:] = -1
    row_of[multi] = np.arange(len(multi))
    o_in = row_of[net.option_site] >= 0
    add(row_of[net.option_site][o_in], builds[o_in], np.ones(o_in.sum()), len(multi), -np.inf, 1.0)
    if strong:
        k = np.flatnonzero(net.flow_from_region & (net.site_existing[dest] == 0))
        r = np.arange(len(k))
        site_opts = sp.csr_matrix((np.ones(n_opt), (net.option_site, np.arange(n_opt))),
                                  shape=(n_site, n_opt))
        opts = site_opts[dest[k]].tocoo()
        q_k = net.supply[net.flow_origin[k], net.flow_stream[k]]
        add(np.concatenate([r, opts.row]), np.concatenate([k, builds[opts.col]]),
            np.concatenate([np.ones(len(k)), -q_k[opts.row]]), len(k), -np.inf, 0.0)
    rows = np.concatenate([b[0] for b in blocks])
    cols = np.concatenate([b[1] for b in blocks])
    vals = np.concatenate([b[2] for b in blocks])
    n_col, n_row = n_flow + n_opt + n_unc, sum(len(b) for b in lower)
    A = sp.csc_matrix((vals, (rows, cols)), shape=(n_row, n_col))
    finance = net.instance.spec.finance
    annuity = finance.annuity_factor if finance else 0.0
    lp = highspy.HighsLp()
    lp.num_row_, lp.num_col_ = n_row, n_col
    lp.col_cost_ = np.concatenate([net.flow_transport_cost + net.flow_processing_cost,
                                   net.option_fixed + annuity * net.option_capex,
                                   net.penalty[pair_s[optional]]])
    lp.offset_ = float(net.instance.sites["existing_fixed_cost"].sum())
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.concatenate([np.full(n_flow, np.inf), np.ones(n_opt),
                                    np.full(n_unc, np.inf)])
    lp.row_lower_, lp.row_upper_ = np.concatenate(lower), np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_row_, lp.a_matrix_.num_col_ = n_row, n_col
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = A.indptr, A.indices, A.data
    lp.integrality_ = ([highspy.HighsVarType.kContinuous] * n_flow
                       + [highspy.HighsVarType.kInteger] * n_opt
                       + [highspy.HighsVarType.kContinuous] * n_unc)
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(lp)
    return highs
