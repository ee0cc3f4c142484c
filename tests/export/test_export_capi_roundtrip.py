"""Export, provision, import: the Cluster API targets' objects, provisioned, read back by
``underlay import kubectl``'s builder, give the placement's worker nodes (issue 16).

"Provision" is what Cluster API and the kubelet make of the exported objects: each
MachineDeployment brings up ``replicas`` Nodes whose capacity is its machine's — Metal3:
the host model its ``hostSelector`` names (the scenario's figures); KubeVirt: the VM's
``cores`` and guest memory; vSphere: ``numCPUs`` and ``memoryMiB`` — with ``pods`` at
the ``max-pods`` its KubeadmConfigTemplate gives the kubelet. The kubelet's own rule
(kubernetes.io, "Reserve Compute Resources for System Daemons", "Node Allocatable")
gives the allocatable it reports:

    allocatable = capacity - kube-reserved - system-reserved - eviction-hard

(the eviction threshold is on memory only; pods: max-pods). Each pool's Nodes go
through the import builder twice: as the cluster shows them (the builder reads the
capacity: shapes, counts and max pods) and with their allocatable only (the builder's
fallback: the allocatable figures). Both must be the placement node table's figures of
the same workers: ``size_*``, ``size_* - reserved_*`` and the pods placement allowed
(its tenant pods plus the DaemonSet pods).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from cases import export_input, first_exported

from underlay.export.manifest import ExportInput, Manifest
from underlay.importers.kubectl import build_scenario
from underlay.model.quantities import cpu_to_milli, memory_to_mib
from underlay.placement.result import HOSTED_POOL, WORKER

HOST_MODEL = "underlay.io/host-model"  # the label the Metal3 host selectors match
PROBE = {"cpu": "100m", "memory": "64Mi"}  # one pod: the builder needs some

# (cpu milli, memory MiB, whole GPUs, allocatable cpu, allocatable memory, pods)
Node = tuple[int, int, int, int, int, int]


def _args(kct: Manifest) -> dict[str, str]:
    reg = kct.body["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    return {a["name"]: a["value"] for a in reg["kubeletExtraArgs"]}


def _reserved(value: str) -> tuple[int, int]:
    """``cpu=313m,memory=27157Mi`` → (313, 27157)."""
    pairs = dict(item.split("=", 1) for item in value.split(","))
    return cpu_to_milli(pairs.get("cpu", "0")), memory_to_mib(pairs.get("memory", "0"))


def _eviction_mib(value: str) -> int:
    """The ``memory.available<NMi`` threshold of an eviction-hard value."""
    (memory,) = [s for s in value.split(",") if s.startswith("memory.available<")]
    return memory_to_mib(memory.removeprefix("memory.available<"))


def _capacity(template: Manifest, inp: ExportInput) -> tuple[int, int, int]:
    """The machine a template makes: CPU milli, memory MiB, whole GPUs (vGPU slices are
    not a whole ``nvidia.com/gpu``)."""
    spec = template.body["spec"]["template"]["spec"]
    if template.kind == "Metal3MachineTemplate":
        name = spec["hostSelector"]["matchLabels"][HOST_MODEL]
        (m,) = [m for m in inp.scenario.hardware.host_models if m.name == name]
        return m.cpu_milli, m.memory_mib, m.gpus.count if m.gpus else 0
    if template.kind == "KubevirtMachineTemplate":
        domain = spec["virtualMachineTemplate"]["spec"]["template"]["spec"]["domain"]
        gpus = domain["devices"].get("gpus", [])
        whole = [g for g in gpus if "/GRID_" not in g["deviceName"]]
        return domain["cpu"]["cores"] * 1000, memory_to_mib(domain["memory"]["guest"]), len(whole)
    assert template.kind == "VSphereMachineTemplate", template.kind
    whole = [d for d in spec.get("pciDevices", []) if "vGPUProfile" not in d]
    return spec["numCPUs"] * 1000, spec["memoryMiB"], len(whole)


def _provisioned(md: Manifest, out: list[Manifest], inp: ExportInput) -> list[dict[str, Any]]:
    """The Nodes the MachineDeployment ``md`` brings up, as the API server shows them."""
    spec = md.body["spec"]["template"]["spec"]
    (kct,) = [
        m
        for m in out
        if m.kind == "KubeadmConfigTemplate" and m.name == spec["bootstrap"]["configRef"]["name"]
    ]
    ref = spec["infrastructureRef"]
    (template,) = [m for m in out if m.kind == ref["kind"] and m.name == ref["name"]]
    cpu, memory, gpus = _capacity(template, inp)
    args = _args(kct)
    kube_cpu, kube_mem = _reserved(args["kube-reserved"])
    sys_cpu, sys_mem = _reserved(args.get("system-reserved", "cpu=0m,memory=0Mi"))
    # the kubelet's rule: capacity - kube-reserved - system-reserved - eviction-hard
    alloc_cpu = cpu - kube_cpu - sys_cpu
    alloc_mem = memory - kube_mem - sys_mem - _eviction_mib(args["eviction-hard"])
    capacity = {"cpu": f"{cpu}m", "memory": f"{memory}Mi", "pods": args["max-pods"]}
    allocatable = {"cpu": f"{alloc_cpu}m", "memory": f"{alloc_mem}Mi", "pods": args["max-pods"]}
    if gpus:
        capacity["nvidia.com/gpu"] = allocatable["nvidia.com/gpu"] = str(gpus)
    labels = md.body["spec"]["template"]["metadata"]["labels"]
    return [
        {
            "kind": "Node",
            "metadata": {"name": f"{md.name}-{i}", "labels": labels},
            "status": {"capacity": capacity, "allocatable": allocatable},
        }
        for i in range(md.body["spec"]["replicas"])
    ]


def _imported(nodes: list[dict[str, Any]]) -> list[tuple[int, int, int, int, int]]:
    """(cpu, memory, GPUs, pods, count) of each host model the builder reads."""
    pod = {
        "kind": "Pod",
        "metadata": {"name": "probe", "namespace": "probe"},
        "spec": {"containers": [{"name": "probe", "resources": {"requests": PROBE}}]},
        "status": {"phase": "Running"},
    }
    sc = build_scenario(nodes, [pod], name="capiroundtrip").scenario
    (policy,) = {c.max_pods for t in sc.tenants for c in t.clusters}
    counts = {i.model: i.count for i in sc.hardware.inventory or []}
    return [
        (
            m.cpu_milli,
            m.memory_mib,
            m.gpus.count if m.gpus else 0,
            policy.limit(m.cpu_milli),
            counts[m.name],
        )
        for m in sc.hardware.host_models
    ]


def _round_trip(out: list[Manifest], inp: ExportInput) -> Counter[Node]:
    """Every worker the MachineDeployments bring up, as the import builder reads it."""
    got: Counter[Node] = Counter()
    for md in (m for m in out if m.kind == "MachineDeployment"):
        nodes = _provisioned(md, out, inp)
        ((cpu, mem, gpus, pods, count),) = _imported(nodes)
        only_allocatable = [
            {**n, "status": {"allocatable": n["status"]["allocatable"]}} for n in nodes
        ]
        ((a_cpu, a_mem, a_gpus, a_pods, a_count),) = _imported(only_allocatable)
        assert (a_gpus, a_pods, a_count) == (gpus, pods, count)
        got[(cpu, mem, gpus, a_cpu, a_mem, pods)] += count
    return got


def _placed_workers(inp: ExportInput) -> Counter[Node]:
    """The placement's worker nodes (not stacked control planes, not hosted pools)."""
    n = inp.placement.nodes
    rows = np.flatnonzero(
        (n.role == WORKER) & (n.control_plane_cpu == 0) & (n.cluster != HOSTED_POOL)
    )
    cap = n.gpu_cap_milli[rows]
    whole = np.where(cap % 1000 == 0, cap // 1000, 0)
    table = np.stack(
        [
            n.size_cpu[rows],
            n.size_mem[rows],
            whole,
            n.size_cpu[rows] - n.reserved_cpu[rows],
            n.size_mem[rows] - n.reserved_mem[rows],
            n.alloc_pods[rows] + n.system_pods[rows],
        ],
        axis=1,
    )
    return Counter((a, b, c, d, e, f) for a, b, c, d, e, f in table.tolist())


CASES = [
    ("ai-platform", "capi-metal3"),
    ("ai-platform", "capi-kubevirt"),
    ("ai-platform", "capi-vsphere"),
    ("edge-platform", "capi-vsphere"),
    ("edge-site", "capi-metal3"),
    ("hybrid-platform", "capi-metal3"),
    ("hybrid-platform", "capi-kubevirt"),
    ("saas-platform", "capi-metal3"),
]


def _exported(example: str, target: str) -> tuple[ExportInput, list[Manifest]]:
    label, out = first_exported(example, target)
    assert label is not None and not isinstance(out, str), out
    return export_input(example, label), out


@pytest.mark.parametrize(("example", "target"), CASES)
def test_provisioned_workers_import_as_the_placed_ones(example: str, target: str) -> None:
    inp, out = _exported(example, target)
    got = _round_trip(out, inp)
    assert got, "no MachineDeployment exported"
    assert got == _placed_workers(inp)


def _with_arg(out: list[Manifest], name: str, value: str) -> list[Manifest]:
    """``out`` with the first pool's kubelet argument ``name`` set to ``value``."""
    kct = next(m for m in out if m.kind == "KubeadmConfigTemplate")
    reg = kct.body["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    args = [a for a in reg["kubeletExtraArgs"] if a["name"] != name]
    args.append({"name": name, "value": value})
    spec = {"joinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": args}}}
    body = {**kct.body, "spec": {"template": {"spec": spec}}}
    return [Manifest(body, kct.file) if m is kct else m for m in out]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("system-reserved", "cpu=1m"),  # one millicore more kept back
        ("system-reserved", "memory=1Mi"),
        ("max-pods", "7"),
    ],
)
def test_a_perturbed_kubelet_argument_is_caught(name: str, value: str) -> None:
    inp, out = _exported("saas-platform", "capi-metal3")
    assert _round_trip(out, inp) == _placed_workers(inp)
    assert _round_trip(_with_arg(out, name, value), inp) != _placed_workers(inp)
