"""Reading TOML and JSON input files, with every problem turned into a one-line InputError."""

from __future__ import annotations

import json
import os
import re
import tomllib
import typing
from pathlib import Path

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
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


def regular_file(path: Path, error: type[InputError] = InputError, where: str | None = None,
                 name: Path | None = None) -> None:
    """Raise ``error`` unless ``path`` is a regular file (or a link to one).

    A FIFO, a device or a folder is named as such, not as a missing file; ``name`` is what
    the error names (default ``path``).
    """
    name = path if name is None else name
    of = "" if name == path else f": {path}"  # the file, when the error names another
    if not path.exists():
        what = "a link to nothing, or a loop of links" if path.is_symlink() else "file not found"
        raise error(name, where, what + of)
    if not path.is_file():
        raise error(name, where, "not a regular file (a folder, pipe or device)" + of)
    if not os.access(path, os.R_OK):
        raise error(name, where, "cannot be read (permission denied)" + of)
    size, memory = path.stat().st_size, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if size > memory:
        raise error(name, where, f"{size / 2**30:,.1f} GiB, more than this machine's memory "
                    f"({memory / 2**30:,.1f} GiB)" + of)


def real_path(path: str | Path) -> Path:
    """Return ``path`` absolute with its links resolved; a loop of links stays as it is."""
    return Path(os.path.realpath(path))  # Path.resolve raises RuntimeError on a loop (3.11)


# C0 and C1 control characters and DEL: a NUL, an ESC starting a terminal sequence.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, newlines allowed


def control_character(text: str, pattern: re.Pattern = CONTROL) -> str | None:
    """Name the first control character of ``text`` (``"control character U+001B"``), or None."""
    found = pattern.search(text)
    return found and f"control character U+{ord(found.group()):04X}"


def _plain(name: str) -> str:
    problem = control_character(name)
    if problem:
        raise ValueError(problem)
    return name


Name = typing.Annotated[str, AfterValidator(_plain)]
"""A one-line name or label: no control character at all (not even a tab or line break)."""


def not_utf8(exc: UnicodeDecodeError) -> str:
    """Say where a file is not UTF-8 and how to save it so (naming GBK where it reads as GBK)."""
    try:
        gbk = re.search("[\u4e00-\u9fff]", bytes(exc.object).decode("gb18030")) is not None
    except UnicodeDecodeError:
        gbk = False
    return (f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            + ("; it reads as GBK (Chinese Windows)" if gbk else "")
            + ": save it as UTF-8 (Excel: Save As 'CSV UTF-8'; an editor: encoding UTF-8)")


def read_toml(path: Path, error: type[InputError] = InputError) -> dict:
    """Parse a UTF-8 TOML file, skipping a byte-order mark.

    A missing or irregular file, bad encoding, syntax, nesting too deep for Python, or a
    control character in a key or text (other than tab and line breaks) raises ``error``.
    """
    regular_file(path, error)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise error(path, None, not_utf8(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, None, f"invalid TOML: {exc}") from None
    except RecursionError:
        raise error(path, None, "invalid TOML: nested too deeply") from None
    _check_text(data, path, error)
    return data


def read_json(path: Path, error: type[InputError] = InputError) -> object:
    """Parse a UTF-8 JSON file, skipping a byte-order mark; a key twice in an object is an error.

    Bad encoding, syntax or nesting too deep for Python raise ``error``.
    """
    regular_file(path, error)
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"), object_pairs_hook=_unique_keys)
    except UnicodeDecodeError as exc:
        raise error(path, None, not_utf8(exc)) from None
    except _DuplicateKey as exc:
        raise error(path, None, f"invalid JSON: key {exc.args[0]!r} twice in one object") from None
    except json.JSONDecodeError as exc:
        raise error(path, None, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise error(path, None, "invalid JSON: nested too deeply") from None


class _DuplicateKey(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        if key in data:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _check_text(data: dict, path: Path, error: type[InputError]) -> None:
    """Refuse a control character in a key, or in text other than tab and line breaks."""
    todo: list[tuple[str, object]] = [("", data)]
    while todo:
        where, value = todo.pop()
        items = value.items() if isinstance(value, dict) else (
            enumerate(value) if isinstance(value, list) else ())
        for key, item in items:
            if isinstance(key, str) and control_character(key):
                raise error(path, where or None, f"{control_character(key)} in key {key!r}")
            field = f"{where}.{key}" if where else str(key)
            if isinstance(item, str) and control_character(item, TEXT_CONTROL):
                raise error(path, field, f"{control_character(item, TEXT_CONTROL)} in {item!r}")
            todo.append((field, item))


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
        return len(loc), not mismatch(err)

    def mismatch(err: dict) -> bool:
        return err["type"].endswith(("_type", "_parsing", "literal_error"))

    located = [([str(p) for p in err["loc"] if not str(p).startswith(_TAGS)], err)
               for err in exc.errors()]
    loc, err = max(located, key=telling)
    message = err["msg"].removeprefix("Value error, ")
    kinds = dict.fromkeys(e["msg"].removeprefix("Input should be ").split(",")[0]
                          for where, e in located if where == loc and mismatch(e))
    if mismatch(err) and len(kinds) > 1:  # a union's members each mismatched: name them all
        message = "Input should be " + " or ".join(kinds)
    if err["type"] in ("unknown_key", "boolean_number"):
        loc.append(err["ctx"]["key"])
    field = prefix + ".".join(loc)
    given = err.get("input")
    shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
    return error(path, field.rstrip(".") or None, f"{message}{shown}")
