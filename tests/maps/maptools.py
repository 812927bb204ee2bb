"""Helpers of the map tests: solving through the CLI, reading maps, driving a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from siting.cli.main import app

DATA = Path(__file__).parent / "data"
INSTANCES = Path(__file__).parents[2] / "instances"
ARTIFACTS = Path(__file__).parent / "artifacts"
SCRIPT_NAME = "<script>alert(1)</script>"
TILE_URL = re.compile(r"https://([a-d]\.basemaps\.cartocdn\.com/light_all|tile\.openstreetmap"
                      r"\.org)/\d+/\d+/\d+(@2x)?\.png$")


def cli(*args: str) -> str:
    """Run the ``siting`` CLI in-process; fail the test on a non-zero exit code."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def solve(instance: Path, out: Path, *options: str) -> Path:
    """Solve ``instance`` with the CLI into ``out`` and check the run with ``siting verify``."""
    cli("solve", str(instance), "--out", str(out), *options)
    cli("verify", str(out))
    return out


def counts(run_dir: Path) -> dict[str, int]:
    """Expected feature counts of a run's map, from its CSVs."""
    facilities = pd.read_csv(run_dir / "facilities.csv", dtype={"open": str})
    regions = pd.read_csv(run_dir / "regions.csv")
    opened = facilities["open"].str.lower().eq("true")
    return {"facility": int(opened.sum()), "candidate": int((~opened).sum()),
            "flow": len(pd.read_csv(run_dir / "flows.csv")), "region": len(regions),
            "gap": int((regions["uncollected"] > 1e-6).sum())}


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


class Opened:
    """A map opened in the browser, with what went wrong while it loaded."""

    def __init__(self, browser, path: Path):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.page.route("**/*", self._route)
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("() => window.L && Object.values(window)"
                                    ".some(v => v instanceof L.Map)")

    def _console(self, message) -> None:
        """Record errors, except the failed loads of requests this page blocked."""
        blocked = (message.text.startswith("Failed to load resource")
                   and message.location.get("url") in self.requests)
        if message.type == "error" and not blocked:
            self.errors.append(message.text)

    def tile_requests_only(self) -> bool:
        """Tell whether every request beyond file:// (all blocked) was for a map tile."""
        return all(TILE_URL.match(url) for url in self.requests)

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
        self.page.wait_for_timeout(400)  # let popups finish fading in
        self.page.screenshot(path=path)
        return path
