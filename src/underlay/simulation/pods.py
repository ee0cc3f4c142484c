"""Every pod of a scenario as NumPy columns, in a canonical order shared by all substrates.

Pods are numbered workload by workload, replica by replica, so pod ``k`` of workload ``w``
sees the same usage on every substrate; only where it runs differs. A placement maps the
first replicas of a workload to its nodes, in node order; replicas it could not place
have node -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement, WorkloadRef

__all__ = [
    "QOS_BESTEFFORT",
    "QOS_BURSTABLE",
    "QOS_GUARANTEED",
    "PodTable",
    "pod_nodes",
    "pod_table",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
QOS_BESTEFFORT, QOS_BURSTABLE, QOS_GUARANTEED = 0, 1, 2
_QOS = {"besteffort": QOS_BESTEFFORT, "burstable": QOS_BURSTABLE, "guaranteed": QOS_GUARANTEED}
# Usage levels of a pod that requests nothing and has no limit are fractions of these.
BASE_CPU_MILLI, BASE_MEMORY_MIB = 100.0, 128.0


@dataclass(frozen=True)
class PodTable:
    """Columns of all pods (length P) and the workloads they belong to."""

    workload: I64
    replica: I64
    tenant: I64
    req_cpu: F64  # millicores
    req_mem: F64  # MiB
    lim_cpu: F64  # inf when unlimited
    lim_mem: F64
    base_cpu: F64  # what usage fractions are fractions of
    base_mem: F64
    qos: I64
    priority: I64
    workload_class: list[str]  # per workload

    def __len__(self) -> int:
        return len(self.workload)


def pod_table(scenario: Scenario, workloads: list[WorkloadRef]) -> PodTable:
    """The canonical pod table of ``scenario`` (``workloads`` from placement.flatten)."""
    reps = np.array([w.workload.replicas for w in workloads], np.int64)
    wid = np.repeat(np.arange(len(workloads)), reps)
    starts = np.cumsum(reps) - reps
    replica = np.arange(int(reps.sum())) - np.repeat(starts, reps)

    def col(values: list[float]) -> F64:
        return np.repeat(np.asarray(values, np.float64), reps)

    req_cpu = [float(w.workload.requests.cpu_milli) for w in workloads]
    req_mem = [float(w.workload.requests.memory_mib) for w in workloads]
    lim_cpu, lim_mem, base_cpu, base_mem = [], [], [], []
    for w, rc, rm in zip(workloads, req_cpu, req_mem, strict=True):
        lim = w.workload.limits
        lc = float(lim.cpu_milli) if lim and lim.cpu_milli else np.inf
        lm = float(lim.memory_mib) if lim and lim.memory_mib else np.inf
        lim_cpu.append(lc)
        lim_mem.append(lm)
        base_cpu.append(rc or (lc if np.isfinite(lc) else BASE_CPU_MILLI))
        base_mem.append(rm or (lm if np.isfinite(lm) else BASE_MEMORY_MIB))
    return PodTable(
        workload=wid.astype(np.int64),
        replica=replica.astype(np.int64),
        tenant=np.repeat(np.array([w.tenant_index for w in workloads], np.int64), reps),
        req_cpu=col(req_cpu),
        req_mem=col(req_mem),
        lim_cpu=col(lim_cpu),
        lim_mem=col(lim_mem),
        base_cpu=col(base_cpu),
        base_mem=col(base_mem),
        qos=np.repeat(np.array([_QOS[w.workload.qos_class] for w in workloads], np.int64), reps),
        priority=np.repeat(np.array([w.workload.priority for w in workloads], np.int64), reps),
        workload_class=[w.workload.workload_class for w in workloads],
    )


def pod_nodes(placement: SubstratePlacement, pods: PodTable) -> I64:
    """Node of every pod of ``pods`` on ``placement`` (-1 where it was not placed)."""
    out = np.full(len(pods), -1, np.int64)
    reps = np.bincount(pods.workload, minlength=len(placement.workloads))
    start = np.cumsum(reps) - reps
    for w, (nodes, counts) in enumerate(
        zip(placement.pod_nodes, placement.pod_counts, strict=True)
    ):
        if len(nodes):
            placed = np.repeat(nodes, counts)
            out[start[w] : start[w] + len(placed)] = placed
    return out
