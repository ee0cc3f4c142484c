"""The fields of each API object that a scenario needs, and nothing else.

Each object is cut down as soon as its page arrives, so 100k pods cost what their
requests cost, not what their full specs do. The cut is also what keeps secrets out of
every output: environment values, ``last-applied-configuration`` annotations, volumes,
images and statuses are dropped here and never reach the builder. An object of the
wrong shape is passed on as it is, so that the builder names the bad field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["Owners", "slim_budget", "slim_namespace", "slim_node", "slim_pod"]

_KEPT_ANNOTATION_PREFIX: Final = "kubernetes.io/config."
"""Pod annotations kept: the kubelet's static/mirror pod markers."""


def _pick(value: Any, keys: Iterable[str]) -> Any:
    """``value`` cut to ``keys``; a non-object unchanged (the builder names the error)."""
    if not isinstance(value, dict):
        return value
    return {k: value[k] for k in keys if k in value}


def _containers(value: Any, keys: tuple[str, ...]) -> Any:
    if not isinstance(value, list):
        return value
    return [_pick(c, keys) for c in value]


def _owner_refs(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    return [_pick(r, ("kind", "name", "controller")) for r in value]


def slim_node(node: dict[str, Any]) -> dict[str, Any]:
    """A Node with its name, labels, pod CIDRs, provider ID, taints, capacity,
    allocatable and versions."""
    meta = _pick(node.get("metadata"), ("name", "labels"))
    spec = _pick(node.get("spec"), ("podCIDR", "podCIDRs", "providerID", "taints", "unschedulable"))
    status = node.get("status")
    if isinstance(status, dict):
        status = _pick(status, ("capacity", "allocatable", "nodeInfo"))
        status["nodeInfo"] = _pick(
            status.get("nodeInfo"),
            ("kubeletVersion", "containerRuntimeVersion", "kernelVersion", "osImage"),
        )
        if status["nodeInfo"] is None:
            del status["nodeInfo"]
    return _without_none({"metadata": meta, "spec": spec, "status": status})


def slim_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """A Pod with what placement needs: name, namespace, labels, owner, the kubelet's
    static-pod annotations, every container's resources, overhead, node and phase."""
    meta = pod.get("metadata")
    if isinstance(meta, dict):
        annotations = meta.get("annotations")
        meta = _pick(meta, ("name", "namespace", "labels"))
        if isinstance(annotations, dict):
            kept = {k: v for k, v in annotations.items() if k.startswith(_KEPT_ANNOTATION_PREFIX)}
            if kept:
                meta["annotations"] = kept
        refs = pod["metadata"].get("ownerReferences")
        if refs is not None:
            meta["ownerReferences"] = _owner_refs(refs)
    spec = pod.get("spec")
    if isinstance(spec, dict):
        containers = spec.get("containers")
        init = spec.get("initContainers")
        spec = _pick(spec, ("overhead", "nodeName", "runtimeClassName", "priorityClassName"))
        spec["containers"] = _containers(containers, ("name", "resources"))
        if init is not None:
            spec["initContainers"] = _containers(init, ("name", "resources", "restartPolicy"))
    status = _pick(pod.get("status"), ("phase", "qosClass"))
    return _without_none({"metadata": meta, "spec": spec, "status": status})


def slim_namespace(namespace: dict[str, Any]) -> dict[str, Any]:
    """A Namespace with its name, labels and annotations (tenants may be named by
    either), less ``kubectl.kubernetes.io/last-applied-configuration``."""
    meta = namespace.get("metadata")
    if isinstance(meta, dict):
        annotations = meta.get("annotations")
        meta = _pick(meta, ("name", "labels"))
        if isinstance(annotations, dict):
            meta["annotations"] = {
                k: v for k, v in annotations.items() if not k.startswith("kubectl.kubernetes.io/")
            }
    return _without_none({"metadata": meta})


def slim_budget(budget: dict[str, Any]) -> dict[str, Any]:
    """A PodDisruptionBudget with its name, namespace, selector and limits."""
    meta = _pick(budget.get("metadata"), ("name", "namespace"))
    spec = _pick(budget.get("spec"), ("selector", "minAvailable", "maxUnavailable"))
    return _without_none({"metadata": meta, "spec": spec})


def _without_none(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if v is not None}


def controller_of(obj: dict[str, Any]) -> tuple[str, str] | None:
    """``(kind, name)`` of an object's controlling owner reference, if it has one."""
    meta = obj.get("metadata")
    refs = meta.get("ownerReferences") if isinstance(meta, dict) else None
    if not isinstance(refs, list):
        return None
    for ref in refs:
        if isinstance(ref, dict) and ref.get("controller") is True:
            kind, name = ref.get("kind"), ref.get("name")
            if isinstance(kind, str) and isinstance(name, str):
                return kind, name
    return None


def namespace_and_name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


@dataclass
class Owners:
    """Who controls each ReplicaSet and Job: ``(namespace, name) -> (kind, name)``."""

    by_object: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    def note(self, kind: str, obj: dict[str, Any]) -> None:
        """Remember the Deployment of a ReplicaSet or the CronJob of a Job."""
        owner = controller_of(obj)
        if owner is not None:
            self.by_object[(kind, *namespace_and_name(obj))] = owner

    def resolve(self, pod: dict[str, Any]) -> bool:
        """Point the pod's controller reference at the workload behind its ReplicaSet or
        Job (the Deployment, the CronJob); True when it did."""
        meta = pod.get("metadata")
        refs = meta.get("ownerReferences") if isinstance(meta, dict) else None
        if not isinstance(refs, list):
            return False
        namespace = str(meta.get("namespace") or "") if isinstance(meta, dict) else ""
        for ref in refs:
            if not isinstance(ref, dict) or ref.get("controller") is not True:
                continue
            owner = self.by_object.get((str(ref.get("kind")), namespace, str(ref.get("name"))))
            if owner is not None:
                ref["kind"], ref["name"] = owner
                return True
        return False
