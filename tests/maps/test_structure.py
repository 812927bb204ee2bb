"""Structure of rendered maps: layers, feature counts, panels, escaping, tiles, assets."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from maptools import DATA, SCRIPT_NAME, cli, counts, layers_in, solve
from typer.testing import CliRunner

from siting.cli.main import app
from siting.folders import RUN
from siting.render import assets
from siting.render.assets import AssetError, leaflet_inline
from siting.render.maps import render_comparison, render_map
from siting.render.page import REMOTE_LINK, MapError


def test_single_map_has_every_layer_with_the_runs_counts(runs, default_maps):
    html = default_maps["polygons"].read_text()
    found = layers_in(html)
    expected = counts(runs["polygons"])
    assert {kind: len(found[f"siting-{kind}"]) for kind in expected} == expected
    assert expected["gap"] > 0
    assert expected["candidate"] > 0
    for name in ("Supply regions: collection rate (6)", "Flows by stream (11)",
                 "Collection gap: uncollected tonnes (3)", "Candidate sites not opened (1)",
                 "Opened facilities (3)"):
        assert f'"{name}"' in html


def test_every_feature_has_a_tooltip_and_a_popup(default_maps):
    for features in layers_in(default_maps["polygons"].read_text()).values():
        for feature in features:
            assert feature["properties"]["tip"]
            assert feature["properties"]["pop"]


def test_regions_are_polygons_or_points_as_in_the_instance(default_maps):
    polygons = layers_in(default_maps["polygons"].read_text())["siting-region"]
    points = layers_in(default_maps["points"].read_text())["siting-region"]
    assert {f["geometry"]["type"] for f in polygons} == {"Polygon"}
    assert {f["geometry"]["type"] for f in points} == {"Point"}
    assert all(f["properties"]["style"]["radius"] > 0 for f in points)


def test_gap_circles_grow_with_uncollected_tonnes(default_maps):
    gaps = layers_in(default_maps["polygons"].read_text())["siting-gap"]
    pairs = sorted((float(re.search(r"([\d,]+) t uncollected", f["properties"]["tip"])[1]
                          .replace(",", "")), f["properties"]["style"]["radius"]) for f in gaps)
    radii = [radius for _, radius in pairs]
    assert radii == sorted(radii)
    assert radii[0] < radii[-1]


def test_names_from_input_files_are_escaped_everywhere(default_maps):
    html = default_maps["polygons"].read_text()
    assert SCRIPT_NAME not in html
    assert "<b>bold</b>" not in html
    assert "NCM <batteries>" not in html
    features = layers_in(html)
    tips = " ".join(f["properties"]["tip"] + f["properties"]["pop"]
                    for layer in features.values() for f in layer)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in tips
    assert "Château &amp; &lt;b&gt;bold&lt;/b&gt;" in tips
    assert "NCM &lt;batteries&gt;" in html  # legend and popups


def test_title_panel_shows_the_headline_kpis(default_maps):
    html = default_maps["polygons"].read_text()
    for text in ("Map test: six squares · baseline", "Total cost", "CNY 5.28 M",
                 "Collection rate", "88.5 %", "Collection gap", "1,800 t",
                 "Capacity utilisation", "86.2 %", "Open plant (new)", "3 (2 new)",
                 "optimal, gap 0.000% against a valid bound"):
        assert text in html


def test_maps_are_one_self_contained_file_by_default(default_maps):
    for path in default_maps.values():
        html = path.read_text()
        assert not REMOTE_LINK.search(html)
        assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
        assert f"Leaflet {assets.LEAFLET_VERSION}" in html
        assert "url(images/" not in html
        assert "basemaps.cartocdn.com/light_all" in html  # tiles when there is a network
        assert "base map cannot load" in html  # ... and a notice when there is none
        assert path.stat().st_size < 400_000


def test_cdn_map_links_only_leaflet_and_the_chosen_tiles(runs, tmp_path):
    html = render_map(runs["polygons"], tmp_path / "m.html", cdn=True).read_text()
    links = re.findall(r"<(?:script|link)[^>]+(?:src|href)=\"([^\"]+)\"", html)
    assert sorted(links) == [f"{assets.LEAFLET_CDN}/leaflet.{ext}" for ext in ("css", "js")]
    assert "Leaflet 1.9" not in html
    osm = render_map(runs["polygons"], tmp_path / "osm.html", tiles="osm").read_text()
    assert "tile.openstreetmap.org" in osm
    bare = render_map(runs["polygons"], tmp_path / "none.html", tiles="none").read_text()
    assert "L.tileLayer" not in bare


def test_custom_tiles_need_an_attribution(runs, tmp_path):
    url = "http://localhost:8080/tiles/{z}/{x}/{y}.png"
    with pytest.raises(MapError, match="attribution"):
        render_map(runs["polygons"], tmp_path / "m.html", tiles=url)
    with pytest.raises(MapError, match="expected osm, cartodb, none"):
        render_map(runs["polygons"], tmp_path / "m.html", tiles="satellite")
    html = render_map(runs["polygons"], tmp_path / "m.html", tiles=url,
                      attribution="Local tiles").read_text()
    assert url in html
    assert '"attribution": "Local tiles"' in html


def test_map_goes_to_the_run_folder_by_default_and_atomically(runs, tmp_path):
    import shutil

    run = shutil.copytree(runs["points"], tmp_path / "run")
    assert render_map(run) == run / "map.html"
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == [RUN.marker]


def test_comparison_splits_facilities_into_a_only_b_only_and_both(runs, default_maps):
    html = default_maps["compare"].read_text()
    found = layers_in(html)

    def ids(class_name: str) -> set[str]:
        return {re.search(r"site (S\d)", f["properties"]["pop"])[1]
                for f in found[class_name]}

    assert ids("siting-facility siting-a") == {"S3"}
    assert ids("siting-facility siting-b") == {"S4"}
    assert ids("siting-facility siting-both") == {"S1", "S2"}
    assert len(found["siting-flow siting-a"]) == counts(runs["polygons"])["flow"]
    assert len(found["siting-flow siting-b"]) == counts(runs["swap"])["flow"]
    assert len(found["siting-gap siting-b"]) == counts(runs["swap"])["gap"]
    for text in ("A · baseline", "B · swap-east", "change", "+2,500 t", "-16.0 pp"):
        assert text in html
    assert SCRIPT_NAME not in html


def test_both_runs_show_in_the_popups_of_the_comparison(default_maps):
    found = layers_in(default_maps["compare"].read_text())
    popup = found["siting-facility siting-both"][0]["properties"]["pop"]
    assert "A · site" in popup
    assert "B · site" in popup


@pytest.mark.slow
def test_large_runs_render_in_seconds(big_run, tmp_path):
    started = time.perf_counter()
    html = render_map(big_run, tmp_path / "big.html").read_text()
    assert time.perf_counter() - started < 10
    assert len(layers_in(html)["siting-region"]) == 3000


def test_an_incomplete_leaflet_package_gives_a_clear_error(tmp_path: Path):
    (tmp_path / "leaflet.js").write_text("/* Leaflet */")
    with pytest.raises(AssetError, match=r"leaflet\.css: missing from Leaflet's package"):
        leaflet_inline(tmp_path)


def test_an_incomplete_run_folder_is_named(tmp_path):
    from siting.errors import InputError

    with pytest.raises(InputError, match="solution.json"):
        render_comparison([tmp_path, tmp_path], tmp_path / "m.html")


def test_a_solution_that_may_not_be_optimal_is_flagged(runs, tmp_path):
    import json
    import shutil

    run = shutil.copytree(runs["polygons"], tmp_path / "run")
    meta = json.loads((run / "solution.json").read_text())
    meta.update(status="feasible", mip_gap=0.05,
                status_text="feasible, gap 5.000% against a valid bound")
    (run / "solution.json").write_text(json.dumps(meta))
    html = render_map(run).read_text()
    assert "siting-warn" in html
    assert "feasible, gap 5.000% against a valid bound: the solution may not be optimal" in html


def test_compare_draws_three_runs_each_site_in_the_group_of_the_runs_opening_it(runs, tmp_path):
    scenario = tmp_path / "no-s2.toml"
    scenario.write_text('[scenario]\nname = "no S2"\n[[policy]]\ntype = "forbid"\n'
                        'sites = ["S2"]\n')
    third = solve(DATA / "polygons", tmp_path / "no-s2", "--scenario", str(scenario))
    out = tmp_path / "three.html"
    cli("map", "--compare", str(runs["polygons"]), str(runs["swap"]), str(third),
        "--out", str(out))
    html = out.read_text()
    opened_per_run = {key: counts(run)["facility"] for key, run in
                      zip("ABC", (runs["polygons"], runs["swap"], third), strict=True)}
    drawn = dict.fromkeys("ABC", 0)
    for group, n in re.findall(r'"Opened in ([^"(]+) \((\d+)\)"', html):
        members = "ABC" if group == "all" else re.findall(r"[ABC]", group)
        for key in members:
            drawn[key] += int(n)
    assert drawn == opened_per_run
    assert "C · no S2" in html
    assert "Supply regions: change of collection rate, C \\u2212 A" in html


def test_several_runs_without_compare_and_a_single_compared_run_are_refused(runs, tmp_path):
    result = CliRunner().invoke(app, ["map", str(runs["polygons"]), str(runs["swap"])])
    assert result.exit_code == 2
    assert "add --compare" in result.output
    with pytest.raises(MapError, match="2 to 6 run folders"):
        render_comparison([runs["polygons"]], tmp_path / "one.html")


def test_solve_with_cdn_links_leaflet_instead_of_inlining_it(tmp_path):
    run = solve(DATA / "points", tmp_path / "run", "--cdn")
    html = (run / "map.html").read_text()
    assert f'src="{assets.LEAFLET_CDN}/leaflet.js"' in html
    assert "Leaflet 1.9" not in html
