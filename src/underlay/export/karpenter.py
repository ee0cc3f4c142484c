"""The ``karpenter`` export target: the plan's node pools as Karpenter ``NodePool``s
(``karpenter.sh/v1``), for teams whose nodes Karpenter launches.

One NodePool per node pool of each cluster of the plan (the same host model or VM size,
GPUs and sandbox runtime; file ``<cluster>/nodepools.yaml``), applied with
``kubectl apply -f <cluster>/nodepools.yaml`` on that cluster:

- ``requirements``: ``node.kubernetes.io/instance-type In [<machine>]``, the plan's
  machine (host model, or VM shape; an auto-sized VM is named ``vm-<vcpus>c-<memory>``):
  map it to your provider's instance type; a GPU pool also asks for its GPU model
  (``nvidia.com/gpu.product``);
- ``taints`` and labels: the node scheme of the ``kubernetes`` target (the tenant's
  ``underlay.io/tenant`` taint where its isolation class is in a rule, the sandbox
  runtime's ``underlay.io/runtime`` taint), so the Namespaces and RuntimeClasses of that
  target land their pods on these nodes;
- ``limits``: the pool's capacity in the plan (nodes × each node's CPU, memory, GPUs):
  Karpenter launches no more than the plan bought;
- ``disruption.budgets``: at most as many nodes drained at once as the strictest
  disruption budget of the cluster's workloads lets replicas go (exactly right for
  replicas one per node — anti-affinity ``host`` — and the PodDisruptionBudgets still
  guard every eviction otherwise); Karpenter's default (10 %) when no workload has one;
- ``nodeClassRef``: the provider's NodeClass, :data:`NODE_CLASS` unless
  :func:`karpenter_target` is given another (Karpenter's getting-started guide creates an
  ``EC2NodeClass`` named ``default``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from underlay.export.k8s_names import (
    CLUSTER_LABEL,
    HOST_MODEL_LABEL,
    INSTANCE_TYPE_LABEL,
    ISOLATION_LABEL,
    POOL_LABEL,
    RUNTIME_LABEL,
    TENANT_LABEL,
    cpu_quantity,
    dns_label,
    memory_quantity,
    unique_labels,
)
from underlay.export.k8s_objects import GPU_PRODUCT_LABEL, GPU_RESOURCE, TenantSpace, taint
from underlay.export.kubernetes import tenant_spaces
from underlay.export.manifest import ExportInput, FieldSource, Manifest, Target
from underlay.export.placed import PlacedCluster, PlacedPool, placed_clusters

__all__ = ["NODE_CLASS", "karpenter", "karpenter_target", "node_budget"]

NODE_CLASS: Mapping[str, str] = {
    "group": "karpenter.k8s.aws",
    "kind": "EC2NodeClass",
    "name": "default",
}
"""The NodeClass the NodePools refer to by default (AWS's, as Karpenter's getting-started
guide names it); pass your provider's to :func:`karpenter_target`."""


def node_budget(cluster: PlacedCluster) -> tuple[int, str] | None:
    """(nodes Karpenter may drain at once, the figure it comes from): the fewest replicas
    any workload of ``cluster`` with a disruption budget may lose at once; None when no
    workload has a budget."""
    best: tuple[int, str] | None = None
    for w in cluster.workloads:
        budget = w.workload.disruption_budget
        if budget is None or not w.workload.replicas:
            continue
        allowed = budget.allowed(w.workload.replicas)
        if best is None or allowed < best[0]:
            rule = (
                f"max_unavailable {budget.max_unavailable}"
                if budget.max_unavailable is not None
                else f"min_available {budget.min_available}"
            )
            best = (
                allowed,
                f"disruption budget of tenant {w.tenant.name!r} workload "
                f"{w.workload.name!r}: {rule} of {w.workload.replicas} replicas = {allowed} "
                "down at once (the strictest of the cluster's)",
            )
    return best


def _labels(cluster: PlacedCluster, pool: PlacedPool, owner: TenantSpace | None) -> dict[str, str]:
    labels = {CLUSTER_LABEL: cluster.name, POOL_LABEL: pool.name, HOST_MODEL_LABEL: pool.host_model}
    if owner is not None:
        labels[TENANT_LABEL] = owner.tenant_label
        labels[ISOLATION_LABEL] = owner.isolation
    if pool.runtime:
        labels[RUNTIME_LABEL] = pool.runtime
    return labels


def _limits(pool: PlacedPool) -> tuple[dict[str, str], list[FieldSource]]:
    n = pool.nodes
    what = f"the plan's {n} node(s) of pool {pool.name}"
    cpu, mem = n * pool.cpu_milli, n * pool.memory_mib
    limits = {"cpu": cpu_quantity(cpu), "memory": memory_quantity(mem)}
    sources = [
        FieldSource(
            "spec.limits.cpu",
            f"{what} × {cpu_quantity(pool.cpu_milli)} CPU each = {cpu_quantity(cpu)}",
        ),
        FieldSource(
            "spec.limits.memory",
            f"{what} × {memory_quantity(pool.memory_mib)} each = {memory_quantity(mem)}",
        ),
    ]
    if pool.gpus:
        limits[GPU_RESOURCE] = str(n * pool.gpus)
        sources.append(
            FieldSource(
                f"spec.limits.{GPU_RESOURCE}",
                f"{what} × {pool.gpus} {pool.gpu_model} GPU(s) each = {n * pool.gpus}",
            )
        )
    return limits, sources


def _node_pool(
    name: str,
    cluster: PlacedCluster,
    pool: PlacedPool,
    owner: TenantSpace | None,
    node_class: Mapping[str, str],
    folder: str,
    merged: bool,
) -> Manifest:
    requirements = [{"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": [pool.instance_type]}]
    if pool.gpu_model:
        requirements.append(
            {"key": GPU_PRODUCT_LABEL, "operator": "In", "values": [pool.gpu_model]}
        )
    taints = []
    if owner is not None and owner.tainted:
        taints.append(taint(TENANT_LABEL, owner.tenant_label))
    if pool.runtime and merged:
        taints.append(taint(RUNTIME_LABEL, pool.runtime))
    template_spec: dict[str, Any] = {"nodeClassRef": dict(node_class), "requirements": requirements}
    if taints:
        template_spec["taints"] = taints
    limits, sources = _limits(pool)
    spec: dict[str, Any] = {
        "template": {
            "metadata": {"labels": _labels(cluster, pool, owner)},
            "spec": template_spec,
        },
        "limits": limits,
    }
    budget = node_budget(cluster)
    if budget is not None:
        spec["disruption"] = {"budgets": [{"nodes": str(budget[0])}]}
        sources.append(FieldSource("spec.disruption.budgets.0.nodes", budget[1]))
    body = {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name},
        "spec": spec,
    }
    return Manifest(body, f"{folder}/nodepools.yaml", tuple(sources))


def karpenter_target(
    node_class: Mapping[str, str] = NODE_CLASS, *, into: str | None = None
) -> Target:
    """The ``karpenter`` target with NodePools referring to ``node_class`` (``group``,
    ``kind``, ``name`` of your provider's NodeClass); with ``into``, every plan cluster's
    NodePools go into the one existing cluster ``into``, tainted as
    :func:`~underlay.export.kubernetes.kubernetes_target` with ``into`` taints its nodes."""
    merged = into is not None

    def karpenter(inp: ExportInput) -> list[Manifest]:
        """Per cluster of the plan, a NodePool per node pool (see the module docstring).

        Raises :class:`~underlay.errors.ExportError` when the plan leaves pods unplaced.
        """
        out = []
        for cluster in placed_clusters(inp):
            spaces = tenant_spaces(inp.scenario, cluster, merged=merged)
            owner = spaces[0] if not cluster.shared and spaces else None
            names = unique_labels([f"{cluster.name}-{p.name}" for p in cluster.pools])
            for pool, name in zip(cluster.pools, names, strict=True):
                folder = dns_label(into) if into is not None else cluster.name
                out.append(_node_pool(name, cluster, pool, owner, node_class, folder, merged))
        return out

    return karpenter


karpenter: Target = karpenter_target()
"""The ``karpenter`` target with the default :data:`NODE_CLASS`."""
