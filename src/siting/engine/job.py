"""A run's inputs, its one budget, and what each step reports: the object steps share."""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from siting.engine.budget import Budget
from siting.engine.highs import Progress, SolverProfile, gap, highspy, load_profile
from siting.instance.load import Instance, load_instance
from siting.model.spec import ModelSpec
from siting.scenario import Scenario, find_scenario, load_scenario

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Status:
    """What the live display shows: the step, the time, the best network, bound and gap."""

    step: str
    elapsed: float
    limit: float
    incumbent: float | None
    bound: float | None
    gap: float | None
    target: float


@dataclass(frozen=True)
class Candidate:
    """A network found by a step: its cost, where it comes from, and its MIP start."""

    cost: float
    source: str
    start: Callable[[Any], dict]  # model -> {Pyomo variable: value}
    routed: np.ndarray | None = None  # flows (network positions) its transportation LP used


@dataclass
class Job:
    """One run: its inputs, its budget, the networks and bounds found, each step's report."""

    instance: Instance
    scenario: Scenario
    profile: SolverProfile
    spec: ModelSpec
    budget: Budget
    listener: Callable[[Status], None] | None = None
    reports: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    bounds: list[tuple[float, str]] = field(default_factory=list)
    step_name: str = "load"
    highs_bound_valid: bool = False  # HiGHS's bound is one of the full problem (unpruned)
    relaxed: Any = None  # the Lagrangian's result, when it ran

    @classmethod
    def of(cls, instance: str | Path | Instance, scenario: str | Path | Scenario | None,
           solver: str | Path | SolverProfile, strong_linking: bool,
           budget: Budget | None = None,
           listener: Callable[[Status], None] | None = None) -> Job:
        """Load what a run needs; its budget starts now unless one is given."""
        profile = solver if isinstance(solver, SolverProfile) else load_profile(solver)
        budget = budget or Budget(profile.time_limit)
        budget.limit = profile.time_limit
        t0 = time.perf_counter()
        if not isinstance(instance, Instance):
            instance = load_instance(instance)
        scenario = resolve_scenario(instance.path, scenario)
        spec = ModelSpec(tuple(scenario.policies), scenario.objective, strong_linking)
        job = cls(instance, scenario, profile, spec, budget, listener)
        job.timings["load_s"] = time.perf_counter() - t0
        return job

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step (seconds by name in ``timings['steps']``) and show it as current."""
        self.step_name = name
        self.show()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            steps = self.timings.setdefault("steps", {})
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - t0

    def offer(self, candidate: Candidate) -> None:
        """Keep a network a step found (the cheapest is the run's best so far)."""
        self.candidates.append(candidate)
        self.show()

    def best(self) -> Candidate | None:
        """Return the cheapest network found so far (None before any; ties: the newest)."""
        return min(reversed(self.candidates), key=lambda c: c.cost, default=None)

    def show(self, progress: Progress | None = None) -> None:
        """Tell the listener where the run stands; ``progress`` is HiGHS's, when it solves."""
        if self.listener is None:
            return
        best = self.best()
        incumbent = best and best.cost
        if progress is not None and progress.incumbent is not None:
            incumbent = min(progress.incumbent, incumbent or float("inf"))
        bounds = [b for b, _ in self.bounds]
        if progress is not None and self.highs_bound_valid and math.isfinite(progress.bound):
            bounds.append(progress.bound)
        bound = max(bounds, default=None)
        known = incumbent is not None and bound is not None
        self.listener(Status(self.step_name, self.budget.elapsed(), self.budget.limit,
                             incumbent, bound, gap(incumbent, bound) if known else None,
                             self.profile.mip_rel_gap))


def resolve_scenario(instance_dir: Path | None,
                     scenario: str | Path | Scenario | None) -> Scenario:
    """Return the Scenario of a name in the instance's scenarios/ folder, a path, or None."""
    if isinstance(scenario, Scenario):
        return scenario
    if scenario is None:
        return Scenario()
    return load_scenario(find_scenario(scenario, instance_dir))


def versions() -> dict[str, str]:
    """Versions of siting and of the libraries that decide its results."""
    return {"siting": version("siting"), "pyomo": version("pyomo"),
            "highspy": highspy.Highs().version(), "python": platform.python_version()}


def run_meta(job: Job) -> dict:
    """Provenance of a run: instance, scenario, solver, versions, streams, tiers, timings."""
    instance = job.instance
    return {
        "siting_version": version("siting"),
        "instance": {"name": instance.name, "path": instance.path and str(instance.path),
                     "hash": instance.hash, "currency": instance.spec.instance.currency,
                     "empty_cells": instance.empty_cells},
        "scenario": job.scenario.describe(),
        "solver": job.profile.model_dump(mode="json"),
        "versions": versions(),
        "streams": [{"id": s, "label": instance.spec.streams[s].label or s}
                    for s in instance.streams],
        "tiers": instance.tiers,
        "timings": {k: v for k, v in job.timings.items() if k != "steps"},
        "warnings": instance.warnings,
    }
