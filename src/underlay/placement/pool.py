"""Nodes as a growable structure of NumPy arrays: capacity, free resources, GPUs, location.

A *node* is what pods land on: a bare-metal host (one node per host) or a VM. The same
pool type also holds hosts when VMs are the things being placed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["GPU_WHOLE", "NodePool", "NodeTemplate"]

GPU_WHOLE = 1000  # milli-GPUs in one GPU
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class NodeTemplate:
    """What a newly opened node offers to pods (after reservations and system pods)."""

    cpu_milli: int
    memory_mib: int
    pods: int
    gpus: int = 0  # GPU devices the node sees
    gpu_model: int = -1  # code into the fleet's GPU model list, -1 = none
    gpu_slice_milli: int = GPU_WHOLE  # capacity of each device: a vGPU VM sees one slice
    host_model: int = 0
    label: str = ""


@dataclass
class NodePool:
    """Structure-of-arrays of nodes; only the first ``n`` entries are live."""

    max_gpus: int
    n: int = 0
    cap_cpu: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    cap_mem: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    cap_pods: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    free_cpu: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    free_mem: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    free_pods: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    gpu_cap: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    gpu_free: I64 = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    gpu_model: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    host: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    rack: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    host_model: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    templates: list[NodeTemplate] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.max_gpus = max(1, self.max_gpus)
        if self.gpu_cap.shape[1:] != (self.max_gpus,):
            self.gpu_cap = np.zeros((len(self.cap_cpu), self.max_gpus), np.int64)
            self.gpu_free = np.zeros((len(self.cap_cpu), self.max_gpus), np.int64)

    def _grow(self, need: int) -> None:
        size = len(self.cap_cpu)
        if self.n + need <= size:
            return
        new = max(16, 2 * size, self.n + need)
        for name in (
            "cap_cpu", "cap_mem", "cap_pods", "free_cpu", "free_mem", "free_pods",
            "gpu_model", "host", "rack", "host_model",
        ):  # fmt: skip
            old = getattr(self, name)
            arr = np.zeros(new, np.int64)
            arr[:size] = old
            setattr(self, name, arr)
        for name in ("gpu_cap", "gpu_free"):
            old = getattr(self, name)
            arr = np.zeros((new, self.max_gpus), np.int64)
            arr[:size] = old
            setattr(self, name, arr)

    def open(self, template: NodeTemplate, hosts: I64, racks: I64) -> I64:
        """Append ``len(hosts)`` empty nodes of ``template``; returns their indices."""
        k = len(hosts)
        self._grow(k)
        idx = np.arange(self.n, self.n + k)
        self.cap_cpu[idx] = self.free_cpu[idx] = template.cpu_milli
        self.cap_mem[idx] = self.free_mem[idx] = template.memory_mib
        self.cap_pods[idx] = self.free_pods[idx] = template.pods
        self.gpu_cap[idx] = 0
        self.gpu_cap[idx, : template.gpus] = template.gpu_slice_milli
        self.gpu_free[idx] = self.gpu_cap[idx]
        self.gpu_model[idx] = template.gpu_model
        self.host[idx] = hosts
        self.rack[idx] = racks
        self.host_model[idx] = template.host_model
        self.templates.extend([template] * k)
        self.n += k
        return idx

    # Views of the live part -------------------------------------------------------
    def live(self, name: str) -> I64:
        """The live slice of array ``name``."""
        arr: I64 = getattr(self, name)[: self.n]
        return arr
