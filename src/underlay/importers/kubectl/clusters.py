"""Several clusters into one scenario.

Each cluster keeps its own tenants, Kubernetes version, control plane, system pods and
pod limits: a tenant found in cluster ``prod-eu`` is the scenario's tenant
``prod-eu/<tenant>`` with one cluster named ``prod-eu`` (a tenant's Kubernetes version
is the model's, so the same team on two clusters of different versions is two
tenants).  The clusters' nodes share one hardware section: nodes of the same shape in
several clusters are one host model, their counts added up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from underlay.errors import InputError
from underlay.importers.kubectl.api import _wrap, cluster_data
from underlay.importers.kubectl.builder import _Builder, _ClusterData
from underlay.importers.kubectl.pieces import KubectlImport
from underlay.importers.kubectl.tenancy import TenantRules
from underlay.importers.trace_import import name_option

__all__ = ["ClusterObjects", "build_clusters_scenario"]

_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class ClusterObjects:
    """One cluster's parsed Kubernetes objects (dicts, as the API serves them)."""

    name: str
    """The cluster's name in the scenario (a context name, ``prod-eu``)."""
    nodes: Sequence[Any]
    pods: Sequence[Any]
    pdbs: Sequence[Any] = ()
    namespaces: Sequence[Any] = ()
    server_version: str | None = None
    """``gitVersion`` from the API's ``/version``; else the kubelets' version counts."""
    source: str | None = None
    """Where the objects came from, for messages (default: the cluster's name)."""
    notes: Sequence[str] = field(default_factory=tuple)
    """Added to the header's review list."""


def check_cluster_names(names: Sequence[str], option: str = "--cluster") -> None:
    """Names that make valid, distinct cluster names; InputError otherwise."""
    seen: set[str] = set()
    for name in names:
        if not _CLUSTER_NAME.match(name):
            raise InputError(
                f"{option}: {name!r} is not a valid cluster name (letters, digits, '-', '_' "
                "and '.', at most 63, starting and ending with a letter or digit)"
            )
        if name in seen:
            raise InputError(f"{option}: the cluster name {name!r} is given twice")
        seen.add(name)


def build_clusters_scenario(
    clusters: Sequence[ClusterObjects],
    rules: TenantRules | None = None,
    *,
    name: str = "kubectl-import",
    origin: str = "kubectl",
) -> KubectlImport:
    """One scenario from several clusters (see the module docstring).

    ``rules`` apply to every cluster.  Errors are those of
    :func:`underlay.importers.kubectl.api.build_scenario`, the message naming the
    cluster; two clusters with the same name are an InputError.
    """
    name_option(name)
    if not clusters:
        raise InputError("no clusters given")
    check_cluster_names([c.name for c in clusters], "cluster")
    rules = rules or TenantRules()
    data: list[_ClusterData] = []
    for cluster in clusters:
        source = cluster.source or f"cluster {cluster.name}"
        data.append(
            cluster_data(
                cluster.name,
                _wrap(cluster.nodes, f"{source} (nodes)"),
                _wrap(cluster.pods, f"{source} (pods)"),
                _wrap(cluster.pdbs, f"{source} (PodDisruptionBudgets)"),
                _wrap(cluster.namespaces, f"{source} (namespaces)"),
                rules,
                server_version=cluster.server_version,
                notes=list(cluster.notes),
            )
        )
    return build_from_data(data, rules, name, origin)


def build_from_data(
    data: list[_ClusterData], rules: TenantRules, name: str, origin: str = "kubectl"
) -> KubectlImport:
    """The scenario of clusters already parsed (internal: the CLI uses it)."""
    return _Builder(data, rules, origin).build(name)
