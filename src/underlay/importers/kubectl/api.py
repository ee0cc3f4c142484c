"""The public builder: a scenario from Kubernetes objects that are already parsed.

Every importer of Kubernetes state ends here: ``underlay import kubectl`` after reading
its dumps (:mod:`.layouts`), and a live-cluster importer after listing the API.  The
objects are plain dicts as the API serves them (``Node``, ``Pod``,
``PodDisruptionBudget``, ``Namespace``; ``kind`` may be missing, as on list items).
See the package docstring for the mapping rules.

Example::

    from underlay.importers.kubectl.api import TenantRules, build_scenario

    result = build_scenario(
        nodes, pods, pdbs, namespaces, TenantRules(label="team"),
        name="prod", server_version="v1.29.4",
    )
    Path("prod.yaml").write_text(result.text)   # result.scenario is the validated model

Several clusters into one scenario: :func:`underlay.importers.kubectl.clusters.
build_clusters_scenario`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from underlay.errors import InputError, TraceError
from underlay.importers.kubectl.budgets import _Budget, _parse_budget
from underlay.importers.kubectl.builder import _Builder, _ClusterData
from underlay.importers.kubectl.cursor import _At
from underlay.importers.kubectl.grouping import _parse_node, _parse_pod
from underlay.importers.kubectl.pieces import KubectlImport
from underlay.importers.kubectl.tenancy import (
    DEFAULT_PLATFORM_NAMESPACES,
    NamespaceInfo,
    TenantRules,
    parse_namespace,
)
from underlay.importers.trace_import import name_option

__all__ = [
    "DEFAULT_PLATFORM_NAMESPACES",
    "KubectlImport",
    "NamespaceInfo",
    "TenantRules",
    "build_scenario",
]


def build_scenario(
    nodes: Sequence[Any],
    pods: Sequence[Any],
    pdbs: Sequence[Any] = (),
    namespaces: Sequence[Any] = (),
    rules: TenantRules | None = None,
    *,
    name: str = "kubectl-import",
    server_version: str | None = None,
    source: str = "the cluster",
    notes: Iterable[str] = (),
    origin: str = "kubectl",
) -> KubectlImport:
    """The scenario of one cluster from its objects.

    ``nodes``, ``pods``, ``pdbs`` (PodDisruptionBudgets) and ``namespaces`` are parsed
    Kubernetes objects (dicts); ``rules`` groups namespaces into tenants and names the
    platform's (default: one tenant per namespace, ``kube-*`` and ``openshift-*`` are the
    platform); ``server_version`` (``v1.29.4``, from ``/version``) sets the tenants'
    Kubernetes version, else the nodes' most common kubelet version does; ``source``
    names where the objects came from in messages and in the header (``the cluster``,
    a context name, a file); ``notes`` are added to the header's review list;
    ``origin`` is the importer's verb the header names (``kubectl``, ``cluster``).

    Raises :class:`~underlay.errors.TraceError` naming ``source``, the object and the
    field for any object that cannot be read, and :class:`~underlay.errors.InputError`
    for contradictory rules.  The result's ``scenario`` is validated.
    """
    if name is not None:
        name_option(name)
    cluster = cluster_data(
        None,
        _wrap(nodes, f"{source} (nodes)"),
        _wrap(pods, f"{source} (pods)"),
        _wrap(pdbs, f"{source} (PodDisruptionBudgets)"),
        _wrap(namespaces, f"{source} (namespaces)"),
        rules or TenantRules(),
        server_version=server_version,
        notes=list(notes),
    )
    return _Builder([cluster], rules or TenantRules(), origin).build(name)


def _wrap(objects: Sequence[Any], source: str) -> list[_At]:
    if isinstance(objects, dict | str | bytes):
        raise TraceError(f"{source}: expected a sequence of objects, got {type(objects).__name__}")
    wrapped = [_At(obj, f"[{i}]", source) for i, obj in enumerate(objects)]
    for at in wrapped:
        if not isinstance(at.value, dict):
            raise at.fail(f"expected an object, got {type(at.value).__name__}")
    return wrapped


def cluster_data(
    cluster: str | None,
    nodes: list[_At],
    pods: list[_At],
    pdbs: list[_At],
    namespaces: list[_At],
    rules: TenantRules,
    *,
    server_version: str | None = None,
    notes: list[str] | None = None,
    sources: tuple[str, str] | None = None,
) -> _ClusterData:
    """One cluster's objects parsed (internal: the CLI and :mod:`.clusters` use it)."""
    where = f"cluster {cluster}: " if cluster else ""
    if not nodes:
        raise TraceError(f"{_source(nodes, 'nodes')}: {where}no nodes")
    if not pods:
        raise TraceError(f"{_source(pods, 'pods')}: {where}no pods")
    spaces: dict[str, NamespaceInfo] = {}
    for item in namespaces:
        info = parse_namespace(item)
        if info is not None:
            spaces[info.name] = info
    if rules.needs_namespaces and not spaces:
        option = "--tenant-label" if rules.label is not None else "--tenant-annotation"
        raise InputError(
            f"{option}: {where}the namespaces' labels and annotations are needed, but no "
            "Namespace objects were given: add --namespaces FILE (from `kubectl get "
            "namespaces -o json`), or give a dump folder or archive that has them"
        )

    def tenant_of(namespace: str, labels: dict[str, str]) -> str:
        return rules.tenant_of(namespace, labels, spaces)

    budgets = [b for b in (_parse_budget(item) for item in pdbs) if b is not None]
    return _ClusterData(
        name=cluster,
        nodes=[_parse_node(item) for item in nodes],
        pods=[_parse_pod(item, tenant_of) for item in pods],
        budgets=_unique(budgets),
        namespaces=spaces,
        nodes_source=sources[0] if sources else _source(nodes, "nodes"),
        pods_source=sources[1] if sources else _source(pods, "pods"),
        server_version=server_version,
        notes=list(notes or []),
    )


def _source(items: list[_At], what: str) -> str:
    """The file (or files) the objects came from, for the header and messages."""
    sources = sorted({i.source.split(" (document ")[0] for i in items})
    if not sources:
        return f"<{what}>"
    if len(sources) == 1:
        return sources[0]
    return f"{sources[0]} and {len(sources) - 1} more files"


def _unique(budgets: list[_Budget]) -> list[_Budget]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for budget in budgets:
        if (budget.namespace, budget.name) not in seen:
            seen.add((budget.namespace, budget.name))
            kept.append(budget)
    return kept
