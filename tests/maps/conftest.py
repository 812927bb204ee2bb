"""Fixtures of the map tests: real runs solved through the CLI, maps, and a browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from siting.cli import app
from siting.render.assets import AssetError, leaflet_inline
from siting.render.maps import render_comparison, render_map

DATA = Path(__file__).parent / "data"
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCRIPT_NAME = "<script>alert(1)</script>"


def solve(instance: Path, out: Path, scenario: str | None = None) -> Path:
    """Solve ``instance`` with the CLI into ``out`` and check the run with ``siting verify``."""
    runner = CliRunner()
    args = ["solve", str(instance), "--out", str(out)]
    if scenario:
        args += ["--scenario", scenario]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    verified = runner.invoke(app, ["verify", str(out)])
    assert verified.exit_code == 0, verified.output
    return out


def counts(run_dir: Path) -> dict[str, int]:
    """Expected feature counts of a run's map, from its CSVs."""
    facilities = pd.read_csv(run_dir / "facilities.csv", dtype={"open": str})
    regions = pd.read_csv(run_dir / "regions.csv")
    opened = facilities["open"].str.lower().eq("true")
    return {"facility": int(opened.sum()), "candidate": int((~opened).sum()),
            "flow": len(pd.read_csv(run_dir / "flows.csv")), "region": len(regions),
            "gap": int((regions["uncollected"] > 1e-6).sum())}


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run folders: polygon regions (baseline and swap-east) and point regions."""
    root = tmp_path_factory.mktemp("runs")
    return {"polygons": solve(DATA / "polygons", root / "polygons"),
            "swap": solve(DATA / "polygons", root / "swap", "swap-east"),
            "points": solve(DATA / "points", root / "points")}


@pytest.fixture(scope="session")
def leaflet() -> None:
    """Leaflet for offline maps (npm registry or cache); skip loudly when unobtainable."""
    try:
        leaflet_inline()
    except AssetError as err:
        pytest.skip(f"OFFLINE MAP TESTS DID NOT RUN: {err}")


@pytest.fixture(scope="session")
def offline_maps(runs: dict[str, Path], leaflet: None,
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Offline maps of the runs, and the comparison of baseline and swap-east."""
    root = tmp_path_factory.mktemp("maps")
    maps = {name: render_map(run, root / f"{name}.html", offline=True)
            for name, run in runs.items()}
    maps["compare"] = render_comparison(runs["polygons"], runs["swap"], root / "compare.html",
                                        offline=True)
    return maps


def layers_in(html: str) -> dict[str, list[dict]]:
    """Features of each map layer in a page, by the layer's CSS class."""
    decoder = json.JSONDecoder()
    found: dict[str, list[dict]] = {}
    marker = "siting.layer("
    at = html.find(marker)
    while at >= 0:
        data, end = decoder.raw_decode(html, at + len(marker))
        _pane, class_name = (json.loads(p) for p in html[end:].split(",", 3)[1:3])
        found.setdefault(class_name, []).extend(data["features"])
        at = html.find(marker, end)
    return found


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright, with no network beyond file://."""
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS OF MAPS DID NOT RUN: {CHROMIUM} is missing "
                    "(apt-get install -y chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Opened:
    """A map opened in the browser, with what went wrong while it loaded."""

    def __init__(self, browser, path: Path):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("() => window.L && Object.values(window)"
                                    ".some(v => v instanceof L.Map)")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def count(self, selector: str) -> int:
        """Number of elements matching a CSS selector."""
        return self.page.locator(selector).count()

    def screenshot(self, name: str) -> Path:
        """Save a screenshot under tests/maps/artifacts/ (not committed) and return it."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=path)
        return path


@pytest.fixture
def open_map(browser):
    """Open a map file in a fresh page; close the pages after the test."""
    pages: list[Opened] = []

    def opener(path: Path) -> Opened:
        pages.append(Opened(browser, path))
        return pages[-1]

    yield opener
    for opened in pages:
        opened.page.close()


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty asset cache and no npm on PATH."""
    monkeypatch.setenv("SITING_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert shutil.which("npm") is None
    return tmp_path / "cache"
