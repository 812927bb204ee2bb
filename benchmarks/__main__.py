"""``python -m benchmarks [SECTION ...] [--cap SECONDS]``: run sections, write RESULTS.md."""

from __future__ import annotations

import argparse

from benchmarks import common, report

SECTIONS = ("orlib", "overhead", "capacitated", "scaling", "local_search", "horizon", "pmedian",
            "pmedian_large", "linking", "pricing", "robust", "model_memory", "startup", "tight",
            "benders", "county", "autoprune")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("sections", nargs="*", default=["all"],
                        help=f"any of {', '.join(SECTIONS)}, or all (default); "
                        "'report' only re-renders RESULTS.md")
    parser.add_argument("--cap", type=float, default=120.0,
                        help="time limit of each capacitated, pmedian_large, scaling, "
                        "local_search, linking, pricing, tight, benders, county and autoprune run, "
                        "seconds (default 120)")
    args = parser.parse_args()
    chosen = SECTIONS if "all" in args.sections else [s for s in args.sections if s != "report"]
    for section in chosen:
        if section == "orlib":
            from benchmarks.orlib import run
            common.save("orlib", run())
        elif section == "overhead":
            from benchmarks.overhead import run
            common.save("overhead", run())
        elif section == "capacitated":
            from benchmarks.capacitated import run
            common.save("capacitated", {"cap_s": args.cap, "rows": run(args.cap)})
        elif section == "scaling":
            from benchmarks.scaling import run
            common.save("scaling", {"cap_s": args.cap, "rows": run(args.cap)})
        elif section == "local_search":
            from benchmarks.local_search import run
            common.save("local_search", {"cap_s": args.cap, "rows": run(args.cap)})
        elif section == "horizon":
            from benchmarks.horizon import run
            common.save("horizon", run())
        elif section == "startup":
            from benchmarks.startup import run
            common.save("startup", run())
        elif section == "pmedian":
            from benchmarks.pmedian import run
            common.save("pmedian", run())
        elif section == "pmedian_large":
            from benchmarks.pmedian_large import run
            common.save("pmedian_large", run(args.cap))
        elif section == "linking":
            from benchmarks.linking import run
            common.save("linking", {"cap_s": args.cap, "rows": run(args.cap)})
        elif section == "pricing":
            from benchmarks.pricing import run
            common.save("pricing", {"cap_s": args.cap, "rows": run(args.cap)})
        elif section == "robust":
            from benchmarks.robust import run
            common.save("robust", run())
        elif section == "tight":
            from benchmarks.tight import run
            common.save("tight", run(args.cap))
        elif section == "benders":
            from benchmarks.benders import run
            common.save("benders", run(args.cap))
        elif section == "county":
            from benchmarks.county import run
            common.save("county", run(args.cap))
        elif section == "autoprune":
            from benchmarks.autoprune import run
            common.save("autoprune", run(args.cap))
        elif section == "model_memory":
            from benchmarks.model_memory import run
            common.save("model_memory", run())
        else:
            parser.error(f"unknown section {section!r}; expected {SECTIONS}")
        report.write()
    report.write()


if __name__ == "__main__":
    main()
