"""Export, apply, import: the ``kubernetes`` target's objects on a cluster, read back by
``underlay import kubectl``'s builder, give the same requests (with the runtime's pod
overhead), budgets and quotas.

"Apply" is what the API server does with the exported objects and the pods a team then
runs in them: the Nodes carry the exported labels and the plan's capacity; each
workload's pods carry the labels its PodDisruptionBudget selects, name the namespace's
RuntimeClass, and get its ``overhead.podFixed`` as ``spec.overhead`` (the RuntimeClass
admission controller's doing); the Namespaces and PDBs are the exported ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from export_k8s_cases import bundled_input, export_input, named, of_kind
from factories import make_scenario, make_tenant, make_workload
from underlay.export.k8s_names import RUNTIME_LABEL, TENANT_LABEL, cpu_quantity, memory_quantity
from underlay.export.kubernetes import kubernetes_target
from underlay.export.manifest import ExportInput, Manifest
from underlay.export.placed import PlacedCluster, placed_clusters
from underlay.importers.kubectl import TenantRules, build_scenario
from underlay.model.quantities import cpu_to_milli, memory_to_mib
from underlay.model.scenario import Scenario, Workload


def _node(patch: Manifest, cluster: PlacedCluster) -> dict[str, Any]:
    pool = next(
        p for p in cluster.pools if p.name == patch.body["metadata"]["labels"]["underlay.io/pool"]
    )
    capacity = {
        "cpu": cpu_quantity(pool.cpu_milli),
        "memory": memory_quantity(pool.memory_mib),
        "pods": "110",
    }
    if pool.gpus:
        capacity["nvidia.com/gpu"] = str(pool.gpus)
    return {
        **patch.body,
        "status": {"capacity": capacity, "nodeInfo": {"kubeletVersion": f"v{cluster.version}.0"}},
    }


def _container(w: Workload) -> dict[str, Any]:
    requests = {
        "cpu": cpu_quantity(w.requests.cpu_milli),
        "memory": memory_quantity(w.requests.memory_mib),
    }
    limits: dict[str, str] = {}
    if w.limits is not None:
        limits = {
            "cpu": cpu_quantity(w.limits.cpu_milli),
            "memory": memory_quantity(w.limits.memory_mib),
        }
    if w.gpu_count:
        limits["nvidia.com/gpu"] = requests["nvidia.com/gpu"] = str(w.gpu_count)
    return {
        "name": "main",
        "resources": {"requests": requests, **({"limits": limits} if limits else {})},
    }


def _pods(out: list[Manifest], cluster: PlacedCluster) -> list[dict[str, Any]]:
    """Every replica as the API server stores it once admitted in its namespace."""
    classes = {m.name: m.body for m in of_kind(out, "RuntimeClass")}
    pdbs = {
        (m.body["metadata"]["namespace"], m.name): m.body
        for m in of_kind(out, "PodDisruptionBudget")
    }
    pods = []
    for ns in of_kind(out, "Namespace"):
        space = ns.name
        runtime = ns.body["metadata"]["labels"].get(RUNTIME_LABEL)
        for w in cluster.workloads:
            if w.tenant.name != ns.body["metadata"]["annotations"]["underlay.io/tenant-name"]:
                continue
            wl = w.workload
            labels = {
                **wl.labels,
                "app.kubernetes.io/name": wl.name,
                "pod-template-hash": "5d8f7c9b6",
            }
            pdb = pdbs.get((space, wl.name))
            if pdb is not None:
                labels.update(pdb["spec"]["selector"]["matchLabels"])
            spec: dict[str, Any] = {"containers": [_container(wl)], "nodeName": "n"}
            if runtime:
                spec["runtimeClassName"] = runtime
                spec["overhead"] = dict(classes[runtime]["overhead"]["podFixed"])
            owner = {"kind": "ReplicaSet", "name": f"{wl.name}-5d8f7c9b6", "controller": True}
            for i in range(wl.replicas):
                meta = {
                    "name": f"{wl.name}-{i}",
                    "namespace": space,
                    "labels": labels,
                    "ownerReferences": [owner],
                }
                pods.append(
                    {"kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Running"}}
                )
    return pods


def _round_trip(
    inp: ExportInput, into: str | None
) -> list[tuple[PlacedCluster, list[Manifest], Scenario]]:
    out = kubernetes_target(into=into)(inp)
    clusters = placed_clusters(inp)
    if into is not None:
        # every plan cluster in one: its pools and workloads together (the cases below
        # have each tenant in one plan cluster, and pools of one name of one shape)
        pools = tuple(p for c in clusters for p in c.pools)
        loads = tuple(w for c in clusters for w in c.workloads)
        oldest = min(c.version for c in clusters)
        clusters = [PlacedCluster(into, True, oldest, pools, loads)]
    trips = []
    for cluster in clusters:
        mine = [m for m in out if m.file.startswith(f"{cluster.name}/")]
        nodes = [_node(m, cluster) for m in of_kind(mine, "Node")]
        imported = build_scenario(
            nodes,
            _pods(mine, cluster),
            [m.body for m in of_kind(mine, "PodDisruptionBudget")],
            [m.body for m in of_kind(mine, "Namespace")],
            TenantRules(label=TENANT_LABEL),
            name="roundtrip",
            server_version=f"v{cluster.version}.0",
        )
        trips.append((cluster, mine, imported.scenario))
    return trips


def _imported(scenario: Scenario, tenant: str, workload: str) -> Workload:
    (t,) = [t for t in scenario.tenants if t.name == tenant]
    (w,) = [w for c in t.clusters for w in c.workloads if w.name == workload]
    return w


def _check(inp: ExportInput, into: str | None = None) -> None:
    runtimes = inp.defaults.sandbox_runtimes
    for cluster, out, scenario in _round_trip(inp, into):
        for ns in of_kind(out, "Namespace"):
            tenant = ns.body["metadata"]["labels"][TENANT_LABEL]
            runtime = ns.body["metadata"]["labels"].get(RUNTIME_LABEL)
            o_cpu = runtimes[runtime].pod_overhead.cpu_milli if runtime else 0
            o_mem = runtimes[runtime].pod_overhead.memory_mib if runtime else 0
            back = []
            for w in (
                w
                for w in cluster.workloads
                if w.tenant.name == ns.body["metadata"]["annotations"]["underlay.io/tenant-name"]
            ):
                got = _imported(scenario, tenant, w.workload.name)
                back.append(got)
                # the runtime's overhead is what the imported request adds to the plan's
                assert got.requests.cpu_milli - w.workload.requests.cpu_milli == o_cpu
                assert got.requests.memory_mib - w.workload.requests.memory_mib == o_mem
                assert got.replicas == w.workload.replicas
                assert got.gpu_count == w.workload.gpu_count
                assert got.disruption_budget == w.workload.disruption_budget
            hard = named(out, "ResourceQuota", "underlay-plan", ns.name).body["spec"]["hard"]
            # the quota is the imported workloads' sum: overhead is in their requests
            assert int(hard["pods"]) == sum(g.replicas for g in back)
            if "requests.cpu" in hard:
                assert cpu_to_milli(hard["requests.cpu"]) == sum(
                    g.replicas * g.requests.cpu_milli for g in back
                )
            if "requests.memory" in hard:
                assert memory_to_mib(hard["requests.memory"]) == sum(
                    g.replicas * g.requests.memory_mib for g in back
                )
        # the nodes read back are the plan's pools
        shapes = sorted((m.cpu_milli, m.memory_mib) for m in scenario.hardware.host_models)
        assert shapes == sorted({(p.cpu_milli, p.memory_mib) for p in cluster.pools})


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("saas-platform", "sandboxed"),
        ("saas-platform", "baremetal-dedicated"),
        ("hybrid-platform", "gpu-metal-in-vm-platform"),
        ("edge-site", "sandboxed"),
    ],
)
def test_the_bundled_examples_round_trip(name: str, label: str) -> None:
    _check(bundled_input(name, label))


def test_a_gvisor_tenant_with_budgets_round_trips() -> None:
    api = make_workload(
        "api",
        replicas=4,
        cpu="750m",
        memory="1536Mi",
        labels={"app": "api"},
        disruption_budget={"min_available": 3},
    )
    db = make_workload(
        "db",
        replicas=3,
        cpu="2",
        memory="8Gi",
        limits={"cpu": "2", "memory": "8Gi"},
        disruption_budget={"max_unavailable": 1},
    )
    sc = make_scenario(
        substrates=[{"kind": "sandboxed", "runtime": "gvisor"}],
        tenants=[make_tenant("Shop & Co", workloads=[api, db])],
    )
    _check(export_input(sc, "sandboxed"))


@pytest.mark.parametrize("label", ["baremetal-dedicated", "vm-by-requests"])
def test_the_plan_merged_into_one_cluster_round_trips(label: str) -> None:
    _check(bundled_input("saas-platform", label), into="prod")
