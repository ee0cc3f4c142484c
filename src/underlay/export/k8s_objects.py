"""The objects of the ``kubernetes`` target, one builder each: a tenant's Namespace and
ResourceQuota, a workload's PodDisruptionBudget, a sandbox runtime's RuntimeClass, a
planned node's labels and taints, and the admission policy that keeps a namespace's pods
in their sandbox. Every number carries the figure it came from (:class:`FieldSource`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from underlay.defaults.catalog import SandboxRuntime
from underlay.export.k8s_names import (
    CLUSTER_LABEL,
    HOST_MODEL_LABEL,
    INSTANCE_TYPE_LABEL,
    ISOLATION_LABEL,
    POOL_LABEL,
    RUNTIME_LABEL,
    TENANT_LABEL,
    TENANT_NAME_ANNOTATION,
    cpu_quantity,
    memory_quantity,
)
from underlay.export.manifest import FieldSource, Manifest
from underlay.export.placed import PlacedPool, PlacedWorkload
from underlay.model.scenario import Workload

__all__ = [
    "GPU_PRODUCT_LABEL",
    "GPU_RESOURCE",
    "RUNTIME_HANDLERS",
    "TenantSpace",
    "namespace",
    "node_patch",
    "pod_disruption_budget",
    "resource_quota",
    "runtime_class",
    "sandbox_policy",
    "taint",
]

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource of a GPU (NVIDIA device plugin)."""
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
"""The node label of its GPU model (NVIDIA GPU feature discovery)."""

RUNTIME_HANDLERS = {"gvisor": "runsc"}
"""The CRI handler of a sandbox runtime where it is not the runtime's own name: gVisor's
shim is ``runsc`` (gvisor.dev, "Installing gVisor with containerd": ``runtime_type
io.containerd.runsc.v1``, RuntimeClass ``handler: runsc``); Kata's kata-deploy registers
``kata`` (and ``kata-qemu`` …), so a runtime named ``kata`` keeps its name."""

_NODE_SELECTOR = "scheduler.alpha.kubernetes.io/node-selector"
_DEFAULT_TOLERATIONS = "scheduler.alpha.kubernetes.io/defaultTolerations"
_REQUIRES = "underlay.io/requires"
_ADMISSION = (
    "kube-apiserver --enable-admission-plugins=PodNodeSelector,PodTolerationRestriction "
    "(they read this namespace's scheduler.alpha.kubernetes.io annotations)"
)


@dataclass(frozen=True)
class TenantSpace:
    """One tenant's namespace on one cluster, with what keeps its pods where the plan put
    them: ``selector`` (a node label ``key=value`` every pod of it selects: its plan
    cluster's nodes, when several plan clusters share one real cluster), ``tainted`` (its
    nodes keep everyone else off: pods tolerate the taint), ``runtime`` (pods must name
    it)."""

    name: str
    tenant_label: str
    tenant: str  # the scenario's (free-text) name
    isolation: str
    workloads: tuple[PlacedWorkload, ...]
    selector: str | None
    tainted: bool
    runtime: str | None


def taint(key: str, value: str) -> dict[str, str]:
    """A ``NoSchedule`` taint (and, as pods write it, the toleration of it)."""
    return {"key": key, "value": value, "effect": "NoSchedule"}


def _toleration(key: str, value: str) -> dict[str, str]:
    """What tolerates :func:`taint` ``(key, value)``."""
    return {"key": key, "operator": "Equal", "value": value, "effect": "NoSchedule"}


def namespace(space: TenantSpace, file: str) -> Manifest:
    """The tenant's Namespace: labels saying whose it is (and which sandbox its pods run
    in), and the annotations the PodNodeSelector / PodTolerationRestriction admission
    plugins merge into every pod (its ``selector``; the toleration of its nodes' taint)."""
    labels = {TENANT_LABEL: space.tenant_label, ISOLATION_LABEL: space.isolation}
    annotations = {TENANT_NAME_ANNOTATION: space.tenant}
    if space.runtime:
        labels[RUNTIME_LABEL] = space.runtime
    if space.selector:
        annotations[_NODE_SELECTOR] = space.selector
    if space.tainted:
        annotations[_DEFAULT_TOLERATIONS] = json.dumps(
            [_toleration(TENANT_LABEL, space.tenant_label)], separators=(",", ":")
        )
    if space.selector or space.tainted:
        annotations[_REQUIRES] = _ADMISSION
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": space.name, "labels": labels, "annotations": annotations},
    }
    return Manifest(body, file)


def _sum_text(parts: Sequence[tuple[str, int, int]], fmt: Callable[[int], str], extra: int) -> str:
    """``api 24 × 1 + ledger-db 3 × 8`` (``extra`` per pod added inside each term:
    ``runners 400 × (200m + 250m)``)."""
    plus = f" + {fmt(extra)}" if extra else ""
    return " + ".join(
        f"{name} {n} × ({fmt(v)}{plus})" if plus else f"{name} {n} × {fmt(v)}"
        for name, n, v in parts
    )


def _amounts(loads: Sequence[Workload], kind: str, res: str) -> list[int] | None:
    """Each workload's ``kind`` (requests / limits) of ``res`` (cpu / memory); None when
    one of them does not set it."""
    out = []
    for w in loads:
        given = w.requests if kind == "requests" else w.limits
        value = (given.cpu_milli if res == "cpu" else given.memory_mib) if given else 0
        if not value:
            return None
        out.append(value)
    return out


def resource_quota(
    space: TenantSpace, overhead: SandboxRuntime | None, file: str
) -> Manifest | None:
    """The tenant's ResourceQuota: its pods and the sums of their requests and limits
    (with the sandbox's pod overhead, which quota counts), GPUs.

    A CPU or memory request (limit) is quoted only when every workload of the namespace
    sets one: a quota on ``requests.cpu`` makes the API server refuse a pod without a CPU
    request, which would refuse pods the plan runs. None without workloads.
    """
    loads = [w.workload for w in space.workloads]
    if not loads:
        return None
    o_cpu = overhead.pod_overhead.cpu_milli if overhead else 0
    o_mem = overhead.pod_overhead.memory_mib if overhead else 0
    hard: dict[str, str] = {}
    sources: list[FieldSource] = []
    who = f"tenant {space.tenant!r}"
    over = (
        f" (pod overhead {space.runtime}: defaults sandbox_runtimes.{space.runtime}.pod_overhead)"
        if overhead
        else ""
    )

    def add(key: str, text: str, figure: str) -> None:
        hard[key] = text
        sources.append(FieldSource(f"spec.hard.{key}", figure))

    pods = sum(w.replicas for w in loads)
    add(
        "pods",
        str(pods),
        f"{who}: Σ replicas = "
        + " + ".join(f"{w.name} {w.replicas}" for w in loads)
        + f" = {pods}",
    )
    for res, fmt, extra in (("cpu", cpu_quantity, o_cpu), ("memory", memory_quantity, o_mem)):
        for kind in ("requests", "limits"):
            values = _amounts(loads, kind, res)
            if values is None:
                continue
            total = sum(w.replicas * (v + extra) for w, v in zip(loads, values, strict=True))
            terms = [(w.name, w.replicas, v) for w, v in zip(loads, values, strict=True)]
            add(
                f"{kind}.{res}",
                fmt(total),
                f"{who}: Σ replicas × {kind}.{res}{over} = {_sum_text(terms, fmt, extra)} "
                f"= {fmt(total)}",
            )
    gpu_loads = [w for w in loads if w.gpu_count]
    if gpu_loads:
        gpus = sum(w.replicas * w.gpu_count for w in gpu_loads)
        per_pod = " + ".join(f"{w.name} {w.replicas} × {w.gpu_count}" for w in gpu_loads)
        add(
            f"requests.{GPU_RESOURCE}",
            str(gpus),
            f"{who}: Σ replicas × GPUs per pod = {per_pod} = {gpus} (a pod with a share of a GPU "
            "asks for one shared GPU, as time-slicing and single-strategy MIG expose it)",
        )
    body = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "underlay-plan", "namespace": space.name},
        "spec": {"hard": hard},
    }
    return Manifest(body, file, tuple(sources))


def pod_disruption_budget(
    space: TenantSpace, w: PlacedWorkload, name: str, selector: dict[str, str], file: str
) -> Manifest:
    """The workload's PodDisruptionBudget (policy/v1), selecting its pods by ``selector``."""
    budget = w.workload.disruption_budget
    assert budget is not None
    field, value = (
        ("maxUnavailable", budget.max_unavailable)
        if budget.max_unavailable is not None
        else ("minAvailable", budget.min_available)
    )
    snake = "max_unavailable" if field == "maxUnavailable" else "min_available"
    body = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": space.name},
        "spec": {field: value, "selector": {"matchLabels": dict(selector)}},
    }
    figure = (
        f"disruption budget {snake}: {value} (tenant {w.tenant.name!r} cluster {w.cluster!r} "
        f"workload {w.workload.name!r}, of {w.workload.replicas} replicas)"
    )
    return Manifest(body, file, (FieldSource(f"spec.{field}", figure),))


def runtime_class(runtime: str, spec: SandboxRuntime, file: str, *, tainted: bool) -> Manifest:
    """The sandbox runtime's RuntimeClass: its handler, the pod overhead the model charged
    every sandboxed pod, and scheduling onto the nodes that run it (they carry the
    runtime's label, and its taint when ``tainted``)."""
    cpu, mem = spec.pod_overhead.cpu_milli, spec.pod_overhead.memory_mib
    where = f"defaults sandbox_runtimes.{runtime}.pod_overhead"
    body: dict[str, Any] = {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": runtime},
        "handler": RUNTIME_HANDLERS.get(runtime, runtime),
        "overhead": {"podFixed": {"cpu": cpu_quantity(cpu), "memory": memory_quantity(mem)}},
        "scheduling": {"nodeSelector": {RUNTIME_LABEL: runtime}},
    }
    if tainted:
        body["scheduling"]["tolerations"] = [_toleration(RUNTIME_LABEL, runtime)]
    sources = (
        FieldSource(
            "overhead.podFixed.cpu", f"sandbox pod overhead: {cpu_quantity(cpu)} CPU ({where}.cpu)"
        ),
        FieldSource(
            "overhead.podFixed.memory",
            f"sandbox pod overhead: {memory_quantity(mem)} memory ({where}.memory)",
        ),
    )
    return Manifest(body, file, sources)


def node_patch(
    name: str,
    cluster: str,
    pool: PlacedPool,
    index: int,
    tenant: TenantSpace | None,
    file: str,
    *,
    runtime_taint: bool,
) -> Manifest:
    """The labels and taints one planned node gets (a partial Node object for server-side
    apply): its cluster, pool and machine; the tenant it is kept for (with a taint when
    the tenant's space is ``tainted``); the sandbox runtime it runs pods in (with a taint
    when ``runtime_taint``)."""
    labels = {
        CLUSTER_LABEL: cluster,
        POOL_LABEL: pool.name,
        HOST_MODEL_LABEL: pool.host_model,
        INSTANCE_TYPE_LABEL: pool.instance_type,
    }
    taints = []
    if pool.gpu_model:
        labels[GPU_PRODUCT_LABEL] = pool.gpu_model
    if tenant is not None:
        labels[TENANT_LABEL] = tenant.tenant_label
        labels[ISOLATION_LABEL] = tenant.isolation
        if tenant.tainted:
            taints.append(taint(TENANT_LABEL, tenant.tenant_label))
    if pool.runtime:
        labels[RUNTIME_LABEL] = pool.runtime
        if runtime_taint:
            taints.append(taint(RUNTIME_LABEL, pool.runtime))
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "underlay.io/planned-as": f"node {index} of {pool.nodes} of pool {pool.name} "
                f"({pool.instance_type}): rename it to one of your nodes of this machine"
            },
        },
    }
    if taints:
        body["spec"] = {"taints": taints}
    return Manifest(body, file)


def sandbox_policy(version: str, file: str) -> list[Manifest]:
    """A ValidatingAdmissionPolicy (GA in Kubernetes 1.30) and its binding refusing a pod
    in a namespace labelled ``underlay.io/runtime: R`` unless the pod names RuntimeClass
    ``R``: what keeps a sandboxed tenant's pods in their sandbox. Empty before 1.30 (the
    README says so: pods must name the class themselves)."""
    if tuple(int(x) for x in version.split(".")) < (1, 30):
        return []
    name = "underlay-sandboxed-namespaces"
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["pods"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": f"has(object.spec.runtimeClassName) && "
                    f"object.spec.runtimeClassName == namespaceObject.metadata.labels['{RUNTIME_LABEL}']",
                    "message": f"pods of this namespace run in the sandbox its {RUNTIME_LABEL} "
                    "label names: set spec.runtimeClassName to it",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {
                    "matchExpressions": [{"key": RUNTIME_LABEL, "operator": "Exists"}]
                }
            },
        },
    }
    return [Manifest(policy, file), Manifest(binding, file)]
