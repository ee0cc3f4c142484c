"""Filter plugins: how many replicas of a batch fit on each node, and why not."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.placement.framework import UNLIMITED, PodBatch, Unfit
from underlay.placement.pool import GPU_WHOLE, NodePool

__all__ = ["GpuFit", "NodeResourcesFit", "PodSlots"]

I64 = NDArray[np.int64]


def _per_node(free: I64, need: int) -> I64:
    if need <= 0:
        return np.full(len(free), UNLIMITED, np.int64)
    return np.maximum(free, 0) // need


class NodeResourcesFit:
    """CPU and memory requests against the node's free allocatable."""

    name = "NodeResourcesFit"
    gpu_kernel_checks = True  # the GPU kernel re-checks CPU and memory pod by pod

    def relevant(self, batch: PodBatch) -> bool:
        return batch.cpu_milli > 0 or batch.memory_mib > 0

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return np.minimum(
            _per_node(pool.live("free_cpu"), batch.cpu_milli),
            _per_node(pool.live("free_mem"), batch.memory_mib),
        )

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        by_cpu = pool.free_cpu[node] // batch.cpu_milli if batch.cpu_milli else UNLIMITED
        by_mem = pool.free_mem[node] // batch.memory_mib if batch.memory_mib else UNLIMITED
        if by_cpu <= by_mem:
            return Unfit(
                "cpu_milli", batch.cpu_milli, float(pool.free_cpu[node]), float(pool.cap_cpu[node])
            )
        return Unfit(
            "memory_mib", batch.memory_mib, float(pool.free_mem[node]), float(pool.cap_mem[node])
        )


class PodSlots:
    """Free pod slots under the node's max-pods policy (DaemonSet pods already counted)."""

    name = "PodSlots"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.pod_slots > 0

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return _per_node(pool.live("free_pods"), batch.pod_slots)

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        return Unfit(
            "pods",
            batch.pod_slots,
            float(pool.free_pods[node]),
            float(pool.cap_pods[node]),
            "max pods",
        )


class GpuFit:
    """Whole GPUs (fully free devices) or a fraction of one device, of an allowed model."""

    name = "GpuFit"
    gpu_kernel_checks = True  # the GPU kernel re-checks devices and models pod by pod

    def relevant(self, batch: PodBatch) -> bool:
        return batch.needs_gpu

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        n = pool.n
        if not batch.needs_gpu:
            return np.full(n, UNLIMITED, np.int64)
        free = pool.gpu_free[:n]
        if batch.gpu_milli >= GPU_WHOLE:
            fit = (free >= GPU_WHOLE).sum(axis=1) // batch.gpu_count
        else:
            fit = (free // batch.gpu_milli).sum(axis=1)
        if batch.gpu_models is not None:
            allowed = np.isin(pool.gpu_model[:n], np.fromiter(batch.gpu_models, np.int64))
            fit = np.where(allowed, fit, 0)
        out: I64 = fit.astype(np.int64)
        return out

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        if batch.gpu_models is not None and pool.gpu_model[node] not in batch.gpu_models:
            return Unfit(
                "gpu_model",
                batch.gpu_count,
                0,
                float(pool.gpu_cap[node].sum()) / GPU_WHOLE,
                "model not allowed",
            )
        if batch.gpu_milli >= GPU_WHOLE:
            whole = float((pool.gpu_free[node] >= GPU_WHOLE).sum())
            cap = float((pool.gpu_cap[node] >= GPU_WHOLE).sum())
            return Unfit("gpus", batch.gpu_count, whole, cap, "whole GPUs")
        return Unfit(
            "gpu_milli", batch.gpu_milli, float(pool.gpu_free[node].max()), float(pool.gpu_cap[node].max()),
            "share of one GPU",
        )  # fmt: skip
