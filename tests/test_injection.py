"""No input can inject into a page: a payload in every string field, every page, a browser.

Every string field of the instance (instance.toml by its pydantic schema, and the text
columns of its layers), of the scenarios (name, description, every text parameter of
every policy, the uncertainty table) and of the solver profile holds :data:`PAYLOAD`: an
``<img onerror>``, a ``</script>`` breaker and a template expression. The string fields
are found by walking the schemas, so a new one without the payload fails
:func:`test_every_string_field_holds_the_payload`. Then every HTML page the CLI writes
must hold the payload only as text, and in headless Chromium (every popup and tooltip
opened) ``window.__xss`` must stay undefined.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import types
from fnmatch import fnmatch
from pathlib import Path
from typing import Annotated, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from siting.engine.highs import SolverProfile, load_profile
from siting.instance.load import load_instance
from siting.instance.schema import InstanceFile
from siting.model.policies import REGISTRY
from siting.render.assets import LEAFLET_CDN, AssetError, leaflet_inline
from siting.scenario import Scenario, load_scenario
from siting.studies.uncertainty import Uncertainty, load_uncertainty
from siting.verify.checks import verify_run
from support import cli

PAYLOAD = "<img src=x onerror=window.__xss=1>\"'</script><script>window.__xss=1</script>{{7*7}}"
LIVE = re.compile(r"<img src=x onerror|<script>window\.__xss", re.IGNORECASE)
# String fields that cannot hold free text, and why.
EXEMPT = {
    "layers.*.path": "a file path: it must name the layer's file",
    "layers.*.layer": "a layer name inside a GeoPackage: it must name the layer",
    "options.<key>": "a HiGHS option name: allow-listed (siting.engine.highs.PROFILE_OPTIONS)",
    "options.*": "a HiGHS option value: HiGHS accepts only its own values",
    "uncertainty.transport_cost.stream": "refused: 'stream' applies to supply only",
    "uncertainty.fixed_cost.stream": "refused: 'stream' applies to supply only",
    "uncertainty.value.stream": "refused: 'stream' applies to supply only",
}


def name(tag: str) -> str:
    """A name holding the payload, made unique by ``tag``."""
    return f"{tag} {PAYLOAD}"


def plain_name(tag: str) -> str:
    """A scenario name holding the payload: a plain name, so without "/" (it names a folder)."""
    return name(tag).replace("/", "")


A, B, M = name("a"), name("b"), name("li")
COL, SEC, PLANT = name("collection"), name("second life"), name("plant")
SMALL, LARGE, HYDRO = name("S"), name("L"), name("hydro")
NORTH, SOUTH, GROUP = name("north"), name("south"), name("group")
REGIONS = [(name(f"r{i}"), name(f"region {i}"), NORTH if i < 3 else SOUTH,
            112 + 0.3 * i, 23 + 0.2 * i) for i in range(5)]
SITES = [  # id, tier, province, lon, lat, existing capacity, sizes, capacity group
    (name("c1"), COL, NORTH, 112.3, 23.3, 0, SMALL, GROUP),
    (name("c2"), COL, SOUTH, 113.0, 23.7, 0, SMALL, ""),
    (name("s1"), SEC, NORTH, 112.3, 23.3, 0, SMALL, GROUP),
    (name("p1"), PLANT, NORTH, 112.6, 23.4, 400, "", ""),
    (name("p2"), PLANT, SOUTH, 113.2, 23.8, 0, f"{SMALL};{LARGE}", ""),
]


def q(text: str) -> str:
    """A TOML string (JSON's escapes are TOML's)."""
    return json.dumps(text)


def instance_toml(periods: bool) -> str:
    """instance.toml with a payload in every name; with periods, processes too."""
    per_stream = f"{{ {q(A)} = 1.0, {q(B)} = 2.0 }}"
    hydro = (f"[tiers.{q(PLANT)}.processes.{q(HYDRO)}]\nlabel = {q(name('hydro label'))}\n"
             f"streams = [{q(A)}, {q(B)}]\nprocessing_cost = {per_stream}\n"
             f"co2_kg_per_t = {per_stream}\nrecovery = {{ {q(M)} = 0.9 }}\n")
    return f"""
[instance]
name = {q(name("instance"))}
description = {q(name("description"))}
currency = {q(name("CNY"))}
[layers]
regions = "regions.csv"
sites = "sites.csv"
{"[periods]" + chr(10) + "years = [2025, 2030]" + chr(10) + "weights = [5, 5]"
 + chr(10) + "growth = [1.0, 1.3]" if periods else ""}
[materials.{q(M)}]
label = {q(name("lithium"))}
price = 20000
[streams.{q(A)}]
label = {q(name("LFP"))}
transport_cost = 0.8
uncollected_penalty = 3000
contents = {{ {q(M)} = 0.02 }}
[streams.{q(B)}]
label = {q(name("NCM"))}
transport_cost = 1.0
uncollected_penalty = 3000
[tiers.{q(COL)}]
processing_cost = {per_stream}
co2_kg_per_t = {per_stream}
sizes = [{{ name = {q(SMALL)}, capacity = 400, fixed_cost = 20000 }}]
[tiers.{q(SEC)}]
branch = {{ source = {q(COL)}, share = {{ {q(A)} = 0.1, {q(B)} = 0.05 }} }}
sizes = [{{ name = {q(SMALL)}, capacity = 100, fixed_cost = 5000 }}]
[tiers.{q(PLANT)}]
processing_cost = {per_stream}
co2_kg_per_t = {per_stream}
recovery = {{ {q(A)} = 0.9, {q(B)} = 0.8 }}
sizes = [{{ name = {q(SMALL)}, capacity = 300, fixed_cost = 60000 }},
         {{ name = {q(LARGE)}, capacity = 900, fixed_cost = 120000 }}]
{hydro if periods else ""}"""


def csv_text(rows: list[list]) -> str:
    """CSV text, every field quoted."""
    text = io.StringIO()
    csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    return text.getvalue()


def write_instance(folder: Path, periods: bool = False) -> Path:
    """Write the poisoned instance with three scenarios (policies, fixed, uncertain)."""
    (folder / "scenarios").mkdir(parents=True)
    (folder / "instance.toml").write_text(instance_toml(periods), encoding="utf-8")
    (folder / "regions.csv").write_text(csv_text(
        [["id", "name", "province", "lon", "lat", f"supply_{A}", f"supply_{B}"]]
        + [[*r, 60 + 10 * i, 40] for i, r in enumerate(REGIONS)]), encoding="utf-8")
    header = ["id", "name", "tier", "province", "lon", "lat", "existing_capacity",
              "existing_fixed_cost", "sizes", "streams", "capacity_group"]
    process = [["process"], *([[HYDRO if s[1] == PLANT else ""] for s in SITES])]
    rows = [header] + [[s[0], name(f"site {s[0][:2]}"), s[1], s[2], s[3], s[4], s[5],
                        20000 if s[5] else 0, s[6], f"{A};{B}", s[7]] for s in SITES]
    if periods:
        rows = [row + extra for row, extra in zip(rows, process, strict=True)]
    (folder / "sites.csv").write_text(csv_text(rows), encoding="utf-8")
    scenarios = folder / "scenarios"
    (scenarios / "baseline.toml").write_text(
        f"[scenario]\nname = {q(plain_name('baseline'))}\ndescription = {q(name('about'))}\n",
        encoding="utf-8")
    if periods:
        return folder
    policies = [
        {"type": "facility_count", "tier": PLANT, "max": 2},
        {"type": "force_open", "sites": [name("c1")]},
        {"type": "forbid", "sites": [name("c2")]},
        {"type": "in_province_share", "share": 0.0, "scope": [NORTH]},
        {"type": "max_distance", "km": 5000, "tier": COL},
        {"type": "min_collection_rate", "rate": 0.1, "scope": [NORTH], "stream": A},
        {"type": "min_recovery", "stream": A, "rate": 0.5},
        {"type": "min_utilisation", "share": 0.0, "tier": PLANT},
        {"type": "supply_scale", "factor": 1.1, "stream": A, "regions": [REGIONS[0][0]]},
        {"type": "supply_scale", "factor": 1.1, "scope": [SOUTH]},
        {"type": "whitelist_only", "tier": PLANT},
    ]
    text = "".join("\n[[policy]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in p.items())
                   for p in policies)
    (scenarios / "policies.toml").write_text(
        f"[scenario]\nname = {q(plain_name('policies'))}\ndescription = {q(name('rules'))}\n{text}",
        encoding="utf-8")
    (scenarios / "fixed.toml").write_text(
        f"[scenario]\nname = {q(plain_name('fixed'))}\n[[policy]]\ntype = \"fixed_network\"\n"
        f"builds = {{ {q(name('c1'))} = {q(SMALL)}, {q(name('p2'))} = {q(LARGE)} }}\n",
        encoding="utf-8")
    (scenarios / "uncertain.toml").write_text(
        f"[scenario]\nname = {q(plain_name('uncertain'))}\n[uncertainty]\n"
        f"supply = {{ distribution = \"lognormal\", sigma = 0.3, by = \"province\", "
        f"stream = {q(A)} }}\n", encoding="utf-8")
    return folder


def write_profile(folder: Path) -> Path:
    """A solver profile whose name and description hold the payload."""
    path = folder / "profile.toml"
    path.write_text(f"[solver]\nname = {q(name('profile'))}\ndescription = "
                    f"{q(name('profile text'))}\ntime_limit = 60\nmip_rel_gap = 0\n"
                    '[options]\npresolve = "on"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory) -> dict[str, Path]:
    """The two poisoned instances (one of periods with processes) and the profile."""
    tmp = tmp_path_factory.mktemp("poisoned")
    return {"single": write_instance(tmp / "single"),
            "horizon": write_instance(tmp / "horizon", periods=True),
            "profile": write_profile(tmp)}


@pytest.fixture(scope="module")
def pages(poisoned, tmp_path_factory) -> list[Path]:
    """Every HTML page the CLI writes, from the poisoned inputs."""
    out = tmp_path_factory.mktemp("pages")
    single, profile = poisoned["single"], poisoned["profile"]
    commands = [
        ("solve", single, "--solver", profile, "--out", out / "base"),
        ("solve", single, "--scenario", "policies", "--solver", profile, "--out", out / "pol"),
        ("solve", poisoned["horizon"], "--solver", profile, "--out", out / "horizon"),
        ("map", out / "base", "--offline", "--out", out / "offline.html"),
        ("map", out / "base", "--tiles", "https://tiles.invalid/{z}/{x}/{y}.png",
         "--attribution", PAYLOAD, "--out", out / "attributed.html"),
        ("map", "--compare", out / "base", out / "pol", "--out", out / "compare.html"),
        ("bench", single, "--solver", profile, "--jobs", "1", "--maps", "--out", out / "bench"),
        ("pareto", single, "--solver", profile, "--points", "2", "--jobs", "1", "--maps",
         "--out", out / "pareto"),
        ("robust", single, "--scenario", "uncertain", "--samples", "2", "--solver", profile,
         "--jobs", "1", "--out", out / "robust"),
        ("alternatives", single, "--count", "1", "--solver", profile, "--jobs", "1",
         "--out", out / "alternatives"),
    ]
    for args in commands:
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
    for run in ("base", "pol", "horizon"):  # bench, pareto, robust verify their own runs
        assert verify_run(out / run).ok
    return sorted(out.rglob("*.html"))


def string_paths(annotation: object, path: str) -> set[str]:
    """Paths of the string fields under a type: ``a.b``, ``a.<key>`` (a table's keys),
    ``a.*`` (its values), ``a[]`` (a list's items)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return string_paths(args[0], path)
    if origin in (Union, types.UnionType):
        return set().union(*(string_paths(a, path) for a in args))
    if annotation is str:
        return {path}
    if origin is dict:
        return string_paths(args[0], f"{path}.<key>") | string_paths(args[1], f"{path}.*")
    if origin in (list, tuple):
        return set().union(*(string_paths(a, f"{path}[]") for a in args if a is not Ellipsis))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return set().union(*(string_paths(f.annotation, f"{path}.{n}".lstrip("."))
                             for n, f in annotation.model_fields.items()))
    assert origin is Literal or annotation in (int, float, bool, type(None)), annotation
    return set()


def values_at(data: object, path: str) -> list:
    """The values found at a path of :func:`string_paths` in dumped data."""
    values = [data]
    for part in re.findall(r"[^.\[\]]+|\[\]", path):
        found = []
        for v in values:
            if part == "[]" and isinstance(v, list | tuple):
                found += list(v)
            elif part in ("*", "<key>") and isinstance(v, dict):
                found += list(v.values() if part == "*" else v.keys())
            elif isinstance(v, dict) and v.get(part) is not None:
                found.append(v[part])
        values = found
    return values


def test_every_string_field_holds_the_payload(poisoned):
    """Walk every schema; each string field must be present, and hold the payload."""
    instances = [load_instance(poisoned[k]) for k in ("single", "horizon")]
    scenarios = [load_scenario(p) for p in sorted((poisoned["single"] / "scenarios").iterdir())]
    uncertainty = [load_uncertainty(s).model_dump() for s in scenarios]
    dumped = [(InstanceFile, [i.spec.model_dump() for i in instances]),
              (SolverProfile, [load_profile(poisoned["profile"]).model_dump()]),
              (Uncertainty, [{"uncertainty": u} for u in uncertainty])]
    dumped += [(cls, [p.model_dump() for s in scenarios for p in s.policies
                      if p.type == name_]) for name_, cls in REGISTRY.items()]
    missing = []
    for schema, data in dumped:
        prefix = "uncertainty" if schema is Uncertainty else ""
        for path in sorted(p for p in string_paths(schema, prefix)
                           if not any(fnmatch(p, e) for e in EXEMPT)):
            values = [v for d in data for v in values_at(d, path)]
            if not values or not all(PAYLOAD in v for v in values):
                missing.append(f"{schema.__name__}: {path}: {values!r}")
    for field in (f.name for f in dataclasses.fields(Scenario) if f.type == "str"):
        texts = [getattr(s, field) for s in scenarios if getattr(s, field)]
        payload = plain_name("") if field == "name" else PAYLOAD
        if field != "objective" and not (texts and all(payload.strip() in t for t in texts)):
            missing.append(f"Scenario: {field}: {texts!r}")  # objective: one of the modes
    for instance in instances:
        for layer in ("regions", "sites"):
            frame = getattr(instance, layer)
            for column in frame.columns.drop("geometry"):
                cells = [c for v in frame[column] if isinstance(v, str | tuple)
                         for c in (v if isinstance(v, tuple) else [v]) if c]
                if frame[column].dtype == object and not all(PAYLOAD in c for c in cells):
                    missing.append(f"{layer} column {column}: {cells!r}")
    assert missing == [], "\n".join(missing)


def test_every_page_holds_the_payload_as_text_only(pages):
    kinds = {p.name for p in pages}
    assert {"map.html", "timeline.html", "offline.html", "attributed.html", "compare.html",
            "comparison.html", "pareto.html", "robust.html", "robust-map.html"} <= kinds
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not LIVE.search(text), page
        assert "{{7*7}}" in text, page  # the names are there, and no template evaluated them


@pytest.fixture(scope="module")
def chromium(browser):
    """The session's headless Chromium, and Leaflet to inline; skip loudly when missing."""
    try:
        leaflet = leaflet_inline()
    except AssetError as err:
        pytest.skip(f"BROWSER INJECTION TESTS DID NOT RUN: {err}")
    return browser, leaflet


OPEN_EVERYTHING = """() => {
    for (const v of Object.values(window)) {
        if (window.L && v instanceof L.Map) {
            v.eachLayer(layer => {
                if (layer.getPopup && layer.getPopup()) { layer.openPopup(); }
                if (layer.getTooltip && layer.getTooltip()) { layer.openTooltip(); }
            });
        }
    }
}"""


def test_no_page_runs_the_payload_in_a_browser(pages, chromium):
    browser, leaflet = chromium
    assets = {f"{LEAFLET_CDN}/leaflet.js": (leaflet.js, "text/javascript"),
              f"{LEAFLET_CDN}/leaflet.css": (leaflet.css, "text/css")}

    def route(r):
        url = r.request.url
        if url in assets:
            r.fulfill(body=assets[url][0], content_type=assets[url][1])
        elif url.startswith("file://"):
            r.continue_()
        else:
            r.abort()

    for page_path in pages:
        page = browser.new_page()
        page.route("**/*", route)
        page.goto(page_path.resolve().as_uri())
        page.wait_for_load_state("load")
        page.evaluate(OPEN_EVERYTHING)
        page.wait_for_timeout(100)
        for frame in page.frames:  # robust.html embeds its map
            frame.evaluate(OPEN_EVERYTHING)
        page.wait_for_timeout(100)
        assert all(f.evaluate("() => window.__xss") is None for f in page.frames), page_path
        assert PAYLOAD in page.content() or PAYLOAD.replace("&", "&amp;") in page.inner_text(
            "body"), page_path
        page.close()
