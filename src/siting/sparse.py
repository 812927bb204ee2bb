"""``scipy.sparse``, without the scipy modules Pyomo would import along with it.

Pyomo registers an import hook (``pyomo.common.dependencies``) that makes the first import
of scipy also import ``scipy.stats``, ``scipy.integrate`` and ``scipy.spatial``: half a CPU
second of every run, for modules siting never uses. Every module of siting imports
``scipy.sparse`` from here, where the hook is dropped before scipy is first imported;
Pyomo's own use of ``scipy.sparse`` is unaffected (``tests/test_package.py``).
"""

try:  # Pyomo's private API, touched here alone; another Pyomo only makes the import slower
    from pyomo.common.dependencies import DeferredImportCallbackFinder

    for _deferred in DeferredImportCallbackFinder._callbacks.pop("scipy", []):
        _deferred._callback = None
except (ImportError, AttributeError):
    pass

from scipy import sparse  # noqa: E402  (after the hook is gone)

__all__ = ["sparse"]
