"""What the stepping kernel needs to know of each pod and node, as columns.

Per pod (:func:`pod_columns`): the substrate's CPU tax, the workload's and the pod
cgroup's requests and limits, a sandbox's own use and vCPU cap, the priority; per node
(:func:`node_load`): what its own software uses. The rules are in the engine's module
docstring (:mod:`underlay.simulation.engine`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Sandboxed
from underlay.placement.overheads import cpu_tax
from underlay.placement.part_substrates import distinct_substrates, workload_substrates
from underlay.placement.result import SubstratePlacement
from underlay.simulation.pods import PodTable

__all__ = ["PodColumns", "node_load", "pod_columns", "workload_substrates"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class PodColumns:
    """Per-pod parameters of the placed pods in kernel order, as (pods × 1) float32 columns.

    ``*_pod`` are the pod cgroup's (the workload's plus a sandbox's overhead); ``lim_w``
    the workload's own CPU limit; ``vcap`` a sandbox guest's vCPUs (inf elsewhere).
    """

    factor: F32  # CPU needed per unit of bare-metal work (the substrate's tax)
    lim_w: F32
    vcap: F32
    ovh_cpu: F32  # what the sandbox itself uses
    ovh_mem: F32
    req_cpu: F32  # the pod cgroup's
    lim_cpu: F32
    req_mem: F32
    lim_mem: F32
    priority: I64
    taxed: bool  # some factor is not 1
    vcapped: bool  # some pod is held to a sandbox's vCPUs
    overhead: bool  # the sandbox uses CPU or memory of its own


def pod_columns(
    substrate: object,
    defaults: Defaults,
    pods: PodTable,
    idx: I64,
    per_workload: Sequence[object] | None = None,
) -> PodColumns:
    """The parameters of pods ``idx`` (canonical indices) on ``substrate``; a hybrid's pods
    on their workload's part (``per_workload[w]``: the substrate of workload ``w``)."""
    subs: list[object] = [substrate]
    which = np.zeros(len(idx), np.int64)  # each pod's entry of subs
    if per_workload is not None:
        subs, code = distinct_substrates(list(per_workload))
        which = code[pods.workload[idx]] if len(code) else which
    tax = np.array([[cpu_tax(s, defaults, c) for c in pods.workload_class] for s in subs])
    wid = pods.workload[idx]
    factor = 1.0 / (1.0 - tax[which, wid]) if tax.size else np.ones(len(idx))
    lim_w = pods.lim_cpu[idx]
    lim_mem_w = pods.lim_mem[idx].copy()
    vcap = np.full(len(idx), np.inf)
    ovh_cpu, ovh_mem = np.zeros(len(idx)), np.zeros(len(idx))
    for k, sub in enumerate(subs):
        if not isinstance(sub, Sandboxed):
            continue
        on = which == k
        runtime = defaults.sandbox_runtimes[sub.runtime]
        ovh_cpu[on] = float(runtime.pod_overhead.cpu_milli)
        ovh_mem[on] = float(runtime.pod_overhead.memory_mib)
        if runtime.default_vcpus is not None:
            # A CPU limit hot-adds ceil(limit) vCPUs to the default ones: never binding.
            vcap[on] = np.where(np.isfinite(lim_w[on]), np.inf, runtime.default_vcpus * 1000.0)
        if runtime.default_memory_mib is not None:
            # Likewise a memory limit hot-adds that much memory: only unlimited pods are
            # held to the guest's default memory.
            lim_mem_w[on] = np.where(
                np.isfinite(lim_mem_w[on]), lim_mem_w[on], float(runtime.default_memory_mib)
            )

    def col(x: F64 | float) -> F32:
        return np.broadcast_to(np.asarray(x, np.float64), (len(idx),)).astype(np.float32)[:, None]

    return PodColumns(
        factor=col(factor),
        lim_w=col(lim_w),
        vcap=col(vcap),
        ovh_cpu=col(ovh_cpu),
        ovh_mem=col(ovh_mem),
        req_cpu=col(pods.req_cpu[idx] + ovh_cpu),
        lim_cpu=col(lim_w + ovh_cpu),
        req_mem=col(pods.req_mem[idx] + ovh_mem),
        lim_mem=col(lim_mem_w + ovh_mem),
        priority=pods.priority[idx],
        taxed=bool((factor != 1.0).any()),
        vcapped=bool(np.isfinite(vcap).any()),
        overhead=bool(ovh_cpu.any() or ovh_mem.any()),
    )


def node_load(placement: SubstratePlacement, defaults: Defaults) -> tuple[F64, F64]:
    """(CPU millicores, memory MiB) each node's own software uses: the kubelet and runtime
    (CPU), the DaemonSet pods at their constant share of requests, and a stacked control
    plane at its ``use_fraction`` of the size kept for it."""
    d, nodes = defaults.node_daemons, placement.nodes
    cp = defaults.control_plane.use_fraction
    cpu = (
        d.kubelet_runtime_cpu_milli
        + d.system_pods_cpu_use * nodes.system_cpu
        + cp * nodes.control_plane_cpu
    )
    mem = d.system_pods_memory_use * nodes.system_mem + cp * nodes.control_plane_mem
    return cpu.astype(np.float64), mem.astype(np.float64)
