"""Properties of the ``kubernetes`` and ``karpenter`` targets on random tenants and
substrates: every pod is in exactly one quota, every worker node has its patch and its
pool's limit, names never collide, and every object validates."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from export_k8s_cases import export_input, of_kind
from factories import make_scenario
from hybrid_cases import KINDS, random_substrate, random_tenants
from properties import examples
from underlay.export.karpenter import karpenter
from underlay.export.kubernetes import kubernetes, kubernetes_target
from underlay.export.placed import placed_clusters
from underlay.export.validate_core import validate_core

pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is in the dev extra")


@st.composite
def plans(draw: st.DrawFn) -> dict[str, Any]:
    tenants = random_tenants(draw, max_replicas=30, max_cpu=8000)
    # tenant names that slug alike, and isolation classes the default rules name
    for t in tenants:
        t["name"] = draw(st.sampled_from(["Team A", "team-a", "TEAM_A", t["name"]]))
        t["isolation"] = draw(st.sampled_from(["internal", "regulated", "untrusted"]))
    names = [t["name"] for t in tenants]
    if len(set(names)) < len(names):
        for i, t in enumerate(tenants):
            t["name"] = f"{t['name']} {i}" if names.count(t["name"]) > 1 else t["name"]
    return {"substrates": [random_substrate(draw, KINDS)], "tenants": tenants}


@settings(max_examples=examples(25))
@given(plans())
def test_every_pod_is_quoted_once_and_every_node_is_labelled(plan: dict[str, Any]) -> None:
    sc = make_scenario(**plan)
    label = sc.substrate_labels[0]
    inp = export_input(sc, label)
    out = kubernetes(inp)
    quotas = of_kind(out, "ResourceQuota")
    replicas = sum(w.replicas for t in sc.tenants for c in t.clusters for w in c.workloads)
    assert sum(int(q.body["spec"]["hard"]["pods"]) for q in quotas) == replicas
    workers = int((inp.placement.nodes.role == 0).sum())
    assert len(of_kind(out, "Node")) == workers == len({m.name for m in of_kind(out, "Node")})
    spaces = Counter((m.file.split("/")[0], m.name) for m in of_kind(out, "Namespace"))
    assert max(spaces.values()) == 1
    versions = {c.name: c.version for c in placed_clusters(inp)}
    assert [p for m in out if (p := validate_core(m, versions[m.file.split("/")[0]]))] == []
    pools = of_kind(karpenter(inp), "NodePool")
    cpu = sum(int(p.body["spec"]["limits"]["cpu"]) for p in pools)
    assert cpu * 1000 == int(inp.placement.nodes.size_cpu[inp.placement.nodes.role == 0].sum())


def _tolerated(taints: list[dict[str, str]], tolerations: list[dict[str, str]]) -> bool:
    return all(
        any(t["key"] == o["key"] and t["value"] == o["value"] for o in tolerations) for t in taints
    )


@settings(max_examples=examples(25))
@given(plans())
def test_merged_every_namespace_can_run_on_its_nodes_and_only_there(plan: dict[str, Any]) -> None:
    """Merged into one cluster: every namespace selects nodes, tolerates every taint on
    them (its own, or its RuntimeClass's), and a node tainted for a tenant is selected by
    that tenant's namespaces alone."""
    sc = make_scenario(**plan)
    out = kubernetes_target(into="prod")(export_input(sc, sc.substrate_labels[0]))
    nodes = [n.body for n in of_kind(out, "Node")]
    classes = {
        m.name: m.body["scheduling"].get("tolerations", []) for m in of_kind(out, "RuntimeClass")
    }
    for ns in of_kind(out, "Namespace"):
        meta = ns.body["metadata"]
        key, _, value = meta["annotations"][
            "scheduler.alpha.kubernetes.io/node-selector"
        ].partition("=")
        tolerations = json.loads(
            meta["annotations"].get("scheduler.alpha.kubernetes.io/defaultTolerations", "[]")
        )
        tolerations += classes.get(meta["labels"].get("underlay.io/runtime", ""), [])
        selected = [n for n in nodes if n["metadata"]["labels"].get(key) == value]
        assert selected, ns.name
        for n in selected:
            taints = n.get("spec", {}).get("taints", [])
            assert _tolerated(taints, tolerations), (ns.name, n["metadata"]["name"])
            for t in taints:
                if t["key"] == "underlay.io/tenant":
                    assert t["value"] == meta["labels"]["underlay.io/tenant"]
