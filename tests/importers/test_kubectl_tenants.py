"""Tenants from namespaces, the platform's namespaces and static pods, pod CIDRs for
more than 128 pods, disruption budgets, several clusters, and the public builder API.

tests/fixtures/kubectl/layouts/openshift/ is an OpenShift-like cluster written for
these tests: a master and two workers with 250 pods each and a /23 podCIDR, Kubernetes
1.27; static pods in openshift-etcd, openshift-kube-apiserver and (outside the
platform) infra-lb; a DNS DaemonSet; router and Prometheus add-ons; tenant pods in
shop-dev (web x2), shop-prod (web x3) and payments-prod (api x2); Namespace objects
labelled team=shop / team=payments.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from typer.testing import CliRunner

from underlay.cli import app
from underlay.errors import InputError
from underlay.importers.kubectl import ClusterObjects, build_clusters_scenario
from underlay.importers.kubectl.api import TenantRules, build_scenario
from underlay.importers.kubectl.budgets import _parse_budget
from underlay.importers.kubectl.cursor import _At
from underlay.model.loading import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubectl"
OPENSHIFT = FIXTURES / "layouts" / "openshift"
runner = CliRunner()


def openshift(*extra: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    out = tmp_path / "os.yaml"
    args = ["import", "kubectl", "--nodes", str(OPENSHIFT / "nodes.json")]
    args += ["--pods", str(OPENSHIFT / "pods.yaml"), "-o", str(out), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    load_scenario(out)  # the file always loads
    text = out.read_text()
    return yaml.safe_load(text), text


def workloads(data: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    return {
        t["name"]: [(w["name"], w["replicas"]) for w in t["workloads"]] for t in data["tenants"]
    }


def test_openshift_platform_is_not_tenants_and_250_pods_fit(tmp_path: Path) -> None:
    data, text = openshift(tmp_path=tmp_path)
    # 9 namespaces, 6 of them the platform's (openshift-*) or only a static pod (infra-lb):
    # the tenants are the three application namespaces
    assert workloads(data) == {
        "payments-prod": [("api", 2)],
        "shop-dev": [("web", 2)],
        "shop-prod": [("web", 3)],
    }
    # 250 pods a node need 2 x 250 = 500 addresses: a /23 (512), as the podCIDR says
    assert {json.dumps(t["max_pods"]) for t in data["tenants"]} == {
        json.dumps({"per_node": 250, "pod_cidr_prefix": 23})
    }
    assert {t["kubernetes_version"] for t in data["tenants"]} == {"1.27"}  # v1.27.6+f67aeb3
    assert data["tenants"][0]["system_pods"] == [
        {"name": "dns-default", "cpu": "60m", "memory": "110Mi"}
    ]
    # the static pods, wherever they run, and the add-ons are listed, not imported
    assert "# Skipped 3 control-plane pods" in text
    assert (
        "#   infra-lb/pod keepalived-worker-0: 1 pod requesting cpu 100m, memory 200Mi each" in text
    )
    assert "# Skipped 2 cluster add-on pods of platform namespaces" in text
    assert "#   openshift-monitoring/StatefulSet prometheus-k8s" in text


@pytest.mark.parametrize(
    "options",
    [
        ["--tenant-label", "team", "--namespaces", str(OPENSHIFT / "namespaces.json")],
        ["--tenant-pattern", "(.+)-(dev|prod)"],
    ],
    ids=["label", "pattern"],
)
def test_namespaces_grouped_into_teams(tmp_path: Path, options: list[str]) -> None:
    data, text = openshift(*options, tmp_path=tmp_path)
    # shop-dev and shop-prod are one tenant; its two Deployments called web get the
    # second one's namespace as a prefix
    assert workloads(data) == {"payments": [("api", 2)], "shop": [("web", 2), ("shop-prod-web", 3)]}
    assert "namespaces shop-dev, shop-prod" in text


def test_annotation_and_unassigned(tmp_path: Path) -> None:
    spaces = json.loads((OPENSHIFT / "namespaces.json").read_text())
    for item in spaces["items"]:
        labels = item["metadata"].pop("labels")
        if item["metadata"]["name"] != "shop-dev":
            item["metadata"]["annotations"] = {"example.com/owner": labels.get("team", "")}
    path = tmp_path / "ns.json"
    path.write_text(json.dumps(spaces))
    data, text = openshift(
        "--tenant-annotation", "example.com/owner", "--namespaces", str(path), tmp_path=tmp_path
    )
    # shop-dev has no annotation: tenant "unassigned", named in its comment
    assert workloads(data) == {
        "payments": [("api", 2)],
        "shop": [("web", 3)],
        "unassigned": [("web", 2)],
    }
    assert "does not place: shop-dev" in text


def test_more_platform_namespaces(tmp_path: Path) -> None:
    data, text = openshift("--platform-namespace", "payments-*", tmp_path=tmp_path)
    assert set(workloads(data)) == {"shop-dev", "shop-prod"}
    assert "#   payments-prod/StatefulSet api: 2 pods requesting cpu 1, memory 1Gi each" in text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--tenant-label", "team"],
            "--tenant-label: the namespaces' labels and annotations are needed",
        ),
        (
            ["--tenant-label", "team", "--tenant-pattern", "(.*)"],
            "--tenant-label and --tenant-pattern: give one way",
        ),
        (["--tenant-pattern", "("], "--tenant-pattern: '(' is not a regular expression"),
        (
            ["--tenant-pattern", ".*-prod"],
            "has no group: put the part that names the tenant in parentheses",
        ),
        (["--tenant-from", "label:team", "--tenant-label", "x"], "give one way to find tenants"),
        (["--cluster", "eu"], "--cluster: expected NAME=NODES[,PODS[,NAMESPACES]], got 'eu'"),
    ],
)
def test_bad_tenant_options(tmp_path: Path, options: list[str], message: str) -> None:
    out = tmp_path / "os.yaml"
    args = ["import", "kubectl", "--nodes", str(OPENSHIFT / "nodes.json")]
    result = runner.invoke(
        app, [*args, "--pods", str(OPENSHIFT / "pods.yaml"), "-o", str(out), *options]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("Error:") == 1
    assert message in result.stderr, result.stderr
    assert not out.exists()


# ------------------------------------------------------------ max pods and pod CIDR


def make_node(name: str, pods: int, cidr: str | None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "metadata": {"name": name},
        "status": {"capacity": {"cpu": "64", "memory": "256Gi", "pods": str(pods)}},
    }
    if cidr:
        node["spec"] = {"podCIDR": cidr}
    return node


POD = {
    "metadata": {"name": "app-1", "namespace": "team-a"},
    "spec": {"containers": [{"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]},
}


@given(
    pods=st.integers(min_value=1, max_value=2500),
    prefix=st.one_of(st.none(), st.integers(min_value=8, max_value=32)),
)
@example(pods=250, prefix=None)
@example(pods=250, prefix=24)
@example(pods=129, prefix=None)
@example(pods=2000, prefix=None)
@example(pods=2001, prefix=16)
def test_any_max_pods_and_cidr_import(pods: int, prefix: int | None) -> None:
    cidr = f"10.128.0.0/{prefix}" if prefix is not None else None
    result = build_scenario([make_node("n1", pods, cidr)], [POD])  # never an internal error
    cluster = result.scenario.tenants[0].clusters[0]
    policy = cluster.max_pods
    # the model's rule: max pods at most half the per-node CIDR
    assert policy.per_node <= 2 ** (32 - policy.pod_cidr_prefix) // 2
    if pods > 2000:  # beyond the model's range: the default is kept
        assert policy.per_node == 110
    elif prefix is None:
        assert policy.per_node == pods  # no CIDR given: one wide enough is chosen
    if prefix is not None and 16 <= prefix <= 28 and pods <= 2000:
        assert policy.pod_cidr_prefix == prefix  # the nodes' podCIDR is followed


def test_pod_cidr_too_small_for_the_pods_is_noted() -> None:
    # 250 pods on a /24: half of 256 addresses is 128
    result = build_scenario([make_node("n1", 250, "10.0.0.0/24")], [POD])
    assert result.scenario.tenants[0].clusters[0].max_pods.per_node == 128
    assert "the nodes allow 250 pods but their /24 pod CIDR holds 128" in result.text


# ------------------------------------------------------------------ disruption budgets


def budget(spec: dict[str, Any]) -> Any:
    item = {"metadata": {"name": "b", "namespace": "ns"}, "spec": spec}
    return _parse_budget(_At(item, "", "pdb.json"))


@pytest.mark.parametrize(
    ("spec", "replicas", "expected"),
    [
        ({"minAvailable": 2}, 5, {"min_available": 2}),
        ({"maxUnavailable": 1}, 5, {"max_unavailable": 1}),
        ({"maxUnavailable": "25%"}, 5, {"max_unavailable": 2}),  # 1.25 rounded up
        ({"minAvailable": "50%"}, 3, {"min_available": 2}),  # 1.5 rounded up
        ({"minAvailable": "100%"}, 4, {"min_available": 4}),
        ({"maxUnavailable": "0%"}, 4, {"max_unavailable": 0}),
    ],
)
def test_budget_percentages_round_up(
    spec: dict[str, Any], replicas: int, expected: dict[str, int]
) -> None:
    found = budget({**spec, "selector": {}})
    assert found.for_replicas(replicas)[0] == expected


def test_budget_selectors() -> None:
    selector = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "canary", "operator": "DoesNotExist"},
        ],
    }
    found = budget({"minAvailable": 1, "selector": selector})
    assert found.selects({"app": "web", "tier": "edge"})
    assert not found.selects({"app": "web", "tier": "back"})
    assert not found.selects({"app": "web", "tier": "edge", "canary": "1"})
    assert not found.selects({"tier": "edge"})
    assert budget({"minAvailable": 1, "selector": {}}).selects({"any": "thing"})  # {}: all
    assert not budget({"minAvailable": 1}).selects({"any": "thing"})  # no selector: none


# ------------------------------------------------------------------ several clusters


def test_several_clusters_on_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "fleet.yaml"
    eu = f"eu={FIXTURES / 'nodes.json'},{FIXTURES / 'pods.json'}"
    ocp = (
        f"ocp={OPENSHIFT / 'nodes.json'},{OPENSHIFT / 'pods.yaml'},{OPENSHIFT / 'namespaces.json'}"
    )
    both = ["import", "kubectl", "--cluster", eu, "--cluster", ocp, "-o", str(out)]
    # a namespace label needs every cluster's Namespace objects: eu has none
    result = runner.invoke(app, [*both, "--tenant-label", "team"])
    assert result.exit_code == 2
    assert "--tenant-label: cluster eu: the namespaces' labels" in result.stderr
    result = runner.invoke(app, [*both, "--tenant-pattern", "(.+)-(dev|prod)"])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(out)
    tenants = {
        t.name: (t.kubernetes_version, [c.name for c in t.clusters]) for t in scenario.tenants
    }
    # eu's namespaces (shop, analytics, ml) do not match: unassigned; ocp's are
    # shop-dev, shop-prod → shop and payments-prod → payments; each keeps its version
    assert tenants == {
        "eu/unassigned": ("1.29", ["eu"]),
        "ocp/payments": ("1.27", ["ocp"]),
        "ocp/shop": ("1.27", ["ocp"]),
    }
    # the hardware of both clusters: 2 EKS nodes and 3 OpenShift nodes, 4 shapes
    counts = {i.model: i.count for i in scenario.hardware.inventory}
    assert sum(counts.values()) == 2 + 3 and len(counts) == 4
    # each cluster keeps its own pod limit: 58 on EKS, 250 with a /23 on OpenShift
    limits = {t.name: t.clusters[0].max_pods.per_node for t in scenario.tenants}
    assert limits == {"eu/unassigned": 58, "ocp/payments": 250, "ocp/shop": 250}


def test_several_clusters_api() -> None:
    eks_nodes = json.loads((FIXTURES / "nodes.json").read_text())["items"]
    eks_pods = json.loads((FIXTURES / "pods.json").read_text())["items"]
    ocp_nodes = json.loads((OPENSHIFT / "nodes.json").read_text())["items"]
    ocp_pods = list(yaml.safe_load_all((OPENSHIFT / "pods.yaml").read_text()))
    result = build_clusters_scenario(
        [
            ClusterObjects("eu", eks_nodes, eks_pods, server_version="v1.30.2"),
            ClusterObjects("ocp", ocp_nodes, ocp_pods),
        ],
        name="fleet",
    )
    versions = {t.name: t.kubernetes_version for t in result.scenario.tenants}
    assert versions["eu/shop"] == "1.30"  # the server's version beats the kubelets'
    assert versions["ocp/shop-dev"] == "1.27"
    with pytest.raises(InputError, match="the cluster name 'eu' is given twice"):
        build_clusters_scenario(
            [ClusterObjects("eu", eks_nodes, eks_pods), ClusterObjects("eu", eks_nodes, eks_pods)]
        )


def test_public_api_with_pdbs_and_namespaces() -> None:
    nodes = json.loads((OPENSHIFT / "nodes.json").read_text())["items"]
    pods = list(yaml.safe_load_all((OPENSHIFT / "pods.yaml").read_text()))
    namespaces = json.loads((OPENSHIFT / "namespaces.json").read_text())["items"]
    pdbs = [
        {
            "metadata": {"name": "api", "namespace": "payments-prod"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "api"}}},
        }
    ]
    result = build_scenario(nodes, pods, pdbs, namespaces, TenantRules(label="team"), name="ocp")
    payments = next(t for t in result.scenario.tenants if t.name == "payments")
    api = payments.clusters[0].workloads[0]
    assert api.disruption_budget is not None and api.disruption_budget.max_unavailable == 1
    # the objects are not changed by the import
    assert pods == list(yaml.safe_load_all((OPENSHIFT / "pods.yaml").read_text()))


def test_static_pod_owned_by_a_node_in_a_tenant_namespace() -> None:
    nodes = json.loads((OPENSHIFT / "nodes.json").read_text())["items"]
    static = copy.deepcopy(POD)
    static["metadata"] = {
        "name": "lb-worker-0",
        "namespace": "team-a",
        "ownerReferences": [{"kind": "Node", "name": "worker-0", "controller": True}],
    }
    result = build_scenario(nodes, [POD, static])
    assert [w.name for w in result.scenario.tenants[0].clusters[0].workloads] == ["app-1"]
    assert "team-a/pod lb-worker-0" in result.text


def test_default_max_pods_and_cidr_are_not_written() -> None:
    # 110 pods on a /24 are the model's defaults: no max_pods in the file
    result = build_scenario([make_node("n1", 110, "10.0.0.0/24")], [POD])
    assert "max_pods" not in yaml.safe_load(result.text)["tenants"][0]


def test_cluster_option_excludes_single_cluster_options(tmp_path: Path) -> None:
    eu = f"eu={FIXTURES / 'nodes.json'},{FIXTURES / 'pods.json'}"
    args = [
        "import",
        "kubectl",
        "--cluster",
        eu,
        "--namespaces",
        str(OPENSHIFT / "namespaces.json"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert (
        "--cluster and --nodes/--pods/--namespaces/--pdbs: give one cluster or several"
        in result.stderr
    )
