"""The fluid deal: the plain pods of a pool dealt over the nodes their LP bound needs.

Why: placing batches largest first, each packed onto the fullest node (best fit), fills
the first nodes with large pods until their CPU runs out, slots to spare, and the last
nodes with small pods until their pod slots run out, CPU to spare. Where pod slots bind
(``max_pods``), both kinds of node are wasted: the 1M-pod benchmark's shared cluster
used 1.22 x its lower bound. A node holds its share of every resource only if it holds
its share of every batch.

What: once the constrained batches (GPU, anti-affinity, rack spread) are placed, the
placer's remaining *plain* batches are dealt as a whole, when their pods fill at least
two nodes' pod slots (with fewer, best fit per batch is already at the bound):

1. node count — the plain pods' CPU, memory and pod slots, less what every live node
   has free, over one new node's allocatable; the largest ratio, rounded up (the LP
   bound of :mod:`.bounds` for one host model), no more than the node source has;
2. the deal — the pods, batches in the queue's order (largest first), go over the live
   nodes of the plain pods' template and the new ones, each node's share in proportion
   to the pods of the mean size it has room for, spread evenly through the order, and
   within each round of the nodes the direction reversed every round (boustrophedon:
   0, 1, …, N-1, N-1, …, 0, …). Every node so gets its share of the large pods and of
   the small ones, and nearly the same CPU, memory and pod count as its room; live
   nodes of other templates (GPU hosts beside their GPU pods) get what the deal leaves,
   packed: the smallest pods, dealt last, the only ones that fit their last slots;
3. the result is a *proposal* per batch, (nodes, replicas on each): the placer commits
   only what its filters allow on each node at that moment
   (:meth:`~underlay.placement.engine.Placer.place`), and places what they refuse as
   before, packed under the profile's scores, opening nodes if need be. So every
   constraint holds as on every other path; the deal only chooses where to try first.

A workload's replicas so spread over many nodes (one a node while it has fewer replicas
than the pool has nodes), as Kubernetes' default spreading would; dealing whole chunks
of a workload instead (8 chunks a node) left 1.16x the bound on the 100k-pod benchmark
fleet's shared cluster, against 1.04x pod by pod.

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
# The deal runs for pods that fill at least this many nodes' pod slots: with fewer, the
# batches are few and large next to a node, and best fit per batch is at the bound (the
# bundled examples are), while the deal would spread each batch over the nodes.
_MIN_NODES_OF_SLOTS = 2


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
    """Open the nodes the plain ``batches`` need (in their order) and deal their pods; the
    proposal of each batch by key (see the module docstring). ``empty_fit`` tells the
    replicas of a batch an empty node of a template takes (the placer's filters): a
    batch no such node takes is left out (it opens nothing). Opens nothing and proposes
    nothing when no batch is plain or the source has no node for them."""
    plain = [b for b in batches if dealable(b)]
    template = source.template_for(plain[0]) if plain else None
    if template is None:
        return {}
    plain = [b for b in plain if empty_fit(template, b) > 0]
    if not plain:
        return {}
    replicas = np.array([b.replicas for b in plain], np.int64)
    size = np.array([[b.cpu_milli, b.memory_mib, b.pod_slots] for b in plain], np.int64)
    batch = np.repeat(np.arange(len(plain), dtype=np.int64), replicas)
    if int(replicas @ size[:, 2]) < _MIN_NODES_OF_SLOTS * template.pods:
        return {}  # a few pods: best fit per batch already pairs them well
    # Room on every live node counts, though pods are dealt over this template's only:
    # what the deal leaves (the smallest pods, dealt last) is packed there, e.g. into the
    # slots beside the GPU pods on GPU hosts, which only small pods can fill.
    everywhere = _free(pool, np.arange(pool.n, dtype=np.int64)).sum(axis=0)
    capacity = np.array([template.cpu_milli, template.memory_mib, template.pods], np.int64)
    count = min(new_nodes_needed(replicas @ size, everywhere, capacity), source.available(template))
    same = np.fromiter((t == template for t in pool.templates), bool, pool.n)
    live = np.flatnonzero(same).astype(np.int64)
    if count > 0:
        live = np.concatenate([live, source.open(pool, template, count)])
    node = _weighted_snake(size[batch], live, _free(pool, live))
    keep = node >= 0
    nodes = max(pool.n, 1)
    pairs, counts = np.unique(batch[keep] * nodes + node[keep], return_counts=True)
    which, where = np.divmod(pairs, nodes)
    bounds = np.searchsorted(which, np.arange(len(plain) + 1))
    return {
        b.key: (where[lo:hi], counts[lo:hi].astype(np.int64))
        for b, lo, hi in zip(plain, bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
    }


def _free(pool: NodePool, nodes: I64) -> I64:
    """Free CPU, memory and pod slots of ``nodes`` (nodes x 3, never below 0)."""
    free: I64 = np.maximum(
        np.stack([pool.free_cpu[nodes], pool.free_mem[nodes], pool.free_pods[nodes]], axis=1), 0
    )
    return free


def _room(free: I64, size: I64) -> I64:
    """Pods of the mean of ``size`` each node (``free``) has room for."""
    mean = np.maximum(size.mean(axis=0), 1e-9) if len(size) else np.ones(size.shape[1])
    room: I64 = np.floor((free / mean).min(axis=1)).astype(np.int64)
    return room


def _weighted_snake(size: I64, nodes: I64, free: I64) -> I64:
    """The node of each pod (``size``: CPU, memory, slots each, in deal order) dealt over
    ``nodes`` in proportion to the pods of the mean size each has room for (``free``),
    evenly through the order, the direction reversed every round (boustrophedon), so each
    node gets its share of large and of small pods. -1 for every pod when no node has
    room."""
    pods = len(size)
    if pods == 0 or len(nodes) == 0:
        return np.full(pods, -1, np.int64)
    room = _room(free, size)
    if room.sum() == 0:
        return np.full(pods, -1, np.int64)
    if room.sum() < pods:  # more pods than room: deal them all the same, the rest refused
        room = -(-room * pods // room.sum())
    owner = np.repeat(np.arange(len(nodes), dtype=np.int64), room)
    turn = np.arange(len(owner)) - np.repeat(np.cumsum(room) - room, room)
    # A fixed offset per node in (0, 1), mirrored every other turn: the order of the nodes
    # within one turn reverses from turn to turn.
    offset = (np.arange(1, len(nodes) + 1) / (len(nodes) + 1))[owner]
    key = (turn + np.where(turn % 2 == 0, offset, 1 - offset)) / room[owner]
    order = np.argsort(key, kind="stable")[:pods]
    dealt: I64 = nodes[owner[order]]
    return dealt
