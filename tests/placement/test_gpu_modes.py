"""GPUs by the mode each workload uses (issue 9, defect 4), worked out by hand.

Figures from the defaults: passthrough 0.98 (KVM 98–100 % of bare metal, Walters et al.
2014), time-sliced vGPU 0.97 (MLPerf with vGPU 94.4–100 %), bare metal, MIG and
time-slicing 1; GPU memory and MIG profiles from NVIDIA's MIG user guide.
"""

from __future__ import annotations

import numpy as np
import pytest

from factories import make_host_model, make_scenario, make_tenant, make_workload, place
from underlay.defaults.catalog import load_defaults
from underlay.errors import ScenarioError
from underlay.pipeline import compare
from underlay.placement.gpus import gpu_efficiency, gpu_mode, gpu_share

D = load_defaults()
L4 = make_host_model("l4", cores=64, memory="512Gi", gpus={"model": "L4", "count": 8})
A100 = make_host_model("a100", cores=128, memory="1Ti", gpus={"model": "A100-80GB", "count": 8})
A30 = make_host_model("a30", cores=64, memory="512Gi", gpus={"model": "A30", "count": 4})


def _sc(*workloads: dict, substrates: list[dict] | None = None, models: list[dict] | None = None):  # type: ignore[no-untyped-def,type-arg]
    return make_scenario(
        hardware={"host_models": models or [L4, A100]},
        substrates=substrates or [{"kind": "baremetal-shared"}, {"kind": "vm", "gpu_mode": "vgpu"}],
        tenants=[make_tenant("t", workloads=list(workloads))],
    )


WHOLE = make_workload(
    "whole", cpu="4", gpu={"count": 1, "models": ["A100-80GB"]}, **{"class": "gpu-training"}
)
HALF = make_workload(
    "half",
    cpu="2",
    gpu={"count": 1, "fraction": 0.5, "models": ["L4"]},
    **{"class": "gpu-inference"},
)


def test_passthrough_is_never_below_time_sliced_vgpu() -> None:
    for name in ("kvm", "esxi"):
        h = D.hypervisors[name]
        assert h.gpu_passthrough_efficiency == 0.98
        assert h.gpu_passthrough_efficiency >= h.vgpu_efficiency == 0.97


def test_a_whole_gpu_pod_on_a_vgpu_substrate_is_charged_passthrough() -> None:
    # Issue 9 (4): the vGPU substrate passes whole GPUs through; only shares are vGPU.
    sc = _sc(WHOLE, HALF)
    vm = sc.substrate("vm")
    whole, half = sc.tenants[0].clusters[0].workloads
    assert gpu_mode(vm, whole) == "passthrough"
    assert gpu_mode(vm, half) == "vgpu"
    assert gpu_efficiency(vm, D, "passthrough") == 0.98
    assert gpu_efficiency(vm, D, "vgpu") == 0.97
    shared = sc.substrate("baremetal-shared")
    assert (gpu_mode(shared, whole), gpu_mode(shared, half)) == ("baremetal", "time-slicing")
    # The static comparison's GPU figure weighs each workload's mode by GPUs asked for:
    # 1 whole GPU at 0.98 and a half at 0.97 → (1 × 0.98 + 0.5 × 0.97) / 1.5.
    by_name = {s.name: s for s in compare(sc).substrates}
    assert by_name["vm"].gpu_efficiency == pytest.approx((0.98 + 0.5 * 0.97) / 1.5)
    assert by_name["baremetal-shared"].gpu_efficiency == 1.0


def test_gpu_memory_sets_the_share() -> None:
    # Issue 9 (4): "0.5 of an L4 is 12 GB, of an A100-80GB 40 GB". A pod needing 12 GiB of
    # GPU memory takes 12 / 24 = 0.5 of an L4 and 12 / 80 = 0.15 of an A100-80GB; asked
    # for 0.1 with 12 GiB it still takes what its memory needs.
    for model, share in (("L4", 500), ("A100-80GB", 150)):
        w = make_workload(
            "m", cpu="1", gpu={"count": 1, "fraction": 0.1, "memory": "12Gi", "models": [model]}
        )
        sc = _sc(w)
        ref = sc.tenants[0].clusters[0].workloads[0]
        assert gpu_share(sc, D, sc.substrate("baremetal-shared"), ref, "w").milli == share
    # Without a model: the smallest memory of the models it may use (L4's 24 GiB) decides.
    w = make_workload("m", cpu="1", gpu={"count": 1, "fraction": 0.1, "memory": "12Gi"})
    sc = _sc(w)
    assert (
        gpu_share(
            sc, D, sc.substrate("baremetal-shared"), sc.tenants[0].clusters[0].workloads[0], "w"
        ).milli
        == 500
    )


def test_more_gpu_memory_than_any_model_has_is_an_error() -> None:
    w = make_workload(
        "m", cpu="1", gpu={"count": 1, "fraction": 0.5, "memory": "30Gi", "models": ["L4"]}
    )
    with pytest.raises(ScenarioError, match="more than any allowed GPU model has"):
        place(_sc(w), "baremetal-shared")


def test_a_host_models_own_gpu_memory_overrides_the_catalog() -> None:
    odd = make_host_model("odd", gpus={"model": "L4", "count": 2, "memory": "48Gi"})
    w = make_workload("m", cpu="1", gpu={"count": 1, "fraction": 0.1, "memory": "12Gi"})
    sc = _sc(w, models=[odd])
    ref = sc.tenants[0].clusters[0].workloads[0]
    assert gpu_share(sc, D, sc.substrate("baremetal-shared"), ref, "w").milli == 250  # 12 / 48


@pytest.mark.parametrize(
    ("model", "fraction", "memory", "milli"),
    [
        # A100-80GB, 7 compute slices: 0.1 → 1g.10gb: floor(1000 × 1/7) = 142.
        ("A100-80GB", 0.1, None, 142),
        # 0.2 → needs 2 slices (1.4 rounded up): 2g.20gb = floor(2000/7) = 285.
        ("A100-80GB", 0.2, None, 285),
        # 0.1 with 15 GiB of memory: 1g.10gb is too small, 1g.20gb holds it: still 1 slice.
        ("A100-80GB", 0.1, "15Gi", 142),
        # 0.5 → 4 slices (3.5 rounded up): 4g.40gb = floor(4000/7) = 571.
        ("A100-80GB", 0.5, None, 571),
        # A30, 4 slices: 0.3 → 2g.12gb = 500.
        ("A30", 0.3, None, 500),
    ],
)
def test_mig_rounds_a_share_up_to_the_smallest_profile(
    model: str, fraction: float, memory: str | None, milli: int
) -> None:
    gpu: dict[str, object] = {"count": 1, "fraction": fraction, "models": [model]}
    if memory:
        gpu["memory"] = memory
    sc = _sc(
        make_workload("m", cpu="1", gpu=gpu),
        substrates=[{"kind": "baremetal-shared", "gpu_sharing": "mig"}],
        models=[A100, A30],
    )
    ref = sc.tenants[0].clusters[0].workloads[0]
    share = gpu_share(sc, D, sc.substrate("baremetal-shared"), ref, "w")
    assert share.milli == milli
    # seven 1g slices fill an A100 without going over it
    assert 7 * 142 <= 1000


def test_mig_picks_the_profile_on_the_mig_models_when_a_model_without_mig_is_allowed() -> None:
    # Found by the GPU reference oracle: half a GPU with 24 GiB of memory, L4 (24 GiB, no
    # MIG) or A100-80GB allowed. The memory share over both models is 24 / 24 = a whole
    # L4, but under MIG only the A100 can take the pod: 3.5 compute slices of 7 → 4, and
    # 24 GiB → the 4g.40gb profile, floor(4000 / 7) = 571 milli on the A100 alone.
    w = make_workload(
        "m",
        cpu="1",
        gpu={"count": 1, "fraction": 0.5, "memory": "24Gi", "models": ["L4", "A100-80GB"]},
    )
    sc = _sc(w, substrates=[{"kind": "baremetal-shared", "gpu_sharing": "mig"}])
    ref = sc.tenants[0].clusters[0].workloads[0]
    share = gpu_share(sc, D, sc.substrate("baremetal-shared"), ref, "w")
    assert (share.milli, share.models) == (571, frozenset({"A100-80GB"}))


def test_mig_on_a_gpu_without_mig_is_an_error() -> None:
    sc = _sc(HALF, substrates=[{"kind": "baremetal-shared", "gpu_sharing": "mig"}])
    with pytest.raises(ScenarioError, match="no GPU model it may use has MIG"):
        place(sc, "baremetal-shared")


def test_mig_slices_pack_on_the_gpus() -> None:
    # 14 pods of 0.1 on one 8-GPU A100 host under MIG: 1g slices, 7 per GPU → 2 GPUs used.
    w = make_workload("m", replicas=14, cpu="1", memory="1Gi", gpu={"count": 1, "fraction": 0.1})
    sc = _sc(
        w,
        substrates=[
            {"kind": "baremetal-shared", "gpu_sharing": "mig", "control_plane": "dedicated"}
        ],
        models=[A100],
    )
    p = place(sc, "baremetal-shared")
    assert int(p.placed.sum()) == 14
    assert int(p.nodes.gpu_used_milli.sum()) == 14 * 142


def test_firecracker_refuses_gpu_workloads_with_a_clear_error() -> None:
    sc = _sc(WHOLE, substrates=[{"kind": "vm", "hypervisor": "firecracker"}])
    with pytest.raises(ScenarioError, match="hypervisor 'firecracker' cannot attach GPUs"):
        place(sc, "vm")


def test_a_kata_pod_takes_whole_gpus() -> None:
    # VFIO passes a whole device to the pod's VM: 8 half-GPU pods need 8 GPUs, not 4.
    w = make_workload(
        "m", replicas=8, cpu="1", memory="1Gi", gpu={"count": 1, "fraction": 0.5, "models": ["L4"]}
    )
    sc = _sc(w, substrates=[{"kind": "sandboxed", "control_plane": "dedicated"}])
    p = place(sc, "sandboxed")
    assert int(p.nodes.gpu_used_milli.sum()) == 8 * 1000
    assert any("whole GPUs" in n for n in p.notes)


def test_shares_on_a_vgpu_substrate_get_vgpu_slices_not_passthrough_gpus() -> None:
    # 16 half-L4 pods on the vGPU substrate: each VM holds a vGPU slice (≤ half a GPU), so
    # the mode charged (vGPU) is the mode used, and no GPU is shared by more than it holds:
    # with every pod using exactly its share, no GPU time is unmet.
    from underlay.pipeline import simulate

    w = make_workload("m", replicas=16, cpu="1", memory="1Gi", gpu={"count": 1, "fraction": 0.5, "models": ["L4"]},
                      **{"class": "gpu-inference"})  # fmt: skip
    sc = make_scenario(
        hardware={"host_models": [L4]},
        substrates=[{"kind": "vm", "gpu_mode": "vgpu"}],
        tenants=[make_tenant("t", workloads=[w])],
        simulation={"horizon_hours": 1},
    )
    p = place(sc, "vm")
    gpu_vms = p.nodes.gpu_cap_milli > 0
    assert (p.nodes.gpu_cap_milli[gpu_vms] <= 500).all()
    (t,) = simulate(sc).results[0].tenants
    assert t.gpu_unmet_percent == 0


def test_a_vgpu_substrate_gives_shares_of_a_gpu_vgpu_slices() -> None:
    # Review of issue 9: "gpu_mode: vgpu — a vGPU slice per VM" (the substrate's field),
    # but the auto shapes offered whole-GPU VMs too and chose them on a tie with fewer
    # VMs: 24 quarter-GPU pods went into 3 VMs of 2 passthrough A100s each, and the
    # substrate created no vGPU at all. Each VM now holds a vGPU slice: 0.125, 0.25 or 0.5
    # of a GPU (time-sliced), so the 24 pods need 24 × 250 = 6,000 milli-GPUs of slices.
    a100 = make_host_model("a100", cores=256, memory="2Ti", gpus={"model": "A100", "count": 8})
    w = make_workload("nb", replicas=24, cpu="4", memory="32Gi", gpu={"fraction": 0.25})
    sc = _sc(w, substrates=[{"kind": "vm", "gpu_mode": "vgpu"}], models=[a100])
    p = place(sc, "vm")
    assert int(p.placed[0]) == 24
    vms = np.unique(p.pod_nodes[0])
    assert (p.nodes.gpu_cap_milli[vms] < 1000).all()
    assert int(p.nodes.gpu_cap_milli[vms].sum()) == 6000
