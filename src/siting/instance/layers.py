"""Read the GIS and CSV layers of an instance into checked frames.

Every problem is raised as an :class:`~siting.errors.InstanceError` naming the file and
the row or column, so a planner can fix a spreadsheet made by someone else.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.errors import InstanceError

WGS84 = "EPSG:4326"


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV file with every column as text (ids stay ``"007"``)."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(path, None,
                            f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InstanceError(path, None, f"cannot read CSV: {str(exc).splitlines()[0]}") from None
    separator = next((c for c in ";\t|" if c in table.columns[0]), None)
    if len(table.columns) == 1 and separator:
        raise InstanceError(path, "header", f"expected columns separated by commas, found "
                            f"{separator!r}: save the sheet as comma-separated CSV")
    return table


def read_layer(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a layer (GeoJSON, GeoPackage, Shapefile, or CSV with lon/lat) in WGS84."""
    if not path.is_file():
        raise InstanceError(path, None, "file not found")
    frame = _points_from_csv(path) if path.suffix.lower() == ".csv" else _read_gis(path, layer)
    return checked_layer(frame, path)


def checked_layer(frame: gpd.GeoDataFrame, source: str | Path) -> gpd.GeoDataFrame:
    """Return ``frame`` in WGS84 (no CRS: taken as WGS84), checked to have valid geometries.

    ``source`` names the layer in errors: its file, or the argument it was given as.
    """
    if frame.crs is not None and not frame.crs.equals(WGS84):
        frame = frame.to_crs(WGS84)
    frame = frame.set_crs(WGS84, allow_override=True)
    if frame.empty:
        raise InstanceError(source, None, "the layer has no rows")
    _check_geometries(frame, source)
    return frame


def _read_gis(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise InstanceError(path, f"layer {layer!r}" if layer else None,
                            f"cannot read layer: {str(exc).splitlines()[0]}") from None
    return frame


def _points_from_csv(path: Path) -> gpd.GeoDataFrame:
    table = read_table(path)
    missing = [c for c in ("lon", "lat") if c not in table.columns]
    if missing:
        raise InstanceError(path, f"column {missing[0]!r}",
                            "missing (a CSV layer needs lon and lat)")
    lon = number_column(table, "lon", path, minimum=-1e12)
    lat = number_column(table, "lat", path, minimum=-1e12)
    return gpd.GeoDataFrame(table.drop(columns=["lon", "lat"]),
                            geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def _check_geometries(frame: gpd.GeoDataFrame, path: str | Path) -> None:
    geoms = frame.geometry.values
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        raise InstanceError(path, _row(frame, int(np.argmax(empty))), "empty or missing geometry")
    valid = shapely.is_valid(geoms)
    if not valid.all():
        i = int(np.argmin(valid))
        raise InstanceError(path, _row(frame, i),
                            f"invalid geometry ({shapely.is_valid_reason(geoms[i])})")
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    outside = (xmin < -180) | (xmax > 180) | (ymin < -90) | (ymax > 90)
    if outside.any():
        raise InstanceError(path, _row(frame, int(np.argmax(outside))),
                            "coordinates outside lon/lat range: a projected CRS read as WGS84? "
                            "Give the layer its CRS or reproject it to EPSG:4326")


def _row(frame: pd.DataFrame, i: int) -> str:
    ident = frame["id"].iloc[i] if "id" in frame.columns else None
    return f"row {i + 1}" + (f" (id {ident!r})" if ident not in (None, "") else "")


def id_column(frame: pd.DataFrame, path: Path, column: str = "id") -> pd.Series:
    """Return the unique, non-empty string ids of a layer."""
    if column not in frame.columns:
        raise InstanceError(path, f"column {column!r}", "missing")
    ids = frame[column].map(_as_text)
    blank = ids == ""
    if blank.any():
        raise InstanceError(path, f"row {int(np.argmax(blank)) + 1}", f"empty {column}")
    dup = ids.duplicated()
    if dup.any():
        i = int(np.argmax(dup))
        raise InstanceError(path, f"row {i + 1}", f"duplicate {column} {ids.iloc[i]!r}")
    return ids


def text_column(frame: pd.DataFrame, column: str, default: pd.Series | str) -> pd.Series:
    """Return a text column, or the default where the column is absent or a cell empty."""
    fallback = default if isinstance(default, pd.Series) else pd.Series(default, index=frame.index)
    if column not in frame.columns:
        return fallback.astype(str)
    values = frame[column].map(_as_text)
    return values.where(values != "", fallback)


def number_column(frame: pd.DataFrame, column: str, path: Path, default: float | None = None,
                  minimum: float = 0.0, maximum: float = 1e12) -> np.ndarray:
    """Return a finite float column within [minimum, maximum]; empty cells take the default."""
    if column not in frame.columns:
        if default is None:
            raise InstanceError(path, f"column {column!r}", "missing")
        return np.full(len(frame), default, dtype=float)
    raw = frame[column]
    text = raw.map(_as_text)
    blank = (text == "").to_numpy() if default is not None else np.zeros(len(text), dtype=bool)
    numbers = pd.to_numeric(text.where(~blank, "0"), errors="coerce")
    values = numbers.to_numpy(dtype=float, copy=True)
    bad = ~np.isfinite(values) | (values < minimum) | (values > maximum)
    bad &= ~blank
    values[blank] = default if default is not None else np.nan
    if bad.any():
        i = int(np.argmax(bad))
        raise InstanceError(path, f"{_row(frame, i)}, column {column!r}",
                            f"expected a finite number in [{minimum:g}, {maximum:g}], "
                            f"got {raw.iloc[i]!r}")
    return values


def _as_text(value: object) -> str:
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
