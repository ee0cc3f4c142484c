"""The ``karpenter`` target: NodePools whose limits are the plan's capacity, derived here
from the placement's node counts and the host model's size."""

from __future__ import annotations

from collections import Counter

import pytest

from export_k8s_cases import at_path, bundled_cases, bundled_input, export_input, of_kind
from factories import make_host_model, make_scenario, make_tenant, make_workload
from underlay.errors import ExportError
from underlay.export.k8s_names import TENANT_LABEL
from underlay.export.karpenter import NODE_CLASS, karpenter, karpenter_target

DEDICATED = [{"kind": "baremetal-dedicated"}]


def test_limits_are_the_pool_s_nodes_times_the_host_s_size() -> None:
    web = make_workload("web", replicas=40, cpu="6", memory="8Gi")
    sc = make_scenario(substrates=DEDICATED, tenants=[make_tenant("shop", workloads=[web])])
    inp = export_input(sc, "baremetal-dedicated")
    workers = int((inp.placement.nodes.role == 0).sum())
    (pool,) = of_kind(karpenter(inp), "NodePool")
    # the default host model: 64 cores, 256 GiB
    assert pool.body["spec"]["limits"] == {"cpu": str(workers * 64), "memory": f"{workers * 256}Gi"}
    assert pool.name == "shop-std"
    req = pool.body["spec"]["template"]["spec"]["requirements"]
    assert req == [{"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["std"]}]
    assert pool.body["spec"]["template"]["spec"]["nodeClassRef"] == dict(NODE_CLASS)
    assert "disruption" not in pool.body["spec"]  # no budget: Karpenter's default


def test_gpu_pools_limit_gpus_and_ask_for_their_model() -> None:
    gpu_host = make_host_model("gpu8", cores=96, memory="1Ti", gpus={"model": "H100", "count": 8})
    train = make_workload("train", replicas=3, cpu="8", memory="64Gi", gpu={"count": 8})
    sc = make_scenario(
        hardware={"host_models": [make_host_model(), gpu_host]},
        substrates=DEDICATED,
        tenants=[make_tenant("ml", workloads=[train])],
    )
    pools = of_kind(karpenter(export_input(sc, "baremetal-dedicated")), "NodePool")
    (gpu,) = [p for p in pools if "nvidia.com/gpu" in p.body["spec"]["limits"]]
    # 3 pods of 8 GPUs, one per 8-GPU host
    assert gpu.body["spec"]["limits"] == {
        "cpu": str(3 * 96),
        "memory": f"{3 * 1024}Gi",
        "nvidia.com/gpu": str(3 * 8),
    }
    assert {"key": "nvidia.com/gpu.product", "operator": "In", "values": ["H100"]} in gpu.body[
        "spec"
    ]["template"]["spec"]["requirements"]


def test_the_node_budget_is_the_strictest_workload_budget() -> None:
    api = make_workload("api", replicas=6, disruption_budget={"max_unavailable": 3})
    db = make_workload("db", replicas=5, disruption_budget={"min_available": 3})
    sc = make_scenario(substrates=DEDICATED, tenants=[make_tenant("t", workloads=[api, db])])
    (pool,) = of_kind(karpenter(export_input(sc, "baremetal-dedicated")), "NodePool")
    # api may lose 3 at once, db 5 - 3 = 2: the pool drains at most 2 nodes at once
    assert pool.body["spec"]["disruption"] == {"budgets": [{"nodes": str(min(3, 5 - 3))}]}
    figure = next(s.figure for s in pool.sources if s.path == "spec.disruption.budgets.0.nodes")
    assert "'db'" in figure and at_path(pool.body, "spec.disruption.budgets.0.nodes") == "2"


def test_isolation_and_sandbox_taints_follow_the_kubernetes_target_s_scheme() -> None:
    tenants = [
        make_tenant("bank", isolation="regulated"),
        make_tenant("team", isolation="internal"),
    ]
    sc = make_scenario(
        substrates=[*DEDICATED, {"kind": "sandboxed", "runtime": "kata"}], tenants=tenants
    )
    merged = karpenter_target(into="prod")
    pools = {
        p.name: p.body["spec"]["template"]["spec"]
        for p in of_kind(merged(export_input(sc, "baremetal-dedicated")), "NodePool")
    }
    assert pools["bank-std"]["taints"] == [
        {"key": TENANT_LABEL, "value": "bank", "effect": "NoSchedule"}
    ]
    assert "taints" not in pools["team-std"]
    (sandboxed,) = of_kind(merged(export_input(sc, "sandboxed")), "NodePool")
    assert sandboxed.file == "prod/nodepools.yaml"
    # a plan cluster of its own needs no taint: all its nodes are the tenant's / the sandbox's
    assert not any(
        "taints" in p.body["spec"]["template"]["spec"]
        for label in ("baremetal-dedicated", "sandboxed")
        for p in of_kind(karpenter(export_input(sc, label)), "NodePool")
    )
    spec = sandboxed.body["spec"]["template"]
    assert spec["spec"]["taints"] == [
        {"key": "underlay.io/runtime", "value": "kata", "effect": "NoSchedule"}
    ]
    assert spec["metadata"]["labels"]["underlay.io/runtime"] == "kata"


def test_the_node_class_is_the_team_s_own_when_given() -> None:
    own = {"group": "karpenter.example.io", "kind": "MetalNodeClass", "name": "racks"}
    sc = make_scenario(substrates=DEDICATED)
    (pool,) = of_kind(karpenter_target(own)(export_input(sc, "baremetal-dedicated")), "NodePool")
    assert pool.body["spec"]["template"]["spec"]["nodeClassRef"] == own


def test_limits_hold_every_vm_of_a_vm_plan() -> None:
    tenants = [
        make_tenant(f"t{i}", workloads=[make_workload("w", replicas=5 + i, cpu="3", memory="6Gi")])
        for i in range(3)
    ]
    sc = make_scenario(substrates=[{"kind": "vm", "sizing": "requests"}], tenants=tenants)
    inp = export_input(sc, "vm")
    n = inp.placement.nodes
    workers = n.role == 0
    cpu = Counter()
    for pool in of_kind(karpenter(inp), "NodePool"):
        cpu[pool.body["spec"]["template"]["metadata"]["labels"]["underlay.io/cluster"]] += int(
            pool.body["spec"]["limits"]["cpu"]
        )
    for c in inp.placement.clusters:
        mine = workers & (n.cluster == c.index)
        assert cpu[c.cluster.name] * 1000 == int(n.size_cpu[mine].sum())


@pytest.mark.parametrize(("name", "label"), bundled_cases())
def test_node_pools_keep_the_crd_s_cel_rules(name: str, label: str) -> None:
    """The NodePool CRD's x-kubernetes-validations (CEL, which jsonschema does not run),
    written out: no label or requirement key in the karpenter.sh domain or
    kubernetes.io/hostname, `In` requirements with values, no static `replicas`."""
    try:
        out = karpenter(bundled_input(name, label))
    except ExportError:
        pytest.skip("the plan leaves pods unplaced")

    def allowed(key: str) -> bool:
        domain = key.split("/")[0] if "/" in key else ""
        return not domain.endswith("karpenter.sh") and key != "kubernetes.io/hostname"

    for pool in out:
        spec = pool.body["spec"]
        assert "replicas" not in spec
        assert all(allowed(k) for k in spec["template"]["metadata"]["labels"])
        for req in spec["template"]["spec"]["requirements"]:
            assert allowed(req["key"]) and (req["operator"] != "In" or req["values"])


def test_vm_pools_are_named_after_the_shape_they_are() -> None:
    web = make_workload("web", replicas=12, cpu="3", memory="6Gi")
    own = [{"name": "c8", "vcpus": 8, "memory": "32Gi"}]
    for shapes, expected in (("menu", None), (own, {"c8"})):
        sc = make_scenario(
            substrates=[{"kind": "vm", "shapes": shapes, "sizing": "requests"}],
            tenants=[make_tenant("shop", workloads=[web])],
        )
        inp = export_input(sc, "vm")
        menu = {s.name for s in inp.defaults.vm_sizing.menu}
        types = {
            r["values"][0]
            for p in of_kind(karpenter(inp), "NodePool")
            for r in p.body["spec"]["template"]["spec"]["requirements"]
        }
        assert types and types <= (expected or menu)
