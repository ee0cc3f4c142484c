"""Queue-sort plugins: the order in which a run's batches are placed.

Both keep the most constrained first — GPU pods before the rest (they decide which GPU
hosts exist), then in each part anti-affine batches (most replicas first), rack-spread
ones, then the rest — and differ only in that last group: :class:`DecreasingSize`
places the largest pods first (first-fit decreasing's lesson), :class:`InOrder` keeps
the scenario's order. A profile names its plugin (``Profile.queue_sort``).
"""

from __future__ import annotations

from typing import Protocol

from underlay.placement.framework import PodBatch
from underlay.placement.pool import GPU_WHOLE


class Size(Protocol):
    """A reference machine the pods' sizes are measured against."""

    @property
    def cpu_milli(self) -> int: ...

    @property
    def memory_mib(self) -> int: ...


__all__ = ["DecreasingSize", "InOrder", "Size"]


def _key(b: PodBatch, size: float) -> tuple[bool, int, float, int]:
    if b.anti_affinity != "none":
        return (not b.needs_gpu, 0, -b.replicas, b.key)
    if b.spread_racks:
        return (not b.needs_gpu, 1, -b.replicas, b.key)
    return (not b.needs_gpu, 2, -size, b.key)


class DecreasingSize:
    """Largest pods first: size is the largest share of ``ref`` (CPU, memory, GPUs)."""

    name = "DecreasingSize"

    def sort(self, batches: list[PodBatch], ref: Size) -> list[PodBatch]:
        def size(b: PodBatch) -> float:
            gpu = b.gpu_count * b.gpu_milli / GPU_WHOLE
            return max(b.cpu_milli / ref.cpu_milli, b.memory_mib / ref.memory_mib, gpu)

        return sorted(batches, key=lambda b: _key(b, size(b)))


class InOrder:
    """The scenario's order after the constrained batches."""

    name = "InOrder"

    def sort(self, batches: list[PodBatch], ref: Size) -> list[PodBatch]:
        return sorted(batches, key=lambda b: _key(b, 0.0))
