"""The clusters as read, turned into a scenario by the kubectl importer's public builder.

One cluster goes through :func:`~underlay.importers.kubectl.api.build_scenario`, several
through :func:`~underlay.importers.kubectl.clusters.build_clusters_scenario`, so each
cluster keeps its own tenants (``<context>/<tenant>``), Kubernetes version, disruption
budgets and namespace rules, exactly as ``import kubectl --cluster`` does for dumps.
"""

from __future__ import annotations

import re

from underlay.importers.cluster.read import ClusterRead
from underlay.importers.cluster.slim import namespace_and_name
from underlay.importers.kubectl import KubectlImport
from underlay.importers.kubectl.api import build_scenario
from underlay.importers.kubectl.clusters import ClusterObjects, build_clusters_scenario
from underlay.importers.kubectl.tenancy import TenantRules

__all__ = ["build_from_reads", "cluster_name", "header_lines"]

_NOT_NAME = re.compile(r"[^A-Za-z0-9_.]+")


def build_from_reads(
    reads: list[ClusterRead], rules: TenantRules | None, *, name: str
) -> KubectlImport:
    """The scenario of one or more clusters, with a header naming them."""
    rules = rules or TenantRules()
    if len(reads) == 1:
        read = reads[0]
        return build_scenario(
            read.nodes,
            read.pods,
            read.budgets,
            read.namespaces,
            rules,
            name=name,
            server_version=_served(read),
            source=read.source,
            notes=header_lines(read),
            origin="cluster",
        )
    clusters = [
        ClusterObjects(
            name=cluster_name(read.context),
            nodes=read.nodes,
            pods=read.pods,
            pdbs=read.budgets,
            namespaces=read.namespaces,
            server_version=_served(read),
            source=read.source,
            notes=header_lines(read),
        )
        for read in reads
    ]
    return build_clusters_scenario(clusters, rules, name=name, origin="cluster")


def cluster_name(context: str) -> str:
    """A context's name as a scenario cluster name: runs of other characters than
    letters, digits, ``_`` and ``.`` become ``-`` (``arn:aws:eks:eu-west-1:1:cluster/prod``
    is ``arn-aws-eks-eu-west-1-1-cluster-prod``), at most 63 characters."""
    cleaned = _NOT_NAME.sub("-", context).strip("-_.")
    return cleaned[:63].strip("-_.") or "cluster"


def _served(read: ClusterRead) -> str | None:
    """The API server's version, or None when /version could not be read."""
    return read.version if read.version.startswith("v") else None


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
