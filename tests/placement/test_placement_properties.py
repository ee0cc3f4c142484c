"""Invariants of placement on small random scenarios (Hypothesis).

For every substrate and strategy, on inventories and on fleets underlay sizes:

* no node holds more than its allocatable (CPU, memory, pod slots, GPU);
* no host holds more than its capacity under the substrate's rules — bare metal: node
  allocatable + kubelet reservation + DaemonSets ≤ host; VMs: Σ VM footprints (vCPU ÷
  overcommit, memory ÷ overcommit + per-VM overhead) + the hypervisor's share ≤ host;
* every pod is placed or reported unplaced, and placed pods sit on worker nodes of their
  own cluster that exist (VMs: that have a host);
* anti-affinity holds; an inventory is never exceeded;
* the lower bound on hosts never exceeds the hosts used (when everything fits);
* the same input gives the same output.

``UNDERLAY_HYPOTHESIS_SCALE`` multiplies the example count for a longer hunt (tests/properties.py).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factories import make_host_model, scenario_dict
from properties import examples
from underlay.analysis.capacity import analyse_capacity
from underlay.defaults.catalog import load_defaults
from underlay.errors import ScenarioError
from underlay.model.scenario import Scenario, Vm
from underlay.pipeline import compare
from underlay.pipeline import place as place_one
from underlay.placement.gpus import gpu_share
from underlay.placement.result import CONTROL_PLANE, WORKER, SubstratePlacement
from underlay.report.json import comparison_to_dict

EXAMPLES = examples(50)
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STRATEGIES = [
    "first-fit-decreasing",
    "best-fit",
    "least-allocated",
    "dominant-resource",
    "gpu-fragmentation",
]
CPUS = ["0", "100m", "250m", "500m", "1", "2", "3", "4", "8", "16", "24"]
CONTROL_PLANES = ["auto", "dedicated", "stacked", "management", "hosted"]
SHARING = ["time-slicing", "time-slicing", "mig"]
MEMORIES = ["128Mi", "512Mi", "1Gi", "2Gi", "4Gi", "16Gi", "48Gi"]


@st.composite
def host_models(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 3))
    out = []
    for i in range(count):
        extra: dict[str, Any] = {}
        if (draw(st.booleans()) and i > 0) or draw(st.integers(0, 5)) == 0:
            # A100/H100/A30 have MIG, L4 has not; A30 and L4 have 24 GiB, the others 80.
            extra["gpus"] = {
                "model": draw(st.sampled_from(["a100", "h100", "A30", "L4"])),
                "count": draw(st.sampled_from([1, 2, 4, 8])),
            }
        out.append(
            make_host_model(
                f"m{i}",
                cores=draw(st.sampled_from([16, 32, 48, 64, 128])),
                memory=draw(st.sampled_from(["64Gi", "128Gi", "256Gi", "512Gi"])),
                **extra,
            )
        )
    return out


@st.composite
def workloads(draw: st.DrawFn, gpu_models: list[str], prefix: str) -> list[dict[str, Any]]:
    out = []
    for j in range(draw(st.integers(1, 3))):
        w: dict[str, Any] = {
            "name": f"{prefix}w{j}",
            "replicas": draw(st.integers(0, 40)),
            "requests": {
                "cpu": draw(st.sampled_from(CPUS)),
                "memory": draw(st.sampled_from(MEMORIES)),
            },
        }
        if gpu_models and draw(st.integers(0, 3)) == 0:
            if draw(st.booleans()):
                gpu: dict[str, Any] = {"count": draw(st.sampled_from([1, 2]))}
            else:
                gpu = {"count": 1, "fraction": draw(st.sampled_from([0.25, 0.5]))}
            if draw(st.booleans()):
                gpu["models"] = draw(
                    st.lists(st.sampled_from(sorted(gpu_models)), min_size=1, unique=True)
                )
            if draw(st.integers(0, 3)) == 0:
                gpu["memory"] = draw(st.sampled_from(["4Gi", "12Gi", "30Gi"]))
            w["gpu"] = gpu
        if draw(st.booleans()):
            w["limits"] = {"cpu": "32", "memory": "64Gi"}
        if draw(st.booleans()):
            w["usage"] = {"cpu": draw(st.sampled_from([0.5, 1.5, 4.0])), "memory": 1.2}
        spread = draw(st.sampled_from(["none", "none", "none", "host", "rack", "spread"]))
        if spread == "spread":
            w["spread"] = {"spread_racks": True}
        elif spread != "none":
            w["spread"] = {"anti_affinity": spread}
            w["replicas"] = min(w["replicas"], 6)
        out.append(w)
    return out


@st.composite
def scenario_dicts(draw: st.DrawFn) -> dict[str, Any]:
    models = draw(host_models())
    gpu_models = sorted({m["gpus"]["model"] for m in models if "gpus" in m})
    hardware: dict[str, Any] = {"host_models": models}
    if draw(st.booleans()):
        hardware["inventory"] = [
            {"model": m["name"], "count": draw(st.integers(1, 8))}
            for m in models
            if draw(st.booleans()) or m is models[0]
        ]
    if draw(st.booleans()):
        hardware["topology"] = {"racks": draw(st.integers(1, 4))}
    if draw(st.booleans()):
        hardware["control_plane_model"] = draw(st.sampled_from([m["name"] for m in models]))
    tenants = []
    for t in range(draw(st.integers(1, 3))):
        tenant: dict[str, Any] = {
            "name": f"t{t}",
            "kubernetes_version": draw(st.sampled_from(["1.31", "1.32", "1.33"])),
            "control_plane": draw(st.sampled_from(CONTROL_PLANES)),
            "workloads": draw(workloads(gpu_models, f"t{t}")),
        }
        if draw(st.booleans()):
            # 12: 7 slots after the DaemonSets, so a few dozen pods are dealt (deal.py)
            per_node = draw(st.sampled_from([12, 32, 110, 250]))
            tenant["max_pods"] = {
                "per_node": per_node,
                "pod_cidr_prefix": 23 if per_node > 128 else 24,
            }
        tenants.append(tenant)
    vm: dict[str, Any] = {
        "kind": "vm",
        "hypervisor": draw(st.sampled_from(["kvm", "esxi", "firecracker"])),
        "gpu_mode": draw(st.sampled_from(["passthrough", "vgpu"])),
        "gpu_sharing": draw(st.sampled_from(SHARING)),
        "cpu_overcommit": draw(st.sampled_from([1.0, 1.0, 2.0])),
        "memory_overcommit": draw(st.sampled_from([1.0, 1.0, 1.5])),
        "sizing": draw(st.sampled_from(["requests", "limits", "peak"])),
    }
    shapes = draw(st.sampled_from(["auto", "auto", "menu", "fixed"]))
    if shapes == "fixed":
        vm["shapes"] = [
            {
                "name": "fixed",
                "vcpus": draw(st.sampled_from([4, 8, 16])),
                "memory": draw(st.sampled_from(["16Gi", "32Gi", "64Gi"])),
            }
        ]
    elif shapes == "menu":
        vm["shapes"] = "menu"
    return scenario_dict(
        hardware=hardware,
        tenants=tenants,
        substrates=[
            {"kind": "baremetal-dedicated", "gpu_sharing": draw(st.sampled_from(SHARING))},
            {
                "kind": "baremetal-shared",
                "gpu_sharing": draw(st.sampled_from(SHARING)),
                "control_plane": draw(st.sampled_from(CONTROL_PLANES)),
                "max_pods": {"per_node": draw(st.sampled_from([12, 110]))},
            },
            vm,
            {
                "kind": "sandboxed",
                "runtime": draw(st.sampled_from(["kata", "gvisor"])),
                "control_plane": draw(st.sampled_from(CONTROL_PLANES)),
                "max_pods": {"per_node": draw(st.sampled_from([12, 110]))},
            },
        ],
        simulation={"horizon_hours": 2},  # the usage peaks VMs are sized by: a short draw
        placement={"strategy": draw(st.sampled_from(STRATEGIES))},
        kubernetes={"node_reservation": draw(st.sampled_from(["gke", "eks", "aks", "none"]))},
    )


def scenarios() -> st.SearchStrategy[Scenario]:
    """Validated random scenarios."""
    return scenario_dicts().map(Scenario.model_validate)


# ------------------------------------------------------------------------ checks


def check_nodes(p: SubstratePlacement) -> None:
    n = p.nodes
    for used, alloc in (
        (n.used_cpu, n.alloc_cpu),
        (n.used_mem, n.alloc_mem),
        (n.used_pods, n.alloc_pods),
        (n.gpu_used_milli, n.gpu_cap_milli),
    ):
        assert (used >= 0).all()
        assert (used <= alloc).all(), (used, alloc)
    # A node's allocatable is what its machine has left after reservation and DaemonSets.
    assert (n.alloc_cpu + n.reserved_cpu + n.system_cpu <= n.size_cpu).all()
    assert (n.alloc_mem + n.reserved_mem + n.system_mem <= n.size_mem).all()


def check_hosts(sc: Scenario, p: SubstratePlacement) -> None:
    n, hosts = p.nodes, len(p.hosts)
    on = n.host >= 0
    assert (n.host < hosts).all()
    if p.kind != "vm":
        # One node per host, the node is the whole host — but for the control-plane VMs
        # of a management cluster, on hosts of their own.
        metal = ~n.is_vm
        assert on.all()
        assert len(set(n.host[metal].tolist())) == int(metal.sum())
        assert not set(n.host[metal].tolist()) & set(n.host[~metal].tolist())
        assert (n.role[~metal] == CONTROL_PLANE).all()
        assert (n.size_cpu[metal] == p.host_cpu[n.host[metal]]).all()
        assert (n.size_mem[metal] == p.host_mem[n.host[metal]]).all()
        assert (n.gpu_cap_milli <= p.host_gpus[n.host] * 1000).all()
        if not (~metal).any():
            return
        overcommit = (1.0, 1.0)
    else:
        vm = sc.substrate(p.name)
        assert isinstance(vm, Vm)
        overcommit = (vm.cpu_overcommit, vm.memory_overcommit)
    on = on & n.is_vm
    cpu = np.ceil(n.size_cpu[on] / overcommit[0])
    mem = np.ceil(n.size_mem[on] / overcommit[1]) + n.vm_overhead_mem[on]
    vm_cpu = np.bincount(n.host[on], weights=cpu, minlength=hosts)
    vm_mem = np.bincount(n.host[on], weights=mem, minlength=hosts)
    vm_gpu = np.bincount(n.host[on], weights=n.gpu_cap_milli[on], minlength=hosts)
    assert (vm_cpu + p.host_hypervisor_cpu <= p.host_cpu).all()
    assert (vm_mem + p.host_hypervisor_mem <= p.host_mem).all()
    assert (vm_gpu <= p.host_gpus * 1000).all()


def check_pods(sc: Scenario, p: SubstratePlacement) -> None:
    unplaced = Counter[int]()
    for u in p.unplaced:
        assert u.pods > 0
        assert u.reason.resource
        unplaced[u.workload_index] += u.pods
    n = p.nodes
    per_node_cpu = np.zeros(len(n), np.int64)
    for k, ref in enumerate(p.workloads):
        nodes, counts = p.pod_nodes[k], p.pod_counts[k]
        assert (counts > 0).all()
        assert int(counts.sum()) == int(p.placed[k])
        assert int(p.placed[k]) + unplaced[k] == ref.workload.replicas
        if not len(nodes):
            continue
        assert (n.role[nodes] == WORKER).all()
        if p.kind in ("baremetal-dedicated", "vm"):
            assert (n.cluster[nodes] == ref.cluster_index).all()
        if p.kind == "vm":
            assert (n.host[nodes] >= 0).all()
        np.add.at(per_node_cpu, nodes, counts * ref.workload.requests.cpu_milli)
        spread = ref.workload.spread
        if spread.anti_affinity != "none":
            hosts = n.host[nodes]
            domain = hosts if spread.anti_affinity == "host" else np.array(p.hosts.rack)[hosts]
            per_domain = np.bincount(domain, weights=counts)
            assert per_domain.max() <= 1, (spread.anti_affinity, per_domain)
    # Pod requests placed on a node fit its allocatable.
    assert (per_node_cpu <= n.alloc_cpu).all()


def check_devices(sc: Scenario, p: SubstratePlacement) -> None:
    """Each placed GPU pod has a device record, in ``np.repeat(pod_nodes, pod_counts)`` order:
    a GPU pod a device of its node, shared by no more than the device holds; a vGPU
    VM's slices on its host's device no more than the device."""
    n, defaults = p.nodes, load_defaults(sc.overrides)
    substrate = sc.substrate(p.name)
    used: Counter[tuple[int, int]] = Counter()
    for k, ref in enumerate(p.workloads):
        node = np.repeat(p.pod_nodes[k], p.pod_counts[k])
        devices = p.pod_devices[k]
        if not ref.workload.gpu_count:  # no device records without GPUs
            assert len(devices) == 0
            continue
        assert len(devices) == len(node)
        assert (devices >= 0).all(), ref.workload.name
        share = gpu_share(sc, defaults, substrate, ref.workload, "w")
        milli = share.milli
        if share.models is not None:  # on a host of a GPU model it may use
            hosts = n.host[node]
            gpus = [sc.hardware.host_models[p.hosts.model[h]].gpus for h in hosts.tolist()]
            assert all(g is not None and g.model in share.models for g in gpus), share
        for v, d in zip(node.tolist(), devices.tolist(), strict=True):
            used[(v, d)] += milli  # a whole-GPU pod: its first device, all of it
    for (v, d), milli in used.items():
        device = min(int(n.gpu_cap_milli[v]), 1000)  # a vGPU VM's one device is its slice
        assert d < max(1, int(n.gpu_cap_milli[v]) // 1000), (v, d)
        assert milli <= device, (v, d, milli, device)
    sliced = (n.host >= 0) & (n.host_gpu_device >= 0) & (n.gpu_cap_milli < 1000)
    on_device = Counter[tuple[int, int]]()
    for h, d, cap in zip(
        n.host[sliced], n.host_gpu_device[sliced], n.gpu_cap_milli[sliced], strict=True
    ):
        on_device[(int(h), int(d))] += int(cap)
    assert all(v <= 1000 for v in on_device.values()), on_device


def check_identity(sc: Scenario, p: SubstratePlacement) -> None:
    """capacity = allocated + burst room + overhead + stranded, in CPU, memory and GPUs
    (per host only without overcommit)."""
    sub = sc.substrate(p.name)
    if isinstance(sub, Vm) and (sub.cpu_overcommit != 1 or sub.memory_overcommit != 1):
        return
    s = analyse_capacity(sc, load_defaults(sc.overrides), p)
    total = s.allocated + s.burst_room
    for part in [*s.overhead.values(), *s.stranded.values()]:
        assert min(part.cpu_milli, part.memory_mib, part.gpu_milli) >= -1e-6, s.name
        total = total + part
    for got, want in zip(
        (total.cpu_milli, total.memory_mib, total.gpu_milli),
        (s.capacity.cpu_milli, s.capacity.memory_mib, s.capacity.gpu_milli),
        strict=True,
    ):
        assert got == pytest.approx(want), (s.name, total, s.capacity)


def check_inventory(sc: Scenario, p: SubstratePlacement) -> None:
    inventory = sc.hardware.inventory
    if inventory is None:
        assert p.sizing
        return
    stock = Counter[int]()
    names = [m.name for m in sc.hardware.host_models]
    for entry in inventory:
        stock[names.index(entry.model)] += entry.count
    assert Counter(p.hosts.model) <= stock


def _refuses_gpus(sc: Scenario, label: str) -> bool:
    """A vm substrate whose hypervisor attaches no GPU (Firecracker), with GPU workloads."""
    sub = sc.substrate(label)
    gpus = any(
        w.gpu_count and w.replicas for t in sc.tenants for c in t.clusters for w in c.workloads
    )
    return (
        gpus and isinstance(sub, Vm) and not load_defaults().hypervisors[sub.hypervisor].gpu_attach
    )


def _refused_share(sc: Scenario, label: str) -> str | None:
    """Why a GPU workload cannot run on the substrate at all (MIG on models without it,
    more GPU memory than its models have), as the error placement must give; else None."""
    sub = sc.substrate(label)
    for t in sc.tenants:
        for c in t.clusters:
            for w in c.workloads:
                try:
                    where = f"tenants {t.name!r}, workload {w.name!r}"
                    gpu_share(sc, load_defaults(sc.overrides), sub, w, where)
                except ScenarioError as exc:
                    return str(exc)
    return None


def check_bound(p: SubstratePlacement) -> None:
    assert p.lower_bound_hosts >= 0
    if not p.unplaced and not p.notes:
        assert p.lower_bound_hosts <= len(p.hosts), (p.lower_bound_hosts, len(p.hosts))


def _example(**data: Any) -> Scenario:
    return Scenario.model_validate(scenario_dict(simulation={"horizon_hours": 2}, **data))


ALL_KINDS = [
    {"kind": "baremetal-dedicated"},
    {"kind": "baremetal-shared"},
    {"kind": "vm", "sizing": "requests"},
    {"kind": "sandboxed"},
]
# Counterexamples from the review of issue 9 (each failed before its fix).
EXAMPLES_FOUND = [
    # Kata's quarter-GPU pod holds a whole GPU: the GPU identity lost 750 milli-GPUs.
    _example(
        hardware={"host_models": [make_host_model("m0", cores=16, memory="64Gi", gpus={"model": "a100", "count": 1})]},
        tenants=[{"name": "t0", "workloads": [{"name": "w", "replicas": 1, "requests": {"cpu": "0", "memory": "128Mi"},
                                               "gpu": {"count": 1, "fraction": 0.25, "memory": "4Gi"}}]}],
        substrates=ALL_KINDS,
        placement={"strategy": "first-fit-decreasing"},
    ),
    # 30 GiB of GPU memory is no L4's: the VMs went onto the L4 host all the same.
    _example(
        hardware={"host_models": [make_host_model("l4", gpus={"model": "L4", "count": 8}),
                                  make_host_model("a100", gpus={"model": "A100", "count": 8})]},
        tenants=[{"name": "t0", "workloads": [{"name": "w", "replicas": 4, "requests": {"cpu": "2", "memory": "4Gi"},
                                               "gpu": {"count": 1, "fraction": 0.5, "memory": "30Gi"}}]}],
        substrates=[*ALL_KINDS, {"kind": "vm", "name": "mig", "gpu_mode": "vgpu", "gpu_sharing": "mig"}],
    ),
    # GPU pods requesting no CPU filled a node past its pod slots under gpu-fragmentation.
    _example(
        hardware={"host_models": [make_host_model("g", gpus={"model": "L4", "count": 8})],
                  "inventory": [{"model": "g", "count": 5}]},
        tenants=[{"name": "t0", "max_pods": {"per_node": 12}, "workloads": [
            {"name": "w", "replicas": 40, "requests": {"cpu": "0", "memory": "0"}, "gpu": {"count": 1, "fraction": 0.125}}]}],
        substrates=[{"kind": "baremetal-dedicated"}, {"kind": "baremetal-shared", "max_pods": {"per_node": 12}}],
        placement={"strategy": "gpu-fragmentation"},
    ),
    # Worker VMs that found no host kept their pods' requests as used (burst room).
    _example(
        hardware={"host_models": [make_host_model(cores=16, memory="64Gi")], "inventory": [{"model": "std", "count": 2}]},
        tenants=[{"name": "t0", "workloads": [{"name": "w", "replicas": 20, "requests": {"cpu": "2", "memory": "4Gi"}}]}],
        substrates=ALL_KINDS,
    ),
    # Control planes as management VMs, and dedicated ones short of their model's hosts.
    _example(
        hardware={"host_models": [make_host_model("std"), make_host_model("cp", cores=8, memory="32Gi")],
                  "control_plane_model": "cp", "inventory": [{"model": "std", "count": 6}, {"model": "cp", "count": 4}]},
        tenants=[{"name": "t0", "control_plane": "management", "workloads": [{"name": "w", "replicas": 3, "requests": {"cpu": "1", "memory": "1Gi"}}]},
                 {"name": "t1", "control_plane": "dedicated", "workloads": [{"name": "w", "replicas": 3, "requests": {"cpu": "1", "memory": "1Gi"}}]}],
        substrates=[{"kind": "baremetal-dedicated"}, {"kind": "baremetal-shared", "control_plane": "management"}],
    ),
    # Found by this test before the review, kept until now only as test_substrate_bugs.py's
    # reproductions (this test steered around them with assume() while they were open):
    # a vGPU pod with no GPU host in stock divided by zero choosing VM shapes,
    _example(
        hardware={"host_models": [make_host_model("cpu"), make_host_model("gpu", gpus={"model": "a100", "count": 1})],
                  "inventory": [{"model": "cpu", "count": 4}]},
        tenants=[{"name": "t0", "workloads": [{"name": "w", "replicas": 1, "requests": {"cpu": "1", "memory": "4Gi"},
                                               "gpu": {"count": 1, "fraction": 0.25}}]}],
        substrates=[{"kind": "vm", "gpu_mode": "vgpu"}],
    ),
    # a workload of no replicas left an unplaced row of 0 pods,
    _example(
        hardware={"host_models": [make_host_model(gpus={"model": "a100", "count": 1})]},
        tenants=[{"name": "t0", "workloads": [{"name": "w", "replicas": 0, "requests": {"cpu": "1", "memory": "4Gi"},
                                               "gpu": {"count": 1}}]}],
        substrates=[{"kind": "vm", "shapes": [{"name": "s", "vcpus": 4, "memory": "16Gi"}]}],
    ),
    # control-plane VMs that found no host broke the host lower bound,
    _example(
        hardware={"inventory": [{"model": "std", "count": 1}]},
        tenants=[{"name": "t0", "workloads": [{"name": "w", "replicas": 2, "requests": {"cpu": "1", "memory": "4Gi"}}]}],
        substrates=[{"kind": "vm"}],
    ),
    # and (issue 9, defect 14) VMs pinned to a GPU model no host had opened yet indexed
    # past the GPU kernel's model table under gpu-fragmentation (IndexError).
    _example(
        hardware={"host_models": [make_host_model("cpu"), make_host_model("l4", gpus={"model": "L4", "count": 4}),
                                  make_host_model("a100", gpus={"model": "A100", "count": 8})]},
        tenants=[{"name": "t0", "workloads": [
            {"name": "a", "replicas": 4, "requests": {"cpu": "4", "memory": "4Gi"}, "gpu": {"count": 1, "models": ["A100"]}},
            {"name": "b", "replicas": 4, "requests": {"cpu": "4", "memory": "4Gi"},
             "gpu": {"count": 1, "fraction": 0.5, "models": ["L4"]}},
            {"name": "c", "replicas": 2, "requests": {"cpu": "4", "memory": "4Gi"}, "gpu": {"count": 1}}]}],
        substrates=[{"kind": "vm"}, {"kind": "vm", "name": "vgpu", "gpu_mode": "vgpu"}],
        placement={"strategy": "gpu-fragmentation"},
    ),
]  # fmt: skip


def _with_examples(test: Any) -> Any:
    for sc in reversed(EXAMPLES_FOUND):
        test = example(sc)(test)
    return test


@PROPERTY
@given(scenarios())
@_with_examples
def test_placement_invariants(sc: Scenario) -> None:
    defaults = load_defaults()
    for label in sc.substrate_labels:
        if _refuses_gpus(sc, label):
            with pytest.raises(ScenarioError, match="cannot attach GPUs"):
                place_one(sc, defaults, label)
            continue
        refused = _refused_share(sc, label)
        if refused is not None:
            with pytest.raises(ScenarioError) as exc:
                place_one(sc, defaults, label)
            assert str(exc.value) == refused
            continue
        p = place_one(sc, defaults, label)
        check_nodes(p)
        check_hosts(sc, p)
        check_pods(sc, p)
        check_devices(sc, p)
        check_inventory(sc, p)
        check_bound(p)
        check_identity(sc, p)


@settings(PROPERTY, max_examples=max(10, EXAMPLES // 3))
@given(scenario_dicts())
def test_same_input_same_output(data: dict[str, Any]) -> None:
    sc = Scenario.model_validate(copy.deepcopy(data))
    refused = [
        _refuses_gpus(sc, label) or _refused_share(sc, label) is not None
        for label in sc.substrate_labels
    ]
    if all(refused):
        with pytest.raises(ScenarioError):
            compare(sc)
        return
    if any(refused):  # compared without them (test_placement_invariants checks the error)
        data = {
            **data,
            "substrates": [s for s, r in zip(data["substrates"], refused, strict=True) if not r],
        }
        sc = Scenario.model_validate(copy.deepcopy(data))
    first = json.dumps(comparison_to_dict(compare(sc)), sort_keys=True)
    # A fresh scenario from the same data, so no state can leak through shared objects.
    again = Scenario.model_validate(copy.deepcopy(data))
    second = json.dumps(comparison_to_dict(compare(again)), sort_keys=True)
    assert first == second
