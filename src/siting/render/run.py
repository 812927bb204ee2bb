"""Read a run folder (docs/run-folder.md) into plain frames for rendering.

Maps are drawn from these files only, never from a solver or a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.errors import InputError
from siting.results.runfiles import read_layer, read_meta, read_table

COORD_DECIMALS = 5  # about a metre: enough for a map, and keeps large maps small


@dataclass(frozen=True)
class Run:
    """A solved run as rendered: its solution record and its tables.

    ``facilities`` holds facilities.csv with ``existing``, ``open`` and ``new`` as
    booleans; ``flows`` holds flows.csv plus the line's end points ``lon0, lat0, lon1,
    lat1``; ``regions`` holds regions.csv with the input geometry from solution.gpkg (its
    representative point where the layer has none).
    """

    path: Path
    solution: dict[str, Any]
    facilities: pd.DataFrame
    flows: pd.DataFrame
    regions: gpd.GeoDataFrame

    @property
    def kpis(self) -> dict[str, Any]:
        """The solution's KPI record."""
        return self.solution.get("kpis", {})

    @property
    def currency(self) -> str:
        """The instance's currency code."""
        return self.solution.get("instance", {}).get("currency", "")

    @property
    def tiers(self) -> list[str]:
        """Tier names in flow order."""
        return list(self.solution.get("tiers") or self.facilities["tier"].unique())

    @property
    def stream_labels(self) -> dict[str, str]:
        """Stream id to display label, in the instance's order."""
        return {s["id"]: s.get("label") or s["id"] for s in self.solution.get("streams", [])}

    @cached_property
    def sources(self) -> dict[str, list[tuple[str, float]]]:
        """Per site id, where its flows come from: (origin name, tonnes), largest first."""
        into = (self.flows.groupby(["destination", "origin_name"])["tonnes"].sum()
                .sort_values(ascending=False, kind="stable"))
        out: dict[str, list[tuple[str, float]]] = {}
        for (site, origin), tonnes in into.items():
            out.setdefault(site, []).append((origin, float(tonnes)))
        return out


def load_run(run_dir: Path) -> Run:
    """Read a run folder.

    Parameters
    ----------
    run_dir
        Folder written by ``siting solve``.

    Returns
    -------
    Run
        The solution record, facilities, flows and regions with geometry.

    Raises
    ------
    InputError
        If a file of the run folder is missing or malformed.
    """
    run_dir = Path(run_dir)
    solution = read_meta(run_dir)
    facilities = read_table(run_dir, "facilities")
    regions = _with_geometry(read_table(run_dir, "regions"), run_dir)
    flows = _with_ends(read_table(run_dir, "flows"), regions, facilities, run_dir / "flows.csv")
    return Run(path=run_dir, solution=solution, facilities=facilities, flows=flows,
               regions=regions)


def _with_geometry(regions: pd.DataFrame, run_dir: Path) -> gpd.GeoDataFrame:
    points = gpd.points_from_xy(regions["lon"], regions["lat"], crs=4326)
    layer = read_layer(run_dir, "regions", ["id"])
    layer = layer.to_crs(4326) if layer.crs is not None else layer.set_crs(4326)
    by_id = pd.Series(layer.geometry.values, index=layer["id"].astype(str))
    geometry = regions["id"].map(by_id[~by_id.index.duplicated()])
    geometry = np.where(geometry.isna() | gpd.GeoSeries(geometry).is_empty, points, geometry)
    rounded = shapely.transform(geometry, lambda xy: np.round(xy, COORD_DECIMALS))
    return gpd.GeoDataFrame(regions, geometry=rounded, crs=4326)


def _with_ends(flows: pd.DataFrame, regions: pd.DataFrame, facilities: pd.DataFrame,
               path: Path) -> pd.DataFrame:
    columns = ["lon", "lat"]
    places = pd.concat({"region": regions.set_index("id")[columns],
                        "site": facilities.set_index("id")[columns]})
    origin = places.reindex(pd.MultiIndex.from_arrays([flows["origin_type"], flows["origin"]]))
    destination = places.reindex(pd.MultiIndex.from_product([["site"], flows["destination"]]))
    ends = {"lon0": origin["lon"], "lat0": origin["lat"], "lon1": destination["lon"],
            "lat1": destination["lat"]}
    flows = flows.assign(**{key: values.to_numpy() for key, values in ends.items()})
    unknown = flows[["lon0", "lon1"]].isna().any(axis=1).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise InputError(path, f"row {row + 2}", f"{flows['origin'].iat[row]} -> "
                         f"{flows['destination'].iat[row]} names an unknown region or site")
    return flows


NOTHING_T = 1e-6  # tonnes below which a province collects nothing


def provinces(regions: pd.DataFrame) -> pd.DataFrame:
    """Return per-province supply, collected and uncollected tonnes and collection rate.

    One row per province (in order of first appearance), indexed by its name;
    ``collects_nothing`` is true where the province has supply and collects none of it.
    """
    table = regions.groupby("province", sort=False)[["supply", "collected",
                                                     "uncollected"]].sum()
    table["collection_rate"] = (table["collected"] / table["supply"]).where(table["supply"] > 0)
    table["collects_nothing"] = (table["supply"] > NOTHING_T) & (table["collected"] <= NOTHING_T)
    return table
