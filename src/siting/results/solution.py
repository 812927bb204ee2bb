"""A solved network as plain data (no Pyomo inside) and its key figures.

Everything a planner sees (CLI tables, files, maps, bench tables) is computed from a
:class:`Solution`, never from the Pyomo model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.instance.network import Network

if TYPE_CHECKING:
    import folium
    import pyomo.environ as pyo

    from siting.engine.highs import SolveResult

TOL = 1e-6  # tonnes below this are solver noise


@dataclass
class Solution:
    """Build decisions, flows and uncollected tonnes of one run, with provenance and KPIs.

    ``facilities``, ``flows`` and ``regions`` have the columns of docs/run-folder.md;
    ``meta`` holds the provenance, solver status and timings; ``kpis`` the key figures.
    A multi-period run also has the solution of each period by year and the ``timeline``
    (one row per period, ``periods.csv``); its own frames are those of the last period.
    """

    meta: dict[str, Any]
    facilities: gpd.GeoDataFrame
    flows: pd.DataFrame
    regions: gpd.GeoDataFrame
    kpis: dict[str, Any]
    periods: dict[int, Solution] = field(default_factory=dict)
    timeline: pd.DataFrame | None = None

    def __repr__(self) -> str:
        """One line: instance, scenario, status, cost, collection and what was built."""
        k, meta = self.kpis, self.meta
        built = int((self.facilities["new_capacity"] > 0).sum())
        return (f"<Solution {meta['instance']['name']!r} / {meta['scenario']['name']!r}: "
                f"{self.status}, cost {k['total_cost']:,.0f} {meta['instance']['currency']}/yr, "
                f"collected {k['collected_t']:,.0f} of {k['supply_t']:,.0f} t, "
                f"{built} new and {int(self.facilities['open'].sum())} open facilities>")

    @property
    def status(self) -> str:
        """What is known of the result: optimal, feasible, time_limit, ... (docs/run-folder.md)."""
        return self.meta["status"]

    def to_geodataframe(self, layer: str = "facilities") -> gpd.GeoDataFrame:
        """Return one layer as a GeoDataFrame in WGS84: facilities, regions or flows.

        Facilities are points, regions their input geometry, flows straight lines from
        origin to destination; the columns are those of docs/run-folder.md.
        """
        layers = {"facilities": lambda: self.facilities, "regions": lambda: self.regions,
                  "flows": lambda: flow_lines(self)}
        if layer not in layers:
            raise ValueError(f"no layer {layer!r}; expected one of {sorted(layers)}")
        return layers[layer]().copy()

    def explore(self, tiles: str = "cartodb", cdn: bool = False) -> folium.Map:
        """Return a folium map of the solution (shown inline in a notebook).

        Regions are coloured by collection rate, opened facilities drawn by capacity and
        utilisation (new ones outlined in gold), flows as lines; every item has a tooltip.
        ``tiles``: "cartodb", "osm" or "none". Leaflet is inlined, so the map draws
        offline; ``cdn=True`` links it on its CDN instead.
        """
        from siting.render.explore import explore  # folium is imported only when drawing

        return explore(self, tiles, cdn)


def extract_solution(m: pyo.ConcreteModel, net: Network, result: SolveResult,
                     meta: dict[str, Any]) -> Solution:
    """Read the decisions of a solved model into a :class:`Solution`.

    The model is only read (values of its components), so this module needs no Pyomo.
    """
    x = _clean(np.array([m.flow[k].value or 0.0 for k in m.FLOWS]))
    built = np.rint([m.build[j].value or 0.0 for j in m.OPTIONS]).astype(int)
    closed = np.zeros(len(net.site_existing), dtype=bool)
    closed[list(m.CLOSABLE)] = [(m.keep[f].value or 0.0) < 0.5 for f in m.CLOSABLE]
    flows = flow_frame(net, x)
    facilities = facility_frame(net, x, built, closed)
    regions = region_frame(net, x)
    meta = {**meta, "status": result.status, "has_solution": result.has_solution,
            "objective": result.objective, "best_bound": result.best_bound,
            "mip_gap": result.mip_gap, "model_size": result.model_size,
            "strong_linking": bool(m.strong_linking)}
    meta["timings"] = {**meta.get("timings", {}), **result.timings}
    kpis = compute_kpis(net, facilities, flows, regions, float(m.policy_cost()))
    return Solution(meta, facilities, flows, regions, kpis)


def _clean(values: np.ndarray) -> np.ndarray:
    return np.where(np.abs(values) < TOL, 0.0, values)


def flow_frame(net: Network, x: np.ndarray) -> pd.DataFrame:
    """One row per flow carrying tonnes, its ends by id and by name."""
    inst = net.instance
    used = np.flatnonzero(x > 0)
    origin, dest = net.flow_origin[used], net.flow_dest[used]
    from_region = net.flow_from_region[used]

    def of_origin(column: str) -> np.ndarray:
        regions, sites = inst.regions[column].to_numpy(), inst.sites[column].to_numpy()
        return np.where(from_region, regions[np.where(from_region, origin, 0)],
                        sites[np.where(from_region, 0, origin)])

    tonnes = x[used]
    return pd.DataFrame({
        "origin": of_origin("id"),
        "origin_name": of_origin("name"),
        "origin_type": np.where(from_region, "region", "site"),
        "destination": inst.sites["id"].to_numpy()[dest],
        "destination_name": inst.sites["name"].to_numpy()[dest],
        "stream": np.array(inst.streams)[net.flow_stream[used]],
        "tonnes": tonnes,
        "km": net.arc_km[net.flow_arc[used]],
        "transport_cost": tonnes * net.flow_transport_cost[used],
        "processing_cost": tonnes * net.flow_processing_cost[used],
        "co2_t": tonnes * net.flow_co2_kg[used] / 1000,
        "revenue": tonnes * net.flow_revenue[used],
        **{f"recovered_{m}": tonnes * net.flow_material[used, i]
           for i, m in enumerate(inst.spec.materials)},
    })


def facility_frame(net: Network, x: np.ndarray, built: np.ndarray,
                   closed: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """One row per site: open, size built, capacity, throughput by stream, utilisation.

    ``built`` holds the units of each build option (0 or 1 for an exclusive size); the
    ``size`` of a site with modules lists them joined by ``+`` (``S+S+M``). ``closed``
    marks existing facilities closed (their capacity and fixed cost are gone).
    """
    sites = net.instance.sites
    n = len(sites)
    chosen = np.flatnonzero(built)
    size = np.full(n, "", dtype=object)
    for j in chosen:
        f = net.option_site[j]
        size[f] = "+".join(filter(None, [size[f]] + [net.option_size[j]] * built[j]))
    site, units = net.option_site[chosen], built[chosen]
    new_cap = np.bincount(site, net.option_capacity[chosen] * units, minlength=n)
    fixed = np.bincount(site, net.option_fixed[chosen] * units, minlength=n)
    capex = np.bincount(site, net.option_capex[chosen] * units, minlength=n)
    kept = 1.0 if closed is None else ~closed
    existing = net.site_existing * kept
    capacity = existing + new_cap
    by_stream = {s: np.bincount(net.flow_dest, x * (net.flow_stream == j), minlength=n)
                 for j, s in enumerate(net.instance.streams)}
    throughput = np.sum(list(by_stream.values()), axis=0)
    frame = gpd.GeoDataFrame({
        "id": sites["id"], "name": sites["name"], "tier": sites["tier"],
        "province": sites["province"], "lon": sites["lon"], "lat": sites["lat"],
        "existing": net.site_existing > 0,
        "open": (existing > 0) | (new_cap > 0),
        "new": new_cap > 0,
        "size": size,
        "existing_capacity": existing,
        "new_capacity": new_cap,
        "capacity": capacity,
        "throughput": throughput,
        "utilisation": np.divide(throughput, capacity, out=np.full(n, np.nan), where=capacity > 0),
        "fixed_cost": fixed + sites["existing_fixed_cost"].to_numpy() * kept,
        "capex": capex,
    }, geometry=sites.geometry.values, crs=sites.crs)
    for column in ("location", "process"):
        if column in sites.columns:
            frame[column] = sites[column].to_numpy()
    for s, values in by_stream.items():
        frame[f"throughput_{s}"] = values
    return frame


def region_frame(net: Network, x: np.ndarray) -> gpd.GeoDataFrame:
    """One row per region: supply, collected and uncollected tonnes, by stream and in total."""
    regions = net.instance.regions
    frame = regions[["id", "name", "province", "lon", "lat", "geometry"]].copy()
    from_region = net.flow_from_region
    n = len(regions)
    totals = {"supply": 0.0, "collected": 0.0}
    per_stream = {}
    for j, s in enumerate(net.instance.streams):
        supply = net.supply[:, j]
        mask = from_region & (net.flow_stream == j)
        collected = np.minimum(np.bincount(net.flow_origin[mask], x[mask], minlength=n), supply)
        per_stream[s] = (supply, collected)
        totals["supply"] = totals["supply"] + supply
        totals["collected"] = totals["collected"] + collected
    frame["supply"] = totals["supply"]
    frame["collected"] = totals["collected"]
    frame["uncollected"] = _clean(totals["supply"] - totals["collected"])
    frame["collection_rate"] = np.divide(totals["collected"], totals["supply"],
                                         out=np.full(n, np.nan), where=totals["supply"] > 0)
    for s, (supply, collected) in per_stream.items():
        frame[f"supply_{s}"] = supply
        frame[f"collected_{s}"] = collected
        frame[f"uncollected_{s}"] = _clean(supply - collected)
    return frame


def _rate(collected: float, supply: float) -> float | None:
    return collected / supply if supply > 0 else None


def compute_kpis(net: Network, facilities: pd.DataFrame, flows: pd.DataFrame,
                 regions: pd.DataFrame, policy_cost: float = 0.0) -> dict[str, Any]:
    """Compute the key figures of MODEL.md from the solution's frames.

    ``policy_cost`` is the sum of the policies' objective terms (carbon price, surcharges).
    """
    inst = net.instance
    finance = inst.spec.finance
    annuity = finance.annuity_factor if finance else 0.0
    penalty = sum(float(regions[f"uncollected_{s}"].sum()) * (p or 0.0)
                  for s, p in ((s, inst.spec.streams[s].uncollected_penalty) for s in inst.streams))
    cost = {
        "fixed": float(facilities["fixed_cost"].sum()),
        "capex": annuity * float(facilities["capex"].sum()),
        "transport": float(flows["transport_cost"].sum()),
        "processing": float(flows["processing_cost"].sum()),
        "penalty": penalty,
        "policies": policy_cost,
    }
    supply, collected = float(regions["supply"].sum()), float(regions["collected"].sum())
    last = facilities[facilities["tier"] == inst.tiers[-1]]
    cap_last = float(last["capacity"][last["open"]].sum())
    thr_last = float(last["throughput"].sum())
    by_tier = {}
    for tier in inst.tiers:
        at = facilities[facilities["tier"] == tier]
        cap = float(at["capacity"][at["open"]].sum())
        by_tier[tier] = {"open": int(at["open"].sum()),
                         "new": int((at["open"] & ~at["existing"]).sum()),
                         "capacity_t": cap, "throughput_t": float(at["throughput"].sum()),
                         "utilisation": _rate(float(at["throughput"].sum()), cap)}
    by_stream = {s: {"supply_t": float(regions[f"supply_{s}"].sum()),
                     "collected_t": float(regions[f"collected_{s}"].sum()),
                     "collection_rate": _rate(float(regions[f"collected_{s}"].sum()),
                                              float(regions[f"supply_{s}"].sum()))}
                 for s in inst.streams}
    grouped = regions.groupby("province", sort=True)[["supply", "collected"]].sum()
    by_province = {str(p): {"supply_t": float(r.supply), "collected_t": float(r.collected),
                            "collection_rate": _rate(float(r.collected), float(r.supply))}
                   for p, r in grouped.iterrows()}
    return {
        "total_cost": sum(cost.values()),
        "cost": cost,
        "capex_total": float(facilities["capex"].sum()),
        "supply_t": supply,
        "collected_t": collected,
        "collection_rate": _rate(collected, supply),
        "uncollected_t": float(regions["uncollected"].sum()),
        "capacity_t": cap_last,
        "capacity_existing_t": float(last["existing_capacity"].sum()),
        "capacity_new_t": float(last["new_capacity"].sum()),
        "throughput_t": thr_last,
        "utilisation": _rate(thr_last, cap_last),
        "capacity_to_supply": _rate(cap_last, supply),
        "tonne_km": float((flows["tonnes"] * flows["km"]).sum()),
        "co2_t": float(flows["co2_t"].sum()),
        "recovered_value": float(flows["revenue"].sum()),
        "materials": {m: {"recovered_t": float(flows[f"recovered_{m}"].sum()),
                          "value": float(flows[f"recovered_{m}"].sum()) * spec.price}
                      for m, spec in inst.spec.materials.items()},
        "facilities_open": {t: v["open"] for t, v in by_tier.items()},
        "facilities_new": {t: v["new"] for t, v in by_tier.items()},
        "by_tier": by_tier,
        "by_stream": by_stream,
        "by_province": by_province,
    }


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
    coords = np.stack([np.c_[start_lon, start_lat], np.c_[end_lon, end_lat]], axis=1)
    return gpd.GeoDataFrame(flows, geometry=shapely.linestrings(coords), crs="EPSG:4326")
