"""What defines a model besides its network: the scenario's policies, objective, linking."""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from siting.instance.network import Network
from siting.model.core import build_model


@dataclass(frozen=True)
class ModelSpec:
    """The policies, objective mode and linking every model of one run is built with."""

    policies: tuple = ()
    objective: str = "cost"
    strong_linking: bool = True

    def build(self, net: Network) -> pyo.ConcreteModel:
        """Build the model of ``net`` (see :func:`siting.model.core.build_model`)."""
        return build_model(net, self.policies, self.objective, self.strong_linking)
