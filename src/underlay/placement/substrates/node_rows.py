"""The node table's rows: one pool of nodes and what the table needs to know of them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.placement.pool import NodePool
from underlay.placement.result import NodeTable

__all__ = ["PoolRows", "node_table", "stacked_column"]

I64 = NDArray[np.int64]


@dataclass
class PoolRows:
    """One pool of nodes and what the node table needs to know of its rows."""

    pool: NodePool
    role: int
    cluster: I64 | int
    is_vm: bool
    size_cpu: I64
    size_mem: I64
    reserved_cpu: I64
    reserved_mem: I64
    system_cpu: int
    system_mem: int
    system_pods: int
    vm_overhead_mem: I64 | int = 0
    sandbox_cpu_per_pod: int = 0
    sandbox_mem_per_pod: int = 0
    cp_cpu: I64 | int = 0  # a stacked control plane's size, reserved on its nodes
    cp_mem: I64 | int = 0
    host_device: I64 | int = -1  # a GPU VM's device on its host


def node_table(r: PoolRows) -> NodeTable:
    """The node table's rows of one pool."""

    def full(v: I64 | int) -> I64:
        return np.full(r.pool.n, v, np.int64) if np.isscalar(v) else np.asarray(v, np.int64)

    pool, n = r.pool, r.pool.n
    used_pods = pool.live("cap_pods") - pool.live("free_pods")
    return NodeTable(
        host=pool.live("host").copy(),
        cluster=full(r.cluster),
        role=full(r.role),
        is_vm=np.full(n, r.is_vm),
        size_cpu=full(r.size_cpu),
        size_mem=full(r.size_mem),
        reserved_cpu=full(r.reserved_cpu),
        reserved_mem=full(r.reserved_mem),
        system_cpu=full(r.system_cpu),
        system_mem=full(r.system_mem),
        system_pods=full(r.system_pods),
        vm_overhead_mem=full(r.vm_overhead_mem),
        alloc_cpu=pool.live("cap_cpu").copy(),
        alloc_mem=pool.live("cap_mem").copy(),
        alloc_pods=pool.live("cap_pods").copy(),
        used_cpu=pool.live("cap_cpu") - pool.live("free_cpu"),
        used_mem=pool.live("cap_mem") - pool.live("free_mem"),
        used_pods=used_pods,
        sandbox_cpu=used_pods * r.sandbox_cpu_per_pod,
        sandbox_mem=used_pods * r.sandbox_mem_per_pod,
        control_plane_cpu=full(r.cp_cpu),
        control_plane_mem=full(r.cp_mem),
        host_gpu_device=full(r.host_device),
        gpu_cap_milli=pool.gpu_cap[:n].sum(axis=1),
        gpu_used_milli=(pool.gpu_cap[:n] - pool.gpu_free[:n]).sum(axis=1),
    )


def stacked_column(stacked: dict[int, tuple[int, int]] | None, n: int, part: int) -> I64:
    """Per node of ``n``: part ``part`` (CPU 0, memory 1) of the stacked control plane
    on it (0 on nodes without one)."""
    out = np.zeros(n, np.int64)
    for node, values in (stacked or {}).items():
        out[node] = values[part]
    return out
