"""What every substrate's placement shares: the run's state, templates, batches, results.

:class:`SubstrateBuild` holds one placement run of one substrate: the scenario's
clusters and workloads with global indices, the host supply, the node pools opened so
far as rows of the final node table, where each pod went and what did not fit. It has
the helpers every substrate kind uses: node templates of a host model or VM shape (after
the kubelet reservation and system pods), pod batches, bare-metal rows, VM rows on
hosts, the LP lower bound on hosts, and :meth:`SubstrateBuild.result`. The kinds are
subclasses (:mod:`.baremetal`, :mod:`.vms`), with control planes in
:mod:`.control_plane_nodes` and VM shape choice in :mod:`.vm_shapes`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults, HypervisorProfile
from underlay.errors import ScenarioError
from underlay.model.scenario import HostModel, MaxPodsPolicy, Scenario, SystemPod, Vm, VmShape
from underlay.placement.bounds import hosts_lower_bound
from underlay.placement.control_planes import ControlPlane, estimated_nodes
from underlay.placement.deal import Proposal, dealable, fluid_deal
from underlay.placement.engine import BatchResult, Placer, template_fit
from underlay.placement.fleet import HostSupply
from underlay.placement.framework import PodBatch, Profile, Registry
from underlay.placement.gpus import NO_GPU, gpu_share
from underlay.placement.overheads import node_reservation
from underlay.placement.plugins import default_registry
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate
from underlay.placement.result import (
    MANAGEMENT,
    SHARED_CLUSTER,
    WORKER,
    ClusterRef,
    NodeTable,
    SubstratePlacement,
    Unplaced,
    WorkloadRef,
)
from underlay.placement.substrates.node_rows import PoolRows, node_table, stacked_column

__all__ = ["PoolRows", "Progress", "SubstrateBuild", "flatten"]

I64 = NDArray[np.int64]
Progress = Callable[[int], None]

_NO_POD_LIMIT = 1 << 30


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


class SubstrateBuild:
    """The shared state and helpers of one substrate placement run."""

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
        self.registry, self.profile = _configured(scenario, registry)
        self.clusters, self.workloads = flatten(scenario)
        self.gpu_models = sorted({m.gpus.model for m in scenario.hardware.host_models if m.gpus})
        self.racks = self._rack_count()
        self.supply = HostSupply(scenario.hardware, self.gpu_models, self.racks)
        self.reservation = defaults.node_reservation[scenario.kubernetes.node_reservation]
        self.rows: list[PoolRows] = []
        self.pod_nodes: list[list[I64]] = [[] for _ in self.workloads]
        self.pod_counts: list[list[I64]] = [[] for _ in self.workloads]
        self.pod_devices: list[list[I64]] = [[] for _ in self.workloads]
        self.unplaced: list[Unplaced] = []
        self.notes: list[str] = []
        self.hypervisor: HypervisorProfile | None = None
        self.shared_version: str | None = None
        self._offset = 0
        self.lower_bound = 0  # LP lower bound on hosts, summed over independent pools
        self.lower_bound_any_gpu = 0  # the same, GPU hosts bought for their CPU too
        self._vm_templates: list[NodeTemplate] | None = None
        self.control_planes: list[ControlPlane] = []
        self._management: tuple[NodePool, Placer] | None = None
        self.peaks: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self.vm: Vm | None = None  # the vm substrate, on a vm run
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
        """The batches in the order the profile's queue-sort plugin places them."""
        queue = self.registry.queue_sort(self.profile.queue_sort)
        return queue.sort(list(batches), self.scenario.hardware.sizing_model)

    def _place_all(self, placer: Placer, batches: list[PodBatch]) -> list[BatchResult]:
        placer.expect(batches, tuple(self.gpu_models))
        results = []
        ordered = self._ordered(batches)
        proposals: dict[int, Proposal] | None = None
        for i, batch in enumerate(ordered):
            if proposals is None and self.profile.deal and dealable(batch):
                # The constrained batches are placed: deal the plain ones.
                proposals = fluid_deal(
                    placer.pool,
                    placer.source,
                    ordered[i:],
                    lambda t, b: template_fit(t, b, placer.filters)[0],
                )
            res = placer.place(batch, (proposals or {}).get(batch.key))
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

    def _add_rows(self, rows: PoolRows) -> int:
        offset = self._offset
        self.rows.append(rows)
        self._offset += rows.pool.n
        return offset

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
            PoolRows(
                pool, role, cluster, False, size_cpu, size_mem,
                np.array([r[0] for r in res], np.int64), np.array([r[1] for r in res], np.int64),
                *system, sandbox_cpu_per_pod=sandbox[0], sandbox_mem_per_pod=sandbox[1],
                cp_cpu=stacked_column(stacked, pool.n, 0), cp_mem=stacked_column(stacked, pool.n, 1),
            )
        )  # fmt: skip

    def _add_bound(
        self, templates: list[NodeTemplate], batches: list[PodBatch], pool: NodePool
    ) -> None:
        """Add the lower bound of one pool of hosts, once placed (``pool``: its hosts), to
        the run's, and the bound that lets GPU hosts be bought for their CPU too."""
        bought = np.bincount(pool.live("host_model"), minlength=len(templates))
        given, any_gpu = self._bound(templates, batches, bought)
        self.lower_bound += given
        self.lower_bound_any_gpu += any_gpu

    def _bound(
        self, templates: list[NodeTemplate], batches: list[PodBatch], bought: I64 | None = None
    ) -> tuple[int, int]:
        """Lower bound on hosts of ``templates`` for ``batches`` (see placement.bounds):
        given the GPU hosts ``bought`` of each model when sizing (a GPU host is bought
        only for GPU pods that need one, never for its CPU: at most as many as the pool
        bought), and without that limit (at most one GPU host per GPU pod)."""
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
            if bought is not None:
                given = np.where(np.isinf(available), available, np.minimum(available, bought))
                if (given < available).any():
                    return (
                        hosts_lower_bound(cap, groups, at_least=at_least, available=given),
                        hosts_lower_bound(cap, groups, at_least=at_least, available=available),
                    )
        bound = hosts_lower_bound(cap, groups, at_least=at_least, available=available)
        return bound, bound

    def _vm_host_templates(
        self, hyp: HypervisorProfile, overcommit: float | None = None, *, cache: bool = True
    ) -> list[NodeTemplate]:
        """What each host model offers to VMs (built once per run: it only depends on the
        hypervisor and the overcommit, the substrate's unless given)."""
        if cache and self._vm_templates is not None:
            return self._vm_templates
        if overcommit is None:
            assert self.vm is not None, "hosts for VMs: the vm substrate gives the overcommit"
            overcommit = self.vm.cpu_overcommit
        cpu_overcommit = overcommit
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
            PoolRows(
                pool, role, cluster, True,
                np.full(n, shape.vcpus * 1000, np.int64), np.full(n, shape.memory_mib, np.int64),
                np.full(n, r_cpu, np.int64), np.full(n, r_mem, np.int64),
                *system, vm_overhead_mem=overhead,
            )
        )  # fmt: skip

    def result(self, kind: str, label: str) -> SubstratePlacement:
        tables = [node_table(r) for r in self.rows]
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
            lower_bound_hosts_any_gpu=self.lower_bound_any_gpu + self._fixed_hosts(),
            notes=self.notes,
            control_planes=sorted(self.control_planes, key=lambda c: c.cluster),
        )

    def _fixed_hosts(self) -> int:
        """Bare-metal hosts that run only control planes: fixed by the substrate's rules."""
        if self.hypervisor is not None:
            return 0
        return sum(1 for role in self.supply.hosts.role if role != WORKER)


def _configured(scenario: Scenario, registry: Registry | None) -> tuple[Registry, Profile]:
    """The registry under the scenario's ``placement.args`` and the strategy's profile
    (ScenarioError naming the field on an unknown name or a bad argument)."""
    placement = scenario.placement
    try:
        configured = (registry or default_registry()).configure(placement.args)
    except ValueError as exc:
        raise ScenarioError(f"placement.args: {exc}") from None
    try:
        return configured, configured.profile(placement.strategy, placement.weights)
    except KeyError as exc:
        raise ScenarioError(f"placement: {exc.args[0]}") from None
