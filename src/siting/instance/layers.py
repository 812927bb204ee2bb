"""Read the GIS and CSV layers of an instance into checked frames.

Every problem is raised as an :class:`~siting.errors.InstanceError` naming the file and
the row or column, so a planner can fix a spreadsheet made by someone else.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.errors import InstanceError
from siting.instance.schema import LAT, LON, Number

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
        frame = _to_wgs84(frame, source)
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
    if path.suffix.lower() in (".geojson", ".json"):
        frame = _with_json_properties(frame, path)
    return frame


def _with_json_properties(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    """Replace GDAL's reading of GeoJSON properties by the values as written.

    GDAL reads ``true`` in a number column as 1 and ``NaN`` like ``null``; here ``true``
    stays a boolean, ``null`` is an empty cell and ``NaN`` the text ``"NaN"``, so that the
    number checks refuse what is not a number.
    """
    try:
        features = json.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))["features"]
        properties = [feature.get("properties") or {} for feature in features]
    except (ValueError, KeyError, TypeError, AttributeError):
        return frame  # GDAL read a variant (a lone Feature, GeoJSON sequence): keep its values
    if len(properties) != len(frame) or not all(isinstance(p, dict) for p in properties):
        return frame
    written = set().union(*properties)
    columns = [c for c in frame.columns if c in written and c != frame.geometry.name]
    return frame.assign(**{c: pd.Series([_json_cell(p.get(c)) for p in properties],
                                        index=frame.index, dtype=object) for c in columns})


def _json_cell(value: object) -> object:
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _to_wgs84(frame: gpd.GeoDataFrame, path: str | Path) -> gpd.GeoDataFrame:
    """Reproject to WGS84, refusing coordinates outside the layer's CRS (PROJ clamps them)."""
    wgs84 = frame.to_crs(WGS84)
    given = shapely.get_coordinates(frame.geometry.values)
    back = shapely.get_coordinates(wgs84.to_crs(frame.crs).geometry.values)
    parts = shapely.get_num_coordinates(frame.geometry.values)
    off = ~np.isclose(given, back, rtol=1e-6, atol=1e-3, equal_nan=True).all(axis=1)
    if off.any():
        i = int(np.searchsorted(np.cumsum(parts), int(np.argmax(off)), side="right"))
        raise InstanceError(path, _row(frame, i),
                            f"coordinates outside the range of the layer's CRS "
                            f"({frame.crs.to_string()}): fix them or the CRS")
    return wgs84


def _points_from_csv(path: Path) -> gpd.GeoDataFrame:
    table = read_table(path)
    missing = [c for c in ("lon", "lat") if c not in table.columns]
    if missing:
        raise InstanceError(path, f"column {missing[0]!r}",
                            "missing (a CSV layer needs lon and lat)")
    lon = number_column(table, "lon", path, LON)
    lat = number_column(table, "lat", path, LAT)
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


def number_column(frame: pd.DataFrame, column: str, path: Path, spec: Number) -> np.ndarray:
    """Return a finite float column within the range of ``spec``.

    An empty cell (empty text, ``null``) takes ``spec.empty`` if it has one, else it is
    refused like NaN, infinities, booleans and text; a missing column takes ``spec.absent``.
    """
    if column not in frame.columns:
        if spec.absent is None:
            raise InstanceError(path, f"column {column!r}", "missing")
        return np.full(len(frame), spec.absent, dtype=float)
    raw = frame[column]
    text = raw.map(_as_text)
    blank = (text == "").to_numpy()
    values = pd.to_numeric(text.where(~blank, "0"), errors="coerce").to_numpy(float, copy=True)
    bad = ~np.isfinite(values) | (values < spec.minimum) | (values > spec.maximum)
    if spec.empty is None:
        bad |= blank
    else:
        bad &= ~blank
        values[blank] = spec.empty
    if bad.any():
        i = int(np.argmax(bad))
        got = "an empty cell" if blank[i] else repr(raw.iloc[i])
        raise InstanceError(path, f"{_row(frame, i)}, column {column!r}",
                            f"expected a finite number in [{spec.minimum:g}, {spec.maximum:g}], "
                            f"got {got}")
    return values


def empty_cells(frame: pd.DataFrame, column: str) -> int:
    """Count the empty cells (empty text, null) of a column; 0 where it is absent."""
    if column not in frame.columns:
        return 0
    return int((frame[column].map(_as_text) == "").sum())


def _as_text(value: object) -> str:
    if not pd.api.types.is_scalar(value):
        return str(value)
    if value is None or pd.isna(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
