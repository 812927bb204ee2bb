"""Every shipped instance and scenario loads, solves, passes the verifier and keeps its optimum.

The reference objectives were found with ``mip_rel_gap = 0`` (HiGHS 1.16, one thread). A
solve that ends optimal must reproduce its reference to 1e-6; one stopped by the time limit
(India takes about 95 s to prove optimality, the 2025-2035 horizon about 30 s) must bracket
it: its best bound may not exceed the reference and its incumbent may not undercut it.
"""

from __future__ import annotations

import pytest

from support import ROOT, solve_verified

REFERENCE = {
    ("demo", "baseline"): 45_766_224.487,
    ("demo", "mandate-95"): 46_528_483.001,
    ("china-2028", "baseline"): 11_408_360_432.853,
    ("china-2028", "budget-cap"): 16_547_774_146.972,
    ("china-2028", "carbon-price"): 11_415_806_504.053,
    ("china-2028", "in-province-80"): 12_075_337_038.694,
    ("china-2028", "mandate-90"): 11_661_083_539.493,
    ("china-2028", "min-utilisation-60"): 11_481_948_132.617,
    ("china-2028", "radius-300km"): 12_464_000_317.789,
    ("china-2028", "whitelist-only"): 11_408_360_432.853,
    ("china-2025-2030", "baseline"): 3_159_763_572.668,
    ("china-2025-2030", "mandate-90"): 3_159_766_318.070,
    ("china-2025-2035", "baseline"): 122_475_795_866.072,  # discounted, six periods
    ("india-2030", "baseline"): 4_057_108_642.913,
    ("india-2030", "bwmr-70"): 4_057_108_642.913,
}

SHIPPED = sorted((scenario.parent.parent.name, scenario.stem)
                 for scenario in (ROOT / "instances").glob("*/scenarios/*.toml"))

EXACT_OR_BOUNDED = "[solver]\nmip_rel_gap = 0\ntime_limit = 5\nthreads = 1\n"


def test_every_shipped_scenario_has_a_reference():
    assert SHIPPED, "no shipped instances found"
    assert sorted(REFERENCE) == SHIPPED


@pytest.mark.parametrize(("instance", "scenario"), SHIPPED,
                         ids=[f"{i}/{s}" for i, s in SHIPPED])
def test_shipped_scenario_solves_to_its_reference(tmp_path, instance, scenario):
    profile = tmp_path / "profile.toml"
    profile.write_text(EXACT_OR_BOUNDED)
    solution = solve_verified(ROOT / "instances" / instance, tmp_path / "run",
                              "--scenario", scenario, "--solver", profile)
    reference = REFERENCE[instance, scenario]
    if solution["status"] == "optimal":
        assert solution["objective"] == pytest.approx(reference, rel=1e-6)
    else:
        assert solution["status"] == "time_limit"
        assert solution["best_bound"] <= reference * (1 + 1e-9)
        assert solution["objective"] >= reference * (1 - 1e-9)
