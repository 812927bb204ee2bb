"""Seeded synthetic instances for tests and benchmarks, written as instance folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import psutil

from siting.errors import InputError
from siting.folders import NEW, write_folder
from siting.instance.layers import haversine_km

STREAM_NAMES = ("lfp", "ncm", "pv", "lco", "lmo", "nimh")
SIZE_SCALES = {"S": 1.0, "M": 2.5, "L": 6.0}
SINGLE_SIZE = {"U": 1.0}  # the one size of single_size instances
BBOX = (100.0, 122.0, 22.0, 42.0)  # lon min, lon max, lat min, lat max
MAX_POINTS = 10_000_000  # regions, and sites, an instance may have
BYTES_PER_POINT = 400  # memory generating a region or site takes (measured: 350 at 200,000)
FILE_BYTES_PER_POINT = 60  # its row in regions.csv or sites.csv
SHAPES = ("clustered", "tight")
SIDE_KM = float(haversine_km(BBOX[0], BBOX[2], BBOX[0], BBOX[3]))  # the box's north-south side


def generate_instance(out: str | Path, regions: int = 100, sites: int = 30, streams: int = 2,
                      tiers: int = 1, seed: int = 0, capacity_ratio: float = 1.5,
                      existing_share: float = 0.1, single_size: bool = False,
                      shape: str = "clustered") -> Path:
    """Write a synthetic instance into the new folder ``out``, atomically; return its path.

    Regions are points clustered around ``max(3, regions // 30)`` centres, each centre a
    province; supply per stream is log-normal. Candidate sites sit near regions; a share of
    the last tier's sites are existing facilities. Size options scale so that the
    largest size of every site adds up to ``capacity_ratio`` times total supply.
    With ``tiers = 2`` a third of the sites are plants and the rest collection points.

    ``single_size`` writes a capacitated facility location problem in the shape of
    OR-Library's capa/b/c: one tier, one size of equal capacity at every site
    (``capacity_ratio`` times the mean supply per site), no existing sites, no minimum
    throughput, no processing cost, and collection mandatory.

    ``shape = "tight"`` writes that single-size problem in the hard shape of the classic
    capacitated warehouse instances, following the generator of Cornuéjols, Sridharan and
    Thizy (1991, EJOR 50:280-297; as reproduced by Gasse et al. 2019, ds4dm/learn2branch)
    with equal capacities as in Beasley's capa/b/c (1988, EJOR 33:314-325): regions and
    sites uniform in :data:`BBOX` (independently; sites are not at regions), each region's
    supply a whole number uniform in [5, 35] t per stream, every site's capacity
    ``capacity_ratio`` times the mean supply per site, rounded up (so total capacity over
    total supply is ``capacity_ratio`` too), and site ``j``'s fixed cost
    ``(a_j + b_j sqrt(capacity)) * SIDE_KM / 10`` with whole numbers ``a_j`` uniform in
    [0, 90] and ``b_j`` in [100, 110]. Transport costs 1 per tonne-km of great circle
    (circuity 1): the unit square's 10 per unit of demand per side, with every cost scaled
    by the side :data:`SIDE_KM` / 10. These fixed costs outweigh the transport that opening
    more sites saves, so the optimum opens close to the fewest sites that hold the supply.
    (Cornuéjols et al. draw each capacity uniform in [10, 160], take the fixed cost from it,
    then rescale the capacities to the ratio; here capacities are equal, and the fixed cost
    is taken from the capacity each site has.)

    Raises
    ------
    siting.errors.InputError
        If a count is out of range (more than :data:`MAX_POINTS` regions or sites, or more
        than the free memory can hold), or ``out`` exists and is not an empty folder.
    """
    if not 1 <= streams <= len(STREAM_NAMES):
        raise InputError("--streams", None, f"expected 1 to {len(STREAM_NAMES)}, got {streams}")
    if tiers not in (1, 2):
        raise InputError("--tiers", None, f"expected 1 or 2, got {tiers}")
    if shape not in SHAPES:
        raise InputError("--shape", None, f"expected one of {', '.join(SHAPES)}, got {shape!r}")
    tight = shape == "tight"
    if tight and capacity_ratio < 1:
        raise InputError("--capacity-ratio", None, "with --shape tight, at least 1 (the sites "
                         f"together must hold the supply); got {capacity_ratio:g}")
    single_size = single_size or tight
    if single_size and tiers != 1:
        raise InputError("--shape tight" if tight else "--single-size", None, "needs --tiers 1")
    if regions < 1 or sites < tiers:
        raise InputError("--sites", None, f"{tiers} tier(s) need at least {tiers} site(s) and "
                         f"1 region; got {sites} sites and {regions} regions")
    _check_size(regions, sites)
    if single_size:
        existing_share = 0.0
    return write_folder(out, lambda folder: _write(folder, regions, sites, streams, tiers, seed,
                                                   capacity_ratio, existing_share, single_size,
                                                   tight),
                        NEW)


def _check_size(regions: int, sites: int) -> None:
    """Refuse counts above :data:`MAX_POINTS` or the free memory, with what they would take."""
    points = regions + sites
    need, free = points * BYTES_PER_POINT, psutil.virtual_memory().available
    if max(regions, sites) > MAX_POINTS or need > free:
        option, count = ("--regions", regions) if regions >= sites else ("--sites", sites)
        raise InputError(option, None, f"{count:,}: at most {MAX_POINTS:,} regions and "
                         f"{MAX_POINTS:,} sites; {regions:,} regions and {sites:,} sites would "
                         f"need about {need / 1e9:,.1f} GB of memory ({free / 1e9:,.1f} GB free) "
                         f"and write about {points * FILE_BYTES_PER_POINT / 1e9:,.1f} GB")


def _write(out: Path, regions: int, sites: int, streams: int, tiers: int, seed: int,
           capacity_ratio: float, existing_share: float, single_size: bool,
           tight: bool) -> None:
    rng = np.random.default_rng(seed)
    names = list(STREAM_NAMES[:streams])
    lon, lat, province = (_uniform_points if tight else _clustered_points)(rng, regions)
    region_table = pd.DataFrame({"id": [f"R{i:05d}" for i in range(regions)],
                                 "name": [f"Region {i}" for i in range(regions)],
                                 "province": province, "lon": lon.round(4), "lat": lat.round(4)})
    supply = (rng.integers(5, 36, size=(regions, streams)).astype(float) if tight else
              rng.lognormal(mean=np.log(1000), sigma=0.8, size=(regions, streams)).round(1))
    for j, s in enumerate(names):
        region_table[f"supply_{s}"] = supply[:, j]
    region_table.to_csv(out / "regions.csv", index=False)

    tier_names = ["plant"] if tiers == 1 else ["collection", "plant"]
    n_plants = sites if tiers == 1 else max(1, sites // 3)
    site_tier = ["collection"] * (sites - n_plants) + ["plant"] * n_plants
    existing = np.zeros(sites)
    plant_pos = np.arange(sites - n_plants, sites)
    n_existing = int(round(existing_share * n_plants))
    scales = SINGLE_SIZE if single_size else SIZE_SCALES
    unit = {t: capacity_ratio * supply.sum() / (max(scales.values()) * site_tier.count(t))
            for t in tier_names}
    existing[plant_pos[:n_existing]] = (unit["plant"] * 2).round()
    if tight:
        unit["plant"] = np.ceil(unit["plant"])  # the sites together hold the supply
        s_lon, s_lat, s_province = _uniform_points(rng, sites)
        a, b = rng.integers(0, 91, sites), rng.integers(100, 111, sites)
        factor = (_tight_fixed_cost(unit["plant"], a, b) / _tight_fixed_cost(unit["plant"]))
        factor = factor.round(6)
    else:
        at = rng.choice(regions, size=sites, replace=sites > regions)
        s_province, s_lon, s_lat = (province[at], lon[at] + rng.normal(0, 0.05, sites),
                                    lat[at] + rng.normal(0, 0.05, sites))
        factor = rng.uniform(0.8, 1.25, sites).round(3)
    site_table = pd.DataFrame({
        "id": [f"F{i:04d}" for i in range(sites)],
        "name": [f"Site {i}" for i in range(sites)],
        "tier": site_tier,
        "province": s_province,
        "lon": s_lon.round(4),
        "lat": s_lat.round(4),
        "existing_capacity": existing,
        "sizes": np.where(existing > 0, "", ";".join(scales)),
        "fixed_cost_factor": factor,
    })
    site_table.to_csv(out / "sites.csv", index=False)
    (out / "instance.toml").write_text(_toml(regions, sites, seed, names, tier_names, unit,
                                             single_size, tight))


def _clustered_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    lon_min, lon_max, lat_min, lat_max = BBOX
    k = max(3, n // 30)
    centres = np.column_stack([rng.uniform(lon_min, lon_max, k), rng.uniform(lat_min, lat_max, k)])
    cluster = rng.integers(0, k, n)
    lon = np.clip(centres[cluster, 0] + rng.normal(0, 1.0, n), lon_min, lon_max)
    lat = np.clip(centres[cluster, 1] + rng.normal(0, 0.8, n), lat_min, lat_max)
    return lon, lat, np.array([f"P{c:02d}" for c in cluster])


def _uniform_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """``n`` points uniform in :data:`BBOX`; provinces are the cells of a 3 x 3 grid."""
    lon_min, lon_max, lat_min, lat_max = BBOX
    lon, lat = rng.uniform(lon_min, lon_max, n), rng.uniform(lat_min, lat_max, n)
    col = np.minimum(3 * (lon - lon_min) // (lon_max - lon_min), 2).astype(int)
    row = np.minimum(3 * (lat - lat_min) // (lat_max - lat_min), 2).astype(int)
    return lon, lat, np.array([f"P{c:02d}" for c in 3 * row + col])


def _tight_fixed_cost(capacity: float, a: float | np.ndarray = 45,
                      b: float | np.ndarray = 105) -> float | np.ndarray:
    """Cornuéjols et al.'s fixed cost ``a + b sqrt(capacity)``, scaled by SIDE_KM / 10.

    The defaults are the means of ``a`` (uniform in [0, 90]) and ``b`` (in [100, 110]).
    """
    return (a + b * np.sqrt(capacity)) * SIDE_KM / 10


def _toml(regions: int, sites: int, seed: int, streams: list[str], tiers: list[str],
          unit: dict[str, float], single_size: bool, tight: bool) -> str:
    lines = ["[instance]", f'name = "synthetic {regions}x{sites} seed {seed}"',
             'description = "Synthetic instance written by siting generate"', 'currency = "CNY"',
             "", "[layers]", 'regions = "regions.csv"', 'sites = "sites.csv"', "",
             "[distance]", 'method = "great_circle"', f"circuity = {1.0 if tight else 1.3}", ""]
    for j, s in enumerate(streams):
        penalty = [] if single_size else [f"uncollected_penalty = {6000 + 1000 * j}"]
        lines += [f"[streams.{s}]", f'label = "{s.upper()}"', "transport_cost = 1.0",
                  *penalty, "co2_kg_per_tkm = 0.08", ""]
    for t in tiers:
        last = t == tiers[-1]
        cost = 0 if single_size else 1200 if last else 150
        lines += [f"[tiers.{t}]", f"processing_cost = {cost}", "sizes = ["]
        for name, scale in (SINGLE_SIZE if single_size else SIZE_SCALES).items():
            cap = round(unit[t] * scale)
            fixed = round(_tight_fixed_cost(cap) if tight else (400 if last else 40) * cap ** 0.8)
            minimum = round(0.2 * cap) if name == "L" else 0
            lines.append(f'  {{ name = "{name}", capacity = {cap}, fixed_cost = {fixed}, '
                         f"min_throughput = {minimum} }},")
        lines += ["]", ""]
    return "\n".join(lines)
