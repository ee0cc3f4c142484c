"""Buffers kept from one call to the next, for the replay's large temporary arrays.

A fresh array of a few MiB costs a page fault per 4 KiB page on first touch (the
allocator hands freed memory back to the system between calls); a buffer kept here is
written over instead. The stepping kernel (:mod:`underlay.simulation.contention`,
:mod:`underlay.simulation.stepper`) keeps its (pods × steps) results in one, the usage
models and the sampler (:mod:`underlay.simulation.usage_models`,
:mod:`underlay.simulation.usage`) their gathers and draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Fresh", "Scratch"]


class Scratch:
    """Buffers by name. What :meth:`take` (or :meth:`zeros`) returns is valid until the
    next ``take`` (``zeros``) of that name: a caller hands such arrays on only to code done
    with them by then (the engine's measures observe a block step before the next one is
    computed)."""

    def __init__(self) -> None:
        self._flat: dict[str, NDArray[Any]] = {}
        # zero buffers, each with its shape and the rows it was written in when last taken
        self._zero: dict[str, NDArray[Any]] = {}
        self._written: dict[str, tuple[tuple[int, ...], NDArray[np.int64]]] = {}

    def take(self, name: str, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
        """A C-contiguous ``shape`` array of ``dtype``, contents undefined."""
        size = int(np.prod(shape))
        buf = self._flat.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._flat[name] = np.empty(size, dtype)
        out: NDArray[Any] = buf[:size].reshape(shape)
        return out

    def zeros(
        self, name: str, shape: tuple[int, ...], dtype: Any, rows: NDArray[np.int64]
    ) -> NDArray[Any]:
        """A C-contiguous ``shape`` array of ``dtype``, all zero, that the caller writes
        in ``rows`` (along the first axis) alone: the next ``zeros`` of that name sets
        those rows back to zero instead of the whole array."""
        size = int(np.prod(shape))
        buf = self._zero.get(name)
        if buf is None or buf.size < size or buf.dtype != dtype:
            buf = self._zero[name] = np.zeros(size, dtype)
        elif name in self._written:
            before, written = self._written[name]
            buf[: int(np.prod(before))].reshape(before)[written] = 0
        self._written[name] = (shape, rows)
        out: NDArray[Any] = buf[:size].reshape(shape)
        return out


class Fresh(Scratch):
    """No buffers kept: a fresh array every time."""

    def take(self, name: str, shape: tuple[int, ...], dtype: Any) -> NDArray[Any]:
        """A new ``shape`` array of ``dtype``, contents undefined."""
        return np.empty(shape, dtype)

    def zeros(
        self, name: str, shape: tuple[int, ...], dtype: Any, rows: NDArray[np.int64]
    ) -> NDArray[Any]:
        """A new ``shape`` array of zeros."""
        return np.zeros(shape, dtype)
