"""What every policy is: validated parameters, a model block, and a verifier check.

The verifier reads policies without Pyomo: a policy module imports Pyomo only in
:meth:`Policy.apply`, the one method that builds model rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import Field
from pyproj import Geod

from siting.inputs import Strict
from siting.instance.load import Instance
from siting.instance.network import Network

if TYPE_CHECKING:
    import pyomo.environ as pyo

Scope = Literal["all", "each"] | Annotated[list[str], Field(min_length=1)]
# Great-circle distance is defined on the mean-radius sphere; the verifier and policy checks
# measure it there with pyproj, independently of the engine's haversine.
SPHERE = Geod(a=6371008.8, b=6371008.8)
TOL = 1e-6


@dataclass(frozen=True)
class RunView:
    """A solution as the verifier reads it from files, with its instance.

    ``costs`` holds the verifier's own core cost terms (fixed, capex, transport,
    processing, penalty), recomputed before any policy's :meth:`Policy.cost` is asked.
    """

    instance: Instance
    facilities: pd.DataFrame
    flows: pd.DataFrame
    regions: gpd.GeoDataFrame
    costs: dict[str, float] = field(default_factory=dict)

    def flow_provinces(self) -> tuple[pd.Series, pd.Series]:
        """Province of the origin and of the destination of every flow."""
        region_prov = self.instance.regions.set_index("id")["province"]
        site_prov = self.instance.sites.set_index("id")["province"]
        flows = self.flows
        origin = np.where(flows["origin_type"] == "region",
                          flows["origin"].map(region_prov), flows["origin"].map(site_prov))
        return pd.Series(origin, index=flows.index), flows["destination"].map(site_prov)


class Policy(Strict):
    """A named, parameterised rule added to the core model.

    Subclasses declare their parameters as fields and a ``type`` literal naming them in
    scenario files, and override what applies: :meth:`prepare` (network changes before
    the model is built), :meth:`apply` (rows, and a ``cost`` Expression added to the
    objective, in the policy's own block), :meth:`check` (the verifier's own test) and
    :meth:`cost` (the verifier's recomputation of the objective term).

    They also declare what the engine may do with them, as class variables:

    - ``priced``: pruned arcs may be priced back (its rows hold no flow, so no dual of
      it enters a flow's reduced cost);
    - ``relaxed``: the Lagrangian relaxation handles it;
    - ``per_period``: None when it holds in every period of a horizon, else why it
      has no meaning per period;
    - ``counts_sites``: it reads a site with several units as several sites (not
      supported with a tier of modules);
    - ``reads_tier_rates``: it reads the tier's emissions and recovery, not the
      process's (not supported with processes).

    ``one_more`` says in words what one unit of its rows' marginal cost buys (``{unit}``
    and ``{currency}`` are filled in): "collecting one more tonne".
    """

    type: str
    summary: ClassVar[str] = ""
    unit: ClassVar[str] = "t"  # unit of the rows' right-hand side, for diagnosis and duals
    one_more: ClassVar[str] = "tightening it by one {unit}"  # what a marginal cost prices
    priced: ClassVar[bool] = False
    relaxed: ClassVar[bool] = False
    per_period: ClassVar[str | None] = None
    counts_sites: ClassVar[bool] = False
    reads_tier_rates: ClassVar[bool] = False

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Return a parameter that does not fit the instance, as (field, message), else None."""
        return None

    def scale_supply(self, supply: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
        """Supply (tonnes, regions x streams) after this policy (default: unchanged)."""
        return supply

    def prepare(self, net: Network) -> Network:
        """Change the network before the model is built (default: unchanged)."""
        return net

    def apply(self, m: pyo.ConcreteModel, block: pyo.Block, net: Network) -> None:
        """Add this policy's rows or objective term to ``block`` (default: none)."""

    def check(self, run: RunView) -> list[str]:
        """Violations of this policy in a solution read from files (default: none)."""
        return []

    def cost(self, run: RunView) -> float:
        """Recompute this policy's objective term from a solution's files (default: 0)."""
        return 0.0

    def describe(self) -> dict[str, Any]:
        """Parameters as written in a scenario file."""
        return self.model_dump(mode="json", exclude_none=True)


REGISTRY: dict[str, type[Policy]] = {}


def register(cls: type[Policy]) -> type[Policy]:
    """Class decorator: register a policy under its ``type`` name."""
    name = cls.model_fields["type"].default
    REGISTRY[name] = cls
    return cls


def declaring(flag: str) -> str:
    """Names of the registered policies that set ``flag``, for messages: ``a, b``."""
    return ", ".join(sorted(name for name, cls in REGISTRY.items() if getattr(cls, flag)))


def groups_of(scope: Scope, provinces: pd.Series) -> dict[str, list[str]]:
    """Province groups a scoped rule holds for: all together, each alone, or listed ones."""
    known = sorted(set(provinces))
    if scope == "all":
        return {"all": known}
    if scope == "each":
        return {p: [p] for p in known}
    return {"+".join(scope): list(scope)}


def unknown_provinces(scope: Scope, instance: Instance) -> tuple[str, str] | None:
    """Report the scope field if it lists provinces the instance does not have."""
    if isinstance(scope, list):
        missing = sorted(set(scope) - set(instance.regions["province"]))
        if missing:
            return "scope", f"unknown provinces {missing}"
    return None


def unknown_tier(tier: str | None, instance: Instance) -> tuple[str, str] | None:
    """Report the tier field if it names a tier the instance does not have."""
    if tier is not None and tier not in instance.tiers:
        return "tier", f"unknown tier {tier!r}; expected one of {instance.tiers}"
    return None


def sites_of_tier(net_or_sites: pd.DataFrame, tier: str | None) -> np.ndarray:
    """Boolean mask of sites in ``tier`` (all sites when None)."""
    tiers = net_or_sites["tier"].to_numpy()
    return np.ones(len(tiers), dtype=bool) if tier is None else tiers == tier


def exceeds(value: float, limit: float) -> bool:
    """``value > limit`` beyond the verifier's tolerance."""
    return value > limit + TOL * max(abs(limit), 1.0)


def supply_under(policies: tuple[Policy, ...] | list[Policy], instance: Instance,
                 supply: pd.DataFrame | None = None) -> pd.DataFrame:
    """Supply (the instance's, or one period's) after every policy that scales it."""
    supply = instance.supply if supply is None else supply
    for policy in policies:
        supply = policy.scale_supply(supply, instance.regions)
    return supply
