"""The kubelet configuration of the exported pools, checked against the reservation
formulas written out here (the defaults' rules, not the code's output)."""

from __future__ import annotations

import math
import re

import pytest
from cases import exported

from underlay.export.manifest import Manifest

GIB = 1024


def by_slices(amount: float, tiers: list[tuple[float | None, float]]) -> float:
    """Each share of its slice of ``amount``, slices in order (None: the rest)."""
    left, total = amount, 0.0
    for size, share in tiers:
        part = left if size is None else min(left, size)
        total += part * share
        left -= part
    return total


def gke_cpu_milli(cores: int) -> int:
    # GKE: 6 % of the first core, 1 % of the next, 0.5 % of the next 2, 0.25 % above 4
    return math.ceil(1000 * by_slices(cores, [(1, 0.06), (1, 0.01), (2, 0.005), (None, 0.0025)]))


def gke_memory_mib(memory_mib: int) -> int:
    # GKE: 25 % of the first 4 GiB, 20 % of the next 4, 10 % of the next 8, 6 % of the
    # next 112, 2 % above 128 GiB
    tiers = [(4, 0.25), (4, 0.20), (8, 0.10), (112, 0.06), (None, 0.02)]
    return math.ceil(by_slices(memory_mib / GIB, tiers) * GIB)


def test_the_tier_rule_matches_the_published_example() -> None:
    # cloud.google.com "Plan node sizes": 8 cores reserve 90m; 32 GiB reserve 3.56 GiB
    assert gke_cpu_milli(8) == 90
    assert gke_cpu_milli(3) == 60 + 10 + 5  # a slice cut short by the amount
    assert gke_memory_mib(32 * GIB) == math.ceil(3.56 * GIB)


def kubelet_of(manifests: list[Manifest], template_name: str) -> dict[str, str]:
    kct = next(
        m for m in manifests if m.kind == "KubeadmConfigTemplate" and m.name == template_name
    )
    reg = kct.body["spec"]["template"]["spec"]["joinConfiguration"]["nodeRegistration"]
    return {a["name"]: a["value"] for a in reg["kubeletExtraArgs"]}


def pool_of_model(manifests: list[Manifest], model: str) -> str:
    """The name of the first worker pool whose Metal3 machines are hosts of ``model``."""
    for m in manifests:
        if m.kind == "Metal3MachineTemplate" and not m.name.endswith("-control-plane"):
            selector = m.body["spec"]["template"]["spec"]["hostSelector"]["matchLabels"]
            if selector["underlay.io/host-model"] == model:
                return m.name
    raise AssertionError(f"no pool of {model}")


def reserved(args: dict[str, str]) -> tuple[int, int, int]:
    cpu, mem = re.fullmatch(r"cpu=(\d+)m,memory=(\d+)Mi", args["kube-reserved"]).groups()  # type: ignore[union-attr]
    evict = re.match(r"memory\.available<(\d+)Mi,", args["eviction-hard"])
    assert evict is not None
    return int(cpu), int(mem), int(evict.group(1))


@pytest.mark.parametrize(
    ("model", "cores", "memory_gib"),
    [("hgx-a100", 256, 2048), ("l4-inference", 96, 768)],  # examples/ai-platform.yaml
)
def test_gke_reservation_of_a_bare_metal_pool(model: str, cores: int, memory_gib: int) -> None:
    # (on baremetal-dedicated, a cluster's stacked control plane spans two host models:
    # refused, see test_export_cli.py)
    out = exported("ai-platform", "baremetal-shared", "capi-metal3")
    assert not isinstance(out, str)
    args = kubelet_of(out, pool_of_model(out, model))
    # hgx-a100: 60 + 10 + 2x5 + 252x2.5 = 710m; 1 + 0.8 + 0.8 + 6.72 + 0.02x1920 = 47.72
    # GiB = 48866 MiB (rounded up), and the 100 MiB eviction threshold apart
    assert reserved(args) == (gke_cpu_milli(cores), gke_memory_mib(memory_gib * GIB), 100)
    assert args["max-pods"] == "110"  # the kubelet default, no max_pods in the example


def test_eks_reservation_of_the_shared_cluster() -> None:
    out = exported("edge-site", "baremetal-shared", "capi-metal3")
    assert not isinstance(out, str)
    args = kubelet_of(out, pool_of_model(out, "edge-1u"))
    # examples/edge-site.yaml: edge-1u, 16 cores, 64 GiB; node_reservation: eks
    # CPU by the GKE tiers: 60 + 10 + 2x5 + 12x2.5 = 110m; memory 11 MiB x 110 pods + 255
    assert reserved(args) == (gke_cpu_milli(16), 11 * 110 + 255, 100)


def test_gke_reservation_of_each_vm_pool() -> None:
    out = exported("ai-platform", "vm-passthrough", "capi-kubevirt")
    assert not isinstance(out, str)
    pools = [m for m in out if m.kind == "KubevirtMachineTemplate"]
    assert pools
    for vm in pools:
        if vm.name.endswith("-control-plane"):
            continue
        domain = vm.body["spec"]["template"]["spec"]["virtualMachineTemplate"]["spec"]
        domain = domain["template"]["spec"]["domain"]
        cores = domain["cpu"]["cores"]
        guest = domain["memory"]["guest"]
        mib = int(guest[:-2]) * (GIB if guest.endswith("Gi") else 1)
        args = kubelet_of(out, vm.name)
        cpu, mem, evict = reserved(args)
        assert cpu == gke_cpu_milli(cores)
        assert mem == gke_memory_mib(mib)
        assert evict == 100
