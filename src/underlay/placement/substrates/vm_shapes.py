"""VM shape choice: which shape a cluster's worker VMs get.

The candidates are the substrate's menu, or shapes sized to the pods (a host split into
1 to 16 equal VMs, or vGPU slices); each is scored by a lower bound on the hosts its VMs
need (pods judged by the registered filters on an empty VM of the shape), and the best
is then placed for real.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import HypervisorProfile
from underlay.model.scenario import MaxPodsPolicy, Vm, VmShape
from underlay.placement.engine import BatchResult, Placer, template_fit
from underlay.placement.fleet import VmNodes
from underlay.placement.framework import PodBatch, Registry
from underlay.placement.overheads import node_reservation
from underlay.placement.pool import GPU_WHOLE, NodePool, NodeTemplate
from underlay.placement.substrates.build import Progress, SubstrateBuild

__all__ = ["VmShapeChoice", "vm_shape"]

I64 = NDArray[np.int64]

_AUTO_SPLITS = (1, 2, 3, 4, 6, 8, 12, 16)


def vm_shape(*, name: str, vcpus: int, memory_mib: int, gpus: float = 0.0) -> VmShape:
    """A VM shape from integer units (the model itself parses quantities)."""
    return VmShape.model_validate(
        {"name": name, "vcpus": vcpus, "memory": f"{memory_mib}Mi", "gpus": gpus}
    )


class VmShapeChoice(SubstrateBuild):
    """Chooses the VM shape of each cluster's worker VMs."""

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


def _vgpu_slices(substrate: Vm, milli: int) -> tuple[int, ...]:
    """vGPU slice sizes (milli-GPUs) a VM may get: a MIG-backed vGPU is exactly the pod's
    MIG profile; a time-sliced one an eighth, a quarter or a half of the GPU."""
    return (milli,) if substrate.gpu_sharing == "mig" else (125, 250, 500)


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
