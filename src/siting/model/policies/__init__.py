"""The policy registry: every module in this package defines one policy class.

Adding a policy means adding one module (and its tests); nothing else changes. Importing
this package imports every module, which registers its policy in ``base.REGISTRY``.
"""

from __future__ import annotations

import importlib
import pkgutil

from siting.model.policies.base import REGISTRY, Policy, RunView, register

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["REGISTRY", "Policy", "RunView", "register"]
