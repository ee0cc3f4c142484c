"""NVIDIA MIG resources in kubectl dumps (importers/kubectl/mig.py): a node's MIG
instances count as its physical GPUs, a pod's instances as its share of one GPU.

Figures from the rule written out: an A100 or H100 has 7 compute slices; a pod asking
for ``nvidia.com/mig-<g>g.<m>gb: n`` asks n·g/7 of a GPU and n·m GB of its memory."""

from __future__ import annotations

import math
from typing import Any

import pytest

from underlay.importers.kubectl.api import build_scenario
from underlay.importers.kubectl.mig import node_gpus, pod_share, product_model


def node(name: str, capacity: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "status": {
            "capacity": {"cpu": "64", "memory": "512Gi", "pods": "110", **capacity},
            "nodeInfo": {"kubeletVersion": "v1.30.2"},
        },
    }


def pod(name: str, owner: tuple[str, str], limits: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ml",
            "ownerReferences": [{"kind": owner[0], "name": owner[1], "controller": True}],
        },
        "spec": {
            "nodeName": "gpu-a",
            "containers": [
                {
                    "name": "main",
                    "resources": {"requests": {"cpu": "4", "memory": "16Gi"}, "limits": limits},
                }
            ],
        },
        "status": {"phase": "Running"},
    }


MIXED = {"nvidia.com/mig-1g.10gb": 7, "nvidia.com/mig-3g.40gb": "2"}
PRODUCT = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}


def test_node_gpus_by_each_rule() -> None:
    # the label counts the physical GPUs when there is one
    assert node_gpus(MIXED, {**PRODUCT, "nvidia.com/gpu.count": "2"}, 0) == 2
    # else the instances' slices: 7 x 1g + 2 x 3g = 13 slices -> ceil(13 / 7) = 2 GPUs
    assert node_gpus(MIXED, PRODUCT, 0) == math.ceil((7 * 1 + 2 * 3) / 7)
    # ... plus the GPUs left whole
    assert node_gpus(MIXED, PRODUCT, 1) == 1 + 2
    # single strategy: 14 instances of 1g.5gb, 7 // 1 = 7 to a GPU -> 2 GPUs
    single = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb"}
    assert node_gpus({"nvidia.com/gpu": 14}, single, 14) == 2
    # 3g.20gb: 7 // 3 = 2 to a GPU; 4 instances -> 2 GPUs
    single3 = {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB-MIG-3g.20gb"}
    assert node_gpus({"nvidia.com/gpu": 4}, single3, 4) == 2
    # no MIG at all: the whole GPUs as counted
    assert node_gpus({"nvidia.com/gpu": 8}, PRODUCT, 8) == 8
    assert product_model("NVIDIA-A100-SXM4-40GB-MIG-1g.5gb") == "NVIDIA-A100-SXM4-40GB"


def test_pod_share_adds_slices_and_memory() -> None:
    spec = pod("p", ("Job", "j"), {"nvidia.com/mig-1g.10gb": "2", "nvidia.com/mig-3g.40gb": 1})[
        "spec"
    ]
    share = pod_share(spec)
    assert share is not None
    assert share.slices == 2 * 1 + 1 * 3
    assert share.fraction == pytest.approx((2 * 1 + 1 * 3) / 7)
    assert share.memory_mib == (2 * 10 + 1 * 40) * 1024
    # more than a GPU's 7 slices is capped at one GPU
    big = pod_share(pod("b", ("Job", "j"), {"nvidia.com/mig-7g.80gb": 2})["spec"])
    assert big is not None and big.fraction == 1.0
    assert pod_share(pod("c", ("Job", "j"), {"cpu": "1"})["spec"]) is None


def test_mig_dump_imports_as_gpu_shares() -> None:
    nodes = [node("gpu-a", MIXED, {**PRODUCT, "nvidia.com/gpu.count": "2"})]
    pods = [
        pod("infer-1", ("ReplicaSet", "infer-5d8f7c9b4"), {"nvidia.com/mig-1g.10gb": 1}),
        pod("infer-2", ("ReplicaSet", "infer-5d8f7c9b4"), {"nvidia.com/mig-1g.10gb": 1}),
        pod("train-x", ("Job", "train"), {"nvidia.com/mig-3g.40gb": 1}),
    ]
    for p in pods:
        p["metadata"]["labels"] = {"pod-template-hash": "5d8f7c9b4"}
    result = build_scenario(nodes, pods, name="mig")
    (model,) = result.scenario.hardware.host_models
    assert model.gpus is not None and model.gpus.count == 2
    workloads = {
        w.name: w for t in result.scenario.tenants for c in t.clusters for w in c.workloads
    }
    infer, train = workloads["infer"], workloads["train"]
    assert infer.gpu is not None and infer.gpu.count == 1
    assert infer.gpu.fraction == pytest.approx(round(1 / 7, 4))
    assert infer.gpu.memory_mib == 10 * 1024
    assert train.gpu is not None and train.gpu.fraction == pytest.approx(round(3 / 7, 4))
    assert train.gpu.memory_mib == 40 * 1024
    assert "MIG: 3 of a GPU's 7 compute slices" in result.text
