"""Import ``kubectl get nodes -o json`` and ``kubectl get pods -A -o json`` as a scenario.

The result is a scenario file a user can edit: plain YAML with a comment header that
says where it came from and what to review, and comments next to every value that was
derived or guessed.  The scenario is validated with
:func:`underlay.model.loading.parse_scenario` before it is returned, so the file always
loads.

Mapping rules
-------------
Input
    ``--nodes`` and ``--pods`` each take a file (JSON or YAML: a ``List``, a bare array,
    one object, or several YAML documents), a folder tree of object files
    (must-gather, support archives, extracted sonobuoy results) or an archive of one
    (sonobuoy's results ``.tar.gz``, ``.zip``): see :mod:`.layouts`.  PodDisruptionBudgets
    and Namespaces are read from a tree, or from ``--pdbs`` / ``--namespaces``.
    Fields that old clusters lack (the sample is Kubernetes v1.8) or that are ``null`` are
    treated as absent.  Quantities use the Kubernetes grammar (``100m``, ``1``,
    ``3.75Gi``, ``7807512Ki``).  Pods in phase ``Succeeded`` or ``Failed`` are skipped
    (the header says how many).

Tenants
    One tenant per namespace (default), or namespaces grouped by a namespace label,
    annotation or name pattern, or per value of a pod label (:mod:`.tenancy`).  Each
    tenant gets one cluster named after it, running the imported Kubernetes version
    (sonobuoy's ``serverversion.json`` when there is one); its control plane is
    ``hosted`` when the dump has no control-plane node (a managed cluster), else the
    default ``dedicated``.  Several clusters: :mod:`.clusters`.

System pods
    Pods owned by a DaemonSet (in any namespace) become every cluster's ``system_pods``:
    one entry per DaemonSet, with the largest effective request among its pods (so the
    entry is what one node pays).  Static control-plane pods (mirror annotation
    ``kubernetes.io/config.mirror`` or owned by a Node) are not workloads wherever they
    run, nor are ``tier: control-plane`` pods of platform namespaces: the scenario's
    ``control_plane`` setting models them.  The other pods of the platform namespaces
    (``kube-*``, ``openshift-*`` and ``--platform-namespace``) are cluster add-ons (DNS,
    dashboards, operators) that run once per cluster, which the scenario model cannot
    express; both are listed in the header with their requests so that a user can add
    them by hand.

Workloads
    Pods are grouped by their controlling owner reference:

    * ``ReplicaSet <deployment>-<hash>`` → the Deployment: the ``pod-template-hash``
      label is stripped when the name ends with it, else a trailing hash-like segment
      (v1.8 names the ReplicaSet with an encoded hash that differs from the label);
    * ``Job <cronjob>-<8+ digits>`` → the CronJob; other Jobs, StatefulSets,
      ReplicationControllers and any other owner → the owner's name;
    * pods without an owner (or owned by a Node) → one workload per pod.

    ``replicas`` is the number of pods in the group.  The per-pod request is the one
    the scheduler uses (kubernetes.io, "Resource Management for Pods and Containers";
    "Sidecar Containers"): per resource, ``max(sum of app containers + restartable init
    (sidecar) containers, max over init containers of (its request + the sidecars
    started before it)) + spec.overhead``.  A container with a limit but no request
    requests its limit (API server defaulting).  A pod limit exists only when every
    container sets one.  Pods of one group that differ (a rollout in progress) get the
    largest request and limit of the group.  Pods without any request stay BestEffort
    (``requests: {}``).  GPUs come from ``nvidia.com/gpu``.  The workload class is a
    guess, marked as such: GPU pods of a Job / CronJob → ``gpu-training``, other GPU
    pods → ``gpu-inference``, everything else → ``cpu``.  A PodDisruptionBudget that
    selects every pod of a workload becomes its ``disruption_budget`` (:mod:`.budgets`).
    A workload's ``labels`` are its pod template's: the pairs every pod of the group
    carries, less those a controller adds (``pod-template-hash``, ``job-name``, ...), the
    first 16 by key (a comment counts the rest); hybrid parts select workloads by them.

Hardware
    Nodes with the same CPU and memory capacity (rounded down to millicores / MiB), GPU
    count, GPU model and instance type form one host model, named after the instance
    type label when there is one; the ``inventory`` counts the nodes of each.  The GPU
    model is the ``nvidia.com/gpu.product`` label (``nvidia-gpu`` when absent).  The
    number of zones comes from the zone labels; a common non-default ``pods`` capacity
    becomes the clusters' ``max_pods.per_node``, with the ``pod_cidr_prefix`` of the
    nodes' ``spec.podCIDR``, else the widest one that holds twice the pods (250 pods,
    as on OpenShift: ``/23``).

Kubernetes version
    The most common ``status.nodeInfo.kubeletVersion`` minor (``v1.8.4`` → ``"1.8"``).

Every problem with the input raises :class:`~underlay.errors.TraceError` with the
message ``<file>: <json path>: <problem>``.

Layout: :mod:`.archives` and :mod:`.layouts` read the dumps, :mod:`.reading` ties
them to the command line's options, :mod:`.cursor` walks the JSON with its path,
:mod:`.resources` does the effective-request arithmetic, :mod:`.grouping` reads nodes
and pods and groups pods into workloads, :mod:`.tenancy` and :mod:`.budgets` read the
tenant rules and PDBs, :mod:`.pieces` and :mod:`.builder` build the scenario and its
header, and :mod:`.emitter` writes it as commented YAML.  The public builder for objects
already parsed (a live cluster) is :mod:`.api` (one cluster) and :mod:`.clusters`
(several).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from underlay.errors import InputError, TraceError
from underlay.importers.kubectl.api import build_scenario, cluster_data
from underlay.importers.kubectl.builder import _Builder
from underlay.importers.kubectl.clusters import (
    ClusterObjects,
    build_clusters_scenario,
    check_cluster_names,
)
from underlay.importers.kubectl.cursor import _At
from underlay.importers.kubectl.grouping import GPU_PRODUCT_LABEL
from underlay.importers.kubectl.layouts import flatten
from underlay.importers.kubectl.pieces import SYSTEM_NAMESPACES, KubectlImport
from underlay.importers.kubectl.reading import ClusterPaths, parse_cluster_option, read_cluster
from underlay.importers.kubectl.resources import GPU_RESOURCE
from underlay.importers.kubectl.tenancy import DEFAULT_PLATFORM_NAMESPACES, TenantRules
from underlay.importers.trace_import import name_option

__all__ = [
    "DEFAULT_PLATFORM_NAMESPACES",
    "GPU_PRODUCT_LABEL",
    "GPU_RESOURCE",
    "SYSTEM_NAMESPACES",
    "ClusterObjects",
    "ClusterPaths",
    "KubectlImport",
    "TenantRules",
    "build_clusters_scenario",
    "build_scenario",
    "import_kubectl",
    "import_kubectl_clusters",
    "import_kubectl_documents",
    "parse_cluster_option",
    "parse_tenant_from",
]


def parse_tenant_from(text: str) -> str | None:
    """``"namespace"`` → ``None``; ``"label:KEY"`` → ``KEY``; anything else is an error."""
    if text == "namespace":
        return None
    if text.startswith("label:") and text[len("label:") :].strip():
        return text[len("label:") :].strip()
    raise InputError(f"--tenant-from: expected 'namespace' or 'label:KEY', got {text!r}")


def import_kubectl(
    nodes: str | Path,
    pods: str | Path | None = None,
    *,
    tenant_from: str = "namespace",
    rules: TenantRules | None = None,
    namespaces: str | Path | None = None,
    pdbs: str | Path | None = None,
    name: str | None = None,
) -> KubectlImport:
    """Read one cluster's dumps (each a file, folder or archive) and build the scenario.

    ``pods`` may be left out when ``nodes`` is a folder or archive holding both.
    ``tenant_from`` is the older ``namespace`` / ``label:KEY`` (a pod label); ``rules``
    the namespace rules (give one or the other).
    """
    if name is not None:
        name_option(name)
    rules = _rules(tenant_from, rules)
    paths = ClusterPaths(
        None,
        Path(nodes),
        Path(pods) if pods is not None else None,
        Path(namespaces) if namespaces is not None else None,
        Path(pdbs) if pdbs is not None else None,
    )
    return _Builder([read_cluster(paths, rules)], rules).build(name or "kubectl-import")


def import_kubectl_clusters(
    clusters: Sequence[ClusterPaths],
    *,
    tenant_from: str = "namespace",
    rules: TenantRules | None = None,
    name: str | None = None,
) -> KubectlImport:
    """Several clusters' dumps into one scenario (see :mod:`.clusters`)."""
    if name is not None:
        name_option(name)
    rules = _rules(tenant_from, rules)
    check_cluster_names([c.name or "" for c in clusters])
    data = [read_cluster(paths, rules) for paths in clusters]
    return _Builder(data, rules).build(name or "kubectl-import")


def _rules(tenant_from: str, rules: TenantRules | None) -> TenantRules:
    label = parse_tenant_from(tenant_from)
    if label is None:
        return rules or TenantRules()
    if rules is not None and (rules.label or rules.annotation or rules.pattern or rules.pod_label):
        raise InputError("--tenant-from and a --tenant-* option: give one way to find tenants")
    base = rules or TenantRules()
    return TenantRules(
        pod_label=label,
        platform_namespaces=base.platform_namespaces,
        default_platform=base.default_platform,
    )


def import_kubectl_documents(
    nodes_doc: Any,
    pods_doc: Any,
    *,
    nodes_source: str = "<nodes>",
    pods_source: str = "<pods>",
    tenant_label: str | None = None,
    name: str | None = None,
) -> KubectlImport:
    """Build the scenario from already-parsed documents (a ``List``, an array or one
    object each).  ``tenant_label`` is ``None`` for tenants by namespace, else the pod
    label to use.  For lists of objects, :func:`build_scenario` is the public API."""
    nodes = list(flatten(_At(nodes_doc, "", nodes_source)))
    pods = list(flatten(_At(pods_doc, "", pods_source)))
    for items, kind in ((nodes, "Node"), (pods, "Pod")):
        for item in items:
            given = item.value.get("kind")
            if given is not None and given != kind:
                raise item.child("kind").fail(f"expected a {kind}, got {given!r}")
    if not nodes:
        raise TraceError(f"{nodes_source}: no nodes in the file")
    if not pods:
        raise TraceError(f"{pods_source}: no pods in the file")
    if name is not None:
        name_option(name)
    rules = TenantRules(pod_label=tenant_label)
    cluster = cluster_data(None, nodes, pods, [], [], rules, sources=(nodes_source, pods_source))
    return _Builder([cluster], rules).build(name or "kubectl-import")
