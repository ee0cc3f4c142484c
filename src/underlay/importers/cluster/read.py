"""Everything the importer reads from one cluster, in the order of :data:`~.reads.READS`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from underlay.errors import InputError
from underlay.importers.cluster.fetch import (
    Connection,
    Forbidden,
    NotServed,
    ObjectHook,
    Progress,
)
from underlay.importers.cluster.reads import (
    JOBS,
    NAMESPACES,
    NODES,
    PDBS,
    PODS,
    REPLICASETS,
    RUNTIME_CLASSES,
    Read,
)
from underlay.importers.cluster.slim import (
    Owners,
    namespace_and_name,
    slim_budget,
    slim_namespace,
    slim_node,
    slim_pod,
)

__all__ = ["ClusterRead", "read_cluster"]


@dataclass
class ClusterRead:
    """One cluster as read: slim objects, summaries, and what could not be read."""

    source: str
    """``cluster C (context X)``."""
    context: str
    version: str
    nodes: list[dict[str, Any]]
    pods: list[dict[str, Any]]
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    """Namespaces: name, labels, annotations (for mapping namespaces to tenants)."""
    budgets: list[dict[str, Any]] = field(default_factory=list)
    """PodDisruptionBudgets: name, namespace, selector, minAvailable / maxUnavailable."""
    runtime_classes: dict[str, str] = field(default_factory=dict)
    """RuntimeClass name -> handler."""
    owners_resolved: int = 0
    """Pods whose ReplicaSet or Job was traced to its Deployment or CronJob."""
    warnings: list[str] = field(default_factory=list)


def read_cluster(
    connection: Connection, *, selector: str | None, progress: Progress | None
) -> ClusterRead:
    """Read one cluster; a 403 on nodes or pods is an error, on the rest a warning."""
    try:
        version, warning = connection.version(), None
    except Forbidden as exc:
        version, warning = "version unknown", f"{exc}; the nodes' kubelet versions are used"
    nodes = _required(connection, NODES, slim_node, None, None)
    pods = _required(connection, PODS, slim_pod, selector, progress)
    read = ClusterRead(connection.describe(), connection.context, version, nodes, pods)
    read.warnings += [warning] if warning else []

    read.namespaces = _optional(
        connection, read, NAMESPACES, slim_namespace, "tenants by namespace label"
    )
    owners = Owners()
    for source, kind in ((REPLICASETS, "ReplicaSet"), (JOBS, "Job")):
        _optional(
            connection,
            read,
            source,
            partial(owners.note, kind),
            f"{kind}s grouped by name (the {kind}'s owner unknown)",
        )
    read.owners_resolved = sum(owners.resolve(pod) for pod in pods)
    read.budgets = _optional(connection, read, PDBS, slim_budget, "disruption budgets")
    classes = _optional(connection, read, RUNTIME_CLASSES, _handler, "runtime classes not listed")
    read.runtime_classes = dict(sorted(classes))
    return read


def _required(
    connection: Connection,
    source: Read,
    hook: ObjectHook,
    selector: str | None,
    progress: Progress | None,
) -> list[Any]:
    try:
        return connection.list_objects(source, hook, selector=selector, progress=progress)
    except Forbidden as exc:
        raise InputError(
            f"{exc}; the importer needs list on {source.resource} (see the ClusterRole "
            "in the README, 'Your own cluster')"
        ) from None


def _optional(
    connection: Connection, read: ClusterRead, source: Read, hook: ObjectHook, without: str
) -> list[Any]:
    try:
        return connection.list_objects(source, hook, selector=None, progress=None)
    except (Forbidden, NotServed) as exc:
        read.warnings.append(f"{exc}; imported without them: {without}")
        return []


def _handler(obj: dict[str, Any]) -> tuple[str, str]:
    return namespace_and_name(obj)[1], str(obj.get("handler") or "")
