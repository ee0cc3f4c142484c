"""A hybrid part taking GPU workloads: one tenant split between bare metal and VMs.

Host models: ``std`` = 64 cores, 256 GiB, no GPU; ``a100`` = 128 cores, 1 TiB, 8 A100-80GB.
GKE reservations and the five default DaemonSets (400m, 832 MiB), as in ``test_hybrid``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.model.scenario import Scenario
from underlay.placement.result import WORKER
from underlay.placement.substrates.hybrid import part_scenarios

STD = make_host_model("std")
A100 = make_host_model("a100", cores=128, memory="1Ti", gpus={"model": "A100-80GB", "count": 8})
TRAIN = make_workload(
    "train",
    replicas=4,
    cpu="8",
    memory="32Gi",
    gpu={"count": 8, "models": ["A100-80GB"]},
    **{"class": "gpu-training"},
)
API = make_workload("api", replicas=400, cpu="1", memory="1Gi")
VMS = {"kind": "vm", "sizing": "requests", "shapes": [{"name": "m", "vcpus": 16, "memory": "32Gi"}]}


def _parts(**metal: Any) -> dict[str, Any]:
    return {
        "kind": "hybrid",
        "name": "mixed",
        "parts": [
            {"name": "metal", "substrate": {"kind": "baremetal-dedicated"}, **metal},
            {"name": "vms", "substrate": VMS, "tenants": ["ml"]},
        ],
    }


def _split(workloads: list[dict[str, Any]] | None = None) -> Scenario:
    """Tenant ml: its GPU workload (train) to the bare-metal part, the rest (api) in VMs."""
    return make_scenario(
        hardware={"host_models": [STD, A100], "topology": {"racks": 4}},
        substrates=[_parts(gpu_workloads=True)],
        tenants=[make_tenant("ml", control_plane="dedicated", workloads=workloads or [TRAIN, API])],
    )


def test_one_tenant_split_by_gpu_hosts_by_hand() -> None:
    # Part "metal" (train only): each pod asks for 8 whole A100s, all of an a100 host's
    # GPUs, so 4 pods → 4 a100 hosts; its cluster's dedicated control plane, with no
    # control_plane_model, takes 3 whole std hosts: 7 hosts.
    # Part "vms" (api only): a 16-vCPU VM holds 16000 - 110 reserved - 400 DaemonSets =
    # 15490m → 15 one-core pods, ceil(400 / 15) = 27 worker VMs; a KVM std host offers
    # (64000 - 2000) × 0.98 = 60760m → 3 VMs, 27 / 3 = 9 hosts; the 3 control-plane VMs
    # (4 vCPUs each) fit beside them (48 + 4 ≤ 60.76 cores): 9 hosts. Fleet: 7 + 9 = 16.
    p = place(_split(), "mixed")
    assert [(q.name, q.kind, q.tenants, q.workloads) for q in p.parts] == [
        ("metal", "baremetal-dedicated", (0,), (0,)),
        ("vms", "vm", (0,), (1,)),
    ]
    assert [q.hosts for q in p.parts] == [(0, 7), (7, 16)]
    models = np.array(p.hosts.model)
    roles = np.array(p.hosts.role)
    a100, std = 1, 0
    assert int((models[:7] == a100).sum()) == 4
    assert int(((models[:7] == std) & (roles[:7] != WORKER)).sum()) == 3
    assert (models[7:] == std).all() and int((roles[7:] == WORKER).sum()) == 9
    assert p.placed.tolist() == [4, 400] and not p.unplaced
    train_nodes, api_nodes = p.pod_nodes
    assert not p.nodes.is_vm[train_nodes].any()
    assert (p.nodes.host[train_nodes] < 7).all()
    assert p.nodes.is_vm[api_nodes].all()
    assert (p.nodes.host[api_nodes] >= 7).all()
    # both halves are the one cluster 0 of the scenario, each with its own control plane
    assert set(p.nodes.cluster.tolist()) == {0}
    assert [(c.cluster, c.replicas) for c in p.control_planes] == [(0, 3), (0, 3)]
    vm_workers = p.nodes.is_vm & (p.nodes.role == WORKER)
    assert int(vm_workers.sum()) == 27


def test_without_a_gpu_part_the_tenant_stays_whole() -> None:
    # The same file without gpu_workloads: ml (named in "vms") runs there, train included.
    sc = make_scenario(
        hardware={"host_models": [STD, A100]},
        substrates=[_parts()],
        tenants=[make_tenant("ml", workloads=[TRAIN, API])],
    )
    cuts = part_scenarios(sc, sc.substrates[0])  # type: ignore[arg-type]
    assert [c.workloads for c in cuts] == [[], [0, 1]]
    assert [q.name for q in place(sc, "mixed").parts] == ["vms"]


def test_a_tenant_with_only_gpu_workloads_needs_no_part_of_its_own() -> None:
    # "trainer" is named in no part and its class in none, but all its workloads go to
    # the GPU part, so it lands somewhere; the cut keeps only what goes to each part.
    sc = make_scenario(
        hardware={"host_models": [STD, A100]},
        substrates=[_parts(gpu_workloads=True)],
        tenants=[
            make_tenant("ml", workloads=[API]),
            make_tenant("trainer", workloads=[TRAIN], isolation="regulated"),
        ],
    )
    cuts = part_scenarios(sc, sc.substrates[0])  # type: ignore[arg-type]
    assert [(c.tenants, c.workloads) for c in cuts] == [([1], [1]), ([0], [0])]
    assert [t.name for t in cuts[0].scenario.tenants] == ["trainer"]


def test_a_cpu_workload_of_an_unassigned_tenant_is_refused() -> None:
    with pytest.raises(ValueError, match=r"tenant 'trainer' .* is in no part"):
        make_scenario(
            hardware={"host_models": [STD, A100]},
            substrates=[_parts(gpu_workloads=True)],
            tenants=[
                make_tenant("ml", workloads=[API]),
                make_tenant("trainer", workloads=[TRAIN, API], isolation="regulated"),
            ],
        )


def test_two_gpu_parts_are_refused() -> None:
    hybrid = _parts(gpu_workloads=True)
    hybrid["parts"][1]["gpu_workloads"] = True
    with pytest.raises(ValueError, match=r"parts\.1\.gpu_workloads.*'metal' takes the GPU"):
        make_scenario(
            hardware={"host_models": [STD, A100]},
            substrates=[hybrid],
            tenants=[make_tenant("ml", workloads=[TRAIN, API])],
        )
