"""Figure-for-figure comparison of two replays (baseline vs current, one process vs a
partitioned run): the benchmarks' and the equality tests' one definition of "the same"."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ (dataclasses field by field, lists item by item, arrays
    element by element with their shape and dtype, all exactly; wall time, ``seconds``,
    skipped); empty when they are the same."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        out: list[str] = []
        for f in dataclasses.fields(a):
            if f.name != "seconds":
                out += differences(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        return out
    if isinstance(a, list | tuple):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items vs {len(b)}"]
        pairs = enumerate(zip(a, b, strict=True))
        return [d for i, (x, y) in pairs for d in differences(x, y, f"{path}[{i}]")]
    if isinstance(a, np.ndarray):
        same = a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
        return [] if same else [f"{path}: arrays differ"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]
