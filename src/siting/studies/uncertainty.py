"""Uncertain inputs declared in a scenario's ``[uncertainty]`` table, and seeded samples.

.. code-block:: toml

    [uncertainty]
    supply = { distribution = "lognormal", sigma = 0.4, by = "province" }
    transport_cost = { distribution = "uniform", low = 0.8, high = 1.3 }
    fixed_cost = { distribution = "triangular", low = 0.9, mode = 1.0, high = 1.5 }
    value = { distribution = "lognormal", sigma = 0.3 }

Each entry is a distribution of a factor on the nominal input: ``lognormal`` (``median``,
default 1, and ``sigma`` of the log), ``uniform`` (``low``, ``high``) or ``triangular``
(``low``, ``mode``, ``high``). Supply is drawn once for all regions (``by = "all"``),
once per province (``by = "province"``) or once per region (``by = "region"``), for one
``stream`` or all. ``value`` scales the
value of material, which the model prices as the penalty on each uncollected tonne.

Sample ``i`` of seed ``s`` is drawn from ``numpy.random.SeedSequence(s, spawn_key=(i,))``,
so it is the same whatever runs it and however many samples are drawn. A sample becomes
a scenario: the base scenario's policies plus ``supply_scale`` and ``cost_scale``
policies holding the drawn factors, which the verifier re-applies.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator

from siting.errors import ScenarioError
from siting.inputs import read_toml, validation_error
from siting.model.policies.cost_scale import CostScale
from siting.model.policies.supply_scale import SupplyScale
from siting.scenario import Scenario

Positive = Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
COSTS = ("transport_cost", "fixed_cost", "value")  # cost_scale's fields, in that order


class _Factor(BaseModel):
    """A factor's distribution; ``by`` and ``stream`` say where a supply factor applies."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    by: Literal["all", "province", "region"] = "all"
    stream: str | None = None


class Lognormal(_Factor):
    """A factor whose logarithm is normal: ``median * exp(sigma * z)``."""

    distribution: Literal["lognormal"]
    sigma: Annotated[float, Field(gt=0, le=3)]
    median: Positive = 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` factors."""
        return rng.lognormal(np.log(self.median), self.sigma, n)


class Uniform(_Factor):
    """A factor uniform between ``low`` and ``high``."""

    distribution: Literal["uniform"]
    low: Positive
    high: Positive

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError("low must not exceed high")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` factors."""
        return rng.uniform(self.low, self.high, n)


class Triangular(_Factor):
    """A factor with a triangular density from ``low`` through ``mode`` to ``high``."""

    distribution: Literal["triangular"]
    low: Positive
    mode: Positive
    high: Positive

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high or self.low == self.high:
            raise ValueError("expected low <= mode <= high, and low < high")
        return self

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` factors."""
        return rng.triangular(self.low, self.mode, self.high, n)


Distribution = Annotated[Lognormal | Uniform | Triangular, Field(discriminator="distribution")]


class Uncertainty(BaseModel):
    """The uncertain inputs of a scenario (each absent one stays at its nominal value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    supply: Distribution | None = None
    transport_cost: Distribution | None = None
    fixed_cost: Distribution | None = None
    value: Distribution | None = None

    @model_validator(mode="after")
    def _supply_only(self) -> Uncertainty:
        for key in COSTS:
            factor = getattr(self, key)
            if factor is not None and (factor.by != "all" or factor.stream is not None):
                raise ValueError(f"{key}: 'by' and 'stream' apply to supply only")
        return self


DEFAULT = Uncertainty(supply=Lognormal(distribution="lognormal", sigma=0.4, by="province"))
"""Supply per province within a factor of five (95 % of draws) when a scenario declares none."""


def load_uncertainty(scenario: Scenario) -> Uncertainty:
    """Read the ``[uncertainty]`` table of the scenario's file (:data:`DEFAULT` without one).

    Raises
    ------
    siting.errors.ScenarioError
        If the table is malformed (naming the field).
    """
    if scenario.path is None:
        return DEFAULT
    table = read_toml(scenario.path, ScenarioError).get("uncertainty")
    if table is None:
        return DEFAULT
    try:
        return Uncertainty.model_validate(table)
    except pydantic.ValidationError as exc:
        raise validation_error(scenario.path, exc, "uncertainty.", ScenarioError) from None


def draw(uncertainty: Uncertainty, groups: list[str], seed: int, index: int
         ) -> dict[str, float]:
    """Draw sample ``index``: a factor per uncertain input, named as in samples.csv.

    Supply factors are named ``supply`` (``by = "all"``) or ``supply:<group>``, in the
    order of ``groups`` (the provinces, or the region ids, that ``by`` names); cost factors
    by their table key.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
    factors: dict[str, float] = {}
    supply = uncertainty.supply
    if supply is not None:
        names = ["supply"] if supply.by == "all" else [f"supply:{g}" for g in groups]
        factors.update(zip(names, supply.draw(rng, len(names)).tolist(), strict=True))
    for key in COSTS:
        distribution = getattr(uncertainty, key)
        if distribution is not None:
            factors[key] = float(distribution.draw(rng, 1)[0])
    return factors


def sample_scenario(base: Scenario, uncertainty: Uncertainty, factors: dict[str, float],
                    name: str) -> Scenario:
    """Return the base scenario plus the policies that apply one sample's ``factors``."""
    supply = uncertainty.supply
    policies = [SupplyScale(factor=value, stream=supply.stream, **_where(supply.by, key))
                for key, value in factors.items() if key.startswith("supply")]
    costs = {field: factors[key] for field, key in zip(("transport", "fixed", "value"), COSTS,
                                                       strict=True) if key in factors}
    if costs:
        policies.append(CostScale(**costs))
    return Scenario(name=name, description=base.description, objective=base.objective,
                    policies=base.policies + tuple(policies))



def _where(by: str, key: str) -> dict:
    """Return the ``supply_scale`` fields that aim a factor named ``key`` where ``by`` says."""
    if by == "all":
        return {}
    group = key.split(":", 1)[1]
    return {"regions": [group]} if by == "region" else {"scope": [group]}


def supply_groups(uncertainty: Uncertainty, regions: pd.DataFrame) -> list[str]:
    """Return the provinces or region ids that get a supply factor each, in draw order."""
    by = uncertainty.supply.by if uncertainty.supply is not None else "all"
    if by == "province":
        return sorted(regions["province"].unique())
    return regions["id"].astype(str).tolist() if by == "region" else []
