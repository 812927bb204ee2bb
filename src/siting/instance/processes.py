"""Technology choice at plants: one site row per process a candidate plant may use.

A plant site of a tier with ``processes`` becomes one site per allowed process (id
``<site>/<process>``, ``location`` the site's id), each with the process's accepted
streams, costs, emissions and recovery per material; the model opens at most one of them
per location. An existing plant names its one process and keeps its id.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from siting.errors import InstanceError
from siting.instance.schema import InstanceFile, per_stream


def expand_processes(sites: gpd.GeoDataFrame, requested: list[tuple[str, ...]], path: Path,
                     spec: InstanceFile) -> gpd.GeoDataFrame:
    """Return the sites with one row per (site, process); unchanged without processes.

    ``requested`` holds, per site row, the processes its ``process`` column allows (empty:
    every process of its tier).
    """
    if not any(tier.processes for tier in spec.tiers.values()):
        return sites
    index, chosen = [], []
    for i, (tier, wanted, existing) in enumerate(
            zip(sites["tier"], requested, sites["existing_capacity"], strict=True)):
        options = spec.tiers[tier].processes
        where = f"row {i + 1} (id {sites['id'].iloc[i]!r}), column 'process'"
        unknown = sorted(set(wanted) - set(options))
        if unknown:
            raise InstanceError(path, where, f"unknown processes {unknown}; tier {tier!r} has "
                                f"{sorted(options)}")
        if options and existing > 0 and len(wanted) != 1:
            raise InstanceError(path, where, "an existing plant names its one process")
        names = [n for n in (wanted or options)
                 if set(sites["streams"].iloc[i]) & set(options[n].streams or spec.streams)]
        index += [i] * max(len(names), 1 if not options else 0)
        chosen += names if options else [""]
    out = sites.iloc[index].reset_index(drop=True)
    process = np.array(chosen, dtype=object)
    spec_of = [spec.tiers[t].processes.get(p) for t, p in zip(out["tier"], process, strict=True)]
    candidate = (process != "") & (out["existing_capacity"].to_numpy() == 0)
    out["location"] = out["id"]
    out["process"] = process
    out["id"] = np.where(candidate, out["id"] + "/" + process, out["id"])
    out["streams"] = [acc if p is None else tuple(s for s in acc if s in (p.streams or acc))
                      for acc, p in zip(out["streams"], spec_of, strict=True)]
    out["fixed_cost_factor"] *= [1.0 if p is None else p.cost_factor for p in spec_of]
    if out["id"].duplicated().any():
        raise InstanceError(path, "column 'id'", f"{out['id'][out['id'].duplicated()].iloc[0]!r}"
                            " is both a site id and a site/process id")
    return out


def site_process_rates(instance) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Return processing cost and CO2 per site and stream, and recovery per site and material.

    Costs and CO2 (kg/t) come from the site's process where it has one, else its tier;
    recovery rates are those of the site's process, nan for a site without one (the whole
    array is None when no tier has processes).
    """
    spec, sites = instance.spec, instance.sites
    process = sites["process"] if "process" in sites.columns else [""] * len(sites)
    owners = [spec.tiers[t].processes.get(p) or spec.tiers[t]
              for t, p in zip(sites["tier"], process, strict=True)]
    cost = np.array([[per_stream(o.processing_cost, s) for s in instance.streams] for o in owners])
    co2 = np.array([[per_stream(o.co2_kg_per_t, s) for s in instance.streams] for o in owners])
    shape = (len(sites), len(instance.streams))
    if "process" not in sites.columns:
        return cost.reshape(shape), co2.reshape(shape), None
    rates = np.array([[np.nan if not p else spec.tiers[t].processes[p].recovery.get(m, 0.0)
                       for m in spec.materials] for t, p in zip(sites["tier"], process,
                                                                strict=True)])
    return cost.reshape(shape), co2.reshape(shape), rates.reshape(len(sites), len(spec.materials))
