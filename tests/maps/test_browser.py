"""What a planner sees: the maps as written by default, in headless Chromium with no network.

Every request beyond file:// is blocked: the base map's tiles cannot load, so each page
must show its own regions and sites, and say that the base map is missing.
"""

from __future__ import annotations

import pandas as pd
import pytest
from maptools import DATA, SCRIPT_NAME, TILE_URL, counts

import siting
from siting.results.solution import flow_lines

LEAFLET_MAP = "() => Object.values(window).some(v => v instanceof L.Map)"


def assert_clean(opened) -> None:
    assert opened.errors == []
    assert opened.dialogs == []
    assert opened.tile_requests_only()
    assert opened.page.evaluate(LEAFLET_MAP)


def test_single_map_draws_every_feature_of_the_run(runs, default_maps, open_map):
    opened = open_map(default_maps["polygons"])
    expected = counts(runs["polygons"])
    drawn = {"facility": opened.count(".leaflet-marker-pane .siting-facility, "
                                      ".siting-facility.leaflet-marker-icon"),
             "candidate": opened.count(".siting-candidate.leaflet-marker-icon"),
             "flow": opened.count("path.siting-flow"),
             "region": opened.count("path.siting-region"),
             "gap": opened.count("path.siting-gap")}
    assert drawn == expected
    assert opened.count(".leaflet-control-layers-overlays input:checked") == 5
    opened.screenshot("single.png")
    assert_clean(opened)


def test_names_show_as_text_and_run_no_script(runs, default_maps, open_map):
    opened = open_map(default_maps["polygons"])
    facilities = opened.page.locator(".siting-facility.leaflet-marker-icon")
    facilities.nth(1).click()  # S2, the site named like a script
    popup = opened.page.locator(".leaflet-popup-content").last
    assert SCRIPT_NAME in popup.inner_text()
    assert opened.page.locator(".leaflet-popup-content script").count() == 0
    legend = opened.page.locator(".siting-legend").inner_text()
    assert "NCM <batteries>" in legend
    opened.page.locator("path.siting-region").nth(1).click(position={"x": 12, "y": 12})
    assert "Château & <b>bold</b>" in popup.inner_text()
    assert opened.page.locator(".leaflet-popup-content b", has_text="bold").count() == 0
    opened.screenshot("single-popup.png")
    assert_clean(opened)


def test_point_regions_are_circles(runs, default_maps, open_map):
    opened = open_map(default_maps["points"])
    assert opened.count("path.siting-region") == counts(runs["points"])["region"]
    opened.screenshot("points.png")
    assert_clean(opened)


def test_layers_can_be_switched_off(default_maps, open_map):
    opened = open_map(default_maps["polygons"])
    toggle = opened.page.locator(".leaflet-control-layers-overlays label",
                                 has_text="Flows by stream")
    toggle.locator("input").uncheck()
    assert opened.count("path.siting-flow") == 0
    assert_clean(opened)


def test_comparison_map_shows_both_runs(runs, default_maps, open_map):
    opened = open_map(default_maps["compare"])
    assert opened.count(".siting-facility.siting-a.leaflet-marker-icon") == 1
    assert opened.count(".siting-facility.siting-b.leaflet-marker-icon") == 1
    assert opened.count(".siting-facility.siting-both.leaflet-marker-icon") == 2
    assert opened.count("path.siting-flow.siting-a") == counts(runs["polygons"])["flow"]
    assert opened.count("path.siting-flow.siting-b") == counts(runs["swap"])["flow"]
    title = opened.page.locator(".siting-title").inner_text()
    assert "A · baseline" in title
    assert "B · swap-east" in title
    opened.screenshot("compare.png")
    assert_clean(opened)


VISIBLE = """cell => { const box = cell.getBoundingClientRect();
    return cell.contains(document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2));
}"""


@pytest.mark.parametrize("size", [(1400, 900), (1280, 720)])
def test_comparison_figures_and_layer_list_never_overlap(default_maps, open_map, size):
    opened = open_map(default_maps["compare"])
    opened.page.set_viewport_size({"width": size[0], "height": size[1]})
    opened.page.wait_for_timeout(200)
    title = opened.page.locator(".siting-title").bounding_box()
    layers = opened.page.locator(".leaflet-control-layers").bounding_box()
    assert title["x"] + title["width"] < layers["x"]
    cells = opened.page.locator(".siting-title th, .siting-title td")
    hidden = [cells.nth(i).inner_text() for i in range(cells.count())
              if not cells.nth(i).evaluate(VISIBLE)]
    assert hidden == []
    assert "change" in opened.page.locator(".siting-title tr").first.inner_text()
    opened.page.wait_for_selector(".siting-notice")  # the base map is blocked: it says so
    legend = opened.page.locator(".siting-legend").bounding_box()
    for panel in (".siting-notice", ".leaflet-control-layers"):
        box = opened.page.locator(panel).bounding_box()
        assert box["y"] + box["height"] <= legend["y"], panel  # the legend starts below
    opened.screenshot(f"compare-{size[0]}x{size[1]}.png")
    assert_clean(opened)


def test_with_no_network_the_regions_show_and_the_page_says_the_base_map_is_missing(
        runs, default_maps, open_map):
    opened = open_map(default_maps["polygons"])
    notice = opened.page.locator(".siting-notice")
    notice.wait_for()
    assert notice.is_visible()
    assert "base map cannot load" in notice.inner_text()
    assert opened.requests  # the tiles were asked for, and blocked
    regions = opened.page.locator("path.siting-region")
    assert regions.count() == counts(runs["polygons"])["region"]
    box = regions.first.bounding_box()
    assert box["width"] > 20
    assert box["height"] > 20
    opened.screenshot("no-network.png")
    assert_clean(opened)


def test_china_map_fits_1400x900_and_marks_provinces_that_collect_nothing(china, open_map):
    from playwright.sync_api import expect  # open_map has skipped without Playwright

    opened = open_map(china / "map.html")  # written by solve, as a planner gets it
    legend = opened.page.locator(".siting-legend")
    box = legend.bounding_box()
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= 900
    assert legend.evaluate("e => e.scrollHeight <= e.clientHeight")  # nothing hidden
    regions = pd.read_csv(china / "regions.csv")
    collected = regions.groupby("province")["collected"].sum()
    nothing = set(collected[collected <= 1e-6].index)
    assert len(nothing) > 0
    hatched = opened.page.locator("path.siting-region[fill='url(#siting-nothing)']")
    assert hatched.count() == regions["province"].isin(nothing).sum()
    assert f"province collects nothing ({len(nothing)} of" in legend.inner_text()
    # at the first view, before a popup pans the map (labels are laid out again after it)
    facilities = pd.read_csv(china / "facilities.csv")
    new = facilities[facilities["open"] & ~facilities["existing"]]
    labels = opened.page.locator(".siting-label-new")
    assert labels.count() == len(new)
    for label in labels.all():  # Playwright waits for the page's last layout (a busy machine)
        expect(label).to_be_visible()
    assert sorted(labels.all_inner_texts()) == sorted(new["name"])
    assert opened.page.locator(".siting-label-existing").first.is_hidden()  # until close up
    shape = hatched.first.bounding_box()  # its own popup, whatever flow line crosses it:
    hatched.first.dispatch_event("click", {"clientX": shape["x"] + shape["width"] / 2,
                                           "clientY": shape["y"] + shape["height"] / 2})
    popup = opened.page.locator(".leaflet-popup-content").last
    assert "collects nothing" in popup.inner_text()
    z = opened.page.evaluate("() => Object.fromEntries([...document.querySelectorAll("
                             "'.leaflet-pane')].map(p => [p.className, +getComputedStyle(p)"
                             ".zIndex]))")
    order = [z[f"leaflet-pane leaflet-siting-{pane}-pane"] for pane in (
        "regions", "candidates", "region-points", "gap", "flows", "facilities")]
    assert order == sorted(order)
    opened.screenshot("china-budget-cap.png")
    assert_no_labels_overlap(opened)
    opened.page.evaluate("() => { const map = Object.values(window).find(v => v instanceof "
                         "L.Map); map.closePopup(); map.setView([31, 119.5], 7, "
                         "{animate: false}); }")  # the Yangtze delta, dense with plants
    opened.page.wait_for_timeout(800)
    assert opened.page.locator(".siting-label-existing").first.is_visible()
    assert_no_labels_overlap(opened)
    opened.screenshot("china-close-up.png")
    assert_clean(opened)


OVERLAPS = """() => {
    const boxes = [...document.querySelectorAll('.siting-label')]
        .filter(l => l.offsetParent !== null && getComputedStyle(l).visibility === 'visible')
        .map(l => l.getBoundingClientRect());
    return boxes.flatMap((a, i) => boxes.slice(i + 1).filter(b => a.left < b.right
        && b.left < a.right && a.top < b.bottom && b.top < a.bottom)).length;
}"""


def assert_no_labels_overlap(opened) -> None:
    shown = opened.page.evaluate("() => [...document.querySelectorAll('.siting-label')]"
                                 ".filter(l => l.offsetParent !== null && "
                                 "getComputedStyle(l).visibility === 'visible').length")
    assert shown > 0
    assert opened.page.evaluate(OVERLAPS) == 0


def test_explore_draws_in_a_notebook_with_no_network(tmp_path, browser):
    """Solution.explore() as a notebook shows it (its iframe), with every request blocked."""

    solution = siting.solve(siting.load_instance(DATA / "polygons"))
    assert siting.verify_run(siting.write_run(solution, tmp_path / "run")).ok
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<html><body>{solution.explore()._repr_html_()}</body></html>")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requests, errors = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
        ("file://", "about:", "data:")) else (requests.append(route.request.url), route.abort()))
    page.goto(notebook.as_uri())
    frame = page.frames[-1]
    frame.wait_for_function(f"() => window.L && {LEAFLET_MAP[6:]}")
    facilities = solution.facilities
    drawn = frame.locator("path.leaflet-interactive").count()
    expected = (len(solution.regions) + int(facilities["open"].sum())
                + len(flow_lines(solution)))
    page.close()
    assert errors == []
    assert all(TILE_URL.match(url) for url in requests), requests
    assert drawn == expected


def test_a_facility_popup_names_what_it_receives_and_lights_its_flows(runs, default_maps,
                                                                      open_map):
    flows = pd.read_csv(runs["polygons"] / "flows.csv", dtype=str)
    flows["tonnes"] = flows["tonnes"].astype(float)
    facilities = pd.read_csv(runs["polygons"] / "facilities.csv", dtype={"id": str})
    regions = pd.read_csv(runs["polygons"] / "regions.csv", dtype={"id": str})
    opened = open_map(default_maps["polygons"])
    marker = opened.page.locator(".siting-facility.leaflet-marker-icon")
    lines = opened.page.locator("path.siting-flow")
    popup = opened.page.locator(".leaflet-popup-content").last
    assert marker.count() == int(facilities["open"].sum()) > 1
    for i in range(marker.count()):
        marker.nth(i).dispatch_event("click")
        site = facilities.set_index("name").loc[popup.locator("h4").inner_text(), "id"]
        own = flows[(flows["destination"] == site)
                    | ((flows["origin_type"] == "site") & (flows["origin"] == site))]
        faded = [lines.nth(j).get_attribute("stroke-opacity") for j in range(lines.count())]
        assert faded.count("0.08") == len(flows) - len(own), site
        received = own[own["destination"] == site]
        names = pd.concat([regions.set_index("id")["name"], facilities.set_index("id")["name"]])
        biggest = received.groupby("origin")["tonnes"].sum().idxmax() if len(received) else None
        if biggest is not None:
            text = popup.inner_text()
            assert f"{received['origin'].nunique()} origin" in text
            assert names[biggest] in text
        if i == 0:
            opened.screenshot("facility-flows.png")
        opened.page.locator(".leaflet-popup-close-button").last.dispatch_event("click")
        assert [lines.nth(j).get_attribute("stroke-opacity")
                for j in range(lines.count())].count("0.08") == 0
    assert_clean(opened)
