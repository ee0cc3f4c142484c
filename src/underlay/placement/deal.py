"""The fluid deal: the plain pods of a pool dealt over the nodes their LP bound needs.

Why: placing batches largest first, each packed onto the fullest node (best fit), fills
the first nodes with large pods until their CPU runs out, slots to spare, and the last
nodes with small pods until their pod slots run out, CPU to spare. Where pod slots bind
(``max_pods``), both kinds of node are wasted: the 1M-pod benchmark's shared cluster
used 1.22 x its lower bound. A node holds its share of every resource only if it holds
its share of every batch.

What: once the constrained batches (GPU, anti-affinity, rack spread) are placed, the
placer's remaining *plain* batches are dealt as a whole:

1. node count — the plain pods' CPU, memory and pod slots, less what the live nodes of
   the same template have free, over one new node's allocatable; the largest ratio,
   rounded up (the LP bound of :mod:`.bounds` for one host model), and no more than the
   node source has;
2. the deal — every pod, batches in the queue's order (largest first), goes to the next
   node in boustrophedon order over the live nodes of that template and the new ones
   (0, 1, …, N-1, N-1, …, 0, 0, 1, …), so every node gets the same number of pods give
   or take one, and, pods coming largest first, nearly the same CPU and memory: the
   snake hands the larger pod of each round to the other end of the nodes each time;
3. the result is a *proposal* per batch, (nodes, replicas on each): the placer commits
   only what its filters allow on each node at that moment
   (:meth:`~underlay.placement.engine.Placer.place`), and places what they refuse as
   before, packed under the profile's scores, opening nodes if need be. So every
   constraint holds as on every other path; the deal only chooses where to try first.

It is vectorised over pods (one ``np.unique`` over the pool's plain pods), not a loop.
A profile enables it with ``deal=True`` (``best-fit``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.placement.framework import PodBatch
from underlay.placement.pool import NodePool, NodeTemplate

__all__ = ["Proposal", "dealable", "fluid_deal", "new_nodes_needed"]

I64 = NDArray[np.int64]
Proposal = tuple[I64, I64]  # (nodes, replicas on each)


class _Source(Protocol):
    def template_for(self, batch: PodBatch) -> NodeTemplate | None: ...

    def available(self, template: NodeTemplate) -> int: ...

    def open(
        self, pool: NodePool, template: NodeTemplate, count: int, racks: I64 | None = None
    ) -> I64: ...


def dealable(batch: PodBatch) -> bool:
    """A plain batch: pods with no GPU, anti-affinity or rack spread, taking pod slots."""
    return (
        batch.replicas > 0
        and not batch.needs_gpu
        and batch.anti_affinity == "none"
        and not batch.spread_racks
        and batch.pod_slots > 0
    )


def new_nodes_needed(demand: I64, free: I64, capacity: I64) -> int:
    """Nodes of ``capacity`` (CPU, memory, pod slots) that ``demand`` needs beyond
    ``free`` on the live nodes: the largest ratio, rounded up (0 when none)."""
    short = np.maximum(demand - free, 0)
    ratios = np.divide(short, np.maximum(capacity, 1)).max() if len(short) else 0.0
    return int(np.ceil(ratios - 1e-9))


def fluid_deal(
    pool: NodePool,
    source: _Source,
    batches: Sequence[PodBatch],
    empty_fit: Callable[[NodeTemplate, PodBatch], int],
) -> dict[int, Proposal]:
    """Open the nodes the plain ``batches`` need (in their order) and deal their pods over
    those nodes and the live ones of the same template; the proposal of each batch by
    key (see the module docstring). ``empty_fit`` tells the replicas of a batch an empty
    node of a template takes (the placer's filters): a batch no such node takes is left
    out (it opens nothing). Opens nothing and proposes nothing when no batch is plain or
    the source has no node for them."""
    plain = [b for b in batches if dealable(b)]
    template = source.template_for(plain[0]) if plain else None
    if template is None:
        return {}
    plain = [b for b in plain if empty_fit(template, b) > 0]
    if not plain:
        return {}
    live = np.flatnonzero(
        np.fromiter((t == template for t in pool.templates), bool, pool.n)
    ).astype(np.int64)
    replicas = np.array([b.replicas for b in plain], np.int64)
    size = np.array([[b.cpu_milli, b.memory_mib, b.pod_slots] for b in plain], np.int64)
    # Room on every live node counts: what the deal leaves (the smallest pods, dealt
    # last) is packed there, e.g. beside the GPU pods on GPU hosts.
    free = np.array(
        [np.maximum(pool.live(f"free_{r}"), 0).sum() for r in ("cpu", "mem", "pods")], np.int64
    )
    capacity = np.array([template.cpu_milli, template.memory_mib, template.pods], np.int64)
    count = min(new_nodes_needed(replicas @ size, free, capacity), source.available(template))
    if count > 0:
        live = np.concatenate([live, source.open(pool, template, count)])
    nodes = len(live)
    if nodes == 0:
        return {}
    pod = np.arange(int(replicas.sum()), dtype=np.int64)
    turn, place = np.divmod(pod, nodes)
    node = np.where(turn % 2 == 0, place, nodes - 1 - place)
    batch = np.repeat(np.arange(len(plain), dtype=np.int64), replicas)
    pairs, counts = np.unique(batch * nodes + node, return_counts=True)
    which, where = np.divmod(pairs, nodes)
    bounds = np.searchsorted(which, np.arange(len(plain) + 1))
    return {
        b.key: (live[where[lo:hi]], counts[lo:hi].astype(np.int64))
        for b, lo, hi in zip(plain, bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    }
