"""The clusters as read, turned into a scenario by the kubectl importer's builder.

:func:`build_with_kubectl_builder` is the only place that calls the builder, so a new
builder API (tenant rules, several clusters with their own versions) is switched to here.
"""

from __future__ import annotations

import re
from typing import Any, Final

from underlay.errors import InputError
from underlay.importers.cluster.read import ClusterRead
from underlay.importers.cluster.slim import namespace_and_name
from underlay.importers.kubectl import KubectlImport, import_kubectl_documents

__all__ = ["CLUSTER_TENANT_LABEL", "build_with_kubectl_builder", "header_lines"]

CLUSTER_TENANT_LABEL: Final = "underlay.dev/cluster-namespace"
"""With several clusters, the pod label (added on import, never written to a cluster)
that carries ``<cluster>-<namespace>``, so that equal namespaces of two clusters stay two
tenants."""

_NOT_NAME = re.compile(r"[^a-z0-9]+")


def build_with_kubectl_builder(reads: list[ClusterRead], *, name: str | None) -> KubectlImport:
    """The scenario of one or more clusters, with a header naming them."""
    several = len(reads) > 1
    nodes: list[dict[str, Any]] = []
    pods: list[dict[str, Any]] = []
    for read in reads:
        nodes += read.nodes
        if several:
            prefix = _NOT_NAME.sub("-", read.context.lower()).strip("-") or "cluster"
            for pod in read.pods:
                _label(pod, f"{prefix}-{_namespace(pod)}")
        pods += read.pods
    source = " + ".join(f"live {r.source}, Kubernetes {r.version}" for r in reads)
    built = import_kubectl_documents(
        {"kind": "List", "items": nodes},
        {"kind": "List", "items": pods},
        nodes_source=source,
        pods_source=source,
        tenant_label=CLUSTER_TENANT_LABEL if several else None,
        name=name,
    )
    return KubectlImport(
        text=_header(reads) + built.text, scenario=built.scenario, summary=built.summary
    )


def _namespace(pod: dict[str, Any]) -> str:
    meta = pod.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) and namespace else "default"


def _label(pod: dict[str, Any], value: str) -> None:
    meta = pod.get("metadata")
    if not isinstance(meta, dict):
        raise InputError("a pod without metadata cannot be given a tenant")
    labels = meta.get("labels")
    meta["labels"] = {**(labels if isinstance(labels, dict) else {}), CLUSTER_TENANT_LABEL: value}


def header_lines(read: ClusterRead) -> list[str]:
    """What the header says of one cluster beyond the builder's own lines: what was read,
    the owners traced, disruption budgets, runtime classes and warnings."""
    lines = [
        f"{read.source}: Kubernetes {read.version}, {len(read.nodes)} nodes, "
        f"{len(read.pods)} pods, {len(read.namespaces)} namespaces"
    ]
    if read.owners_resolved:
        lines.append(
            f"  {read.owners_resolved} pods traced through their ReplicaSet or Job to "
            "the Deployment or CronJob that owns it"
        )
    if read.budgets:
        names = sorted("/".join(namespace_and_name(b)) for b in read.budgets)
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        lines.append(f"  PodDisruptionBudgets: {', '.join(names[:5])}{more}")
    if read.runtime_classes:
        shown = ", ".join(f"{k} (handler {v})" for k, v in read.runtime_classes.items())
        lines.append(f"  RuntimeClasses: {shown}: sandboxed pods are a candidate substrate")
    lines += [f"  warning: {w}" for w in read.warnings]
    return lines


def _header(reads: list[ClusterRead]) -> str:
    lines = ["Read by `underlay import cluster` (list and get only) from:"]
    for read in reads:
        lines += [f"  {line}" for line in header_lines(read)]
    if len(reads) > 1:
        lines.append(
            "  Tenants are <context>-<namespace>; the builder gives every tenant the most "
            "common version of all the clusters' nodes: set each tenant's kubernetes_version."
        )
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)
