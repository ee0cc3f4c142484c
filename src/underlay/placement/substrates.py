"""How each substrate turns tenants into nodes and hosts, and places every pod.

- ``baremetal-dedicated``: every tenant cluster gets whole hosts (one node per host);
  a dedicated control plane is 3 more whole hosts, a hosted one a share of 3+ shared
  control-plane hosts.
- ``baremetal-shared``: one multi-tenant cluster; its control plane is 3 hosts.
- ``sandboxed``: like ``baremetal-shared``, each pod paying the runtime's pod overhead.
- ``vm``: pods go onto VMs of each tenant cluster (level 1), VMs onto hypervisor hosts
  (level 2). A VM's footprint on its host is its vCPUs ÷ CPU overcommit and its memory ÷
  memory overcommit plus the hypervisor's per-VM memory overhead; each host keeps the
  hypervisor's reservation and CPU overhead back. Pod anti-affinity is enforced per VM
  (one replica per VM); control-plane VMs of one cluster go on different hosts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults, HypervisorProfile
from underlay.errors import ScenarioError
from underlay.model.scenario import (
    BaremetalShared,
    ControlPlaneMode,
    HostModel,
    MaxPodsPolicy,
    Sandboxed,
    Scenario,
    SystemPod,
    Vm,
    VmShape,
)
from underlay.placement.bounds import hosts_lower_bound
from underlay.placement.control_planes import (
    ControlPlane,
    Mode,
    estimated_nodes,
    machine_model,
    resolve_mode,
)
from underlay.placement.engine import BatchResult, Placer, template_fit
from underlay.placement.fleet import HostNodes, HostSupply, VmNodes
from underlay.placement.framework import PodBatch, Profile, Registry, Unfit
from underlay.placement.gpus import NO_GPU, check_attach, gpu_share
from underlay.placement.overheads import cpu_tax, node_reservation
from underlay.placement.plugins import default_registry
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate
from underlay.placement.result import (
    CONTROL_PLANE,
    HOSTED_CONTROL_PLANE,
    HOSTED_POOL,
    MANAGEMENT,
    SHARED_CLUSTER,
    WORKER,
    ClusterRef,
    NodeTable,
    SubstratePlacement,
    Unplaced,
    WorkloadRef,
)
from underlay.placement.strategies import profile_for

__all__ = ["flatten", "place_substrate"]

I64 = NDArray[np.int64]
Progress = Callable[[int], None]
_NO_POD_LIMIT = 1 << 30
_AUTO_SPLITS = (1, 2, 3, 4, 6, 8, 12, 16)


def vm_shape(*, name: str, vcpus: int, memory_mib: int, gpus: float = 0.0) -> VmShape:
    """A VM shape from integer units (the model itself parses quantities)."""
    return VmShape.model_validate(
        {"name": name, "vcpus": vcpus, "memory": f"{memory_mib}Mi", "gpus": gpus}
    )


def flatten(scenario: Scenario) -> tuple[list[ClusterRef], list[WorkloadRef]]:
    """Clusters and workloads with global indices, in file order."""
    clusters: list[ClusterRef] = []
    workloads: list[WorkloadRef] = []
    for ti, tenant in enumerate(scenario.tenants):
        for cluster in tenant.clusters:
            ci = len(clusters)
            clusters.append(ClusterRef(ci, ti, tenant, cluster))
            for w in cluster.workloads:
                workloads.append(WorkloadRef(len(workloads), ci, ti, w))
    return clusters, workloads


def place_substrate(
    scenario: Scenario,
    defaults: Defaults,
    label: str,
    *,
    progress: Progress | None = None,
    peaks: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    registry: Registry | None = None,
) -> SubstratePlacement:
    """Place the whole scenario on the substrate named ``label`` (its kind when unnamed);
    ``progress(n)`` is told of pods as they are placed. ``peaks`` (per workload: CPU
    millicores and memory MiB of one pod at its usage percentile) size VMs under
    ``sizing: peak`` — :func:`underlay.pipeline.place` draws them from the usage models.
    ``registry`` holds the filter and score plugins (the built-in ones when None); every
    fit decision of every level — pods on nodes, VMs on hosts — goes through its filters."""
    substrate = scenario.substrate(label)
    check_attach(scenario, defaults, label)
    if isinstance(substrate, Vm) and substrate.sizing == "peak" and peaks is None:
        raise ValueError(
            f"substrate {label!r} sizes VMs by peak usage: pass peaks "
            "(underlay.pipeline.place draws them)"
        )
    run = _Run(scenario, defaults, progress, substrate, registry)
    run.peaks = peaks
    kind = substrate.kind
    if kind == "baremetal-dedicated":
        run.baremetal_dedicated()
    elif isinstance(substrate, BaremetalShared | Sandboxed):
        run.shared_cluster(substrate)
    elif isinstance(substrate, Vm):
        run.vms(substrate)
    return run.result(kind, label)


@dataclass(frozen=True)
class _VmGroup:
    """Identical VMs of one cluster, and the placement rule they carry to the hosts."""

    rows_index: int
    shape: VmShape
    results: list[BatchResult]
    anti_affinity: Literal["none", "host", "rack"] = "none"
    spread_racks: bool = False


@dataclass
class _PoolRows:
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


class _Run:
    def __init__(
        self,
        scenario: Scenario,
        defaults: Defaults,
        progress: Progress | None,
        substrate: object,
        registry: Registry | None = None,
    ) -> None:
        self.scenario = scenario
        self.defaults = defaults
        self.progress = progress
        self.profile: Profile = profile_for(scenario.placement.strategy, scenario.placement.weights)
        self.registry: Registry = registry or default_registry()
        _check_weights(self.registry, self.profile)
        self.clusters, self.workloads = flatten(scenario)
        self.gpu_models = sorted({m.gpus.model for m in scenario.hardware.host_models if m.gpus})
        self.racks = self._rack_count()
        self.supply = HostSupply(scenario.hardware, self.gpu_models, self.racks)
        self.reservation = defaults.node_reservation[scenario.kubernetes.node_reservation]
        self.rows: list[_PoolRows] = []
        self.pod_nodes: list[list[I64]] = [[] for _ in self.workloads]
        self.pod_counts: list[list[I64]] = [[] for _ in self.workloads]
        self.pod_devices: list[list[I64]] = [[] for _ in self.workloads]
        self.unplaced: list[Unplaced] = []
        self.notes: list[str] = []
        self.hypervisor: HypervisorProfile | None = None
        self.shared_version: str | None = None
        self._offset = 0
        self.lower_bound = 0  # LP lower bound on hosts, summed over independent pools
        self._vm_templates: list[NodeTemplate] | None = None
        self.control_planes: list[ControlPlane] = []
        self._management: tuple[NodePool, Placer] | None = None
        self.peaks: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        # What each workload takes of a GPU here (memory, MIG profiles, Kata's whole GPUs).
        self.gpu_shares = [
            gpu_share(scenario, defaults, substrate, w.workload,
                      f"tenants {self.clusters[w.cluster_index].tenant.name!r}, workload {w.workload.name!r}")
            if w.workload.gpu_count else NO_GPU
            for w in self.workloads
        ]  # fmt: skip
        for share in self.gpu_shares:
            if share.note and share.note not in self.notes:
                self.notes.append(share.note)

    # ------------------------------------------------------------------ helpers
    def _rack_count(self) -> int:
        topo = self.scenario.hardware.topology
        if topo.racks:
            return topo.racks
        inventory = self.scenario.hardware.inventory
        if inventory is not None:
            return max(1, math.ceil(sum(e.count for e in inventory) / topo.hosts_per_rack))
        model = self.scenario.hardware.sizing_model
        cpu = sum(w.workload.replicas * w.workload.requests.cpu_milli for w in self.workloads)
        mem = sum(w.workload.replicas * w.workload.requests.memory_mib for w in self.workloads)
        hosts = max(cpu / model.cpu_milli, mem / model.memory_mib)
        return max(1, math.ceil(hosts / topo.hosts_per_rack))

    def _system_pods(self, pods: list[SystemPod] | None) -> tuple[int, int, int]:
        chosen = self.defaults.system_pods if pods is None else pods
        return (sum(p.cpu_milli for p in chosen), sum(p.memory_mib for p in chosen), len(chosen))

    def _node_template(
        self, cpu: int, mem: int, policy: MaxPodsPolicy, system: tuple[int, int, int], **gpu: Any
    ) -> tuple[NodeTemplate, int, int]:
        max_pods = policy.limit(cpu)
        r_cpu, r_mem = node_reservation(
            self.reservation, cpu_milli=cpu, memory_mib=mem, max_pods=max_pods
        )
        template = NodeTemplate(
            cpu_milli=max(0, cpu - r_cpu - system[0]),
            memory_mib=max(0, mem - r_mem - system[1]),
            pods=max(0, max_pods - system[2]),
            **gpu,
        )
        return template, r_cpu, r_mem

    def _host_templates(
        self, policy: MaxPodsPolicy, system: tuple[int, int, int]
    ) -> list[NodeTemplate]:
        out = []
        for i, m in enumerate(self.scenario.hardware.host_models):
            t, _, _ = self._node_template(
                m.cpu_milli, m.memory_mib, policy, system,
                gpus=m.gpu_count, gpu_model=self._gpu_code(m), host_model=i,
            )  # fmt: skip
            out.append(t)
        return out

    def _gpu_code(self, model: HostModel) -> int:
        return self.gpu_models.index(model.gpus.model) if model.gpus else -1

    def _batch(self, ref: WorkloadRef, extra_cpu: int = 0, extra_mem: int = 0) -> PodBatch:
        w = ref.workload
        share = self.gpu_shares[ref.index]
        models = None
        if share.models is not None:
            models = frozenset(self.gpu_models.index(m) for m in share.models)
        return PodBatch(
            key=ref.index,
            replicas=w.replicas,
            cpu_milli=w.requests.cpu_milli + extra_cpu,
            memory_mib=w.requests.memory_mib + extra_mem,
            gpu_count=w.gpu_count,
            gpu_milli=share.milli,
            gpu_models=models,
            anti_affinity=w.spread.anti_affinity,
            spread_racks=w.spread.spread_racks,
        )

    def _ordered(self, batches: Iterable[PodBatch]) -> list[PodBatch]:
        """GPU pods first (they decide which GPU hosts exist), then, in each part, the most
        constrained first: anti-affine batches (most replicas first), rack-spread ones,
        then the rest — largest first when the profile says so."""
        ref = self.scenario.hardware.sizing_model

        def key(b: PodBatch) -> tuple[bool, int, float, int]:
            gpu = b.gpu_count * b.gpu_milli / GPU_WHOLE
            share = max(b.cpu_milli / ref.cpu_milli, b.memory_mib / ref.memory_mib, gpu)
            if b.anti_affinity != "none":
                return (not b.needs_gpu, 0, -b.replicas, b.key)
            if b.spread_racks:
                return (not b.needs_gpu, 1, -b.replicas, b.key)
            return (not b.needs_gpu, 2, -share if self.profile.decreasing else 0.0, b.key)

        return sorted(batches, key=key)

    def _place_all(self, placer: Placer, batches: list[PodBatch]) -> list[BatchResult]:
        placer.expect(batches, tuple(self.gpu_models))
        results = []
        for batch in self._ordered(batches):
            res = placer.place(batch)
            results.append(res)
            if self.progress:
                self.progress(batch.replicas)
        return results

    def _record_pods(self, results: list[BatchResult], offset: int) -> None:
        for res in results:
            if res.placed:
                self.pod_nodes[res.key].append(res.nodes + offset)
                self.pod_counts[res.key].append(res.counts)
                if self.gpu_shares[res.key].milli:  # GPU workloads only
                    devices = res.devices if len(res.devices) else np.full(res.placed, -1, np.int64)
                    self.pod_devices[res.key].append(devices)
            if res.unplaced:
                assert res.reason is not None
                self.unplaced.append(Unplaced(res.key, res.unplaced, res.reason))

    def _add_rows(self, rows: _PoolRows) -> int:
        offset = self._offset
        self.rows.append(rows)
        self._offset += rows.pool.n
        return offset

    # ------------------------------------------------------------ control planes
    def _mode(self, asked: ControlPlaneMode, on_vms: bool, owner: int) -> Mode:
        mode, note = resolve_mode(
            asked, on_vms=on_vms, has_model=self.scenario.hardware.control_plane_model is not None
        )
        if note:
            self.notes.append(f"control plane of {self._cluster_name(owner)}: {note}")
        return mode

    def _cp_size(self, nodes: int) -> tuple[int, int]:
        return self.defaults.control_plane.size_for(nodes)

    def _dedicated_machines(self, owner: int, nodes: int) -> None:
        """A control plane on machines of its own: hosts of the control-plane model."""
        cp = self.defaults.control_plane
        vcpus, mem = self._cp_size(nodes)
        models = self.scenario.hardware.host_models
        model, note = machine_model(models, self.scenario.hardware.control_plane_model, vcpus, mem)
        system = self._system_pods(None)
        template = self._host_templates(MaxPodsPolicy(), system)[model]
        pool = NodePool(max_gpus=self._max_gpus())
        hosts, racks = self.supply.take(model, cp.replicas, CONTROL_PLANE, owner)
        pool.open(template, hosts, racks)
        if note.startswith("no control-plane model named"):
            # once for the substrate, not once per cluster
            if note not in self.notes:
                self.notes.append(note)
            note = ""
        if len(hosts) < cp.replicas:
            note = f"needs {cp.replicas} {models[model].name} hosts, got {len(hosts)}"
        if note:
            self.notes.append(f"control plane of {self._cluster_name(owner)}: {note}")
        self._add_bm_rows(pool, CONTROL_PLANE, owner, MaxPodsPolicy(), system)
        self.control_planes.append(
            ControlPlane(
                owner, "dedicated", len(hosts), vcpus, mem, nodes, models[model].name, note
            )
        )

    def _stacked(
        self, placer: Placer, source: HostNodes, owner: int, nodes: int, hosts: list[int]
    ) -> dict[int, tuple[int, int]]:
        """A control plane on ``replicas`` of the cluster's own worker nodes: its size is
        placed first, one replica per node (on ``hosts`` of those models, opened for it,
        when given), and kept off the nodes' allocatable. Returns node → (CPU, memory)
        reserved there."""
        cp = self.defaults.control_plane
        vcpus, mem = self._cp_size(nodes)
        # kube-apiserver, kube-controller-manager, kube-scheduler and etcd: 4 static pods.
        batch = PodBatch(
            key=-1, replicas=cp.replicas, cpu_milli=vcpus * 1000, memory_mib=mem,
            anti_affinity="host", pod_slots=4,
        )  # fmt: skip
        for model in hosts:  # a GPU cluster's own GPU hosts first (see _estimate)
            source.open(placer.pool, source.templates[model], 1)
        res = placer.place(batch)
        pool = placer.pool
        taken = np.repeat(res.nodes, res.counts)
        # The control plane is not a tenant's: take it off the nodes' capacity, not "used".
        pool.cap_cpu[taken] -= batch.cpu_milli
        pool.cap_mem[taken] -= batch.memory_mib
        pool.cap_pods[taken] -= batch.pod_slots
        note = self._cp_shortfall(owner, res, "stacked replicas found no worker")
        self.control_planes.append(
            ControlPlane(owner, "stacked", len(taken), vcpus, mem, nodes, note=note)
        )
        return {int(n): (batch.cpu_milli, batch.memory_mib) for n in taken}

    def _cp_shortfall(self, owner: int, res: BatchResult, what: str) -> str:
        """The note (also added to the substrate's) for control-plane replicas not placed."""
        if not res.unplaced:
            return ""
        reason = f" ({res.reason.describe()})" if res.reason else ""
        note = f"{res.unplaced} of {self.defaults.control_plane.replicas} {what}{reason}"
        self.notes.append(f"control plane of {self._cluster_name(owner)}: {note}")
        return note

    def _management_vms(self, owner: int, nodes: int) -> None:
        """A control plane as ``replicas`` VMs on a small management cluster of hypervisor
        hosts (one per host), shared by every cluster run this way on the substrate."""
        cp = self.defaults.control_plane
        vcpus, mem = self._cp_size(nodes)
        hyp = self.defaults.hypervisors.get(cp.management_hypervisor)
        if hyp is None:
            known = ", ".join(sorted(self.defaults.hypervisors))
            raise ScenarioError(
                f"defaults: control_plane.management_hypervisor {cp.management_hypervisor!r} "
                f"is unknown (known: {known})"
            )
        if self._management is None:
            named = self.scenario.hardware.control_plane_model
            model, _ = machine_model(self.scenario.hardware.host_models, named, vcpus, mem)
            hosts = NodePool(max_gpus=self._max_gpus())
            templates = self._vm_host_templates(hyp, 1.0, cache=False)
            source = _OneModel(HostNodes(self.supply, templates, MANAGEMENT, HOSTED_POOL), model)
            self._management = (
                hosts,
                Placer(hosts, source, profile_for("best-fit"), self.registry, racks=self.racks),
            )
        hosts, placer = self._management
        overhead = hyp.vm_memory_overhead.mib(vcpus=vcpus, memory_mib=mem, gpus=0)
        res = placer.place(
            PodBatch(
                key=owner, replicas=cp.replicas, cpu_milli=vcpus * 1000,
                memory_mib=mem + overhead, anti_affinity="host", pod_slots=0,
            )
        )  # fmt: skip
        host_of_vm = hosts.live("host")[np.repeat(res.nodes, res.counts)]
        system = self._system_pods(None)
        template, _, _ = self._node_template(vcpus * 1000, mem, MaxPodsPolicy(), system)
        vms = NodePool(max_gpus=1)
        vms.open(template, host_of_vm, host_of_vm % self.racks)
        r_cpu, r_mem = node_reservation(
            self.reservation, cpu_milli=vcpus * 1000, memory_mib=mem,
            max_pods=MaxPodsPolicy().limit(vcpus * 1000),
        )  # fmt: skip
        n = vms.n
        self._add_rows(
            _PoolRows(
                vms, CONTROL_PLANE, owner, True, np.full(n, vcpus * 1000, np.int64),
                np.full(n, mem, np.int64), np.full(n, r_cpu, np.int64), np.full(n, r_mem, np.int64),
                *system, vm_overhead_mem=overhead,
            )
        )  # fmt: skip
        note = self._cp_shortfall(owner, res, "management VMs found no host")
        self.control_planes.append(
            ControlPlane(owner, "management", n, vcpus, mem, nodes, note=note)
        )

    def _estimate(
        self, templates: list[NodeTemplate], batches: list[PodBatch]
    ) -> tuple[int, list[int]]:
        """Worker nodes of a bare-metal cluster, estimated before placement: each batch on
        the host model it would open, summed, at least the control plane's replicas. Also
        the hosts a stacked control plane is kept on when the cluster's first pods need
        GPUs: as many of their GPU model as the cluster fills (up to the replicas), the
        rest of the model other pods prefer (empty: that model for all)."""
        replicas = self.defaults.control_plane.replicas
        preferred = self.supply.choose(None)
        default = preferred if preferred is not None else 0
        groups: dict[int, list[PodBatch]] = {}
        for b in batches:
            if b.replicas:
                model = self.supply.choose(b) if b.needs_gpu else preferred
                groups.setdefault(default if model is None else model, []).append(b)
        per_model = {m: estimated_nodes(templates[m], bs, 0) for m, bs in groups.items()}
        # GPU batches are placed first: the first of them opens the cluster's first hosts
        gpu_first = self._ordered([b for b in batches if b.replicas and b.needs_gpu])
        cp_hosts: list[int] = []
        chosen = self.supply.choose(gpu_first[0]) if gpu_first else None
        if chosen is not None:
            own = min(per_model.get(chosen, 0), replicas, self.supply.remaining[chosen])
            cp_hosts = [chosen] * own
            if preferred is not None:
                cp_hosts += [preferred] * min(replicas - own, self.supply.remaining[preferred])
        return max(sum(per_model.values()), replicas), cp_hosts

    def _cluster_name(self, index: int) -> str:
        if index == SHARED_CLUSTER:
            return "the shared cluster"
        ref = self.clusters[index]
        return f"{ref.tenant.name}/{ref.cluster.name}"

    def _max_gpus(self) -> int:
        return max([m.gpu_count for m in self.scenario.hardware.host_models] + [1])

    def _add_bm_rows(
        self, pool: NodePool, role: int, cluster: int, policy: MaxPodsPolicy, system: tuple[int, int, int],
        sandbox: tuple[int, int] = (0, 0), stacked: dict[int, tuple[int, int]] | None = None,
    ) -> int:  # fmt: skip
        models = self.scenario.hardware.host_models
        size_cpu = np.array([models[m].cpu_milli for m in pool.live("host_model")], np.int64)
        size_mem = np.array([models[m].memory_mib for m in pool.live("host_model")], np.int64)
        res = [
            node_reservation(
                self.reservation, cpu_milli=int(c), memory_mib=int(m), max_pods=policy.limit(int(c))
            )
            for c, m in zip(size_cpu, size_mem, strict=True)
        ]
        return self._add_rows(
            _PoolRows(
                pool, role, cluster, False, size_cpu, size_mem,
                np.array([r[0] for r in res], np.int64), np.array([r[1] for r in res], np.int64),
                *system, sandbox_cpu_per_pod=sandbox[0], sandbox_mem_per_pod=sandbox[1],
                cp_cpu=_stacked_column(stacked, pool.n, 0), cp_mem=_stacked_column(stacked, pool.n, 1),
            )
        )  # fmt: skip

    def _hosted_control_planes(
        self, hosted: list[tuple[int, int]], *, vm_shape: VmShape | None
    ) -> None:
        """Hosted control planes: 3 replicas per cluster (index, nodes) on a shared pool of
        control-plane nodes (hosts of the control-plane model, or VMs)."""
        if not hosted:
            return
        cp = self.defaults.control_plane
        system = self._system_pods(None)
        pool = NodePool(max_gpus=self._max_gpus())
        if vm_shape is None:
            templates = self._host_templates(MaxPodsPolicy(), system)
            vcpus, mem = self._cp_size(sum(nodes for _, nodes in hosted))
            named = self.scenario.hardware.control_plane_model
            model, _ = machine_model(self.scenario.hardware.host_models, named, vcpus, mem)
            source: HostNodes | VmNodes | _OneModel = _OneModel(
                HostNodes(self.supply, templates, HOSTED_CONTROL_PLANE, HOSTED_POOL), model
            )
        else:
            template, _, _ = self._node_template(
                vm_shape.vcpus * 1000, vm_shape.memory_mib, MaxPodsPolicy(), system
            )
            source = VmNodes(template)
        first = source.template_for(PodBatch(key=-1, replicas=1, cpu_milli=0, memory_mib=0))
        if first is not None:
            source.open(pool, first, min(cp.hosted_node_count, source.available(first)))
        placer = Placer(
            pool, source, profile_for("least-allocated"), self.registry, racks=self.racks
        )
        per_replica_cpu = -(-cp.hosted_per_cluster.cpu_milli // cp.replicas)
        per_replica_mem = -(-cp.hosted_per_cluster.memory_mib // cp.replicas)
        for ci, nodes in hosted:
            res = placer.place(
                PodBatch(
                    key=ci,
                    replicas=cp.replicas,
                    cpu_milli=per_replica_cpu,
                    memory_mib=per_replica_mem,
                    anti_affinity="host",
                )
            )
            note = ""
            if res.unplaced:
                note = f"{res.unplaced} of {cp.replicas} replicas unplaced"
                self.notes.append(f"hosted control plane of {self._cluster_name(ci)}: {note}")
            self.control_planes.append(
                ControlPlane(
                    ci, "hosted", cp.replicas - res.unplaced,
                    math.ceil(cp.hosted_per_cluster.cpu_milli / 1000),
                    cp.hosted_per_cluster.memory_mib, nodes, note=note,
                )
            )  # fmt: skip
        if vm_shape is None:
            self._add_bm_rows(pool, HOSTED_CONTROL_PLANE, HOSTED_POOL, MaxPodsPolicy(), system)
        else:
            self._vm_rows(
                pool, HOSTED_CONTROL_PLANE, HOSTED_POOL, vm_shape, MaxPodsPolicy(), system
            )

    def _bound(self, templates: list[NodeTemplate], batches: list[PodBatch]) -> int:
        """Lower bound on hosts of ``templates`` for ``batches`` (see placement.bounds)."""
        cap = np.array(
            [[t.cpu_milli, t.memory_mib, t.pods, t.gpus * GPU_WHOLE] for t in templates], np.float64
        )
        demand: dict[tuple[bool, ...], NDArray[np.float64]] = {}
        at_least = 0
        for b in batches:
            allowed = tuple(
                not b.needs_gpu
                or (t.gpus > 0 and (b.gpu_models is None or t.gpu_model in b.gpu_models))
                for t in templates
            )
            need = np.array(
                [
                    b.cpu_milli,
                    b.memory_mib,
                    b.pod_slots,
                    b.gpu_count * b.gpu_milli if b.needs_gpu else 0,
                ],
                np.float64,
            )
            demand[allowed] = demand.get(allowed, np.zeros(4)) + b.replicas * need
            if b.anti_affinity != "none":
                at_least = max(at_least, b.replicas)
            elif b.spread_racks:  # max skew 1 across racks needs a host in every rack used
                at_least = max(at_least, min(self.racks, b.replicas))
        groups = [(np.array(mask, bool), d) for mask, d in demand.items()]
        available = None
        if not self.supply.sizing:
            available = np.array(self.supply.initial, np.float64)
        elif self.supply.buys_gpu_hosts_for_gpu_pods_only:
            # Each GPU host bought holds at least one GPU pod, so there are at most as many
            # hosts of a GPU model as GPU pods (or VMs) allowed on it.
            gpu_items = np.zeros(len(templates))
            for b in batches:
                if b.needs_gpu:
                    for i, t in enumerate(templates):
                        if t.gpus > 0 and (b.gpu_models is None or t.gpu_model in b.gpu_models):
                            gpu_items[i] += b.replicas
            available = np.array(
                [np.inf if t.gpus == 0 else gpu_items[i] for i, t in enumerate(templates)],
                np.float64,
            )
        return hosts_lower_bound(cap, groups, at_least=at_least, available=available)

    # --------------------------------------------------------------- substrates
    def baremetal_dedicated(self) -> None:
        # Control planes first (an inventory serves them before workers), then workers.
        plans = []
        hosted: list[tuple[int, int]] = []
        for c in self.clusters:
            system = self._system_pods(c.cluster.system_pods)
            templates = self._host_templates(c.cluster.max_pods, system)
            batches = [self._batch(w) for w in self.workloads if w.cluster_index == c.index]
            nodes, cp_hosts = self._estimate(templates, batches)
            mode = self._mode(c.cluster.control_plane, False, c.index)
            if mode == "hosted":
                hosted.append((c.index, nodes))
            elif mode == "dedicated":
                self._dedicated_machines(c.index, nodes)
            elif mode == "management":
                self._management_vms(c.index, nodes)
            plans.append((c, templates, batches, system, nodes, mode, cp_hosts))
        self._hosted_control_planes(hosted, vm_shape=None)
        for c, templates, batches, system, nodes, mode, cp_hosts in plans:
            self._workers(
                c.index, templates, batches, c.cluster.max_pods, system,
                stacked=mode == "stacked", nodes=nodes, cp_hosts=cp_hosts,
            )  # fmt: skip

    def _workers(
        self, owner: int, templates: list[NodeTemplate], batches: list[PodBatch], policy: MaxPodsPolicy,
        system: tuple[int, int, int], *, stacked: bool, nodes: int, sandbox: tuple[int, int] = (0, 0),
        cp_hosts: list[int] | None = None,
    ) -> None:  # fmt: skip
        """One bare-metal cluster's worker hosts (with its control plane when stacked)."""
        pool = NodePool(max_gpus=self._max_gpus())
        source = HostNodes(self.supply, templates, WORKER, owner)
        placer = Placer(pool, source, self.profile, self.registry, racks=self.racks)
        reserved: dict[int, tuple[int, int]] = {}
        bound_batches = list(batches)
        if stacked:
            reserved = self._stacked(placer, source, owner, nodes, cp_hosts or [])
            vcpus, mem = self._cp_size(nodes)
            cp = self.defaults.control_plane
            bound_batches.append(
                PodBatch(key=-1, replicas=cp.replicas, cpu_milli=vcpus * 1000, memory_mib=mem,
                         anti_affinity="host", pod_slots=4)
            )  # fmt: skip
        self.lower_bound += self._bound(templates, bound_batches)
        results = self._place_all(placer, batches)
        offset = self._add_bm_rows(pool, WORKER, owner, policy, system, sandbox, reserved)
        self._record_pods(results, offset)

    def shared_cluster(self, substrate: BaremetalShared | Sandboxed) -> None:
        wanted = Counter(t.kubernetes_version for t in self.scenario.tenants)
        top = max(wanted.values())
        most = max(
            (v for v, n in wanted.items() if n == top), key=lambda v: tuple(map(int, v.split(".")))
        )
        self.shared_version = substrate.kubernetes_version or most
        sandbox = (0, 0)
        if isinstance(substrate, Sandboxed):
            runtime = self.defaults.sandbox_runtimes.get(substrate.runtime)
            if runtime is None:
                known = ", ".join(sorted(self.defaults.sandbox_runtimes))
                raise ScenarioError(
                    f"substrates: sandboxed runtime {substrate.runtime!r} is unknown (known: {known})"
                )
            sandbox = (runtime.pod_overhead.cpu_milli, runtime.pod_overhead.memory_mib)
        system = self._system_pods(None)
        policy = substrate.max_pods
        templates = self._host_templates(policy, system)
        batches = [self._batch(w, *sandbox) for w in self.workloads]
        nodes, cp_hosts = self._estimate(templates, batches)
        mode = self._mode(substrate.control_plane, False, SHARED_CLUSTER)
        if mode == "dedicated":
            self._dedicated_machines(SHARED_CLUSTER, nodes)
        elif mode == "management":
            self._management_vms(SHARED_CLUSTER, nodes)
        elif mode == "hosted":
            self._hosted_control_planes([(SHARED_CLUSTER, nodes)], vm_shape=None)
        self._workers(
            SHARED_CLUSTER, templates, batches, policy, system,
            stacked=mode == "stacked", nodes=nodes, sandbox=sandbox, cp_hosts=cp_hosts,
        )  # fmt: skip

    def vms(self, substrate: Vm) -> None:
        hyp = self.defaults.hypervisors.get(substrate.hypervisor)
        if hyp is None:
            known = ", ".join(sorted(self.defaults.hypervisors))
            raise ScenarioError(
                f"substrates: hypervisor {substrate.hypervisor!r} is unknown (known: {known})"
            )
        self.hypervisor = hyp
        self.vm = substrate
        groups: list[_VmGroup] = []
        for c in self.clusters:
            system = self._system_pods(c.cluster.system_pods)
            refs = [w for w in self.workloads if w.cluster_index == c.index]
            by_gpu: dict[tuple[bool, bool, tuple[int, ...], int], list[PodBatch]] = {}
            for w in refs:
                b = self._sized(self._batch(w), w, substrate)
                if b.replicas == 0:
                    continue
                # vGPU slices suit fractional pods; whole-GPU pods get passthrough-sized VMs.
                sliced = substrate.gpu_mode == "vgpu" and b.needs_gpu and b.gpu_milli < GPU_WHOLE
                # Anti-affine or rack-spread workloads get VMs of their own, one replica per
                # VM, and those VMs carry the rule to the hosts.
                own = w.index if (b.anti_affinity != "none" or b.spread_racks) else -1
                models_key = tuple(sorted(b.gpu_models)) if b.gpu_models is not None else (-1,)
                by_gpu.setdefault((b.needs_gpu, sliced, models_key, own), []).append(b)
            for (needs_gpu, _, _, own), batches in sorted(by_gpu.items()):
                models = batches[0].gpu_models

                choose = partial(
                    self._choose_shape, substrate, hyp, needs_gpu=needs_gpu, models=models,
                    policy=c.cluster.max_pods, system=system,
                )  # fmt: skip
                shape = choose(batches)
                if shape is None and len(batches) > 1:
                    # One workload no shape can hold (9 GPUs on 8-GPU hosts) must not take
                    # the rest of its group down with it: set it aside and choose again.
                    held = [choose([b]) is not None for b in batches]
                    self._no_shape([b for b, ok in zip(batches, held, strict=True) if not ok])
                    batches = [b for b, ok in zip(batches, held, strict=True) if ok]
                    shape = choose(batches) if batches else None
                if shape is None:
                    self._no_shape(batches)
                    continue
                pool, results = self._vm_pool(
                    shape, batches, c.cluster.max_pods, system, self.progress
                )
                index = len(self.rows)
                offset = self._vm_rows(pool, WORKER, c.index, shape, c.cluster.max_pods, system)
                self._record_pods(results, offset)
                rule = batches[0] if own >= 0 else None
                groups.append(
                    _VmGroup(
                        index, shape, results,
                        rule.anti_affinity if rule else "none",
                        rule.spread_racks if rule else False,
                    )
                )  # fmt: skip
        groups += self._vm_control_planes()
        self._vms_onto_hosts(substrate, hyp, groups)

    def _no_shape(self, batches: list[PodBatch]) -> None:
        for b in batches:
            self.unplaced.append(
                Unplaced(
                    b.key, b.replicas,
                    Unfit("vm_shape", b.cpu_milli, 0, 0, "no VM shape fits this pod"),
                )
            )  # fmt: skip

    def _sized(self, batch: PodBatch, ref: WorkloadRef, substrate: Vm) -> PodBatch:
        """The room a pod takes in its VM under the substrate's ``sizing``: its requests;
        its limits; or its usage peak (with the hypervisor's CPU tax, which its VM pays),
        at most its limits — never less than its requests."""
        w = ref.workload
        cpu, mem = batch.cpu_milli, batch.memory_mib
        lim = w.limits
        lim_cpu = lim.cpu_milli if lim is not None and lim.cpu_milli else None
        lim_mem = lim.memory_mib if lim is not None and lim.memory_mib else None
        if substrate.sizing == "limits":
            cpu = max(cpu, lim_cpu or 0)
            mem = max(mem, lim_mem or 0)
        elif substrate.sizing == "peak" and self.peaks is not None:
            tax = cpu_tax(substrate, self.defaults, w.workload_class)
            peak_cpu = math.ceil(self.peaks[0][ref.index] / (1 - tax))
            peak_mem = math.ceil(self.peaks[1][ref.index])
            cpu = max(cpu, min(peak_cpu, lim_cpu) if lim_cpu else peak_cpu)
            mem = max(mem, min(peak_mem, lim_mem) if lim_mem else peak_mem)
        return replace(batch, cpu_milli=cpu, memory_mib=mem)

    def _vm_control_planes(self) -> list[_VmGroup]:
        """Control-plane VMs, sized by each cluster's worker VMs: ``replicas`` VMs per
        dedicated control plane (one per host), hosted ones on a shared pool of VMs."""
        cp = self.defaults.control_plane
        system = self._system_pods(None)
        workers = Counter(
            int(c)
            for r in self.rows
            if r.role == WORKER
            for c in np.broadcast_to(r.cluster, r.pool.n)
        )
        groups: list[_VmGroup] = []
        hosted: list[tuple[int, int]] = []
        for c in self.clusters:
            nodes = max(workers.get(c.index, 0), 1)
            mode = self._mode(c.cluster.control_plane, True, c.index)
            if mode == "hosted":
                hosted.append((c.index, nodes))
                continue
            vcpus, mem = self._cp_size(nodes)
            shape = vm_shape(name=f"control-plane-{vcpus}c", vcpus=vcpus, memory_mib=mem)
            pool = NodePool(max_gpus=self._max_gpus())
            template, _, _ = self._node_template(vcpus * 1000, mem, MaxPodsPolicy(), system)
            VmNodes(template).open(pool, template, cp.replicas)
            groups.append(_VmGroup(len(self.rows), shape, [], "host"))
            self._vm_rows(pool, CONTROL_PLANE, c.index, shape, MaxPodsPolicy(), system)
            self.control_planes.append(
                ControlPlane(c.index, "dedicated", cp.replicas, vcpus, mem, nodes)
            )
        if hosted:
            vcpus, mem = self._cp_size(sum(n for _, n in hosted))
            shape = vm_shape(name="hosted-control-plane", vcpus=vcpus, memory_mib=mem)
            self._hosted_control_planes(hosted, vm_shape=shape)
            groups.append(_VmGroup(len(self.rows) - 1, shape, [], "host"))
        return groups

    # ----------------------------------------------------------------- VM helpers
    def _vm_template(
        self, shape: VmShape, policy: MaxPodsPolicy, system: tuple[int, int, int]
    ) -> NodeTemplate:
        gpu_code = -1
        gpus = shape.gpus
        template, _, _ = self._node_template(
            shape.vcpus * 1000, shape.memory_mib, policy, system,
            gpus=int(gpus) if gpus >= 1 else (1 if gpus > 0 else 0),
            gpu_model=gpu_code,
            gpu_slice_milli=round(gpus * GPU_WHOLE) if 0 < gpus < 1 else GPU_WHOLE,
        )  # fmt: skip
        return template

    def _vm_pool(
        self, shape: VmShape, batches: list[PodBatch], policy: MaxPodsPolicy, system: tuple[int, int, int],
        progress: Progress | None,
    ) -> tuple[NodePool, list[BatchResult]]:  # fmt: skip
        template = self._vm_template(shape, policy, system)
        batches = _vm_level(batches)
        pool = NodePool(max_gpus=max(1, int(shape.gpus)))
        placer = Placer(pool, VmNodes(template), self.profile, self.registry, racks=1)
        results = []
        for batch in self._ordered(batches):
            results.append(placer.place(batch))
            if progress:
                progress(batch.replicas)
        return pool, results

    def _footprint(self, shape: VmShape, hyp: HypervisorProfile, substrate: Vm) -> tuple[int, int]:
        cpu = math.ceil(shape.vcpus * 1000 / substrate.cpu_overcommit)
        mem = math.ceil(
            shape.memory_mib / substrate.memory_overcommit
        ) + hyp.vm_memory_overhead.mib(
            vcpus=shape.vcpus, memory_mib=shape.memory_mib, gpus=shape.gpus
        )
        return cpu, mem

    def _vm_host_templates(
        self, hyp: HypervisorProfile, overcommit: float | None = None, *, cache: bool = True
    ) -> list[NodeTemplate]:
        """What each host model offers to VMs (built once per run: it only depends on the
        hypervisor and the overcommit, the substrate's unless given)."""
        if cache and self._vm_templates is not None:
            return self._vm_templates
        cpu_overcommit = self.vm.cpu_overcommit if overcommit is None else overcommit
        out = []
        for i, m in enumerate(self.scenario.hardware.host_models):
            # The hypervisor's CPU tax is not held back here: it is counted once, as the
            # extra CPU a VM's pods need in the simulation.
            res_cpu, res_mem = hyp.host_reserved.for_host(
                cpu_milli=m.cpu_milli, memory_mib=m.memory_mib
            )
            usable_cpu = m.cpu_milli - res_cpu
            if cpu_overcommit == 1:
                # Without overcommit each VM takes whole vCPUs, so only whole cores count.
                usable_cpu = usable_cpu // 1000 * 1000
            out.append(
                NodeTemplate(
                    cpu_milli=max(0, int(usable_cpu)),
                    memory_mib=max(0, m.memory_mib - res_mem),
                    pods=_NO_POD_LIMIT,
                    gpus=m.gpu_count,
                    gpu_model=self._gpu_code(m),
                    host_model=i,
                )
            )
        if cache:
            self._vm_templates = out
        return out

    def _candidate_shapes(
        self, substrate: Vm, hyp: HypervisorProfile, needs_gpu: bool, models: frozenset[int] | None, batches: list[PodBatch]
    ) -> list[VmShape]:  # fmt: skip
        if substrate.shapes == "menu" and not needs_gpu:  # the menu has no GPU shapes
            return list(self.defaults.vm_sizing.menu)
        if isinstance(substrate.shapes, list):
            return [s for s in substrate.shapes if (s.gpus > 0) == needs_gpu]
        host_i = self.supply.choose(batches[0]) if needs_gpu else self.supply.choose(None)
        if host_i is None:
            host_i = self.scenario.hardware.host_models.index(self.scenario.hardware.sizing_model)
        host = self._vm_host_templates(hyp)[host_i]
        splits: list[tuple[int, float]] = []  # (VMs per host, GPUs per VM)
        if not needs_gpu:
            splits = [(k, 0.0) for k in _AUTO_SPLITS]
        else:
            g = host.gpus
            if g == 0:  # no host with GPUs for this group: no VM can carry its pods
                return []
            most = max(b.gpu_count for b in batches)
            if substrate.gpu_mode == "vgpu" and all(b.gpu_milli < GPU_WHOLE for b in batches):
                # Shares of a GPU on a vGPU substrate: a vGPU slice per VM, never whole GPUs.
                largest = max(b.gpu_milli for b in batches)
                for slice_milli in _vgpu_slices(substrate, largest):
                    if largest <= slice_milli:
                        splits.append((g * GPU_WHOLE // slice_milli, slice_milli / GPU_WHOLE))
            else:
                for per_vm in (1, 2, 4, 8, 16):
                    if most <= per_vm <= g and g % per_vm == 0:
                        splits.append((g // per_vm, float(per_vm)))
        shapes = []
        for k, gpus in splits:
            vcpus = int(host.cpu_milli * substrate.cpu_overcommit / 1000 // k)
            share_mem = host.memory_mib * substrate.memory_overcommit / k
            overhead = hyp.vm_memory_overhead.mib(vcpus=vcpus, memory_mib=int(share_mem), gpus=gpus)
            mem_gib = int((share_mem - overhead * substrate.memory_overcommit) // 1024)
            if vcpus >= 1 and mem_gib >= 1:
                label = f"{vcpus}c{mem_gib}g" + (f"-{gpus:g}gpu" if gpus else "")
                shapes.append(
                    vm_shape(name=label, vcpus=vcpus, memory_mib=mem_gib * 1024, gpus=gpus)
                )
        return shapes + self._pod_sized_shapes(substrate, host, batches)

    def _pod_sized_shapes(
        self, substrate: Vm, host: NodeTemplate, batches: list[PodBatch]
    ) -> list[VmShape]:
        """Shapes just big enough for 1, 2, 4 or 8 of the group's largest pod.

        Small clusters and one-replica-per-VM workloads waste less in a VM cut to size
        than in a fixed fraction of a host. The kubelet reservation grows with the VM, so
        the size is found by stepping up a core or a GiB until the pods fit.
        """
        cluster = self.clusters[self.workloads[batches[0].key].cluster_index].cluster
        policy = cluster.max_pods
        system = self._system_pods(cluster.system_pods)
        big = max(batches, key=lambda b: (b.cpu_milli, b.memory_mib, b.gpu_count * b.gpu_milli))
        sliced = substrate.gpu_mode == "vgpu" and big.needs_gpu and big.gpu_milli < GPU_WHOLE
        shapes = []
        for n in (1,) if sliced else (1, 2, 4, 8):  # a vGPU slice holds one share
            gpus = 0.0
            if big.needs_gpu:
                if big.gpu_milli >= GPU_WHOLE:
                    gpus = float(big.gpu_count * n)
                elif substrate.gpu_mode == "vgpu":
                    # One vGPU slice holding n pods (a pod larger than every slice: a GPU).
                    slices = (
                        _vgpu_slices(substrate, big.gpu_milli)
                        if n > 1
                        else (*_vgpu_slices(substrate, big.gpu_milli), GPU_WHOLE)
                    )
                    fitting = [sl for sl in slices if sl >= n * big.gpu_milli]
                    if not fitting:
                        break
                    gpus = fitting[0] / GPU_WHOLE
                else:
                    gpus = float(math.ceil(n * big.gpu_milli / GPU_WHOLE))
                if gpus > host.gpus:
                    break
            need_cpu = n * big.cpu_milli + system[0]
            need_mem = n * big.memory_mib + system[1]
            vcpus, gib = max(1, math.ceil(need_cpu / 1000)), max(1, math.ceil(need_mem / 1024))
            for _ in range(256):
                max_pods = policy.limit(vcpus * 1000)
                r_cpu, r_mem = node_reservation(
                    self.reservation,
                    cpu_milli=vcpus * 1000,
                    memory_mib=gib * 1024,
                    max_pods=max_pods,
                )
                if vcpus * 1000 - r_cpu < need_cpu or max_pods - system[2] < n:
                    vcpus += 1
                elif gib * 1024 - r_mem < need_mem:
                    gib += 1
                else:
                    break
            if vcpus * 1000 > host.cpu_milli * substrate.cpu_overcommit:
                break
            label = f"{vcpus}c{gib}g" + (f"-{gpus:g}gpu" if gpus else "") + f"-fits{n}"
            shapes.append(vm_shape(name=label, vcpus=vcpus, memory_mib=gib * 1024, gpus=gpus))
        return shapes

    def _choose_shape(
        self, substrate: Vm, hyp: HypervisorProfile, batches: list[PodBatch], needs_gpu: bool,
        models: frozenset[int] | None, policy: MaxPodsPolicy, system: tuple[int, int, int],
    ) -> VmShape | None:  # fmt: skip
        """The candidate shape whose VMs take the least host capacity (all pods placed first).

        Each shape gets a cheap lower bound on its VMs (per resource, total demand over a
        VM's allocatable; one VM per replica under anti-affinity); shapes are tried best
        bound first and a shape whose bound cannot beat the best so far is skipped. For a
        group of one workload the bound is exact (identical pods on identical VMs), so no
        trial placement is needed at all.
        """
        candidates = self._candidate_shapes(substrate, hyp, needs_gpu, models, batches)
        host_i = self.supply.choose(batches[0]) if needs_gpu else self.supply.choose(None)
        if host_i is None:
            host_i = 0
        host = self._vm_host_templates(hyp)[host_i]
        total = sum(b.replicas for b in batches)
        vm_batches = _vm_level(batches)
        scored = []
        for shape in candidates:
            if shape.gpus >= 1 and host.gpus and shape.gpus > host.gpus:
                continue
            cpu, mem = self._footprint(shape, hyp, substrate)
            if cpu > host.cpu_milli or mem > host.memory_mib:
                continue  # no host of the model its VMs go on can hold one (a menu's largest)
            gpu_share = (shape.gpus / host.gpus) if host.gpus else 0.0
            cpu_share, mem_share = cpu / max(host.cpu_milli, 1), mem / max(host.memory_mib, 1)
            share = max(cpu_share, mem_share, gpu_share)
            # On a tie, the shape that leaves more CPU and memory on its hosts for other
            # VMs wins (a GPU VM need not take a whole host's cores).
            room = cpu_share + mem_share
            template = self._vm_template(shape, policy, system)
            unplaced, vms, exact = _vms_needed(template, vm_batches, self.registry)
            scored.append(((unplaced, vms * share, vms, vms * room), exact, share, room, shape))
        scored.sort(key=lambda item: item[0])
        best: tuple[tuple[int, float, int, float], VmShape] | None = None
        for bound, exact, share, room, shape in scored:
            if best is not None and bound >= best[0]:
                continue
            if exact:
                key = bound
            else:
                pool, results = self._vm_pool(shape, batches, policy, system, None)
                placed = sum(r.placed for r in results)
                key = (total - placed, pool.n * share, pool.n, pool.n * room)
            if best is None or key < best[0]:
                best = (key, shape)
        return None if best is None else best[1]

    def _vm_rows(
        self, pool: NodePool, role: int, cluster: int, shape: VmShape, policy: MaxPodsPolicy, system: tuple[int, int, int]
    ) -> int:  # fmt: skip
        n = pool.n
        r_cpu, r_mem = node_reservation(
            self.reservation,
            cpu_milli=shape.vcpus * 1000,
            memory_mib=shape.memory_mib,
            max_pods=policy.limit(shape.vcpus * 1000),
        )
        hyp = self.hypervisor
        overhead = (
            hyp.vm_memory_overhead.mib(
                vcpus=shape.vcpus, memory_mib=shape.memory_mib, gpus=shape.gpus
            )
            if hyp
            else 0
        )
        return self._add_rows(
            _PoolRows(
                pool, role, cluster, True,
                np.full(n, shape.vcpus * 1000, np.int64), np.full(n, shape.memory_mib, np.int64),
                np.full(n, r_cpu, np.int64), np.full(n, r_mem, np.int64),
                *system, vm_overhead_mem=overhead,
            )
        )  # fmt: skip

    def _vms_onto_hosts(
        self,
        substrate: Vm,
        hyp: HypervisorProfile,
        groups: list[_VmGroup],
    ) -> None:
        templates = self._vm_host_templates(hyp)
        hosts = NodePool(max_gpus=self._max_gpus())
        source = HostNodes(self.supply, templates, WORKER, -1)
        placer = Placer(hosts, source, self.profile, self.registry, racks=self.racks)
        batches = []
        for gi, group in enumerate(groups):
            rows_index, shape, results = group.rows_index, group.shape, group.results
            n_vms = self.rows[rows_index].pool.n
            if n_vms == 0:
                continue
            cpu, mem = self._footprint(shape, hyp, substrate)
            models = None
            # The models its pods may use as placed (narrowed by GPU memory and MIG), not
            # only those the workloads name.
            named = [s.models for r in results if (s := self.gpu_shares[r.key]).models is not None]
            if named:
                allowed = frozenset.intersection(*named)
                models = frozenset(self.gpu_models.index(m) for m in allowed)
            whole = shape.gpus >= 1
            batches.append(
                PodBatch(
                    key=gi, replicas=n_vms, cpu_milli=cpu, memory_mib=mem,
                    gpu_count=int(shape.gpus) if whole else (1 if shape.gpus > 0 else 0),
                    gpu_milli=GPU_WHOLE if whole else round(shape.gpus * GPU_WHOLE),
                    gpu_models=models, anti_affinity=group.anti_affinity, spread_racks=group.spread_racks, pod_slots=0,
                )
            )  # fmt: skip
        self.lower_bound += self._bound(templates, batches)
        placer.expect(batches, tuple(self.gpu_models))
        level2 = [placer.place(b) for b in self._ordered(batches)]
        vm_host: dict[int, I64] = {}
        for res in level2:
            rows_index = groups[res.key].rows_index
            n_vms = self.rows[rows_index].pool.n
            host_of_vm = np.full(n_vms, -1, np.int64)
            placed = np.repeat(
                hosts.live("host")[res.nodes] if len(res.nodes) else res.nodes, res.counts
            )
            host_of_vm[: len(placed)] = placed
            vm_host[rows_index] = host_of_vm
            if len(res.devices):  # the host GPU each GPU VM got (a vGPU slice's device)
                device = np.full(n_vms, -1, np.int64)
                device[: len(res.devices)] = res.devices
                self.rows[rows_index].host_device = device
            if res.unplaced:
                if not groups[res.key].results:  # control-plane VMs
                    owner = self.rows[rows_index].cluster
                    whose = (
                        self._cluster_name(owner)
                        if isinstance(owner, int) and owner >= 0
                        else "hosted clusters"
                    )
                    self.notes.append(
                        f"control plane of {whose}: {res.unplaced} of {n_vms} VMs found no host"
                        + (f" ({res.reason.describe()})" if res.reason else "")
                    )
                self._drop_pods_on_unhosted(rows_index, len(placed), res.reason)
        for rows_index, host_of_vm in vm_host.items():
            self.rows[rows_index].pool.host[: len(host_of_vm)] = host_of_vm
            self.rows[rows_index].pool.rack[: len(host_of_vm)] = np.where(
                host_of_vm >= 0, host_of_vm % self.racks, -1
            )
        self.host_pool = hosts

    def _drop_pods_on_unhosted(
        self, rows_index: int, first_unhosted: int, reason: Unfit | None
    ) -> None:
        offset = sum(r.pool.n for r in self.rows[:rows_index])
        lo = offset + first_unhosted
        hi = offset + self.rows[rows_index].pool.n
        # The VMs without a host hold no pods: their requests are not "used" anywhere.
        pool = self.rows[rows_index].pool
        gone_vms = slice(first_unhosted, pool.n)
        for free, cap in (("free_cpu", "cap_cpu"), ("free_mem", "cap_mem"),
                          ("free_pods", "cap_pods"), ("gpu_free", "gpu_cap")):  # fmt: skip
            getattr(pool, free)[gone_vms] = getattr(pool, cap)[gone_vms]
        why = reason or Unfit("hosts", 1, 0, 0)
        why = Unfit(
            why.resource,
            why.requested,
            why.free,
            why.capacity,
            "its VM found no host" + (f"; {why.detail}" if why.detail else ""),
        )
        for k in range(len(self.workloads)):
            kept_nodes, kept_counts, kept_devices, lost = [], [], [], 0
            devices_of: list[I64 | None] = [*self.pod_devices[k]] or [None] * len(self.pod_nodes[k])
            for nodes, counts, devices in zip(
                self.pod_nodes[k], self.pod_counts[k], devices_of, strict=True
            ):
                gone = (nodes >= lo) & (nodes < hi)
                lost += int(counts[gone].sum())
                kept_nodes.append(nodes[~gone])
                kept_counts.append(counts[~gone])
                if devices is not None:
                    kept_devices.append(devices[~np.repeat(gone, counts)])
            if lost:
                self.pod_nodes[k], self.pod_counts[k] = kept_nodes, kept_counts
                self.pod_devices[k] = kept_devices
                self.unplaced.append(Unplaced(k, lost, why))

    # ------------------------------------------------------------------ result
    def result(self, kind: str, label: str) -> SubstratePlacement:
        tables = [self._table(r) for r in self.rows]
        nodes = NodeTable.concat(tables)
        models = self.scenario.hardware.host_models
        host_model = np.array(self.supply.hosts.model, np.int64)
        host_cpu = np.array([models[m].cpu_milli for m in host_model], np.int64)
        host_mem = np.array([models[m].memory_mib for m in host_model], np.int64)
        host_gpus = np.array([models[m].gpu_count for m in host_model], np.int64)
        hyp_cpu = np.zeros(len(host_model), np.int64)
        hyp_mem = np.zeros(len(host_model), np.int64)
        if self._management is not None:  # management hosts run the management hypervisor
            h = self.defaults.hypervisors[self.defaults.control_plane.management_hypervisor]
            mgmt = np.asarray(self.supply.hosts.role, np.int64) == MANAGEMENT
            for i in np.flatnonzero(mgmt):
                m = models[host_model[i]]
                hyp_cpu[i], hyp_mem[i] = h.host_reserved.for_host(
                    cpu_milli=m.cpu_milli, memory_mib=m.memory_mib
                )
        if self.hypervisor is not None:
            h = self.hypervisor
            per_model = np.array(
                [
                    h.host_reserved.for_host(cpu_milli=m.cpu_milli, memory_mib=m.memory_mib)
                    for m in models
                ],
                np.int64,
            ).reshape(-1, 2)
            hyp_cpu, hyp_mem = per_model[host_model, 0], per_model[host_model, 1]
        placed = np.zeros(len(self.workloads), np.int64)
        pod_nodes, pod_counts, pod_devices = [], [], []
        for k in range(len(self.workloads)):
            pn = np.concatenate(self.pod_nodes[k]) if self.pod_nodes[k] else np.zeros(0, np.int64)
            pc = np.concatenate(self.pod_counts[k]) if self.pod_counts[k] else np.zeros(0, np.int64)
            pd = (
                np.concatenate(self.pod_devices[k])
                if self.pod_devices[k]
                else np.zeros(0, np.int64)
            )
            pod_nodes.append(pn)
            pod_counts.append(pc)
            pod_devices.append(pd)
            placed[k] = int(pc.sum())
        return SubstratePlacement(
            kind=kind,
            name=label,
            host_models=[m.name for m in models],
            hosts=self.supply.hosts,
            host_cpu=host_cpu,
            host_mem=host_mem,
            host_gpus=host_gpus,
            host_hypervisor_cpu=hyp_cpu,
            host_hypervisor_mem=hyp_mem,
            nodes=nodes,
            clusters=self.clusters,
            workloads=self.workloads,
            placed=placed,
            pod_nodes=pod_nodes,
            pod_counts=pod_counts,
            pod_devices=pod_devices,
            unplaced=sorted(self.unplaced, key=lambda u: u.workload_index),
            shared_version=self.shared_version,
            sizing=self.supply.sizing,
            lower_bound_hosts=self.lower_bound + self._fixed_hosts(),
            notes=self.notes,
            control_planes=sorted(self.control_planes, key=lambda c: c.cluster),
        )

    def _fixed_hosts(self) -> int:
        """Bare-metal hosts that run only control planes: fixed by the substrate's rules."""
        if self.hypervisor is not None:
            return 0
        return sum(1 for role in self.supply.hosts.role if role != WORKER)

    def _table(self, r: _PoolRows) -> NodeTable:
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


class _OneModel:
    """A host source that opens hosts of one model only (control-plane machines)."""

    def __init__(self, inner: HostNodes, model: int) -> None:
        self.inner = inner
        self.model = model
        self.templates = inner.templates

    def template_for(self, batch: PodBatch) -> NodeTemplate | None:
        left = self.inner.supply.remaining[self.model] > 0
        return self.inner.templates[self.model] if left else None

    def available(self, template: NodeTemplate) -> int:
        return self.inner.available(template)

    def open(
        self, pool: NodePool, template: NodeTemplate, count: int, racks: I64 | None = None
    ) -> I64:
        return self.inner.open(pool, template, count, racks)

    def exhausted(self, batch: PodBatch) -> str:
        name = self.inner.supply.models[self.model].name
        return f"inventory exhausted: no {name} host left"


def _vgpu_slices(substrate: Vm, milli: int) -> tuple[int, ...]:
    """vGPU slice sizes (milli-GPUs) a VM may get: a MIG-backed vGPU is exactly the pod's
    MIG profile; a time-sliced one an eighth, a quarter or a half of the GPU."""
    return (milli,) if substrate.gpu_sharing == "mig" else (125, 250, 500)


def _stacked_column(stacked: dict[int, tuple[int, int]] | None, n: int, part: int) -> I64:
    out = np.zeros(n, np.int64)
    for node, values in (stacked or {}).items():
        out[node] = values[part]
    return out


def _vm_level(batches: list[PodBatch]) -> list[PodBatch]:
    """Batches as placed into VMs: GPU models are matched at level 2 (the host), so inside
    the VM any GPU is allowed; anti-affinity and rack spread mean one replica per VM (the
    rule itself is checked on the hosts)."""
    return [
        replace(b, gpu_models=None, spread_racks=False,
                anti_affinity="host" if b.anti_affinity != "none" or b.spread_racks else "none")
        for b in batches
    ]  # fmt: skip


def _vms_needed(
    template: NodeTemplate, batches: list[PodBatch], registry: Registry
) -> tuple[int, int, bool]:
    """(pods that cannot fit any VM, lower bound on VMs, whether the bound is exact)."""
    unplaced, demand = 0, np.zeros(4)
    most = 0
    filters = registry.filters()
    for b in batches:
        per_vm, _ = template_fit(template, b, filters)
        if b.anti_affinity != "none":
            per_vm = min(per_vm, 1)
        if per_vm == 0:
            unplaced += b.replicas
            continue
        most = max(most, -(-b.replicas // per_vm))
        gpu = b.gpu_count * b.gpu_milli if b.needs_gpu else 0
        demand += b.replicas * np.array([b.cpu_milli, b.memory_mib, b.pod_slots, gpu], np.float64)
    cap = np.array(
        [
            template.cpu_milli,
            template.memory_mib,
            template.pods,
            template.gpus * template.gpu_slice_milli,
        ],
        np.float64,
    )
    ratios = np.divide(demand, cap, out=np.zeros(4), where=cap > 0)
    vms = max(most, math.ceil(float(ratios.max()) - 1e-9) if len(batches) else 0)
    exact = len(batches) == 1  # identical pods on identical VMs: ceil(replicas / per VM)
    return unplaced, vms, exact


def _check_weights(registry: Registry, profile: Profile) -> None:
    known = set(registry.score_names())
    for name in profile.weights:
        if name not in known:
            raise ScenarioError(
                f"placement.weights: unknown score plugin {name!r} (known: {', '.join(sorted(known))})"
            )
