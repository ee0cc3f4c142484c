"""The latency-inflation histogram: its bins, the bin of every value in a few passes, the
queue's response time, and the percentiles read back from the counts.

A value must land in the bin ``np.histogram(values, LAT_BINS)`` puts it in (each bin
closed on the left, the last on both sides, values outside [0, 1,000] left out): the
latency measure (:class:`~underlay.simulation.measures.Latency`) bins millions of pod-steps
per block, so the bin comes from the logarithm and is then put right against the edges.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["LAT_BINS", "bin_keys", "histograms", "percentile", "response_in_place"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

LAT_BINS = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 241)])  # 3 % resolution
"""Edges of the latency-inflation histogram: 0, then 1 to 1,000 log-spaced."""
BIN_COUNT = len(LAT_BINS) - 1
_LAT_LOG_STEP = np.log(1000.0) / 240


def _lower_edges(dtype: type[np.floating]) -> NDArray[np.floating]:
    """Per bin, the smallest value of ``dtype`` that ``np.histogram`` puts in it or above
    (it compares in float64: ``v >= edge`` exactly), then one past 1,000 (1,000 itself is
    in the last bin) and infinity, so that a bin's upper edge is always the next entry.

    Compared with these, a float32 value needs no float64 copy of itself or of the edges.
    """
    edges = LAT_BINS.astype(dtype)
    low = edges.astype(np.float64) < LAT_BINS  # rounded below the edge: the next one up
    edges[low] = np.nextafter(edges[low], dtype(np.inf))
    top = np.nextafter(dtype(LAT_BINS[-1]), dtype(np.inf))
    out: NDArray[np.floating] = np.concatenate([edges[:-1], [top, np.inf]]).astype(dtype)
    return out


_EDGES = {
    np.dtype(np.float32): _lower_edges(np.float32),
    np.dtype(np.float64): _lower_edges(np.float64),
}


_CELL_SHIFT = 13
"""A float32 value's bits over 2**13: its *cell*, 2**13 consecutive float32 values, 1/1,024
of a value wide at most, far narrower than a bin (3 %): a cell holds one edge at most."""


def _cell_tables() -> tuple[I64, F32]:
    """Per cell of float32 values from 0 to 1,000, the bin of its first value and the
    lower edge of the bin after (where a value of the cell moves one bin up)."""
    cells = (int(np.float32(LAT_BINS[-1]).view(np.int32)) >> _CELL_SHIFT) + 1
    first = (np.arange(cells, dtype=np.int32) << _CELL_SHIFT).view(np.float32)
    edges = _EDGES[np.dtype(np.float32)]
    bin_of: I64 = (np.searchsorted(edges[:BIN_COUNT], first, side="right") - 1).astype(np.intp)
    next_edge: F32 = edges[bin_of + 1].astype(np.float32)
    return bin_of, next_edge


_CELL_BIN, _CELL_NEXT = _cell_tables()


def bin_keys(values: NDArray[np.floating], row_key: I64) -> I64:
    """Each value's bin plus its row's ``row_key`` (broadcast against ``values``), for
    values within [0, 1,000] (the caller leaves the others out).

    float32 values: the bin of the value's cell (:data:`_CELL_SHIFT`, from the value's
    bits), one up if the value reaches the next bin's edge. Others: the bin from the
    logarithm (within one bin of the exact one: its float rounding), then moved up when
    the value reaches the bin's upper edge and down when it is below its lower edge. The
    edges are those ``np.histogram`` compares with, rounded up to the values' own type
    (:func:`_lower_edges`).
    """
    if values.dtype == np.float32:
        # (-0.0 has the sign bit: a negative cell, clipped to cell 0, bin 0 as it should)
        cell = np.right_shift(values.view(np.int32), _CELL_SHIFT, dtype=np.intp)
        key: I64 = np.take(_CELL_BIN, cell, mode="clip")
        key += values >= np.take(_CELL_NEXT, cell, mode="clip")
        key += row_key
        return key
    values = values.astype(np.float64, copy=False)
    edges = _EDGES[values.dtype]
    logs = np.clip(values, 1, 1000)  # below 1: bin 0; the clip keeps logs in the table
    np.log(logs, out=logs)
    logs *= 1 / _LAT_LOG_STEP
    est: I64 = logs.astype(np.intp)  # the log-spaced bin: est + 1 (bin 0 is [0, 1))
    # est + 1 ∈ [1, 241]: its upper edge is edges[est + 2], its lower edge edges[est + 1]
    edge = np.take(edges[2:], est, out=logs, mode="clip")
    flag = np.greater_equal(values, edge)
    est += flag
    np.take(edges[1:], est, out=edge, mode="clip")
    np.less(values, edge, out=flag)
    est -= flag
    est += np.asarray(row_key) + 1
    return est


def histograms(values: NDArray[np.floating], tenant: I64, t_count: int) -> F64:
    """Per tenant, the counts of ``values`` in the ``LAT_BINS``, as ``np.histogram``
    counts them. ``tenant`` is each value's, or broadcasts against ``values`` (a column:
    each row's). When every value is within the scale (two passes tell), the tenants are
    not spread to every value; otherwise the others are left out first."""
    values, tenant = np.asarray(values), np.asarray(tenant)
    if values.size and values.min() >= 0 and values.max() <= LAT_BINS[-1]:
        return count_keys(bin_keys(values, tenant * BIN_COUNT), t_count)
    ok = (values >= 0) & (values <= LAT_BINS[-1])  # (not a number: left out too)
    tenant = np.broadcast_to(tenant, values.shape)[ok]
    return count_keys(bin_keys(values[ok], tenant * BIN_COUNT), t_count)


def count_keys(keys: I64, t_count: int) -> F64:
    """The (tenants × bins) counts of ``tenant × BIN_COUNT + bin`` keys."""
    flat = np.bincount(keys.ravel(), minlength=t_count * BIN_COUNT)
    return flat.reshape(t_count, BIN_COUNT).astype(np.float64)


def response_in_place(rho: F32, rho_max: float, out: F32) -> F32:
    """Relative response time of a queue at load ``rho``: M/M/1's 1 / (1 − ρ) up to
    ``rho_max``, then growing with the backlog in proportion to ρ. Into ``out``; ``rho``
    is spent (it holds 1 − min(ρ, ρ_max) after)."""
    r_max = np.float32(rho_max)
    np.divide(rho, r_max, out=out)
    np.maximum(out, np.float32(1), out=out)
    np.minimum(rho, r_max, out=rho)
    np.subtract(np.float32(1), rho, out=rho)
    np.divide(out, rho, out=out)
    return out


def percentile(hist: F64, q: float) -> float:
    """The ``q`` quantile of a latency histogram (1.0 when it is empty)."""
    total = hist.sum()
    if total <= 0:
        return 1.0
    idx = int(np.searchsorted(np.cumsum(hist), q * total))
    return float(LAT_BINS[min(idx + 1, len(LAT_BINS) - 1)])
