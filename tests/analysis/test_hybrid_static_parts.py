"""The static figures of a hybrid are each part's: a tenant's CPU and GPU efficiency in
the capacity table are those of the substrate of its part, as on that substrate alone.

The scenario is :func:`hybrid_parts.scenario` (its docstring lists the tenants and
parts). Expected figures come from the packaged defaults' published factors.
"""

from __future__ import annotations

import pytest

from hybrid_parts import scenario
from underlay.analysis.capacity_results import SubstrateCapacity, TenantCapacity
from underlay.defaults.catalog import load_defaults
from underlay.pipeline import compare


def _rows(
    label: str, substrates: list[SubstrateCapacity]
) -> tuple[SubstrateCapacity, dict[str, TenantCapacity]]:
    (s,) = [s for s in substrates if s.name == label]
    return s, {t.name: t for t in s.tenants}


def test_each_tenant_shows_its_parts_cpu_and_gpu_efficiency() -> None:
    kvm = load_defaults().hypervisors["kvm"]
    t = kvm.cpu_overhead_percent / 100  # KVM's CPU tax
    passthrough = kvm.gpu_passthrough_efficiency
    assert t > 0 and passthrough < 1
    substrates = compare(scenario()).substrates
    hybrid, rows = _rows("gpu-in-vms", substrates)
    ml, web = rows["ml"], rows["web"]
    # ml's only GPU workload, train, gets its 8 whole GPUs passed through to its VMs
    assert ml.gpu_efficiency == pytest.approx(passthrough)
    # its CPU figure is pod-weighted: 2 train pods in VMs at 1 − t, 30 api pods on metal at 1
    assert ml.cpu_efficiency == pytest.approx((2 * (1 - t) + 30) / 32)
    # web is all in VMs: KVM's tax; no GPU asked, so the VMs' whole-GPU (passthrough) figure
    assert web.cpu_efficiency == pytest.approx(1 - t)
    assert web.gpu_efficiency == pytest.approx(passthrough)
    # the column: GPUs weighted by GPUs asked (train only), CPUs by pods (22 in VMs, 30 not)
    assert hybrid.gpu_efficiency == pytest.approx(passthrough)
    assert hybrid.cpu_efficiency == pytest.approx((22 * (1 - t) + 30) / 52)
    # a tenant wholly in one part shows what that substrate alone shows it
    _, in_vms = _rows("vm", substrates)
    assert web.cpu_efficiency == pytest.approx(in_vms["web"].cpu_efficiency)
    assert ml.gpu_efficiency == pytest.approx(in_vms["ml"].gpu_efficiency)


def test_training_on_the_metal_part_keeps_bare_metals_figures() -> None:
    # gpu-on-metal: train and api on dedicated bare metal (1 and 1), web in VMs (1 − t)
    t = load_defaults().hypervisors["kvm"].cpu_overhead_percent / 100
    hybrid, rows = _rows("gpu-on-metal", compare(scenario()).substrates)
    assert rows["ml"].gpu_efficiency == 1 and rows["ml"].cpu_efficiency == 1
    assert rows["web"].cpu_efficiency == pytest.approx(1 - t)
    assert hybrid.gpu_efficiency == 1
    assert hybrid.cpu_efficiency == pytest.approx((32 + 20 * (1 - t)) / 52)
