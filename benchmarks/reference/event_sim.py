"""A straightforward per-event reference implementation of underlay's contention model.

Benchmark-only (``benchmarks/simulate.py`` uses it; it needs ``simpy``, which is not a
dependency of underlay). It is written from the module docstrings of
``underlay.simulation.contention`` and ``underlay.simulation.engine``, NOT by calling
their functions: plain Python floats, one pod at a time.

The model, as the docstrings state it (per step, per kernel = a bare-metal node or a VM):

- **memory** first: a pod whose memory is above its memory limit is OOM-killed; if the
  memory of the pods still running exceeds the kernel's allocatable memory, the kubelet
  evicts in Kubernetes' order — BestEffort first, then Burstable by how far usage exceeds
  the request (largest first), Guaranteed last; ties in canonical pod order — from the
  front until the rest fits. A killed or evicted pod gets no CPU that step; what it
  wanted within its limit is counted apart (``killed``). Every killed pod-step counts as
  one kill (the pod restarts and is killed again while it stays over the line).
- **CPU** (CFS): demand above the limit is throttled; each pod is guaranteed up to its
  request; the CPU left on the kernel is water-filled among the pods that want more, by
  weight max(request, 2m), each capped at what it wants. The water-filling is exact:
  rounds repeat until no pod wants more or no CPU is left (at most pods + 1 rounds);
  ``rounds=N`` stops after N rounds instead (underlay did, with 3, before fbe0bc0 — kept
  to measure what that truncation changed).
  Unmet = wanted within the limit, not granted.
- **VMs with CPU overcommit > 1**: on each host, a VM is guaranteed min(its pods' grant,
  vCPUs ÷ overcommit); the host's CPU left (cores minus the hypervisor's reservation; its
  CPU tax is already in the VMs' inflated demand) is
  water-filled among the VMs by vCPU weight, capped at what each VM's pods were granted;
  a VM's pods lose the rest in proportion (CPU-ready).
- the substrate's CPU overhead multiplies demand (VMs and sandboxes); a sandbox adds the
  runtime's pod overhead to each pod's requests, limits and memory use.

It is driven as SimPy processes: one process per host, which at each simulated step
works through the host's kernels (and, on an overcommitted VM host, the host-level
share) and then waits one step. Demand comes in as (pods × steps) arrays in underlay's
canonical pod order (``underlay.simulation.usage.UsageSampler`` output), so the engine
and the reference see exactly the same input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

QOS_RANK = {"besteffort": 0, "burstable": 1, "guaranteed": 2}
MIN_SHARES_MILLI = 2.0
MEASURES = ("demand", "granted", "unmet", "throttled", "ready", "killed", "oom", "evict")


@dataclass
class Pod:
    index: int  # canonical (row of the demand arrays)
    tenant: int
    req_cpu: float
    lim_cpu: float
    req_mem: float
    lim_mem: float
    rank: int  # eviction rank: 0 BestEffort, 1 Burstable, 2 Guaranteed


@dataclass
class Kernel:
    cap_cpu: float
    cap_mem: float
    vcpus_milli: float
    pods: list[Pod] = field(default_factory=list)


@dataclass
class Host:
    usable_cpu: float  # cores minus the hypervisor's share (millicores)
    kernels: list[Kernel] = field(default_factory=list)


@dataclass
class Model:
    hosts: list[Host]
    cpu_factor: float
    sandbox_mem: float
    vm_overcommit: float  # > 1 only on a vm substrate with CPU overcommit
    tenants: int
    step_s: float


def build(scenario: Any, defaults: Any, placement: Any) -> Model:
    """Pods, kernels and hosts of one placement, from the scenario and placement data."""
    substrate = scenario.substrate(placement.name)
    kind = substrate.kind
    cpu_factor, sb_cpu, sb_mem, overcommit, host_reserved = 1.0, 0.0, 0.0, 1.0, 0.0
    if kind == "vm":
        h = defaults.hypervisors[substrate.hypervisor]
        cpu_factor = 1.0 / (1.0 - h.cpu_overhead_percent / 100.0)
        overcommit = substrate.cpu_overcommit
        host_reserved = float(h.host_reserved.cpu_milli)
    elif kind == "sandboxed":
        r = defaults.sandbox_runtimes[substrate.runtime]
        cpu_factor = 1.0 / (1.0 - r.cpu_overhead_percent / 100.0)
        sb_cpu, sb_mem = float(r.pod_overhead.cpu_milli), float(r.pod_overhead.memory_mib)
    nodes = placement.nodes
    kernels: dict[int, Kernel] = {}
    index = 0
    for w, ref in enumerate(placement.workloads):
        wl = ref.workload
        req_c, req_m = float(wl.requests.cpu_milli), float(wl.requests.memory_mib)
        lim = wl.limits
        lim_c = float(lim.cpu_milli) if lim is not None and lim.cpu_milli else math.inf
        lim_m = float(lim.memory_mib) if lim is not None and lim.memory_mib else math.inf
        # Canonical numbering: workload by workload, replica by replica; the first
        # replicas go to the workload's nodes in node order.
        on_nodes = [int(n) for n, c in zip(placement.pod_nodes[w], placement.pod_counts[w],
                                           strict=True) for _ in range(int(c))]  # fmt: skip
        for r in range(wl.replicas):
            if r < len(on_nodes):
                n = on_nodes[r]
                if n not in kernels:
                    kernels[n] = Kernel(
                        cap_cpu=float(nodes.alloc_cpu[n]),
                        cap_mem=float(nodes.alloc_mem[n]),
                        vcpus_milli=float(nodes.size_cpu[n]),
                    )
                kernels[n].pods.append(Pod(
                    index=index, tenant=ref.tenant_index, req_cpu=req_c + sb_cpu,
                    lim_cpu=lim_c + sb_cpu, req_mem=req_m + sb_mem, lim_mem=lim_m + sb_mem,
                    rank=QOS_RANK[wl.qos_class],
                ))  # fmt: skip
            index += 1
    hosts: dict[int, Host] = {}
    for n in sorted(kernels):
        h = int(nodes.host[n])
        if h not in hosts:
            usable = float(placement.host_cpu[h]) - host_reserved
            hosts[h] = Host(usable_cpu=usable)
        hosts[h].kernels.append(kernels[n])
    for k in kernels.values():  # canonical order inside each kernel
        k.pods.sort(key=lambda p: p.index)
    return Model(
        hosts=[hosts[h] for h in sorted(hosts)],
        cpu_factor=cpu_factor,
        sandbox_mem=sb_mem,
        vm_overcommit=overcommit if kind == "vm" else 1.0,
        tenants=len(scenario.tenants),
        step_s=scenario.simulation.step_minutes * 60.0,
    )


def water_fill(
    want: list[float], weight: list[float], free: float, rounds: int | None = None
) -> list[float]:
    """Share ``free`` by ``weight``, each capped at ``want``; exact unless ``rounds``."""
    n = len(want)
    given = [0.0] * n
    left = list(want)
    free = max(free, 0.0)
    done = 0
    while free > 0.0 and (rounds is None or done < rounds):
        active = [i for i in range(n) if left[i] > 0.0]
        if not active:
            break
        total_w = sum(weight[i] for i in active)
        per_w = free / max(total_w, 1e-9)
        handed = 0.0
        for i in active:
            g = min(left[i], weight[i] * per_w)
            given[i] += g
            left[i] -= g
            handed += g
        done += 1
        if handed <= 0.0:
            break  # nothing changes any more
        # Every active pod either took its full weighted share (then all of ``free`` went
        # out) or was capped (it leaves the active set): stop when nothing is left.
        free = max(free - handed, 0.0)
        if free <= 1e-9 * max(1.0, total_w):
            break
    return given


def kernel_step(
    k: Kernel, s: int, cpu: np.ndarray, mem: np.ndarray, m: Model, acc: dict[str, list[float]],
    rounds: int | None,
) -> tuple[list[Pod], list[float]]:  # fmt: skip
    """One step on one kernel; returns the running pods and their grants (for CPU-ready)."""
    # --- memory: OOM over the own limit, then evictions for node pressure
    held: list[tuple[Pod, float]] = []
    oom: set[int] = set()
    for p in k.pods:
        use = float(mem[p.index, s]) + m.sandbox_mem
        if use > p.lim_mem:
            oom.add(p.index)
        else:
            held.append((p, use))
    evicted: set[int] = set()
    rest = sum(u for _, u in held)
    if rest > k.cap_mem:
        for _pos, (p, use) in sorted(
            enumerate(held), key=lambda e: (e[1][0].rank, -(e[1][1] - e[1][0].req_mem), e[0])
        ):
            if rest <= k.cap_mem:
                break
            evicted.add(p.index)
            rest -= use
    # --- CPU on the running pods
    running: list[Pod] = []
    guaranteed: list[float] = []
    want: list[float] = []
    weight: list[float] = []
    for p in k.pods:
        d = float(cpu[p.index, s]) * m.cpu_factor
        acc["demand"][p.tenant] += d
        allowed = min(d, p.lim_cpu)
        if p.index in oom or p.index in evicted:
            acc["oom" if p.index in oom else "evict"][p.tenant] += 1
            acc["killed"][p.tenant] += allowed
            continue
        acc["throttled"][p.tenant] += d - allowed
        g = min(allowed, p.req_cpu)
        running.append(p)
        guaranteed.append(g)
        want.append(allowed - g)
        weight.append(max(p.req_cpu, MIN_SHARES_MILLI))
    extra = water_fill(want, weight, k.cap_cpu - sum(guaranteed), rounds)
    granted = []
    for p, g, w, e in zip(running, guaranteed, want, extra, strict=True):
        granted.append(g + e)
        acc["unmet"][p.tenant] += w - e
    return running, granted


def host_process(env: Any, h: Host, steps: int, cpu: np.ndarray, mem: np.ndarray, m: Model,
                 acc: dict[str, list[float]], rounds: int | None) -> Any:  # fmt: skip
    for s in range(steps):
        per_kernel = [kernel_step(k, s, cpu, mem, m, acc, rounds) for k in h.kernels]
        if m.vm_overcommit > 1.0:
            used = [sum(g) for _, g in per_kernel]
            reserve = [
                min(u, k.vcpus_milli / m.vm_overcommit)
                for u, k in zip(used, h.kernels, strict=True)
            ]
            extra = water_fill(
                [u - r for u, r in zip(used, reserve, strict=True)],
                [k.vcpus_milli for k in h.kernels],
                h.usable_cpu - sum(reserve),
                rounds,
            )
            for (running, granted), u, r, e in zip(per_kernel, used, reserve, extra, strict=True):
                factor = (r + e) / u if u > 0 else 1.0
                for i, p in enumerate(running):
                    lost = granted[i] * (1.0 - factor)
                    granted[i] -= lost
                    acc["ready"][p.tenant] += lost
        for running, granted in per_kernel:
            for p, g in zip(running, granted, strict=True):
                acc["granted"][p.tenant] += g
        yield env.timeout(m.step_s)


def run(m: Model, cpu: np.ndarray, mem: np.ndarray, *, rounds: int | None = None
        ) -> dict[str, list[float]]:  # fmt: skip
    """Per-tenant totals (millicore-steps; kill counts) over ``cpu.shape[1]`` steps."""
    import simpy

    acc = {key: [0.0] * m.tenants for key in MEASURES}
    env = simpy.Environment()
    steps = cpu.shape[1]
    for h in m.hosts:
        env.process(host_process(env, h, steps, cpu, mem, m, acc, rounds))
    env.run()
    return acc
