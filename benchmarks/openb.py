"""GPU allocation ratio of the packing strategies on the Alibaba openb trace.

Follows the protocol of the trace's reference simulator (hkust-adsl/
kubernetes-scheduler-simulator, Weng et al., USENIX ATC 2023):

1. nodes: ``openb_node_list_gpu_node.csv`` (1,213 GPU nodes, 6,212 GPUs);
2. pods: the chosen pod list sorted by name, then shuffled with
   ``numpy.random.default_rng(seed)``;
3. clones drawn uniformly at random (same generator) from the original pods are
   appended while the total requested milli-GPU (``num_gpu * gpu_milli``) stays within
   ``--inflation`` (1.3) times the cluster's total milli-GPU; the first clone that would
   cross the limit ends the workload;
4. the pods are placed one by one in that order; the figure is the GPU allocation ratio
   (allocated milli-GPU / total milli-GPU) at the end.

It prints, per strategy, the mean / min / max over ``--seeds`` seeds and the wall time
per run (FGD's time includes building its typical-pod table), and a speed ratio against
a pure-Python per-pod best-fit on a small subset, measured in the same run (the two must
give identical placements).

Reported seeds and tuning. The figures are reported on seeds ``--first-seed`` (0) ..
+9. Every choice that was tuned rather than taken from the paper / reference simulator
was tuned on seeds 100-109 (``--first-seed 100``) of the default pod list and then left
alone, so the reported figure is not fitted to the reported seeds. Tuned (all in
``underlay.placement.gpu_packing``; FGD mean on seeds 100-109 in brackets):

* FGD's tie-breaker among equal node scores: best-fit's scalar (95.55 %) vs lowest
  node index (95.27 %) vs random (far lower);
* FGD's score resolution: the reference plugin's integer score
  ``floor(100 * sigmoid(-growth / 1000))`` (95.55 %) vs the exact growth (95.00 %);
* the typical workload: every pod type of the original list (95.55 %) vs the types
  covering 95 % of the pods, as the reference simulator keeps (95.4 %);
* memory as a reason a typical pod "cannot run" (kept, 95.55 %) vs ignored as in the
  reference simulator's node model (95.15 %).

Taken from the paper / reference without tuning: a GPU-less typical pod counts every
free milli-GPU as a fragment; fractional pods try every GPU of a node; typical pods are
built from the original (not inflated) pod list; best-fit is the reference's
``0.5 cpu'/max_cpu + 0.5 gpu'/max_gpu`` over the fleet's largest node.

VM section (``--vm``, on by default): the same pod sequences (same seeds) packed onto
VM-shaped nodes carved from the same hosts, with ``fgd`` and ``best-fit``:

* passthrough, ``g`` GPUs per VM (1, 2, 4, 8; a host with fewer GPUs than ``g`` is one
  VM of all its GPUs): each VM gets the host's CPU and memory pro rata to its GPUs,
  after the hypervisor's ``host_reserved`` (KVM profile of ``underlay.defaults``); its
  vCPUs are whole cores, of which ``cpu_overhead_percent`` is lost to virtualisation;
  its guest memory is what is left after the per-VM overhead
  (``vm_memory_overhead.mib(vcpus, memory, gpus)``); then the guest kubelet reserves
  GKE's tiers (``node_reservation``, 110 pods). A pod uses only its VM's GPUs, so a
  k-GPU pod needs a VM with k GPUs;
* vGPU: NVIDIA profiles are fixed slices, one vGPU per VM. Mix "1/2": on every host
  the first half of the GPUs (rounded up) are full-GPU VMs, each other GPU is split into
  two 1/2-GPU VMs; mix "1/4": likewise with four 1/4-GPU VMs. A slice is a node whose
  single GPU slot has ``free = slice`` milli (``GpuNodes`` keeps slots <= 1000), so a
  pod fits when its ``gpu_milli`` <= what is left of the slice; a multi-GPU pod fits no
  vGPU VM. For these nodes "fully free" means ``free == slice``, not 1000.

The ratio is allocated milli-GPU over the *hosts'* total milli-GPU; the loss is in
points against bare metal with the same strategy and seeds. Bare metal has no kubelet
or hypervisor reservation here (the trace's node capacities are used as allocatable),
so the loss includes the reservations as well as the GPU partitioning; the row
"bare metal + kubelet reserve" separates the kubelet part.

    .venv/bin/python benchmarks/openb.py                  # default pod list, 10 seeds
    .venv/bin/python benchmarks/openb.py --pods gpushare20 --seeds 3 --no-vm
    .venv/bin/python benchmarks/openb.py --first-seed 100 --no-vm   # the tuning seeds

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from underlay.defaults import load_defaults
from underlay.errors import TraceError
from underlay.importers.openb_trace import read_openb_nodes, read_openb_pods
from underlay.placement.gpu_packing import (
    FULL_GPU_MILLI,
    KERNEL_SCORERS,
    GpuNodes,
    GpuPods,
    TypicalPods,
    pack,
)
from underlay.placement.openb_inputs import openb_gpu_nodes, openb_gpu_pods
from underlay.placement.overheads import node_reservation

POD_LISTS = {
    "default": "openb_pod_list_default.csv",
    "multigpu20": "openb_pod_list_multigpu20.csv",
    "gpushare20": "openb_pod_list_gpushare20.csv",
}
NODE_LIST = "openb_node_list_gpu_node.csv"
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/openb"
PUBLISHED_BEST = 0.954  # the best policy's figure on this trace, as given in the brief


def workload(
    pods: GpuPods, order_by_name: np.ndarray, total_gpu_milli: int, inflation: float, seed: int
) -> GpuPods:
    """The reference protocol's pod sequence for one seed (see the module docstring)."""
    rng = np.random.default_rng(seed)
    base = rng.permutation(order_by_name)
    requested = pods.gpu_milli_requested
    total = int(requested.sum())
    limit = inflation * total_gpu_milli
    clones: list[int] = []
    while True:
        j = int(rng.integers(pods.n_pods))
        if total + int(requested[j]) > limit:
            break
        total += int(requested[j])
        clones.append(j)
    return pods.take(np.concatenate([base, np.array(clones, dtype=np.int64)]))


def pure_python_best_fit(nodes: GpuNodes, pods: GpuPods) -> list[tuple[int, int]]:
    """The same best-fit rule as the kernel, one pod and one node at a time."""
    cpu = nodes.cpu_free_milli.tolist()
    mem = nodes.memory_free_mib.tolist()
    gpu = nodes.gpu_free_milli.tolist()
    model = nodes.gpu_model.tolist()
    inf = float("inf")

    def cap(x: int) -> float:
        return float(x) if x > 0 else inf

    cpu_max = cap(max(nodes.cpu_capacity_milli.tolist(), default=0))
    gpu_max = cap(max(nodes.gpu_count.tolist(), default=0) * FULL_GPU_MILLI)
    out: list[tuple[int, int]] = []
    for i in range(pods.n_pods):
        c, m = int(pods.cpu_milli[i]), int(pods.memory_mib[i])
        k, d = int(pods.num_gpu[i]), int(pods.gpu_milli[i])
        allowed = pods.allowed_models[i].tolist()
        best, best_score, best_gpus = -1, inf, []
        for n in range(len(cpu)):
            if cpu[n] < c or mem[n] < m:
                continue
            gpus: list[int] = []
            if k:
                if not allowed[model[n]]:
                    continue
                fitting = sorted((f, g) for g, f in enumerate(gpu[n]) if f >= d)
                if len(fitting) < k:
                    continue
                gpus = [g for _, g in fitting[:k]]
            score = 0.5 * (cpu[n] - c) / cpu_max + 0.5 * (sum(gpu[n]) - k * d) / gpu_max
            if score < best_score:
                best, best_score, best_gpus = n, score, gpus
        if best < 0:
            out.append((-1, 0))
            continue
        cpu[best] -= c
        mem[best] -= m
        for g in best_gpus:
            gpu[best][g] -= d
        out.append((best, sum(1 << g for g in best_gpus)))
    return out


@dataclass(frozen=True)
class VmSlot:
    """One VM carved from host ``host``: its GPUs (or one slice) and its share."""

    host: int
    gpus: int  # GPU slots of the VM
    slot_milli: int  # capacity of each slot: 1000 (passthrough) or the vGPU slice
    share: float  # fraction of the host's CPU and memory it gets


def passthrough_vms(gpu_count: np.ndarray, per_vm: int) -> list[VmSlot]:
    """Each host split into VMs of ``per_vm`` whole GPUs (the rest in a smaller VM)."""
    out: list[VmSlot] = []
    for host, g in enumerate(gpu_count.tolist()):
        left = g
        while left > 0:
            take = min(per_vm, left)
            out.append(VmSlot(host, take, FULL_GPU_MILLI, take / g))
            left -= take
    return out


def vgpu_vms(gpu_count: np.ndarray, parts: int) -> list[VmSlot]:
    """Half the GPUs of each host (rounded up) as full-GPU VMs, the rest in 1/parts."""
    out: list[VmSlot] = []
    slice_milli = FULL_GPU_MILLI // parts
    for host, g in enumerate(gpu_count.tolist()):
        full = (g + 1) // 2
        out += [VmSlot(host, 1, FULL_GPU_MILLI, 1 / g)] * full
        out += [VmSlot(host, 1, slice_milli, 1 / (g * parts))] * ((g - full) * parts)
    return out


def vm_nodes(hosts: GpuNodes, vms: list[VmSlot]) -> GpuNodes:
    """Allocatable VM nodes: hypervisor reserve and overheads, then the guest kubelet's."""
    defaults = load_defaults()
    kvm = defaults.hypervisors["kvm"]
    kubelet = defaults.node_reservation["gke"]
    g_max = max(v.gpus for v in vms)
    cpu, mem, free, model, count = [], [], [], [], []
    for v in vms:
        cap_cpu = int(hosts.cpu_capacity_milli[v.host])
        cap_mem = int(hosts.memory_capacity_mib[v.host])
        # The hypervisor's reservation scales with the host (issue 9, defect 10).
        res_cpu, res_mem = kvm.host_reserved.for_host(cpu_milli=cap_cpu, memory_mib=cap_mem)
        host_cpu = max(cap_cpu - res_cpu, 0)
        host_mem = max(cap_mem - res_mem, 0)
        vcpus = int(host_cpu * v.share) // 1000  # whole vCPUs
        budget = int(host_mem * v.share)  # guest memory + the VM's own overhead
        guest = budget
        for _ in range(3):  # fixed point of guest = budget - overhead(guest)
            guest = budget - kvm.vm_memory_overhead.mib(vcpus=vcpus, memory_mib=guest, gpus=v.gpus)
        while (
            guest > 0
            and guest + kvm.vm_memory_overhead.mib(vcpus=vcpus, memory_mib=guest, gpus=v.gpus)
            > budget
        ):
            guest -= 1
        guest = max(guest, 0)
        cpu_milli = int(vcpus * 1000 * (1 - kvm.cpu_overhead_percent / 100))
        r_cpu, r_mem = node_reservation(
            kubelet, cpu_milli=vcpus * 1000, memory_mib=guest, max_pods=110
        )
        cpu.append(max(cpu_milli - r_cpu, 0))
        mem.append(max(guest - r_mem, 0))
        free.append([v.slot_milli] * v.gpus + [0] * (g_max - v.gpus))
        model.append(int(hosts.gpu_model[v.host]))
        count.append(v.gpus)
    cpu_a, mem_a = np.array(cpu, dtype=np.int64), np.array(mem, dtype=np.int64)
    return GpuNodes(
        cpu_free_milli=cpu_a,
        memory_free_mib=mem_a,
        gpu_free_milli=np.array(free, dtype=np.int32).reshape(len(vms), g_max),
        gpu_model=np.array(model, dtype=np.int32),
        model_names=hosts.model_names,
        cpu_capacity_milli=cpu_a.copy(),
        memory_capacity_mib=mem_a.copy(),
        gpu_count=np.array(count, dtype=np.int64),
    )


def kubelet_reserved(hosts: GpuNodes) -> GpuNodes:
    """Bare-metal hosts minus the kubelet's GKE reservation (no hypervisor)."""
    kubelet = load_defaults().node_reservation["gke"]
    cpu, mem = [], []
    for c, m in zip(
        hosts.cpu_capacity_milli.tolist(), hosts.memory_capacity_mib.tolist(), strict=True
    ):
        r_cpu, r_mem = node_reservation(kubelet, cpu_milli=c, memory_mib=m, max_pods=110)
        cpu.append(c - r_cpu)
        mem.append(m - r_mem)
    cpu_a, mem_a = np.array(cpu, dtype=np.int64), np.array(mem, dtype=np.int64)
    return GpuNodes(
        cpu_a,
        mem_a,
        hosts.gpu_free_milli.copy(),
        hosts.gpu_model.copy(),
        hosts.model_names,
        cpu_a.copy(),
        mem_a.copy(),
        hosts.gpu_count.copy(),
    )


def vm_configurations(hosts: GpuNodes) -> list[tuple[str, GpuNodes]]:
    """The VM shapes compared against bare metal (see the module docstring)."""
    count = hosts.gpu_count
    configs = [("bare metal + kubelet reserve", kubelet_reserved(hosts))]
    for g in (1, 2, 4, 8):
        configs.append((f"passthrough {g} GPU/VM", vm_nodes(hosts, passthrough_vms(count, g))))
    for parts, label in ((2, "1/2"), (4, "1/4")):
        configs.append((f"vGPU half full + {label}", vm_nodes(hosts, vgpu_vms(count, parts))))
    return configs


@dataclass
class Row:
    strategy: str
    ratios: list[float]
    seconds: list[float]
    failed: list[int]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="openb CSV folder")
    parser.add_argument("--pods", choices=sorted(POD_LISTS), default="default")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="first seed (0; tuning used 100)")
    parser.add_argument(
        "--vm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also pack onto VM-shaped nodes (passthrough and vGPU)",
    )
    parser.add_argument("--strategies", default=",".join(KERNEL_SCORERS))
    parser.add_argument("--inflation", type=float, default=1.3)
    parser.add_argument(
        "--baseline-pods",
        type=int,
        default=400,
        help="pods for the pure-Python speed baseline (0 = skip)",
    )
    args = parser.parse_args(argv)

    node_file, pod_file = args.data / NODE_LIST, args.data / POD_LISTS[args.pods]
    for f in (node_file, pod_file):
        if not f.is_file():
            print(
                f"Error: {f} not found; point --data at the openb folder "
                "(../shared/data/openb from the repository root)",
                file=sys.stderr,
            )
            return 2
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in KERNEL_SCORERS]
    if unknown:
        print(f"Error: unknown strategies {unknown}; choose from {KERNEL_SCORERS}", file=sys.stderr)
        return 2
    try:
        node_table = read_openb_nodes(node_file)
        pod_table = read_openb_pods(pod_file)
    except TraceError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    nodes = openb_gpu_nodes(node_table)
    pods = openb_gpu_pods(pod_table, nodes.model_names)
    by_name = pod_table.sorted_by_name()
    typical = TypicalPods.from_pods(pods)
    print(
        f"openb {args.pods}: {nodes.n_nodes} nodes, {nodes.total_gpu_milli // 1000} GPUs, "
        f"{pods.n_pods} pods ({typical.n_types} types), inflation {args.inflation}, "
        f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
    )

    seeds = range(args.first_seed, args.first_seed + args.seeds)
    rows = {s: Row(s, [], [], []) for s in strategies}
    sizes: list[int] = []
    for seed in seeds:
        work = workload(pods, by_name, nodes.total_gpu_milli, args.inflation, seed)
        sizes.append(work.n_pods)
        for s in strategies:
            start = time.perf_counter()
            # FGD's typical pods come from the original list: the target workload
            result = pack(nodes, work, s, TypicalPods.from_pods(pods) if s == "fgd" else None)
            rows[s].seconds.append(time.perf_counter() - start)
            rows[s].ratios.append(result.gpu_allocation_ratio)
            rows[s].failed.append(result.n_failed)
    print(f"pods placed per run: {min(sizes)}..{max(sizes)}\n")
    header = f"{'strategy':<16}{'mean %':>9}{'min %':>9}{'max %':>9}{'failed':>9}{'s/run':>9}"
    print(header)
    print("-" * len(header))
    for row in rows.values():
        print(
            f"{row.strategy:<16}{100 * statistics.mean(row.ratios):>9.2f}"
            f"{100 * min(row.ratios):>9.2f}{100 * max(row.ratios):>9.2f}"
            f"{statistics.mean(row.failed):>9.0f}{statistics.mean(row.seconds):>9.3f}"
        )
    if "fgd" in rows and args.pods == "default":  # the published figure is for default
        fgd = statistics.mean(rows["fgd"].ratios)
        gap = 100 * (fgd - PUBLISHED_BEST)
        print(f"\nfgd mean vs the published best ({100 * PUBLISHED_BEST:.1f} %): {gap:+.2f} points")

    if args.vm:
        vm_section(nodes, pods, by_name, typical, seeds, args.inflation, rows)

    if args.baseline_pods > 0:
        subset = workload(pods, by_name, nodes.total_gpu_milli, args.inflation, 0)
        subset = subset.take(np.arange(min(args.baseline_pods, subset.n_pods)))
        start = time.perf_counter()
        slow = pure_python_best_fit(nodes, subset)
        t_slow = time.perf_counter() - start
        start = time.perf_counter()
        fast = pack(nodes, subset, "best-fit")
        t_fast = time.perf_counter() - start
        same = slow == list(zip(fast.node_of_pod.tolist(), fast.gpu_mask.tolist(), strict=True))
        print(
            f"\nbest-fit on the first {subset.n_pods} pods of seed 0: pure Python "
            f"{t_slow:.3f} s, kernel {t_fast:.3f} s, ratio {t_slow / t_fast:.1f}x, "
            f"identical placements: {same}"
        )
    return 0


def vm_section(
    hosts: GpuNodes,
    pods: GpuPods,
    by_name: np.ndarray,
    typical: TypicalPods,
    seeds: range,
    inflation: float,
    bare: dict[str, Row],
) -> None:
    """Pack the same pod sequences onto VM-shaped nodes; print ratio and loss."""
    vm_strategies = ("fgd", "best-fit")
    host_milli = hosts.total_gpu_milli
    bare_mean: dict[str, float] = {}
    for s in vm_strategies:
        if s in bare:
            bare_mean[s] = statistics.mean(bare[s].ratios)
    configs = vm_configurations(hosts)
    print(
        "\nVMs on the same hosts (KVM defaults: host reserve, CPU overhead, per-VM "
        "memory; guest kubelet: GKE);\nratio = allocated milli-GPU / hosts' milli-GPU, "
        "loss = points vs bare metal (same strategy, same seeds)\n"
    )
    header = (
        f"{'configuration':<30}{'nodes':>7}{'strategy':>10}{'mean %':>9}{'min %':>9}"
        f"{'max %':>9}{'loss':>8}{'s/run':>8}"
    )
    print(header)
    print("-" * len(header))
    works = [workload(pods, by_name, host_milli, inflation, seed) for seed in seeds]
    for label, vm in configs:
        for s in vm_strategies:
            ratios, secs = [], []
            for work in works:
                start = time.perf_counter()
                result = pack(vm, work, s, typical if s == "fgd" else None)
                secs.append(time.perf_counter() - start)
                placed = int(work.gpu_milli_requested[result.placed].sum())
                ratios.append(placed / host_milli)
            mean = statistics.mean(ratios)
            loss = f"{100 * (bare_mean[s] - mean):>8.2f}" if s in bare_mean else f"{'-':>8}"
            print(
                f"{label:<30}{vm.n_nodes:>7}{s:>10}{100 * mean:>9.2f}{100 * min(ratios):>9.2f}"
                f"{100 * max(ratios):>9.2f}{loss}{statistics.mean(secs):>8.2f}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
