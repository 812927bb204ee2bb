"""Write a :class:`Solution` to a run folder atomically, and read one back."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pydantic
import shapely

from siting.errors import InputError
from siting.folders import RUN, checkpoint, write_folder
from siting.inputs import validation_error
from siting.records import COLUMNS, FLAGS, MAY_BE_EMPTY, TEXT, RunRecord
from siting.solution import Solution

GPKG_STAMP = "1970-01-01T00:00:00.000Z"  # every layer's last_change in solution.gpkg
FILES = ("solution.json", "facilities.csv", "flows.csv", "regions.csv", "solution.gpkg")


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


def _write_files(solution: Solution, folder: Path) -> None:
    meta = {**solution.meta, "kpis": solution.kpis}
    (folder / "solution.json").write_text(json.dumps(meta, indent=2, allow_nan=False,
                                                     default=_json_default) + "\n")
    checkpoint("solution.json")
    facilities = pd.DataFrame(solution.facilities.drop(columns="geometry"))
    for col in ("existing", "open"):
        facilities[col] = facilities[col].map({True: "true", False: "false"})
    regions = pd.DataFrame(solution.regions.drop(columns="geometry"))
    facilities.to_csv(folder / "facilities.csv", index=False, lineterminator="\n")
    solution.flows.to_csv(folder / "flows.csv", index=False, lineterminator="\n")
    regions.to_csv(folder / "regions.csv", index=False, lineterminator="\n")
    gpkg = folder / "solution.gpkg"
    solution.facilities.to_file(gpkg, layer="facilities", engine="pyogrio")
    flow_lines(solution).to_file(gpkg, layer="flows", engine="pyogrio")
    solution.regions.to_file(gpkg, layer="regions", engine="pyogrio")
    with closing(sqlite3.connect(gpkg)) as db, db:  # a fixed stamp: same run, same bytes
        db.execute("UPDATE gpkg_contents SET last_change = ?", (GPKG_STAMP,))
    if solution.timeline is not None:
        solution.timeline.to_csv(folder / "periods.csv", index=False, lineterminator="\n")
        for year, period in solution.periods.items():
            (folder / "periods" / str(year)).mkdir(parents=True)
            _write_files(period, folder / "periods" / str(year))
            (folder / "periods" / str(year) / RUN.marker).touch()


def _json_default(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def flow_lines(solution: Solution) -> gpd.GeoDataFrame:
    """Draw the flows as straight lines from origin to destination (for GIS and maps)."""
    flows = solution.flows
    regions = solution.regions.set_index("id")
    sites = solution.facilities.set_index("id")
    from_region = (flows["origin_type"] == "region").to_numpy()
    o_lon = regions["lon"].reindex(flows["origin"]).to_numpy()
    o_lat = regions["lat"].reindex(flows["origin"]).to_numpy()
    s_lon = sites["lon"].reindex(flows["origin"]).to_numpy()
    s_lat = sites["lat"].reindex(flows["origin"]).to_numpy()
    start_lon, start_lat = np.where(from_region, o_lon, s_lon), np.where(from_region, o_lat, s_lat)
    end_lon = sites["lon"].reindex(flows["destination"]).to_numpy()
    end_lat = sites["lat"].reindex(flows["destination"]).to_numpy()
    coords = [[(a, b), (c, d)] for a, b, c, d in zip(start_lon, start_lat, end_lon, end_lat,
                                                       strict=True)]
    return gpd.GeoDataFrame(flows, geometry=shapely.linestrings(coords) if coords else [],
                            crs="EPSG:4326")


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


def read_meta(run_dir: str | Path) -> dict:
    """Read a run folder's solution.json, its keys and types checked.

    Raises
    ------
    siting.errors.InputError
        If solution.json is missing or unreadable, or lacks a key or has one of the wrong
        type (docs/run-folder.md), naming the file and the key.
    """
    path = Path(run_dir) / "solution.json"
    if not path.is_file():
        raise InputError(path, None, "not a run folder (no solution.json)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        RunRecord.model_validate(meta, strict=True)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, None, f"unreadable: {exc}") from None
    except pydantic.ValidationError as exc:
        raise validation_error(path, exc) from None
    return meta


def read_table(run_dir: str | Path, name: str, required: Sequence[str] = ()) -> pd.DataFrame:
    """Read one of a run folder's CSV tables, with ids kept as text and numbers as floats.

    Raises
    ------
    siting.errors.InputError
        If the table is missing or unreadable, lacks one of its columns (those of
        docs/run-folder.md and ``required``), or a cell is not of its column's type.
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
        elif col not in TEXT:
            numbers = pd.to_numeric(frame[col], errors="coerce")
            empty_ok = (frame[col] == "") & (col in MAY_BE_EMPTY)
            _refuse(frame[col], numbers.isna() & ~empty_ok, path, col, "a number")
            frame[col] = numbers.astype(float)
    return frame


def _refuse(column: pd.Series, bad: pd.Series, path: Path, name: str, expected: str) -> None:
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise InputError(path, f"row {row + 2}, {name}",
                         f"expected {expected}, got {column.iloc[row]!r}")
