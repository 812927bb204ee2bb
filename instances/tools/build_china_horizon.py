"""Build the supply of `china-2025-2035` from the 2025-2030 series of `china-2025-2030`.

Usage (from the repository root, after build_china.py):
    python instances/tools/build_china_horizon.py

Period years 2025, 2027 and 2029 take the Tian et al. (2025) values as they are; 2031,
2033 and 2035 extend each province's 2030 value by GROWTH a year (an ESTIMATE, method in
the instance's SOURCES.md). Output: instances/china-2025-2035/supply_by_year.csv, and
copies of the regions and sites layers (a layer stays inside its instance folder).
"""

import csv
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "instances" / "china-2025-2030" / "supply_by_year.csv"
OUT = ROOT / "instances" / "china-2025-2035" / "supply_by_year.csv"
PERIODS = (2025, 2027, 2029, 2031, 2033, 2035)
LAST_KNOWN = 2030
GROWTH = 0.05  # ESTIMATE: yearly growth after 2030


def main() -> None:
    with SOURCE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    known = {(r["region"], r["stream"], int(r["year"])): float(r["tonnes"]) for r in rows}
    pairs = sorted({(r["region"], r["stream"]) for r in rows})
    with OUT.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["region", "stream", "year", "tonnes"])
        for year in PERIODS:
            for region, stream in pairs:
                if year <= LAST_KNOWN:
                    tonnes = known[region, stream, year]
                else:
                    tonnes = known[region, stream, LAST_KNOWN] * (1 + GROWTH) ** (year - LAST_KNOWN)
                writer.writerow([region, stream, year, round(tonnes)])
    for layer in ("regions.geojson", "sites.geojson"):
        shutil.copyfile(SOURCE.parent / layer, OUT.parent / layer)


if __name__ == "__main__":
    main()
