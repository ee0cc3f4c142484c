"""The ``kubernetes`` target, figure by figure: each expected number is derived here from
the scenario and the rule written out, never read from the target's output."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from export_k8s_cases import at_path, export_input, named, of_kind
from factories import make_host_model, make_scenario, make_tenant, make_workload
from underlay.errors import ExportError, InputError
from underlay.export.k8s_names import TENANT_LABEL, dns_label, unique_labels
from underlay.export.kubernetes import kubernetes, kubernetes_target
from underlay.model.scenario import Scenario

SANDBOXED = [{"kind": "sandboxed", "runtime": "kata"}]
DEDICATED = [{"kind": "baremetal-dedicated"}]


def _shop(substrates: list[dict[str, object]], **extra: object) -> Scenario:
    """One tenant ``shop``: ``web`` 3 × (500m, 1Gi; limits 1, 1Gi), ``jobs`` 2 × (2, 4Gi;
    no limits)."""
    web = make_workload(
        "web", replicas=3, cpu="500m", memory="1Gi", limits={"cpu": "1", "memory": "1Gi"}
    )
    jobs = make_workload("jobs", replicas=2, cpu="2", memory="4Gi")
    return make_scenario(
        substrates=substrates, tenants=[make_tenant("shop", workloads=[web, jobs])], **extra
    )


def test_a_quota_sums_the_tenant_s_requests_and_pods() -> None:
    inp = export_input(_shop(DEDICATED), "baremetal-dedicated")
    quota = named(kubernetes(inp), "ResourceQuota", "underlay-plan", "shop")
    hard = quota.body["spec"]["hard"]
    assert hard["pods"] == str(3 + 2)
    assert hard["requests.cpu"] == f"{3 * 500 + 2 * 2000}m"  # 5500m
    assert hard["requests.memory"] == f"{(3 * 1024 + 2 * 4096) // 1024}Gi"  # 11Gi
    # jobs sets no limits: a limits quota would make the API server refuse its pods.
    assert "limits.cpu" not in hard and "limits.memory" not in hard


def test_a_sandboxed_quota_adds_the_runtime_s_pod_overhead_as_quota_counts_it() -> None:
    inp = export_input(_shop(SANDBOXED), "sandboxed")
    o = inp.defaults.sandbox_runtimes["kata"].pod_overhead
    quota = named(kubernetes(inp), "ResourceQuota", "underlay-plan", "shop")
    hard = quota.body["spec"]["hard"]
    cpu = 3 * (500 + o.cpu_milli) + 2 * (2000 + o.cpu_milli)
    mem = 3 * (1024 + o.memory_mib) + 2 * (4096 + o.memory_mib)
    assert hard["requests.cpu"] == (f"{cpu // 1000}" if cpu % 1000 == 0 else f"{cpu}m")
    assert hard["requests.memory"] == (f"{mem // 1024}Gi" if mem % 1024 == 0 else f"{mem}Mi")
    figure = next(s.figure for s in quota.sources if s.path == "spec.hard.requests.cpu")
    assert "web 3 × (500m + 250m)" in figure and "sandbox_runtimes.kata" in figure


def test_limits_are_quoted_when_every_workload_sets_them() -> None:
    web = make_workload(
        "web", replicas=4, cpu="1", memory="2Gi", limits={"cpu": "3", "memory": "2Gi"}
    )
    sc = make_scenario(substrates=DEDICATED, tenants=[make_tenant("a", workloads=[web])])
    hard = named(
        kubernetes(export_input(sc, "baremetal-dedicated")), "ResourceQuota", "underlay-plan"
    ).body["spec"]["hard"]
    assert hard["limits.cpu"] == str(4 * 3)
    assert hard["limits.memory"] == f"{4 * 2}Gi"


def test_a_gpu_quota_counts_gpus_per_pod_times_replicas() -> None:
    gpu_host = make_host_model("gpu", gpus={"model": "L4", "count": 8})
    train = make_workload("train", replicas=3, cpu="4", memory="16Gi", gpu={"count": 2})
    serve = make_workload(
        "serve", replicas=4, cpu="1", memory="4Gi", gpu={"count": 1, "fraction": 0.5}
    )
    sc = make_scenario(
        hardware={"host_models": [make_host_model(), gpu_host]},
        substrates=DEDICATED,
        tenants=[make_tenant("ml", workloads=[train, serve])],
    )
    hard = named(
        kubernetes(export_input(sc, "baremetal-dedicated")), "ResourceQuota", "underlay-plan"
    ).body["spec"]["hard"]
    # a pod with half a GPU asks for one (time-sliced) GPU device
    assert hard["requests.nvidia.com/gpu"] == str(3 * 2 + 4 * 1)


def test_the_runtime_class_carries_the_overhead_of_the_defaults_the_model_used() -> None:
    sc = _shop(
        SANDBOXED,
        overrides={
            "sandbox_runtimes": {"kata": {"pod_overhead": {"cpu": "300m", "memory": "200Mi"}}}
        },
    )
    inp = export_input(sc, "sandboxed")
    rc = named(kubernetes(inp), "RuntimeClass", "kata")
    assert rc.body["overhead"]["podFixed"] == {"cpu": "300m", "memory": "200Mi"}
    assert rc.body["handler"] == "kata"
    # every node of the sandboxed cluster runs Kata: labelled, not tainted (the cluster's
    # add-ons must run somewhere)
    assert rc.body["scheduling"] == {"nodeSelector": {"underlay.io/runtime": "kata"}}
    for node in of_kind(kubernetes(inp), "Node"):
        assert node.body["metadata"]["labels"]["underlay.io/runtime"] == "kata"
        assert "spec" not in node.body
    # merged into a cluster with other nodes, the runtime's nodes are kept for its pods
    merged = kubernetes_target(into="prod")(inp)
    taint = {"key": "underlay.io/runtime", "value": "kata", "effect": "NoSchedule"}
    assert named(merged, "RuntimeClass", "kata").body["scheduling"]["tolerations"] == [
        {"key": "underlay.io/runtime", "operator": "Equal", "value": "kata", "effect": "NoSchedule"}
    ]
    assert all(n.body["spec"]["taints"] == [taint] for n in of_kind(merged, "Node"))


def test_gvisor_s_class_names_its_runsc_handler() -> None:
    inp = export_input(_shop([{"kind": "sandboxed", "runtime": "gvisor"}]), "sandboxed")
    assert named(kubernetes(inp), "RuntimeClass", "gvisor").body["handler"] == "runsc"


def test_a_sandboxed_namespace_is_held_to_its_runtime_class_from_1_30() -> None:
    for version, policies in (("1.29", 0), ("1.30", 2)):
        sc = _shop([{"kind": "sandboxed", "kubernetes_version": version}])
        out = kubernetes(export_input(sc, "sandboxed"))
        assert len([m for m in out if m.file.endswith("policies.yaml")]) == policies
        assert (
            named(out, "Namespace", "shop").body["metadata"]["labels"]["underlay.io/runtime"]
            == "kata"
        )


def _isolated() -> Scenario:
    tenants = [
        make_tenant("Bank EU", isolation="regulated"),
        make_tenant("team", isolation="internal"),
        make_tenant("Customers", isolation="untrusted"),
    ]
    return make_scenario(substrates=[*DEDICATED, {"kind": "baremetal-shared"}], tenants=tenants)


def test_each_plan_cluster_is_its_own_cluster_with_no_taint_or_node_selection() -> None:
    out = kubernetes(export_input(_isolated(), "baremetal-dedicated"))
    assert {m.file.split("/")[0] for m in out} == {"bank-eu", "team", "customers"}
    assert not any("spec" in n.body for n in of_kind(out, "Node"))
    for ns in of_kind(out, "Namespace"):
        assert set(ns.body["metadata"]["annotations"]) == {"underlay.io/tenant-name"}


def test_merged_ruled_tenants_get_their_nodes_tainted_and_their_pods_tolerate_and_select_them() -> (
    None
):
    out = kubernetes_target(into="Prod")(export_input(_isolated(), "baremetal-dedicated"))
    assert {m.file.split("/")[0] for m in out} == {"prod"}
    # regulated and untrusted are in the default rules; internal is in none
    for tenant, tainted in (("bank-eu", True), ("team", False), ("customers", True)):
        ns = named(out, "Namespace", tenant).body["metadata"]
        # each namespace selects its plan cluster's nodes (a shorthand tenant's cluster is
        # named after it)
        assert (
            ns["annotations"]["scheduler.alpha.kubernetes.io/node-selector"]
            == f"underlay.io/cluster={tenant}"
        )
        tolerations = ns["annotations"].get("scheduler.alpha.kubernetes.io/defaultTolerations")
        nodes = [
            m
            for m in of_kind(out, "Node")
            if m.body["metadata"]["labels"].get(TENANT_LABEL) == tenant
        ]
        assert nodes
        taint = {"key": TENANT_LABEL, "value": tenant, "effect": "NoSchedule"}
        if tainted:
            assert json.loads(tolerations) == [
                {"key": TENANT_LABEL, "operator": "Equal", "value": tenant, "effect": "NoSchedule"}
            ]
            assert all(n.body["spec"]["taints"] == [taint] for n in nodes)
        else:
            assert tolerations is None and all("spec" not in n.body for n in nodes)


def test_without_rules_no_node_is_tainted() -> None:
    sc = _isolated().model_copy(
        update={"isolation": _isolated().isolation.model_copy(update={"rules": []})}
    )
    out = kubernetes_target(into="prod")(export_input(sc, "baremetal-dedicated"))
    assert not any("spec" in n.body for n in of_kind(out, "Node"))


def test_a_shared_cluster_mixes_its_tenants_so_namespaces_select_no_nodes() -> None:
    out = kubernetes(export_input(_isolated(), "baremetal-shared"))
    for ns in of_kind(out, "Namespace"):
        assert (
            "scheduler.alpha.kubernetes.io/node-selector" not in ns.body["metadata"]["annotations"]
        )
    assert all(TENANT_LABEL not in n.body["metadata"]["labels"] for n in of_kind(out, "Node"))
    assert {m.file.split("/")[0] for m in out} == {"baremetal-shared"}


def test_every_planned_node_has_a_patch() -> None:
    inp = export_input(_isolated(), "baremetal-dedicated")
    nodes = of_kind(kubernetes(inp), "Node")
    workers = int((inp.placement.nodes.role == 0).sum())
    assert len(nodes) == workers
    assert len({n.name for n in nodes}) == workers


def test_tenants_whose_names_slug_alike_get_two_namespaces() -> None:
    sc = make_scenario(
        substrates=[{"kind": "baremetal-shared"}],
        tenants=[make_tenant("Bank EU"), make_tenant("bank-eu")],
    )
    names = sorted(
        m.name for m in of_kind(kubernetes(export_input(sc, "baremetal-shared")), "Namespace")
    )
    assert names == ["bank-eu", "bank-eu-2"]
    assert unique_labels(["A b", "a-b", "a-b-2"]) == ["a-b", "a-b-2", "a-b-2-2"]
    assert dns_label("ACME Corp (EU)") == "acme-corp-eu" and dns_label("***") == "x"


def test_a_pdb_copies_the_budget_and_selects_the_workload_s_pods() -> None:
    api = make_workload(
        "api", replicas=5, labels={"app": "api"}, disruption_budget={"max_unavailable": 2}
    )
    db = make_workload("db", replicas=3, disruption_budget={"min_available": 2})
    plain = make_workload("plain", replicas=2)
    sc = make_scenario(substrates=DEDICATED, tenants=[make_tenant("t", workloads=[api, db, plain])])
    out = kubernetes(export_input(sc, "baremetal-dedicated"))
    pdbs = of_kind(out, "PodDisruptionBudget")
    assert [p.name for p in pdbs] == ["api", "db"]
    assert pdbs[0].body["spec"] == {
        "maxUnavailable": 2,
        "selector": {"matchLabels": {"app": "api"}},
    }
    # db has no labels of its own: the recommended name label selects it
    assert pdbs[1].body["spec"] == {
        "minAvailable": 2,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "db"}},
    }


def test_labels_shared_by_two_workloads_do_not_select_one_of_them() -> None:
    a = make_workload(
        "a", replicas=2, labels={"tier": "web"}, disruption_budget={"max_unavailable": 1}
    )
    b = make_workload("b", replicas=2, labels={"tier": "web"})
    sc = make_scenario(substrates=DEDICATED, tenants=[make_tenant("t", workloads=[a, b])])
    pdb = named(kubernetes(export_input(sc, "baremetal-dedicated")), "PodDisruptionBudget", "a")
    assert pdb.body["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "a"}


def test_every_source_path_names_a_number_of_its_object() -> None:
    out = kubernetes(export_input(_shop(SANDBOXED), "sandboxed"))
    sources = [(m, s) for m in out for s in m.sources]
    assert sources
    for m, s in sources:
        value = at_path(m.body, s.path)
        assert isinstance(value, int | str) and any(ch.isdigit() for ch in str(value)), s.path


def test_a_plan_that_leaves_pods_out_is_refused_as_an_input_error() -> None:
    big = make_workload("big", replicas=10, cpu="60", memory="8Gi")
    sc = make_scenario(
        hardware={"host_models": [make_host_model()], "inventory": [{"model": "std", "count": 2}]},
        substrates=DEDICATED,
        tenants=[make_tenant("t", workloads=[big])],
    )
    with pytest.raises(ExportError, match=r"unplaced.*tenant 't' workload 'big'") as info:
        kubernetes(export_input(sc, "baremetal-dedicated"))
    assert isinstance(info.value, InputError) and info.value.exit_code == 2


def test_a_cluster_too_old_for_the_objects_it_needs_is_refused() -> None:
    db = make_workload("db", replicas=3, disruption_budget={"max_unavailable": 1})
    for version, refused in (("1.20", True), ("1.21", False)):
        tenant = make_tenant("t", workloads=[db], kubernetes_version=version)
        sc = make_scenario(substrates=DEDICATED, tenants=[tenant])
        if refused:
            with pytest.raises(ExportError, match=r"1\.20.*policy/v1 PodDisruptionBudget.*1\.21"):
                kubernetes(export_input(sc, "baremetal-dedicated"))
        else:
            assert of_kind(
                kubernetes(export_input(sc, "baremetal-dedicated")), "PodDisruptionBudget"
            )


def test_tenants_whose_names_slug_alike_never_share_a_node_taint() -> None:
    tenants = [
        make_tenant("Bank EU", isolation="regulated"),
        make_tenant("bank-eu", isolation="untrusted"),
    ]
    sc = make_scenario(substrates=DEDICATED, tenants=tenants)
    out = kubernetes_target(into="prod")(export_input(sc, "baremetal-dedicated"))
    assert sorted(m.name for m in of_kind(out, "Namespace")) == ["bank-eu", "bank-eu-2"]
    taints = {t["value"] for n in of_kind(out, "Node") for t in n.body["spec"]["taints"]}
    assert taints == {"bank-eu", "bank-eu-2"}


def test_an_unknown_substrate_is_refused_naming_the_known_ones() -> None:
    inp = export_input(_shop(DEDICATED), "baremetal-dedicated")
    wrong = replace(inp, substrate="vms")
    with pytest.raises(ExportError, match=r"'vms' is not in the scenario.*baremetal-dedicated"):
        kubernetes(wrong)
