"""Workload labels from `underlay import kubectl`: the pod template's labels (the pairs
every pod of the workload carries, less those a controller adds), at most 16 by key.

The fixtures (tests/fixtures/kubectl) are described in test_kubectl.py; the expected
labels of each of their workloads are in its WEB, DB, ... dicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from underlay.importers.kubectl import import_kubectl, import_kubectl_documents
from underlay.model.scenario import Hybrid, Scenario
from underlay.placement.substrates.hybrid import part_scenarios

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubectl"
NODE = {
    "kind": "Node",
    "metadata": {"name": "n1"},
    "status": {
        "capacity": {"cpu": "4", "memory": "16Gi"},
        "nodeInfo": {"kubeletVersion": "v1.30.2"},
    },
}


def _pod(name: str, labels: dict[str, str], owner: tuple[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "apps", "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True}]
    spec = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}
    return {"kind": "Pod", "metadata": meta, "spec": spec, "status": {"phase": "Running"}}


def _labels(*pods: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    result = import_kubectl_documents(NODE, {"kind": "List", "items": list(pods)})
    workloads = result.scenario.tenants[0].clusters[0].workloads
    return [w.labels for w in workloads], result.text


def test_a_rollout_keeps_the_pairs_every_pod_carries() -> None:
    # Two pods of Deployment api mid-rollout: version differs, so it is no template label
    # of the workload; pod-template-hash is the controller's.
    rs = ("ReplicaSet", "api-6d8f7c9b5")
    common = {"app": "api", "team": "a", "pod-template-hash": "6d8f7c9b5"}
    (labels,), _ = _labels(
        _pod("api-1", {**common, "version": "v1"}, rs),
        _pod("api-2", {**common, "version": "v2"}, rs),
    )
    assert labels == {"app": "api", "team": "a"}


def test_controller_labels_are_left_out() -> None:
    sts = ("StatefulSet", "db")
    made = {"controller-revision-hash": "db-5f7c", "app": "db"}
    (labels,), _ = _labels(
        _pod("db-0", {**made, "statefulset.kubernetes.io/pod-name": "db-0"}, sts),
        _pod("db-1", {**made, "apps.kubernetes.io/pod-index": "1"}, sts),
    )
    assert labels == {"app": "db"}
    job = ("Job", "once")
    by_job = {"job-name": "once", "batch.kubernetes.io/job-name": "once", "controller-uid": "u"}
    (labels,), _ = _labels(_pod("once-x", {**by_job, "kind": "batch"}, job))
    assert labels == {"kind": "batch"}


def test_a_bare_pod_keeps_its_own_labels() -> None:
    (labels,), text = _labels(_pod("debug", {"app.kubernetes.io/name": "shell", "tier": ""}))
    assert labels == {"app.kubernetes.io/name": "shell", "tier": ""}
    assert "labels: {app.kubernetes.io/name: shell, tier: ''}" in text


def test_at_most_16_labels_by_key() -> None:
    # 20 labels k00 .. k19: k00 .. k15 are kept, 20 - 16 = 4 are not, and a comment says so
    (labels,), text = _labels(_pod("p", {f"k{i:02}": "v" for i in range(19, -1, -1)}))
    assert list(labels) == [f"k{i:02}" for i in range(16)]
    assert "# 4 more labels not kept (at most 16, by key)" in text


def test_labels_kubernetes_would_refuse_are_left_out() -> None:
    # a hand-made dump: the API server would refuse these, the scenario loader too
    bad = {"bad key": "x", "ok": "y", "v": "has space", "Upper.Case/k": "z", "k": "x" * 64}
    (labels,), _ = _labels(_pod("p", bad))
    assert labels == {"ok": "y"}


def test_imported_labels_select_a_hybrid_part(tmp_path: Path) -> None:
    # The fixtures imported, then a hybrid added by hand: team: ml's workloads (inference,
    # train-resnet) to bare metal, everything else (tenants analytics, ml, shop; all of
    # class internal) in VMs. The ml tenant is split across the two parts by its labels.
    imported = import_kubectl(FIXTURES / "nodes.json", FIXTURES / "pods.json", name="lab")
    data = yaml.safe_load(imported.text)
    data["substrates"] = [
        {
            "kind": "hybrid",
            "parts": [
                {
                    "name": "ml",
                    "substrate": {"kind": "baremetal-dedicated"},
                    "labels": {"team": "ml"},
                },
                {"name": "rest", "substrate": {"kind": "vm"}, "isolation": ["internal"]},
            ],
        }
    ]
    scenario = Scenario.model_validate(data)
    hybrid = scenario.substrates[0]
    assert isinstance(hybrid, Hybrid)
    cuts = part_scenarios(scenario, hybrid)
    names = [
        [w.name for t in c.scenario.tenants for k in t.clusters for w in k.workloads] for c in cuts
    ]
    assert names == [["inference", "train-resnet"], ["report", "db", "debug-shell", "web"]]


def test_labels_yaml_would_read_as_other_types_stay_text() -> None:
    # Kubernetes label values are text; YAML would read these bare as a bool, a number,
    # null or a date, so the importer must quote them (it re-reads its own file to check).
    odd = {"on": "yes", "true": "false", "n": "1", "x": "0x1F", "nil": "null", "d": "2026-01-01"}
    (labels,), _ = _labels(_pod("p", odd))
    assert labels == odd
