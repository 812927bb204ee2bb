"""Write a :class:`Solution` to a run folder atomically, and read one back."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pydantic
import pyogrio.errors

from siting.errors import InputError
from siting.folders import RUN, checkpoint, write_folder
from siting.inputs import validation_error
from siting.results.records import COLUMNS, FLAGS, KEYS, MAY_BE_EMPTY, TEXT, RunRecord
from siting.results.solution import Solution

GPKG_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, sqlite3.Error)
GPKG_STAMP = "1970-01-01T00:00:00.000Z"  # every layer's last_change in solution.gpkg
# The spatial index is written in the writing thread: built in a background thread (GDAL's
# default), two writes of one run under a full test suite differed in SQLite's change count.
pyogrio.set_gdal_config_options({"OGR_GPKG_THREADED_RTREE": "NO"})
DECIMALS = 6  # tables are rounded to the solver's tolerance: 6000, not 5999.999999999996
FILES = ("solution.json", "facilities.csv", "flows.csv", "regions.csv", "solution.gpkg")
# A text cell starting with one of these is written with a leading "'", so a spreadsheet shows
# it as text instead of running it as a formula; a leading "'" is escaped too, so that
# reading removes exactly one.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


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


def _write_files(solution: Solution, folder: Path) -> None:
    meta = {**solution.meta, "kpis": solution.kpis}
    path = meta["instance"]["path"]
    if path is not None:  # relative, so that a run moves with its instance; absolute as well
        meta["instance"] = {**meta["instance"], "path": os.path.relpath(path, folder.resolve()),
                            "absolute_path": path}
    (folder / "solution.json").write_text(json.dumps(meta, indent=2, allow_nan=False,
                                                     default=_json_default) + "\n")
    checkpoint("solution.json")
    gpkg = folder / "solution.gpkg"
    for name in ("facilities", "flows", "regions"):
        layer = solution.to_geodataframe(name).round(DECIMALS)
        table = pd.DataFrame(layer.drop(columns="geometry"))
        for col in FLAGS:
            if col in table.columns:
                table[col] = table[col].map({True: "true", False: "false"})
        (folder / f"{name}.csv").write_text(csv_text(table), encoding="utf-8")
        with _written(gpkg):
            layer.to_file(gpkg, layer=name, engine="pyogrio")
    with _written(gpkg), closing(sqlite3.connect(gpkg)) as db, db:  # same run, same bytes
        db.execute("UPDATE gpkg_contents SET last_change = ?", (GPKG_STAMP,))
    if solution.timeline is not None:
        (folder / "periods.csv").write_text(csv_text(solution.timeline.round(DECIMALS)),
                                            encoding="utf-8")
        for year, period in solution.periods.items():
            (folder / "periods" / str(year)).mkdir(parents=True)
            _write_files(period, folder / "periods" / str(year))
            (folder / "periods" / str(year) / RUN.marker).touch()


@contextmanager
def _written(gpkg: Path) -> Iterator[None]:
    """Report GDAL's and SQLite's failures to write ``gpkg`` (a full disk) as OSError."""
    try:
        yield
    except GPKG_ERRORS as exc:
        raise OSError(f"{gpkg.name}: {exc}") from None


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


def check_finished(run_dir: str | Path) -> Path:
    """Return ``run_dir`` if it is a finished run folder with a solution.

    Raises
    ------
    siting.errors.InputError
        If it has no solution.json, or no marker (its write was interrupted, or siting did
        not write it), or it is a writer's temporary folder.
    """
    folder = Path(run_dir)
    if not (folder / "solution.json").is_file():
        raise InputError(folder / "solution.json", None, "not a run folder (no solution.json)")
    if not RUN.holds(folder):
        raise InputError(folder, None, f"not a finished run folder of siting (no {RUN.marker}, "
                         "or a temporary folder): its write was interrupted, or siting did not "
                         "write it; solve again")
    return folder


def read_meta(run_dir: str | Path, model: type[RunRecord] = RunRecord) -> dict:
    """Read a run folder's solution.json, its keys and types checked (by ``model``).

    Raises
    ------
    siting.errors.InputError
        If solution.json is missing or unreadable, or lacks a key or has one of the wrong
        type (docs/run-folder.md), naming the file and the key.
    """
    path = Path(run_dir) / "solution.json"
    if not path.is_file():
        raise InputError(path, None, "not a run folder (no solution.json)")
    return read_record(path, model)


def read_record(path: Path, model: type[pydantic.BaseModel]) -> dict:
    """Read the JSON file ``path``, its keys and types checked by ``model``.

    Raises
    ------
    siting.errors.InputError
        If the file is missing or unreadable, or does not match ``model``, naming the key.
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"), parse_float=_finite,
                            parse_constant=_finite)
        model.model_validate(record, strict=True)
    except pydantic.ValidationError as exc:
        raise validation_error(path, exc) from None
    except (OSError, ValueError) as exc:  # ValueError: bad JSON, bad UTF-8, not finite
        raise InputError(path, None, f"unreadable: {exc}") from None
    return record


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


def read_table(run_dir: str | Path, name: str, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read one of a run folder's CSV tables, with ids kept as text and numbers as floats.

    Raises
    ------
    siting.errors.InputError
        If the table is missing or unreadable, lacks one of its columns (those of
        docs/run-folder.md and ``required``), a cell is not of its column's type (a
        number: finite), or two rows share a key (a facility's or region's id).
    """
    path = Path(run_dir) / f"{name}.csv"
    if not path.is_file():
        raise InputError(path, None, "missing from the run folder")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"unreadable: {exc}") from None
    missing = [c for c in (*COLUMNS.get(name, ()), *required) if c not in frame.columns]
    if missing:
        raise InputError(path, missing[0], "column missing")
    for col in frame.columns:
        if col in FLAGS:
            lowered = frame[col].str.lower()
            _refuse(frame[col], ~lowered.isin(["true", "false"]), path, col, "true or false")
            frame[col] = lowered == "true"
        elif col in TEXT:
            frame[col] = frame[col].map(_unescape)
        else:
            numbers = pd.to_numeric(frame[col], errors="coerce").astype(float)
            empty_ok = (frame[col] == "") & (col in MAY_BE_EMPTY)
            _refuse(frame[col], ~np.isfinite(numbers) & ~empty_ok, path, col, "a finite number")
            frame[col] = numbers
    keys = [col for col in KEYS.get(name, ()) if col in frame.columns]
    twice = frame.duplicated(keys, keep=False) if keys else pd.Series(False, frame.index)
    if twice.any():
        rows = np.flatnonzero(twice.to_numpy())[:2] + 2
        raise InputError(path, f"rows {rows[0]} and {rows[1]}", f"the same {', '.join(keys)} "
                         f"{'/'.join(map(str, frame.loc[twice].iloc[0][keys]))!r}")
    return frame


def read_layer(run_dir: str | Path, name: str, columns: Sequence[str]) -> gpd.GeoDataFrame:
    """Read one layer of a run folder's solution.gpkg, with ``columns``.

    Raises
    ------
    siting.errors.InputError
        If solution.gpkg is missing, is not a GeoPackage, or lacks the layer or a column.
    """
    path = Path(run_dir) / "solution.gpkg"
    if not path.is_file():
        raise InputError(path, None, "missing: is this a run folder written by `siting solve`?")
    try:
        with warnings.catch_warnings():  # GDAL's warnings: the errors below say it in one line
            warnings.simplefilter("ignore")
            layer = gpd.read_file(path, layer=name, columns=list(columns), engine="pyogrio")
    except GPKG_ERRORS as exc:
        raise InputError(path, f"layer {name}", f"unreadable: {exc}") from None
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputError(path, f"layer {name}", "no geometry: not a layer siting wrote")
    missing = [col for col in columns if col not in layer.columns]
    if missing:
        raise InputError(path, f"layer {name}", f"column {missing[0]} missing")
    return layer


def _refuse(column: pd.Series, bad: pd.Series, path: Path, name: str, expected: str) -> None:
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise InputError(path, f"row {row + 2}, {name}",
                         f"expected {expected}, got {column.iloc[row]!r}")
