"""The policy registry: every module in this package defines one policy class.

Adding a policy means adding one module (and its tests); nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from siting.model.policies.base import Policy, RunView

REGISTRY: dict[str, type[Policy]] = {}


def register(cls: type[Policy]) -> type[Policy]:
    """Class decorator: register a policy under its ``type`` name."""
    name = cls.model_fields["type"].default
    REGISTRY[name] = cls
    return cls


for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Policy", "RunView", "register"]
