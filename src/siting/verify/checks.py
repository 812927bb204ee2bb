"""The independent verifier: checks a run folder against its instance and scenario.

It shares no code with the model: it reads the files a run wrote, recomputes distances
(great circle with pyproj, or from the distance matrix), costs and key figures, and checks
every core constraint and every active policy within tolerance.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors

from siting.errors import InputError, ScenarioError
from siting.instance.load import Instance, load_instance
from siting.instance.schema import per_stream
from siting.model.policies import RunView
from siting.model.policies.base import SPHERE, supply_under
from siting.options import limit_problem
from siting.results.labels import (
    STAGES,
    gap,
    label_gap,
    optimal_cap,
    status_of,
    status_text,
)
from siting.results.runfiles import read_meta, read_table
from siting.scenario import Scenario, load_scenario, parse_policy

REL = 1e-6  # relative tolerance of sums and costs
ABS = 1e-4  # tonnes


@dataclass
class Report:
    """Outcome of a verification: an empty ``problems`` list means the run checks out."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    """Figures stated in the run folder that the verifier cannot recompute, and why."""

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return not self.problems

    def expect(self, name: str, failures: list[str]) -> None:
        """Record a check and its failures."""
        self.checked.append(name)
        self.problems.extend(failures)


def close(a: float, b: float, scale: float = 1.0) -> bool:
    """Equal within the verifier's tolerance, relative to the larger of a, b and scale."""
    return abs(a - b) <= REL * max(abs(a), abs(b), scale) + ABS


def verify_run(run_dir: str | Path, instance: Instance | None = None) -> Report:
    """Check the run folder ``run_dir`` against ``instance``.

    By default the instance is re-read from the path solution.json records, relative to
    the run folder (or else its absolute path, for a run moved without its instance); an
    instance made in memory must be given.
    """
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    if instance is None:
        recorded = meta["instance"].get("path")
        if recorded is None:
            raise InputError(run_dir / "solution.json", "instance.path", "the instance was "
                             "made in memory: pass it to verify_run(run_dir, instance)")
        moved = run_dir / recorded
        absolute = meta["instance"].get("absolute_path")
        instance = load_instance(absolute if not moved.is_dir() and absolute else moved)
    facilities = read_table(run_dir, "facilities")
    flows = read_table(run_dir, "flows", [f"recovered_{m}" for m in instance.spec.materials])
    regions = read_table(run_dir, "regions", [f"{key}_{s}" for s in instance.streams
                                              for key in ("supply", "collected", "uncollected")])
    report = Report()
    if instance.hash != meta["instance"]["hash"]:
        report.problems.append("the instance files changed since this run was solved")
    report.expect("one row per site and region", _check_rows(instance, facilities, regions))
    if not report.ok:
        return report  # every later check matches rows by id
    report.expect("solution.gpkg", _check_geopackage(run_dir, facilities, flows, regions))
    report.expect("gap", _check_gap(meta))
    if "period" not in meta:  # a period of a horizon run carries the horizon's label
        report.expect("status label", _check_label(meta))
        report.unverified.append(
            "best_bound, highs_bound and solver_status: the solver's proof and word (each "
            "bound checked to lie at or below the objective and to give the recorded gap "
            "and label; not recomputed)")
    report.expect("scenario", _check_scenario(meta, instance, report))
    policies = [parse_policy(raw, run_dir / "solution.json", i)
                for i, raw in enumerate(meta["scenario"]["policies"], start=1)]
    report.expect("marginal costs", _check_marginal_costs(meta, policies, report))
    if "periods" in meta:
        return verify_horizon(run_dir, meta, instance, report)
    period_supply = None
    if "period" in meta:
        period_supply = instance.period_supply[instance.spec.periods.years.index(meta["period"])]
    supply = supply_under(policies, instance, period_supply)
    view = RunView(instance, facilities, flows, regions)
    report.expect("arcs", _check_arcs(view))
    if not (flows["destination"].isin(instance.sites["id"])
            & flows["stream"].isin(instance.streams)).all():
        return report  # flows to unknown sites or of unknown streams: the arc check names them
    report.expect("supply balance", _check_supply(view, supply))
    report.expect("conservation", _check_conservation(view))
    report.expect("branch shares", _check_branches(view))
    report.expect("capacity and sizes", _check_facilities(view))
    tables = expected_facilities(view), expected_flows(view), expected_regions(view, supply)
    view = replace(view, costs=_costs(view, *tables[:2]))
    report.expect("every column of facilities, flows and regions", _check_tables(view, *tables))
    report.expect("costs and KPIs", _check_costs(view, meta, tables, policies))
    for policy in policies:
        report.expect(f"policy {policy.type}", policy.check(view))
    return report


def _check_rows(inst: Instance, facilities: pd.DataFrame, regions: pd.DataFrame) -> list[str]:
    """Check that facilities.csv has one row per site, and regions.csv one per region.

    (A row twice is refused as malformed when the table is read.)
    """
    problems = []
    for name, table, ids, what in (("facilities.csv", facilities, inst.sites["id"], "site"),
                                   ("regions.csv", regions, inst.regions["id"], "region")):
        unknown = sorted(set(table["id"]) - set(ids))
        missing = sorted(set(ids) - set(table["id"]))
        why = (f"{unknown[0]!r} is no {what} of the instance" if unknown
               else f"{missing[0]!r} has no row" if missing else None)
        if why:
            problems.append(f"{name}: its rows are not one per {what} of the instance: {why}")
    return problems


def _check_geopackage(run_dir: Path, facilities: pd.DataFrame, flows: pd.DataFrame,
                      regions: pd.DataFrame) -> list[str]:
    """Check that each layer of solution.gpkg holds the rows and columns of its CSV table."""
    path = run_dir / "solution.gpkg"
    if not path.is_file():
        return [f"{path}: missing from the run folder"]
    try:
        layers = {name for name, _ in pyogrio.list_layers(path)}
    except pyogrio.errors.DataSourceError:
        return ["solution.gpkg: not a readable GeoPackage"]
    problems = []
    for layer, table, key in (("facilities", facilities, "id"),
                              ("flows", flows, _flow_labels(flows)),
                              ("regions", regions, "id")):
        if layer not in layers:
            problems.append(f"solution.gpkg: no {layer} layer")
            continue
        read = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
        if len(read) != len(table):
            problems.append(f"solution.gpkg layer {layer}: {len(read)} rows, the CSV has "
                            f"{len(table)}")
        else:
            problems += compare_table(f"solution.gpkg layer {layer}", read,
                                      table.drop(columns="geometry", errors="ignore"), key)
    return problems


def _flow_labels(flows: pd.DataFrame) -> pd.Series:
    """Name each flow in a problem: ``origin -> destination (stream)``."""
    return flows["origin"] + " -> " + flows["destination"] + " (" + flows["stream"] + ")"


def _check_gap(meta: dict) -> list[str]:
    """Check that the stated gap is the relative distance of the objective from the bound."""
    bound, recorded = meta["best_bound"], meta["mip_gap"]
    expected = None if bound is None else gap(meta["objective"], bound)
    same = (recorded is None if expected is None else recorded is not None
            and math.isclose(recorded, expected, rel_tol=1e-9, abs_tol=1e-12))
    return [] if same else [f"mip_gap: {recorded!r} recorded, {expected!r} recomputed from the "
                            "objective and best_bound"]


def _check_label(meta: dict) -> list[str]:
    """Recompute the status and its words from the objective, the bound and the profile.

    The bound is a proof the verifier cannot redo (HiGHS's, the Lagrangian's, pricing's):
    it must lie at or below the objective (every objective is minimised) and be the one
    its source reports. The status follows from the gap it gives and the profile's
    ``mip_rel_gap`` as recorded, capped at 0.01% (``siting.results.labels``: a recorded profile
    cannot widen it); ``status_text`` is what the status and the gap say in words.
    """
    objective, bound = meta["objective"], meta["best_bound"]
    problems = []
    for name in ("best_bound", "highs_bound"):
        value = meta.get(name)
        if value is not None and value > objective + REL * max(abs(objective), 1.0):
            problems.append(f"{name} {value:.10g} lies above the objective {objective:.10g}: "
                            "not a bound of a minimum")
    if (bound is not None) != bool(meta.get("bound_valid")):
        problems.append(f"bound_valid {meta.get('bound_valid')!r} with best_bound {bound!r}")
    problems += _check_bound_source(meta)
    problems += _check_profile(meta["solver"])
    problems += _check_stages(meta)
    expected_gap = None if bound is None else label_gap({**meta, "mip_gap": gap(objective,
                                                                                 bound)})
    cap = optimal_cap(meta["solver"]["mip_rel_gap"])
    status = status_of(meta["solver_status"], expected_gap, cap)
    text = status_text(status, expected_gap)
    if meta["status"] != status:
        problems.append(f"status {meta['status']!r} recorded, {status!r} follows from the "
                        f"figures ({text}; optimal needs a gap of at most {cap:g})")
    elif meta["status_text"] != text:
        problems.append(f"status_text {meta['status_text']!r} recorded, {text!r} follows "
                        "from the figures")
    return problems


def _check_stages(meta: dict) -> list[str]:
    """Check a staged objective's stages: its mode's, in order, each bound at most its optimum.

    The last stage solved must be the run's objective.
    """
    names = STAGES.get(meta["scenario"]["objective"]["mode"])
    stages = meta.get("stages")
    if names is None:
        return [] if stages is None else ["stages: recorded for an objective of one stage"]
    if not isinstance(stages, list) or [s.get("name") for s in stages] != list(names):
        return [f"stages: {stages!r} recorded, one entry per stage {list(names)} expected"]
    problems = [f"stages: {s['name']!r} has a bound {s['best_bound']:.10g} above its "
                f"objective {s['objective']:.10g}" for s in stages
                if s["objective"] is not None and s["best_bound"] is not None
                and s["best_bound"] > s["objective"] + REL * max(abs(s["objective"]), 1.0)]
    solved = [s for s in stages if s["objective"] is not None]
    if not solved or solved[-1]["objective"] != meta["objective"]:
        problems.append("stages: the last stage solved is not the run's objective")
    return problems


def _check_bound_source(meta: dict) -> list[str]:
    """Check that best_bound is the bound its ``bound_source`` reports."""
    source, bound = meta.get("bound_source"), meta["best_bound"]
    reported = {"highs": meta.get("highs_bound"),
                "lagrangian": (meta.get("lagrangian") or {}).get("bound"),
                "pricing": ((meta.get("pruning") or {}).get("pricing") or {}).get("bound")}
    if bound is None:
        return [] if source in (None, "pruned_model") else [
            f"bound_source {source!r} without a best_bound"]
    if source not in reported:
        return [f"bound_source {source!r}: expected one of {sorted(reported)}"]
    if source == "highs" and (meta.get("pruning") or {}).get("flows_cut", 0) > 0:
        return ["best_bound is HiGHS's bound of a pruned model, not a bound of the full "
                "problem"]
    if reported[source] != bound:
        return [f"best_bound {bound!r} is not the {source} bound, {reported[source]!r}"]
    return []


def _check_profile(solver: dict) -> list[str]:
    """Check the recorded profile: its gap, and no HiGHS option that changes the proof."""
    problems = [] if 0 <= solver["mip_rel_gap"] <= 1 else [
        f"solver.mip_rel_gap {solver['mip_rel_gap']!r}: expected 0 to 1"]
    for key, value in solver["options"].items():
        why = limit_problem(key, value)
        if why:
            problems.append(f"solver.options.{key}: {why}")
    return problems


def _scenario_files(inst: Instance, recorded: dict) -> list[tuple[str, Scenario]]:
    """Return the scenarios a run may have been solved under, each with where it is.

    The file the run records, if it is still there; else (and for a run written before
    files were recorded) the instance's scenarios of the run's name (its files in
    scenarios/, and the default ``baseline``). None for a scenario made in code.
    """
    file = recorded.get("file", "")
    if file is None:
        return []
    if file and Path(file).is_file():
        return [(file, load_scenario(file))]
    found = []
    folder = inst.path / "scenarios" if inst.path is not None else None
    for path in sorted(folder.glob("*.toml")) if folder is not None and folder.is_dir() else []:
        try:
            scenario = load_scenario(path)
        except ScenarioError:
            continue  # a broken file is not the one the run read
        if scenario.name == recorded["name"]:
            found.append((f"the instance's scenarios/{path.name}", scenario))
    if recorded["name"] == Scenario().name:
        found.append(("the default scenario", Scenario()))
    return found


def _check_scenario(meta: dict, inst: Instance, report: Report) -> list[str]:
    """Check the run's objective and policies against the scenario file it was solved under.

    That is the file it records, or, moved, the instance's scenario of its name. A
    scenario made in code, or whose file is gone, is named in ``report.unverified``.
    """
    recorded = meta["scenario"]
    candidates = _scenario_files(inst, recorded)
    if not candidates:
        why = ("made in code" if "file" in recorded and recorded["file"] is None
               else "its file is gone and the instance has no scenario of that name")
        report.unverified.append(f"scenario {recorded['name']!r}: its objective and policies "
                                 f"as recorded ({why})")
        return []
    stated = {k: recorded[k] for k in ("name", "objective", "policies")}  # not the file
    for _, scenario in candidates:
        described = json.loads(json.dumps(scenario.describe()))
        if stated == {k: described[k] for k in stated}:
            return []
    return [f"scenario {recorded['name']!r}: its objective and policies differ from "
            f"{candidates[0][0]}"]


def _check_marginal_costs(meta: dict, policies: list, report: Report) -> list[str]:
    """Check that each marginal cost is of a policy row of the run; name them unverified.

    They are duals of HiGHS's LP with the network fixed: the verifier, which builds no
    model, cannot recompute them.
    """
    entries = meta.get("marginal_costs") or []
    counts = Counter(p.type for p in policies)
    blocks = {f"{kind}_{n}" if n > 1 else kind for kind, count in counts.items()
              for n in range(1, count + 1)}  # as siting.model.core names policy blocks
    strays = [e["policy"] for e in entries if e["policy"] not in blocks]
    if policies:
        report.unverified.append(f"marginal_costs: the duals HiGHS reported ({len(entries)}), "
                                 "not recomputed")
    return [f"marginal_costs: {stray!r} is not a policy of the run" for stray in strays[:1]]


def _check_arcs(run: RunView) -> list[str]:
    inst, flows = run.instance, run.flows
    problems = []
    sites = inst.sites.set_index("id")
    tier_pos = {t: i for i, t in enumerate(inst.tiers)}
    if (flows["tonnes"] < -ABS).any():
        problems.append("negative flow tonnes")
    unknown = ~flows["destination"].isin(sites.index)
    if unknown.any():
        return [f"flow to unknown site {flows['destination'][unknown].iloc[0]!r}"]
    dest_tier = flows["destination"].map(sites["tier"]).map(tier_pos)
    from_region = flows["origin_type"] == "region"
    bad_first = from_region & ((dest_tier != 0) | ~flows["origin"].isin(inst.regions["id"]))
    chain = [t for t, spec in inst.spec.tiers.items() if spec.branch is None]
    links = set(zip(chain, chain[1:], strict=False)) | {
        (spec.branch.source, t) for t, spec in inst.spec.tiers.items() if spec.branch}
    pairs = zip(flows["origin"].map(sites["tier"]), flows["destination"].map(sites["tier"]),
                strict=True)
    bad_next = ~from_region & ~np.array([pair in links for pair in pairs], dtype=bool)
    for mask, what in ((bad_first, "region flow not into a first-tier site"),
                       (bad_next, "site flow not into the next tier")):
        if mask.any():
            row = flows[mask].iloc[0]
            problems.append(f"{what}: {row.origin} -> {row.destination}")
    accepts = sites["streams"]
    refused = [r.stream not in accepts[r.destination] or (r.origin_type == "site"
               and r.stream not in accepts[r.origin]) for r in flows.itertuples()]
    if any(refused):
        row = flows[np.array(refused)].iloc[0]
        problems.append(f"stream {row.stream} sent to a site that refuses it: {row.destination}")
    km = _expected_km(inst, flows)
    off = ~np.isclose(flows["km"].to_numpy(), km, rtol=1e-6, atol=1e-3)
    if off.any():
        row = flows[off].iloc[0]
        problems.append(f"arc {row.origin} -> {row.destination}: {row.km:.3f} km recorded, "
                        f"{km[np.argmax(off)]:.3f} km expected")
    return problems


def _expected_km(inst: Instance, flows: pd.DataFrame) -> np.ndarray:
    """Arc lengths recomputed: great circle x circuity, or looked up in the distance matrix."""
    if inst.distances is not None:
        table = inst.distances.set_index(["origin", "destination"])["km"]
        sites = inst.sites.set_index("id")
        place = sites["location"] if "location" in sites.columns else sites.index.to_series()
        keys = pd.MultiIndex.from_arrays([flows["origin"], flows["destination"].map(place)])
        return table.reindex(keys).to_numpy(dtype=float)
    points = pd.concat([inst.regions.set_index("id")[["lon", "lat"]].add_prefix("r_"),
                        inst.sites.set_index("id")[["lon", "lat"]].add_prefix("s_")], axis=1)
    from_region = (flows["origin_type"] == "region").to_numpy()
    o_lon = np.where(from_region, points["r_lon"].reindex(flows["origin"]),
                     points["s_lon"].reindex(flows["origin"]))
    o_lat = np.where(from_region, points["r_lat"].reindex(flows["origin"]),
                     points["s_lat"].reindex(flows["origin"]))
    d_lon = points["s_lon"].reindex(flows["destination"]).to_numpy()
    d_lat = points["s_lat"].reindex(flows["destination"]).to_numpy()
    _, _, metres = SPHERE.inv(o_lon, o_lat, d_lon, d_lat)
    return np.asarray(metres) / 1000 * inst.spec.distance.circuity


def _check_supply(run: RunView, supply_table: pd.DataFrame) -> list[str]:
    inst, flows, regions = run.instance, run.flows, run.regions
    problems = []
    shipped = flows[flows["origin_type"] == "region"].groupby(["origin", "stream"])["tonnes"].sum()
    for s in inst.streams:
        supply = supply_table[s]
        out = shipped.xs(s, level="stream") if s in shipped.index.get_level_values(1) else None
        sent = (out.reindex(supply.index).fillna(0.0) if out is not None
                else pd.Series(0.0, index=supply.index))
        over = sent > supply + ABS + REL * supply
        if over.any():
            problems.append(f"region {over.idxmax()!r} ships {sent[over].iloc[0]:.6g} t of {s}, "
                            f"more than its supply {supply[over].iloc[0]:.6g}")
        if inst.spec.streams[s].uncollected_penalty is None:
            short = sent < supply - ABS - REL * supply
            if short.any():
                problems.append(f"region {short.idxmax()!r}: {s} must be fully collected")
        recorded = regions.set_index("id")[f"uncollected_{s}"].reindex(supply.index)
        wrong = ~np.isclose(recorded.to_numpy(), (supply - sent).clip(lower=0).to_numpy(),
                            rtol=REL, atol=ABS * 10)
        if wrong.any():
            problems.append(f"region {supply.index[np.argmax(wrong)]!r}: uncollected {s} "
                            "does not match supply minus shipments")
    return problems


def _check_conservation(run: RunView) -> list[str]:
    inst, flows = run.instance, run.flows
    ends = [inst.tiers[-1]] + [t for t, spec in inst.spec.tiers.items() if spec.branch]
    inner = set(inst.sites["id"][~inst.sites["tier"].isin(ends)])
    inward = flows[flows["destination"].isin(inner)]
    into = inward.groupby(["destination", "stream"])["tonnes"].sum()
    out = flows[flows["origin_type"] == "site"].groupby(["origin", "stream"])["tonnes"].sum()
    both = pd.concat([into.rename("in"), out.rename("out")], axis=1).fillna(0.0)
    bad = ~np.isclose(both["in"], both["out"], rtol=REL, atol=ABS * 10)
    if bad.any():
        (site, stream), row = next(iter(both[bad].iterrows()))
        return [f"site {site!r}, {stream}: {row['in']:.6g} t in but {row['out']:.6g} t out"]
    return []


def _check_branches(run: RunView) -> list[str]:
    """Each branch tier gets its share of what its source sites receive (each or all)."""
    inst, flows = run.instance, run.flows
    tier_of = inst.sites.set_index("id")["tier"]
    problems = []
    for name, spec in inst.spec.tiers.items():
        if spec.branch is None:
            continue
        source = spec.branch.source
        into = flows[flows["destination"].map(tier_of) == source]
        out = flows[(flows["origin_type"] == "site") & (flows["destination"].map(tier_of) == name)]
        for stream in inst.streams:
            share = per_stream(spec.branch.share, stream)
            received = into[into["stream"] == stream].groupby("destination")["tonnes"].sum()
            sent = out[out["stream"] == stream].groupby("origin")["tonnes"].sum()
            if spec.branch.scope == "all":
                received, sent = pd.Series([received.sum()]), pd.Series([sent.sum()])
            both = pd.concat([received.rename("in"), sent.rename("out")], axis=1).fillna(0.0)
            bad = ~np.isclose(both["out"], share * both["in"], rtol=REL, atol=ABS * 10)
            if bad.any():
                row = both[bad].iloc[0]
                problems.append(f"branch {name}, {stream}: {row['out']:.6g} t sent of "
                                f"{row['in']:.6g} t received, share {share:g}")
    return problems


def _check_facilities(run: RunView) -> list[str]:
    inst, flows = run.instance, run.flows
    fac = run.facilities.set_index("id")
    sites = inst.sites.set_index("id")
    problems = []
    throughput = flows.groupby("destination")["tonnes"].sum().reindex(sites.index).fillna(0.0)
    for site_id, site in sites.iterrows():
        row = fac.loc[site_id]
        parts = row["size"].split("+") if row["size"] else []
        tier = inst.spec.tiers[site.tier]
        sizes = {s.name: s for s in tier.sizes}
        cap = site.existing_capacity
        if cap > 0 and not row["open"]:
            if np.isnan(site.closure_cost):
                problems.append(f"site {site_id!r}: an existing facility without a "
                                "closure_cost is closed")
            cap = 0.0
        minimum = 0.0
        if parts:
            most = tier.max_modules if tier.expansion == "modules" else 1
            if any(p not in site.sizes for p in parts) or (most == 1 and len(parts) > 1):
                problems.append(f"site {site_id!r}: size {row['size']!r} is not allowed there")
                continue
            if max(Counter(parts).values()) > most:
                problems.append(f"site {site_id!r}: more than {most} units of a module")
            cap += sum(sizes[p].capacity for p in parts)
            minimum = sum(sizes[p].min_throughput for p in parts)
        if not close(row["capacity"], cap, cap):
            problems.append(f"site {site_id!r}: capacity {row['capacity']:.6g} recorded, "
                            f"{cap:.6g} built")
        used = throughput[site_id]
        is_open = row["open"] and (bool(parts) or site.existing_capacity > 0)
        if not is_open and used > ABS:
            problems.append(f"site {site_id!r}: closed, but receives {used:.6g} t")
        elif used > cap + ABS + REL * cap:
            problems.append(f"site {site_id!r}: {used:.6g} t exceeds capacity {cap:.6g}")
        if parts and used < minimum - ABS - REL * minimum:
            problems.append(f"site {site_id!r}: {used:.6g} t below minimum {minimum:.6g}")
        if not close(row["throughput"], used, cap):
            problems.append(f"site {site_id!r}: throughput recorded {row['throughput']:.6g}, "
                            f"flows give {used:.6g}")
    limited = sites[sites["group_capacity"].notna()].assign(used=throughput)
    for group, members in limited.groupby("capacity_group"):
        used, limit = members["used"].sum(), members["group_capacity"].iloc[0]
        if used > limit * (1 + REL) + ABS:
            problems.append(f"capacity group {group!r}: {used:.6g} t exceeds its "
                            f"group_capacity {limit:.6g}")
    if "location" in fac.columns:
        open_at = fac[fac["open"]].groupby("location").size()
        if (open_at > 1).any():
            problems.append(f"location {open_at.idxmax()!r}: {open_at.max()} processes open")
    return problems


def _costs(run: RunView, facilities: pd.DataFrame, flows: pd.DataFrame) -> dict[str, float]:
    """Cost terms from the recomputed facilities and flows, and the uncollected tonnes."""
    spec = run.instance.spec
    penalty = sum((spec.streams[s].uncollected_penalty or 0.0)
                  * float(run.regions[f"uncollected_{s}"].sum()) for s in run.instance.streams)
    capex = float(facilities["capex"].sum())
    return {
        "fixed": float(facilities["fixed_cost"].sum()),
        "capex": (spec.finance.annuity_factor if spec.finance else 0.0) * capex,
        "transport": float(flows["transport_cost"].sum()),
        "processing": float(flows["processing_cost"].sum()),
        "penalty": penalty,
        "capex_total": capex,
    }


def flow_rates(inst: Instance, flows: pd.DataFrame, km: np.ndarray) -> pd.DataFrame:
    """Recompute per tonne of each flow: costs, CO2 (kg), value and materials recovered.

    Columns: transport_cost, processing_cost, co2_kg, revenue, recovered_<material>.
    Transport is priced on ``km``, the arcs' lengths recomputed (:func:`_expected_km`), not
    on the ``km`` recorded (rounded to 6 decimals: at 0.38 km, 1.2e-6 of the cost). A
    tonne delivered to a last-tier plant recovers the plant's rate times the stream's
    value, and of each material its content times the plant's rate (its process's rate
    for that material).
    """
    spec = inst.spec
    sites = inst.sites.set_index("id")
    tier_of, own_rate = sites["tier"].to_dict(), sites["recovery"].to_dict()
    process = _processes(inst).to_dict()
    rows = []
    for stream_id, dest, length in zip(flows["stream"], flows["destination"], km,
                                       strict=True):
        tier, stream, proc = spec.tiers[tier_of[dest]], spec.streams[stream_id], process[dest]
        owner = proc or tier
        row = {"transport_cost": stream.transport_cost * tier.transport_cost_factor * length,
               "processing_cost": per_stream(owner.processing_cost, stream_id),
               "co2_kg": stream.co2_kg_per_tkm * length + per_stream(owner.co2_kg_per_t, stream_id),
               "revenue": 0.0, **{f"recovered_{m}": 0.0 for m in spec.materials}}
        if tier_of[dest] == inst.tiers[-1]:
            rate = own_rate[dest] if not np.isnan(own_rate[dest]) else (
                1.0 if tier.recovery is None else per_stream(tier.recovery, stream_id))
            row["revenue"] = stream.value * rate
            for material, share in stream.contents.items():
                recovered = share * (rate if proc is None else proc.recovery.get(material, 0.0))
                row[f"recovered_{material}"] = recovered
                row["revenue"] += recovered * spec.materials[material].price
        rows.append(row)
    columns = ["transport_cost", "processing_cost", "co2_kg", "revenue",
               *(f"recovered_{m}" for m in spec.materials)]
    return pd.DataFrame(rows, columns=columns, index=flows.index, dtype=float)


def _processes(inst: Instance) -> pd.Series:
    """Return the process spec of every site by id (None where the site has no process)."""
    sites = inst.sites
    names = sites["process"] if "process" in sites.columns else pd.Series("", index=sites.index)
    return pd.Series([inst.spec.tiers[t].processes.get(p) for t, p in zip(sites["tier"], names,
                                                                           strict=True)],
                     index=sites["id"].to_numpy(), dtype=object)


def expected_facilities(run: RunView) -> pd.DataFrame:
    """Recompute facilities.csv from the instance, the sizes built, closures and flows.

    The decisions are read from the file (``size``, and ``open`` of an existing facility:
    false means closed); every other column is recomputed from them.
    """
    inst, flows = run.instance, run.flows
    sites = inst.sites.set_index("id")
    recorded = run.facilities.set_index("id").reindex(sites.index)
    size = recorded["size"].fillna("")
    existing = sites["existing_capacity"] > 0
    kept = existing & recorded["open"].fillna(True).astype(bool)
    new_capacity, fixed, capex = [], [], []
    for site_id, built in size.items():
        by_name = {s.name: s for s in inst.spec.tiers[sites.at[site_id, "tier"]].sizes}
        parts = [by_name[p] for p in built.split("+") if p in by_name] if built else []
        factor = sites.at[site_id, "fixed_cost_factor"]
        new_capacity.append(sum(p.capacity for p in parts))
        fixed.append(sum(p.fixed_cost for p in parts) * factor)
        capex.append(sum(p.capex for p in parts) * factor)
    by_stream = (flows.groupby(["destination", "stream"])["tonnes"].sum()
                 .unstack("stream").reindex(index=sites.index, columns=inst.streams).fillna(0.0))
    frame = sites[["name", "tier", "province", "lon", "lat"]].assign(
        existing=existing, open=kept | (np.array(new_capacity) > 0),
        new=np.array(new_capacity) > 0, size=size,
        existing_capacity=sites["existing_capacity"].where(kept, 0.0),
        new_capacity=new_capacity)
    frame["capacity"] = frame["existing_capacity"] + frame["new_capacity"]
    frame["throughput"] = by_stream.sum(axis=1)
    frame["utilisation"] = (frame["throughput"] / frame["capacity"]).where(frame["capacity"] > 0)
    frame["fixed_cost"] = np.array(fixed) + sites["existing_fixed_cost"].where(frame["open"], 0.0)
    frame["capex"] = capex
    for column in ("location", "process"):
        if column in sites.columns:
            frame[column] = sites[column]
    for stream in inst.streams:
        frame[f"throughput_{stream}"] = by_stream[stream]
    return frame.reset_index()


def expected_flows(run: RunView) -> pd.DataFrame:
    """Recompute every figure and name of flows.csv but the decisions (arc, stream, tonnes)."""
    flows, inst = run.flows, run.instance
    km = _expected_km(inst, flows)
    rates = flow_rates(inst, flows, km)
    frame = flows[["origin", "origin_type", "destination", "stream", "tonnes"]].copy()
    frame["km"] = km
    names = pd.concat({"region": inst.regions.set_index("id")["name"],
                       "site": inst.sites.set_index("id")["name"]})
    ends = pd.MultiIndex.from_arrays([flows["origin_type"], flows["origin"]])
    frame.insert(1, "origin_name", names.reindex(ends).to_numpy())
    frame.insert(4, "destination_name", inst.sites.set_index("id")["name"]
                 .reindex(flows["destination"]).to_numpy())
    for column in ("transport_cost", "processing_cost", "revenue",
                   *(c for c in rates.columns if c.startswith("recovered_"))):
        frame[column] = flows["tonnes"] * rates[column]
    frame["co2_t"] = flows["tonnes"] * rates["co2_kg"] / 1000
    return frame


def expected_regions(run: RunView, supply_table: pd.DataFrame) -> pd.DataFrame:
    """Recompute regions.csv from the supply and the flows out of each region."""
    inst, flows = run.instance, run.flows
    shipped = (flows[flows["origin_type"] == "region"].groupby(["origin", "stream"])["tonnes"]
               .sum().unstack("stream")
               .reindex(index=supply_table.index, columns=inst.streams).fillna(0.0))
    supply = supply_table[inst.streams]
    collected = np.minimum(shipped, supply)
    frame = inst.regions.set_index("id").reindex(supply.index)[["name", "province", "lon",
                                                                 "lat"]]
    frame["supply"] = supply.sum(axis=1)
    frame["collected"] = collected.sum(axis=1)
    frame["uncollected"] = frame["supply"] - frame["collected"]
    frame["collection_rate"] = (frame["collected"] / frame["supply"]).where(frame["supply"] > 0)
    for stream in inst.streams:
        frame[f"supply_{stream}"] = supply[stream]
        frame[f"collected_{stream}"] = collected[stream]
        frame[f"uncollected_{stream}"] = supply[stream] - collected[stream]
    return frame.rename_axis("id").reset_index()


def _check_tables(run: RunView, facilities: pd.DataFrame, flows: pd.DataFrame,
                  regions: pd.DataFrame) -> list[str]:
    """Every column of the three tables equals its recomputation (the decisions aside)."""
    return (compare_table("facilities.csv", run.facilities, facilities, "id")
            + compare_table("flows.csv", run.flows, flows, _flow_labels(run.flows))
            + compare_table("regions.csv", run.regions, regions, "id"))


def compare_table(name: str, recorded: pd.DataFrame, expected: pd.DataFrame,
                  key: str | pd.Series) -> list[str]:
    """Compare a table column by column with its recomputation; name the first bad row.

    ``key`` is the column of the row ids (rows are matched on it) or, for a table without
    one, a label of each row (rows are matched by position).
    """
    columns = set(recorded.columns)
    problems = [f"{name}: column {c!r} is not one the verifier recomputes"
                for c in sorted(columns - set(expected.columns))]
    problems += [f"{name}: column {c!r} is missing" for c in sorted(set(expected.columns)
                                                                     - columns)]
    if isinstance(key, str):
        if sorted(recorded[key]) != sorted(expected[key]):
            return [*problems, f"{name}: its rows are not one per {key} of the instance"]
        recorded = recorded.set_index(key).reindex(expected[key])
        labels = expected[key].to_numpy()
        expected = expected.set_index(key)
    else:
        labels = key.to_numpy()
    for column in [c for c in expected.columns if c in columns]:
        if expected[column].dtype.kind in "iuf":
            have = pd.to_numeric(recorded[column], errors="coerce").to_numpy(dtype=float)
            want = expected[column].to_numpy(dtype=float)
            bad = ~(np.isclose(have, want, rtol=REL, atol=ABS) | (np.isnan(have)
                                                                  & np.isnan(want)))
        else:
            have = recorded[column].astype(str).to_numpy()
            want = expected[column].astype(str).to_numpy()
            bad = have != want
        if bad.any():
            i = int(np.argmax(bad))
            problems.append(f"{name}: {column} of {labels[i]}: {have[i]!r} recorded, "
                            f"{want[i]!r} recomputed")
    return problems


def expected_kpis(inst: Instance, facilities: pd.DataFrame, flows: pd.DataFrame,
                  regions: pd.DataFrame, costs: dict[str, float]) -> dict:
    """Recompute the key figures of solution.json from the recomputed tables and costs.

    ``flows`` is :func:`expected_flows`'s table: its ``km`` are recomputed, not rounded.
    """
    def rate(part: float, whole: float) -> float | None:
        return part / whole if whole > 0 else None

    by_tier = {}
    for tier in inst.tiers:
        at = facilities[facilities["tier"] == tier]
        capacity = float(at["capacity"][at["open"]].sum())
        throughput = float(at["throughput"].sum())
        by_tier[tier] = {"open": int(at["open"].sum()),
                         "new": int((at["open"] & ~at["existing"]).sum()),
                         "capacity_t": capacity, "throughput_t": throughput,
                         "utilisation": rate(throughput, capacity)}
    last = facilities[facilities["tier"] == inst.tiers[-1]]
    supply, collected = float(regions["supply"].sum()), float(regions["collected"].sum())
    capacity = by_tier[inst.tiers[-1]]["capacity_t"]
    throughput = by_tier[inst.tiers[-1]]["throughput_t"]
    cost = {k: v for k, v in costs.items() if k != "capex_total"}
    provinces = regions.groupby("province", sort=True)[["supply", "collected"]].sum()
    recovered = {m: float(flows[f"recovered_{m}"].sum()) for m in inst.spec.materials}
    return {
        "total_cost": sum(cost.values()),
        "cost": cost,
        "capex_total": costs["capex_total"],
        "supply_t": supply,
        "collected_t": collected,
        "collection_rate": rate(collected, supply),
        "uncollected_t": float(regions["uncollected"].sum()),
        "capacity_t": capacity,
        "capacity_existing_t": float(last["existing_capacity"].sum()),
        "capacity_new_t": float(last["new_capacity"].sum()),
        "throughput_t": throughput,
        "utilisation": rate(throughput, capacity),
        "capacity_to_supply": rate(capacity, supply),
        "tonne_km": float((flows["tonnes"] * flows["km"]).sum()),
        "co2_t": float(flows["co2_t"].sum()),
        "recovered_value": float(flows["revenue"].sum()),
        "materials": {m: {"recovered_t": t, "value": t * inst.spec.materials[m].price}
                      for m, t in recovered.items()},
        "facilities_open": {t: v["open"] for t, v in by_tier.items()},
        "facilities_new": {t: v["new"] for t, v in by_tier.items()},
        "by_tier": by_tier,
        "by_stream": {s: {"supply_t": float(regions[f"supply_{s}"].sum()),
                          "collected_t": float(regions[f"collected_{s}"].sum()),
                          "collection_rate": rate(float(regions[f"collected_{s}"].sum()),
                                                  float(regions[f"supply_{s}"].sum()))}
                      for s in inst.streams},
        "by_province": {str(p): {"supply_t": float(r.supply), "collected_t": float(r.collected),
                                 "collection_rate": rate(float(r.collected), float(r.supply))}
                        for p, r in provinces.iterrows()},
    }


def compare_figures(recorded: object, expected: object, where: str,
                    scale: float = 1.0) -> list[str]:
    """Compare nested figures (dicts of numbers) key by key; name each that differs.

    A key stated but not recomputed is a problem too: every figure must be checked.
    """
    if isinstance(expected, dict):
        if not isinstance(recorded, dict):
            return [f"{where}: {recorded!r} recorded, a table of figures expected"]
        problems = [f"{where}.{k}: stated, but not a figure the verifier recomputes"
                    for k in recorded if k not in expected]
        problems += [f"{where}.{k}: missing" for k in expected if k not in recorded]
        for k in expected.keys() & recorded.keys():
            problems += compare_figures(recorded[k], expected[k], f"{where}.{k}", scale)
        return problems
    if isinstance(expected, list):
        if not isinstance(recorded, list) or len(recorded) != len(expected):
            return [f"{where}: {recorded!r} recorded, {expected!r} recomputed"]
        return [p for i, (have, want) in enumerate(zip(recorded, expected, strict=True))
                for p in compare_figures(have, want, f"{where}[{i}]", scale)]
    if expected is None or recorded is None or isinstance(expected, int | str):
        same = recorded == expected and type(recorded) is type(expected)
    else:
        same = isinstance(recorded, int | float) and close(recorded, expected, scale)
    return [] if same else [f"{where}: {recorded!r} recorded, {expected!r} recomputed"]


def _check_costs(run: RunView, meta: dict, tables: tuple[pd.DataFrame, ...],
                 policies: list) -> list[str]:
    facilities, flows, regions = tables
    costs = dict(run.costs)
    costs["policies"] = float(sum(policy.cost(run) for policy in policies))
    total = sum(v for k, v in costs.items() if k != "capex_total")
    expected = expected_kpis(run.instance, facilities, flows, regions, costs)
    kpis = meta["kpis"]
    money = {"total_cost", "cost", "capex_total", "recovered_value"}  # within REL of the total
    problems = (compare_figures({k: v for k, v in kpis.items() if k not in money},
                                {k: v for k, v in expected.items() if k not in money}, "kpis")
                + compare_figures({k: kpis[k] for k in money if k in kpis},
                                  {k: expected[k] for k in money}, "kpis", total))
    value = {"cost": total, "value": total - expected["recovered_value"],
             "gap": expected["uncollected_t"],
             "idle capacity": expected["capacity_t"] - expected["throughput_t"]}
    mode = meta["scenario"]["objective"]["mode"]
    stages = [s for s in meta.get("stages") or [] if s["objective"] is not None
              and s["name"] in value] or [  # a period of a horizon: the last stage's value
        {"name": STAGES.get(mode, (mode,))[-1], "objective": meta["objective"]}]
    scale = {name: total if name in ("cost", "value") else expected["supply_t"] for name in value}
    *earlier, last = stages
    name = last["name"]
    if not close(meta["objective"], value[name], scale[name]):
        problems.append(f"objective {meta['objective']:.10g} differs from the recomputed "
                        f"{name} objective {value[name]:.10g}")
    for stage in earlier:  # the network meets each earlier stage's optimum, held for the next
        name, held = stage["name"], stage["objective"]
        if value[name] > held + REL * max(abs(held), scale[name]) + ABS:
            problems.append(f"the network's {name} {value[name]:.10g} exceeds that stage's "
                            f"optimum {held:.10g}, held for the next")
    return problems


def verify_horizon(run_dir: Path, meta: dict, instance: Instance, report: Report) -> Report:
    """Check a multi-period run: each period's folder, then the plan across periods.

    Every period's folder is verified as a run of its own; then sizes kept from their
    build period on, build years, the files and key figures of the last period at the top,
    the timeline, the builds and closures, and the discounted objective.
    """
    spec = instance.spec.periods
    if spec is None or meta["periods"]["years"] != spec.years:
        report.problems.append("the run's periods differ from the instance's [periods]")
        return report
    periods = {}
    for year in spec.years:
        folder = run_dir / "periods" / str(year)
        sub = verify_run(folder, instance)
        report.problems.extend(f"period {year}: {p}" for p in sub.problems)
        periods[year] = (read_table(folder, "facilities").set_index("id"), read_meta(folder))
    report.checked.append(f"each of {len(spec.years)} periods")
    label = {k: meta[k] for k in ("status", "solver_status", "status_text")}
    report.expect("the periods' labels", [
        f"period {year}: its status differs from the horizon's" for year, (_, own) in
        periods.items() if {k: own[k] for k in label} != label])
    sizes = {year: fac["size"] for year, (fac, _) in periods.items()}
    shut = {year: fac["existing"] & ~fac["open"] for year, (fac, _) in periods.items()}
    report.expect("builds over time", _check_builds(run_dir, sizes))
    report.expect("closures over time", _check_closures(shut))
    r = spec.discount_rate
    weights = [float(np.sum((1 + r) ** -(year - spec.years[0] + np.arange(n))))
               for year, n in zip(spec.years, spec.weights, strict=True)]
    closure = instance.sites.set_index("id")["closure_cost"]
    closures = [{"site": site, "year": year} for site, year in
                pd.DataFrame(shut).idxmax(axis=1)[pd.DataFrame(shut).any(axis=1)].items()]
    closures.sort(key=lambda c: c["year"])
    closure_cost = float(sum(closure[c["site"]] * (1 + r) ** -(c["year"] - spec.years[0])
                             for c in closures))
    builds = _builds(periods, instance.tiers)
    timeline = _expected_timeline(periods, builds, spec.weights, weights, instance.tiers[-1])
    report.expect("timeline", compare_table(
        "periods.csv", pd.read_csv(run_dir / "periods.csv", keep_default_na=False,
                                   na_values={"utilisation": [""], "collection_rate": [""],
                                              "capacity_to_supply": [""]}),
        timeline, "year"))
    last_kpis = periods[spec.years[-1]][1]["kpis"]
    discounted = float((timeline["total_cost"] * timeline["weight"]).sum()) + closure_cost
    report.expect("key figures of the plan", compare_figures(
        meta["kpis"], {**last_kpis, "horizon": {
            "discounted_cost": discounted, "closure_cost": closure_cost,
            "closures": closures, "builds": builds}}, "kpis")
        + compare_figures(meta["periods"], {**spec.model_dump(mode="json"),
                                            "discount_weights": weights}, "periods"))
    mode = meta["scenario"]["objective"]["mode"]
    if mode in ("cost", "value"):
        expected = float(np.dot(weights, [periods[y][1]["objective"] for y in spec.years])
                         ) + closure_cost
        report.expect("discounted objective", [] if close(meta["objective"], expected) else [
            f"objective {meta['objective']:.10g} differs from the discounted sum of the "
            f"periods' objectives {expected:.10g}"])
    return report


def _builds(periods: dict[int, tuple[pd.DataFrame, dict]], tiers: list[str]) -> list[dict]:
    """List every build and added module: site, tier, size reached, capacity added, year."""
    events, before = [], 0.0
    for year, (fac, _) in periods.items():
        grown = fac["new_capacity"] - before
        events += [{"site": site, "tier": fac.at[site, "tier"], "size": fac.at[site, "size"],
                    "added_t": float(added), "year": year}
                   for site, added in grown[grown > 0].items()]
        before = fac["new_capacity"]
    return events


def _expected_timeline(periods: dict[int, tuple[pd.DataFrame, dict]], builds: list[dict],
                       spans: list[int], weights: list[float], last_tier: str) -> pd.DataFrame:
    """Recompute periods.csv from each period's (verified) key figures and the builds."""
    rows = []
    for (year, (_, meta)), span, weight in zip(periods.items(), spans, weights, strict=True):
        k = meta["kpis"]
        new = [e for e in builds if e["year"] == year]
        rows.append({
            "year": year, "years": span, "weight": weight,
            **{key: k[key] for key in ("supply_t", "collected_t", "uncollected_t",
                                       "collection_rate", "capacity_t")},
            "capacity_added_t": float(sum(e["added_t"] for e in new if e["tier"] == last_tier)),
            **{key: k[key] for key in ("throughput_t", "utilisation", "capacity_to_supply")},
            "builds": ";".join(f"{e['site']}:{e['size']}" for e in new),
            "total_cost": k["total_cost"], "recovered_value": k["recovered_value"],
            **{f"recovered_{m}_t": v["recovered_t"] for m, v in k["materials"].items()},
        })
    return pd.DataFrame(rows).astype({"collection_rate": float, "utilisation": float,
                                      "capacity_to_supply": float})


def _check_builds(run_dir: Path, sizes: dict[int, pd.Series]) -> list[str]:
    """Check that what is built stays open from its build year on (modules may be added)."""
    problems = []
    years = list(sizes)
    for before, after in zip(years, years[1:], strict=False):
        for site, size in sizes[before][sizes[before] != ""].items():
            if Counter(size.split("+")) - Counter(sizes[after][site].split("+")):
                problems.append(f"site {site!r}: size {size!r} open in {before} "
                                f"but {sizes[after][site]!r} in {after}")
    table = pd.DataFrame(sizes)
    first = table.ne("").idxmax(axis=1).where(table.ne("").any(axis=1))
    top = read_table(run_dir, "facilities").set_index("id")
    recorded = top["build_year"].reindex(first.index)
    wrong = ~((recorded.isna() & first.isna()) | (recorded == first.astype(float)))
    if wrong.any():
        site = wrong.idxmax()
        problems.append(f"site {site!r}: build year {recorded[site]} recorded, first open "
                        f"in {first[site]}")
    last = run_dir / "periods" / str(years[-1])
    for name in ("flows", "regions"):
        if (run_dir / f"{name}.csv").read_bytes() != (last / f"{name}.csv").read_bytes():
            problems.append(f"{name}.csv differs from the last period's")
    if not top.drop(columns="build_year").equals(read_table(last, "facilities").set_index("id")):
        problems.append("facilities.csv differs from the last period's")
    return problems


def _check_closures(shut: dict[int, pd.Series]) -> list[str]:
    """Check that an existing facility once closed stays closed."""
    years = list(shut)
    for before, after in zip(years, years[1:], strict=False):
        reopened = shut[before] & ~shut[after]
        if reopened.any():
            return [f"site {reopened.idxmax()!r}: closed in {before} but open again in {after}"]
    return []
