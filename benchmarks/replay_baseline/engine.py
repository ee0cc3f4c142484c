"""The stepping engine: usage × placement → contention, chunk by chunk, accumulated per tenant.

Pods are sorted by the kernel they run on once; then, for each chunk of steps and each
block of whole hosts (:mod:`underlay.simulation.blocks`), the usage models give every
pod's demand and the stepping kernel (:class:`~replay_baseline.stepper.Stepper`, with
:mod:`replay_baseline.contention`) decides what each pod gets. The kernel measures
nothing: each measure (:mod:`replay_baseline.measures`: per-tenant sums, shared-
hardware slowdown, latency, interference, host load; GPUs in
:mod:`replay_baseline.gpu_shares`) observes every block step and keeps its own sums.
Memory per chunk is bounded by pods × ``CHUNK_STEPS``.

What runs on a kernel (a bare-metal node or a VM's guest), besides the tenants' pods:

- **the node's own software**: the kubelet and container runtime use
  ``defaults.node_daemons.kubelet_runtime_cpu_milli`` of CPU, each DaemonSet pod a
  constant fraction of its requests (``system_pods_cpu_use`` / ``_memory_use``), and a
  control plane stacked on the node ``control_plane.use_fraction`` of its size. Being
  below their requests they always get it (guaranteed), so they are simulated as a
  constant load: the kernel's CPU for tenant pods is its size less that load, and its
  memory for pods its size less the kubelet's memory reservation (kube + system reserved
  + eviction threshold) and the DaemonSets' use. The rest of the CPU reservation is
  *not* a cap: the kubelet enforces node allocatable for CPU with the pods cgroup's
  weight (cpu.shares), not a quota, so idle reserved CPU and DaemonSets' unused requests
  go to bursting pods (kubernetes.io, "Reserve Compute Resources for System Daemons").
- **the substrate's CPU tax**, counted once, here: a VM's pods (the hypervisor's
  ``cpu_overhead_percent``) and a sandboxed pod (its runtime's, by workload class) need
  1 / (1 − tax) as much CPU for the same work; placement keeps none of it back and the
  throughput figures do not divide by it again.
- **a sandbox's own use** (``sandboxed``): the RuntimeClass's pod overhead is added to
  the pod's request and limit (the pod cgroup) and used by the sandbox (VMM, guest
  kernel, agent; gVisor's Sentry) — never granted to the workload. A micro-VM guest
  (Kata) has ``default_vcpus`` vCPUs plus ceil(limit) hot-added for a CPU limit, so a
  container without a CPU limit gets at most ``default_vcpus`` cores (what it wanted
  above is unmet: ``sandbox_cap``); without a memory limit it has the guest's
  ``default_memory`` and is OOM-killed above it, while a memory limit hot-adds that much
  memory, so the limit alone binds (kata-containers, vCPU handling design).

Measures (per tenant unless stated):

- demand, granted, and *unmet*: CPU wanted within the limit and not granted, whatever
  took it — contention on the kernel, CPU-ready (a VM waiting for a physical core), kills,
  a sandbox's vCPU cap, or no placement at all (unplaced pods' demand is drawn like any
  other, with the substrate's tax); throttled (above the workload's CPU limit) apart, for
  killed and unplaced pods too, so demand = throttled + granted + unmet; OOM kills (over the pod's limit) and
  evictions (node pressure), one per killed pod-step (a pod restarts and, still over the
  line, is killed again: CrashLoopBackOff retries within minutes);
- CPU-ready: with CPU overcommit, what a VM lost to other VMs on its host;
- risk: pod-time on hosts whose utilisation over a chunk has μ + σ ≥ 1 (the load-variation
  risk line of the Trimaran scheduler plugin, η = 1);
- latency inflation of latency-sensitive pods (class ``network-latency``; each step they
  run), relative to the same pod alone on its kernel with nothing else running and no
  substrate effect (a server of min(its limit, the kernel's CPU for tenant pods); no
  sandbox cap, no CPU-ready): an M/M/1 queue at ρ = what the pod wants within its limit ÷
  its server, the CPU it can get this step — its grant plus a share of what the kernel
  left idle, weighted by max(request, 2m) among all the kernel's tenant pods (killed ones
  included), at least its request, at most its limit (and its sandbox's vCPUs) — so
  response time grows as 1 / (1 − ρ) up to ``defaults.latency.rho_max``; past it the queue is
  overloaded and response time grows with the backlog, in proportion to demand ÷ capacity
  (a pod that wants 4× what it gets waits ~4× as long), capped at ``max_inflation``; with
  CPU overcommit every request of the VM also waits its CPU-ready share. Percentiles come
  from a log-spaced histogram. The substrate's per-request network latency is reported
  apart (in a hybrid, per tenant, that of the parts its latency-sensitive pods run in:
  :func:`~underlay.simulation.summary.tenant_latency_add`);
- GPU demand and unmet: milli-GPUs each GPU pod wants (``usage.gpu`` × its share × the
  burst factor) and what it was not given — time-sliced pods split each physical
  device's time equally, isolated ones keep their share (see ``GpuShares``);
- SLA attainment: share of steps in which the tenant got at least ``sla.cpu_satisfaction``
  of its demand within its workloads' CPU limits (placed or not; what a sandbox's vCPU cap
  withheld counts as wanted; a step in which it wants nothing is met);
- slowdown from shared hardware (last-level cache, memory bandwidth): a pod does
  ``1 − k · L`` of the work of the CPU it is granted, ``L`` the load of *other tenants*
  on its host (the CPU their workloads are granted — sandboxes' own use and node software
  not counted — ÷ the host's cores), ``k`` the defaults' interference figure (or the
  scenario's ``shared_hardware_slowdown``). A tenant alone on its hosts escapes it (its
  own load is in the bare-metal baseline); VMs and containers sharing a host do not —
  pinning vCPUs partitions neither cache nor memory bandwidth — unless the substrate sets
  ``cache_partitioned`` (cache and memory-bandwidth allocation, as Heracles did); a
  hybrid's hosts each by their own part's substrate;
- per substrate: SLATAH (Beloglazov & Buyya 2012: share of active host time at 100 % of
  what the host can give: its cores, less the hypervisor's reservation on a ``vm``), host
  utilisation over time (everything simulated, the node software included, ÷ the
  host's cores), per host the
  time-mean weights of its utilisation on the power curve's 11 knots (mean draw =
  weights @ knots, :mod:`underlay.simulation.power`), and the cross-tenant interference
  matrix: on each kernel and step with contention, what each tenant lost is split among
  the tenants that used CPU above their requests there, in proportion to that use; on an
  overcommitted host, what a VM lost (CPU-ready) is split among the VMs above their
  reservation. A tenant that wants far more than it requested is often the largest
  "victim": it asked for CPU nobody promised it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from replay_baseline.gpu_shares import GpuShares
from replay_baseline.measures import (
    Chunk,
    GpuUse,
    HostLoad,
    Interference,
    Latency,
    Measure,
    PodLimits,
    Slowdown,
    TenantSums,
)
from replay_baseline.stepper import Stepper
from replay_baseline.usage import CHUNK_STEPS, UsageSampler
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import (
    BaremetalDedicated,
    Hybrid,
    Scenario,
    SimulationSettings,
)
from underlay.placement.result import SubstratePlacement
from underlay.simulation.pod_columns import pod_columns, workload_substrates
from underlay.simulation.pods import PodTable, pod_nodes, pod_table
from underlay.simulation.results import SubstrateSimulation
from underlay.simulation.summary import (
    class_throughput,
    summarise,
    tenant_latency_add,
    tenant_throughput,
)

__all__ = ["class_throughput", "simulate_substrate"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def simulate_substrate(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    *,
    seed: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SubstrateSimulation:
    """Replay the scenario's usage on ``placement`` (``progress(n)`` hears of steps done)."""
    started = time.perf_counter()
    sim = scenario.simulation
    pods = pod_table(scenario, placement.workloads)
    sampler = UsageSampler(scenario, placement.workloads, pods, seed=seed)
    node = pod_nodes(placement, pods)
    substrate = scenario.substrate(placement.name)
    t_count = len(scenario.tenants)
    stepper, block_list = Stepper.build(substrate, defaults, placement, pods, node, t_count)
    sums, latency, interference, hosts = _measures(
        scenario, defaults, placement, substrate, pods, node, stepper
    )
    gpus = GpuShares.build(scenario, defaults, placement, substrate, pods, node)
    slowdown = Slowdown(
        _host_slowdown(sim, defaults, substrate, placement), stepper.host_cores, t_count
    )
    gpu_use = GpuUse(gpus, t_count)
    measures: list[Measure] = [
        sums,
        slowdown,
        latency,
        interference,
        hosts,
        gpu_use,  # (at a chunk's end, before the sums: the sampler's order)
    ]
    closing = [measures[-1], *measures[:-1]]
    for start in range(0, sim.steps, CHUNK_STEPS):
        stop = min(sim.steps, start + CHUNK_STEPS)
        sampler.begin(start, stop)
        host_used = np.zeros((len(placement.hosts), stop - start), np.float32)
        host_used += stepper.host_idle_load
        for blk in block_list:
            step = stepper.step(blk, sampler, stop - start)
            host_used[blk.hosts] += step.host_used
            for measure in measures:
                measure.observe(step)
        chunk = Chunk(start, stop, sampler, host_used)
        for measure in closing:
            measure.end_chunk(chunk)
        if progress:
            progress(stop - start)
    throughput = tenant_throughput(substrate, defaults, placement, pods, t_count)
    acc = {**sums.result(), **slowdown.result(), **gpu_use.result()}
    return summarise(
        scenario,
        placement,
        pods,
        node,
        acc,
        latency.result(),
        interference.result(),
        hosts.result(),
        tenant_latency_add(scenario, defaults, placement, pods),
        started,
        throughput,
    )


def _measures(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    substrate: object,
    pods: PodTable,
    node: I64,
    stepper: Stepper,
) -> tuple[TenantSums, Latency, Interference, HostLoad]:
    """The measures every simulation keeps, set up for ``placement``."""
    t_count = len(scenario.tenants)
    unplaced = np.flatnonzero(node < 0)
    lost = pod_columns(
        substrate, defaults, pods, unplaced, workload_substrates(substrate, placement)
    )
    sla_target = np.array(
        [t.sla.cpu_satisfaction_percent / 100 for t in scenario.tenants], np.float32
    )
    sums = TenantSums(
        t_count,
        sla_target,
        stepper.host_cap,
        unplaced,
        pods.tenant[unplaced],
        lost.factor,
        lost.lim_w,
    )
    latency_pods = np.isin(
        pods.workload[stepper.order],
        [i for i, c in enumerate(pods.workload_class) if c == "network-latency"],
    )
    col = stepper.col
    latency = Latency(
        latency_pods,
        PodLimits(col.req_cpu, col.ovh_cpu, col.lim_w, col.vcap),
        stepper.cap_cpu,
        defaults.latency.rho_max,
        defaults.latency.max_inflation,
        t_count,
    )
    shared = ("baremetal-shared", "sandboxed")
    shared_kernels = placement.kind in shared or any(p.kind in shared for p in placement.parts)
    hosts = HostLoad(scenario.simulation.steps, stepper.host_cap, stepper.host_cores)
    return sums, latency, Interference(t_count, shared_kernels), hosts


def _shared_hardware(sim: SimulationSettings, defaults: Defaults, substrate: object) -> float:
    """The slowdown of a pod at full load of other tenants on its host (``k``)."""
    hw = defaults.interference.slowdown_at_full_load
    if sim.shared_hardware_slowdown is not None:
        hw = sim.shared_hardware_slowdown
    if isinstance(substrate, BaremetalDedicated) or getattr(substrate, "cache_partitioned", False):
        hw = 0.0  # one tenant per host, or tenants' cache and bandwidth partitioned
    return float(hw)


def _host_slowdown(
    sim: SimulationSettings, defaults: Defaults, substrate: object, placement: SubstratePlacement
) -> F32:
    """``k`` of each host, as a (hosts × 1) column: a hybrid's hosts take their part's."""
    k = np.full(len(placement.hosts), _shared_hardware(sim, defaults, substrate), np.float32)
    if isinstance(substrate, Hybrid):
        by_name = {part.name: part.substrate for part in substrate.parts}
        for part in placement.parts:
            start, stop = part.hosts
            k[start:stop] = _shared_hardware(sim, defaults, by_name[part.name])
    return k[:, None]
