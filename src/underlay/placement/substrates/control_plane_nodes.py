"""Control planes as nodes: dedicated machines, stacked on workers, management VMs, hosted.

How each cluster's control plane runs, and how big it is, is decided in
:mod:`underlay.placement.control_planes`; this module opens the hosts, VMs and reserved
room for it (see that module's docstring for the modes).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from underlay.errors import ScenarioError
from underlay.model.scenario import ControlPlaneMode, MaxPodsPolicy, VmShape
from underlay.placement.control_planes import ControlPlane, Mode, machine_model, resolve_mode
from underlay.placement.engine import BatchResult, Placer
from underlay.placement.fleet import HostNodes, VmNodes
from underlay.placement.framework import PodBatch
from underlay.placement.overheads import node_reservation
from underlay.placement.pool import NodePool, NodeTemplate
from underlay.placement.result import CONTROL_PLANE, HOSTED_CONTROL_PLANE, HOSTED_POOL, MANAGEMENT
from underlay.placement.strategies import profile_for
from underlay.placement.substrates.build import PoolRows, SubstrateBuild

__all__ = ["ControlPlaneBuild"]

I64 = NDArray[np.int64]


class ControlPlaneBuild(SubstrateBuild):
    """Places control planes: the part every substrate kind shares."""

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
            PoolRows(
                vms, CONTROL_PLANE, owner, True, np.full(n, vcpus * 1000, np.int64),
                np.full(n, mem, np.int64), np.full(n, r_cpu, np.int64), np.full(n, r_mem, np.int64),
                *system, vm_overhead_mem=overhead,
            )
        )  # fmt: skip
        note = self._cp_shortfall(owner, res, "management VMs found no host")
        self.control_planes.append(
            ControlPlane(owner, "management", n, vcpus, mem, nodes, note=note)
        )

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

    def can_grow(self, batch: PodBatch) -> bool:
        return True
