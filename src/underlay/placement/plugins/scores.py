"""Score plugins: 0–100 per candidate node; the framework applies the profile's weights."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from underlay.placement.framework import PodBatch
from underlay.placement.pool import NodePool

__all__ = [
    "DominantResourceAlignment",
    "GpuAvoidance",
    "GpuFragmentation",
    "LeastAllocated",
    "MostAllocated",
    "NodeOrder",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


def _used_after(pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
    """Mean of CPU and memory fraction allocated after one more replica."""
    cap_cpu = np.maximum(pool.cap_cpu[nodes], 1)
    cap_mem = np.maximum(pool.cap_mem[nodes], 1)
    cpu = (cap_cpu - pool.free_cpu[nodes] + batch.cpu_milli) / cap_cpu
    mem = (cap_mem - pool.free_mem[nodes] + batch.memory_mib) / cap_mem
    # Candidates fit the pod, so both shares are already within 0..1.
    used: F64 = (cpu + mem) / 2
    return used


class NodeOrder:
    """First fit: earlier nodes score higher."""

    name = "NodeOrder"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        out: F64 = 100.0 * (1.0 - nodes / max(pool.n, 1))
        return out


class MostAllocated:
    """Best fit: the fuller the node after placement, the higher (Kubernetes MostAllocated)."""

    name = "MostAllocated"
    gpu_kernel_scores = True  # per-pod GPU placement: the kernel's best-fit tie-break

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        out: F64 = 100.0 * _used_after(pool, batch, nodes)
        return out


class LeastAllocated:
    """Spread: the emptier the node after placement, the higher (Kubernetes LeastAllocated)."""

    name = "LeastAllocated"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        out: F64 = 100.0 * (1.0 - _used_after(pool, batch, nodes))
        return out


class DominantResourceAlignment:
    """Tetris-style alignment: cosine of the pod's demand and the node's free vector.

    Nodes whose leftover shape matches the pod's shape score high, so the dominant
    resource of each node is consumed evenly and little is stranded.
    """

    name = "DominantResourceAlignment"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        cap_cpu = np.maximum(pool.cap_cpu[nodes], 1)
        cap_mem = np.maximum(pool.cap_mem[nodes], 1)
        dc, dm = batch.cpu_milli / cap_cpu, batch.memory_mib / cap_mem
        fc, fm = pool.free_cpu[nodes] / cap_cpu, pool.free_mem[nodes] / cap_mem
        dot = dc * fc + dm * fm
        norm = np.sqrt(dc**2 + dm**2) * np.sqrt(fc**2 + fm**2)
        cosine = np.divide(dot, norm, out=np.zeros_like(dot, dtype=np.float64), where=norm > 0)
        # Tie-break toward fuller nodes so equal shapes still pack.
        out: F64 = 90.0 * cosine + 10.0 * _used_after(pool, batch, nodes)
        return out


class GpuAvoidance:
    """Keeps pods that need no GPU off nodes with free GPUs, so GPUs are not stranded."""

    name = "GpuAvoidance"
    gpu_kernel_scores = True  # the same for every node when the pod needs a GPU

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        if batch.needs_gpu:
            return np.full(len(nodes), 100.0)
        has_free_gpu = pool.gpu_free[nodes].sum(axis=1) > 0
        out: F64 = np.where(has_free_gpu, 0.0, 100.0)
        return out


class GpuFragmentation:
    """Fragmentation gradient descent for GPU pods (Weng et al., USENIX ATC 2023).

    Under a profile with ``fill="per-pod"`` GPU pods go one at a time through the GPU
    kernel, which scores each node by how much the pod grows the cluster's expected GPU
    fragmentation (:mod:`underlay.placement.gpu_fragmentation`); this plugin names that
    kernel strategy. Other plugins of the profile add to the kernel's 0–100 node score.
    It ranks nothing else: every node scores 0 for pods placed as a batch (0, not a
    constant, so adding it changes no other plugin's sum by rounding).
    """

    name = "GpuFragmentation"
    gpu_kernel_scores = True
    gpu_kernel_scorer = "fgd"

    def score(self, pool: NodePool, batch: PodBatch, nodes: I64) -> F64:
        return np.zeros(len(nodes))
