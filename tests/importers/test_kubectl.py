"""`underlay import kubectl`: fixtures written for these tests, the real v1.8 dump, bad input.

The fixtures in tests/fixtures/kubectl/ are a two-node EKS-like cluster: node-a
(m5.2xlarge) and node-b (g4dn.2xlarge, one Tesla-T4), and 16 pods — a Deployment of 3
with an init container and pod overhead, a StatefulSet of 2 with a sidecar, a bare pod,
a BestEffort CronJob pod, a GPU Deployment and a pending GPU Job, two DaemonSets on
both nodes, a cluster add-on (coredns), one Succeeded and one Failed pod.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from properties import examples
from underlay.cli import app
from underlay.errors import InputError, TraceError
from underlay.importers.kubectl import import_kubectl, import_kubectl_documents
from underlay.model.loading import load_scenario

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubectl"
SONOBUOY = Path(__file__).resolve().parents[3] / "shared" / "data" / "kubectl" / "sonobuoy-2017-aws"

runner = CliRunner()


def run_import(*args: str) -> Any:
    return runner.invoke(app, ["import", "kubectl", *args])


def fixture_args(tmp_path: Path, *extra: str) -> tuple[list[str], Path]:
    out = tmp_path / "imported.yaml"
    args = ["--nodes", str(FIXTURES / "nodes.json"), "--pods", str(FIXTURES / "pods.json")]
    return [*args, "--output", str(out), *extra], out


# ------------------------------------------------------------------ the fixtures

SYSTEM_PODS = [
    # kube-proxy: 100m on both nodes, no memory request
    {"name": "kube-proxy", "cpu": "100m", "memory": "0Mi"},
    # node-exporter: 50Mi on node-a, 60Mi on node-b -> the larger is what a node pays
    {"name": "node-exporter", "cpu": "100m", "memory": "60Mi"},
]
CLUSTER = {
    "kubernetes_version": "1.29",  # kubelet v1.29.4-eks-036c24b
    "control_plane": "hosted",  # no node carries a control-plane role label
    "system_pods": SYSTEM_PODS,
    "max_pods": {"per_node": 58},  # status.capacity.pods of both nodes
}
WEB = {
    "name": "web",  # ReplicaSet web-7d4b9c8f5d minus its pod-template-hash
    "replicas": 3,
    # cpu:    max(app 200m + envoy 50m, init 500m) + overhead 250m = 750m
    # memory: max(256Mi + 64Mi, init 128Mi) + overhead 120Mi      = 440Mi
    "requests": {"cpu": "750m", "memory": "440Mi"},
    # cpu:    max(500m + 100m, init 500m) + overhead 250m = 850m
    # memory: max(256Mi + 64Mi, init 128Mi) + overhead 120Mi = 440Mi
    "limits": {"cpu": "850m", "memory": "440Mi"},
    "class": "cpu",
    "labels": {"app": "web", "team": "storefront"},  # less the controller's pod-template-hash
}
DB = {
    "name": "db",
    "replicas": 2,
    # sidecar log-shipper (100m, 64Mi) starts first, then init-data (1500m, 1Gi):
    # cpu:    max(postgres 1 + sidecar 100m, init 100m + 1500m) = 1600m
    # memory: max(2Gi + sidecar 64Mi, init 64Mi + 1Gi)          = 2112Mi
    "requests": {"cpu": "1600m", "memory": "2112Mi"},
    "limits": {"cpu": "1600m", "memory": "2112Mi"},  # every container has limits = requests
    "class": "cpu",
    "labels": {"app": "db", "team": "storefront"},
}
DEBUG_SHELL = {
    "name": "debug-shell",
    "replicas": 1,
    "requests": {"cpu": "100m", "memory": "128Mi"},
    "class": "cpu",
}
REPORT = {  # BestEffort; its labels less the controller's job-name
    "name": "report",
    "replicas": 1,
    "requests": {},
    "class": "cpu",
    "labels": {"team": "data"},
}
INFERENCE = {
    "name": "inference",  # ReplicaSet inference-5c9f8d7b6, no hash label: the suffix is one
    "replicas": 1,
    "requests": {"cpu": "2", "memory": "8Gi"},
    "limits": {"memory": "8Gi"},  # no CPU limit -> only memory is limited
    "gpu": {"count": 1},  # limits nvidia.com/gpu: 1, the request defaults to it
    "class": "gpu-inference",
    "labels": {"app": "inference", "team": "ml"},
}
TRAIN = {
    "name": "train-resnet",
    "replicas": 1,
    "requests": {"cpu": "4", "memory": "16Gi"},
    "gpu": {"count": 1},
    "class": "gpu-training",  # a Job with a GPU
    "labels": {"team": "ml"},  # less the controller's job-name
}
HARDWARE = {
    "host_models": [
        # 32086584Ki = 31334.55Mi, rounded down
        {"name": "m5.2xlarge", "cores": 8, "memory": "31334Mi"},
        # 32394676Ki = 31635.43Mi, rounded down
        {
            "name": "g4dn.2xlarge",
            "cores": 8,
            "memory": "31635Mi",
            "gpus": {"model": "Tesla-T4", "count": 1},
        },
    ],
    "inventory": [{"model": "m5.2xlarge", "count": 1}, {"model": "g4dn.2xlarge", "count": 1}],
    "topology": {"zones": 2},
}
DESCRIPTION = "Imported from kubectl: 2 nodes and 16 pods."


def test_fixture_by_namespace(tmp_path: Path) -> None:
    args, out = fixture_args(tmp_path, "--name", "small")
    result = run_import(*args)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert yaml.safe_load(text) == {
        "name": "small",
        "description": DESCRIPTION,
        "hardware": HARDWARE,
        "tenants": [
            {"name": "analytics", **CLUSTER, "workloads": [REPORT]},
            {"name": "ml", **CLUSTER, "workloads": [INFERENCE, TRAIN]},
            {"name": "shop", **CLUSTER, "workloads": [DB, DEBUG_SHELL, WEB]},
        ],
    }
    # The arithmetic, the guesses and what was left out are in comments.
    for line in (
        "      # cpu per pod = max(200m + 50m, init 500m) + overhead 250m = 750m",
        "      # memory per pod = max(256Mi + 64Mi, init 128Mi) + overhead 120Mi = 440Mi",
        "      # cpu per pod = max(1 + sidecar 100m, init 100m + 1500m) = 1600m",
        "        requests: {}  # BestEffort: no requests",
        "        class: gpu-training  # guess: review",
        "      # CronJob report (via Job report-28391040) in namespace analytics: 1 pod on 1 node",
        "# Skipped 2 finished pods (1 Failed, 1 Succeeded).",
        "#   kube-system/Deployment coredns: 1 pod requesting cpu 100m, memory 70Mi each",
        "# 9 pods became 6 workloads of 3 tenants (tenants from namespaces).",
        "# 4 DaemonSet pods became the clusters' system_pods.",
    ):
        assert line in text.splitlines(), line
    # The DaemonSets are written once and aliased by the other tenants.
    assert text.count("system_pods: *system_pods") == 2
    assert "Review its header" in result.output
    load_scenario(out)


def test_fixture_by_team_label(tmp_path: Path) -> None:
    args, out = fixture_args(tmp_path, "--tenant-from", "label:team")
    assert run_import(*args).exit_code == 0
    data = yaml.safe_load(out.read_text())
    assert data["name"] == "imported"  # the output file's stem
    tenants = {t["name"]: [w["name"] for w in t["workloads"]] for t in data["tenants"]}
    assert tenants == {
        "data": ["report"],
        "ml": ["inference", "train-resnet"],
        "storefront": ["db", "web"],
        "unlabelled": ["debug-shell"],  # the pod without a team label
    }
    assert "# tenant from pods without the label team" in out.read_text()


def test_stdout_when_no_output() -> None:
    result = run_import(
        "--nodes", str(FIXTURES / "nodes.json"), "--pods", str(FIXTURES / "pods.json")
    )
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["name"] == "kubectl-import"


# --------------------------------------------------------------- mapping rules


def make_node(
    name: str = "n1", cpu: Any = "4", memory: Any = "16Gi", **labels: str
) -> dict[str, Any]:
    return {
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {
            "capacity": {"cpu": cpu, "memory": memory},
            "nodeInfo": {"kubeletVersion": "v1.30.2"},
        },
    }


def container(name: str = "c", **resources: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "resources": resources}


def make_pod(
    name: str = "p",
    *,
    namespace: str = "apps",
    containers: list[dict[str, Any]] | None = None,
    init: list[dict[str, Any]] | None = None,
    overhead: dict[str, str] | None = None,
    owner: tuple[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    spec: dict[str, Any] = {
        "containers": containers if containers is not None else [container()],
        "nodeName": "n1",
    }
    if init is not None:
        spec["initContainers"] = init
    if overhead is not None:
        spec["overhead"] = overhead
    return {"kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Running"}}


def one_workload(pod: dict[str, Any]) -> Any:
    result = import_kubectl_documents(make_node(), pod)
    (workload,) = result.scenario.tenants[0].clusters[0].workloads
    return workload


@pytest.mark.parametrize(
    ("pod", "cpu_milli", "memory_mib"),
    [
        # one container: its request
        (make_pod(containers=[container(requests={"cpu": "100m", "memory": "1Gi"})]), 100, 1024),
        # app containers add up: 100m + 1.5 = 1600m; 1Gi + 512Mi = 1536Mi
        (
            make_pod(
                containers=[
                    container("a", requests={"cpu": "100m", "memory": "1Gi"}),
                    container("b", requests={"cpu": "1.5", "memory": "512Mi"}),
                ]
            ),
            1600,
            1536,
        ),
        # init containers run one at a time: max(app 100m, init max(2, 300m)) = 2000m;
        # memory max(1Gi, max(64Mi, 2Gi)) = 2Gi
        (
            make_pod(
                containers=[container(requests={"cpu": "100m", "memory": "1Gi"})],
                init=[
                    container("i1", requests={"cpu": "2", "memory": "64Mi"}),
                    container("i2", requests={"cpu": "300m", "memory": "2Gi"}),
                ],
            ),
            2000,
            2048,
        ),
        # a limit without a request requests the limit: 250m, 7807512Ki = 7624.5Mi -> 7625
        (
            make_pod(containers=[container(limits={"cpu": "250m", "memory": "7807512Ki"})]),
            250,
            7625,
        ),
        # sidecar (restartable init) runs beside the app: cpu 1 + 500m = 1500m;
        # the later init runs beside the sidecar: 500m + 800m = 1300m < 1500m
        (
            make_pod(
                containers=[container(requests={"cpu": "1"})],
                init=[
                    {**container("side", requests={"cpu": "500m"}), "restartPolicy": "Always"},
                    container("later", requests={"cpu": "800m"}),
                ],
            ),
            1500,
            0,
        ),
        # pod overhead adds to the total: 3.75Gi + 160Mi = 3840 + 160 = 4000Mi
        (
            make_pod(
                containers=[container(requests={"memory": "3.75Gi"})],
                overhead={"cpu": "250m", "memory": "160Mi"},
            ),
            250,
            4000,
        ),
    ],
)
def test_effective_requests(pod: dict[str, Any], cpu_milli: int, memory_mib: int) -> None:
    workload = one_workload(pod)
    assert (workload.requests.cpu_milli, workload.requests.memory_mib) == (cpu_milli, memory_mib)


@pytest.mark.parametrize(
    ("owner", "labels", "expected"),
    [
        (("ReplicaSet", "api-6d8f7c9b5"), {"pod-template-hash": "6d8f7c9b5"}, "api"),
        # v1.8: the label holds the raw hash, the name an encoded one
        (("ReplicaSet", "kube-dns-545bc4bfd4"), {"pod-template-hash": "1016706980"}, "kube-dns"),
        # pre-1.8 decimal hash
        (("ReplicaSet", "nginx-2371676037"), {}, "nginx"),
        # a ReplicaSet of its own (no hash suffix) keeps its name
        (("ReplicaSet", "my-replicas"), {}, "my-replicas"),
        (("StatefulSet", "kafka"), {}, "kafka"),
        (("Job", "backup-28391040"), {}, "backup"),  # CronJob's Job: <name>-<minutes>
        (("Job", "one-off"), {}, "one-off"),
        (("ReplicationController", "legacy"), {}, "legacy"),
        (None, {}, "p"),  # bare pod: its own name
    ],
)
def test_workload_names(
    owner: tuple[str, str] | None, labels: dict[str, str], expected: str
) -> None:
    assert one_workload(make_pod(owner=owner, labels=labels)).name == expected


def test_single_objects_and_versions() -> None:
    # One Node and one Pod instead of Lists; kubelet v1.30.2 -> "1.30"
    result = import_kubectl_documents(make_node(), make_pod(), name="single")
    assert result.scenario.name == "single"
    assert result.scenario.tenants[0].kubernetes_version == "1.30"
    assert result.scenario.hardware.host_models[0].name == "4cpu-16Gi"  # no instance type


def test_identical_nodes_form_one_host_model() -> None:
    nodes = {
        "kind": "List",
        "items": [
            make_node("a", memory="3853164Ki"),  # 3762.86Mi -> 3762Mi
            make_node("b", memory="3852980Ki"),  # 3762.68Mi -> 3762Mi
            make_node("g", cpu="8", memory="64Gi", **{"nvidia.com/gpu.product": "A100"}),
        ],
    }
    nodes["items"][2]["status"]["capacity"]["nvidia.com/gpu"] = "4"
    hardware = import_kubectl_documents(nodes, make_pod()).scenario.hardware
    assert [(m.name, m.cpu_milli, m.memory_mib, m.gpu_count) for m in hardware.host_models] == [
        ("4cpu-3762Mi", 4000, 3762, 0),
        ("8cpu-64Gi-4gpu", 8000, 65536, 4),
    ]
    assert hardware.host_models[1].gpus is not None
    assert hardware.host_models[1].gpus.model == "A100"
    assert [(e.model, e.count) for e in hardware.inventory or []] == [
        ("4cpu-3762Mi", 2),
        ("8cpu-64Gi-4gpu", 1),
    ]


def test_only_system_pods_is_an_error() -> None:
    pod = make_pod(namespace="kube-system")
    with pytest.raises(TraceError, match="no application pods"):
        import_kubectl_documents(make_node(), pod)


# ------------------------------------------------------------ the real v1.8 dump


@pytest.fixture
def sonobuoy() -> Path:
    if not (SONOBUOY / "nodes.json").is_file() or not (SONOBUOY / "pods.json").is_file():
        pytest.skip(f"the sonobuoy kubectl dump is absent (expected in {SONOBUOY})")
    return SONOBUOY


def test_sonobuoy_imports_and_compares(sonobuoy: Path, tmp_path: Path) -> None:
    out = tmp_path / "sonobuoy.yaml"
    result = run_import(
        "--nodes",
        str(sonobuoy / "nodes.json"),
        "--pods",
        str(sonobuoy / "pods.json"),
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    scenario = load_scenario(out)
    (model,) = scenario.hardware.host_models  # 3 x m3.medium; the master's memory differs by KiB
    assert (model.name, model.cpu_milli, model.memory_mib) == ("m3.medium", 1000, 3762)
    assert [(e.model, e.count) for e in scenario.hardware.inventory or []] == [("m3.medium", 3)]
    (tenant,) = scenario.tenants  # default/myapp-9 failed; the sonobuoy e2e job succeeded
    assert (tenant.name, tenant.kubernetes_version) == ("heptio-sonobuoy", "1.8")
    cluster = tenant.clusters[0]
    assert cluster.control_plane == "dedicated"  # the dump has a master node
    assert [p.name for p in cluster.system_pods or []] == [
        "calico-etcd",
        "calico-node",
        "kube-proxy",
        "sonobuoy-systemd-logs-daemonset-70d6e966fe59442c",
    ]
    assert [(w.name, w.replicas, w.qos_class) for w in cluster.workloads] == [
        ("sonobuoy", 1, "besteffort")
    ]
    text = out.read_text()
    assert "# Skipped 2 finished pods (1 Failed, 1 Succeeded)." in text
    assert (
        "#   kube-system/Deployment kube-dns: 1 pod requesting cpu 260m, memory 110Mi each" in text
    )
    assert "# Skipped 4 control-plane pods" in text

    compared = runner.invoke(app, ["compare", str(out)])
    assert compared.exit_code == 0, compared.output
    assert "heptio-sonobuoy" in compared.output


def test_sonobuoy_api(sonobuoy: Path) -> None:
    result = import_kubectl(sonobuoy / "nodes.json", sonobuoy / "pods.json", name="sono")
    assert result.scenario.name == "sono"
    assert result.summary.startswith("1 tenant, 1 workload of 1 pod, 4 DaemonSets")


# --------------------------------------------------------------------- bad input


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def one_pod_with(resources: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "List", "items": [make_pod(containers=[container(**resources)])]}


@pytest.mark.parametrize(
    ("nodes", "pods", "message"),
    [
        (None, "{not json", "pods.json, line 1, column 2: not JSON"),
        (
            None,
            "items:\n  - a\n",  # YAML is read too
            "pods.json: items[0]: expected an object, a List or an array of objects, got the string 'a'",
        ),
        (
            None,
            [1, 2],  # a bare array is a layout, of objects
            "pods.json: [0]: expected an object, a List or an array of objects, got the number 1",
        ),
        (
            None,
            {"kind": "Service", "metadata": {}},
            "pods.json: kind: expected a Pod, got 'Service' (is this the output of `kubectl get pods -A -o json`?)",
        ),
        (
            None,
            {"kind": "List", "items": [make_node()]},
            "pods.json: items[0].kind: expected a Pod, got 'Node'",
        ),
        (None, {"kind": "List", "items": []}, "pods.json: no pods in the file"),
        (
            None,
            one_pod_with({"requests": {"cpu": "2 cores"}}),
            "pods.json: items[0].spec.containers[0].resources.requests.cpu: '2 cores' is not a Kubernetes quantity",
        ),
        (
            None,
            one_pod_with({"requests": {"memory": "-1Gi"}}),
            "pods.json: items[0].spec.containers[0].resources.requests.memory: '-1Gi' must not be negative",
        ),
        (
            None,
            one_pod_with({"requests": {"memory": "64Ei"}}),
            "pods.json: items[0].spec.containers[0].resources.requests.memory: '64Ei' is more than 64Ti; is the unit right?",
        ),
        (
            None,
            one_pod_with({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}),
            "pods.json: items[0].spec.containers[0]: resources: requests.cpu 2 is above limits.cpu 1",
        ),
        (
            None,
            one_pod_with({"limits": {"nvidia.com/gpu": "0.5"}}),
            "items[0].spec.containers[0].resources.limits[\"nvidia.com/gpu\"]: '0.5': GPUs are counted in whole devices",
        ),
        (
            make_node(memory="512Mi"),
            None,
            "nodes.json: status.capacity.memory: 512Mi is less than the 1Gi a host model needs",
        ),
        (
            {"items": [{k: v for k, v in make_pod().items() if k != "kind"}]},  # as v1.8 writes
            None,
            "nodes.json: items[0]: status.capacity: missing; a node needs its cpu and memory capacity (this looks like a Pod",
        ),
    ],
)
def test_bad_input_exits_2_with_one_message(
    tmp_path: Path, nodes: Any, pods: Any, message: str
) -> None:
    nodes_path = write(tmp_path, "nodes.json", nodes if nodes is not None else make_node())
    pods_path = write(tmp_path, "pods.json", pods if pods is not None else make_pod())
    out = tmp_path / "out.yaml"
    result = run_import("--nodes", str(nodes_path), "--pods", str(pods_path), "-o", str(out))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.count("Error:") == 1
    assert result.output.startswith("Error: ")
    assert message in result.output, result.output
    assert not out.exists()
    assert set(tmp_path.iterdir()) == {nodes_path, pods_path}  # nothing else written


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--tenant-from", "team"],
            "--tenant-from: expected 'namespace' or 'label:KEY', got 'team'",
        ),
        (["--name", "no spaces please"], "--name: 'no spaces please' is not a valid scenario name"),
    ],
)
def test_bad_options(tmp_path: Path, extra: list[str], message: str) -> None:
    args, out = fixture_args(tmp_path, *extra)
    result = run_import(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()


def test_missing_file(tmp_path: Path) -> None:
    result = run_import(
        "--nodes", str(tmp_path / "nope.json"), "--pods", str(FIXTURES / "pods.json")
    )
    assert result.exit_code == 2
    assert f"Error: {tmp_path / 'nope.json'}: no such file" in result.output


# ------------------------------------------------------------ never crashes


KEYS = [
    "items", "kind", "metadata", "name", "namespace", "labels", "annotations", "ownerReferences",
    "controller", "spec", "status", "containers", "initContainers", "resources", "requests",
    "limits", "cpu", "memory", "nvidia.com/gpu", "overhead", "restartPolicy", "nodeName",
    "phase", "capacity", "allocatable", "nodeInfo", "kubeletVersion", "pods", "providerID",
]  # fmt: skip
LEAVES = [
    "List", "Pod", "Node", "PodList", "Succeeded", "Always", "ReplicaSet", "DaemonSet", "Job",
    "kube-system", "1", "100m", "3.75Gi", "7807512Ki", "-1", "1e999999", "0.5", "v1.8.4", "",
]  # fmt: skip
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.text(max_size=10)
    | st.sampled_from(LEAVES)
)
json_values = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


def import_or_input_error(nodes: Any, pods: Any) -> None:
    try:
        result = import_kubectl_documents(nodes, pods, tenant_label=None)
    except InputError:
        return
    assert yaml.safe_load(result.text)["tenants"]


FIXTURE_NODES = json.loads((FIXTURES / "nodes.json").read_text())
FIXTURE_PODS = json.loads((FIXTURES / "pods.json").read_text())


@settings(max_examples=examples(300), deadline=None)
@given(pods=json_values)
def test_arbitrary_pods_never_crash(pods: Any) -> None:
    import_or_input_error(FIXTURE_NODES, pods)


@settings(max_examples=examples(300), deadline=None)
@given(nodes=json_values)
def test_arbitrary_nodes_never_crash(nodes: Any) -> None:
    import_or_input_error(nodes, FIXTURE_PODS)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.sampled_from(["nodes", "pods"]), garbage=json_values)
def test_mutated_fixtures_never_crash(data: st.DataObject, which: str, garbage: Any) -> None:
    docs = {"nodes": copy.deepcopy(FIXTURE_NODES), "pods": copy.deepcopy(FIXTURE_PODS)}
    # Walk down from the root to some field and replace it with garbage.
    parent: Any = docs
    key: Any = which
    while isinstance(parent[key], dict | list) and parent[key] and data.draw(st.integers(0, 5)):
        parent = parent[key]
        key = data.draw(
            st.sampled_from(sorted(parent) if isinstance(parent, dict) else range(len(parent)))
        )
    parent[key] = garbage
    import_or_input_error(docs["nodes"], docs["pods"])
