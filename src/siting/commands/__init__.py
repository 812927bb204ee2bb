"""Further CLI commands, one module per command family; each registers on ``siting.cli.app``.

Importing this package imports every module in it, so adding a command is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
