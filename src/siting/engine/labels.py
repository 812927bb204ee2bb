"""What a run may call itself: the bound valid for the full problem, the gap, the label."""

from __future__ import annotations

from siting.engine.highs import gap

PROOF_GAP = 1e-9  # relative gap that proves a result even when the profile asks for 0
STOPPED = {"time_limit": "stopped at the time limit", "solution_limit": "stopped at the "
           "solution limit", "iteration_limit": "stopped at the iteration limit",
           "interrupted": "interrupted by the user"}


def report_bound(meta: dict, pruned: bool, bounds: list[tuple[float, str]]) -> None:
    """Make ``meta``'s best bound and gap those of the full problem, and say where it comes from.

    The bound is the largest of HiGHS's (valid only on an unpruned model) and ``bounds``
    (valid bounds of the full problem, each with its source: ``lagrangian``, ``pricing``).
    With none, ``best_bound`` and ``mip_gap`` are null and ``bound_valid`` false; HiGHS's
    own bound, of the model it solved, stays in ``highs_bound``.
    """
    meta["highs_bound"] = meta["best_bound"]
    candidates = [] if pruned or meta["best_bound"] is None else [(meta["best_bound"], "highs")]
    candidates += bounds
    meta["bound_valid"] = bool(candidates)
    if not candidates:
        meta.update(bound_source="pruned_model", best_bound=None, mip_gap=None)
        return
    bound, meta["bound_source"] = max(candidates)
    meta["best_bound"] = bound
    meta["mip_gap"] = gap(meta["objective"], bound)


def label(meta: dict, mip_rel_gap: float) -> None:
    """Set ``meta``'s status to what is known of the full problem, and say it in words.

    ``optimal`` only when HiGHS proved the unpruned model optimal, or the gap against a
    bound valid for the full problem is within ``mip_rel_gap``; else ``feasible`` when
    HiGHS finished (a pruned model), or why the run stopped (``time_limit``,
    ``interrupted``...). HiGHS's own status stays in ``solver_status``; ``status_text``
    says the status and the gap in words.
    """
    solver = meta["solver_status"] = meta["status"]
    valid = meta["bound_valid"]
    proven = valid and (meta["mip_gap"] <= mip_rel_gap
                        or solver == "optimal" and meta["bound_source"] == "highs")
    status = "optimal" if proven else "feasible" if solver == "optimal" else solver
    known = (f"gap {meta['mip_gap']:.3%} against a valid bound" if valid
             else "no valid bound for the full problem")
    meta["status"] = status
    meta["status_text"] = f"{STOPPED.get(status, status)}, {known}"
