"""The replay of a hybrid charges each pod its own part's network latency, storage and GPU
throughput, GPU sharing and shared-hardware slowdown: a tenant gets on a hybrid what it
gets on the pure substrate of its part.

Host models: ``std`` = 64 cores, 256 GiB; ``a100`` = 128 cores, 1 TiB, 8 A100-80GB. Each
expected figure is derived from the packaged defaults' published factors.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from factories import make_host_model, make_scenario, make_tenant, make_workload
from properties import examples
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario
from underlay.pipeline import simulate
from underlay.simulation.results import SubstrateSimulation, TenantSimulation

STD = make_host_model("std")
A100 = make_host_model("a100", cores=128, memory="1Ti", gpus={"model": "A100-80GB", "count": 8})
SIM = {"horizon_hours": 1, "step_minutes": 15}
ESXI_VMS = {"kind": "vm", "hypervisor": "esxi", "sizing": "requests"}


def _wl(name: str, cls: str, replicas: int, **extra: Any) -> dict[str, Any]:
    usage = {"model": "constant", "cpu": 0.5, **({"gpu": 0.5} if "gpu" in extra else {})}
    return make_workload(
        name, replicas=replicas, cpu="1", memory="1Gi", usage=usage, **{"class": cls}, **extra
    )


def _tenants() -> list[dict[str, Any]]:
    """web (internal): 4 latency pods, 2 storage pods; bank (regulated): 3 latency pods,
    3 storage pods, 2 batch pods."""
    return [
        make_tenant(
            "web", workloads=[_wl("api", "network-latency", 4), _wl("store", "storage-io", 2)]
        ),
        make_tenant(
            "bank",
            isolation="regulated",
            workloads=[
                _wl("ledger", "network-latency", 3),
                _wl("disk", "storage-io", 3),
                _wl("nightly", "batch", 2),
            ],
        ),
    ]


def _results(sc: Scenario) -> dict[str, dict[str, TenantSimulation]]:
    return {r.name: {t.name: t for t in r.tenants} for r in simulate(sc).results}


def test_each_tenant_gets_its_parts_latency_and_storage_throughput() -> None:
    sc = make_scenario(
        substrates=[
            {"kind": "baremetal-shared"},
            ESXI_VMS,
            {
                "kind": "hybrid",
                "name": "mixed",
                "parts": [
                    {"name": "s", "substrate": {"kind": "baremetal-shared"}, "tenants": ["web"]},
                    {"name": "v", "substrate": ESXI_VMS, "isolation": ["regulated"]},
                ],
            },
        ],
        tenants=_tenants(),
        simulation=SIM,
    )
    esxi = load_defaults().hypervisors["esxi"]
    assert esxi.network_latency_add_us > 0 and esxi.storage_iops_factor < 1
    res = _results(sc)
    web, bank = res["mixed"]["web"], res["mixed"]["bank"]
    # web on shared bare metal: no latency added, every class at bare metal's throughput
    assert web.latency_add_us == 0
    assert web.throughput_percent == pytest.approx(100)
    # bank in ESXi VMs: each request crosses ESXi's virtual network; its 3 storage pods do
    # storage_iops_factor of the I/O, the 3 latency and 2 batch pods all of it:
    # 100 × (3 + 3 f + 2) / 8
    assert bank.latency_add_us == pytest.approx(esxi.network_latency_add_us)
    expected = 100 * (3 + 3 * esxi.storage_iops_factor + 2) / 8
    assert bank.throughput_percent == pytest.approx(expected)
    # ... which is what each gets on the pure substrate of its part
    for name, pure in (("web", "baremetal-shared"), ("bank", "vm")):
        mine, alone = res["mixed"][name], res[pure][name]
        assert mine.latency_add_us == alone.latency_add_us
        assert mine.throughput_percent == pytest.approx(alone.throughput_percent)


def _split(gpu_part: dict[str, Any], cpu_part: dict[str, Any]) -> Scenario:
    """Tenant ml: train (2 pods of 8 whole A100s) in the GPU part, api (30 latency pods)
    in the CPU part."""
    train = make_workload(
        "train",
        replicas=2,
        cpu="8",
        memory="32Gi",
        gpu={"count": 8, "models": ["A100-80GB"]},
        usage={"model": "constant", "cpu": 0.5, "gpu": 1.0},
        **{"class": "gpu-training"},
    )
    return make_scenario(
        hardware={"host_models": [STD, A100]},
        substrates=[
            {
                "kind": "hybrid",
                "name": "split",
                "parts": [
                    {"name": "gpu", "substrate": gpu_part, "gpu_workloads": True},
                    {"name": "cpu", "substrate": cpu_part, "tenants": ["ml"]},
                ],
            }
        ],
        tenants=[make_tenant("ml", workloads=[train, _wl("api", "network-latency", 30)])],
        simulation=SIM,
    )


def test_a_split_tenant_trains_at_the_vm_parts_gpu_efficiency() -> None:
    # train in KVM VMs (whole GPUs: passthrough), api on dedicated bare metal. Throughput is
    # replica-weighted: 100 × (2 × passthrough + 30 × 1) / 32; the latency added is that of
    # the latency-sensitive pods' part, bare metal: 0 (not KVM's, where only train runs).
    sc = _split({"kind": "vm", "sizing": "requests"}, {"kind": "baremetal-dedicated"})
    (ml,) = _results(sc)["split"].values()
    kvm = load_defaults().hypervisors["kvm"]
    assert kvm.gpu_passthrough_efficiency < 1
    assert ml.throughput_percent == pytest.approx(
        100 * (2 * kvm.gpu_passthrough_efficiency + 30) / 32
    )
    assert ml.latency_add_us == 0


def test_a_split_tenant_serving_from_vms_pays_their_latency() -> None:
    # The other way round: train on bare metal (whole GPUs, efficiency 1), api in KVM VMs,
    # whose per-request latency all of ml's latency-sensitive pods pay.
    sc = _split({"kind": "baremetal-dedicated"}, {"kind": "vm", "sizing": "requests"})
    (ml,) = _results(sc)["split"].values()
    d = load_defaults()
    assert ml.throughput_percent == pytest.approx(
        100 * (2 * d.gpu_modes["baremetal"].efficiency + 30) / 32
    )
    assert ml.latency_add_us == pytest.approx(d.hypervisors["kvm"].network_latency_add_us)


# --------------------------------------- a hybrid of one part replays as that substrate

_ONE_PART = [
    {"kind": "baremetal-dedicated"},
    {"kind": "baremetal-shared"},
    {"kind": "baremetal-shared", "cache_partitioned": True},
    {"kind": "vm", "hypervisor": "esxi", "sizing": "requests"},
    {"kind": "vm", "gpu_mode": "vgpu", "sizing": "requests", "cache_partitioned": True},
    {"kind": "sandboxed", "runtime": "kata"},
    {"kind": "sandboxed", "runtime": "gvisor"},
]


def _comparable(r: SubstrateSimulation) -> dict[str, Any]:
    out = asdict(r)
    for key in ("name", "kind", "seconds"):
        out.pop(key)
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in out.items()}


@settings(max_examples=examples(8), deadline=None)
@given(
    substrate=st.sampled_from(_ONE_PART),
    replicas=st.lists(st.integers(0, 4), min_size=4, max_size=4),
)
@example(substrate=_ONE_PART[5], replicas=[2, 1, 2, 1])  # Kata: half a GPU takes a whole one
@example(substrate=_ONE_PART[4], replicas=[1, 2, 1, 2])  # vGPU slices, cache partitioned
def test_a_hybrid_with_one_part_replays_as_that_substrate(
    substrate: dict[str, Any], replicas: list[int]
) -> None:
    half = {"count": 1, "fraction": 0.5, "models": ["A100-80GB"]}
    a, b, c, g = replicas
    tenants = [
        make_tenant(
            "web", workloads=[_wl("api", "network-latency", a), _wl("io", "storage-io", b)]
        ),
        make_tenant(
            "ml", workloads=[_wl("batch", "batch", c), _wl("infer", "gpu-inference", g, gpu=half)]
        ),
    ]
    common: dict[str, Any] = {"hardware": {"host_models": [STD, A100]}, "simulation": SIM}
    pure = make_scenario(substrates=[substrate], tenants=tenants, **common)
    hybrid = make_scenario(
        substrates=[
            {
                "kind": "hybrid",
                "name": "one",
                "parts": [{"name": "all", "substrate": substrate, "tenants": ["web", "ml"]}],
            }
        ],
        tenants=tenants,
        **common,
    )
    (alone,) = simulate(pure).results
    (mixed,) = simulate(hybrid).results
    assert _comparable(mixed) == _comparable(alone)
