"""Import ``kubectl get nodes -o json`` and ``kubectl get pods -A -o json`` as a scenario.

The result is a scenario file a user can edit: plain YAML with a comment header that
says where it came from and what to review, and comments next to every value that was
derived or guessed.  The scenario is validated with
:func:`underlay.model.loading.parse_scenario` before it is returned, so the file always
loads.

Mapping rules
-------------
Input
    Either file may hold a ``List`` (``items``) or a single object (``Node`` / ``Pod``).
    Fields that old clusters lack (the sample is Kubernetes v1.8) or that are ``null`` are
    treated as absent.  Quantities use the Kubernetes grammar (``100m``, ``1``,
    ``3.75Gi``, ``7807512Ki``).  Pods in phase ``Succeeded`` or ``Failed`` are skipped
    (the header says how many).

Tenants
    One tenant per namespace (default), or per value of a pod label
    (``--tenant-from label:team``; pods without the label go to tenant ``unlabelled``).
    Each tenant gets one cluster named after it, running the imported Kubernetes version;
    its control plane is ``hosted`` when the dump has no control-plane node (a managed
    cluster), else the default ``dedicated``.

System pods
    Pods owned by a DaemonSet (in any namespace) become every cluster's ``system_pods``:
    one entry per DaemonSet, with the largest effective request among its pods (so the
    entry is what one node pays).  The other pods of the system namespaces
    (``kube-system``, ``kube-public``, ``kube-node-lease``) are not workloads either:
    control-plane static pods (mirror pods, ``tier: control-plane``) are what the
    scenario's ``control_plane`` setting models, and cluster add-ons (DNS, dashboards,
    controllers) run once per cluster, which the scenario model cannot express; both are
    listed in the header with their requests so that a user can add them by hand.

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
    pods → ``gpu-inference``, everything else → ``cpu``.

Hardware
    Nodes with the same CPU and memory capacity (rounded down to millicores / MiB), GPU
    count, GPU model and instance type form one host model, named after the instance
    type label when there is one; the ``inventory`` counts the nodes of each.  The GPU
    model is the ``nvidia.com/gpu.product`` label (``nvidia-gpu`` when absent).  The
    number of zones comes from the zone labels; a common non-default ``pods`` capacity
    becomes the clusters' ``max_pods.per_node``.

Kubernetes version
    The most common ``status.nodeInfo.kubeletVersion`` minor (``v1.8.4`` → ``"1.8"``).

Every problem with the input raises :class:`~underlay.errors.TraceError` with the
message ``<file>: <json path>: <problem>``.

Layout: :mod:`.cursor` walks the JSON with its path, :mod:`.resources` does the
effective-request arithmetic, :mod:`.grouping` reads nodes and pods and groups pods into
workloads, :mod:`.builder` builds the scenario and its header, and :mod:`.emitter`
writes it as commented YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from underlay.errors import InputError, TraceError
from underlay.importers.kubectl.builder import SYSTEM_NAMESPACES, KubectlImport, _Builder
from underlay.importers.kubectl.cursor import _At, _items, _read_json
from underlay.importers.kubectl.grouping import GPU_PRODUCT_LABEL, _parse_node, _parse_pod
from underlay.importers.kubectl.resources import GPU_RESOURCE
from underlay.importers.trace_import import name_option

__all__ = [
    "GPU_PRODUCT_LABEL",
    "GPU_RESOURCE",
    "SYSTEM_NAMESPACES",
    "KubectlImport",
    "import_kubectl",
    "import_kubectl_documents",
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
    pods: str | Path,
    *,
    tenant_from: str = "namespace",
    name: str | None = None,
) -> KubectlImport:
    """Read the two kubectl JSON dumps and build the scenario (see the module docstring)."""
    label = parse_tenant_from(tenant_from)
    nodes_doc = _read_json(Path(nodes))
    pods_doc = _read_json(Path(pods))
    return import_kubectl_documents(
        nodes_doc,
        pods_doc,
        nodes_source=str(nodes),
        pods_source=str(pods),
        tenant_label=label,
        name=name,
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
    """Build the scenario from already-parsed JSON documents.

    ``tenant_label`` is ``None`` for tenants by namespace, else the pod label to use.
    """
    if name is not None:
        name_option(name)
    nodes = [_parse_node(item) for item in _items(_At(nodes_doc, "", nodes_source), "Node")]
    if not nodes:
        raise TraceError(f"{nodes_source}: no nodes in the file")
    pods_all = [
        _parse_pod(item, tenant_label) for item in _items(_At(pods_doc, "", pods_source), "Pod")
    ]
    if not pods_all:
        raise TraceError(f"{pods_source}: no pods in the file")
    builder = _Builder(nodes, pods_all, nodes_source, pods_source, tenant_label)
    return builder.build(name or "kubectl-import")
