"""Nodes and pods as read from the dump, and pods grouped into workloads by their
controller (a Deployment behind its ReplicaSet, a CronJob behind its Job).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Final

from underlay.importers.kubectl.cursor import _At
from underlay.importers.kubectl.mig import MigShare, node_gpus, pod_share, product_model
from underlay.importers.kubectl.resources import (
    _CPU,
    _GPU,
    _MEMORY,
    _RESOURCES,
    _fmt_memory,
    _milli,
    _pod_resources,
    _quantity,
    _Term,
)

__all__ = ["GPU_PRODUCT_LABEL"]


GPU_PRODUCT_LABEL: Final = "nvidia.com/gpu.product"
"""Node label with the GPU model (NVIDIA GPU feature discovery)."""

_INSTANCE_TYPE_LABELS: Final = (
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
)
_ZONE_LABELS: Final = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
RACK_LABELS: Final = ("topology.kubernetes.io/rack", "topology.rook.io/rack", "rack")
"""Node labels read as the rack, first found first: Kubernetes defines none (only zone
and region), so the ones storage operators and sites commonly set."""
_CONTROL_PLANE_LABELS: Final = (
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
)
_MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"
_SKIPPED_PHASES: Final = ("Succeeded", "Failed")
_UNLABELLED: Final = "unlabelled"

_RS_HASH = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5,10}|\d{6,10}")
_CIDR = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/(\d{1,2})")  # IPv4: the model's pod CIDR is
_CRONJOB_JOB = re.compile(r"^(.+)-\d{8,}$")  # <cronjob>-<scheduled time in minutes>


@dataclass(frozen=True)
class _NodeInfo:
    name: str
    cpu_milli: int
    memory_mib: int
    gpus: int
    gpu_model: str | None
    instance_type: str | None
    zone: str | None
    max_pods: int | None
    kubelet: str | None
    control_plane: bool
    provider: str | None
    pod_cidr_prefix: int | None = None
    """The prefix length of ``spec.podCIDR`` (IPv4 only), when given."""
    rack: str | None = None
    """The node's rack label (:data:`RACK_LABELS`), when it has one."""

    @property
    def shape(self) -> tuple[int, int, int, str, str]:
        return (
            self.cpu_milli,
            self.memory_mib,
            self.gpus,
            self.gpu_model or "",
            self.instance_type or "",
        )


def _parse_node(item: _At) -> _NodeInfo:
    meta = item.mapping("metadata")
    name = (meta.text("name") if meta else None) or item.path or "node"
    labels = meta.strings("labels") if meta else {}
    status = item.mapping("status")
    capacity = (status.mapping("capacity") or status.mapping("allocatable")) if status else None
    if capacity is None:
        spec = item.mapping("spec")
        hint = (
            " (this looks like a Pod: is it the pods file?)"
            if spec and "containers" in spec.value
            else ""
        )
        raise item.fail(f"status.capacity: missing; a node needs its cpu and memory capacity{hint}")
    amounts: dict[str, Decimal] = {}
    for resource in _RESOURCES:
        if capacity.value.get(resource) is not None:
            amounts[resource] = _quantity(capacity.child(resource), resource)
        elif resource != _GPU:
            raise capacity.fail(f"{resource}: missing; a node needs its {resource} capacity")
    cpu_milli = _milli(amounts[_CPU], ROUND_FLOOR)
    memory_mib = int((amounts[_MEMORY] / 2**20).to_integral_value(rounding=ROUND_FLOOR))
    if cpu_milli < 1:
        raise capacity.child(_CPU).fail("a node needs some CPU capacity")
    if memory_mib < 1024:
        raise capacity.child(_MEMORY).fail(
            f"{_fmt_memory(amounts[_MEMORY])} is less than the 1Gi a host model needs"
        )
    gpus = node_gpus(capacity.value, labels, int(amounts.get(_GPU, Decimal(0))))
    max_pods: int | None = None
    if capacity.value.get("pods") is not None:
        pods = _quantity(capacity.child("pods"), _CPU)  # a plain count; the CPU ceiling fits
        max_pods = int(pods) if pods == pods.to_integral_value() else None
    node_info = status.mapping("nodeInfo") if status else None
    spec = item.mapping("spec")
    provider = spec.text("providerID") if spec else None
    cidr = _CIDR.fullmatch(spec.text("podCIDR") or "") if spec else None
    return _NodeInfo(
        name=name,
        cpu_milli=cpu_milli,
        memory_mib=memory_mib,
        gpus=gpus,
        gpu_model=product_model(labels.get(GPU_PRODUCT_LABEL) or "nvidia-gpu") if gpus else None,
        instance_type=next((labels[k] for k in _INSTANCE_TYPE_LABELS if labels.get(k)), None),
        zone=next((labels[k] for k in _ZONE_LABELS if labels.get(k)), None),
        rack=next((labels[k] for k in RACK_LABELS if labels.get(k)), None),
        max_pods=max_pods,
        kubelet=node_info.text("kubeletVersion") if node_info else None,
        control_plane=any(k in labels for k in _CONTROL_PLANE_LABELS)
        or labels.get("kubernetes.io/role") == "master",
        provider=provider.split(":", 1)[0] if provider and ":" in provider else None,
        pod_cidr_prefix=int(cidr.group(1)) if cidr and int(cidr.group(1)) <= 32 else None,
    )


@dataclass(frozen=True)
class _PodInfo:
    path: str
    name: str
    namespace: str
    tenant: str
    owner_kind: str  # "Deployment", "StatefulSet", ..., "Pod" for bare pods
    owner_name: str
    via: str  # the owner reference as written, e.g. "ReplicaSet web-7d4b9c8f5d"
    daemonset: bool
    control_plane: bool
    """A static (mirror) pod anywhere, or a ``tier: control-plane`` pod (see ``static``)."""
    phase: str | None
    node: str | None
    requests: dict[str, _Term]
    limits: dict[str, Decimal | None]
    labels: dict[str, str] = field(default_factory=dict)
    static: bool = False
    """A static pod of a kubelet: mirror annotation or owned by a Node, in any namespace."""
    mig: MigShare | None = None
    """Its NVIDIA MIG instances as a share of one GPU (``mig.py``)."""


TenantOf = Callable[[str, dict[str, str]], str]
"""The tenant key of a pod from its namespace and labels."""


def _by_namespace_or_label(tenant_label: str | None) -> TenantOf:
    if tenant_label is None:
        return lambda namespace, labels: namespace
    return lambda namespace, labels: labels.get(tenant_label) or _UNLABELLED


def _parse_pod(item: _At, tenant: str | TenantOf | None) -> _PodInfo:
    """The pod; ``tenant`` is a pod label key (``None``: the namespace) or a function."""
    meta = item.mapping("metadata")
    name = (meta.text("name") if meta else None) or item.path or "pod"
    namespace = (meta.text("namespace") if meta else None) or "default"
    labels = meta.strings("labels") if meta else {}
    annotations = meta.strings("annotations") if meta else {}
    spec = item.mapping("spec")
    if spec is None or spec.value.get("containers") is None:
        raise item.fail("spec.containers: missing; is this a Pod?")
    status = item.mapping("status")

    owner_kind, owner_name, via = "Pod", name, "no owner"
    refs = meta.objects("ownerReferences") if meta else []
    ref = next((r for r in refs if r.value.get("controller") is True), refs[0] if refs else None)
    if ref is not None:
        kind = ref.text("kind") or ""
        ref_name = ref.text("name") or ""
        if kind and ref_name:
            via = f"{kind} {ref_name}"
            owner_kind, owner_name = _workload_of(kind, ref_name, labels)
    mirror = _MIRROR_ANNOTATION in annotations or owner_kind == "Node"
    if owner_kind == "Node":
        owner_kind, owner_name = "Pod", name

    tenant_of = tenant if callable(tenant) else _by_namespace_or_label(tenant)
    requests, limits = _pod_resources(spec)
    mig = pod_share(spec.value) if isinstance(spec.value, dict) else None
    return _PodInfo(
        path=item.path,
        name=name,
        namespace=namespace,
        tenant=tenant_of(namespace, labels),
        owner_kind=owner_kind,
        owner_name=owner_name,
        via=via,
        daemonset=owner_kind == "DaemonSet",
        control_plane=mirror or labels.get("tier") == "control-plane",
        phase=status.text("phase") if status else None,
        node=spec.text("nodeName"),
        requests=requests,
        limits=limits,
        labels=labels,
        static=mirror,
        mig=mig,
    )


def _workload_of(kind: str, name: str, labels: dict[str, str]) -> tuple[str, str]:
    """The workload a pod's controller stands for: ``(kind, name)``."""
    if kind == "ReplicaSet":
        template_hash = labels.get("pod-template-hash")
        if (
            template_hash
            and name.endswith(f"-{template_hash}")
            and len(name) > len(template_hash) + 1
        ):
            return "Deployment", name[: -len(template_hash) - 1]
        head, dash, tail = name.rpartition("-")
        if dash and head and _RS_HASH.fullmatch(tail):
            return "Deployment", head
        return "ReplicaSet", name
    if kind == "Job":
        match = _CRONJOB_JOB.match(name)
        if match:
            return "CronJob", match.group(1)
    return kind, name


@dataclass
class _Group:
    tenant: str
    namespace: str
    kind: str
    name: str
    pods: list[_PodInfo] = field(default_factory=list)

    def request(self, resource: str) -> Decimal:
        return max(p.requests[resource].amount for p in self.pods)

    def limit(self, resource: str) -> Decimal | None:
        values = [p.limits[resource] for p in self.pods]
        return None if any(v is None for v in values) else max(v for v in values if v is not None)
