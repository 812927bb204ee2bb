"""Reading TOML input files, with every problem turned into a one-line InputError."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pydantic

from siting.errors import InputError


def read_toml(path: Path, error: type[InputError] = InputError) -> dict:
    """Parse a UTF-8 TOML file; a missing file, bad encoding or syntax raises ``error``."""
    if not path.is_file():
        raise error(path, None, "file not found")
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, None, f"invalid TOML: {exc}") from None


def validation_error(path: Path, exc: pydantic.ValidationError, prefix: str = "",
                     error: type[InputError] = InputError) -> InputError:
    """The first pydantic error as a one-line ``error`` naming the field and the value given."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("list[", "literal[", "function-"))]
    field = prefix + ".".join(loc)
    given = err.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return error(path, field or None, f"{err['msg']}{shown}")
