"""The ``vm`` substrate: pods onto VMs of each tenant cluster, VMs onto hypervisor hosts.

Level 1 places pods on VMs; level 2 places VMs on hosts. A VM's footprint on its host is
its vCPUs ÷ CPU overcommit and its memory ÷ memory overcommit plus the hypervisor's
per-VM memory overhead; each host keeps the hypervisor's reservation and CPU overhead
back. Pod anti-affinity is enforced per VM (one replica per VM); control-plane VMs of one
cluster go on different hosts.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import HypervisorProfile
from underlay.errors import ScenarioError
from underlay.model.scenario import MaxPodsPolicy, Vm, VmShape
from underlay.placement.control_planes import ControlPlane
from underlay.placement.engine import BatchResult, Placer
from underlay.placement.fleet import HostNodes, VmNodes
from underlay.placement.framework import PodBatch, Unfit
from underlay.placement.overheads import cpu_tax
from underlay.placement.pool import GPU_WHOLE, NodePool
from underlay.placement.result import CONTROL_PLANE, WORKER, Unplaced, WorkloadRef
from underlay.placement.substrates.control_plane_nodes import ControlPlaneBuild
from underlay.placement.substrates.vm_shapes import VmShapeChoice, vm_shape

__all__ = ["VmBuild"]

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class _VmGroup:
    """Identical VMs of one cluster, and the placement rule they carry to the hosts."""

    rows_index: int
    shape: VmShape
    results: list[BatchResult]
    anti_affinity: Literal["none", "host", "rack"] = "none"
    spread_racks: bool = False


class VmBuild(VmShapeChoice, ControlPlaneBuild):
    """Places a scenario on the ``vm`` substrate."""

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
        placer.expect(batches, tuple(self.gpu_models))
        level2 = [placer.place(b) for b in self._ordered(batches)]
        self._add_bound(templates, batches, hosts)
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
