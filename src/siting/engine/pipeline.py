"""The run: instance folder -> network -> model -> HiGHS -> :class:`Solution`.

Read top to bottom, :func:`run` is the whole pipeline. One :class:`~siting.engine.job.Job`
carries the inputs, the budget and each step's report; every step spends work units and
returns early once the run must stop (docs/architecture.md says how the time is shared).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from siting.engine.budget import Budget
from siting.engine.highs import SolverProfile
from siting.engine.horizon import solve_horizon
from siting.engine.job import Job, Status
from siting.engine.steps import (
    build_model,
    drop_unused_links,
    exchange_sites,
    extract,
    prepare_network,
    price_and_resolve,
    relax,
    solve_stages,
    warm_start,
)
from siting.instance.load import Instance
from siting.results.solution import Solution
from siting.scenario import Scenario


def solve(instance: str | Path | Instance, scenario: str | Path | Scenario | None = None,
          solver: str | Path | SolverProfile = "highs", strong_linking: bool = True, *,
          budget: Budget | None = None,
          listener: Callable[[Status], None] | None = None) -> Solution:
    """Solve an instance under a scenario and return the verified-ready :class:`Solution`.

    The profile's ``time_limit`` bounds the whole run (from ``budget``'s start when one is
    given). Ctrl-C or SIGTERM stops it with the best network found so far, labelled
    ``interrupted``; ``listener`` is told where the run stands as it goes. Raises
    :class:`~siting.errors.InfeasibleError` when no network meets the scenario,
    :class:`~siting.errors.SolverError` when the run stops before finding any network,
    and :class:`KeyboardInterrupt` when it is interrupted before one.
    """
    job = Job.of(instance, scenario, solver, strong_linking, budget, listener)
    with job.budget.stoppable():
        return run(job)


def run(job: Job) -> Solution:
    """Run the steps of a solve in order and return its :class:`Solution`."""
    if job.instance.spec.periods is not None:
        return solve_horizon(job)
    net = prepare_network(job)
    built = build_model(job, net)       # pruned as the profile says, compiled once
    built = relax(job, built)           # Lagrangian bound, network and fixings
    built = exchange_sites(job, built)  # close and swap moves where the warm start cannot help
    warm_start(job, net)                # the problem restricted to the nearest sites
    drop_unused_links(job, built)       # lean linking, on the same HiGHS model
    solve_stages(job, built)            # HiGHS, from the best network found so far
    built = price_and_resolve(job, built)
    return extract(job, built)          # label, bound, reports; the best network if stopped
