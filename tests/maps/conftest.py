"""Fixtures of the map tests: real runs solved through the CLI, maps, and a browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from maptools import DATA, INSTANCES, Opened, cli, solve

from siting.render.maps import render_comparison, render_map


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Run folders: polygon regions (baseline and swap-east) and point regions."""
    root = tmp_path_factory.mktemp("runs")
    return {"polygons": solve(DATA / "polygons", root / "polygons"),
            "swap": solve(DATA / "polygons", root / "swap", "--scenario", "swap-east"),
            "points": solve(DATA / "points", root / "points")}


@pytest.fixture(scope="session")
def default_maps(runs: dict[str, Path],
                 tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Maps of the runs as written by default, and the comparison of baseline and swap-east."""
    root = tmp_path_factory.mktemp("maps")
    maps = {name: render_map(run, root / f"{name}.html") for name, run in runs.items()}
    maps["compare"] = render_comparison([runs["polygons"], runs["swap"]],
                                        root / "compare.html")
    return maps


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


@pytest.fixture(scope="session")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A solved synthetic run with 3000 point regions (about half a minute to solve)."""
    root = tmp_path_factory.mktemp("big")
    cli("generate", str(root / "instance"), "--regions", "3000", "--sites", "8", "--streams",
        "1", "--seed", "1")
    return solve(root / "instance", root / "run", "--solver", "highs-quick")


@pytest.fixture(scope="session")
def china(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped China 2028 instance under budget-cap (11 provinces collect nothing)."""
    return solve(INSTANCES / "china-2028", tmp_path_factory.mktemp("china") / "budget-cap",
                 "--scenario", "budget-cap", "--solver", "highs-quick")
