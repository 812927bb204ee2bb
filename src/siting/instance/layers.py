"""Read the GIS and CSV layers of an instance into checked frames.

Every problem is raised as an :class:`~siting.errors.InstanceError` naming the file and
the row or column, so a planner can fix a spreadsheet made by someone else.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from siting.errors import InstanceError
from siting.inputs import CONTROL, control_character, not_utf8, read_json, regular_file
from siting.instance.schema import LAT, LON, Number

WGS84 = "EPSG:4326"
EARTH_RADIUS_KM = 6371.0088

# The formats read, by file name suffix, with how a file of each begins: GDAL picks its
# driver from the content, so a file must be what its name says (never a VRT, whose
# sources may be other files or URLs).
FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GeoPackage",
           ".shp": "Shapefile", ".csv": "CSV"}
MAGIC = {".gpkg": b"SQLite format 3\x00", ".shp": b"\x00\x00\x27\x0a"}
GPKG_IDS = (b"GPKG", b"GP10", b"GP11")  # a GeoPackage's SQLite application_id (bytes 68-71)

# GDAL reads no URL (/vsicurl/, http://...): its curl layer may open only this one name.
pyogrio.set_gdal_config_options({"CPL_VSIL_CURL_ALLOWED_FILENAME": "/siting/no-network"})


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV file with every column as text (ids stay ``"007"``)."""
    try:
        table = pd.read_csv(path.absolute(), dtype=str, keep_default_na=False,  # no ~ expanded
                            encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(path, None, not_utf8(exc)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InstanceError(path, None, f"cannot read CSV: {str(exc).splitlines()[0]}") from None
    separator = next((c for c in ";\t|" if c in table.columns[0]), None)
    if len(table.columns) == 1 and separator:
        raise InstanceError(path, "header", f"expected columns separated by commas, found "
                            f"{separator!r}: save the sheet as comma-separated CSV")
    return table


def read_layer(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a layer (GeoJSON, GeoPackage, Shapefile, or CSV with lon/lat) in WGS84."""
    regular_file(path, InstanceError)
    if format_problem(path):
        raise InstanceError(path, None, format_problem(path))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = _points_from_csv(path)
    elif FORMATS[suffix] == "GeoJSON":
        frame = _read_geojson(path)
    else:
        _check_magic(path, suffix)
        _check_closed(path)
        frame = _read_gis(path, layer)
    return checked_layer(frame, path)


def format_problem(path: Path) -> str | None:
    """Say why ``path`` is not a layer format that siting reads (by its suffix), or None."""
    if path.suffix.lower() in FORMATS:
        return None
    suffixes: dict[str, list[str]] = {}
    for suffix, name in FORMATS.items():
        suffixes.setdefault(name, []).append(suffix)
    return (f"unsupported layer format {path.suffix.lower()!r}: expected "
            + ", ".join(f"{name} ({' or '.join(s)})" for name, s in suffixes.items()))


def checked_layer(frame: gpd.GeoDataFrame, source: str | Path) -> gpd.GeoDataFrame:
    """Return ``frame`` in WGS84 (no CRS: taken as WGS84), checked to have valid geometries.

    ``source`` names the layer in errors: its file, or the argument it was given as.
    """
    if frame.crs is not None and not frame.crs.equals(WGS84):
        _check_units(frame, source)
        frame = _to_wgs84(frame, source)
    frame = frame.set_crs(WGS84, allow_override=True)
    if frame.empty:
        raise InstanceError(source, None, "the layer has no rows")
    _check_geometries(frame, source)
    return frame


def _check_magic(path: Path, suffix: str) -> None:
    """Refuse a binary layer whose first bytes are not those of its format."""
    with path.open("rb") as handle:
        head = handle.read(72)
    if not head.startswith(MAGIC[suffix]) or (suffix == ".gpkg" and head[68:72] not in GPKG_IDS):
        raise InstanceError(path, None, f"cannot read layer: not a {FORMATS[suffix]} file "
                            "(its content is of another format)")


def _check_closed(path: Path) -> None:
    """Refuse a GeoPackage with unfinished writes: SQLite would complete them in the file."""
    for log in ("-wal", "-journal"):
        if path.with_name(path.name + log).exists():
            raise InstanceError(path, None, f"has unfinished writes ({path.name}{log}): close "
                                "the program that has it open, or save a copy, and run again")


def _read_gis(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # absolute: GDAL would take a leading "GPKG:" or "ESRI Shapefile:" as a driver prefix
            return gpd.read_file(path.absolute(), layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise InstanceError(path, f"layer {layer!r}" if layer else None,
                            f"cannot read layer: {str(exc).splitlines()[0]}") from None


def _read_geojson(path: Path) -> gpd.GeoDataFrame:
    """Read a GeoJSON FeatureCollection, its properties as written.

    GDAL reads ``true`` in a number column as 1 and ``NaN`` like ``null``; here ``true``
    stays a boolean, ``null`` is an empty cell and ``NaN`` the text ``"NaN"``, so that the
    number checks refuse what is not a number. Any other JSON (newline-delimited GeoJSON,
    ESRI JSON, TopoJSON, a lone Feature) is refused rather than read by another driver.
    """
    try:
        data = read_json(path, InstanceError)
    except InstanceError as exc:  # "Extra data": more than one JSON value, one per line
        if "Extra data" not in exc.message:
            raise
        raise InstanceError(path, None, f"{exc.message}: expected one GeoJSON "
                            "FeatureCollection (newline-delimited GeoJSON is not read)") from None
    kind = (f"type {data.get('type')!r}" if isinstance(data, dict) and "type" in data
            else "an object without 'type'" if isinstance(data, dict)
            else f"a JSON {type(data).__name__}")
    features = data.get("features") if isinstance(data, dict) else None
    if kind != "type 'FeatureCollection'" or not isinstance(features, list):
        raise InstanceError(path, None, f"cannot read layer: expected a GeoJSON "
                            f"FeatureCollection, got {kind} (newline-delimited GeoJSON, "
                            "ESRI JSON and TopoJSON are not read)")
    properties = [f.get("properties") if isinstance(f, dict) else None for f in features]
    bad = [i for i, p in enumerate(properties) if not isinstance(p, dict | None)]
    if bad:
        raise InstanceError(path, f"feature {bad[0] + 1}", "properties must be a JSON object")
    if b"<OGRVRTDataSource" in path.read_bytes():
        raise InstanceError(path, None, "holds a GDAL VRT, which GDAL would open instead")
    frame = _read_gis(path, None)
    if len(frame) != len(features):
        raise InstanceError(path, None, f"cannot read layer: GDAL read {len(frame)} of its "
                            f"{len(features)} features")
    properties = [p or {} for p in properties]
    written = set().union(*properties)
    columns = [c for c in frame.columns if c in written and c != frame.geometry.name]
    return frame.assign(**{c: pd.Series([_json_cell(p.get(c)) for p in properties],
                                        index=frame.index, dtype=object) for c in columns})


def _json_cell(value: object) -> object:
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _check_units(frame: gpd.GeoDataFrame, source: str | Path) -> None:
    """Refuse a projected layer whose coordinates all look like degrees (a wrong CRS label)."""
    xmin, ymin, xmax, ymax = frame.total_bounds
    if frame.crs.is_projected and -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90:
        raise InstanceError(source, "CRS", f"coordinates look like degrees but the layer "
                            f"declares {frame.crs.to_string()} (all within a few hundred "
                            f"metres of its origin): set its CRS to {WGS84}")


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
        cell = raw.iloc[i].item() if isinstance(raw.iloc[i], np.generic) else raw.iloc[i]
        got = "an empty cell" if blank[i] else repr(cell)
        raise InstanceError(path, f"{_row(frame, i)}, column {column!r}",
                            f"expected a finite number in [{spec.minimum:g}, {spec.maximum:g}], "
                            f"got {got}")
    return values


def check_text(frame: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    """Refuse a control character (NUL, ESC, a line break...) in the text ``columns`` read."""
    for column in (c for c in columns if c in frame.columns):
        text = frame[column].map(_as_text)
        bad = text.str.contains(CONTROL).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise InstanceError(path, f"{_row(frame, i)}, column {column!r}",
                                f"{control_character(text.iloc[i])} in {text.iloc[i]!r}")


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray,
                 lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (broadcasts)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


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
