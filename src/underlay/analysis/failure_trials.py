"""The failure Monte Carlo's kernel: pod-hours each tenant loses in each trial.

:mod:`underlay.analysis.failures` describes the model; :mod:`underlay.analysis.failure_costs`
gives what one failure of each host, rack and zone costs each tenant. Here those costs
are multiplied by seeded Poisson counts of failures, trial by trial, in chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from underlay.analysis.failure_costs import FailureCosts
from underlay.analysis.failure_draws import (
    binomial_split,
    poisson_as_floats,
    poisson_table,
)
from underlay.defaults.catalog import FailureRates

# Hours in a year of the Gregorian calendar (365.2425 days); the failure period's length.
HOURS_PER_YEAR = 24 * 365.2425

__all__ = ["HOURS_PER_YEAR", "lost_pod_hours", "monte_carlo"]

F64 = NDArray[np.float64]
B = NDArray[np.bool_]
_CHUNK_ELEMENTS = 1 << 20  # trials × hosts per chunk: 8 MiB per float array (cache-friendly)


def _host_failures(
    u: F64,
    v: F64,
    table: F64,
    share: float,
    counts: NDArray[Any],
    kinds: NDArray[Any],
    one: B,
    many: B,
) -> None:
    """Fill ``counts`` (the inverse Poisson CDF of ``u``, as :func:`poisson_counts`) and
    ``kinds`` (how many of them are hardware: :func:`binomial_split` of ``v``), in place,
    as small integers.

    Nearly every host fails 0 or 1 times a year: two comparison passes decide those, and
    only the hosts with two or more failures go through the sorted search and the
    binomial table.
    """
    np.greater(u, table[0], out=one)  # at least one failure
    np.greater(u, table[1], out=many)  # at least two
    np.add(one, many, out=counts, dtype=counts.dtype)
    several = np.flatnonzero(many.reshape(-1))
    flat_counts = counts.reshape(-1)
    if several.size:
        found = np.searchsorted(table, u.reshape(-1)[several], side="left")
        flat_counts[several] = np.minimum(found, len(table) - 1)
    if share <= 0:
        kinds.fill(0)
        return
    if share >= 1:
        np.copyto(kinds, counts)
        return
    np.greater(v, 1 - share, out=many)
    np.logical_and(many, one, out=many)
    np.copyto(kinds, many)
    if several.size:
        kinds.reshape(-1)[several] = binomial_split(
            flat_counts[several].astype(np.float64), v.reshape(-1)[several], share
        )


def monte_carlo(
    costs: FailureCosts, rates: FailureRates, *, trials: int, years: float, seed: int
) -> tuple[F64, float]:
    """Pod-hours each tenant loses in each trial, and the share of host failures that were
    hardware faults.

    Per chunk of trials, the counts are decided as small integers in the (trials × hosts)
    layout the streams draw, then turned (hosts × trials) for the sparse products, whose
    rows are the hosts: a host without pods has an all-zero cost row.
    """
    pods = costs.pods
    n_hosts, n_t = pods.shape
    out = np.zeros((trials, n_t))
    hosts_s, racks_s, zones_s, kinds_s = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    mu_host, mu_rack, mu_zone = (
        rates.host_rate * years,
        rates.rack_rate * years,
        rates.zone_rate * years,
    )
    software = costs.host_cost["software"]
    software_t = software.T.tocsr()  # tenants × hosts
    extra_t = (costs.host_cost["hardware"] - software).T.tocsr()  # hardware - software
    extra_t.eliminate_zeros()
    rack_t = sparse.csr_matrix(costs.rack_cost.T)  # tenants × racks
    zone_t = sparse.csr_matrix(costs.zone_cost.T)
    share = rates.hardware_share
    table = poisson_table(mu_host, 1.0) if mu_host > 0 else np.ones(2)
    small = next(t for t in (np.uint8, np.uint16, np.int64) if len(table) <= np.iinfo(t).max)
    # A tenant cannot lose more than all its pods for the whole period.
    cap = (np.asarray(pods.sum(axis=0)).ravel() * years * HOURS_PER_YEAR)[:, None]
    chunk = max(1, _CHUNK_ELEMENTS // max(n_hosts, 1))
    failures = hardware = 0
    buffers: dict[int, tuple[NDArray[Any], ...]] = {}
    for first in range(0, trials, chunk):
        n = min(chunk, trials - first)
        if n not in buffers:  # (trials × hosts) draws and counts; (hosts × trials) products
            across, down = (n, n_hosts), (n_hosts, n)
            buffers[n] = (
                np.empty(across),
                np.empty(across),
                np.empty(across, small),
                np.empty(across, small),
                np.empty(across, bool),
                np.empty(across, bool),
                np.empty(down, small),
                np.empty(down),
                np.empty(down),
            )
        u, v, counts, kinds, one, many, turned, counts_t, kinds_t = buffers[n]
        hosts_s.random(out=u)
        rack_u = racks_s.random((n, costs.racks))
        zone_u = zones_s.random((n, costs.zones))
        kinds_s.random(out=v)
        if not n_hosts or mu_host <= 0:
            counts.fill(0)
            kinds.fill(0)
        else:
            _host_failures(u, v, table, share, counts, kinds, one, many)
        failures += int(counts.sum(dtype=np.int64))
        hardware += int(kinds.sum(dtype=np.int64))
        np.copyto(turned, counts.T)
        np.copyto(counts_t, turned)
        np.copyto(turned, kinds.T)
        np.copyto(kinds_t, turned)
        lost = software_t @ counts_t
        lost += extra_t @ kinds_t
        lost += rack_t @ poisson_as_floats(np.ascontiguousarray(rack_u.T), mu_rack)
        lost += zone_t @ poisson_as_floats(np.ascontiguousarray(zone_u.T), mu_zone)
        np.minimum(lost, cap, out=lost)
        out[first : first + n] = lost.T
    return out, hardware / failures if failures else 0.0


def lost_pod_hours(
    costs: FailureCosts, rates: FailureRates, *, trials: int, years: float, seed: int
) -> F64:
    """Pod-hours each tenant loses in each trial: a (trials × tenants) array.

    Uniforms come row by row (one row per trial) from four streams spawned from
    ``seed`` — hosts, racks, zones, the kind of each host's failures — so the chunking
    never changes a number and the same (trial, domain) always sees the same uniform
    whatever the rates and the hardware share.
    """
    return monte_carlo(costs, rates, trials=trials, years=years, seed=seed)[0]
