"""GPU pods placed one at a time through the GPU kernel, under the registered filters.

A profile with ``fill="per-pod"`` sends GPU pods here (without anti-affinity or rack
spread): identical pods still go one at a time, because each changes the fragmentation
landscape the kernel's strategy (the ``GpuFragmentation`` score plugin's FGD) scores.
The registered filters decide: only nodes every filter accepts are shown to the kernel,
and each call hands it at most as many pods as the filters allow on any one of those
nodes — except the filters marked ``gpu_kernel_checks``, whose rule (CPU, memory, GPUs,
GPU model) the kernel itself checks pod by pod. So no filter's limit can be overrun.
Score plugins the kernel's ranking does not stand for add to its 0–100 node score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.placement.framework import FilterPlugin, PodBatch, ScorePlugin
from underlay.placement.gpu_fleet import GpuNodes, GpuPods, TypicalPods
from underlay.placement.pool import NodePool

__all__ = ["Placer", "fill_gpu_per_pod", "gpu_pods"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


class Placer(Protocol):
    """What this module uses of :class:`underlay.placement.engine.Placer`."""

    pool: NodePool
    filters: list[FilterPlugin]
    scores: list[tuple[ScorePlugin, float]]
    kernel: str
    typical: list[PodBatch]
    typical_cache: dict[tuple[str, ...], Any]
    gpu_model_names: tuple[str, ...]

    def fit(self, batch: PodBatch, nodes: I64 | None = None) -> I64: ...

    def limit(self, batch: PodBatch, filters: Sequence[FilterPlugin]) -> I64: ...

    def weighted(
        self, batch: PodBatch, nodes: I64, scores: list[tuple[ScorePlugin, float]]
    ) -> F64: ...

    def commit(
        self, batch: PodBatch, nodes: I64, counts: I64, gpu_masks: I64 | None = None
    ) -> None: ...


def fill_gpu_per_pod(
    placer: Placer, batch: PodBatch, remaining: int, nodes_out: list[I64], counts_out: list[I64]
) -> int:
    """Place up to ``remaining`` pods of ``batch`` on the placer's live nodes, committing
    each step through the placer; returns the pods left."""
    from underlay.placement.gpu_packing import pack

    names = _model_names(placer, batch)
    per_call = [p for p in placer.filters if not getattr(p, "gpu_kernel_checks", False)]
    extra = [(p, w) for p, w in placer.scores if not getattr(p, "gpu_kernel_scores", False)]
    typical = _typical(placer, batch, names)
    n = placer.pool.n
    while remaining > 0:
        usable = placer.fit(batch) > 0
        if not usable.any():
            break
        chunk = min(remaining, int(placer.limit(batch, per_call)[usable].min()))
        bias = None
        if extra:
            chunk = 1  # the scores change with every pod placed
            bias = -placer.weighted(batch, np.arange(n, dtype=np.int64), extra)
        nodes = _kernel_nodes(placer, usable, names)
        result = pack(nodes, gpu_pods([batch], names, chunk), placer.kernel, typical, bias)
        where = result.node_of_pod[result.node_of_pod >= 0]
        if len(where) == 0:
            break
        node_ids, counts = np.unique(where, return_counts=True)
        node_ids, counts = node_ids.astype(np.int64), counts.astype(np.int64)
        # each pod's devices, in node order (as the replicas are counted)
        placed = np.flatnonzero(result.node_of_pod >= 0)
        by_node = placed[np.argsort(result.node_of_pod[placed], kind="stable")]
        placer.commit(batch, node_ids, counts, result.gpu_mask[by_node])
        nodes_out.append(node_ids)
        counts_out.append(counts)
        remaining -= len(where)
        if len(where) < chunk:
            break
    return remaining


def _model_names(placer: Placer, batch: PodBatch) -> tuple[str, ...]:
    """Model names the kernel must know: every node's, and every code a pod may ask for
    (a GPU model no node has opened yet is still a column of the pods' filter)."""
    pool, known = placer.pool, placer.gpu_model_names
    asked = [c for b in (batch, *placer.typical) if b.gpu_models for c in b.gpu_models]
    highest = max(int(pool.gpu_model[: pool.n].max(initial=-1)), max(asked, default=-1))
    return ("", *known, *tuple(f"gpu-{i}" for i in range(len(known), highest + 1)))


def _typical(placer: Placer, batch: PodBatch, names: tuple[str, ...]) -> TypicalPods:
    """The target workload's pod types FGD measures fragmentation against (cached per
    model list; the batch alone when the placer was told no workload)."""
    if not placer.typical:
        return TypicalPods.from_pods(gpu_pods([batch], names, None))
    cache = placer.typical_cache
    if names not in cache:
        cache[names] = TypicalPods.from_pods(gpu_pods(placer.typical, names, None))
    out: TypicalPods = cache[names]
    return out


def _kernel_nodes(placer: Placer, usable: NDArray[np.bool_], names: tuple[str, ...]) -> GpuNodes:
    """The live nodes as the kernel's arrays. A node some filter refuses shows no free
    GPU (every pod here needs one; a pod may request no CPU or memory, so hiding those
    would not keep it off)."""
    pool, n = placer.pool, placer.pool.n
    gpu_free = np.where(usable[:, None], pool.gpu_free[:n], 0)
    return GpuNodes(
        cpu_free_milli=np.where(usable, pool.free_cpu[:n], 0),
        memory_free_mib=pool.free_mem[:n],
        gpu_free_milli=gpu_free.astype(np.int32),
        gpu_model=np.maximum(pool.gpu_model[:n] + 1, 0),
        model_names=names,
        cpu_capacity_milli=pool.cap_cpu[:n],
        memory_capacity_mib=pool.cap_mem[:n],
        gpu_count=(pool.gpu_cap[:n] > 0).sum(axis=1),
    )


def gpu_pods(batches: list[PodBatch], names: tuple[str, ...], count: int | None) -> GpuPods:
    """The replicas of ``batches`` as the GPU kernel's pod arrays (``count`` of the first)."""
    reps = np.array(
        [count if count is not None else b.replicas for b in batches[: 1 if count else None]]
    )
    chosen = batches[: len(reps)]
    allowed = np.ones((len(chosen), len(names)), bool)
    for i, b in enumerate(chosen):
        if b.gpu_models is not None:
            allowed[i] = False
            allowed[i, [c + 1 for c in b.gpu_models]] = True
    gpu = np.array([b.gpu_count if b.needs_gpu else 0 for b in chosen])
    return GpuPods(
        np.repeat([b.cpu_milli for b in chosen], reps),
        np.repeat([b.memory_mib for b in chosen], reps),
        np.repeat(gpu, reps),
        np.repeat([b.gpu_milli if b.needs_gpu else 0 for b in chosen], reps),
        np.repeat(allowed, reps, axis=0),
    )
