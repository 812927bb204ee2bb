"""Scenario files: a name, an objective mode and a list of policies (with ``extends``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from siting.errors import ScenarioError
from siting.folders import FOLDER_AFFIX
from siting.inputs import read_toml, real_path, regular_file, toml_table, validation_error
from siting.model.policies import REGISTRY, Policy

if TYPE_CHECKING:
    from siting.instance.load import Instance

MODES = ("cost", "value", "lexicographic")  # objective modes: siting.model.objective
SCENARIO_KEYS = {"scenario", "objective", "policy", "uncertainty"}  # see siting.studies.uncertainty
MAX_NAME_BYTES = 255 - FOLDER_AFFIX  # a folder name with siting's temporary affix fits in 255


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario: its parents' policies first, then its own."""

    name: str = "baseline"
    description: str = ""
    objective: str = "cost"
    policies: tuple[Policy, ...] = field(default_factory=tuple)
    path: Path | None = None

    def check_fits(self, instance: Instance) -> None:
        """Raise a ScenarioError for a policy naming a site, province or tier ``instance`` lacks."""
        for i, policy in enumerate(self.policies, start=1):
            problem = policy.problem_with(instance)
            if problem is not None:
                field_name, message = problem
                raise ScenarioError(self.path or "scenario", f"policy[{i}].{field_name}", message)

    def describe(self) -> dict[str, Any]:
        """Return the resolved scenario as written into solution.json.

        ``file`` is the file it was read from (None when made in code): the verifier reads
        it again.
        """
        return {"name": self.name, "description": self.description,
                "file": None if self.path is None else str(self.path),
                "objective": {"mode": self.objective},
                "policies": [p.describe() for p in self.policies]}


def find_scenario(name_or_path: str | Path, instance_dir: Path | None) -> Path:
    """Find a scenario file from a path, or a name in the instance's ``scenarios/`` folder.

    An instance made in memory (``instance_dir`` None) has no folder: only paths work.
    """
    path = Path(name_or_path)
    if path.exists() and not path.is_dir():  # a folder may share a scenario's name
        regular_file(path, ScenarioError)
        return path
    if instance_dir is None:
        raise ScenarioError(path, None, "no such scenario file (an instance made in memory "
                            "has no scenarios/ folder: give the file's path)")
    folder = instance_dir / "scenarios"
    named = folder / f"{path.stem}.toml"
    if path.parent == Path(".") and (named.exists() or named.is_symlink()):
        regular_file(named, ScenarioError)
        return named
    known = sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []
    raise ScenarioError(path, None, f"no such scenario file or name; the instance has {known}")


MAX_EXTENDS = 50  # files in one chain of extends (each is a frame of Python's stack)


def load_scenario(path: str | Path, _seen: tuple[Path, ...] = ()) -> Scenario:
    """Read and validate a scenario file, resolving ``extends`` chains."""
    path = real_path(path)
    if path in _seen:
        raise ScenarioError(path, "scenario.extends", "circular extends")
    data = read_toml(path, ScenarioError)
    unknown = sorted(set(data) - SCENARIO_KEYS)
    if unknown:
        raise ScenarioError(path, unknown[0], f"unknown section; expected {sorted(SCENARIO_KEYS)}")
    head = toml_table(data, "scenario", path, ScenarioError)
    head_unknown = sorted(set(head) - {"name", "description", "extends"})
    if head_unknown:
        raise ScenarioError(path, f"scenario.{head_unknown[0]}",
                            "unknown key; expected name, description, extends")
    text = [key for key, value in head.items() if not isinstance(value, str)]
    if text:
        raise ScenarioError(path, f"scenario.{text[0]}", f"expected text, got {head[text[0]]!r}")
    parent = Scenario()
    if "extends" in head:
        if (Path(head["extends"]).is_absolute()
                or not real_path(path.parent / head["extends"]).is_relative_to(path.parent)):
            raise ScenarioError(path, "scenario.extends", "expected a scenario file in this "
                                f"file's folder, got {head['extends']!r}")
        if len(_seen) >= MAX_EXTENDS:
            raise ScenarioError(path, "scenario.extends", f"more than {MAX_EXTENDS} scenario "
                                "files extend one another")
        if not (path.parent / head["extends"]).exists():
            raise ScenarioError(path, "scenario.extends", "expected a scenario file relative to "
                                f"this one: no such file {head['extends']!r}")
        regular_file(path.parent / head["extends"], ScenarioError, "scenario.extends", name=path)
        parent = load_scenario(path.parent / head["extends"], (*_seen, path))
    objective = toml_table(data, "objective", path, ScenarioError)
    objective_unknown = sorted(set(objective) - {"mode"})
    if objective_unknown:
        raise ScenarioError(path, f"objective.{objective_unknown[0]}", "unknown key")
    mode = objective.get("mode", parent.objective)
    if mode not in MODES:
        raise ScenarioError(path, "objective.mode",
                            f"unknown mode {mode!r}; expected one of {MODES}")
    entries = data.get("policy", [])
    if not isinstance(entries, list):
        raise ScenarioError(path, "policy", "expected [[policy]] tables")
    own = tuple(parse_policy(entry, path, i) for i, entry in enumerate(entries, start=1))
    name = head.get("name", path.stem)
    problem = name_problem(name)
    if problem:
        raise ScenarioError(path, "scenario.name" if "name" in head else "file name", problem)
    return Scenario(name=name,
                    description=head.get("description", parent.description),
                    objective=mode, policies=parent.policies + own, path=path)


def name_problem(name: str) -> str | None:
    """Say why ``name`` cannot name a run folder (``runs/<instance>/<name>``), or None.

    A name is one plain folder name: not empty, no path separator or control character,
    no space around it, not starting with a dot (``.``, ``..``, hidden folders and siting's
    temporaries), and at most :data:`MAX_NAME_BYTES` bytes in UTF-8.
    """
    if not name.strip():
        return f"expected a plain name for the run folder, got {name!r}"
    if name != name.strip():
        return (f"expected a plain name for the run folder, got {name!r}: no space before "
                "or after it")
    if any(c in name for c in "/\\") or not name.isprintable():
        return (f"expected a plain name for the run folder, got {name!r}: no path separator "
                "or control character")
    if name.startswith("."):
        return f"expected a plain name for the run folder, got {name!r}: no leading dot"
    if len(name.encode()) > MAX_NAME_BYTES:
        return (f"expected a plain name for the run folder, got one of {len(name.encode())} "
                f"bytes: at most {MAX_NAME_BYTES} bytes (UTF-8) fit a folder name")
    return None


def parse_policy(entry: Any, path: Path, index: int) -> Policy:
    """Validate one ``[[policy]]`` table against the registered policy of its type."""
    where = f"policy[{index}]"
    if not isinstance(entry, dict) or "type" not in entry:
        raise ScenarioError(path, f"{where}.type", f"missing; expected one of {sorted(REGISTRY)}")
    cls = REGISTRY.get(entry["type"]) if isinstance(entry["type"], str) else None
    if cls is None:
        raise ScenarioError(path, f"{where}.type",
                            f"unknown policy {entry['type']!r}; expected one of {sorted(REGISTRY)}")
    try:
        return cls.model_validate(entry)
    except pydantic.ValidationError as exc:
        raise validation_error(path, exc, f"{where}.", ScenarioError) from None
