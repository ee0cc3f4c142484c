"""Filter plugins: how many replicas of a batch fit on each node, and why not."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from underlay.model.placement_names import check_plugin_args
from underlay.placement.framework import UNLIMITED, PodBatch, Unfit
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate

__all__ = ["GpuFit", "GpuModel", "NodeResourcesFit", "PodAntiAffinity", "PodSlots"]

I64 = NDArray[np.int64]


def _one(free: int, need: int) -> int:
    return int(UNLIMITED) if need <= 0 else max(free, 0) // need


def _per_node(free: I64, need: int) -> I64:
    if need <= 0:
        return np.full(len(free), UNLIMITED, np.int64)
    return np.maximum(free, 0) // need


class NodeResourcesFit:
    """CPU and memory requests against the node's free allocatable.

    ``headroom_percent`` (scenario: ``placement.args``) keeps that share of the allocatable
    CPU and memory of every node running pods free; hosts holding VMs are not held back
    (a VM's pods keep the headroom inside the VM).
    """

    name = "NodeResourcesFit"

    def __init__(self, headroom_percent: float = 0.0) -> None:
        self.headroom_percent = headroom_percent

    @property
    def gpu_kernel_checks(self) -> bool:
        """The GPU kernel re-checks CPU and memory pod by pod, but knows no headroom."""
        return self.headroom_percent == 0

    def with_args(self, args: Mapping[str, float]) -> NodeResourcesFit:
        """``headroom_percent`` (0 to 90: model/placement_names.py)."""
        check_plugin_args(self.name, args)
        return NodeResourcesFit(float(args.get("headroom_percent", 0.0)))

    def _reserve(self, cap: I64, batch: PodBatch) -> I64:
        if not self.headroom_percent or batch.pod_slots == 0:
            return np.zeros_like(cap)
        out: I64 = np.ceil(cap * (self.headroom_percent / 100)).astype(np.int64)
        return out

    def relevant(self, batch: PodBatch) -> bool:
        return batch.cpu_milli > 0 or batch.memory_mib > 0

    def empty_fit(self, template: NodeTemplate, batch: PodBatch) -> int:
        """:meth:`fit` on one empty node of ``template``, without a pool."""
        cpu, mem = template.cpu_milli, template.memory_mib
        if self.headroom_percent and batch.pod_slots:
            cpu -= math.ceil(cpu * (self.headroom_percent / 100))
            mem -= math.ceil(mem * (self.headroom_percent / 100))
        return min(_one(cpu, batch.cpu_milli), _one(mem, batch.memory_mib))

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        cpu, mem = pool.live("free_cpu"), pool.live("free_mem")
        if self.headroom_percent and batch.pod_slots:
            cpu = cpu - self._reserve(pool.live("cap_cpu"), batch)
            mem = mem - self._reserve(pool.live("cap_mem"), batch)
        return np.minimum(_per_node(cpu, batch.cpu_milli), _per_node(mem, batch.memory_mib))

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        at = np.array([node])
        cpu = int(pool.free_cpu[node] - self._reserve(pool.cap_cpu[at], batch)[0])
        mem = int(pool.free_mem[node] - self._reserve(pool.cap_mem[at], batch)[0])
        by_cpu = max(cpu, 0) // batch.cpu_milli if batch.cpu_milli else UNLIMITED
        by_mem = max(mem, 0) // batch.memory_mib if batch.memory_mib else UNLIMITED
        kept = self.headroom_percent if batch.pod_slots else 0
        detail = f"{kept:g} % headroom kept" if kept else ""
        if by_cpu <= by_mem:
            return Unfit(
                "cpu_milli", batch.cpu_milli, float(cpu), float(pool.cap_cpu[node]), detail
            )
        return Unfit("memory_mib", batch.memory_mib, float(mem), float(pool.cap_mem[node]), detail)


class PodSlots:
    """Free pod slots under the node's max-pods policy (DaemonSet pods already counted)."""

    name = "PodSlots"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.pod_slots > 0

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return _per_node(pool.live("free_pods"), batch.pod_slots)

    def empty_fit(self, template: NodeTemplate, batch: PodBatch) -> int:
        """:meth:`fit` on one empty node of ``template``, without a pool."""
        return _one(template.pods, batch.pod_slots)

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        return Unfit(
            "pods",
            batch.pod_slots,
            float(pool.free_pods[node]),
            float(pool.cap_pods[node]),
            "max pods",
        )


class GpuModel:
    """GPU pods only on nodes of an allowed GPU model (the workload's ``gpu.models``)."""

    name = "GpuModel"
    gpu_kernel_checks = True  # the GPU kernel re-checks models pod by pod

    def relevant(self, batch: PodBatch) -> bool:
        return batch.needs_gpu and batch.gpu_models is not None

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        allowed = np.isin(pool.live("gpu_model"), np.fromiter(batch.gpu_models or (), np.int64))
        out: I64 = np.where(allowed, UNLIMITED, 0).astype(np.int64)
        return out

    def empty_fit(self, template: NodeTemplate, batch: PodBatch) -> int:
        """:meth:`fit` on one empty node of ``template``, without a pool."""
        return int(UNLIMITED) if template.gpu_model in (batch.gpu_models or ()) else 0

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        gpus = float(pool.gpu_cap[node].sum()) / GPU_WHOLE
        return Unfit("gpu_model", batch.gpu_count, 0, gpus, "model not allowed")


class GpuFit:
    """Whole GPUs (fully free devices) or a fraction of one device."""

    name = "GpuFit"
    gpu_kernel_checks = True  # the GPU kernel re-checks devices pod by pod

    def relevant(self, batch: PodBatch) -> bool:
        return batch.needs_gpu

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        free = pool.gpu_free[: pool.n]
        if batch.gpu_milli >= GPU_WHOLE:
            fit = (free >= GPU_WHOLE).sum(axis=1) // batch.gpu_count
        else:
            fit = (free // batch.gpu_milli).sum(axis=1)
        out: I64 = fit.astype(np.int64)
        return out

    def empty_fit(self, template: NodeTemplate, batch: PodBatch) -> int:
        """:meth:`fit` on one empty node of ``template``, without a pool."""
        if batch.gpu_milli >= GPU_WHOLE:
            whole = template.gpus if template.gpu_slice_milli >= GPU_WHOLE else 0
            return whole // batch.gpu_count
        return template.gpus * (template.gpu_slice_milli // batch.gpu_milli)

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        if batch.gpu_milli >= GPU_WHOLE:
            whole = float((pool.gpu_free[node] >= GPU_WHOLE).sum())
            cap = float((pool.gpu_cap[node] >= GPU_WHOLE).sum())
            return Unfit("gpus", batch.gpu_count, whole, cap, "whole GPUs")
        free, cap = float(pool.gpu_free[node].max()), float(pool.gpu_cap[node].max())
        return Unfit("gpu_milli", batch.gpu_milli, free, cap, "share of one GPU")


class PodAntiAffinity:
    """At most one replica of an anti-affine workload per node (host or rack rule; the
    rack rule's one per rack is the topology plugin's)."""

    name = "PodAntiAffinity"

    def relevant(self, batch: PodBatch) -> bool:
        return batch.anti_affinity != "none"

    def fit(self, pool: NodePool, batch: PodBatch) -> I64:
        return np.ones(pool.n, np.int64)

    def empty_fit(self, template: NodeTemplate, batch: PodBatch) -> int:
        """:meth:`fit` on one empty node of ``template``, without a pool."""
        return 1

    def unfit(self, pool: NodePool, batch: PodBatch, node: int) -> Unfit:
        return Unfit("anti_affinity", 1, 0, 1, f"one replica per {batch.anti_affinity}")
