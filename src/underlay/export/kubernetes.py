"""The ``kubernetes`` export target: the plan applied to clusters that exist already.

Per cluster of the plan (a folder named after it), the plain Kubernetes objects a team
applies with ``kubectl apply -f <cluster>/`` — no controller or policy engine needed:

- ``runtimeclasses.yaml``: a RuntimeClass per sandbox runtime the cluster's pods run in,
  with the pod overhead the model charged each pod (``overhead.podFixed``) and
  ``scheduling`` onto the nodes that run the runtime;
- ``namespaces.yaml``: a Namespace per tenant (per tenant cluster on a shared cluster),
  labelled with the tenant and its isolation class. Where the plan gives the tenant nodes
  of its own, its annotations make the ``PodNodeSelector`` admission plugin select them
  for every pod of the namespace and, when its isolation class is in one of the
  scenario's isolation rules, ``PodTolerationRestriction`` add the toleration of their
  taint (``kube-apiserver --enable-admission-plugins=…,PodNodeSelector,
  PodTolerationRestriction``);
- ``policies.yaml``: on a cluster with sandboxed pods (Kubernetes ≥ 1.30) a
  ValidatingAdmissionPolicy refusing a pod of a sandboxed namespace that does not name
  its RuntimeClass;
- ``quotas.yaml``: a ResourceQuota per namespace from its workloads' requests, limits,
  pods and GPUs;
- ``disruption-budgets.yaml``: a PodDisruptionBudget per workload with a
  ``disruption_budget``;
- ``nodes.yaml``: the node scheme, one partial Node per planned node: labels
  (``underlay.io/cluster``, ``/pool``, ``/host-model``, ``/tenant``, ``/isolation``,
  ``/runtime``, ``node.kubernetes.io/instance-type``, ``nvidia.com/gpu.product``) and
  taints (``underlay.io/tenant=<t>:NoSchedule`` on the nodes of a tenant whose isolation
  class is in a rule: nobody else lands there; ``underlay.io/runtime=<r>:NoSchedule`` on a
  sandbox runtime's nodes). Rename each to one of your nodes of that machine, then
  ``kubectl apply --server-side --field-manager=underlay -f nodes.yaml`` (or the same
  with ``kubectl label node`` / ``kubectl taint node``). DaemonSets must tolerate the
  taints (most CNI and CSI DaemonSets tolerate every taint).

Isolation in the plan is a matter of clusters (a tenant's own hosts or VMs) and sandboxes;
a shared bare-metal cluster mixes its tenants on every node, as the plan does (its
isolation analysis reports what that breaks), so its namespaces select no nodes.
"""

from __future__ import annotations

from collections import Counter

from underlay.errors import ExportError
from underlay.export.k8s_names import WORKLOAD_LABEL, unique_labels
from underlay.export.k8s_objects import (
    TenantSpace,
    namespace,
    node_patch,
    pod_disruption_budget,
    resource_quota,
    runtime_class,
    sandbox_policy,
)
from underlay.export.manifest import ExportInput, Manifest
from underlay.export.placed import PlacedCluster, PlacedWorkload, placed_clusters
from underlay.model.labels import selects
from underlay.model.scenario import Scenario

__all__ = ["API_SINCE", "kubernetes", "tenant_spaces"]

API_SINCE = {
    "PodDisruptionBudget": ((1, 21), "policy/v1"),
    "RuntimeClass": ((1, 20), "node.k8s.io/v1"),
}
"""The first Kubernetes minor serving the API version each kind is written in
(kubernetes.io, "Deprecated API Migration Guide": policy/v1 PodDisruptionBudget from
1.21, node.k8s.io/v1 RuntimeClass from 1.20)."""


def _ruled_classes(scenario: Scenario) -> set[str]:
    """Isolation classes some rule names."""
    return {c for rule in scenario.isolation.rules for c in rule.between}


def tenant_spaces(scenario: Scenario, cluster: PlacedCluster) -> list[TenantSpace]:
    """The namespaces of ``cluster``: one per tenant, or per tenant cluster when a shared
    cluster holds several clusters of one tenant; names unique within the cluster."""
    groups: dict[tuple[int, str], list[PlacedWorkload]] = {}
    for w in cluster.workloads:
        groups.setdefault((w.tenant_index, w.cluster), []).append(w)
    per_tenant = Counter(t for t, _ in groups)
    keys = sorted(groups)
    texts = [
        groups[k][0].tenant.name if per_tenant[k[0]] == 1 else f"{groups[k][0].tenant.name}-{k[1]}"
        for k in keys
    ]
    names = unique_labels(texts)
    ruled = _ruled_classes(scenario)
    # one label per tenant across the scenario, so two tenants whose names slug alike
    # never share a node taint
    labels = unique_labels([t.name for t in scenario.tenants])
    out = []
    for key, name in zip(keys, names, strict=True):
        loads = groups[key]
        tenant = loads[0].tenant
        tainted = not cluster.shared and bool(scenario.isolation.lineage(tenant.isolation) & ruled)
        runtimes = {w.runtime for w in loads if w.runtime}
        out.append(
            TenantSpace(
                name=name,
                tenant_label=labels[key[0]],
                tenant=tenant.name,
                isolation=tenant.isolation,
                workloads=tuple(loads),
                pinned=not cluster.shared,
                tainted=tainted,
                runtime=min(runtimes) if runtimes else None,
            )
        )
    return out


def _budgets(space: TenantSpace, folder: str) -> list[Manifest]:
    """PodDisruptionBudgets of the namespace's budgeted workloads: each selects its
    workload's pods by the workload's own labels when no other workload of the namespace
    carries them all, else by ``app.kubernetes.io/name: <workload>``."""
    loads = [w for w in space.workloads if w.workload.replicas]
    names = unique_labels([w.workload.name for w in loads])
    out = []
    for w, name in zip(loads, names, strict=True):
        if w.workload.disruption_budget is None:
            continue
        own = dict(w.workload.labels)
        alone = own and not any(
            o is not w and selects(own, o.workload.labels) for o in space.workloads
        )
        selector = own if alone else {WORKLOAD_LABEL: name}
        out.append(
            pod_disruption_budget(space, w, name, selector, f"{folder}/disruption-budgets.yaml")
        )
    return out


def _nodes(cluster: PlacedCluster, spaces: list[TenantSpace], folder: str) -> list[Manifest]:
    """The partial Node of every planned node of the cluster (a tenant cluster's nodes are
    its one tenant's)."""
    owner = spaces[0] if not cluster.shared and len({s.tenant for s in spaces}) == 1 else None
    out = []
    for pool in cluster.pools:
        width = len(str(pool.nodes))
        for i in range(1, pool.nodes + 1):
            name = f"{cluster.name}-{pool.name}-{i:0{width}d}"[:253]
            out.append(node_patch(name, cluster.name, pool, i, owner, f"{folder}/nodes.yaml"))
    return out


def _served(cluster: PlacedCluster, manifests: list[Manifest]) -> None:
    """Refuse objects the cluster's Kubernetes version does not serve."""
    version = tuple(int(x) for x in cluster.version.split("."))
    for m in manifests:
        since = API_SINCE.get(m.kind)
        if since is not None and version < since[0]:
            first = ".".join(map(str, since[0]))
            raise ExportError(
                f"cluster {cluster.name!r} runs Kubernetes {cluster.version}, which does not "
                f"serve {since[1]} {m.kind} (from {first} on), and the plan needs one "
                f"({m.name!r}): give its tenants kubernetes_version {first} or later"
            )


def kubernetes(inp: ExportInput) -> list[Manifest]:
    """The ``kubernetes`` target (see the module docstring): per cluster of the plan, its
    RuntimeClasses, Namespaces, admission policy, ResourceQuotas, PodDisruptionBudgets and
    node scheme, files under ``<cluster>/``.

    Raises :class:`~underlay.errors.ExportError` when the plan leaves pods unplaced, or
    needs an object its cluster's Kubernetes version does not serve.
    """
    out: list[Manifest] = []
    runtimes = inp.defaults.sandbox_runtimes
    for cluster in placed_clusters(inp):
        folder = cluster.name
        spaces = tenant_spaces(inp.scenario, cluster)
        used = sorted({p.runtime for p in cluster.pools if p.runtime})
        for r in used:
            out.append(runtime_class(r, runtimes[r], f"{folder}/runtimeclasses.yaml"))
        out += [namespace(s, f"{folder}/namespaces.yaml") for s in spaces]
        if used:
            out += sandbox_policy(cluster.version, f"{folder}/policies.yaml")
        for s in spaces:
            quota = resource_quota(
                s, runtimes[s.runtime] if s.runtime else None, f"{folder}/quotas.yaml"
            )
            if quota is not None:
                out.append(quota)
        for s in spaces:
            out += _budgets(s, folder)
        out += _nodes(cluster, spaces, folder)
        _served(cluster, [m for m in out if m.file.startswith(f"{folder}/")])
    return out
