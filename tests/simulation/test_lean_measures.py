"""The leaner measures (issue 15, 4a) keep their rules: each shortcut against the rule
written out the plain way.

- per-row counts of flags read eight at a time (``row_counts``) against
  ``np.count_nonzero``;
- the latency bins of float32 (pods × steps) values, from the logarithm and edges rounded
  to float32 (``bin_keys``), against ``np.histogram`` on values right at the edges;
- the unmet flags of ``TenantSums`` redone on the rows with CPU-ready or a kill only,
  against the full sum contention + CPU-ready + (cap or killed pod's CPU) > 1e-3.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from underlay.simulation import measures
from underlay.simulation.latency_bins import LAT_BINS, bin_keys, count_keys
from underlay.simulation.reductions import row_counts

NB = len(LAT_BINS) - 1


@given(st.integers(0, 40), st.sampled_from([1, 7, 8, 16, 32, 33, 256]), st.integers(0, 2**32))
@example(rows=3, n=32, seed=0)
def test_row_counts_count_as_count_nonzero(rows: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    flags = rng.random((rows, n)) < rng.random()
    for x in (flags, flags[:, ::-1], np.ones((rows, n), bool)):
        assert row_counts(x).tolist() == np.count_nonzero(x, axis=1).tolist()


def _near_edges(data: st.DataObject, size: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """float32 values on, just below and just above the histogram's edges, and between."""
    edge = np.float32(LAT_BINS[data.draw(st.integers(0, NB))])
    ulps = data.draw(st.integers(-2, 2))
    out = np.full(size, edge, np.float32)
    for _ in range(abs(ulps)):
        out = np.nextafter(out, np.float32(np.inf if ulps > 0 else -np.inf))
    scatter = data.draw(st.lists(st.floats(0, 1000, width=32), min_size=size, max_size=size))
    out[::2] = np.array(scatter, np.float32)[::2]
    return np.clip(out, 0, 1000).astype(np.float32)


@settings(max_examples=200)
@given(st.data(), st.integers(1, 6), st.integers(1, 9), st.integers(1, 3))
def test_bin_keys_put_float32_pod_steps_where_np_histogram_does(
    data: st.DataObject, pods: int, steps: int, t_count: int
) -> None:
    # A (pods × steps) float32 block, each row one tenant's, values at the edges (where
    # the logarithm can be a bin off); the counts per tenant must be np.histogram's.
    values = _near_edges(data, pods * steps).reshape(pods, steps)
    tenant = np.array(
        data.draw(st.lists(st.integers(0, t_count - 1), min_size=pods, max_size=pods))
    )
    got = count_keys(bin_keys(values, (tenant * NB)[:, None]), t_count)
    for t in range(t_count):
        want = np.histogram(values[tenant == t], bins=LAT_BINS)[0]
        assert got[t].tolist() == want.tolist()


def test_every_float32_edge_and_its_neighbours_land_in_np_histograms_bin() -> None:
    # Exhaustive at the edges: each edge rounded to float32, and the float32 values one
    # and two steps either side of it.
    base = LAT_BINS.astype(np.float32)
    values = [base]
    for direction in (np.inf, -np.inf):
        v = base
        for _ in range(2):
            v = np.nextafter(v, np.float32(direction))
            values.append(v)
    flat = np.clip(np.concatenate(values), 0, 1000).astype(np.float32)
    got = count_keys(bin_keys(flat, np.zeros(1, np.int64)), 1)[0]
    assert got.tolist() == np.histogram(flat, bins=LAT_BINS)[0].tolist()
    # One by one, so that a value in the wrong bin is caught even when another of the
    # same count makes up for it in the totals.
    for v in flat:
        key = int(bin_keys(np.array([v], np.float32), np.zeros(1, np.int64))[0])
        assert np.histogram([v], bins=LAT_BINS)[0][key] == 1


def _plain_unmet_flags(s: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """The rule written out: contention, + CPU-ready on the rows that have some, + what a
    sandbox held back or, for a killed pod, its CPU within its limit; over 1e-3?"""
    total = s.shares.unmet.copy()
    if s.ready is not None:
        total[s.ready[0]] += s.ready[1]
    if s.cap_lost is not None:
        total += s.cap_lost
    elif s.any_killed:
        total += np.where(s.killed, s.allowed, np.float32(0))
    out: np.ndarray[Any, np.dtype[np.bool_]] = total > 1e-3
    return out


@given(
    st.integers(1, 12),
    st.integers(1, 6),
    st.sampled_from(["none", "column", "steps"]),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2**32),
)
def test_unmet_flags_as_the_full_sum(
    rows: int, n: int, kills: str, ready: bool, capped: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)

    def small() -> np.ndarray[Any, np.dtype[np.float32]]:
        # values around the 1e-3 threshold, zeros included
        return (rng.integers(0, 3, (rows, n)) * rng.random((rows, n)) * 2e-3).astype(np.float32)

    killed_c = np.zeros((rows, 1 if kills != "steps" else n), bool)
    if kills != "none":
        killed_c = rng.random(killed_c.shape) < 0.4
    unmet, allowed = small(), small()
    if kills == "column":  # a pod killed every step had no contention (as the kernel gives)
        unmet[killed_c[:, 0]] = 0
    # contention only in the rows of kernels that went through the rules (as the kernel
    # gives: 0 elsewhere)
    tight = np.flatnonzero(rng.random(rows) < 0.6)
    unmet[np.setdiff1d(np.arange(rows), tight)] = 0
    lost = np.flatnonzero(rng.random(rows) < 0.5)
    s = SimpleNamespace(
        shares=SimpleNamespace(unmet=unmet, tight_rows=tight),
        ready=(lost, small()[: len(lost)]) if ready else None,
        cap_lost=small() if capped else None,
        any_killed=bool(killed_c.any()),
        killed_c=killed_c,
        killed=np.broadcast_to(killed_c, (rows, n)),
        allowed=allowed,
    )
    got = measures.TenantSums._unmet_flags(s)  # type: ignore[arg-type]
    assert got.tolist() == _plain_unmet_flags(s).tolist()
