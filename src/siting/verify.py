"""The independent verifier: checks a run folder against its instance and scenario.

It shares no code with the model: it reads the files a run wrote, recomputes distances
(great circle with pyproj, or from the distance matrix), costs and key figures, and checks
every core constraint and every active policy within tolerance.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from siting.instance.load import Instance, load_instance
from siting.instance.schema import per_stream
from siting.model.policies import RunView
from siting.model.policies.base import SPHERE, supply_under
from siting.runfiles import read_meta, read_table
from siting.scenario import parse_policy

REL = 1e-6  # relative tolerance of sums and costs
ABS = 1e-4  # tonnes


@dataclass
class Report:
    """Outcome of a verification: an empty ``problems`` list means the run checks out."""

    problems: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

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
    """Check the run folder ``run_dir``; the instance is re-read from its recorded path."""
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    instance = instance or load_instance(meta["instance"]["path"])
    facilities = read_table(run_dir, "facilities")
    flows = read_table(run_dir, "flows")
    regions = read_table(run_dir, "regions")
    report = Report()
    if instance.hash != meta["instance"]["hash"]:
        report.problems.append("the instance files changed since this run was solved")
    if "period" not in meta:  # a period of a horizon run carries the horizon's label
        report.expect("status label", _check_label(meta))
    if "periods" in meta:
        return verify_horizon(run_dir, meta, instance, report)
    policies = [parse_policy(raw, run_dir / "solution.json", i)
                for i, raw in enumerate(meta["scenario"]["policies"], start=1)]
    period_supply = None
    if "period" in meta:
        period_supply = instance.period_supply[instance.spec.periods.years.index(meta["period"])]
    supply = supply_under(policies, instance, period_supply)
    view = RunView(instance, facilities, flows, regions)
    report.expect("arcs", _check_arcs(view))
    report.expect("supply balance", _check_supply(view, supply))
    report.expect("conservation", _check_conservation(view))
    report.expect("branch shares", _check_branches(view))
    report.expect("capacity and sizes", _check_facilities(view))
    report.expect("costs and KPIs", _check_costs(view, meta, supply, policies))
    for policy in policies:
        report.expect(f"policy {policy.type}", policy.check(view))
    return report


def _check_label(meta: dict) -> list[str]:
    """Check that a run called optimal has a valid bound of the full problem within its gap.

    HiGHS's own proof counts only on a model that kept every arc.
    """
    if meta["status"] != "optimal":
        return []
    if not meta.get("bound_valid") or meta.get("best_bound") is None:
        return ["labelled optimal without a bound valid for the full problem"]
    objective, bound = meta["objective"], meta["best_bound"]
    gap = abs(objective - bound) / max(abs(objective), 1e-9)
    if not close(gap, meta["mip_gap"]):
        return [f"gap {meta['mip_gap']:.6g} recorded, {gap:.6g} from objective and bound"]
    by_highs = meta.get("solver_status") == "optimal" and meta["bound_source"] == "highs"
    if by_highs and meta.get("pruning", {}).get("flows_cut", 0) > 0:
        return ["labelled optimal from HiGHS's bound of a pruned model"]
    if not by_highs and gap > meta["solver"]["mip_rel_gap"] + REL:
        return [f"labelled optimal with a gap of {gap:.4%}, above the profile's "
                f"{meta['solver']['mip_rel_gap']:.4%}"]
    return []


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
        if not site.capacity_group and used > cap + ABS + REL * cap:
            problems.append(f"site {site_id!r}: {used:.6g} t exceeds capacity {cap:.6g}")
        member_open = bool(parts) or (site.existing_capacity > 0 and row["open"])
        if site.capacity_group and not member_open and used > ABS:
            problems.append(f"site {site_id!r}: closed, but receives {used:.6g} t (its "
                            f"capacity group {site.capacity_group!r} does not open it)")
        if parts and used < minimum - ABS - REL * minimum:
            problems.append(f"site {site_id!r}: {used:.6g} t below minimum {minimum:.6g}")
        if not close(row["throughput"], used, cap):
            problems.append(f"site {site_id!r}: throughput recorded {row['throughput']:.6g}, "
                            f"flows give {used:.6g}")
    grouped = sites[sites["capacity_group"] != ""].assign(used=throughput, cap=fac["capacity"])
    for group, members in grouped.groupby("capacity_group"):
        if members["used"].sum() > members["cap"].sum() * (1 + REL) + ABS:
            problems.append(f"capacity group {group!r}: {members['used'].sum():.6g} t exceeds "
                            f"the shared capacity {members['cap'].sum():.6g}")
    if "location" in fac.columns:
        open_at = fac[fac["open"]].groupby("location").size()
        if (open_at > 1).any():
            problems.append(f"location {open_at.idxmax()!r}: {open_at.max()} processes open")
    return problems


def recompute_costs(run: RunView) -> dict[str, float]:
    """Cost terms recomputed from flows, sizes built and uncollected tonnes."""
    inst, flows = run.instance, run.flows
    spec = inst.spec
    sites = inst.sites.set_index("id")
    fac = run.facilities.set_index("id").reindex(sites.index)
    fixed = float(sites["existing_fixed_cost"][fac["open"]].sum())
    capex = 0.0
    for site_id, size in fac["size"].items():
        by_name = {s.name: s for s in spec.tiers[sites.at[site_id, "tier"]].sizes}
        for part in size.split("+") if size else []:
            fixed += by_name[part].fixed_cost * sites.at[site_id, "fixed_cost_factor"]
            capex += by_name[part].capex * sites.at[site_id, "fixed_cost_factor"]
    dest_tier = flows["destination"].map(sites["tier"])
    per_t_km = [spec.streams[s].transport_cost * spec.tiers[t].transport_cost_factor
                for s, t in zip(flows["stream"], dest_tier, strict=True)]
    process = flows["destination"].map(_processes(inst))
    proc = [per_stream((p or spec.tiers[t]).processing_cost, s)
            for s, t, p in zip(flows["stream"], dest_tier, process, strict=True)]
    penalty = sum((spec.streams[s].uncollected_penalty or 0.0)
                  * float(run.regions[f"uncollected_{s}"].sum()) for s in inst.streams)
    annuity = spec.finance.annuity_factor if spec.finance else 0.0
    return {
        "fixed": fixed,
        "capex": annuity * capex,
        "transport": float((flows["tonnes"] * flows["km"] * np.array(per_t_km, dtype=float)).sum()),
        "processing": float((flows["tonnes"] * np.array(proc, dtype=float)).sum()),
        "penalty": penalty,
        "capex_total": capex,
    }


def recompute_recovery(run: RunView) -> tuple[float, dict[str, float]]:
    """Value recovered at last-tier plants, and tonnes recovered of each material.

    A tonne delivered recovers the plant's rate times the stream's value, or times each of
    its material contents (valued at the material's price).
    """
    inst = run.instance
    spec = inst.spec
    sites = inst.sites.set_index("id")
    last = run.flows[run.flows["destination"].map(sites["tier"]) == inst.tiers[-1]]
    total, materials = 0.0, dict.fromkeys(spec.materials, 0.0)
    process = _processes(inst)
    for row in last.itertuples():
        site = sites.loc[row.destination]
        tier_rate = spec.tiers[site.tier].recovery
        rate = site.recovery if not np.isnan(site.recovery) else (
            1.0 if tier_rate is None else per_stream(tier_rate, row.stream))
        stream = spec.streams[row.stream]
        total += row.tonnes * stream.value * rate
        for material, share in stream.contents.items():
            own = rate if process[row.destination] is None else (
                process[row.destination].recovery.get(material, 0.0))
            materials[material] += row.tonnes * own * share
            total += row.tonnes * own * share * spec.materials[material].price
    return total, materials


def _processes(inst: Instance) -> pd.Series:
    """Return the process spec of every site by id (None where the site has no process)."""
    sites = inst.sites
    names = sites["process"] if "process" in sites.columns else pd.Series("", index=sites.index)
    return pd.Series([inst.spec.tiers[t].processes.get(p) for t, p in zip(sites["tier"], names,
                                                                           strict=True)],
                     index=sites["id"].to_numpy(), dtype=object)


def _check_costs(run: RunView, meta: dict, supply_table: pd.DataFrame,
                 policies: list) -> list[str]:
    costs = recompute_costs(run)
    costs["policies"] = sum(policy.cost(run) for policy in policies)
    kpis = meta["kpis"]
    problems = []
    total = sum(v for k, v in costs.items() if k != "capex_total")
    for name, value in costs.items():
        recorded = kpis["capex_total"] if name == "capex_total" else kpis["cost"][name]
        if not close(recorded, value, total):
            problems.append(f"cost {name}: {recorded:.10g} recorded, {value:.10g} recomputed")
    mode = meta["scenario"]["objective"]["mode"]
    revenue, materials = recompute_recovery(run)
    for material, tonnes in materials.items():
        recorded = kpis["materials"][material]["recovered_t"]
        if not close(recorded, tonnes, tonnes):
            problems.append(f"recovered {material} {recorded:.10g} t recorded, "
                            f"{tonnes:.10g} t recomputed")
    if not close(kpis["recovered_value"], revenue, total):
        problems.append(f"recovered value {kpis['recovered_value']:.10g} recorded, "
                        f"{revenue:.10g} recomputed")
    expected = {"cost": total, "value": total - revenue}.get(mode)
    if expected is not None and not close(meta["objective"], expected, total):
        problems.append(f"objective {meta['objective']:.10g} differs from the recomputed {mode} "
                        f"objective {expected:.10g}")
    supply = float(supply_table.to_numpy().sum())
    collected = supply - float(run.regions["uncollected"].sum())
    if not close(kpis["collected_t"], collected, supply):
        problems.append(f"collected {kpis['collected_t']:.6g} t recorded, "
                        f"{collected:.6g} recomputed")
    return problems


def verify_horizon(run_dir: Path, meta: dict, instance: Instance, report: Report) -> Report:
    """Check a multi-period run: each period's folder, then the plan across periods.

    Every period's folder is verified as a run of its own; then sizes kept from their
    build period on, build years, the files of the last period at the top, the timeline
    and the discounted objective.
    """
    spec = instance.spec.periods
    if spec is None or meta["periods"]["years"] != spec.years:
        report.problems.append("the run's periods differ from the instance's [periods]")
        return report
    sizes, shut, objectives = {}, {}, {}
    for year in spec.years:
        folder = run_dir / "periods" / str(year)
        sub = verify_run(folder, instance)
        report.problems.extend(f"period {year}: {p}" for p in sub.problems)
        facilities = read_table(folder, "facilities").set_index("id")
        sizes[year] = facilities["size"]
        shut[year] = facilities["existing"] & ~facilities["open"]
        objectives[year] = read_meta(folder)["objective"]
    report.checked.append(f"each of {len(spec.years)} periods")
    report.expect("builds over time", _check_builds(run_dir, sizes))
    report.expect("closures over time", _check_closures(shut))
    report.expect("timeline", _check_timeline(run_dir, spec.years))
    mode = meta["scenario"]["objective"]["mode"]
    if mode in ("cost", "value"):
        r = spec.discount_rate
        weights = [np.sum((1 + r) ** -(year - spec.years[0] + np.arange(n)))
                   for year, n in zip(spec.years, spec.weights, strict=True)]
        closure = instance.sites.set_index("id")["closure_cost"]
        closed_in = pd.DataFrame(shut).idxmax(axis=1)[pd.DataFrame(shut).any(axis=1)]
        expected = float(np.dot(weights, [objectives[y] for y in spec.years])) + sum(
            closure[site] * (1 + r) ** -(year - spec.years[0]) for site, year in closed_in.items())
        report.expect("discounted objective", [] if close(meta["objective"], expected) else [
            f"objective {meta['objective']:.10g} differs from the discounted sum of the "
            f"periods' objectives {expected:.10g}"])
    return report


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


def _check_timeline(run_dir: Path, years: list[int]) -> list[str]:
    """periods.csv agrees with each period's recorded (and verified) key figures."""
    timeline = pd.read_csv(run_dir / "periods.csv", keep_default_na=False,
                           na_values={"utilisation": [""], "collection_rate": [""]})
    if timeline["year"].tolist() != years:
        return [f"periods.csv lists years {timeline['year'].tolist()}, expected {years}"]
    problems = []
    for row in timeline.itertuples():
        kpis = read_meta(run_dir / "periods" / str(row.year))["kpis"]
        for key in ("supply_t", "collected_t", "uncollected_t", "capacity_t", "throughput_t",
                    "total_cost", "recovered_value"):
            if not close(getattr(row, key), kpis[key], kpis[key]):
                problems.append(f"periods.csv {row.year} {key}: {getattr(row, key):.10g}, "
                                f"the period's run says {kpis[key]:.10g}")
    return problems
