"""The per-cluster facts every export target writes, read from one placed substrate.

A *cluster* here is one Kubernetes cluster of the placed fleet: a tenant cluster on a
dedicated substrate (one per hybrid part it has workloads in: a tenant whose GPU
workloads go to a ``gpu_workloads`` part runs a second cluster there), or the one shared
cluster of a ``baremetal-shared`` / ``sandboxed`` substrate or part. For each:

- its Kubernetes version (the tenant's; a shared cluster's own);
- its control plane (mode, replicas and the machine it runs on) as placement ran it;
- its worker *pools*: the worker nodes grouped by machine (a bare-metal host model, or a
  VM shape with its GPUs) and kubelet configuration, with their count;
- the kubelet configuration of each machine: the node reservation placement kept back
  (``kubernetes.node_reservation``'s formula of the defaults, on that machine's size and
  max pods), its eviction threshold, max pods (the cluster's ``max_pods`` policy), and the
  static CPU manager policy where pinned (see :func:`pinned_nodes`).

The figures are the placement's own (``SubstratePlacement.nodes``), not recomputed, so the
export is what underlay measured; each carries the words naming it (:class:`Figure`).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from underlay.errors import ExportError
from underlay.export.manifest import ExportInput
from underlay.export.names import object_name
from underlay.model.scenario import BaremetalShared, MaxPodsPolicy, Sandboxed, Scenario
from underlay.placement.result import (
    CONTROL_PLANE,
    SHARED_CLUSTER,
    WORKER,
    PlacementPart,
)

__all__ = [
    "HOST_MODEL_LABEL",
    "ClusterFacts",
    "ControlPlaneFacts",
    "Kubelet",
    "Machine",
    "PoolFacts",
    "cluster_facts",
    "pinned_nodes",
]

HOST_MODEL_LABEL = "underlay.io/host-model"
"""The label naming a host's model (on ``BareMetalHost`` stubs; Metal3 host selectors
match it)."""

GPU_WHOLE = 1000  # gpu_cap_milli of one whole device


@dataclass(frozen=True)
class Kubelet:
    """The kubelet configuration placement assumed on one machine."""

    max_pods: int
    reserved_cpu_milli: int  # kube + system reserved, as the formula gives them (one figure)
    reserved_memory_mib: int  # the same, without the eviction threshold
    eviction_mib: int  # memory.available hard eviction threshold
    cpu_manager_static: bool
    policy: str  # kubernetes.node_reservation: gke, eks, aks, none
    max_pods_rule: str  # the max-pods policy that gave max_pods, in words


@dataclass(frozen=True)
class Machine:
    """A machine: a bare-metal host of a model, or a VM of a shape (with its GPUs)."""

    vm: bool
    host_model: str  # bare metal: its model; a GPU VM: its host's model ("" for other VMs)
    cpu_milli: int
    memory_mib: int
    gpus: int = 0  # whole GPU devices (bare metal: the host's; a VM: passthrough)
    gpu_slice_milli: int = 0  # a VM's one vGPU slice (thousandths of a GPU), 0 when none
    gpu_model: str | None = None

    @property
    def label(self) -> str:
        """A short name of the machine, for object names: the host model, or the VM shape
        (``vm-16c-64g``, ``vm-16c-64g-2gpu``, ``vm-8c-32g-vgpu500m``)."""
        if not self.vm:
            return self.host_model
        mem = (
            f"{self.memory_mib // 1024}g" if self.memory_mib % 1024 == 0 else f"{self.memory_mib}mi"
        )
        gpu = f"-{self.gpus}gpu" if self.gpus else ""
        gpu += f"-vgpu{self.gpu_slice_milli}m" if self.gpu_slice_milli else ""
        return f"vm-{self.cpu_milli // 1000}c-{mem}{gpu}"


@dataclass(frozen=True)
class PoolFacts:
    """Worker nodes of one cluster on one machine with one kubelet configuration."""

    name: str  # DNS label, unique in the cluster
    machine: Machine
    replicas: int
    kubelet: Kubelet


@dataclass(frozen=True)
class ControlPlaneFacts:
    """A cluster's control plane as placement ran it."""

    mode: str  # dedicated, stacked, management, hosted
    replicas: int
    vcpus: int  # each replica's size, from the defaults' control-plane table
    memory_mib: int
    nodes: int  # the cluster's node count the size was chosen for
    machine: Machine | None  # the machine its replicas run on (None: hosted)
    kubelet: Kubelet | None


@dataclass(frozen=True)
class ClusterFacts:
    """One Kubernetes cluster of the placed fleet."""

    name: str  # DNS label, unique in the export
    title: str  # who it is, in words: ``tenant research, cluster research``
    cluster: str | None  # the scenario's cluster name (None: a shared cluster)
    kind: str  # the substrate kind it runs on (its part's, in a hybrid)
    part: str | None  # the hybrid part, when the substrate is a hybrid
    substrate: object  # the (part's) substrate model: Vm, BaremetalDedicated, ...
    tenants: tuple[str, ...]
    version: str  # Kubernetes minor, e.g. 1.33
    pod_cidr_prefix: int  # each node's pod CIDR (the cluster's max_pods policy)
    control_plane: ControlPlaneFacts
    pools: tuple[PoolFacts, ...]
    hosts: tuple[int, ...]  # rows of the placement's host table its machines run on


def pinned_nodes(inp: ExportInput) -> NDArray[np.bool_]:
    """Per node: whether it runs a pod the kubelet's static CPU manager would pin.

    The static policy gives exclusive cores only to Guaranteed pods requesting whole CPUs
    (kubernetes.io, "Control CPU Management Policies on the Node"); a node running one is
    exported with ``cpu-manager-policy=static`` (and, as a KubeVirt VM, dedicated CPU
    placement, so the cores it pins are the host's own)."""
    p = inp.placement
    pinned = np.zeros(len(p.nodes), dtype=np.bool_)
    for w, nodes in zip(p.workloads, p.pod_nodes, strict=True):
        wl = w.workload
        if wl.qos_class == "guaranteed" and wl.requests.cpu_milli % 1000 == 0 and len(nodes):
            pinned[nodes] = True
    return pinned


def _parts(inp: ExportInput) -> list[PlacementPart]:
    """The parts of the placement; a plain substrate is one part covering it all."""
    p = inp.placement
    if p.parts:
        return [q for q in p.parts if q.nodes[1] > q.nodes[0]]
    every = tuple(range(len(inp.scenario.tenants)))
    return [
        PlacementPart(
            name="",
            kind=p.kind,
            substrate=inp.substrate,
            tenants=every,
            hosts=(0, len(p.hosts)),
            nodes=(0, len(p.nodes)),
            shared_version=p.shared_version,
        )
    ]


def _part_substrate(inp: ExportInput, part: PlacementPart) -> object:
    sub = inp.scenario.substrate(inp.substrate)
    if part.name and hasattr(sub, "parts"):
        return next(q.substrate for q in sub.parts if q.name == part.name)
    return sub


def cluster_facts(inp: ExportInput) -> list[ClusterFacts]:
    """Every cluster of ``inp``'s placed substrate, parts in order, clusters in scenario
    order within a part (the shared cluster of a shared part first)."""
    builder = _Facts(inp)
    out: list[ClusterFacts] = []
    for part in _parts(inp):
        lo, hi = part.nodes
        owners = inp.placement.nodes.cluster[lo:hi]
        for c in sorted({int(x) for x in owners.tolist()} - {-2}):
            out.append(builder.cluster(part, c))
    return builder.named(out)


class _Facts:
    """The figures of one placement, read cluster by cluster."""

    def __init__(self, inp: ExportInput) -> None:
        self.inp = inp
        self.p = inp.placement
        self.pinned = pinned_nodes(inp)
        self.policy_name = inp.scenario.kubernetes.node_reservation
        self.eviction = math.ceil(inp.defaults.node_reservation[self.policy_name].eviction_mib)
        self.models = {m.name: m for m in inp.scenario.hardware.host_models}
        self.used_cp: set[int] = set()

    def cluster(self, part: PlacementPart, c: int) -> ClusterFacts:
        sc, p = self.inp.scenario, self.p
        lo, hi = part.nodes
        rows = np.flatnonzero(p.nodes.cluster[lo:hi] == c) + lo
        sub = _part_substrate(self.inp, part)
        shared = c == SHARED_CLUSTER
        if shared:
            assert isinstance(sub, BaremetalShared | Sandboxed)
            policy: MaxPodsPolicy = sub.max_pods
            tenants = tuple(sc.tenants[t].name for t in part.tenants)
            version = part.shared_version or p.shared_version or sc.tenants[0].kubernetes_version
            title = f"the shared cluster of {part.name or self.inp.substrate}"
            cluster = None
        else:
            ref = p.clusters[c]
            policy = ref.cluster.max_pods
            tenants = (ref.tenant.name,)
            version = p.running_version(ref.tenant_index, ref.tenant.kubernetes_version)
            title = f"tenant {ref.tenant.name}, cluster {ref.cluster.name}"
            cluster = ref.cluster.name
        role = p.nodes.role[rows]
        stacked = rows[(role == WORKER) & (p.nodes.control_plane_cpu[rows] > 0)]
        workers = rows[(role == WORKER) & (p.nodes.control_plane_cpu[rows] == 0)]
        cp_rows = rows[role == CONTROL_PLANE]
        control = self._control_plane(c, cp_rows, stacked, policy, title)
        hosts = sorted({int(h) for h in p.nodes.host[rows].tolist()})
        return ClusterFacts(
            name="",
            title=title,
            cluster=cluster,
            kind=part.kind,
            part=part.name or None,
            substrate=sub,
            tenants=tenants,
            version=version,
            pod_cidr_prefix=policy.pod_cidr_prefix,
            control_plane=control,
            pools=self._pools(workers, policy),
            hosts=tuple(hosts) if not p.nodes.is_vm[rows].any() else (),
        )

    def machine(self, row: int) -> Machine:
        n, p = self.p.nodes, self.p
        model = p.host_models[p.hosts.model[int(n.host[row])]]
        spec = self.models[model]
        cap = int(n.gpu_cap_milli[row])
        vm = bool(n.is_vm[row])
        whole = cap // GPU_WHOLE if cap % GPU_WHOLE == 0 else 0
        return Machine(
            vm=vm,
            # a VM without GPUs is the same machine whichever host model runs it
            host_model=model if cap or not vm else "",
            cpu_milli=int(n.size_cpu[row]),
            memory_mib=int(n.size_mem[row]),
            gpus=whole,
            gpu_slice_milli=cap if 0 < cap < GPU_WHOLE else 0,
            gpu_model=spec.gpus.model if spec.gpus and cap else None,
        )

    def kubelet(self, row: int, policy: MaxPodsPolicy) -> Kubelet:
        n = self.p.nodes
        reserved_mem = int(n.reserved_mem[row])
        eviction = min(self.eviction, reserved_mem)
        cores = "-" if policy.per_core is None else str(policy.per_core)
        return Kubelet(
            max_pods=policy.limit(int(n.size_cpu[row])),
            reserved_cpu_milli=int(n.reserved_cpu[row]),
            reserved_memory_mib=reserved_mem - eviction,
            eviction_mib=eviction,
            cpu_manager_static=bool(self.pinned[row]),
            policy=self.policy_name,
            max_pods_rule=f"per_node {policy.per_node}, per_core {cores}, "
            f"pod CIDR /{policy.pod_cidr_prefix}",
        )

    def _pools(self, workers: NDArray[np.int64], policy: MaxPodsPolicy) -> tuple[PoolFacts, ...]:
        groups: dict[tuple[Machine, Kubelet], int] = Counter()
        for row in workers.tolist():
            groups[(self.machine(row), self.kubelet(row, policy))] += 1
        ordered = sorted(groups.items(), key=lambda kv: _pool_order(*kv[0]))
        labels = Counter(m.label for (m, _), _ in ordered)
        out, taken = [], set[str]()
        for (machine, kubelet), count in ordered:
            label = machine.label
            if labels[label] > 1:  # same machine, another kubelet configuration
                label = f"{label}-{'pinned' if kubelet.cpu_manager_static else 'shared'}"
            out.append(PoolFacts(_unique(object_name(label), taken), machine, count, kubelet))
        return tuple(out)

    def _control_plane(
        self,
        c: int,
        cp_rows: NDArray[np.int64],
        stacked: NDArray[np.int64],
        policy: MaxPodsPolicy,
        title: str,
    ) -> ControlPlaneFacts:
        seen = "stacked" if len(stacked) else ("machines" if len(cp_rows) else "hosted")
        candidates = [
            (i, cp)
            for i, cp in enumerate(self.p.control_planes)
            if cp.cluster == c and i not in self.used_cp
        ]
        fits = {
            "stacked": ("stacked",),
            "machines": ("dedicated", "management"),
            "hosted": ("hosted",),
        }[seen]
        i, record = next(((i, cp) for i, cp in candidates if cp.mode in fits), candidates[0])
        self.used_cp.add(i)
        rows = stacked if len(stacked) else cp_rows
        machine = kubelet = None
        if len(rows):
            row = int(rows[0])
            machine = self.machine(row)
            other = next((m for m in map(self.machine, rows.tolist()) if m != machine), None)
            if other is not None:
                raise ExportError(
                    f"substrate {self.inp.substrate!r}, {title}: its control plane runs on {machine.label} and {other.label} "
                    "machines; a KubeadmControlPlane has one machine template: give the "
                    "scenario a hardware.control_plane_model"
                )
            kubelet = self.kubelet(row, policy if len(stacked) else MaxPodsPolicy())
            # one kubelet configuration for every replica: static when any pins
            kubelet = replace(kubelet, cpu_manager_static=bool(self.pinned[rows].any()))
        return ControlPlaneFacts(
            mode=record.mode,
            replicas=len(rows) if len(rows) else record.replicas,
            vcpus=record.vcpus,
            memory_mib=record.memory_mib,
            nodes=record.nodes,
            machine=machine,
            kubelet=kubelet,
        )

    def named(self, facts: list[ClusterFacts]) -> list[ClusterFacts]:
        """``facts`` with unique DNS names: the cluster's (a shared one: its part's or
        substrate's), with its tenant when two tenants name a cluster alike, and its part
        when it runs in several parts."""
        sc: Scenario = self.inp.scenario

        def base(f: ClusterFacts) -> tuple[str, ...]:
            if f.cluster is None:
                return (f.part or self.inp.substrate,)
            if _unique_cluster(sc, f.cluster):
                return (f.cluster,)
            return (f.tenants[0], f.cluster)

        counts = Counter(base(f) for f in facts)
        out, taken = [], set[str]()
        for f in facts:
            parts = base(f)
            if counts[parts] > 1 and f.part:
                parts = (*parts, f.part)
            out.append(replace(f, name=_unique(object_name(*parts), taken)))
        return out


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3`` … when taken already; then taken."""
    n, out = 1, name
    while out in taken:
        n += 1
        out = object_name(name, str(n))
    taken.add(out)
    return out


def _unique_cluster(scenario: Scenario, name: str) -> bool:
    return sum(c.name == name for t in scenario.tenants for c in t.clusters) == 1


def _pool_order(m: Machine, k: Kubelet) -> tuple[str, int, int, int, int, bool, int]:
    return (
        m.host_model,
        m.cpu_milli,
        m.memory_mib,
        m.gpus,
        m.gpu_slice_milli,
        k.cpu_manager_static,
        k.max_pods,
    )
