"""What every policy is: validated parameters, a model block, and a verifier check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import geopandas as gpd
import pandas as pd
import pyomo.environ as pyo
from pydantic import BaseModel, ConfigDict

from siting.instance.load import Instance
from siting.instance.network import Network

Scope = Literal["all", "each"] | list[str]


@dataclass(frozen=True)
class RunView:
    """A solution as the verifier reads it from files, with its instance."""

    instance: Instance
    facilities: pd.DataFrame
    flows: pd.DataFrame
    regions: gpd.GeoDataFrame


class Policy(BaseModel):
    """A named, parameterised rule added to the core model.

    Subclasses declare their parameters as fields, a ``type`` literal naming them in
    scenario files, and override :meth:`apply` (constraints or objective terms in their
    own block), :meth:`prepare` (changes to the network before the model is built, such as
    removed arcs) and :meth:`check` (the verifier's independent test).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    summary: ClassVar[str] = ""

    def prepare(self, net: Network) -> Network:
        """Change the network before the model is built (default: unchanged)."""
        return net

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Add this policy's constraints or objective terms to ``block`` (default: none)."""

    def check(self, run: RunView) -> list[str]:
        """Violations of this policy in a solution read from files (default: none)."""
        return []

    def describe(self) -> dict[str, Any]:
        """Parameters as written in a scenario file."""
        return self.model_dump(mode="json")


def groups_of(scope: Scope, provinces: pd.Series) -> dict[str, list[str]]:
    """Province groups a scoped rule holds for: all together, each alone, or listed ones."""
    known = sorted(set(provinces))
    if scope == "all":
        return {"all": known}
    if scope == "each":
        return {p: [p] for p in known}
    return {"+".join(scope): list(scope)}
