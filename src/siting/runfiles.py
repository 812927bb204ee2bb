"""Write a :class:`Solution` to a run folder atomically, and read one back."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pandas as pd

from siting.errors import InputError
from siting.solution import Solution

GPKG_STAMP = "1970-01-01T00:00:00.000Z"  # every layer's last_change in solution.gpkg
DECIMALS = 6  # tables are rounded to the solver's tolerance: 6000, not 5999.999999999996
FILES = ("solution.json", "facilities.csv", "flows.csv", "regions.csv", "solution.gpkg")
# A text cell starting with one of these is written with a leading "'", so a spreadsheet shows
# it as text instead of running it as a formula; a leading "'" is escaped too, so that
# reading removes exactly one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
TEXT_COLUMNS = {"id", "name", "province", "tier", "size", "origin", "destination", "stream",
                "origin_type", "location", "process"}


def write_run(solution: Solution, out: str | Path,
              extra: Callable[[Path], None] | None = None) -> Path:
    """Write the run folder ``out`` (docs/run-folder.md): complete, or not at all.

    Files go to a temporary sibling folder that replaces ``out`` once every file is
    written; ``extra(folder)`` may add files (the map) before the swap.
    """
    def fill(folder: Path) -> None:
        _write_files(solution, folder)
        if extra is not None:
            extra(folder)

    return write_folder(out, fill)


def write_folder(out: str | Path, fill: Callable[[Path], None]) -> Path:
    """Write the folder ``out`` atomically, and return its path.

    ``fill(folder)`` writes into a temporary sibling folder that then replaces ``out``; if
    ``fill`` fails (Ctrl-C included), ``out`` is left as it was and nothing else remains.
    """
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        fill(tmp)
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def remove_partial(out: str | Path) -> None:
    """Remove the temporary folders that writers of ``out`` killed mid-write left beside it.

    Call it only when no writer of ``out`` can be running.
    """
    out = Path(out).resolve()
    for partial in out.parent.glob(f".{out.name}.*"):
        shutil.rmtree(partial, ignore_errors=True)


def write_atomic(path: Path, text: str) -> Path:
    """Write a text file atomically: a temporary file in the same folder, then a rename."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _swap(tmp: Path, out: Path) -> None:
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.replace(out, old / out.name)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def _write_files(solution: Solution, folder: Path) -> None:
    meta = {**solution.meta, "kpis": solution.kpis}
    if meta["instance"]["path"] is not None:  # relative: the run moves with its instance
        meta["instance"] = {**meta["instance"],
                            "path": os.path.relpath(meta["instance"]["path"], folder.resolve())}
    (folder / "solution.json").write_text(json.dumps(meta, indent=2, allow_nan=False,
                                                     default=_json_default) + "\n")
    gpkg = folder / "solution.gpkg"
    for name in ("facilities", "flows", "regions"):
        layer = solution.to_geodataframe(name).round(DECIMALS)
        table = pd.DataFrame(layer.drop(columns="geometry"))
        for col in ("existing", "open"):
            if col in table.columns:
                table[col] = table[col].map({True: "true", False: "false"})
        (folder / f"{name}.csv").write_text(csv_text(table), encoding="utf-8")
        layer.to_file(gpkg, layer=name, engine="pyogrio")
    with closing(sqlite3.connect(gpkg)) as db, db:  # a fixed stamp: same run, same bytes
        db.execute("UPDATE gpkg_contents SET last_change = ?", (GPKG_STAMP,))
    if solution.timeline is not None:
        (folder / "periods.csv").write_text(csv_text(solution.timeline.round(DECIMALS)),
                                            encoding="utf-8")
        for year, period in solution.periods.items():
            (folder / "periods" / str(year)).mkdir(parents=True)
            _write_files(period, folder / "periods" / str(year))


def csv_text(frame: pd.DataFrame, index: bool = False) -> str:
    """Return ``frame`` as CSV text, each text cell that a spreadsheet would run escaped."""
    escaped = frame.copy()
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            escaped[col] = frame[col].map(_escape)
    if index:
        escaped.index = escaped.index.map(_escape)
    return escaped.to_csv(index=index, lineterminator="\n")


def _escape(value: object) -> object:
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_START) else value


def _unescape(value: str) -> str:
    return value[1:] if value.startswith("'") else value


def _json_default(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def read_meta(run_dir: str | Path) -> dict:
    """Read the contents of a run folder's solution.json."""
    path = Path(run_dir) / "solution.json"
    if not path.is_file():
        raise InputError(path, None, "not a run folder (no solution.json)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"unreadable: {exc}") from None


def read_table(run_dir: str | Path, name: str) -> pd.DataFrame:
    """One of a run folder's CSV tables, with ids kept as text and text cells unescaped."""
    path = Path(run_dir) / f"{name}.csv"
    if not path.is_file():
        raise InputError(path, None, "missing from the run folder")
    text = TEXT_COLUMNS
    frame = pd.read_csv(path, dtype={c: str for c in text}, keep_default_na=False,
                        na_values={c: [""] for c in ("utilisation", "collection_rate",
                                                     "build_year")})
    for col in frame.columns:
        if col in ("existing", "open"):
            frame[col] = frame[col].astype(str).str.lower() == "true"
        elif col in text:
            frame[col] = frame[col].map(_unescape)
        else:
            frame[col] = frame[col].astype(float)
    return frame
