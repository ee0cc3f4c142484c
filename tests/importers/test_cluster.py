"""`underlay import cluster`: the real `kubernetes` client against a local HTTPS API server.

The server (tests/kube_api_server.py) serves the kubectl fixtures (tests/fixtures/kubectl)
and the real v1.8 dump (../shared/data/kubectl) as paginated lists, with the owners of
tests/fixtures/cluster/owners.json, and misbehaves on request: expired continue tokens,
a 403, slow answers, a 5xx, HTML pages, truncated JSON.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kube_api_server import TOKEN, ApiState, make_certificate, serve, write_kubeconfig
from properties import examples
from underlay.cli import app
from underlay.errors import InputError, TraceError
from underlay.importers.cluster import READS, VERSION_PATHS, Limits, import_cluster
from underlay.importers.cluster.reads import cluster_role_yaml
from underlay.importers.kubectl import import_kubectl
from underlay.model import load_scenario

TESTS = Path(__file__).resolve().parents[1]
KUBECTL = TESTS / "fixtures" / "kubectl"
OWNERS = json.loads((TESTS / "fixtures" / "cluster" / "owners.json").read_text())
SONOBUOY = TESTS.parents[1] / "shared" / "data" / "kubectl" / "sonobuoy-2017-aws"
README = TESTS.parent / "README.md"

PATHS = {r.resource: r.path for r in READS}
FAST = Limits(page_size=4, read_timeout=0.5, attempts=3, backoff_seconds=0.01)

runner = CliRunner()


def items(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text())["items"])


def fixture_state(
    nodes: Path = KUBECTL / "nodes.json", pods: Path = KUBECTL / "pods.json"
) -> ApiState:
    state = ApiState()
    state.lists[PATHS["nodes"]] = items(nodes)
    state.lists[PATHS["pods"]] = items(pods)
    for resource in ("replicasets", "jobs", "namespaces", "poddisruptionbudgets", "runtimeclasses"):
        state.lists[PATHS[resource]] = copy.deepcopy(OWNERS[resource])
    return state


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl CLI is needed to make the test server's certificate")
    return make_certificate(tmp_path_factory.mktemp("cert"))


class _Loaded:
    """A scenario read back from a file, shaped like the import's result."""

    def __init__(self, scenario: Any) -> None:
        self.scenario = scenario


class Cluster:
    """A running server, its state and a kubeconfig pointing at it."""

    def __init__(self, state: ApiState, url: str, kubeconfig: Path) -> None:
        self.state, self.url, self.kubeconfig = state, url, kubeconfig

    def run(self, *contexts: str, limits: Limits = FAST, **kw: Any) -> Any:
        return import_cluster(self.kubeconfig, contexts, limits=limits, **kw)

    def cli(self, *args: str) -> Any:
        return runner.invoke(
            app, ["import", "cluster", "--kubeconfig", str(self.kubeconfig), *args]
        )


@pytest.fixture
def cluster(tmp_path: Path, certificate: tuple[Path, Path]) -> Iterator[Cluster]:
    state = fixture_state()
    with serve(state, *certificate) as url:
        kubeconfig = tmp_path / "kubeconfig"
        write_kubeconfig(kubeconfig, url, certificate[0], ("a", "b"))
        yield Cluster(state, url, kubeconfig)


def assert_same_scenario(live: Any, files: Any) -> None:
    """The live import equals import kubectl's; only the description says where each
    came from."""
    assert live.scenario.description.startswith("Imported from a live cluster")
    assert files.scenario.description.startswith("Imported from kubectl")
    blank = {"description": ""}
    assert live.scenario.model_copy(update=blank) == files.scenario.model_copy(update=blank)


def workloads(result: Any) -> dict[str, set[str]]:
    return {
        t.name: {w.name for c in t.clusters for w in c.workloads} for t in result.scenario.tenants
    }


# ------------------------------------------------------------------ same scenario as kubectl


def test_same_scenario_as_import_kubectl_of_the_same_objects(cluster: Cluster) -> None:
    # Without owners to trace, the live import must equal `import kubectl` of the files.
    for resource in ("replicasets", "jobs"):
        cluster.state.lists[PATHS[resource]] = []
    live = cluster.run(name="same")
    files = import_kubectl(KUBECTL / "nodes.json", KUBECTL / "pods.json", name="same")
    assert_same_scenario(live, files)
    # the labels of the pod templates come through the live path too (less the hash)
    by_name = {w.name: w for t in live.scenario.tenants for c in t.clusters for w in c.workloads}
    assert by_name["web"].labels == {"app": "web", "team": "storefront"}
    # 16 pods in pages of 4: 4 requests, the first 3 with a continue token to follow
    pod_requests = [q for _, p, q in cluster.state.requests if p == PATHS["pods"]]
    assert len(pod_requests) == 4
    assert all(q["limit"] == "4" for q in pod_requests)


@pytest.mark.skipif(not SONOBUOY.is_dir(), reason="../shared/data/kubectl is not present")
def test_real_v1_8_dump_through_the_api(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    state = fixture_state(SONOBUOY / "nodes.json", SONOBUOY / "pods.json")
    # the server of that dump: its kubelets' version (the dump has no /version)
    kubelets = {n["status"]["nodeInfo"]["kubeletVersion"] for n in state.lists[PATHS["nodes"]]}
    (served,) = kubelets
    state.version = {"major": "1", "minor": served.split(".")[1], "gitVersion": served}
    for resource in ("replicasets", "jobs"):
        state.lists[PATHS[resource]] = []
    with serve(state, *certificate) as url:
        write_kubeconfig(tmp_path / "kc", url, certificate[0])
        live = import_cluster(tmp_path / "kc", limits=Limits(page_size=3), name="sono")
    files = import_kubectl(SONOBUOY / "nodes.json", SONOBUOY / "pods.json", name="sono")
    assert_same_scenario(live, files)


def test_owners_traced_to_deployment_and_cronjob(cluster: Cluster) -> None:
    result = cluster.run()
    found = workloads(result)
    # ReplicaSet web-7d4b9c8f5d belongs to Deployment "storefront" (not "web", which the
    # name alone would give); Job report-28391040 to CronJob "nightly-report" (not "report").
    assert "storefront" in found["shop"] and "web" not in found["shop"]
    assert found["analytics"] == {"nightly-report"}
    # 3 web pods + 1 inference pod + 1 coredns pod (ReplicaSets) + 1 report pod (Job)
    assert "6 pods traced through their ReplicaSet or Job" in result.text
    assert "PodDisruptionBudgets: shop/web-pdb" in result.text
    assert "RuntimeClasses: gvisor (handler runsc)" in result.text
    assert "context a): Kubernetes v1.29.4" in result.text


# ------------------------------------------------------------------ read-only, minimal role


def test_requests_are_exactly_the_role(cluster: Cluster) -> None:
    cluster.run()
    methods = {m for m, _, _ in cluster.state.requests}
    paths = {p for _, p, _ in cluster.state.requests}
    assert methods == {"GET"}
    version = paths & set(VERSION_PATHS)
    assert len(version) == 1
    assert paths - version == {r.path for r in READS}
    # and the role allows these and nothing more: list on each resource of its group
    role = yaml.safe_load(cluster_role_yaml())
    allowed = {
        (group, resource)
        for rule in role["rules"]
        if "resources" in rule
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert allowed == {(r.group, r.resource) for r in READS}
    assert {v for rule in role["rules"] for v in rule["verbs"]} == {"list", "get"}
    assert [r for r in role["rules"] if "nonResourceURLs" in r] == [
        {"nonResourceURLs": list(VERSION_PATHS), "verbs": ["get"]}
    ]


def test_readme_role_is_the_code_role() -> None:
    text = README.read_text()
    section = text[text.index("## Your own cluster") :]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None
    assert block.group(1) == cluster_role_yaml()
    printed = runner.invoke(app, ["import", "cluster", "--print-role"])
    assert printed.exit_code == 0 and printed.stdout == cluster_role_yaml()


# ------------------------------------------------------------------ API server semantics


def test_expired_continue_restarts_the_list(cluster: Cluster) -> None:
    baseline = cluster.run(name="x").scenario
    cluster.state.requests.clear()
    cluster.state.expire_once.add(PATHS["pods"])
    assert cluster.run(name="x").scenario == baseline
    pods = [q for _, p, q in cluster.state.requests if p == PATHS["pods"]]
    # page 1, page 2 -> 410, then a fresh list: 4 pages
    assert ["continue" in q for q in pods] == [False, True, False, True, True, True]


def test_a_list_that_always_expires_is_one_message(cluster: Cluster) -> None:
    cluster.state.expire_always.add(PATHS["pods"])
    with pytest.raises(InputError, match=r"/api/v1/pods: the list expired \(410\) 4 times"):
        cluster.run()


def test_forbidden_kind_is_a_warning(cluster: Cluster) -> None:
    cluster.state.forbidden.add(PATHS["replicasets"])
    result = cluster.run()
    assert 'cannot list resource "replicasets"' in result.text
    assert "imported without them: ReplicaSets grouped by name" in result.text
    # without the ReplicaSet the Deployment is guessed from the name: web-7d4b9c8f5d -> web
    assert "web" in workloads(result)["shop"]


def test_a_kind_an_older_cluster_does_not_serve_is_a_warning(cluster: Cluster) -> None:
    # RuntimeClasses are node.k8s.io/v1 from Kubernetes 1.20, PodDisruptionBudgets
    # policy/v1 from 1.21: an older API server answers 404 for the list
    del cluster.state.lists[PATHS["runtimeclasses"]]
    del cluster.state.lists[PATHS["poddisruptionbudgets"]]
    result = cluster.run()
    assert result.text.count("not served by this cluster (404)") == 2
    assert {t.name for t in result.scenario.tenants} == {
        t.name for t in cluster.run().scenario.tenants
    }


def test_unserved_pods_is_an_error(cluster: Cluster, tmp_path: Path) -> None:
    del cluster.state.lists[PATHS["pods"]]
    out = tmp_path / "s.yaml"
    result = cluster.cli("-o", str(out))
    assert result.exit_code == 2 and "not served by this cluster (404)" in result.stderr
    assert "Traceback" not in result.output and not out.exists()


def test_forbidden_version_is_a_warning(cluster: Cluster) -> None:
    cluster.state.forbidden.update(VERSION_PATHS)
    result = cluster.run()
    assert "Kubernetes version unknown" in result.text
    assert (
        "forbidden (403)" in result.text and "the nodes' kubelet versions are used" in result.text
    )
    # the tenants' version still comes from the kubelets (v1.29.4-eks-036c24b -> 1.29)
    assert {str(t.kubernetes_version) for t in result.scenario.tenants} == {"1.29"}


def test_forbidden_pods_is_an_error(cluster: Cluster, tmp_path: Path) -> None:
    cluster.state.forbidden.add(PATHS["pods"])
    out = tmp_path / "s.yaml"
    result = cluster.cli("-o", str(out))
    assert result.exit_code == 2
    assert "forbidden (403)" in result.stderr and "ClusterRole" in result.stderr
    assert "Traceback" not in result.output and not out.exists()


def test_slow_answer_times_out_and_is_retried(cluster: Cluster) -> None:
    baseline = cluster.run(name="x").scenario
    cluster.state.requests.clear()
    cluster.state.slow[PATHS["nodes"]] = 1.5  # read timeout 0.5 s
    cluster.state.fail_once[PATHS["jobs"]] = 503
    assert cluster.run(name="x").scenario == baseline
    paths = [p for _, p, _ in cluster.state.requests]
    # nodes: 1 page of 2 nodes, asked twice; jobs: 1 page, asked twice
    assert paths.count(PATHS["nodes"]) == 2 and paths.count(PATHS["jobs"]) == 2


def test_unreachable_cluster_is_one_message(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    with serve(ApiState(), *certificate) as url:
        pass  # the port is closed again
    write_kubeconfig(tmp_path / "kc", url, certificate[0])
    with pytest.raises(InputError, match=r"GET /version/?: no answer after 3 tries \(last: "):
        import_cluster(tmp_path / "kc", limits=FAST)


def test_label_selector(cluster: Cluster) -> None:
    result = cluster.run(selector="team=storefront")
    # the pods labelled team=storefront: web x3, db x2 and the finished migrate-db, all in shop
    assert workloads(result) == {"shop": {"storefront", "db"}}
    queries = [q for _, p, q in cluster.state.requests if p == PATHS["pods"]]
    assert all(q["labelSelector"] == "team=storefront" for q in queries)


def test_large_pages_come_gzipped(cluster: Cluster) -> None:
    pods = cluster.state.lists[PATHS["pods"]]
    assert isinstance(pods, list)
    web = next(p for p in pods if p["metadata"]["name"].startswith("web-"))
    copies = []
    for index in range(400):
        pod = copy.deepcopy(web)
        pod["metadata"]["name"] = f"web-7d4b9c8f5d-{index:05d}"
        copies.append(pod)
    pods.extend(copies)
    result = cluster.run(limits=Limits(page_size=500))
    assert cluster.state.gzipped == 1  # the one page of 416 pods is over 128 KiB
    # the 3 web pods and the 400 copies: one Deployment of 403 replicas
    storefront = next(
        w
        for t in result.scenario.tenants
        for c in t.clusters
        for w in c.workloads
        if w.name == "storefront"
    )
    assert storefront.replicas == 403


def test_progress_reports_pods_read_of_total(cluster: Cluster) -> None:
    seen: list[tuple[int, int]] = []
    stages: list[str] = []
    cluster.run(progress=lambda done, total: seen.append((done, total)), stage=stages.append)
    # 16 pods in pages of 4; the server says how many remain after each page
    assert seen == [(4, 16), (8, 16), (12, 16), (16, 16)]
    assert stages == ["reading cluster a-cluster (context a)", "building the scenario"]


# ------------------------------------------------------------------ several clusters


def test_several_contexts_make_one_scenario(cluster: Cluster) -> None:
    one = workloads(cluster.run("a"))
    both = workloads(cluster.run("a", "b"))
    # each context is a cluster of the scenario, its tenants <context>/<tenant>
    assert both == {f"{c}/{t}": w for c in ("a", "b") for t, w in one.items()}
    result = cluster.run("a", "b")
    assert {c.name for t in result.scenario.tenants for c in t.clusters} == {"a", "b"}
    with pytest.raises(InputError, match="each context may be given once"):
        cluster.run("a", "a")


def test_the_header_names_the_live_cluster_not_kubectl(cluster: Cluster) -> None:
    text = cluster.run("a").text
    assert "Imported by `underlay import cluster`" in text
    assert "import kubectl" not in text
    assert yaml.safe_load(text)["description"].startswith("Imported from a live cluster:")


def test_tenants_by_namespace_label(cluster: Cluster, tmp_path: Path) -> None:
    # owners.json labels shop team=storefront, analytics team=data, ml team=ml
    by_namespace = workloads(cluster.run("a"))
    out = tmp_path / "teams.yaml"
    result = cluster.cli("--context", "a", "--tenant-label", "team", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    by_team = workloads(_Loaded(load_scenario(out)))
    assert by_team["storefront"] == by_namespace["shop"]
    assert by_team["data"] == by_namespace["analytics"]
    assert "shop" not in by_team and "analytics" not in by_team


def test_output_never_replaces_the_kubeconfig(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = cluster.kubeconfig.read_text()
    result = cluster.cli("-o", str(cluster.kubeconfig))
    assert result.exit_code == 2 and "kubeconfig" in result.stderr
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    result = runner.invoke(app, ["import", "cluster", "-o", str(cluster.kubeconfig)])
    assert result.exit_code == 2 and "kubeconfig" in result.stderr
    assert cluster.kubeconfig.read_text() == before


def test_unknown_context_and_missing_kubeconfig(cluster: Cluster, tmp_path: Path) -> None:
    result = cluster.cli("--context", "nope")
    assert result.exit_code == 2 and "no context 'nope' (contexts: a, b)" in result.stderr
    result = runner.invoke(app, ["import", "cluster", "--kubeconfig", str(tmp_path / "none")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    for text in ("apiVersion: v1\nclusters: [\n", "apiVersion: v1\nkind: Config\n", "[1, 2]\n"):
        broken = tmp_path / "broken"
        broken.write_text(text)
        result = runner.invoke(app, ["import", "cluster", "--kubeconfig", str(broken)])
        assert result.exit_code == 2, (text, result.output)
        assert result.stderr.startswith(f"Error: --kubeconfig {broken}: ")
        assert len(result.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ secrets


def test_no_credential_or_secret_in_any_output(cluster: Cluster, tmp_path: Path) -> None:
    secret = "hunter2-db-password"
    pods = cluster.state.lists[PATHS["pods"]]
    assert isinstance(pods, list)
    pods[0]["spec"]["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": secret}]
    pods[0]["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"password": secret})
    }
    cluster.state.forbidden.add(PATHS["jobs"])  # a warning in the header too
    out = tmp_path / "s.yaml"
    result = cluster.cli("--context", "a", "-o", str(out))
    assert result.exit_code == 0, result.output
    ca = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    ca_data = ca["certificate-authority-data"]
    pem_body = base64.b64decode(ca_data).decode().splitlines()[1]
    for text in (out.read_text(), result.stdout, result.stderr):
        for leak in (TOKEN, secret, ca_data[:40], pem_body):
            assert leak not in text
    # stdout mode as well
    result = cluster.cli("--context", "a")
    assert result.exit_code == 0 and TOKEN not in result.output and secret not in result.output


# ------------------------------------------------------------------ bad answers

BAD_ANSWERS = {
    "html": (200, "text/html", b"<html><body>502 Bad Gateway</body></html>", "HTML page"),
    "truncated": (200, "application/json", b'{"kind": "NodeList", "items": [{"meta', "truncated"),
    "empty": (200, "application/json", b"", "empty answer"),
    "items-not-list": (200, "application/json", b'{"items": {"a": 1}}', "a NodeList"),
    "item-not-object": (200, "application/json", b'{"items": ["node-a"]}', "items[0]"),
    "bad-capacity": (
        200,
        "application/json",
        json.dumps(
            {"items": [{"metadata": {"name": "n"}, "status": {"capacity": {"cpu": [4]}}}]}
        ).encode(),
        "cpu",
    ),
    "teapot": (418, "text/plain", b"I'm a teapot", "HTTP 418"),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answer_is_one_message_exit_2(cluster: Cluster, tmp_path: Path, case: str) -> None:
    code, content_type, body, expected = BAD_ANSWERS[case]
    cluster.state.raw[PATHS["nodes"]] = (code, content_type, body)
    out = tmp_path / "s.yaml"
    result = cluster.cli("-o", str(out))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.output and not out.exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
POD_SHAPED = st.fixed_dictionaries(
    {
        "metadata": JSON
        | st.fixed_dictionaries({"name": st.text(max_size=5), "ownerReferences": JSON}),
        "spec": JSON | st.fixed_dictionaries({"containers": JSON, "initContainers": JSON}),
        "status": JSON,
    }
)


@settings(max_examples=examples(30), deadline=None, suppress_health_check=list(HealthCheck))
@given(pods=st.lists(POD_SHAPED | JSON, max_size=3))
def test_arbitrary_pods_never_crash(cluster_factory: Any, pods: list[Any]) -> None:
    cluster = cluster_factory
    cluster.state.raw[PATHS["pods"]] = (
        200,
        "application/json",
        json.dumps({"items": pods}).encode(),
    )
    with contextlib.suppress(TraceError, InputError):
        cluster.run(limits=Limits(attempts=1))


@pytest.fixture(scope="module")
def cluster_factory(
    tmp_path_factory: pytest.TempPathFactory, certificate: tuple[Path, Path]
) -> Iterator[Cluster]:
    state = fixture_state()
    tmp = tmp_path_factory.mktemp("fuzz")
    with serve(state, *certificate) as url:
        write_kubeconfig(tmp / "kc", url, certificate[0])
        yield Cluster(state, url, tmp / "kc")


def test_imported_scenario_goes_through_compare(cluster: Cluster, tmp_path: Path) -> None:
    out = tmp_path / "mine.yaml"
    assert cluster.cli("-o", str(out)).exit_code == 0
    result = runner.invoke(app, ["compare", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["scenario"] == "mine"  # the --output file's stem
    assert report["substrates"] and all(s["hosts"]["total"] >= 1 for s in report["substrates"])


def test_read_keeps_what_a_tenant_rule_needs(cluster: Cluster) -> None:
    from underlay.importers.cluster.fetch import Connection
    from underlay.importers.cluster.read import read_cluster

    spaces = cluster.state.lists[PATHS["namespaces"]]
    assert isinstance(spaces, list)
    spaces[0]["metadata"]["annotations"] = {
        "owner": "storefront-team",
        "kubectl.kubernetes.io/last-applied-configuration": '{"secret": "x"}',
    }
    spaces[0]["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    read = read_cluster(Connection(cluster.kubeconfig, "a", FAST), selector=None, progress=None)
    assert read.namespaces[0] == {
        "metadata": {
            "name": "shop",
            "labels": {"team": "storefront"},
            "annotations": {"owner": "storefront-team"},
        }
    }
    assert len(read.namespaces) == len(OWNERS["namespaces"])
    assert read.budgets == [
        {"metadata": {"name": "web-pdb", "namespace": "shop"}, "spec": {"minAvailable": 2}}
    ]
    assert read.version == "v1.29.4" and read.source == "cluster a-cluster (context a)"


@settings(max_examples=examples(8), deadline=None, suppress_health_check=list(HealthCheck))
@given(page=st.integers(1, 20), expire=st.booleans())
def test_any_page_size_reads_every_pod(cluster_factory: Any, page: int, expire: bool) -> None:
    cluster = cluster_factory
    cluster.state.raw.clear()
    cluster.state.expire_once.clear()
    for resource in ("replicasets", "jobs"):
        cluster.state.lists[PATHS[resource]] = []
    cluster.state.requests.clear()
    if expire:
        cluster.state.expire_once.add(PATHS["pods"])
    live = cluster.run(limits=Limits(page_size=page, attempts=1), name="p")
    files = import_kubectl(KUBECTL / "nodes.json", KUBECTL / "pods.json", name="p")
    assert_same_scenario(live, files)
    pages = -(-16 // page)  # 16 pods: ceil(16 / page) pages
    asked = sum(1 for _, p, _ in cluster.state.requests if p == PATHS["pods"])
    # an expired token costs the pages read before it (one with a token) and a fresh start
    assert asked == (pages + 2 if expire and pages > 1 else pages)
