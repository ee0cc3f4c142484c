"""The decision's evidence on a hybrid takes each figure from the tenant's own part: its GPU
modes (so ``gpu_training_on`` sees a vm part's passthrough), its CPU tax, and, without a
simulation, its throughput.

The scenario is :func:`hybrid_parts.scenario` (bare metal, KVM VMs, and two hybrids of
them: ``gpu-in-vms`` trains in the VMs, ``gpu-on-metal`` on bare metal). Expected figures
come from the packaged defaults' published factors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from factories import make_scenario, make_tenant, make_workload
from hybrid_parts import A100, STD, scenario
from underlay.decision.evidence import Evidence, gather
from underlay.decision.problem import hybrid_problem
from underlay.decision.sensitivity import sensitivity
from underlay.defaults.catalog import load_defaults
from underlay.model.policy import Constraints
from underlay.model.scenario import FACTORS
from underlay.pipeline import compare


@pytest.fixture(scope="module")
def ev() -> Evidence:
    return gather(compare(scenario()))


def _at(ev: Evidence, tenant: str, label: str) -> tuple[int, int]:
    return ev.tenants.index(tenant), ev.substrates.index(label)


def test_training_modes_are_those_of_the_part_the_training_runs_in(ev: Evidence) -> None:
    # train asks for whole GPUs: passed through in (KVM) VMs, bare metal's on bare metal
    assert ev.training_modes[ev.tenants.index("ml")] == [
        ["baremetal"],  # baremetal-dedicated
        ["passthrough"],  # vm
        ["passthrough"],  # gpu-in-vms: the vms part takes the GPU workloads
        ["baremetal"],  # gpu-on-metal
    ]
    assert ev.gpu_modes == ["baremetal", "passthrough", "passthrough", "baremetal"]
    # web asks for no GPU: no VM GPUs anywhere; ml's GPUs are virtual where train is in VMs
    assert ev.gpu_virtual.tolist() == [[False, True, True, False], [False] * 4]


def test_gpu_training_on_sees_the_vm_parts_passthrough(ev: Evidence) -> None:
    problem = hybrid_problem(ev, Constraints(gpu_training_on=["baremetal"]))
    t, s = _at(ev, "ml", "gpu-in-vms")
    assert problem.excluded[t].tolist() == [False, True, True, False]
    assert problem.reasons[t][s] == [
        ("gpu_training_on baremetal", "gpu_training_on baremetal (passthrough GPUs)")
    ]
    # web trains nothing: every substrate stays open to it
    assert not problem.excluded[ev.tenants.index("web")].any()
    # allowing passthrough opens both VM columns to ml again
    assert not hybrid_problem(
        ev, Constraints(gpu_training_on=["passthrough", "baremetal"])
    ).excluded.any()


def test_cpu_tax_and_static_throughput_follow_each_tenants_part(ev: Evidence) -> None:
    kvm = load_defaults().hypervisors["kvm"]
    tax = kvm.cpu_overhead_percent / 100
    ml, web = ev.tenants.index("ml"), ev.tenants.index("web")
    # columns: baremetal-dedicated, vm, gpu-in-vms, gpu-on-metal
    # ml on gpu-in-vms: 2 train pods in VMs (tax), 30 api pods on metal (0), pod-weighted
    assert ev.cpu_tax[ml] == pytest.approx([0, tax, 2 * tax / 32, 0])
    assert ev.cpu_tax[web] == pytest.approx([0, tax, tax, tax])
    # without a simulation: a GPU tenant's throughput is its GPU efficiency, others' 1 − tax
    passthrough = kvm.gpu_passthrough_efficiency
    assert ev.throughput[ml] == pytest.approx([1, passthrough, passthrough, 1])
    assert ev.throughput[web] == pytest.approx([1, 1 - tax, 1 - tax, 1 - tax])
    assert "simulation" in ev.missing
    assert np.all(ev.placed == 1)


def test_the_tornado_scales_a_hybrids_vm_part() -> None:
    # Only the two hybrids compared: their KVM part is the only hypervisor, so the CPU
    # overhead input starts at KVM's figure (not 0, "nothing to scale"), and the GPU loss
    # at 100 × (1 − passthrough) of gpu-in-vms, the one column training in VMs.
    sc = scenario()
    e = gather(compare(sc, substrates=["gpu-in-vms", "gpu-on-metal"]))
    kvm = load_defaults().hypervisors["kvm"]
    equal = dict.fromkeys(FACTORS, 1.0)
    bars = {b.parameter: b for b in sensitivity(e, equal, load_defaults()).tornado}
    assert bars["hypervisor CPU overhead"].base == pytest.approx(kvm.cpu_overhead_percent)
    loss = bars["GPU efficiency loss (VM, sandbox)"]
    assert loss.base == pytest.approx(100 * (1 - kvm.gpu_passthrough_efficiency))


_ONE_PART = [
    {"kind": "baremetal-dedicated"},
    {"kind": "baremetal-shared", "gpu_sharing": "mig"},
    {"kind": "vm", "hypervisor": "esxi", "sizing": "requests"},
    {"kind": "vm", "gpu_mode": "vgpu", "sizing": "requests"},
    {"kind": "sandboxed", "runtime": "gvisor"},
]


@pytest.mark.parametrize("substrate", _ONE_PART, ids=lambda s: "-".join(map(str, s.values())))
def test_a_hybrid_with_one_part_has_that_substrates_static_figures(
    substrate: dict[str, Any],
) -> None:
    # Both columns in one comparison: the substrate alone ("pure") and a hybrid whose one
    # part runs it for every tenant ("one"); every static per-tenant figure is the same.
    half = {"count": 1, "fraction": 0.5, "models": ["A100-80GB"]}
    whole = {"count": 8, "models": ["A100-80GB"]}
    ml = [
        make_workload("train", replicas=2, gpu=whole, **{"class": "gpu-training"}),
        make_workload("infer", replicas=3, gpu=half, **{"class": "gpu-inference"}),
        make_workload("api", replicas=5, cpu="1", **{"class": "network-latency"}),
    ]
    sc = make_scenario(
        hardware={"host_models": [STD, A100]},
        substrates=[
            {**substrate, "name": "pure"},
            {
                "kind": "hybrid",
                "name": "one",
                "parts": [{"name": "all", "substrate": substrate, "isolation": ["internal"]}],
            },
        ],
        tenants=[
            make_tenant("ml", workloads=ml),
            make_tenant("web", workloads=[make_workload("site", replicas=4)]),
        ],
    )
    comparison = compare(sc)
    pure, one = comparison.substrates
    assert (one.cpu_efficiency, one.gpu_efficiency) == (pure.cpu_efficiency, pure.gpu_efficiency)
    for a, b in zip(pure.tenants, one.tenants, strict=True):
        assert (a.cpu_efficiency, a.gpu_efficiency) == (b.cpu_efficiency, b.gpu_efficiency)
        assert a.allocated == b.allocated  # GPU shares on the part's substrate
    e = gather(comparison)
    for name in ("cpu_tax", "throughput", "gpu_virtual"):
        column = getattr(e, name)
        assert column[:, 0].tolist() == column[:, 1].tolist(), name
    assert [row[0] for row in e.training_modes] == [row[1] for row in e.training_modes]
    assert e.gpu_modes[0] == e.gpu_modes[1]
    assert e.gpu_efficiency[0] == e.gpu_efficiency[1]
