"""A ring of shared-memory slots for a chunk's usage draws, made once by a partitioned
replay's parent and read in place by its local worker processes.

The parent (:class:`DrawRing`, the owner) creates ``slots`` POSIX shared-memory segments,
each the size of a whole chunk's draws (:meth:`~underlay.simulation.usage.UsageSampler.
draw_shapes`), and draws chunk ``c`` into slot ``c mod slots`` once every worker has
stepped chunk ``c − slots``. A worker attaches to the segments once
(:func:`attach_slots`) and views a slot's arrays (:func:`carve`: the same layout from the
same shapes, in every process); it reads only its own pods' rows of them and copies
nothing.

Only the owner unlinks the segments, in :meth:`DrawRing.close`, which the runner calls in
its ``finally``: however the replay ends — normally, a worker killed, an error, Ctrl-C —
no segment is left in ``/dev/shm``. A worker only closes its mapping (and never registers
the segments with Python's resource tracker, which would unlink them behind the owner's
back or warn of a leak when the worker ends).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Sequence
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.simulation.usage_models import DrawShape

__all__ = ["ALIGN", "PREFIX", "DrawRing", "attach_slots", "carve", "close_slots", "slot_bytes"]

ALIGN = 64  # bytes: each array of a slot starts on a cache line
PREFIX = "underlay_draws"
"""Names of the segments: ``{PREFIX}_{owner pid}_{random}_{slot}``."""


def _offsets(shapes: Sequence[DrawShape]) -> tuple[list[int], int]:
    """Where each array of ``shapes`` starts in a slot, and the bytes they take."""
    offsets, at = [], 0
    for shape, dtype in shapes:
        offsets.append(at)
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        at += -(-size // ALIGN) * ALIGN
    return offsets, at


def slot_bytes(shapes: Sequence[DrawShape]) -> int:
    """Bytes of a slot holding arrays of ``shapes`` (at least 1: a segment cannot be empty)."""
    return max(1, _offsets(shapes)[1])


def carve(segment: SharedMemory, shapes: Sequence[DrawShape]) -> list[NDArray[Any]]:
    """Arrays of ``shapes`` over ``segment``'s memory, one after another (C order)."""
    offsets, total = _offsets(shapes)
    if total > segment.size:
        raise ValueError(f"draws of {total} bytes do not fit a slot of {segment.size}")
    return [
        np.ndarray(shape, dtype, buffer=segment.buf, offset=at)
        for (shape, dtype), at in zip(shapes, offsets, strict=True)
    ]


class DrawRing:
    """The owner's segments: ``slots`` of ``nbytes`` each (``with``: unlinked at the end)."""

    def __init__(self, nbytes: int, slots: int) -> None:
        token = secrets.token_hex(4)
        self.segments: list[SharedMemory] = []
        try:
            for slot in range(slots):
                name = f"{PREFIX}_{os.getpid()}_{token}_{slot}"
                self.segments.append(_Segment(name, create=True, size=max(1, nbytes)))
        except BaseException:
            self.close()
            raise

    @property
    def names(self) -> list[str]:
        """The segments' names, slot by slot (what a worker attaches to)."""
        return [s.name for s in self.segments]

    def slot_of(self, index: int) -> int:
        """The slot chunk ``index`` is drawn into."""
        return index % len(self.segments)

    def slot(self, index: int, shapes: Sequence[DrawShape]) -> list[NDArray[Any]]:
        """Arrays of ``shapes`` in the slot of chunk ``index``."""
        return carve(self.segments[self.slot_of(index)], shapes)

    def close(self) -> None:
        """Unlink every segment (the names go at once; the memory when the last mapping
        does) and close this process's mappings where no array still views them."""
        for segment in self.segments:
            with contextlib.suppress(FileNotFoundError):
                segment.unlink()
            _close(segment)
        self.segments = []

    def __enter__(self) -> DrawRing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def attach_slots(names: Sequence[str]) -> list[SharedMemory]:
    """A worker's view of the owner's segments, not registered with the resource tracker
    (the owner unlinks them; before Python 3.13 attaching always registers, so the
    registration is skipped for the call)."""
    if sys.version_info >= (3, 13):
        return [_Segment(name, track=False) for name in names]  # type: ignore[call-arg,unused-ignore]
    register = resource_tracker.register
    resource_tracker.register = _skip  # type: ignore[assignment]
    try:
        return [_Segment(name) for name in names]
    finally:
        resource_tracker.register = register


def close_slots(segments: Sequence[SharedMemory]) -> None:
    """Close a worker's mappings (never unlink: the owner does)."""
    for segment in segments:
        _close(segment)


def _close(segment: SharedMemory) -> None:
    """Close ``segment``'s mapping, unless arrays still view it (then it goes with them)."""
    with contextlib.suppress(BufferError):
        segment.close()


class _Segment(SharedMemory):
    """A segment whose mapping, if arrays still view it when it is collected, goes with
    them (``SharedMemory`` would report the ``BufferError`` of closing it)."""

    def __del__(self) -> None:
        with contextlib.suppress(BufferError, OSError):
            self.close()


def _skip(name: str, rtype: str) -> None:
    """Registers nothing."""
