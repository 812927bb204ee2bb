"""Turn an :class:`Instance` into the arrays the model is built from.

Positions index everything: region ``r``, site ``f``, stream ``s``. An *arc* joins a region
to a first-tier site or a site to a site of the next tier; a *flow* is an arc and a stream
that can travel on it (the destination, and an intermediate origin, accept the stream, and
a region origin has supply of it). A *build option* is a size that a candidate site may
open at. All preparation is vectorised with numpy; the model only reads these arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from siting.errors import InstanceError
from siting.instance.layers import haversine_km
from siting.instance.load import Instance
from siting.instance.processes import site_process_rates
from siting.instance.schema import per_stream


@dataclass(frozen=True)
class Network:
    """Arrays of regions, sites, arcs, flows and build options of one instance."""

    instance: Instance
    supply: np.ndarray  # (R, S) tonnes per year
    penalty: np.ndarray  # (S,) per uncollected tonne; nan where collection is mandatory
    site_tier: np.ndarray  # (F,) tier position
    site_existing: np.ndarray  # (F,) existing capacity, t/yr
    site_closure_cost: np.ndarray  # (F,) one-off cost of closing; nan where it cannot close
    arc_origin: np.ndarray  # (A,) region position if arc_from_region else site position
    arc_from_region: np.ndarray  # (A,) bool
    arc_dest: np.ndarray  # (A,) site position
    arc_km: np.ndarray  # (A,)
    flow_arc: np.ndarray  # (X,) arc position
    flow_stream: np.ndarray  # (X,) stream position
    flow_transport_cost: np.ndarray  # (X,) per tonne
    flow_processing_cost: np.ndarray  # (X,) per tonne, at the destination
    flow_co2_kg: np.ndarray  # (X,) per tonne: transport plus processing at the destination
    flow_revenue: np.ndarray  # (X,) value recovered per tonne delivered to a last-tier plant
    flow_material: np.ndarray  # (X, M) tonnes of each material recovered per tonne; 0 before
                               # the last tier
    option_site: np.ndarray  # (B,) site position
    option_size: np.ndarray  # (B,) size name
    option_capacity: np.ndarray  # (B,)
    option_min: np.ndarray  # (B,)
    option_fixed: np.ndarray  # (B,) yearly fixed cost
    option_capex: np.ndarray  # (B,) up-front cost
    option_most: np.ndarray  # (B,) most units of the option at its site (1: an exclusive size)

    @property
    def n_tiers(self) -> int:
        """Number of tiers."""
        return len(self.instance.tiers)

    @property
    def flow_origin(self) -> np.ndarray:
        """Origin position (region or site) of every flow."""
        return self.arc_origin[self.flow_arc]

    @property
    def flow_dest(self) -> np.ndarray:
        """Destination site of every flow."""
        return self.arc_dest[self.flow_arc]

    @property
    def flow_pair(self) -> np.ndarray:
        """(Region, stream) pair of every flow, a position in ``supply.ravel()``.

        Meaningful for flows leaving a region (the origin of the others is a site).
        """
        return self.flow_origin * self.supply.shape[1] + self.flow_stream

    @property
    def flow_cost(self) -> np.ndarray:
        """Cost per tonne of every flow: transport plus processing at the destination."""
        return self.flow_transport_cost + self.flow_processing_cost

    @property
    def flow_from_region(self) -> np.ndarray:
        """True for flows leaving a region."""
        return self.arc_from_region[self.flow_arc]

    def keep_flows(self, keep: np.ndarray) -> Network:
        """Return the network with only the flows where ``keep`` is true."""
        fields = ("flow_arc", "flow_stream", "flow_transport_cost", "flow_processing_cost",
                  "flow_co2_kg", "flow_revenue", "flow_material")
        return replace(self, **{name: getattr(self, name)[keep] for name in fields})


def build_network(instance: Instance, supply: pd.DataFrame | None = None) -> Network:
    """Build the arrays of ``instance``: arcs, flows with unit costs, build options.

    ``supply`` replaces the instance's supply table (a scenario may scale it).
    """
    spec = instance.spec
    streams, tiers = instance.streams, instance.tiers
    sites = instance.sites
    supply = (instance.supply if supply is None else supply).to_numpy(dtype=float)
    site_tier = sites["tier"].map({t: i for i, t in enumerate(tiers)}).to_numpy()
    accepts = np.array([[s in acc for s in streams] for acc in sites["streams"]], dtype=bool)
    accepts = accepts.reshape(len(sites), len(streams))

    parts = [_region_flows(instance, supply, site_tier, accepts)]
    parts += [_site_flows(instance, site_tier, accepts, origin, dest)
              for origin, dest in tier_links(instance)]
    origin, from_region, dest, km, stream = (np.concatenate(a) for a in zip(*parts, strict=True))

    arc_key = np.where(from_region, origin, len(instance.regions) + origin) * len(sites) + dest
    _, arc_first, flow_arc = np.unique(arc_key, return_index=True, return_inverse=True)
    dest_tier = site_tier[dest]
    tier_specs = [spec.tiers[t] for t in tiers]
    stream_specs = [spec.streams[s] for s in streams]
    tr = np.array([s.transport_cost for s in stream_specs])
    factor = np.array([t.transport_cost_factor for t in tier_specs])
    proc, co2_t, process_rates = site_process_rates(instance)
    co2_tkm = np.array([s.co2_kg_per_tkm for s in stream_specs])
    options = _build_options(instance)
    value = np.array([s.value for s in stream_specs])
    is_last = dest_tier == len(tiers) - 1
    recovery = np.where(is_last, np.nan_to_num(recovery_rates(instance)[dest, stream], nan=1.0), 0)
    contents = np.array([[s.contents.get(m, 0.0) for m in spec.materials] for s in stream_specs])
    rates = recovery[:, None] if process_rates is None else np.where(
        np.isnan(process_rates[dest]), recovery[:, None], process_rates[dest])
    material = np.where(is_last[:, None], contents[stream] * rates, 0.0)
    prices = np.array([m.price for m in spec.materials.values()])
    return Network(
        instance=instance,
        supply=supply,
        penalty=np.array([np.nan if s.uncollected_penalty is None else s.uncollected_penalty
                          for s in stream_specs]),
        site_tier=site_tier,
        site_existing=sites["existing_capacity"].to_numpy(dtype=float),
        site_closure_cost=sites["closure_cost"].to_numpy(dtype=float),
        arc_origin=origin[arc_first],
        arc_from_region=from_region[arc_first],
        arc_dest=dest[arc_first],
        arc_km=km[arc_first],
        flow_arc=flow_arc,
        flow_stream=stream,
        flow_transport_cost=tr[stream] * factor[dest_tier] * km,
        flow_processing_cost=proc[dest, stream],
        flow_co2_kg=co2_tkm[stream] * km + co2_t[dest, stream],
        flow_revenue=value[stream] * recovery + material @ prices,
        flow_material=material,
        **options,
    )


def recovery_rates(instance: Instance) -> np.ndarray:
    """Return the recovery rate per site and stream.

    The site's ``recovery`` column, else its tier's ``recovery``; nan where neither states one.
    """
    sites = instance.sites
    tier_rate = np.array([[np.nan if instance.spec.tiers[t].recovery is None
                           else per_stream(instance.spec.tiers[t].recovery, s)
                           for s in instance.streams] for t in sites["tier"]])
    tier_rate = tier_rate.reshape(len(sites), len(instance.streams))
    own = sites["recovery"].to_numpy(dtype=float)[:, None]
    return np.where(np.isnan(own), tier_rate, own)


def _region_flows(instance: Instance, supply: np.ndarray, site_tier: np.ndarray,
                  accepts: np.ndarray) -> tuple[np.ndarray, ...]:
    first = np.flatnonzero(site_tier == 0)
    regions, sites = instance.regions, instance.sites
    km = _distance_matrix(instance, regions["id"], regions["lon"], regions["lat"], first)
    usable = (supply[:, None, :] > 0) & accepts[first][None, :, :] & np.isfinite(km)[:, :, None]
    _check_matrix_pairs(instance, km, (supply[:, None, :] > 0) & accepts[first][None, :, :],
                        regions["id"].to_numpy(), sites["id"].to_numpy()[first])
    r, j, s = np.nonzero(usable)
    return r, np.ones(len(r), dtype=bool), first[j], km[r, j], s


def tier_links(instance: Instance) -> list[tuple[int, int]]:
    """Return the (origin, destination) tier positions of site-to-site arcs.

    Arcs run along the chain of tiers, and from a branch's source to the branch.
    """
    tiers = instance.spec.tiers
    position = {name: i for i, name in enumerate(tiers)}
    chain = [position[name] for name, tier in tiers.items() if tier.branch is None]
    return list(zip(chain, chain[1:], strict=False)) + [
        (position[tier.branch.source], position[name])
        for name, tier in tiers.items() if tier.branch is not None]


def _site_flows(instance: Instance, site_tier: np.ndarray, accepts: np.ndarray,
                origin: int, dest: int) -> tuple[np.ndarray, ...]:
    prev, nxt = np.flatnonzero(site_tier == origin), np.flatnonzero(site_tier == dest)
    sites = instance.sites
    km = _distance_matrix(instance, sites["id"].iloc[prev], sites["lon"].iloc[prev],
                          sites["lat"].iloc[prev], nxt)
    both = accepts[prev][:, None, :] & accepts[nxt][None, :, :]
    _check_matrix_pairs(instance, km, both, sites["id"].to_numpy()[prev],
                        sites["id"].to_numpy()[nxt])
    i, j, s = np.nonzero(both & np.isfinite(km)[:, :, None])
    return prev[i], np.zeros(len(i), dtype=bool), nxt[j], km[i, j], s


def _distance_matrix(instance: Instance, origin_ids: pd.Series, lon: pd.Series, lat: pd.Series,
                     dest: np.ndarray) -> np.ndarray:
    """Km from each origin to each destination site; nan where the matrix has no pair."""
    sites = instance.sites
    dist = instance.spec.distance
    if dist.method == "great_circle":
        d_lon = sites["lon"].to_numpy()[dest]
        d_lat = sites["lat"].to_numpy()[dest]
        return dist.circuity * haversine_km(lon.to_numpy()[:, None], lat.to_numpy()[:, None],
                                            d_lon[None, :], d_lat[None, :])
    table = instance.distances
    places, back = np.unique(sites.get("location", sites["id"]).to_numpy()[dest],
                             return_inverse=True)  # sites of one location share its distances
    o_pos = pd.Index(origin_ids.to_numpy()).get_indexer(table["origin"])
    d_pos = pd.Index(places).get_indexer(table["destination"])
    hit = (o_pos >= 0) & (d_pos >= 0)
    km = np.full((len(origin_ids), len(places)), np.nan)
    km[o_pos[hit], d_pos[hit]] = table["km"].to_numpy()[hit]
    return km[:, back]


def _check_matrix_pairs(instance: Instance, km: np.ndarray, needed: np.ndarray,
                        origin_ids: np.ndarray, dest_ids: np.ndarray) -> None:
    if instance.spec.distance.missing != "error":
        return
    missing = needed.any(axis=2) & ~np.isfinite(km)
    if missing.any():
        i, j = np.argwhere(missing)[0]
        path = instance.path / instance.spec.layers.distances.path
        raise InstanceError(path, f"pair {origin_ids[i]!r} -> {dest_ids[j]!r}",
                            f"missing ({int(missing.sum())} pairs in all); list every pair or set "
                            "[distance] missing = \"no_arc\"")


def _build_options(instance: Instance) -> dict[str, np.ndarray]:
    sites, spec = instance.sites, instance.spec
    rows = []
    for f, (tier, allowed, factor) in enumerate(
            zip(sites["tier"], sites["sizes"], sites["fixed_cost_factor"], strict=True)):
        spec_tier = spec.tiers[tier]
        most = spec_tier.max_modules if spec_tier.expansion == "modules" else 1
        for size in spec_tier.sizes:
            if size.name in allowed:
                rows.append((f, size.name, size.capacity, size.min_throughput,
                             size.fixed_cost * factor, size.capex * factor, most))
    cols = list(zip(*rows, strict=True)) if rows else [()] * 7
    names = ("option_site", "option_size", "option_capacity", "option_min", "option_fixed",
             "option_capex", "option_most")
    dtypes = (int, object, float, float, float, float, int)
    return {n: np.array(c, dtype=d) for n, c, d in zip(names, cols, dtypes, strict=True)}
