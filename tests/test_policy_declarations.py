"""Policies declare what the engine may do with them, and the engine's checks read that."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Literal

import numpy as np
import pandas as pd
import pytest

from siting.engine import pricing
from siting.engine.heuristics import lagrangian
from siting.engine.horizon import _check_supported
from siting.errors import ScenarioError
from siting.model.policies import REGISTRY, Policy
from siting.scenario import Scenario

DECLARED = {"priced": bool, "relaxed": bool, "per_period": str | None, "counts_sites": bool,
            "reads_tier_rates": bool}
NO_LIMIT = pd.DataFrame({"group_capacity": [np.nan]})
ONE_TIER = SimpleNamespace(n_tiers=1, option_most=np.array([1]),
                           instance=SimpleNamespace(sites=NO_LIMIT))
PROFILE = SimpleNamespace(name="highs", nearest_sites=False, heuristic_start=False)


class Fake(Policy):
    type: Literal["fake"] = "fake"


def fake(**flags: object) -> Policy:
    """An unregistered policy without rows that declares ``flags``."""
    return type("Declaring", (Fake,), flags)()


def refusal(policy: Policy, expansion: str = "sizes", processes: dict | None = None) -> str | None:
    """The horizon's refusal of ``policy`` on a tier built by ``expansion``, else None."""
    tier = SimpleNamespace(expansion=expansion, processes=processes)
    instance = SimpleNamespace(spec=SimpleNamespace(tiers={"plant": tier}))
    try:
        _check_supported(instance, Scenario(policies=(policy,)), PROFILE)
    except ScenarioError as error:
        return error.message
    return None


def test_policy_has_exactly_the_declarations_the_engine_reads():
    assert set(Policy.__class_vars__) == {"summary", "unit", "one_more", *DECLARED}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_policy_declares_what_it_supports(name):
    for flag, kind in DECLARED.items():
        assert isinstance(getattr(REGISTRY[name], flag), kind), flag


def test_declarations_are_what_the_engine_knew_by_name():
    def declaring(flag: str) -> set[str]:
        return {name for name, cls in REGISTRY.items() if getattr(cls, flag)}

    assert declaring("priced") == declaring("relaxed") == {"facility_count"}
    assert {name: cls.per_period for name, cls in REGISTRY.items() if cls.per_period} == {
        "capex_budget": "its budget would be spent again in every period"}
    assert declaring("counts_sites") == {"facility_count", "force_open"}
    assert declaring("reads_tier_rates") == {"carbon_cap", "carbon_price", "min_recovery"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_engine_checks_follow_each_registered_policy(name):
    cls = REGISTRY[name]
    policy = cls.model_construct()
    assert (pricing.not_applicable([policy], "cost") is None) == cls.priced
    assert (lagrangian.not_applicable(ONE_TIER, [policy], "cost") is None) == cls.relaxed
    assert (refusal(policy) is None) == (cls.per_period is None)
    if cls.per_period is None:
        assert (refusal(policy, "modules") is None) == (not cls.counts_sites)
        assert (refusal(policy, processes={"hydro": {}}) is None) == (not cls.reads_tier_rates)


def test_pricing_follows_the_declaration():
    assert pricing.not_applicable([fake()], "cost") == (
        "the scenario has policies other than facility_count")
    assert pricing.not_applicable([fake(priced=True)], "cost") is None
    assert pricing.not_applicable([fake(relaxed=True)], "cost") is not None


def test_lagrangian_follows_the_declaration():
    assert lagrangian.not_applicable(ONE_TIER, [fake()], "cost") == (
        "the scenario has policies other than facility_count")
    assert lagrangian.not_applicable(ONE_TIER, [fake(relaxed=True)], "cost") is None
    assert lagrangian.not_applicable(ONE_TIER, [fake(priced=True)], "cost") is not None


def test_horizon_follows_the_declarations():
    assert refusal(fake()) is None
    assert refusal(fake(per_period="it means the whole horizon")) == (
        "fake is not supported with [periods]: it means the whole horizon")
    assert refusal(fake(counts_sites=True)) is None
    assert refusal(fake(counts_sites=True), "modules") == (
        "fake is not supported with a tier of modules (it reads a site with several units as "
        "several sites)")
    assert refusal(fake(), "modules") is None
    assert refusal(fake(reads_tier_rates=True)) is None
    assert refusal(fake(reads_tier_rates=True), processes={"hydro": {}}) == (
        "fake is not supported with processes yet (it reads the tier's emissions and recovery, "
        "not the process's)")
    assert refusal(fake(), processes={"hydro": {}}) is None
