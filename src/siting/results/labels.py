"""What a run may call itself, from its recorded figures alone: gap, status and its words.

The engine labels a run with these rules and the verifier applies them again to the
figures of solution.json (objective, bound, HiGHS's status, the profile's gap), so a label
is never more than its figures prove (docs/guarantees.md, *Honest labels*).
"""

from __future__ import annotations

PROOF_GAP = 1e-9
"""Relative gap that proves a result even when the profile asks for 0 (rounding)."""
MAX_OPTIMAL_GAP = 1e-4
"""The largest relative gap a run may call optimal, whatever its profile asks (0.01%)."""
STOPPED = {"time_limit": "stopped at the time limit", "solution_limit": "stopped at the "
           "solution limit", "iteration_limit": "stopped at the iteration limit",
           "interrupted": "interrupted by the user"}


STAGES = {"lexicographic": ("gap", "cost", "idle capacity")}
"""The objective modes solved in stages, each stage's optimum held for the next."""


def gap(objective: float, bound: float) -> float:
    """Relative gap between an objective and a bound, as HiGHS reports it."""
    if objective == bound:
        return 0.0
    return abs(objective - bound) / max(abs(objective), 1e-9)


def optimal_cap(mip_rel_gap: float) -> float:
    """Return the largest relative gap that proves a run optimal under ``mip_rel_gap``.

    The profile's gap, at least :data:`PROOF_GAP` and never above :data:`MAX_OPTIMAL_GAP`:
    a profile may stop HiGHS earlier (``mip_rel_gap``, ``mip_abs_gap``), but not widen
    what is called optimal.
    """
    return min(max(mip_rel_gap, PROOF_GAP), MAX_OPTIMAL_GAP)


def label_gap(meta: dict) -> float | None:
    """Return the gap a run's label follows: ``mip_gap``, or the largest of every stage's.

    ``meta["stages"]`` holds each stage's objective and HiGHS's bound, for a staged
    objective; a stage that did not run, or has no bound, leaves the run unproven (None).
    """
    stages, mip_gap = meta.get("stages"), meta["mip_gap"]
    if not stages or mip_gap is None:
        return mip_gap
    if any(s["objective"] is None or s["best_bound"] is None for s in stages):
        return None
    return max(mip_gap, *(gap(s["objective"], s["best_bound"]) for s in stages[:-1]))


def status_of(solver_status: str, mip_gap: float | None, cap: float) -> str:
    """Return a run's status: ``optimal`` when a valid bound proves it within ``cap``.

    ``mip_gap`` is the relative gap against a bound valid for the full problem (None
    without one). Otherwise ``feasible`` when HiGHS finished, or why it stopped
    (``time_limit``, ``interrupted``...).
    """
    if mip_gap is not None and mip_gap <= cap:
        return "optimal"
    return "feasible" if solver_status == "optimal" else solver_status


def status_text(status: str, mip_gap: float | None) -> str:
    """Say a run's status and what its bound proves, as the CLI and the maps show it."""
    known = (f"gap {mip_gap:.3%} against a valid bound" if mip_gap is not None
             else "no valid bound for the full problem")
    return f"{STOPPED.get(status, status)}, {known}"
