"""The GPU pods of a placement, and how the time-sliced ones share their devices.

The simulation (:mod:`replay_baseline.engine`) asks :meth:`GpuShares.step` for what
each GPU pod wanted and was given over a chunk of steps; what it means is on the class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from replay_baseline.contention import Kernels, share_by_weight
from replay_baseline.usage import UsageSampler
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Scenario
from underlay.placement.gpus import gpu_mode, gpu_share
from underlay.placement.part_substrates import each_workload_substrate
from underlay.placement.result import SubstratePlacement
from underlay.simulation.pods import PodTable

__all__ = ["TIME_SLICED_MODES", "GpuShares"]

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

# Modes in which a fraction of a GPU is time-sliced (passthrough: inside the pod's VM).
TIME_SLICED_MODES = ("time-slicing", "vgpu", "passthrough")


@dataclass(frozen=True)
class GpuShares:
    """The GPU pods (canonical indices), what each was given and how it shares its GPU.

    A pod given a fraction of a GPU in a time-sliced mode — bare-metal time-slicing, a
    fraction of a GPU passed through to its VM, or a vGPU — is *time-sliced*: it shares one
    physical device (a bare-metal host's GPU; a GPU passed through to its VM, which is the
    VM's own — on a vGPU substrate too, when the VM holds whole GPUs; or, in a VM holding a
    vGPU slice, the host GPU the slice is on) and is work-conserving, without isolation: on
    each physical device the GPU time is split equally among the pods that want it, each
    capped at what it wants (NVIDIA's time-slicing and the vGPU best-effort scheduler are
    round-robin), so a pod may use idle time beyond its share and loses some of its share
    when its neighbours want more; its demand is all it wants. Any other pod — whole GPUs,
    a MIG slice, a MIG-backed vGPU, or a fraction its GPU memory rounds up to a whole GPU —
    has what it was given to itself and uses at most that: its demand is min(want, share).
    A pod never placed gets nothing; its demand is what it would want placed, by the same
    rules (demand does not hang on placement).
    """

    pods: I64  # canonical indices of GPU pods
    tenant: I64
    share: F32  # milli-GPUs each was given (per GPU × GPUs; what it asks when unplaced)
    placed: NDArray[np.bool_]
    time_sliced: NDArray[np.bool_]  # demand is all it wants (placed or not)
    sliced: I64  # rows of ``pods`` that are time-sliced and placed, sorted by device
    devices: Kernels  # those rows grouped by physical device

    @staticmethod
    def build(
        scenario: Scenario,
        defaults: Defaults,
        placement: SubstratePlacement,
        substrate: object,
        pods: PodTable,
        node: I64,
    ) -> GpuShares:
        """The GPU pods of ``placement`` and the devices the time-sliced ones share."""
        gpu_w = [i for i, w in enumerate(placement.workloads) if w.workload.gpu_count]
        idx = np.flatnonzero(np.isin(pods.workload, gpu_w)) if gpu_w else np.zeros(0, np.int64)
        reps = np.bincount(pods.workload, minlength=len(placement.workloads))
        starts = np.cumsum(reps) - reps
        device = np.full(len(pods), -1, np.int64)
        for w in gpu_w:
            d = placement.pod_devices[w]
            device[starts[w] : starts[w] + len(d)] = d
        share = np.zeros(len(pods), np.float32)
        time_sliced = np.zeros(len(pods), bool)
        key = np.full(len(pods), -1, np.int64)
        nodes = placement.nodes
        n_nodes = max(len(nodes), 1)
        # A VM holding a vGPU slice (less than one GPU): its pods share the host's GPU.
        on_slice = nodes.is_vm & (nodes.gpu_cap_milli > 0) & (nodes.gpu_cap_milli < 1000)
        # each workload's share and mode on its own substrate (a hybrid's: its part's)
        subs = each_workload_substrate(substrate, placement)
        for w in gpu_w:
            wl = placement.workloads[w].workload
            rows = np.arange(starts[w], starts[w] + reps[w])
            milli = gpu_share(scenario, defaults, subs[w], wl, wl.name).milli
            share[rows] = milli * wl.gpu_count
            if milli >= 1000 or gpu_mode(subs[w], wl) not in TIME_SLICED_MODES:
                continue
            time_sliced[rows] = True
            r = rows[node[rows] >= 0]
            vm = node[r]
            slot = np.where(on_slice[vm], nodes.host_gpu_device[vm], device[r])
            if (slot < 0).any():
                raise AssertionError(f"placement recorded no GPU device for pods of {wl.name}")
            # the host's GPU under a vGPU slice; else the node's GPU (a bare-metal host's or
            # one passed through to the VM)
            key[r] = np.where(on_slice[vm], n_nodes + nodes.host[vm], vm) * 64 + slot
        sliced = time_sliced & (key >= 0)
        sel = idx[np.argsort(~sliced[idx], kind="stable")]  # placed time-sliced pods first
        n_sliced = int(sliced[idx].sum())
        order = np.argsort(key[sel[:n_sliced]], kind="stable")
        sel[:n_sliced] = sel[:n_sliced][order]
        keys = key[sel[:n_sliced]]
        first = (
            np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            if n_sliced
            else np.zeros(0, np.int64)
        )
        counts = np.diff(np.r_[first, n_sliced]).astype(np.int64)
        return GpuShares(
            pods=sel.astype(np.int64),
            tenant=pods.tenant[sel],
            share=share[sel],
            placed=node[sel] >= 0,
            time_sliced=time_sliced[sel],
            sliced=np.arange(n_sliced, dtype=np.int64),
            devices=Kernels(starts=first.astype(np.int64), counts=counts),
        )

    def step(self, sampler: UsageSampler) -> tuple[F32, F32]:
        """(demand, granted) milli-GPUs of each GPU pod over the sampler's current span."""
        want = sampler.gpu_rows(self.pods, self.share)
        # A time-sliced pod may want idle time beyond its share; any other uses at most
        # what it was given. A pod never placed gets nothing.
        demand = np.where(self.time_sliced[:, None], want, np.minimum(want, self.share[:, None]))
        granted = np.where(self.placed[:, None], demand, np.float32(0))
        n = len(self.sliced)
        if n:
            s = self.sliced
            free = np.full((self.devices.n, want.shape[1]), 1000.0, np.float32)
            granted[s] = share_by_weight(want[s], np.ones_like(want[s]), free, self.devices)
        return demand, granted
