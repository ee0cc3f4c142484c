"""Standard normal draws in float32, made fast: the Box–Muller transform, block by block.

The replay's Gaussian noise (a diurnal pod's own and its workload's common noise) is
about a billion draws a week of a million-pod fleet. NumPy's ``standard_normal`` makes
them one by one with its ziggurat, ~8 ns each here; the transform makes them from pairs
of uniforms with a handful of vectorised float32 operations (a logarithm, a square root,
a sine and a cosine), ~3 ns each, in blocks small enough to stay in the core's cache.

Box & Muller (1958), "A note on the generation of random normal deviates", Ann. Math.
Statist. 29(2): for ``u1, u2`` independent and uniform on (0, 1],
``√(−2 ln u1) · cos(2π u2)`` and ``√(−2 ln u1) · sin(2π u2)`` are two independent standard
normal deviates. Here ``u1 = 1 − u`` with ``u`` NumPy's float32 uniform on [0, 1), a
multiple of 2⁻²⁴, so ``u1`` is never 0: the largest deviate is ``√(48 ln 2)`` ≈ 5.77
(|Z| of a standard normal exceeds it with probability ~8·10⁻⁹, both tails together).

Order of the output: ``out`` is filled in row-major order, as one flat run of values, in
blocks of ``2·PAIRS_PER_BLOCK``; the last block holds the ``m`` values left, with
``h = ⌈m/2⌉`` pairs. Each block takes ``h`` uniforms ``u1`` then ``h`` uniforms ``u2``
from the generator and holds the ``h`` cosine deviates, then the sine ones (when ``m`` is
odd, the last pair's sine is not used; its uniforms are drawn all the same). So the values
depend on ``out.size`` as well as on the generator's state, not on ``out``'s shape.

Reproducibility: the same generator state gives the same values on one machine, and on
any x86-64 CPU with AVX2 or AVX-512 (NumPy's float32 logarithm, sine and cosine take the
same path on both: 2,000,000 values of each, computed with AVX-512 and with NumPy kept to
AVX2, did not differ in one bit). On an x86 CPU without AVX2 they take another path and
about a fifth of the values differ in their last bits (a review measured up to 4.8·10⁻⁷);
ARM was not measured. The ziggurat it replaced made the same bits everywhere; where the
values differ, a replay's figures move in their last digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_DEVIATE", "PAIRS_PER_BLOCK", "fill_standard_normal"]

PAIRS_PER_BLOCK = 16_384
"""Pairs of deviates made at a time: two float32 scratch arrays of 64 KiB and 128 KiB of
``out`` in flight, within L2."""
MAX_DEVIATE = float(np.sqrt(np.float32(-2.0) * np.log(np.float32(2.0**-24))))
"""The largest deviate the transform gives from float32 uniforms (√(48 ln 2))."""

_TWO_PI = np.float32(2.0 * np.pi)


def fill_standard_normal(rng: np.random.Generator, out: NDArray[np.float32]) -> None:
    """Fill ``out`` (float32, C-contiguous, any shape) with standard normal deviates drawn
    from ``rng`` (see the module docstring for the order)."""
    if out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError("fill_standard_normal: out must be a C-contiguous float32 array")
    flat = out.reshape(-1)
    u1 = np.empty(PAIRS_PER_BLOCK, np.float32)
    u2 = np.empty(PAIRS_PER_BLOCK, np.float32)
    for at in range(0, len(flat), 2 * PAIRS_PER_BLOCK):
        m = min(2 * PAIRS_PER_BLOCK, len(flat) - at)
        h = (m + 1) // 2  # pairs of this block: the last may be half used
        radius, angle = u1[:h], u2[:h]
        rng.random(dtype=np.float32, out=radius)
        rng.random(dtype=np.float32, out=angle)
        np.subtract(np.float32(1.0), radius, out=radius)  # (0, 1]
        np.log(radius, out=radius)
        radius *= np.float32(-2.0)
        np.sqrt(radius, out=radius)
        angle *= _TWO_PI
        cos_part: NDArray[Any] = flat[at : at + h]
        np.cos(angle, out=cos_part)
        cos_part *= radius
        sin_part: NDArray[Any] = flat[at + h : at + m]
        np.sin(angle[: m - h], out=sin_part)
        sin_part *= radius[: m - h]
