"""Every request the live importer makes, and the minimal ClusterRole that allows them.

:data:`READS` is the one list: the fetcher lists exactly these resources, the ClusterRole
in the README is :func:`cluster_role_yaml` of it, and the tests check that the requests a
test API server receives are exactly these paths, all ``GET``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import yaml

__all__ = ["READS", "VERSION_PATHS", "Read", "cluster_role_yaml"]


@dataclass(frozen=True)
class Read:
    """One kind of object the importer lists, cluster-wide (``list`` verb only)."""

    kind: str
    """The object kind, e.g. ``Pod``."""
    group: str
    """The API group (``""`` for the core group)."""
    version: str
    resource: str
    """The plural resource name, as RBAC names it."""

    @property
    def path(self) -> str:
        """The cluster-wide list path, e.g. ``/apis/apps/v1/replicasets``."""
        base = "/api" if not self.group else f"/apis/{self.group}"
        return f"{base}/{self.version}/{self.resource}"


VERSION_PATHS: Final = ("/version", "/version/")
"""The server version (a non-resource URL; ``get``): the client asks for ``/version/``,
and RBAC matches non-resource URLs exactly, so the role names both spellings."""

NODES: Final = Read("Node", "", "v1", "nodes")
PODS: Final = Read("Pod", "", "v1", "pods")
NAMESPACES: Final = Read("Namespace", "", "v1", "namespaces")
REPLICASETS: Final = Read("ReplicaSet", "apps", "v1", "replicasets")
JOBS: Final = Read("Job", "batch", "v1", "jobs")
PDBS: Final = Read("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets")
RUNTIME_CLASSES: Final = Read("RuntimeClass", "node.k8s.io", "v1", "runtimeclasses")

READS: Final = (NODES, PODS, NAMESPACES, REPLICASETS, JOBS, PDBS, RUNTIME_CLASSES)
"""Every list the importer makes, in the order it makes them. StatefulSets, DaemonSets
and Deployments are never read: a pod's owner reference names the first two, and a
ReplicaSet's owner reference names its Deployment (a Job's, its CronJob)."""


def cluster_role_yaml(name: str = "underlay-reader") -> str:
    """The ClusterRole that allows :data:`READS` and the version, and nothing else."""
    groups: dict[str, list[str]] = {}
    for read in READS:
        groups.setdefault(read.group, []).append(read.resource)
    rules: list[dict[str, object]] = [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": ["list"]}
        for group, resources in groups.items()
    ]
    rules.append({"nonResourceURLs": list(VERSION_PATHS), "verbs": ["get"]})
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": rules,
    }
    return yaml.safe_dump(role, sort_keys=False, default_flow_style=False)
