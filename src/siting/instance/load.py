"""Load an instance folder into a validated :class:`Instance` (frames, no Pyomo)."""

from __future__ import annotations

import glob
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pydantic

from siting.errors import InstanceError
from siting.inputs import read_toml, real_path, regular_file, validation_error
from siting.instance.layers import (
    check_text,
    checked_layer,
    empty_cells,
    format_problem,
    haversine_km,
    id_column,
    number_column,
    read_layer,
    read_table,
    text_column,
)
from siting.instance.processes import expand_processes
from siting.instance.schema import (
    LAYER_COLUMNS,
    LAYER_NUMBERS,
    SHAPEFILE_NAME,
    InstanceFile,
    LayerRef,
    near_miss,
    per_stream,
)

INSTANCE_FILE = "instance.toml"


@dataclass(frozen=True)
class Instance:
    """A validated instance: its spec and its layers as frames in WGS84.

    ``regions`` has columns id, name, province, lon, lat (the representative point) and
    geometry; ``sites`` has id, name, tier, province, existing_capacity, existing_fixed_cost,
    closure_cost, capacity_group, group_capacity (nan: no shared limit), sizes and streams
    (tuples of names), fixed_cost_factor, recovery, lon, lat and geometry;
    ``supply`` is tonnes per year, one row per region and one column per stream (of the
    first period when the instance has ``[periods]``); ``period_supply`` holds one such
    table per period, or None without ``[periods]``. ``path`` is the instance folder, or
    None for an instance made in memory (:meth:`from_geodataframes`). ``empty_cells``
    counts, per ``layer.column`` where an empty cell has a meaning, the cells that took it;
    ``unread`` names, one line per layer, the columns that were not read.
    """

    path: Path | None
    spec: InstanceFile
    regions: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    supply: pd.DataFrame
    distances: pd.DataFrame | None
    hash: str
    period_supply: tuple[pd.DataFrame, ...] | None = None
    empty_cells: dict[str, int] = field(default_factory=dict)
    unread: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The instance's display name."""
        return self.spec.instance.name

    @property
    def streams(self) -> list[str]:
        """Stream ids in file order."""
        return list(self.spec.streams)

    @property
    def tiers(self) -> list[str]:
        """Tier names in flow order (first receives from regions, last processes)."""
        return list(self.spec.tiers)

    @property
    def warnings(self) -> list[str]:
        """Return what the instance says that the model will not do (one line each)."""
        priced = [f"{tier}.{size.name}" for tier, spec in self.spec.tiers.items()
                  for size in spec.sizes if size.capex]
        if priced and self.spec.finance is None:
            return [f"instance.toml: sizes {', '.join(priced)} have capex but there is no "
                    "[finance] table, so the cost charges no capex (only capex_budget counts "
                    "it); add [finance] with discount_rate and lifetime_years to annualise it",
                    *self.unread]
        return list(self.unread)

    @classmethod
    def from_geodataframes(cls, regions: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
                           spec: dict | str | Path, supply: pd.DataFrame | None = None,
                           distances: pd.DataFrame | None = None) -> Instance:
        """Make an instance from frames in memory, checked as the files of a folder are.

        ``regions`` and ``sites`` have the columns of the regions and sites layers
        (docs/instance-format.md), in any CRS; ``spec`` is the tables of an
        ``instance.toml`` as a dict (``[layers]`` may be left out), or the path of one
        whose layers are replaced by the frames; ``supply`` (region, stream, tonnes) and
        ``distances`` (origin, destination, km) are the optional tables.
        """
        if isinstance(spec, dict):
            source, data = "spec", {"layers": {"regions": "regions", "sites": "sites"}, **spec}
        else:
            source = Path(spec) / INSTANCE_FILE if Path(spec).is_dir() else Path(spec)
            data = read_toml(source, InstanceError)
        tables = {"regions": regions, "sites": sites, "supply": supply, "distances": distances}
        digest = hashlib.sha256(repr(sorted(data.items())).encode())
        for name, table in tables.items():
            if table is not None:
                digest.update(name.encode())
                digest.update(pd.util.hash_pandas_object(table.astype(str)).to_numpy().tobytes())
        return _assemble(None, _spec(data, source), digest.hexdigest(),
                         *((table, name) for name, table in tables.items()))


def load_instance(folder: str | Path) -> Instance:
    """Read and validate the instance folder ``folder`` (its ``instance.toml`` and layers)."""
    folder = Path(folder)
    toml_path = folder / INSTANCE_FILE if folder.is_dir() else folder
    folder = toml_path.parent
    spec = _spec(read_toml(toml_path, InstanceError), toml_path)

    def layer_path(name: str) -> Path:
        return _layer_path(folder, toml_path, name, getattr(spec.layers, name))

    regions_path, sites_path = layer_path("regions"), layer_path("sites")
    supply_path = layer_path("supply") if spec.layers.supply else None
    dist_path = layer_path("distances") if spec.distance.method == "matrix" else None
    files = [p for p in (toml_path, regions_path, sites_path, supply_path, dist_path) if p]
    return _assemble(folder.resolve(), spec, _digest(files),
                     (read_layer(regions_path, spec.layers.regions.layer), regions_path),
                     (read_layer(sites_path, spec.layers.sites.layer), sites_path),
                     (read_table(supply_path) if supply_path else None, supply_path),
                     (read_table(dist_path) if dist_path else None, dist_path))


Source = tuple[pd.DataFrame | None, str | Path | None]  # a layer or table, and what names it


def _layer_path(folder: Path, toml_path: Path, name: str, ref: LayerRef) -> Path:
    """Return the file of layer ``name``: a regular file inside the folder, links resolved."""
    where = f"layers.{name}"
    if "://" in ref.path or "/vsi" in ref.path.lower():
        raise InstanceError(toml_path, where, f"expected a file in the instance folder, got "
                            f"{ref.path!r} (no URLs or GDAL virtual paths)")
    if Path(ref.path).is_absolute():
        raise InstanceError(toml_path, where, f"expected a path relative to the instance "
                            f"folder, got {ref.path!r}")
    path = folder / ref.path
    if name in ("regions", "sites") and format_problem(path):
        raise InstanceError(toml_path, where, format_problem(path))
    inside = real_path(folder)
    for part in (path, *_companions(path)):
        if not real_path(part).is_relative_to(inside):
            raise InstanceError(toml_path, where, f"{ref.path!r} leads outside the instance "
                                f"folder ({real_path(part)}): copy the file into the folder")
        regular_file(part, InstanceError, where, name=toml_path)
    return path


def _companions(path: Path) -> list[Path]:
    """Return the files GDAL may open with ``path``: a Shapefile's .dbf, a GeoPackage's -wal..."""
    suffix = path.suffix.lower()
    pattern = (f"{glob.escape(path.stem)}.*" if suffix == ".shp" else
               f"{glob.escape(path.name)}-*" if suffix == ".gpkg" else None)
    return [p for p in path.parent.glob(pattern) if p != path] if pattern else []


def _spec(data: dict, source: str | Path) -> InstanceFile:
    try:
        return InstanceFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(source, exc, error=InstanceError) from None


def _assemble(folder: Path | None, spec: InstanceFile, digest: str, regions_in: Source,
              sites_in: Source, supply_in: Source, distances_in: Source) -> Instance:
    """Check the layers and tables of an instance and make it."""
    (region_frame, regions_path), (site_frame, sites_path) = regions_in, sites_in
    unread = []
    for layer, (frame, path) in zip(LAYER_COLUMNS, (regions_in, sites_in, supply_in,
                                                    distances_in), strict=True):
        if frame is not None:
            unread += _unread_columns(frame, layer, path, spec)
            check_text(frame, [c for c in LAYER_COLUMNS[layer] if c not in LAYER_NUMBERS[layer]],
                       path)
    regions = _regions(checked_layer(region_frame, regions_path), regions_path)
    sites = _sites(checked_layer(site_frame, sites_path), sites_path, spec)
    _check_reach(regions, sites, regions_path, sites_path)
    period_supply = _supply(regions, spec, regions_path, supply_in)
    supply = period_supply[0]
    regions = regions[[c for c in regions.columns if not c.startswith("supply")]]
    _check_streams_accepted(sites, supply, spec, sites_path)
    distances = None
    if spec.distance.method == "matrix":
        table, path = distances_in
        if table is None:
            raise InstanceError(path or "distances", None, "distance.method is 'matrix': "
                                "give the distances table (origin, destination, km)")
        distances = _distances(_text(table), path, regions, sites)
    empty = {f"sites.{column}": empty_cells(site_frame, column)
             for column, number in LAYER_NUMBERS["sites"].items()
             if number.empty is not None and column in site_frame.columns}
    return Instance(folder, spec, regions, sites, supply, distances, digest,
                    period_supply if spec.periods else None, empty, tuple(unread))


def _unread_columns(frame: pd.DataFrame, layer: str, path: str | Path,
                    spec: InstanceFile) -> list[str]:
    """Refuse a column that is a slip of a known one; return a warning naming the others.

    Known: :data:`LAYER_COLUMNS` (``supply_<stream>`` for each stream, other ``supply_*``
    columns being refused later as unknown streams).
    """
    known = [c for c in LAYER_COLUMNS[layer] if c != "supply_<stream>"]
    if "supply_<stream>" in LAYER_COLUMNS[layer]:
        known += [f"supply_{s}" for s in spec.streams]
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    unread = []
    for column in map(str, frame.columns):
        if column in known or column == geometry or (
                layer == "regions" and column.startswith("supply_")):
            continue
        meant = near_miss(column, known)
        if meant:
            cut = len(column) == SHAPEFILE_NAME and meant.startswith(column)
            raise InstanceError(path, f"column {column!r}", f"unknown column; did you mean "
                                f"{meant!r}?" + (" (a Shapefile cuts column names to 10 "
                                                 "characters: use GeoPackage or GeoJSON)"
                                                 if cut else ""))
        unread.append(column)
    if not unread:
        return []
    return [f"{Path(str(path)).name}: {'columns' if len(unread) > 1 else 'column'} "
            f"{', '.join(map(repr, unread))} not read (unknown; the known columns of the "
            f"{layer} layer are {', '.join(LAYER_COLUMNS[layer])})"]


REACH_KM = 2000.0  # a site this close to some region, or the layers are in different places


def _check_reach(regions: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, regions_path: str | Path,
                 sites_path: str | Path) -> None:
    """Refuse layers with no site within :data:`REACH_KM` of any region (a wrong CRS)."""
    closest = np.inf
    for start in range(0, len(regions), 256):  # stops at the first chunk in reach
        chunk = regions.iloc[start:start + 256]
        km = haversine_km(chunk["lon"].to_numpy()[:, None], chunk["lat"].to_numpy()[:, None],
                          sites["lon"].to_numpy(), sites["lat"].to_numpy())
        closest = min(closest, float(km.min()))
        if closest <= REACH_KM:
            return
    raise InstanceError(regions_path, None, f"no site of {Path(str(sites_path)).name} within "
                        f"{REACH_KM:,.0f} km of any region (the closest are {closest:,.0f} km "
                        "apart): is a layer's CRS wrong? (metres read as degrees or the other "
                        "way round)")


def _number(frame: pd.DataFrame, layer: str, column: str, path: str | Path) -> np.ndarray:
    """Read the numeric ``column`` of ``layer`` as :data:`LAYER_NUMBERS` says."""
    return number_column(frame, column, path, LAYER_NUMBERS[layer][column])


def _text(table: pd.DataFrame) -> pd.DataFrame:
    """Return a table with every column as text, as :func:`read_table` reads a CSV file."""
    return table.astype(object).where(table.notna(), "").astype(str)


def _digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for path in files:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


REGION_GEOMETRIES = ("Polygon", "MultiPolygon", "Point")


def _regions(frame: gpd.GeoDataFrame, path: Path) -> gpd.GeoDataFrame:
    ids = id_column(frame, path)
    kind = frame.geom_type.to_numpy()
    wrong = ~np.isin(kind, REGION_GEOMETRIES)
    if wrong.any():
        i = int(np.argmax(wrong))
        raise InstanceError(path, f"row {i + 1} (id {ids.iloc[i]!r})",
                            f"a region must be a Polygon, MultiPolygon or Point, got {kind[i]}")
    points = frame.geometry.representative_point()
    out = gpd.GeoDataFrame(
        {
            "id": ids,
            "name": text_column(frame, "name", ids),
            "province": text_column(frame, "province", ids),
            "lon": points.x.to_numpy(),
            "lat": points.y.to_numpy(),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    )
    supply_cols = [c for c in frame.columns if c == "supply" or c.startswith("supply_")]
    for col in supply_cols:
        out[col] = frame[col].to_numpy()
    return out.reset_index(drop=True)


def _sites(frame: gpd.GeoDataFrame, path: Path, spec: InstanceFile) -> gpd.GeoDataFrame:
    ids = id_column(frame, path)
    if not (frame.geom_type == "Point").all():
        i = int(np.argmax((frame.geom_type != "Point").to_numpy()))
        raise InstanceError(path, f"row {i + 1} (id {ids.iloc[i]!r})", "a site must be a point")
    if "tier" not in frame.columns:
        raise InstanceError(path, "column 'tier'", f"missing; expected one of {list(spec.tiers)}")
    tiers = text_column(frame, "tier", "")
    existing = _number(frame, "sites", "existing_capacity", path)
    groups = text_column(frame, "capacity_group", "")
    sizes, streams, processes = [], [], []
    for i, site_id in enumerate(ids):
        where = f"row {i + 1} (id {site_id!r})"
        tier = spec.tiers.get(tiers.iloc[i])
        if tier is None:
            raise InstanceError(path, f"{where}, column 'tier'",
                                f"unknown tier {tiers.iloc[i]!r}; "
                                f"expected one of {list(spec.tiers)}")
        names = [s.name for s in tier.sizes]
        allowed = _name_list(frame, "sizes", i, default=() if existing[i] > 0 else names)
        if existing[i] > 0 and allowed:
            raise InstanceError(path, f"{where}, column 'sizes'",
                                "an existing facility is not enlarged in place: leave sizes empty "
                                "and add a co-located candidate site to allow new capacity")
        unknown = sorted(set(allowed) - set(names))
        if unknown:
            raise InstanceError(path, f"{where}, column 'sizes'",
                                f"unknown sizes {unknown}; tier {tiers.iloc[i]!r} has {names}")
        if existing[i] == 0 and not allowed:
            raise InstanceError(path, where, "a candidate site needs at least one size option "
                                "(its tier has none) or an existing_capacity")
        accepted = _name_list(frame, "streams", i, default=tuple(spec.streams))
        unknown = sorted(set(accepted) - set(spec.streams))
        if unknown:
            raise InstanceError(path, f"{where}, column 'streams'",
                                f"unknown streams {unknown}; expected some of {list(spec.streams)}")
        sizes.append(tuple(allowed))
        streams.append(tuple(accepted))
        processes.append(_name_list(frame, "process", i, default=()))
    return expand_processes(gpd.GeoDataFrame(
        {
            "id": ids,
            "name": text_column(frame, "name", ids),
            "tier": tiers,
            "province": text_column(frame, "province", ""),
            "existing_capacity": existing,
            "existing_fixed_cost": _number(frame, "sites", "existing_fixed_cost", path),
            "closure_cost": _closure_cost(frame, path, existing, spec),
            "capacity_group": groups,
            "group_capacity": _group_capacity(frame, path, groups),
            "sizes": sizes,
            "streams": streams,
            "fixed_cost_factor": _number(frame, "sites", "fixed_cost_factor", path),
            "recovery": _number(frame, "sites", "recovery", path),
            "lon": frame.geometry.x.to_numpy(),
            "lat": frame.geometry.y.to_numpy(),
        },
        geometry=frame.geometry.values,
        crs=frame.crs,
    ).reset_index(drop=True), processes, path, spec)


def _closure_cost(frame: pd.DataFrame, path: Path, existing: np.ndarray,
                  spec: InstanceFile) -> np.ndarray:
    """Cost of closing each existing facility; nan where it cannot close."""
    cost = _number(frame, "sites", "closure_cost", path)
    given = ~np.isnan(cost)
    if given.any() and spec.periods is None:
        raise InstanceError(path, "column 'closure_cost'", "closing a facility needs [periods]")
    if (given & (existing == 0)).any():
        i = int(np.argmax(given & (existing == 0)))
        raise InstanceError(path, f"row {i + 1}, column 'closure_cost'",
                            "only an existing facility (existing_capacity > 0) can close")
    return cost


def _group_capacity(frame: pd.DataFrame, path: Path, groups: pd.Series) -> np.ndarray:
    """Each site's shared limit: its capacity group's ``group_capacity``; nan where none."""
    limit = _number(frame, "sites", "group_capacity", path)
    alone = ~np.isnan(limit) & (groups == "").to_numpy()
    if alone.any():
        raise InstanceError(path, f"row {int(np.argmax(alone)) + 1}, column 'group_capacity'",
                            "a group capacity needs a capacity_group")
    given = pd.Series(limit, index=groups.index).groupby(groups).agg(
        lambda values: sorted(set(values.dropna())))
    for name, values in given.items():
        if len(values) > 1:
            raise InstanceError(path, "column 'group_capacity'",
                                f"capacity group {name!r} is given {len(values)} different "
                                f"group capacities {values}; give it one")
    return groups.map(lambda g: given[g][0] if g and given[g] else np.nan).to_numpy(float)


def _name_list(frame: pd.DataFrame, column: str, i: int, default: tuple) -> tuple:
    if column not in frame.columns:
        return tuple(default)
    cell = frame[column].iloc[i]
    if not pd.api.types.is_scalar(cell):  # a GeoJSON list of names
        return tuple(str(n).strip() for n in cell if str(n).strip())
    if cell is None or (not isinstance(cell, str) and pd.isna(cell)):
        return tuple(default)
    names = tuple(n.strip() for n in str(cell).replace(",", ";").split(";") if n.strip())
    return names if names or str(cell).strip() else tuple(default)


def _supply(regions: gpd.GeoDataFrame, spec: InstanceFile, regions_path: str | Path,
            supply_in: Source) -> tuple[pd.DataFrame, ...]:
    """Supply of every period (one table without ``[periods]``)."""
    periods = spec.periods
    table, supply_path = supply_in
    table = None if table is None else _text(table)
    if table is not None and "year" in table.columns:
        if periods is None:
            raise InstanceError(supply_path, "column 'year'", "supply per year needs [periods] "
                                "in instance.toml (years and weights); without it remove "
                                "the column")
        return _yearly_supply(table, supply_path, regions, spec)
    base = _base_supply(regions, spec, regions_path, table, supply_path)
    if periods is None:
        return (base,)
    return tuple(base * factor for factor in (periods.growth or [1.0] * len(periods.years)))


def _yearly_supply(table: pd.DataFrame, path: Path, regions: gpd.GeoDataFrame,
                   spec: InstanceFile) -> tuple[pd.DataFrame, ...]:
    """One supply table per period from a long table with a ``year`` column."""
    years = spec.periods.years
    if spec.periods.growth is not None:
        raise InstanceError(path, "column 'year'", "give supply per year or periods.growth, "
                            "not both")
    year = _number(table, "supply", "year", path)
    unknown = ~np.isin(year, years)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise InstanceError(path, f"row {i + 1}, column 'year'",
                            f"unknown year {table['year'].iloc[i]!r}; expected one of {years}")
    year = year.astype(int)
    missing = sorted(set(years) - set(year))
    if missing:
        raise InstanceError(path, "column 'year'", f"no rows for periods {missing}")
    return tuple(_supply_table(table[year == y].drop(columns="year").reset_index(drop=True),
                               path, regions, list(spec.streams)) for y in years)


def _base_supply(regions: gpd.GeoDataFrame, spec: InstanceFile, regions_path: str | Path,
                 table: pd.DataFrame | None, supply_path: str | Path | None) -> pd.DataFrame:
    streams = list(spec.streams)
    cols = [c for c in regions.columns if c.startswith("supply")]
    if table is not None:
        if cols:
            raise InstanceError(regions_path, f"column {cols[0]!r}",
                                "supply is given both here and in layers.supply; keep one")
        return _supply_table(table, supply_path, regions, streams)
    numbers = LAYER_NUMBERS["regions"]
    tonnes = {c: number_column(regions, c, regions_path,
                               numbers["supply" if c == "supply" else "supply_<stream>"])
              for c in cols}
    if "supply" in cols:
        if len(streams) > 1:
            raise InstanceError(regions_path, "column 'supply'",
                                "ambiguous with several streams; "
                                f"use supply_<stream> for {streams}")
        return pd.DataFrame({streams[0]: tonnes["supply"]}, index=regions["id"])
    unknown = sorted({c.removeprefix("supply_") for c in cols} - set(streams))
    if unknown:
        raise InstanceError(regions_path, f"column 'supply_{unknown[0]}'",
                            f"unknown stream {unknown[0]!r}; expected one of {streams}")
    if not cols:
        raise InstanceError(regions_path, "columns", "no supply: expected 'supply', "
                            "'supply_<stream>' columns or a layers.supply table")
    data = {s: tonnes[f"supply_{s}"] if f"supply_{s}" in cols
            else np.zeros(len(regions)) for s in streams}
    return pd.DataFrame(data, index=regions["id"])


def _supply_table(table: pd.DataFrame, path: Path, regions: gpd.GeoDataFrame,
                  streams: list[str]) -> pd.DataFrame:
    for col in ("region", "stream", "tonnes"):
        if col not in table.columns:
            raise InstanceError(path, f"column {col!r}", "missing; expected region,stream,tonnes")
    tonnes = _number(table, "supply", "tonnes", path)
    _check_known(table, "region", set(regions["id"]), path)
    _check_known(table, "stream", set(streams), path)
    dup = table.duplicated(["region", "stream"])
    if dup.any():
        raise InstanceError(path, f"row {int(np.argmax(dup)) + 1}", "duplicate region and stream")
    wide = (pd.DataFrame({"region": table["region"], "stream": table["stream"], "t": tonnes})
            .pivot(index="region", columns="stream", values="t"))
    return wide.reindex(index=regions["id"], columns=streams).fillna(0.0)


def _check_known(table: pd.DataFrame, column: str, known: set[str], path: Path) -> None:
    unknown = ~table[column].isin(known)
    if unknown.any():
        i = int(np.argmax(unknown))
        raise InstanceError(path, f"row {i + 1}, column {column!r}",
                            f"unknown {column} {table[column].iloc[i]!r}")


def _check_streams_accepted(sites: gpd.GeoDataFrame, supply: pd.DataFrame, spec: InstanceFile,
                            path: Path) -> None:
    for stream in supply.columns[supply.sum().to_numpy() > 0]:
        for tier in (t for t, s in spec.tiers.items()
                     if s.branch is None or per_stream(s.branch.share, stream) > 0):
            at_tier = sites[sites["tier"] == tier]
            if not any(stream in accepted for accepted in at_tier["streams"]):
                raise InstanceError(path, "column 'streams'",
                                    f"no {tier!r} site accepts stream {stream!r}, which has supply")


def _distances(table: pd.DataFrame, path: Path, regions: gpd.GeoDataFrame,
               sites: gpd.GeoDataFrame) -> pd.DataFrame:
    for col in ("origin", "destination", "km"):
        if col not in table.columns:
            raise InstanceError(path, f"column {col!r}", "missing; expected origin,destination,km")
    km = _number(table, "distances", "km", path)
    _check_known(table, "destination", set(sites.get("location", sites["id"])), path)
    _check_known(table, "origin", set(regions["id"]) | set(sites["id"]), path)
    dup = table.duplicated(["origin", "destination"])
    if dup.any():
        raise InstanceError(path, f"row {int(np.argmax(dup)) + 1}",
                            "duplicate origin and destination")
    return pd.DataFrame({"origin": table["origin"], "destination": table["destination"], "km": km})
