"""Figure-for-figure comparison of two replays of one substrate (baseline vs current)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def differences(old: Any, new: Any) -> list[str]:
    """Every figure of two ``SubstrateSimulation`` that is not exactly equal (wall time
    apart), as ``field: old != new`` lines; empty when they are the same."""
    out: list[str] = []
    for f in dataclasses.fields(old):
        if f.name == "seconds":
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if f.name == "tenants":
            if len(a) != len(b):
                out.append(f"tenants: {len(a)} != {len(b)}")
                continue
            for ta, tb in zip(a, b, strict=True):
                out += [f"{ta.name}.{d}" for d in differences(ta, tb)]
        elif isinstance(a, np.ndarray):
            if a.shape != b.shape or not np.array_equal(a, b):
                worst = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("nan")
                out.append(f"{f.name}: arrays differ (max |diff| {worst:.3g})")
        elif a != b:
            out.append(f"{f.name}: {a!r} != {b!r}")
    return out
