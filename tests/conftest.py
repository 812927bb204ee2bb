"""Fixtures shared by the tests (helpers live in support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting.engine.highs import PROFILE_OPTIONS
from support import CHROMIUM, CHROMIUM_ARGS, TINY_TOML, write_instance


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright: one for the whole session.

    Playwright's sync API runs one driver per thread, so the map and injection tests share
    this one. Skipped loudly when chromium is missing.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS DID NOT RUN: {CHROMIUM} is missing "
                    "(apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def highs_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let profile files set HiGHS's log options, for tests that read HiGHS's log."""
    monkeypatch.setattr("siting.engine.highs.PROFILE_OPTIONS",
                        PROFILE_OPTIONS | {"output_flag", "log_to_console", "log_file"})


@pytest.fixture
def tiny(tmp_path: Path):
    """Factory of a 2-region, 2-site instance with a distance matrix (hand-computable)."""

    def make(penalty: float = 1000, capacity: float = 100, fixed: float = 500,
             km: tuple[float, float, float, float] = (1, 10, 10, 1)) -> Path:
        toml = TINY_TOML.format(penalty=penalty, capacity=capacity, fixed=fixed)
        toml = toml.replace('method = "matrix"', 'method = "matrix"\n').replace(
            "[layers]\n", "[layers]\ndistances = \"distances.csv\"\n")
        regions = "id,name,lon,lat,supply\nr1,R1,100,30,40\nr2,R2,101,30,60\n"
        sites = "id,name,tier,lon,lat\nf1,F1,plant,100,30\nf2,F2,plant,101,30\n"
        a, b, c, d = km
        dist = (f"origin,destination,km\nr1,f1,{a}\nr1,f2,{b}\nr2,f1,{c}\nr2,f2,{d}\n")
        return write_instance(tmp_path / "tiny", toml, regions, sites, distances__csv=dist)

    return make


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how many bad inputs the corpus tried and how many got a clear error."""
    name = "test_bad_input_is_one_clear_line_exit_2_and_writes_nothing["
    stats = terminalreporter.stats
    outcomes = [r.outcome for key in ("passed", "failed") for r in stats.get(key, [])
                if r.when == "call" and name in r.nodeid]
    if outcomes:
        terminalreporter.write_line(f"bad-input corpus: {len(outcomes)} bad inputs tried, "
                                    f"{outcomes.count('passed')} clear errors")
