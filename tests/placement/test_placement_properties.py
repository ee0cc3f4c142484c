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

``UNDERLAY_HYPOTHESIS_EXAMPLES`` raises the example count for a longer hunt.
"""

from __future__ import annotations

import copy
import json
import os
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import make_host_model, scenario_dict
from underlay.defaults.catalog import load_defaults
from underlay.errors import ScenarioError
from underlay.model.scenario import Scenario, Vm
from underlay.pipeline import compare
from underlay.pipeline import place as place_one
from underlay.placement.result import WORKER, SubstratePlacement
from underlay.report.json import comparison_to_dict

EXAMPLES = int(os.environ.get("UNDERLAY_HYPOTHESIS_EXAMPLES", "50"))
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
CPUS = ["100m", "250m", "500m", "1", "2", "3", "4", "8", "16", "24"]
MEMORIES = ["128Mi", "512Mi", "1Gi", "2Gi", "4Gi", "16Gi", "48Gi"]


@st.composite
def host_models(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 3))
    out = []
    for i in range(count):
        extra: dict[str, Any] = {}
        if (draw(st.booleans()) and i > 0) or draw(st.integers(0, 5)) == 0:
            extra["gpus"] = {
                "model": draw(st.sampled_from(["a100", "h100"])),
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
            w["gpu"] = gpu
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
    tenants = []
    for t in range(draw(st.integers(1, 3))):
        tenant: dict[str, Any] = {
            "name": f"t{t}",
            "kubernetes_version": draw(st.sampled_from(["1.31", "1.32", "1.33"])),
            "control_plane": draw(st.sampled_from(["dedicated", "hosted"])),
            "workloads": draw(workloads(gpu_models, f"t{t}")),
        }
        if draw(st.booleans()):
            per_node = draw(st.sampled_from([32, 110, 250]))
            tenant["max_pods"] = {
                "per_node": per_node,
                "pod_cidr_prefix": 23 if per_node > 128 else 24,
            }
        tenants.append(tenant)
    vm: dict[str, Any] = {
        "kind": "vm",
        "hypervisor": draw(st.sampled_from(["kvm", "esxi", "firecracker"])),
        "gpu_mode": draw(st.sampled_from(["passthrough", "vgpu"])),
        "cpu_overcommit": draw(st.sampled_from([1.0, 1.0, 2.0])),
        "memory_overcommit": draw(st.sampled_from([1.0, 1.0, 1.5])),
    }
    if draw(st.integers(0, 3)) == 0:
        vm["shapes"] = [
            {
                "name": "fixed",
                "vcpus": draw(st.sampled_from([4, 8, 16])),
                "memory": draw(st.sampled_from(["16Gi", "32Gi", "64Gi"])),
            }
        ]
    return scenario_dict(
        hardware=hardware,
        tenants=tenants,
        substrates=[
            {"kind": "baremetal-dedicated"},
            {"kind": "baremetal-shared"},
            vm,
            {"kind": "sandboxed", "runtime": draw(st.sampled_from(["kata", "gvisor"]))},
        ],
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
        # One node per host, the node is the whole host.
        assert on.all()
        assert len(set(n.host.tolist())) == len(n)
        assert (n.size_cpu == p.host_cpu[n.host]).all()
        assert (n.size_mem == p.host_mem[n.host]).all()
        assert (n.gpu_cap_milli <= p.host_gpus[n.host] * 1000).all()
        return
    vm = sc.substrate(p.name)
    assert isinstance(vm, Vm)
    cpu = np.ceil(n.size_cpu[on] / vm.cpu_overcommit)
    mem = np.ceil(n.size_mem[on] / vm.memory_overcommit) + n.vm_overhead_mem[on]
    vm_cpu = np.bincount(n.host[on], weights=cpu, minlength=hosts)
    vm_mem = np.bincount(n.host[on], weights=mem, minlength=hosts)
    vm_gpu = np.bincount(n.host[on], weights=n.gpu_cap_milli[on], minlength=hosts)
    assert (vm_cpu + p.host_hypervisor_cpu <= p.host_cpu).all()
    assert (vm_mem + p.host_hypervisor_mem <= p.host_mem).all()
    assert (vm_gpu <= p.host_gpus * 1000).all()


def check_pods(sc: Scenario, p: SubstratePlacement) -> None:
    unplaced = Counter[int]()
    for u in p.unplaced:
        if u.pods == 0 and u.reason.resource == "vm_shape":
            continue  # known bug: test_substrate_bugs.py::test_no_unplaced_rows_of_zero_pods
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


def check_bound(p: SubstratePlacement) -> None:
    assert p.lower_bound_hosts >= 0
    if not p.unplaced and not p.notes:
        assert p.lower_bound_hosts <= len(p.hosts), (p.lower_bound_hosts, len(p.hosts))


@PROPERTY
@given(scenarios())
def test_placement_invariants(sc: Scenario) -> None:
    defaults = load_defaults()
    for label in sc.substrate_labels:
        if _refuses_gpus(sc, label):
            with pytest.raises(ScenarioError, match="cannot attach GPUs"):
                place_one(sc, defaults, label)
            continue
        p = place_one(sc, defaults, label)
        check_nodes(p)
        check_hosts(sc, p)
        check_pods(sc, p)
        check_inventory(sc, p)
        check_bound(p)


@settings(PROPERTY, max_examples=max(10, EXAMPLES // 3))
@given(scenario_dicts())
def test_same_input_same_output(data: dict[str, Any]) -> None:
    sc = Scenario.model_validate(copy.deepcopy(data))
    refused = [_refuses_gpus(sc, label) for label in sc.substrate_labels]
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
