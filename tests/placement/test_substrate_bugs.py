"""Minimal reproductions of bugs the property tests found (fixed; kept as regressions).

``test_placement_properties.py`` steers around each of these (see its ``_known_crash``
and the comments naming these tests); remove that when the bug is fixed.
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
