"""Control planes: how each cluster's control plane runs, and how big it is.

Every cluster has a control plane of ``defaults.control_plane.replicas`` (3) replicas,
each sized by the cluster's node count from the sizing table in the defaults (the table
kube-up used, at least kubeadm's minimum; see ``underlay defaults``). A cluster's
``control_plane`` (the shared cluster's: its substrate's ``control_plane``) says how it runs:

- ``dedicated``: machines of its own — on bare metal 3 hosts of
  ``hardware.control_plane_model`` (without one, the smallest host model that holds the
  size, with a note); on a ``vm`` substrate 3 VMs of that size on the hypervisor hosts;
- ``stacked``: on 3 of the cluster's own worker nodes, their size reserved there (the
  schedulable control planes of a compact cluster: OpenShift's three-node clusters, k3s
  servers); on a ``vm`` substrate it gets 3 VMs as ``dedicated`` (a note says so);
- ``management``: 3 VMs on a small management cluster of hypervisor hosts shared by every
  such cluster (``defaults.control_plane.management_hypervisor``); on a ``vm`` substrate,
  3 VMs as ``dedicated``;
- ``hosted``: replicas on shared control-plane nodes for many clusters
  (``hosted_per_cluster`` each, on at least ``hosted_node_count`` nodes);
- ``auto`` (the default): 3 VMs on a ``vm`` substrate; on bare metal, dedicated machines
  when the scenario names a control-plane host model, else stacked — three whole
  worker-class hosts per cluster is what teams avoid.

Before placement the node count of a bare-metal cluster is estimated from its pods'
requests over the allocatable of a worker node of the host model they would open (CPU,
memory, pod slots, GPUs: GPU pods on a GPU model), summed over those models, at least the
replicas; a VM cluster's is its worker VMs. A stacked control plane of a cluster whose
first pods need GPUs is kept on as many of the GPU hosts they open as the cluster fills (up
to ``replicas``), the rest on hosts of the model other pods prefer; others on the latter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from underlay.defaults.catalog import ControlPlaneDefaults
from underlay.model.scenario import ControlPlaneMode, HostModel
from underlay.placement.framework import PodBatch
from underlay.placement.pool import GPU_WHOLE, NodeTemplate

__all__ = ["ControlPlane", "Mode", "estimated_nodes", "machine_model", "resolve_mode"]

Mode = Literal["dedicated", "stacked", "management", "hosted"]


@dataclass(frozen=True)
class ControlPlane:
    """How one cluster's control plane ran on a substrate (cluster -1: the shared one)."""

    cluster: int
    mode: Mode
    replicas: int
    vcpus: int  # each replica's size (hosted: its share)
    memory_mib: int
    nodes: int  # the cluster's nodes the size was chosen for
    host_model: str | None = None  # dedicated bare-metal machines
    note: str = ""

    def describe(self) -> str:
        """One short phrase, e.g. ``stacked on 3 workers (2 vCPU, 3.75 GiB each)``."""
        size = f"{self.vcpus:g} vCPU, {self.memory_mib / 1024:g} GiB"
        if self.mode == "dedicated":
            where = (
                f"{self.replicas} {self.host_model} hosts"
                if self.host_model
                else f"{self.replicas} VMs"
            )
            return f"dedicated: {where} ({size} needed each)"
        if self.mode == "stacked":
            return f"stacked on {self.replicas} workers ({size} reserved each)"
        if self.mode == "management":
            return f"{self.replicas} VMs on management hosts ({size} each)"
        return f"hosted ({size} per cluster)"


def resolve_mode(mode: ControlPlaneMode, *, on_vms: bool, has_model: bool) -> tuple[Mode, str]:
    """The mode a cluster's control plane runs in on this substrate, and a note when the
    asked-for mode does not apply here."""
    if mode == "auto":
        if on_vms:
            return "dedicated", ""
        return ("dedicated" if has_model else "stacked"), ""
    if on_vms and mode in ("stacked", "management"):
        return (
            "dedicated",
            f"{mode} control planes apply to bare metal; on VMs it gets VMs of its own",
        )
    return mode, ""


def estimated_nodes(template: NodeTemplate, batches: list[PodBatch], replicas: int) -> int:
    """Worker nodes a cluster needs, from its pods' requests over one node's allocatable
    (CPU, memory, pod slots, GPUs; anti-affine replicas one per node), at least ``replicas``."""
    need = replicas
    cpu = sum(b.replicas * b.cpu_milli for b in batches)
    mem = sum(b.replicas * b.memory_mib for b in batches)
    pods = sum(b.replicas * b.pod_slots for b in batches)
    gpu = sum(b.replicas * b.gpu_count * b.gpu_milli for b in batches if b.needs_gpu)
    for total, cap in (
        (cpu, template.cpu_milli),
        (mem, template.memory_mib),
        (pods, template.pods),
        (gpu, template.gpus * GPU_WHOLE),
    ):
        if total and cap > 0:
            need = max(need, math.ceil(total / cap))
    for b in batches:
        if b.anti_affinity == "host":
            need = max(need, b.replicas)
    return need


def machine_model(
    models: list[HostModel], named: str | None, vcpus: int, memory_mib: int
) -> tuple[int, str]:
    """Index of the host model dedicated control-plane machines are, and a note: the named
    control-plane model, else the smallest model without GPUs (then any) that holds the
    size, else the largest."""
    if named is not None:
        index = next(i for i, m in enumerate(models) if m.name == named)
        m = models[index]
        if m.cpu_milli < vcpus * 1000 or m.memory_mib < memory_mib:
            return index, (
                f"control-plane model {m.name} is smaller than the {vcpus} vCPU / "
                f"{memory_mib / 1024:g} GiB the cluster's size calls for"
            )
        return index, ""
    order = sorted(
        range(len(models)),
        key=lambda i: (models[i].gpu_count > 0, models[i].cpu_milli, models[i].memory_mib, i),
    )
    for i in order:
        if models[i].cpu_milli >= vcpus * 1000 and models[i].memory_mib >= memory_mib:
            return i, (
                f"no control-plane model named: dedicated control planes run on whole "
                f"{models[i].name} hosts (hardware.control_plane_model gives them machines "
                "of their own)"
            )
    largest = max(range(len(models)), key=lambda i: (models[i].cpu_milli, models[i].memory_mib))
    return largest, f"no host model holds a {vcpus} vCPU / {memory_mib / 1024:g} GiB control plane"


def size(defaults: ControlPlaneDefaults, nodes: int) -> tuple[int, int]:
    """(vCPUs, memory MiB) of one replica for a cluster of ``nodes`` nodes."""
    return defaults.size_for(nodes)
