"""Reading TOML input files, with every problem turned into a one-line InputError."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from siting.errors import InputError

# Tags that pydantic puts in an error's location for the members of a union or a validator
# (``constrained-float``, ``dict[str,...]``): not fields the user wrote, so never shown.
_TAGS = ("list[", "dict[", "literal[", "function-", "constrained-")


class Strict(BaseModel):
    """Base of every input schema: frozen, and an unknown key is an error listing the known."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: object) -> object:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(cls.model_fields))
            if unknown:
                raise PydanticCustomError("unknown_key", "unknown key; expected some of {known}",
                                          {"key": unknown[0], "known": sorted(cls.model_fields)})
        return data

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_numbers(cls, data: object) -> object:
        if isinstance(data, dict):
            for key, value in data.items():
                where = _boolean_at(value)
                if where is not None and key in cls.model_fields and takes_numbers(
                        cls.model_fields[key].annotation):
                    raise PydanticCustomError("boolean_number", "expected a number, got a boolean",
                                              {"key": f"{key}{where}"})
        return data


def _boolean_at(value: object) -> str | None:
    """Where a boolean is: "" for the value itself, ".key" or ".index" inside a table or list."""
    if isinstance(value, bool):
        return ""
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    return next((f".{k}" for k, v in items if isinstance(v, bool)), None)


def takes_numbers(annotation: object) -> bool:
    """Tell whether a field's type takes numbers but not booleans.

    Numbers directly or in a list or table count; nested schemas check their own fields.
    """
    leaves, todo = set(), [annotation]
    while todo:
        kind = todo.pop()
        args = typing.get_args(kind)
        if typing.get_origin(kind) is typing.Annotated:
            todo.append(args[0])
        elif args:
            todo.extend(args)
        else:
            leaves.add(kind)
    return bool(leaves & {int, float}) and bool not in leaves


def read_toml(path: Path, error: type[InputError] = InputError) -> dict:
    """Parse a UTF-8 TOML file, skipping a byte-order mark.

    A missing file, bad encoding or syntax raises ``error``.
    """
    if not path.is_file():
        raise error(path, None, "file not found")
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise error(path, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, None, f"invalid TOML: {exc}") from None


def toml_table(data: dict, key: str, path: Path, error: type[InputError] = InputError) -> dict:
    """Return the table ``key`` of parsed TOML (empty when absent); else raise ``error``."""
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise error(path, key, f"expected a table [{key}], got {value!r}")
    return value


def validation_error(path: Path, exc: pydantic.ValidationError, prefix: str = "",
                     error: type[InputError] = InputError) -> InputError:
    """Return the most telling pydantic error as a one-line ``error`` naming field and value.

    Of a union's errors (a number or a per-stream table), the one about what the user wrote
    is the deepest (``recovery.ncm`` rather than ``recovery`` not being a number), then one
    that is not a mere type mismatch (a list too short rather than not being ``'all'``).
    """
    def telling(item: tuple[list[str], dict]) -> tuple[int, bool]:
        loc, err = item
        return len(loc), not err["type"].endswith(("_type", "_parsing", "literal_error"))

    located = [([str(p) for p in err["loc"] if not str(p).startswith(_TAGS)], err)
               for err in exc.errors()]
    loc, err = max(located, key=telling)
    if err["type"] in ("unknown_key", "boolean_number"):
        loc.append(err["ctx"]["key"])
    field = prefix + ".".join(loc)
    given = err.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    message = err["msg"].removeprefix("Value error, ")
    return error(path, field.rstrip(".") or None, f"{message}{shown}")
