"""Hybrid parts selecting workloads by label: one tenant split between bare metal and VMs.

Host models: ``std`` = 64 cores, 256 GiB, no GPU; ``a100`` = 128 cores, 1 TiB, 8 A100-80GB.
GKE reservations and the five default DaemonSets (400m, 832 MiB), as in ``test_hybrid``.
Where a workload goes, first rule that applies: workloads (named), gpu_workloads, labels
(first matching part in file order), tenants, isolation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.model.scenario import Hybrid, Scenario
from underlay.placement.result import WORKER
from underlay.placement.substrates.hybrid import part_scenarios

STD = make_host_model("std")
A100 = make_host_model("a100", cores=128, memory="1Ti", gpus={"model": "A100-80GB", "count": 8})
CACHE = make_workload(
    "cache", replicas=20, cpu="10", memory="8Gi", labels={"tier": "back", "app": "cache"}
)
API = make_workload("api", replicas=400, cpu="1", memory="1Gi", labels={"tier": "front"})
TRAIN = make_workload(
    "train",
    replicas=1,
    cpu="8",
    memory="32Gi",
    gpu={"count": 8, "models": ["A100-80GB"]},
    labels={"tier": "back"},
    **{"class": "gpu-training"},
)
VMS = {"kind": "vm", "sizing": "requests", "shapes": [{"name": "m", "vcpus": 16, "memory": "32Gi"}]}


def _scenario(parts: list[dict[str, Any]], workloads: list[dict[str, Any]]) -> Scenario:
    return make_scenario(
        hardware={"host_models": [STD, A100], "topology": {"racks": 4}},
        substrates=[{"kind": "hybrid", "name": "mixed", "parts": parts}],
        tenants=[make_tenant("shop", control_plane="dedicated", workloads=workloads)],
    )


def _split() -> Scenario:
    """Tenant shop is named in "vms"; its `tier: back` workload (cache) goes to "metal"."""
    return _scenario(
        [
            {
                "name": "metal",
                "substrate": {"kind": "baremetal-dedicated"},
                "labels": {"tier": "back"},
            },
            {"name": "vms", "substrate": VMS, "tenants": ["shop"]},
        ],
        [CACHE, API],
    )


def _cuts(sc: Scenario) -> list[list[int]]:
    hybrid = sc.substrates[0]
    assert isinstance(hybrid, Hybrid)
    return [c.workloads for c in part_scenarios(sc, hybrid)]


def test_one_tenant_split_by_label_hosts_by_hand() -> None:
    # Part "metal" (cache only, selected by tier: back): a bare-metal std node has 64000 -
    # 230 reserved - 400 DaemonSets = 63370m allocatable, so 6 pods of 10 cores (6 × 8 GiB
    # is far below memory): ceil(20 / 6) = 4 worker hosts, plus the cluster's dedicated
    # control plane on 3 whole std hosts (no control_plane_model) = 7 hosts.
    # Part "vms" (api, tier: front, its tenant named there): a 16-vCPU VM holds 16000 -
    # 110 reserved - 400 DaemonSets = 15490m → 15 one-core pods, ceil(400 / 15) = 27
    # worker VMs; a KVM std host offers (64000 - 2000) × 0.98 = 60760m → 3 VMs (48 vCPUs),
    # 27 / 3 = 9 hosts; the 3 control-plane VMs of 4 vCPUs fit beside them (48 + 4 ≤
    # 60.76 cores): 9 hosts. Fleet: 7 + 9 = 16 hosts, no a100 (nothing asks for a GPU).
    p = place(_split(), "mixed")
    assert [(q.name, q.kind, q.tenants, q.workloads) for q in p.parts] == [
        ("metal", "baremetal-dedicated", (0,), (0,)),
        ("vms", "vm", (0,), (1,)),
    ]
    assert [q.hosts for q in p.parts] == [(0, 7), (7, 16)]
    roles = np.array(p.hosts.role)
    assert int((roles[:7] == WORKER).sum()) == 4
    assert int((roles[7:] == WORKER).sum()) == 9
    assert (np.array(p.hosts.model) == 0).all()  # every host a std
    assert p.placed.tolist() == [20, 400] and not p.unplaced
    cache_nodes, api_nodes = p.pod_nodes
    assert not p.nodes.is_vm[cache_nodes].any()
    assert (p.nodes.host[cache_nodes] < 7).all()
    assert p.nodes.is_vm[api_nodes].all()
    assert (p.nodes.host[api_nodes] >= 7).all()
    assert int((p.nodes.is_vm & (p.nodes.role == WORKER)).sum()) == 27


def test_without_the_label_the_tenant_stays_whole() -> None:
    # The same parts, cache without `tier: back`: shop (named in "vms") runs there whole.
    cache = make_workload("cache", replicas=20, cpu="10", memory="8Gi", labels={"app": "cache"})
    parts = _split().substrates[0].model_dump(by_alias=True)["parts"]  # type: ignore[union-attr]
    assert _cuts(_scenario(parts, [cache, API])) == [[], [0, 1]]


@pytest.mark.parametrize(
    ("metal", "vms", "expected"),
    [
        # a selector needs every pair: {tier: back, app: cache} takes cache only
        ({"labels": {"tier": "back", "app": "cache"}}, {}, [[0], [1, 2]]),
        # {tier: back, app: db}: no workload carries app: db, the part is empty (no error)
        ({"labels": {"tier": "back", "app": "db"}}, {}, [[], [0, 1, 2]]),
        # labels come before tenants: shop is named in "vms", cache and train still go to
        # "metal" (train by label: without a gpu_workloads part a GPU workload is like any)
        ({"labels": {"tier": "back"}}, {}, [[0, 2], [1]]),
        # gpu_workloads comes before labels: train (GPUs, tier: back) goes to "vms"
        ({"labels": {"tier": "back"}}, {"gpu_workloads": True}, [[0], [1, 2]]),
        # a workload a part names comes before labels: cache, named in "vms", goes there
        ({"labels": {"tier": "back"}}, {"workloads": ["shop/shop/cache"]}, [[2], [0, 1]]),
        # two matching parts: the first in file order wins (cache and train: tier back)
        ({"labels": {"tier": "back"}}, {"labels": {"app": "cache"}}, [[0, 2], [1]]),
        ({"labels": {"app": "cache"}}, {"labels": {"tier": "back"}}, [[0], [1, 2]]),
    ],
)
def test_precedence(metal: dict[str, Any], vms: dict[str, Any], expected: list[list[int]]) -> None:
    parts = [
        {"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, **metal},
        {"name": "vms", "substrate": VMS, "tenants": ["shop"], **vms},
    ]
    assert _cuts(_scenario(parts, [CACHE, API, TRAIN])) == expected


def test_labels_before_isolation_and_a_tenant_in_no_part_otherwise() -> None:
    # shop (internal) is named nowhere and its class is in no part: cache and train go to
    # "metal" by label; api has no part, and the error names it.
    parts = [
        {"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, "labels": {"tier": "back"}},
        {"name": "vms", "substrate": VMS, "isolation": ["regulated"]},
    ]
    assert _cuts(_scenario(parts, [CACHE, TRAIN])) == [[0, 1], []]
    with pytest.raises(
        ValueError, match=r"workload 'api' of tenant 'shop' \(isolation 'internal'\) is in no part"
    ):
        _scenario(parts, [CACHE, API, TRAIN])
