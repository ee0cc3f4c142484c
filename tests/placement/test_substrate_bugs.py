"""Minimal reproductions of bugs the property tests found (xfail until fixed in src).

``test_placement_properties.py`` steers around each of these (see its ``_known_crash``
and the comments naming these tests); remove that when the bug is fixed.
"""

from __future__ import annotations

import pytest

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.placement.result import WORKER


@pytest.mark.xfail(
    reason=(
        "BUG: vm with gpu_mode vgpu and a fractional-GPU pod but no GPU host in stock: "
        "_candidate_shapes falls back to a GPU-less host, g = 0 → (0 VMs per host) → "
        "ZeroDivisionError"
    ),
    raises=ZeroDivisionError,
    strict=True,
)
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


@pytest.mark.xfail(
    reason=(
        "BUG: a workload with replicas: 0 that no VM shape suits is reported as an "
        "Unplaced row of 0 pods (vms() appends Unplaced(b.key, b.replicas, ...) unconditionally)"
    ),
    strict=True,
)
def test_no_unplaced_rows_of_zero_pods() -> None:
    sc = make_scenario(
        hardware={"host_models": [make_host_model(gpus={"model": "a100", "count": 1})]},
        substrates=[{"kind": "vm", "shapes": [{"name": "s", "vcpus": 4, "memory": "16Gi"}]}],
        tenants=[make_tenant(workloads=[make_workload(replicas=0, cpu="1", gpu={"count": 1})])],
    )
    p = place(sc, "vm")
    assert [u.pods for u in p.unplaced if u.pods == 0] == []


@pytest.mark.xfail(
    reason=(
        "BUG: vm substrate: control-plane VMs that find no host are dropped silently — no "
        "note (bare metal says 'needs 3 hosts, got 1'), no unplaced row — and the host lower "
        "bound (3, from their anti-affinity) then exceeds the hosts used (1)"
    ),
    strict=True,
)
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
