"""Minimal reproductions of bugs the property tests found (fixed; kept as regressions).

``test_placement_properties.py`` runs each of them as an ``@example`` of its invariants too
(it had steered around them with ``assume()`` while they were open).
"""

from __future__ import annotations

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.placement.result import WORKER


def test_vgpu_without_a_gpu_host_does_not_crash() -> None:
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model("cpu"),
                make_host_model("gpu", gpus={"model": "a100", "count": 1}),
            ],
            "inventory": [{"model": "cpu", "count": 4}],
        },
        substrates=[{"kind": "vm", "gpu_mode": "vgpu"}],
        tenants=[
            make_tenant(
                workloads=[make_workload(replicas=1, cpu="1", gpu={"count": 1, "fraction": 0.25})]
            )
        ],
    )
    p = place(sc, "vm")
    (unplaced,) = p.unplaced
    assert unplaced.pods == 1


def test_no_unplaced_rows_of_zero_pods() -> None:
    sc = make_scenario(
        hardware={"host_models": [make_host_model(gpus={"model": "a100", "count": 1})]},
        substrates=[{"kind": "vm", "shapes": [{"name": "s", "vcpus": 4, "memory": "16Gi"}]}],
        tenants=[make_tenant(workloads=[make_workload(replicas=0, cpu="1", gpu={"count": 1})])],
    )
    p = place(sc, "vm")
    assert [u.pods for u in p.unplaced if u.pods == 0] == []


def test_unhosted_control_plane_vms_are_reported() -> None:
    sc = make_scenario(
        substrates=[{"kind": "vm"}],
        hardware={"inventory": [{"model": "std", "count": 1}]},
        tenants=[make_tenant(workloads=[make_workload(replicas=2, cpu="1")])],
    )
    p = place(sc, "vm")
    control_plane = p.nodes.role != WORKER
    assert (p.nodes.host[control_plane] < 0).sum() == 2  # two of the three have no host
    assert any("control plane" in note for note in p.notes)


def test_gpu_model_restricted_vms_under_gpu_fragmentation_do_not_crash() -> None:
    # Issue 9 (14): the VM-onto-host placer built the GPU kernel's model table from the
    # hosts opened so far, so a VM restricted to a model no host had yet (A100, opened
    # after the L4 host) indexed past it (IndexError).
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model("cpu"),
                make_host_model("l4", gpus={"model": "L4", "count": 4}),
                make_host_model("a100", gpus={"model": "A100", "count": 8}),
            ]
        },
        substrates=[{"kind": "vm"}],
        placement={"strategy": "gpu-fragmentation"},
        tenants=[
            make_tenant(
                workloads=[
                    make_workload("a", replicas=4, cpu="4", gpu={"count": 1, "models": ["A100"]}),
                    make_workload(
                        "b",
                        replicas=4,
                        cpu="4",
                        gpu={"count": 1, "fraction": 0.5, "models": ["L4"]},
                    ),
                ]
            )
        ],
    )
    p = place(sc, "vm")
    assert int(p.placed.sum()) == 8 and not p.unplaced
    models = [sc.hardware.host_models[m].name for m in p.hosts.model]
    for w, wanted in ((0, "a100"), (1, "l4")):  # each VM landed on a host of its model
        hosts = p.nodes.host[p.pod_nodes[w]]
        assert {models[h] for h in hosts} == {wanted}


def test_a_workload_no_vm_shape_holds_leaves_its_group_placed() -> None:
    # Found by the GPU reference oracle: a vm substrate chooses one VM shape for a cluster's
    # GPU workloads of the same models; a 9-GPU pod on 8-GPU hosts has no shape, and the
    # whole group was reported "no VM shape fits this pod". Only that workload is.
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model("cpu"),
                make_host_model("gpu", gpus={"model": "A100", "count": 8}),
            ]
        },
        substrates=[{"kind": "vm"}],
        tenants=[
            make_tenant(
                workloads=[
                    make_workload("train", replicas=2, cpu="8", gpu={"count": 2}),
                    make_workload("huge", replicas=1, cpu="8", gpu={"count": 9}),
                ]
            )
        ],
    )
    p = place(sc, "vm")
    (unplaced,) = p.unplaced
    assert unplaced.pods == 1 and "no VM shape fits this pod" in unplaced.reason.describe()
    assert int(p.placed.sum()) == 2


def test_gpu_vms_land_on_the_models_their_pods_may_use() -> None:
    # Review of issue 9: a pod's GPU models are narrowed by its GPU memory (30 GiB: not an
    # L4's 24 GiB, so an A100-80GB) and by MIG (only MIG-capable models), but the VMs
    # carrying such pods went onto hosts by the models the workload named (none here),
    # so onto L4 hosts, the first GPU model: a GPU without the memory, or without MIG.
    sc = make_scenario(
        hardware={
            "host_models": [
                make_host_model("l4", gpus={"model": "L4", "count": 8}),
                make_host_model("a100", gpus={"model": "A100-80GB", "count": 8}),
            ]
        },
        substrates=[
            {"kind": "vm", "name": "passthrough"},
            {"kind": "vm", "name": "vgpu", "gpu_mode": "vgpu"},
            {"kind": "vm", "name": "mig", "gpu_mode": "vgpu", "gpu_sharing": "mig"},
        ],
        tenants=[
            make_tenant(
                workloads=[
                    make_workload(
                        replicas=4, cpu="2", gpu={"count": 1, "fraction": 0.5, "memory": "30Gi"}
                    )
                ]
            )
        ],
    )
    for label in ("passthrough", "vgpu", "mig"):
        p = place(sc, label)
        assert int(p.placed[0]) == 4, label
        models = [sc.hardware.host_models[m].name for m in p.hosts.model]
        hosts = p.nodes.host[p.pod_nodes[0]]
        assert {models[h] for h in hosts} == {"a100"}, label
