"""The HiGHS options a solver profile may set, and the range of those that change the model.

Read by the profile loader (:func:`siting.engine.highs.load_profile`) and by the verifier,
which checks the profile a run records; plain data, so the verifier needs no HiGHS.
"""

from __future__ import annotations

import math

PROFILE_OPTIONS = frozenset({
    # algorithm choice and presolve
    "presolve", "solver", "parallel", "run_crossover", "simplex_strategy",
    "simplex_scale_strategy", "simplex_dual_edge_weight_strategy",
    "simplex_primal_edge_weight_strategy", "simplex_max_concurrency", "simplex_update_limit",
    # numerics and tolerances
    "infinite_cost", "infinite_bound", "small_matrix_value", "large_matrix_value",
    "kkt_tolerance", "primal_feasibility_tolerance", "dual_feasibility_tolerance",
    "primal_residual_tolerance", "dual_residual_tolerance", "optimality_tolerance",
    "ipm_optimality_tolerance", "mip_feasibility_tolerance",
    # limits and targets
    "objective_target", "simplex_iteration_limit", "ipm_iteration_limit",
    "mip_max_nodes", "mip_max_stall_nodes", "mip_max_start_nodes", "mip_max_leaves",
    "mip_max_improving_sols", "mip_abs_gap",
    # branch and bound search and heuristics
    "mip_detect_symmetry", "mip_allow_restart", "mip_root_presolve_only",
    "mip_lifting_for_probing", "mip_lp_age_limit", "mip_pool_age_limit", "mip_pool_soft_limit",
    "mip_pscost_minreliable", "mip_min_cliquetable_entries_for_parallelism",
    "mip_heuristic_effort", "mip_heuristic_run_feasibility_jump", "mip_heuristic_run_rins",
    "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost",
    "mip_heuristic_run_zi_round", "mip_heuristic_run_shifting",
    "mip_allow_cut_separation_at_nodes", "mip_lp_solver", "mip_ipm_solver",
})
"""The HiGHS options a profile file's [options] may set: none reads or writes a file or
prints, and none duplicates a [solver] setting (time_limit, mip_rel_gap, threads, seed).
None changes the model or HiGHS's proof beyond :data:`OPTION_LIMITS` (those that would
are :data:`UNSOUND_OPTIONS`). ``mip_abs_gap`` may stop HiGHS early, but the label follows
the relative gap (:mod:`siting.results.labels`)."""
UNSOUND_OPTIONS = {
    "objective_bound": "a cut-off below the optimum leaves HiGHS proving a worse network "
                       "optimal",
    "user_objective_scale": "it scales the objective, and so loosens every optimality "
                            "tolerance",
    "user_bound_scale": "it scales the bounds, and so loosens every feasibility tolerance",
}
"""HiGHS options left out of :data:`PROFILE_OPTIONS` because they change what is called
optimal, and why."""
OPTION_LIMITS: dict[str, tuple[float, float]] = {
    # below it, a coefficient is dropped from the matrix; a cost or bound above it is infinite
    "small_matrix_value": (0.0, 1e-9), "large_matrix_value": (1e15, math.inf),
    "infinite_cost": (1e20, math.inf), "infinite_bound": (1e20, math.inf),
    # a looser tolerance accepts infeasible networks or bounds that are not bounds
    "primal_feasibility_tolerance": (0.0, 1e-7), "dual_feasibility_tolerance": (0.0, 1e-7),
    "primal_residual_tolerance": (0.0, 1e-7), "dual_residual_tolerance": (0.0, 1e-7),
    "kkt_tolerance": (0.0, 1e-7), "optimality_tolerance": (0.0, 1e-7),
    "ipm_optimality_tolerance": (0.0, 1e-8), "mip_feasibility_tolerance": (0.0, 1e-6),
}
"""The range a profile may set each option that changes the model or what HiGHS proves:
never looser than HiGHS's default (the end of the range it lies at)."""


def limit_problem(name: str, value: object) -> str | None:
    """Say why option ``name`` may not take ``value`` (None when it may, or has no limit).

    An option of :data:`UNSOUND_OPTIONS` may take no value.
    """
    if name in UNSOUND_OPTIONS:
        return f"changes what is called optimal: {UNSOUND_OPTIONS[name]}"
    if name not in OPTION_LIMITS:
        return None
    low, high = OPTION_LIMITS[name]
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if low <= number <= high:
        return None
    limit = f"at least {low:g}" if high == math.inf else f"at most {high:g}"
    return (f"{value!r} would change the model or what is called optimal: {limit} "
            "(HiGHS's default; docs/guarantees.md)")
