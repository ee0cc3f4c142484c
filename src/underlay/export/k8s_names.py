"""Names and labels the Kubernetes and Karpenter targets write: DNS labels made from
free-text names, the ``underlay.io/`` label keys of the node scheme, and exact
Kubernetes quantities.

A tenant's name is free text (``ACME Corp (EU)``); a namespace, a node pool or a label
value is not. :func:`dns_label` makes one deterministically and :func:`unique_labels`
keeps a list of them apart, so two tenants never share a namespace.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from underlay.export.names import cpu_quantity, memory_quantity

__all__ = [
    "CLUSTER_LABEL",
    "HOST_MODEL_LABEL",
    "INSTANCE_TYPE_LABEL",
    "ISOLATION_LABEL",
    "POOL_LABEL",
    "RUNTIME_LABEL",
    "TENANT_LABEL",
    "TENANT_NAME_ANNOTATION",
    "WORKLOAD_LABEL",
    "cpu_quantity",
    "dns_label",
    "memory_quantity",
    "unique_labels",
]

TENANT_LABEL: Final = "underlay.io/tenant"
"""On a namespace: its tenant; on a node (and as a taint key): the tenant the node is kept
for."""
TENANT_NAME_ANNOTATION: Final = "underlay.io/tenant-name"
"""On a namespace: the tenant's name as the scenario writes it (free text)."""
ISOLATION_LABEL: Final = "underlay.io/isolation"
"""On a namespace and a tenant's nodes: the tenant's isolation class."""
CLUSTER_LABEL: Final = "underlay.io/cluster"
"""On a node: the plan's cluster it belongs to."""
POOL_LABEL: Final = "underlay.io/pool"
"""On a node: its node pool (host model or VM size) in the plan."""
HOST_MODEL_LABEL: Final = "underlay.io/host-model"
"""On a node: the host model it is (bare metal) or runs on (a VM)."""
RUNTIME_LABEL: Final = "underlay.io/runtime"
"""On a node (and as a taint key): the sandbox runtime it runs pods in; on a namespace:
the RuntimeClass every pod of it must name."""
WORKLOAD_LABEL: Final = "app.kubernetes.io/name"
"""The recommended Kubernetes label a PodDisruptionBudget selects a workload's pods by when
the workload's own labels do not tell it apart."""
INSTANCE_TYPE_LABEL: Final = "node.kubernetes.io/instance-type"
"""The well-known node label of the machine's type (set by the kubelet or cloud provider)."""

_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_DNS_MAX = 63


def dns_label(text: str, *, fallback: str = "x") -> str:
    """``text`` as an RFC 1123 label (what a namespace or a label value may be): lower
    case, each run of other characters one ``-``, no ``-`` at either end, at most 63
    characters; ``fallback`` when nothing is left (``ACME Corp (EU)`` → ``acme-corp-eu``)."""
    slug = _NOT_DNS.sub("-", text.lower()).strip("-")[:_DNS_MAX].rstrip("-")
    return slug or fallback


def unique_labels(texts: Sequence[str], *, fallback: str = "x") -> list[str]:
    """:func:`dns_label` of each text, in order, a later one that repeats an earlier one
    getting the first free ``-2``, ``-3`` … suffix (cut to stay within 63 characters)."""
    out: list[str] = []
    taken: set[str] = set()
    for text in texts:
        base = dns_label(text, fallback=fallback)
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"-{n}"
            name = base[: _DNS_MAX - len(suffix)].rstrip("-") + suffix
        taken.add(name)
        out.append(name)
    return out
