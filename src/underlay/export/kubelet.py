"""The kubelet configuration of a machine as kubeadm's ``kubeletExtraArgs``, each value
with the figure it comes from.

- ``max-pods``: the cluster's max-pods policy (``max_pods``: per node, per core, pod CIDR)
  on the machine's CPUs;
- ``kube-reserved``: what placement kept back from pods on the machine, by the
  ``kubernetes.node_reservation`` formula of the defaults (GKE's tiers, EKS's or AKS's
  formula). The formulas give kube- and system-reserved as one figure; it is written as
  ``kube-reserved`` (as GKE reserves it), so the node's allocatable is the model's;
- ``eviction-hard``: the formula's eviction threshold on ``memory.available``, and the
  kubelet's own defaults for the disk signals (``nodefs.available<10%``,
  ``imagefs.available<15%``, ``nodefs.inodesFree<5%``; kubernetes.io, "Node-pressure
  Eviction"), written out because a flag that names one signal replaces the others;
- ``cpu-manager-policy=static`` where pinned (see :func:`~.clusters.pinned_nodes`).
"""

from __future__ import annotations

from typing import Any

from underlay.errors import ExportError
from underlay.export.clusters import Kubelet, Machine
from underlay.export.manifest import FieldSource
from underlay.export.names import cpu_quantity

__all__ = ["DISK_EVICTION", "kubelet_args", "node_cidr_args"]

DISK_EVICTION = "nodefs.available<10%,imagefs.available<15%,nodefs.inodesFree<5%"
"""The kubelet's default hard eviction thresholds of the disk signals (kubernetes.io,
"Node-pressure Eviction", "Hard eviction thresholds")."""


def kubelet_args(
    kubelet: Kubelet, machine: Machine, path: str, who: str
) -> tuple[list[dict[str, str]], list[FieldSource]]:
    """``kubeletExtraArgs`` (kubeadm v1beta4's list of name/value pairs) for ``machine``,
    written at ``path`` (a dotted path), and the figure of each value. ``who`` names the
    machines in an error (a cluster and pool)."""
    if kubelet.cpu_manager_static and kubelet.reserved_cpu_milli <= 0:
        raise ExportError(
            f"{who}: runs pods the static CPU manager would pin, which needs a CPU "
            f"reservation above 0 (the kubelet refuses it otherwise), but "
            f"kubernetes.node_reservation {kubelet.policy!r} reserves none: choose gke, eks "
            "or aks"
        )
    size = f"{cpu_quantity(machine.cpu_milli)} CPUs and {machine.memory_mib} MiB"
    formula = f"defaults node_reservation.{kubelet.policy}"
    args: list[tuple[str, str, str]] = [
        (
            "max-pods",
            str(kubelet.max_pods),
            f"max pods {kubelet.max_pods} on {cpu_quantity(machine.cpu_milli)} CPUs (max_pods "
            f"policy: {kubelet.max_pods_rule})",
        ),
        (
            "kube-reserved",
            f"cpu={kubelet.reserved_cpu_milli}m,memory={kubelet.reserved_memory_mib}Mi",
            f"node reservation of a node of {size}: {kubelet.reserved_cpu_milli}m CPU, "
            f"{kubelet.reserved_memory_mib} MiB memory (kube + system reserved; the "
            f"{kubelet.policy} formula, {formula})",
        ),
        (
            "eviction-hard",
            f"memory.available<{kubelet.eviction_mib}Mi,{DISK_EVICTION}",
            f"eviction threshold {kubelet.eviction_mib} MiB ({formula}.eviction_mib); disk "
            "signals: the kubelet's defaults",
        ),
    ]
    if kubelet.cpu_manager_static:
        args.append(
            (
                "cpu-manager-policy",
                "static",
                "pinned: runs Guaranteed pods requesting whole CPUs (static CPU manager)",
            )
        )
    items = [{"name": name, "value": value} for name, value, _ in args]
    sources = [
        FieldSource(f"{path}.{i}.value", figure)
        for i, (_, _, figure) in enumerate(args)
        if any(ch.isdigit() for ch in items[i]["value"]) or figure.startswith("pinned")
    ]
    return items, sources


def node_cidr_args(prefix: int, path: str) -> tuple[list[dict[str, Any]], list[FieldSource]]:
    """kube-controller-manager's ``node-cidr-mask-size`` (the pod CIDR each node gets),
    from the cluster's ``max_pods.pod_cidr_prefix``."""
    return (
        [{"name": "node-cidr-mask-size", "value": str(prefix)}],
        [
            FieldSource(
                f"{path}.0.value",
                f"per-node pod CIDR /{prefix} (max_pods.pod_cidr_prefix: max pods stays under "
                "half of its addresses)",
            )
        ],
    )
