"""Figure-for-figure comparison of two replays (baseline vs current, one process vs a
partitioned run): the benchmarks' and the equality tests' one definition of "the same".

Exact by default (``rtol=0``): a partitioned replay must give the single process's figures
bit for bit. With ``rtol > 0``, "within float32 rounding" for a kernel that sums in another
order (blocks of another size, a product in place of a sum): each number ``x`` of ``a``
and its ``y`` of ``b`` may differ by ``rtol · max(|x|, |y|, 10⁻³ · scale)``, ``scale``
the largest magnitude of the array they are in (so a figure near 0 in an array of large
ones is held to the array's rounding, not to its own). Shapes and dtypes stay exact.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def differences(a: Any, b: Any, path: str = "", *, rtol: float = 0.0) -> list[str]:
    """Where ``a`` and ``b`` differ (dataclasses field by field, lists item by item, arrays
    element by element with their shape and dtype; exactly, or within ``rtol`` as the module
    says; wall time, ``seconds``, skipped); empty when they are the same."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        out: list[str] = []
        for f in dataclasses.fields(a):
            if f.name != "seconds":
                got = differences(
                    getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}", rtol=rtol
                )
                out += got
        return out
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]", rtol=rtol)]
    if isinstance(a, np.ndarray):
        if a.shape != b.shape or a.dtype != b.dtype:
            return [f"{path}: {a.shape} {a.dtype} vs {b.shape} {b.dtype}"]
        if rtol == 0.0 or a.dtype.kind not in "fiu":
            return [] if np.array_equal(a, b) else [f"{path}: arrays differ"]
        worst = _worst_relative(a, b)
        return [] if worst <= rtol else [f"{path}: arrays differ by {worst:.3g} (relative)"]
    if rtol > 0.0 and isinstance(a, float | int) and isinstance(b, float | int):
        worst = _worst_relative(np.asarray([a], float), np.asarray([b], float))
        return [] if worst <= rtol else [f"{path}: {a!r} vs {b!r} ({worst:.3g} relative)"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


def largest_difference(a: Any, b: Any) -> float:
    """The largest relative difference between any two numbers of ``a`` and ``b`` (as
    :func:`differences` measures it): 0.0 when they are bit for bit the same."""
    lo, hi = 0.0, 1.0
    if not differences(a, b, rtol=hi):
        if not differences(a, b):
            return 0.0
        for _ in range(60):  # bisect on the tolerance: exact enough for a printed figure
            mid = (lo * hi) ** 0.5 if lo > 0 else hi / 1e12
            lo, hi = (lo, mid) if not differences(a, b, rtol=mid) else (mid, hi)
            if lo > 0 and hi / lo < 1.01:
                break
        return hi
    return float("inf")


def _worst_relative(a: np.ndarray, b: np.ndarray) -> float:
    x, y = a.astype(np.float64), b.astype(np.float64)
    if not x.size:
        return 0.0
    if np.array_equal(x, y, equal_nan=True):
        return 0.0
    scale = max(float(np.abs(x).max(initial=0)), float(np.abs(y).max(initial=0)))
    room = np.maximum(np.maximum(np.abs(x), np.abs(y)), 1e-3 * scale)
    gap = np.abs(x - y)
    rel = np.where(gap == 0, 0.0, gap / np.where(room > 0, room, 1.0))
    return float(rel.max())
