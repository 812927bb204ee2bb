"""What a run may call itself: the bound valid for the full problem, the gap, the label."""

from __future__ import annotations

from siting.results.labels import gap, label_gap, optimal_cap, status_of, status_text


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

    ``optimal`` only when the gap against a bound valid for the full problem (of every
    stage, for a staged objective: :func:`siting.results.labels.label_gap`) is within
    :func:`siting.results.labels.optimal_cap` of the profile's ``mip_rel_gap`` (HiGHS's own
    word counts for nothing: an absolute gap or a cut-off can make it say optimal); else
    ``feasible`` when HiGHS finished, or why the run stopped (``time_limit``,
    ``interrupted``...). HiGHS's own status stays in ``solver_status``; ``status_text``
    says the status and the gap in words.
    """
    proven = label_gap(meta)
    meta["solver_status"] = meta["status"]
    meta["status"] = status_of(meta["status"], proven, optimal_cap(mip_rel_gap))
    meta["status_text"] = status_text(meta["status"], proven)
