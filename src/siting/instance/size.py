"""Estimate a model's size and memory from the instance alone, before anything is built.

A huge instance would otherwise fail deep inside numpy or Pyomo (out of memory) after
minutes of work. The estimate counts the origin-destination pairs whose distances are
computed, the flows (pairs times the streams both ends carry) before and after pruning,
and the rows, and prices them with per-item costs measured on generated instances
(``python -m benchmarks model_memory``). Since the core rows are assembled from arrays,
the model and its HiGHS copy take 0.27 to 0.37 of the estimate; whole unpruned solves
peaked at 0.58 to 0.66 of it at 3000 x 300 and 10000 x 500, and a 900 x 900 p-median,
whose LP relaxation is large, at 1.7 (benchmarks/RESULTS.md, *County scale*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psutil

from siting.errors import InstanceError
from siting.instance.load import INSTANCE_FILE, Instance
from siting.instance.network import tier_links
from siting.instance.prune import nearest_for

BASE_BYTES = 64 * 2**20  # what a model of a few flows adds (HiGHS, Pyomo's first build)
BYTES_PER_PAIR = 64  # a distance and its temporaries (haversine), per origin-destination pair
BYTES_PER_FLOW = 200  # the network's arrays, per flow
BYTES_PER_MODEL_FLOW = 3300  # a Pyomo variable with its terms, the compiled matrix and HiGHS's


@dataclass(frozen=True)
class ModelSize:
    """Estimated size of an instance's model: pairs, flows, rows and bytes."""

    pairs: int
    flows: int
    model_flows: int
    rows: int
    bytes: int


def estimate_size(instance: Instance, nearest_sites: int | None = None) -> ModelSize:
    """Estimate the network and model of ``instance``.

    Region arcs are pruned to ``nearest_sites`` first-tier sites (None: unpruned).
    """
    streams = instance.streams
    sites = instance.sites
    tier = sites["tier"].map({t: i for i, t in enumerate(instance.tiers)}).to_numpy()
    accepts = np.array([[s in acc for s in streams] for acc in sites["streams"]], dtype=bool)
    accepts = accepts.reshape(len(sites), len(streams))
    tables = instance.period_supply or (instance.supply,)
    has_supply = np.any([t.to_numpy(dtype=float) > 0 for t in tables], axis=0)
    regions_with = has_supply.sum(axis=0)
    first = accepts[tier == 0].sum(axis=0)
    kept = first if nearest_sites is None else np.minimum(first, nearest_sites)
    pairs = len(instance.regions) * int((tier == 0).sum())
    region_flows = int(regions_with @ first)
    site_flows = 0
    for origin, dest in tier_links(instance):
        pairs += int((tier == origin).sum() * (tier == dest).sum())
        site_flows += int(accepts[tier == origin].sum(axis=0) @ accepts[tier == dest].sum(axis=0))
    periods = len(instance.spec.periods.years) if instance.spec.periods else 1
    model_flows = (int(regions_with @ kept) + site_flows) * periods
    flows = region_flows + site_flows
    rows = (len(instance.regions) + len(sites)) * (len(streams) + 1) * periods
    total = (BASE_BYTES + pairs * BYTES_PER_PAIR + flows * BYTES_PER_FLOW
             + model_flows * BYTES_PER_MODEL_FLOW)
    return ModelSize(pairs, flows, model_flows, rows, total)


def available_bytes() -> int:
    """Return the memory available to a new model on this machine."""
    return int(psutil.virtual_memory().available)


def check_fits_memory(instance: Instance, nearest_sites: int | str | None = None) -> ModelSize:
    """Return the size estimate, or refuse an instance whose model exceeds the free memory.

    ``nearest_sites`` is a profile's setting (:func:`siting.instance.prune.nearest_for`).
    """
    nearest_sites = nearest_for(nearest_sites, estimate_size(instance).flows)
    size = estimate_size(instance, nearest_sites)
    available = available_bytes()
    if size.bytes > available:
        pruning = ("use fewer periods, regions or sites (a horizon keeps every arc)"
                   if instance.spec.periods is not None
                   else f"prune arcs harder (a smaller nearest_sites than {nearest_sites})"
                   if nearest_sites else "prune arcs with a solver profile's nearest_sites "
                   "(e.g. nearest_sites = 5, --solver)")
        source = instance.path / INSTANCE_FILE if instance.path else "instance"
        raise InstanceError(source, None,
                            f"too large for this machine: about {size.model_flows:,} flows "
                            f"(of {size.flows:,} on {size.pairs:,} pairs) and {size.rows:,} "
                            f"rows would need about {size.bytes / 1e9:.1f} GB, "
                            f"{available / 1e9:.1f} GB is available; {pruning}, or use a "
                            "machine with more memory")
    return size
