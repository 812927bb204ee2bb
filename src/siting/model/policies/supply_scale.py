"""``supply_scale``: scale supply (sensitivity, growth scenarios)."""

from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from pydantic import Field

from siting.instance.load import Instance
from siting.model.policies.base import Policy, Scope, groups_of, register, unknown_provinces


@register
class SupplyScale(Policy):
    """Multiply supply by ``factor`` (one stream or all; the scope's provinces, or ``regions``).

    Formulation: ``q[r,s] <- factor * q[r,s]`` before the model is built.
    """

    type: Literal["supply_scale"] = "supply_scale"
    summary = "scales supply by a factor (forecast sensitivity, growth)"
    factor: Annotated[float, Field(gt=0, le=1000, allow_inf_nan=False)]
    stream: str | None = None
    scope: Scope = "all"
    regions: list[str] | None = Field(default=None, min_length=1)

    def problem_with(self, instance: Instance) -> tuple[str, str] | None:
        """Check that the stream, provinces and regions exist."""
        if self.stream is not None and self.stream not in instance.streams:
            return "stream", f"unknown stream {self.stream!r}; expected one of {instance.streams}"
        unknown = sorted(set(self.regions or ()) - set(instance.regions["id"].astype(str)))
        if unknown:
            return "regions", f"unknown regions {unknown}"
        return unknown_provinces(self.scope, instance)

    def scale_supply(self, supply: pd.DataFrame, regions: pd.DataFrame) -> pd.DataFrame:
        """Return a scaled copy of the supply table."""
        members = [p for group in groups_of(self.scope, regions["province"]).values()
                   for p in group]
        rows = regions["province"].isin(members).to_numpy()
        if self.regions is not None:
            rows = rows & regions["id"].astype(str).isin(self.regions).to_numpy()
        cols = [self.stream] if self.stream else list(supply.columns)
        scaled = supply.copy()
        scaled.loc[rows, cols] = scaled.loc[rows, cols] * self.factor
        return scaled
