"""What placement produced for one substrate: hosts, nodes, where each workload went."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Cluster, Tenant, Workload
from underlay.placement.control_planes import ControlPlane
from underlay.placement.fleet import HostTable
from underlay.placement.framework import Unfit

__all__ = [
    "ClusterRef",
    "NodeTable",
    "PlacementPart",
    "SubstratePlacement",
    "Unplaced",
    "WorkloadRef",
]

I64 = NDArray[np.int64]

# Node roles (also host roles, see fleet.ROLE_NAMES).
WORKER, CONTROL_PLANE, HOSTED_CONTROL_PLANE, MANAGEMENT = 0, 1, 2, 3
SHARED_CLUSTER = -1  # node_cluster of a multi-tenant cluster (a hybrid: of each shared
# part's own, told apart by the part's rows)
SHARED_KINDS = ("baremetal-shared", "sandboxed")  # substrates that run one shared cluster
HOSTED_POOL = -2  # node_cluster of shared nodes running hosted control planes


@dataclass(frozen=True)
class ClusterRef:
    """A tenant cluster with its global index."""

    index: int
    tenant_index: int
    tenant: Tenant
    cluster: Cluster


@dataclass(frozen=True)
class WorkloadRef:
    """A workload with its global index and owners."""

    index: int
    cluster_index: int
    tenant_index: int
    workload: Workload


@dataclass(frozen=True)
class Unplaced:
    """Pods of one workload that could not be placed, and why (as data)."""

    workload_index: int
    pods: int
    reason: Unfit


@dataclass
class NodeTable:
    """One row per node (a bare-metal host's node or a VM), as NumPy columns.

    ``size_*`` is the machine (host or VM); ``reserved_*`` the kubelet/system reservation;
    ``system_*`` the DaemonSet pods; ``control_plane_*`` a stacked control plane's size;
    ``alloc_*`` what is left for tenant pods; ``used_*`` the tenant pods' requests placed
    there (with sandbox overhead in ``sandbox_*``).
    """

    host: I64
    cluster: I64
    role: I64
    is_vm: NDArray[np.bool_]
    size_cpu: I64
    size_mem: I64
    reserved_cpu: I64
    reserved_mem: I64
    system_cpu: I64
    system_mem: I64
    system_pods: I64
    vm_overhead_mem: I64
    alloc_cpu: I64
    alloc_mem: I64
    alloc_pods: I64
    used_cpu: I64
    used_mem: I64
    used_pods: I64
    sandbox_cpu: I64
    sandbox_mem: I64
    control_plane_cpu: I64  # a stacked control plane's size, kept off this worker
    control_plane_mem: I64
    host_gpu_device: I64  # a GPU VM's (first) device on its host, -1 otherwise
    gpu_cap_milli: I64
    gpu_used_milli: I64

    def __len__(self) -> int:
        return len(self.host)

    @staticmethod
    def concat(tables: list[NodeTable]) -> NodeTable:
        """All rows of ``tables`` in order."""
        names = list(NodeTable.__dataclass_fields__)
        if not tables:
            return NodeTable(**{n: np.zeros(0, bool if n == "is_vm" else np.int64) for n in names})
        return NodeTable(**{n: np.concatenate([getattr(t, n) for t in tables]) for n in names})


@dataclass(frozen=True)
class PlacementPart:
    """One part of a hybrid placement: its substrate, tenants and rows of the fleet (a
    tenant whose GPU workloads go to a ``gpu_workloads`` part is in two parts)."""

    name: str
    kind: str  # the part's substrate kind
    substrate: str  # the part's substrate label (its name, or its kind when unnamed)
    tenants: tuple[int, ...]  # scenario tenant indices
    hosts: tuple[int, int]  # [start, stop) in the hybrid's host table
    nodes: tuple[int, int]  # [start, stop) in the hybrid's node table
    workloads: tuple[int, ...] = ()  # scenario workload indices (flatten order)
    shared_version: str | None = None  # a shared-cluster part's: its own cluster's version


@dataclass
class SubstratePlacement:
    """The placement of a whole scenario on one substrate."""

    kind: str
    name: str
    host_models: list[str]
    hosts: HostTable
    host_cpu: I64  # raw host cores (milli)
    host_mem: I64
    host_gpus: I64
    host_hypervisor_cpu: I64  # kept by the hypervisor (its host reservation)
    host_hypervisor_mem: I64
    nodes: NodeTable
    clusters: list[ClusterRef]
    workloads: list[WorkloadRef]
    placed: I64  # pods placed per workload
    pod_nodes: list[I64]  # per workload: node indices ...
    pod_counts: list[I64]  # ... and replicas on each
    pod_devices: list[I64]  # per GPU workload: each placed replica's (first) GPU device on
    # its node, in np.repeat(pod_nodes, pod_counts) order (-1: none); empty without GPUs
    unplaced: list[Unplaced]
    shared_version: str | None = None  # a hybrid: its first shared part's (see parts)
    sizing: bool = True
    lower_bound_hosts: int = 0  # given the GPU hosts bought (placement/bounds.py)
    lower_bound_hosts_any_gpu: int = 0  # GPU hosts bought for their CPU too
    notes: list[str] = field(default_factory=list)
    control_planes: list[ControlPlane] = field(default_factory=list)  # how each one ran
    parts: list[PlacementPart] = field(default_factory=list)  # a hybrid's parts (else empty)

    def shared_parts(self) -> list[PlacementPart]:
        """A hybrid's shared-cluster parts, in part order: each is a shared cluster of its
        own (own control plane, version, hosts), its nodes marked ``SHARED_CLUSTER`` in
        its own rows."""
        return [part for part in self.parts if part.kind in SHARED_KINDS]

    def running_version(self, tenant: int, wanted: str) -> str:
        """The Kubernetes version tenant ``tenant`` runs: its shared cluster's if it is on
        one (in a hybrid, the first shared part holding it: each runs its own), else
        ``wanted``, its own."""
        if self.parts:
            on = [part.shared_version for part in self.shared_parts() if tenant in part.tenants]
            return next((v for v in on if v), wanted)
        return self.shared_version or wanted

    def tenant_kinds(self, tenant: int) -> list[str]:
        """Every substrate kind tenant ``tenant`` runs on: in a hybrid, each part holding
        some of its workloads (two for a tenant split by GPU workloads), in part order."""
        kinds = [part.kind for part in self.parts if tenant in part.tenants]
        return list(dict.fromkeys(kinds)) or [self.kind]
