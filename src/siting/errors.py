"""One family of errors: the CLI turns each into a one-line message and an exit code."""

from __future__ import annotations

from pathlib import Path


class SitingError(Exception):
    """Base class of every error a user can cause or meet."""

    exit_code = 1


class InputError(SitingError):
    """Malformed input: names the file and the row or field, and what was expected."""

    exit_code = 2

    def __init__(self, file: str | Path, where: str | None, message: str):
        self.file = str(file)
        self.where = where
        self.message = message
        location = f"{self.file}: {where}" if where else self.file
        super().__init__(f"{location}: {message}")

    def __reduce__(self):
        """Pickle with the three fields, so the error crosses from worker processes intact."""
        return type(self), (self.file, self.where, self.message)


class InstanceError(InputError):
    """An instance folder that cannot be read."""


class ScenarioError(InputError):
    """A scenario file that cannot be read."""


class SolverError(SitingError):
    """The solver stopped without a usable solution (no incumbent, solver failure)."""

    exit_code = 3


class InfeasibleError(SitingError):
    """The model has no feasible solution; the message says which policy cannot hold."""

    exit_code = 4


class VerificationError(SitingError):
    """A solution failed the independent verifier."""

    exit_code = 5


class OutputError(SitingError):
    """The output could not be written (disk full, file too large); nothing was written."""

    exit_code = 6

    def __init__(self, file: str | Path, reason: str):
        self.file = str(file)
        self.reason = reason
        super().__init__(f"{self.file}: could not be written ({reason}); nothing of it was "
                         "written: free some space or choose another place")

    def __reduce__(self):
        """Pickle with the two fields, so the error crosses from worker processes intact."""
        return type(self), (self.file, self.reason)


class SetupError(SitingError):
    """A package siting needs is missing or broken (highspy): the installation, not the input."""

    exit_code = 7
