"""The ``kubernetes`` export target: the plan applied to clusters that exist already.

Per cluster of the plan (a folder named after it), the plain Kubernetes objects a team
applies with ``kubectl apply -f <cluster>/`` — no controller or policy engine needed:

- ``runtimeclasses.yaml``: a RuntimeClass per sandbox runtime the cluster's pods run in,
  with the pod overhead the model charged each pod (``overhead.podFixed``) and
  ``scheduling`` onto the nodes labelled with the runtime;
- ``namespaces.yaml``: a Namespace per tenant (per tenant cluster on a shared cluster),
  labelled with the tenant, its isolation class and its sandbox runtime;
- ``policies.yaml``: on a cluster with sandboxed pods (Kubernetes ≥ 1.30) a
  ValidatingAdmissionPolicy refusing a pod of a sandboxed namespace that does not name
  its RuntimeClass;
- ``quotas.yaml``: a ResourceQuota per namespace from its workloads' requests, limits,
  pods and GPUs;
- ``disruption-budgets.yaml``: a PodDisruptionBudget per workload with a
  ``disruption_budget``;
- ``nodes.yaml``: the node scheme, one partial Node per planned node with its labels
  (``underlay.io/cluster``, ``/pool``, ``/host-model``, ``/tenant``, ``/isolation``,
  ``/runtime``, ``node.kubernetes.io/instance-type``, ``nvidia.com/gpu.product``). Rename
  each to one of your nodes of that machine, then ``kubectl apply --server-side
  --field-manager=underlay -f nodes.yaml`` (or ``kubectl label node``).

In the plan, isolation is a matter of clusters (a tenant's own hosts or VMs) and
sandboxes, so a cluster of the plan needs no taints: every node of a tenant cluster is
the tenant's, every node of a sandboxed cluster runs the sandbox (tainting them all would
leave the cluster's own add-ons, CoreDNS and the like, nowhere to run). A shared
bare-metal cluster mixes its tenants on every node, as the plan does (its isolation
analysis reports what that breaks).

``kubernetes_target(into=NAME)`` puts every cluster of the plan into the one existing
cluster ``NAME`` instead, and then keeps them apart there: each namespace selects its plan
cluster's nodes (``underlay.io/cluster``) through the ``PodNodeSelector`` admission
plugin; the nodes of a tenant whose isolation class is in one of the scenario's isolation
rules are tainted ``underlay.io/tenant=<t>:NoSchedule`` (nobody else lands there) and its
namespace adds the toleration through ``PodTolerationRestriction``
(``kube-apiserver --enable-admission-plugins=…,PodNodeSelector,PodTolerationRestriction``);
a sandbox runtime's nodes are tainted ``underlay.io/runtime=<r>:NoSchedule`` and its
RuntimeClass tolerates that. DaemonSets must tolerate the taints (most CNI and CSI
DaemonSets tolerate every taint).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from underlay.errors import ExportError
from underlay.export.k8s_names import CLUSTER_LABEL, WORKLOAD_LABEL, dns_label, unique_labels
from underlay.export.k8s_objects import (
    TenantSpace,
    namespace,
    node_patch,
    pod_disruption_budget,
    resource_quota,
    runtime_class,
    sandbox_policy,
)
from underlay.export.manifest import ExportInput, Manifest, Target
from underlay.export.placed import PlacedCluster, PlacedWorkload, placed_clusters
from underlay.model.labels import selects
from underlay.model.scenario import Scenario

__all__ = ["API_SINCE", "kubernetes", "kubernetes_target", "tenant_spaces"]

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


def tenant_spaces(
    scenario: Scenario, cluster: PlacedCluster, *, merged: bool = False
) -> list[TenantSpace]:
    """The namespaces of ``cluster``: one per tenant, or per tenant cluster when a shared
    cluster holds several clusters of one tenant; names unique within the cluster.

    ``merged`` (several plan clusters in one real cluster): each namespace selects its plan
    cluster's nodes, and a tenant with nodes of its own whose isolation class is in a rule
    gets them tainted for it (no one else lands there)."""
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
        ruled_tenant = bool(scenario.isolation.lineage(tenant.isolation) & ruled)
        tainted = merged and not cluster.shared and ruled_tenant
        runtimes = {w.runtime for w in loads if w.runtime}
        out.append(
            TenantSpace(
                name=name,
                tenant_label=labels[key[0]],
                tenant=tenant.name,
                isolation=tenant.isolation,
                workloads=tuple(loads),
                selector=f"{CLUSTER_LABEL}={cluster.name}" if merged else None,
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


def _nodes(
    cluster: PlacedCluster, spaces: list[TenantSpace], folder: str, *, merged: bool
) -> list[Manifest]:
    """The partial Node of every planned node of the cluster (a tenant cluster's nodes are
    its one tenant's; ``merged``: a sandbox runtime's nodes are tainted for its pods)."""
    owner = spaces[0] if not cluster.shared and len({s.tenant for s in spaces}) == 1 else None
    out = []
    for pool in cluster.pools:
        width = len(str(pool.nodes))
        for i in range(1, pool.nodes + 1):
            name = f"{cluster.name}-{pool.name}-{i:0{width}d}"[:253]
            out.append(
                node_patch(
                    name, cluster.name, pool, i, owner, f"{folder}/nodes.yaml", runtime_taint=merged
                )
            )
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


def _cluster_objects(
    inp: ExportInput, cluster: PlacedCluster, spaces: list[TenantSpace], folder: str, merged: bool
) -> list[Manifest]:
    """One plan cluster's Namespaces, ResourceQuotas, PodDisruptionBudgets and Nodes."""
    runtimes = inp.defaults.sandbox_runtimes
    out = [namespace(s, f"{folder}/namespaces.yaml") for s in spaces]
    for s in spaces:
        spec = runtimes[s.runtime] if s.runtime else None
        quota = resource_quota(s, spec, f"{folder}/quotas.yaml")
        if quota is not None:
            out.append(quota)
    for s in spaces:
        out += _budgets(s, folder)
    return out + _nodes(cluster, spaces, folder, merged=merged)


def kubernetes_target(*, into: str | None = None) -> Target:
    """The ``kubernetes`` target: per cluster of the plan, files under ``<cluster>/`` —
    or, with ``into``, every plan cluster into the one existing cluster ``into`` (files
    under ``<into>/``; see the module docstring).

    Its function raises :class:`~underlay.errors.ExportError` when the plan leaves pods
    unplaced, or needs an object its cluster's Kubernetes version does not serve (merged:
    the oldest version of the plan's clusters counts).
    """

    def kubernetes(inp: ExportInput) -> list[Manifest]:
        """The plan's RuntimeClasses, Namespaces, admission policy, ResourceQuotas,
        PodDisruptionBudgets and node scheme (see :func:`kubernetes_target`)."""
        clusters = placed_clusters(inp)
        if into is not None and clusters:
            return _merged(inp, clusters, dns_label(into))
        out: list[Manifest] = []
        for cluster in clusters:
            out += _one_cluster(inp, cluster, cluster.name, [cluster], merged=False)
        return out

    return kubernetes


def _one_cluster(
    inp: ExportInput,
    cluster: PlacedCluster,
    folder: str,
    members: list[PlacedCluster],
    *,
    merged: bool,
    spaces: list[list[TenantSpace]] | None = None,
) -> list[Manifest]:
    """The objects of real cluster ``folder`` holding plan clusters ``members``
    (``cluster`` names the version: the oldest member's)."""
    runtimes = inp.defaults.sandbox_runtimes
    used = sorted({p.runtime for c in members for p in c.pools if p.runtime})
    out = [
        runtime_class(r, runtimes[r], f"{folder}/runtimeclasses.yaml", tainted=merged) for r in used
    ]
    if used:
        out += sandbox_policy(cluster.version, f"{folder}/policies.yaml")
    per = spaces or [tenant_spaces(inp.scenario, c, merged=merged) for c in members]
    for member, member_spaces in zip(members, per, strict=True):
        out += _cluster_objects(inp, member, member_spaces, folder, merged)
    _served(cluster, out)
    return out


def _merged(inp: ExportInput, clusters: list[PlacedCluster], folder: str) -> list[Manifest]:
    """Every plan cluster into one real cluster: namespaces renamed apart across them."""
    per = [tenant_spaces(inp.scenario, c, merged=True) for c in clusters]
    names = iter(unique_labels([s.name for spaces in per for s in spaces]))
    per = [[replace(s, name=next(names)) for s in spaces] for spaces in per]
    oldest = min(clusters, key=lambda c: tuple(int(x) for x in c.version.split(".")))
    return _one_cluster(inp, oldest, folder, clusters, merged=True, spaces=per)


kubernetes: Target = kubernetes_target()
"""The ``kubernetes`` target, one folder per cluster of the plan."""
