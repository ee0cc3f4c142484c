"""Reductions of the (pods × steps) arrays that the measures
(:mod:`underlay.simulation.measures`) make at every block step: per-row sums and counts
over the steps, and who took CPU from whom.

They replace NumPy's axis reductions where those are slow on short rows: the results are
the same counts, and the same sums within float32 rounding (another order of addition).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.simulation.contention import Kernels

__all__ = ["interference_matrix", "row_counts", "row_sums", "step_count"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def step_count(flags: B, n: int) -> I64:
    """Per pod, the steps of ``n`` flagged (a single column stands for every step)."""
    if flags.shape[1] == 1:
        out: I64 = flags[:, 0] * np.int64(n)
        return out
    return row_counts(flags)


_BYTE_SUM = np.uint64(0x0101010101010101)


def row_counts(flags: B) -> I64:
    """Per row, the ``True`` entries of a (rows × steps) flag array.

    ``np.count_nonzero(axis=1)`` walks 32-wide rows one at a time; here the flags of a
    C-contiguous row are read eight at a time as the bytes of 64-bit words: the words of
    a row are added (each byte, 0 or 1, sums its own steps: no carry while a row holds at
    most 255 steps), then a product by 0x0101...01 adds the eight bytes into the top one.
    """
    rows, n = flags.shape
    if n % 8 or n > 255 or not flags.flags.c_contiguous or not rows:
        out: I64 = np.count_nonzero(flags, axis=1)
        return out
    words = flags.view(np.uint64)
    acc = words[:, 0].copy()
    for j in range(1, words.shape[1]):
        acc += words[:, j]
    acc *= _BYTE_SUM
    acc >>= np.uint64(56)
    return acc.astype(np.int64)


def row_sums(x: F32) -> F32:
    """Per row, the sum of a (pods × steps) float32 array.

    ``np.einsum("ij->i")`` runs one vectorised loop along each row, several times faster
    than ``x.sum(axis=1)`` on rows of a few dozen steps (the sum in another order: float32
    rounding only). A matrix-vector product ``x @ ones`` is as fast on one thread, but
    OpenBLAS spreads it over threads that fight the other workers for the cores.
    """
    out: F32 = np.einsum("ij->i", x)
    return out


def interference_matrix(unmet: F32, burst: F32, tenant: I64, kernels: Kernels, t_count: int) -> F64:
    """Core-steps (millicore-steps) each tenant lost while others burst, this chunk."""
    lost_k = kernels.total(unmet)
    took_k = kernels.total(burst)
    events = (lost_k > 1e-3) & (took_k > 1e-3)
    if not events.any():
        return np.zeros((t_count, t_count))
    event_id = np.full(events.shape, -1, np.int64)
    event_id[events] = np.arange(int(events.sum()))
    per_pod = kernels.spread(event_id.astype(np.float32)).astype(np.int64)
    rows_u, cols_u = np.nonzero((per_pod >= 0) & (unmet > 1e-3))
    rows_b, cols_b = np.nonzero((per_pod >= 0) & (burst > 1e-3))
    e_count = int(events.sum())
    lost = sp.csr_matrix(
        (unmet[rows_u, cols_u], (per_pod[rows_u, cols_u], tenant[rows_u])), shape=(e_count, t_count)
    )
    took = sp.csr_matrix(
        (burst[rows_b, cols_b], (per_pod[rows_b, cols_b], tenant[rows_b])), shape=(e_count, t_count)
    )
    share = sp.diags(1.0 / np.maximum(np.asarray(took.sum(axis=1)).ravel(), 1e-9)) @ took
    out: F64 = (lost.T @ share).toarray().astype(np.float64)
    return out
