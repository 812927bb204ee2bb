"""The independent verifier: checks a run folder against its instance and scenario."""

from siting.verify.checks import Report, verify_run

__all__ = ["Report", "verify_run"]
