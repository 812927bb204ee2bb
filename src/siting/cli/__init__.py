"""The ``siting`` command line: the Typer app and one module per command family."""

from siting.cli import bench, importers, maps, robust  # noqa: F401  (register their commands)
from siting.cli.main import app

__all__ = ["app"]
