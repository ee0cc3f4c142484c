"""What a placed substrate says, cluster by cluster, in the terms the Kubernetes and
Karpenter targets write: each cluster's version, node pools and workloads.

A *cluster* is a tenant cluster (its nodes are its own: a dedicated host or a VM) or a
shared cluster (``baremetal-shared``, ``sandboxed``, or a hybrid's shared part, named
after that part or substrate). A tenant cluster that a hybrid splits between parts (its
GPU workloads on bare metal, the rest in VMs) is still one cluster with two pools.

A *node pool* is a cluster's worker nodes of one shape: the same host model, VM size,
GPUs and sandbox runtime. Control-plane and hosted control-plane nodes are not pools:
the targets for clusters that exist leave control planes as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.errors import ExportError
from underlay.export.k8s_names import unique_labels
from underlay.export.manifest import ExportInput
from underlay.model.scenario import (
    BaremetalDedicated,
    BaremetalShared,
    Hybrid,
    Sandboxed,
    Substrate,
    Tenant,
    Vm,
    Workload,
)
from underlay.placement.result import SHARED_CLUSTER, WORKER

__all__ = ["PlacedCluster", "PlacedPool", "PlacedWorkload", "placed_clusters"]

I64 = NDArray[np.int64]
PartSubstrateT = BaremetalDedicated | BaremetalShared | Vm | Sandboxed


@dataclass(frozen=True)
class PlacedPool:
    """A cluster's worker nodes of one shape."""

    name: str  # unique in its cluster, a DNS label
    nodes: int
    host_model: str
    vm_shape: str | None  # the VM size's name (a shape of the substrate or the menu), or
    # None on bare metal
    cpu_milli: int  # each node's machine: the host's cores, or the VM's vCPUs
    memory_mib: int
    gpus: int  # GPU devices per node (a vGPU VM's one slice counts as its one device)
    gpu_model: str | None
    runtime: str | None  # the sandbox runtime its pods run in (sandboxed), else None
    substrate_kind: str

    @property
    def instance_type(self) -> str:
        """What ``node.kubernetes.io/instance-type`` says on these nodes."""
        return self.vm_shape or self.host_model


@dataclass(frozen=True)
class PlacedWorkload:
    """A workload and the tenant it belongs to, as it runs on one cluster."""

    tenant_index: int
    tenant: Tenant
    cluster: str  # the tenant's own cluster (its name in the scenario)
    workload: Workload
    runtime: str | None  # its pool's sandbox runtime


@dataclass(frozen=True)
class PlacedCluster:
    """One Kubernetes cluster of the plan."""

    name: str  # unique in the export, a DNS label
    shared: bool  # a multi-tenant cluster (tenants are namespaces)
    version: str  # the Kubernetes minor version it runs
    pools: tuple[PlacedPool, ...]
    workloads: tuple[PlacedWorkload, ...]

    @property
    def tenants(self) -> list[int]:
        """Scenario indices of the tenants with workloads here, in scenario order."""
        return sorted({w.tenant_index for w in self.workloads})


def _part_substrates(inp: ExportInput) -> list[tuple[int, int, PartSubstrateT, str]]:
    """Per node range of the fleet: (start, stop, substrate, label of its shared cluster)."""
    labels = inp.scenario.substrate_labels
    if inp.substrate not in labels:
        raise ExportError(
            f"substrate {inp.substrate!r} is not in the scenario (it lists: {', '.join(labels)})"
        )
    sub: Substrate = inp.scenario.substrate(inp.substrate)
    if isinstance(sub, Hybrid):
        by_name = {p.name: p.substrate for p in sub.parts}
        return [(p.nodes[0], p.nodes[1], by_name[p.name], p.name) for p in inp.placement.parts]
    return [(0, len(inp.placement.nodes), sub, inp.substrate)]


def _refuse_unplaced(inp: ExportInput) -> None:
    p = inp.placement
    if not p.unplaced:
        return
    u = p.unplaced[0]
    ref = p.workloads[u.workload_index]
    tenant = inp.scenario.tenants[ref.tenant_index]
    total = sum(x.pods for x in p.unplaced)
    raise ExportError(
        f"substrate {inp.substrate!r}: the plan leaves {total} pod(s) unplaced, e.g. "
        f"{u.pods} of tenant {tenant.name!r} workload {ref.workload.name!r} "
        f"({u.reason.describe()}); manifests of a plan "
        "that does not hold every pod would not run it: give the scenario the hosts it needs"
    )


def placed_clusters(inp: ExportInput) -> list[PlacedCluster]:
    """The plan's clusters, tenant clusters first (scenario order), then shared ones.

    Raises :class:`~underlay.errors.ExportError` when the plan leaves pods unplaced or
    ``inp.substrate`` is not one of the scenario's.
    """
    ranges = _part_substrates(inp)
    _refuse_unplaced(inp)
    p = inp.placement
    n = p.nodes
    # Each node's cluster key: a tenant cluster's index, or -(range + 10) for the shared
    # cluster of node range `range` (each shared part is a cluster of its own).
    key = n.cluster.copy()
    part_of = np.zeros(len(n), np.int64)
    for i, (start, stop, _, _) in enumerate(ranges):
        part_of[start:stop] = i
        rows = slice(start, stop)
        key[rows] = np.where(n.cluster[rows] == SHARED_CLUSTER, -(i + 10), n.cluster[rows])
    workers = np.flatnonzero(n.role == WORKER)
    keys = sorted({int(k) for k in key[workers]}, key=lambda k: (k < 0, abs(k)))
    names = unique_labels([_cluster_label(inp, k, ranges) for k in keys])
    out = []
    for k, name in zip(keys, names, strict=True):
        rows = workers[key[workers] == k]
        pools = _pools(inp, rows, ranges, part_of)
        loads = _workloads(inp, key, k, ranges, part_of)
        out.append(PlacedCluster(name, k < 0, _version(inp, k, ranges), tuple(pools), tuple(loads)))
    return out


def _cluster_label(
    inp: ExportInput, key: int, ranges: Sequence[tuple[int, int, PartSubstrateT, str]]
) -> str:
    if key < 0:
        return ranges[-key - 10][3]
    return inp.placement.clusters[key].cluster.name


def _version(
    inp: ExportInput, key: int, ranges: Sequence[tuple[int, int, PartSubstrateT, str]]
) -> str:
    p = inp.placement
    if key >= 0:
        return p.clusters[key].tenant.kubernetes_version
    version = p.shared_version
    if p.parts:
        label = ranges[-key - 10][3]
        version = next(x for x in p.parts if x.name == label).shared_version or version
    assert version is not None  # placement always picks a shared cluster's version
    return version


def _pools(
    inp: ExportInput,
    rows: I64,
    ranges: Sequence[tuple[int, int, PartSubstrateT, str]],
    part_of: I64,
) -> list[PlacedPool]:
    p, n = inp.placement, inp.placement.nodes
    hw = inp.scenario.hardware
    host_model = np.asarray(p.hosts.model, np.int64)
    rows_shape = np.stack(
        [
            part_of[rows],
            host_model[n.host[rows]],
            n.is_vm[rows].astype(np.int64),
            -n.size_cpu[rows],  # larger machines first
            -n.size_mem[rows],
            n.gpu_cap_milli[rows],
        ],
        axis=1,
    )
    shapes, counts = np.unique(rows_shape, axis=0, return_counts=True)
    pools = []
    for (part, model_index, is_vm, cpu, mem, gpu_milli), count in zip(
        shapes.tolist(), counts.tolist(), strict=True
    ):
        model = p.host_models[model_index]
        cpu, mem = -cpu, -mem
        sub = ranges[part][2]
        host = hw.model_named(model)
        vm_shape = _shape_name(inp, sub, cpu, mem) if is_vm else None
        runtime = sub.runtime if isinstance(sub, Sandboxed) else None
        # A VM with a vGPU slice (under 1000 milli-GPUs) sees one GPU device: the vGPU.
        gpus = -(-gpu_milli // 1000)
        pools.append(
            PlacedPool(
                name="",
                nodes=count,
                host_model=model,
                vm_shape=vm_shape,
                cpu_milli=cpu,
                memory_mib=mem,
                gpus=gpus,
                gpu_model=host.gpus.model if gpus and host.gpus else None,
                runtime=runtime,
                substrate_kind=sub.kind,
            )
        )
    names = unique_labels([x.instance_type for x in pools])
    return [PlacedPool(**{**x.__dict__, "name": nm}) for x, nm in zip(pools, names, strict=True)]


def _shape_name(inp: ExportInput, sub: PartSubstrateT, cpu_milli: int, memory_mib: int) -> str:
    """The name of the VM size ``cpu_milli`` × ``memory_mib``: the substrate's own shape or
    the defaults' menu entry of that size, else ``vm-<vcpus>c-<memory>`` (an auto size)."""
    listed = []
    if isinstance(sub, Vm):
        if isinstance(sub.shapes, list):
            listed = list(sub.shapes)
        elif sub.shapes == "menu":
            listed = list(inp.defaults.vm_sizing.menu)
    for shape in listed:
        if shape.vcpus * 1000 == cpu_milli and shape.memory_mib == memory_mib:
            return shape.name
    mem = f"{memory_mib // 1024}gi" if memory_mib % 1024 == 0 else f"{memory_mib}mi"
    return f"vm-{cpu_milli // 1000}c-{mem}"


def _workloads(
    inp: ExportInput,
    key: I64,
    cluster_key: int,
    ranges: Sequence[tuple[int, int, PartSubstrateT, str]],
    part_of: I64,
) -> list[PlacedWorkload]:
    """The workloads whose pods run on cluster ``cluster_key`` (each on one cluster: the
    first node its pods went to says which)."""
    p = inp.placement
    out = []
    for ref, nodes in zip(p.workloads, p.pod_nodes, strict=True):
        if len(nodes) == 0 or int(key[int(nodes[0])]) != cluster_key:
            continue
        sub = ranges[int(part_of[int(nodes[0])])][2]
        c = p.clusters[ref.cluster_index]
        out.append(
            PlacedWorkload(
                ref.tenant_index,
                c.tenant,
                c.cluster.name,
                ref.workload,
                sub.runtime if isinstance(sub, Sandboxed) else None,
            )
        )
    return out
