"""The stepping engine: usage × placement → contention, chunk by chunk, accumulated per tenant.

Pods are sorted by the kernel they run on once; then, for each chunk of steps and each
block of whole hosts (:mod:`underlay.simulation.blocks`), the usage models give every
pod's demand and the stepping kernel (:class:`_Stepper`, with
:mod:`underlay.simulation.contention`) decides what each pod gets. The kernel measures
nothing: each measure (:mod:`underlay.simulation.measures`: per-tenant sums, shared-
hardware slowdown, latency, interference, host load; GPUs in
:mod:`underlay.simulation.gpu_shares`) observes every block step and keeps its own sums.
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
  apart;
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
  ``cache_partitioned`` (cache and memory-bandwidth allocation, as Heracles did);
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
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import (
    BaremetalDedicated,
    Sandboxed,
    Scenario,
    SimulationSettings,
    Vm,
    Workload,
)
from underlay.placement.gpus import gpu_efficiency, gpu_mode
from underlay.placement.result import SubstratePlacement
from underlay.simulation.blocks import Block, blocks
from underlay.simulation.contention import Kernels, cpu_on_kernels, evict_memory, share_by_weight
from underlay.simulation.gpu_shares import GpuShares
from underlay.simulation.measures import (
    BlockStep,
    Chunk,
    GpuUse,
    HostFigures,
    HostLoad,
    Interference,
    Latency,
    Measure,
    PodLimits,
    Slowdown,
    TenantSums,
)
from underlay.simulation.pod_columns import PodColumns, node_load, pod_columns
from underlay.simulation.pods import PodTable, pod_nodes, pod_table
from underlay.simulation.results import SubstrateSimulation, TenantSimulation
from underlay.simulation.usage import CHUNK_STEPS, UsageSampler

__all__ = ["class_throughput", "simulate_substrate"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class _Stepper:
    """The stepping kernel: the placed pods sorted by host, then by kernel (node or VM),
    what each kernel and host can give, and :meth:`step`, which decides what every pod of
    a block gets over a chunk of steps. It measures nothing: the measures
    (:mod:`underlay.simulation.measures`) observe what it decided."""

    order: I64  # canonical indices of the placed pods, sorted
    col: PodColumns  # their parameters, in that order
    cap_cpu: F32  # (kernels × 1) CPU for tenant pods once the node's software has its share
    cap_mem: F32  # (kernels × 1) memory for tenant pods
    kernel_fixed: F32  # (kernels × 1) CPU the node's own software uses
    vm_cores: F32  # (kernels × 1) a VM's vCPUs (millicores)
    host_cap: F32  # (hosts × 1) what the host's cores can give (less a hypervisor's share)
    host_cores: F32  # (hosts × 1) the host's cores
    host_idle_load: F32  # (hosts × 1) the software of nodes without tenant pods
    overcommit: float  # VMs' CPU overcommit (1: VMs never compete for cores)

    @staticmethod
    def build(
        substrate: object, defaults: Defaults, placement: SubstratePlacement, pods: PodTable,
        node: I64, t_count: int,
    ) -> tuple[_Stepper, list[Block]]:  # fmt: skip
        """The kernel of ``placement`` and its blocks of whole hosts."""
        placed = np.flatnonzero(node >= 0)
        # Pods sorted by host, then by kernel (node or VM), so that blocks of whole hosts are
        # contiguous: each block is processed on its own, small enough to stay in cache.
        nodes = placement.nodes
        order = placed[np.lexsort((node[placed], nodes.host[node[placed]]))]
        change = np.flatnonzero(np.diff(node[order])) + 1
        first = (
            np.concatenate([[0], change]).astype(np.int64) if len(order) else np.zeros(0, np.int64)
        )
        kernel_ids = node[order][first]
        counts = np.diff(np.concatenate([first, [len(order)]])).astype(np.int64)
        kernels = Kernels(
            starts=(np.cumsum(counts) - counts).astype(np.int64), counts=counts.astype(np.int64)
        )
        # Kernels: what tenant pods can use once the node's own software has its share.
        fixed_cpu, fixed_mem = node_load(placement, defaults)
        cap_cpu = np.maximum(nodes.size_cpu - fixed_cpu, 0)[kernel_ids]
        cap_mem = np.maximum(nodes.size_mem - nodes.reserved_mem - fixed_mem, 0)[kernel_ids]
        # Nodes with no tenant pod are no kernel here; their own software still loads the host.
        idle_nodes = np.ones(len(nodes), bool)
        idle_nodes[kernel_ids] = False
        idle_nodes &= nodes.host >= 0
        host_idle_load = np.bincount(
            nodes.host[idle_nodes], weights=fixed_cpu[idle_nodes], minlength=len(placement.hosts)
        )
        # What the host's cores can give: all of them on bare metal; less the hypervisor's
        # reservation on a vm. Competition (VM overcommit), the risk line and SLATAH are
        # against this; utilisation for power is against the host's cores.
        host_cap = placement.host_cpu - placement.host_hypervisor_cpu
        stepper = _Stepper(
            order=order,
            col=pod_columns(substrate, defaults, pods, order),
            cap_cpu=_column(cap_cpu),
            cap_mem=_column(cap_mem),
            kernel_fixed=_column(fixed_cpu[kernel_ids]),
            vm_cores=_column(nodes.size_cpu[kernel_ids]),
            host_cap=_column(host_cap),
            host_cores=_column(placement.host_cpu),
            host_idle_load=_column(host_idle_load),
            overcommit=substrate.cpu_overcommit if isinstance(substrate, Vm) else 1.0,
        )
        return stepper, blocks(kernels, nodes.host[kernel_ids], pods.tenant[order], t_count)

    def step(self, blk: Block, sampler: UsageSampler, n: int) -> BlockStep:
        """What the pods of ``blk`` want and get over the sampler's current ``n`` steps.

        (Steps that change nothing are skipped — no tax, no sandbox, nobody killed, no
        CPU-ready — so that the common case does no full-size work for them.)
        """
        p, k, kern, col = slice(blk.p0, blk.p1), slice(blk.k0, blk.k1), blk.kernels, self.col
        cpu_b, memory = sampler.rows(self.order[p])
        demand = cpu_b * col.factor[p] if col.taxed else cpu_b
        allowed = np.minimum(demand, col.lim_w[p])  # within the workload's own limit
        capped, cap_lost = allowed, None  # within a sandbox's vCPUs, and what that holds back
        if col.vcapped:
            capped = np.minimum(allowed, col.vcap[p])
            cap_lost = allowed - capped
        if col.overhead:
            memory = memory + col.ovh_mem[p]
        oom_c, evicted_c = evict_memory(
            memory, col.req_mem[p], col.lim_mem[p], col.priority[p], self.cap_mem[k], kern
        )
        # Memory without a trace is one column (constant): the same every step.
        killed_c = oom_c | evicted_c
        any_killed = bool(killed_c.any())
        killed = np.broadcast_to(killed_c, demand.shape)
        # The pod cgroup: the workload within its caps plus the sandbox's own use.
        if col.overhead:  # (capped is not needed again: its own array is reused)
            demand_pod = np.add(capped, col.ovh_cpu[p], out=None if cap_lost is None else capped)
            if any_killed:
                np.copyto(demand_pod, np.float32(0), where=killed)
        else:  # capped may be allowed itself: never written to
            demand_pod = np.where(killed, np.float32(0), capped) if any_killed else capped
        if cap_lost is not None and any_killed:  # a killed pod loses all it wanted
            np.copyto(cap_lost, allowed, where=killed)
        shares = cpu_on_kernels(demand_pod, col.req_cpu[p], col.lim_cpu[p], self.cap_cpu[k], kern)
        kernel_granted = kern.total(shares.granted)
        kernel_used = kernel_granted + self.kernel_fixed[k]
        granted_pod, ready, factor, vm_lost, vm_extra = shares.granted, None, None, None, None
        if self.overcommit > 1:
            granted_pod, kernel_used, ready, factor, vm_lost, vm_extra = self._compete(
                blk, k, granted_pod, kernel_used
            )
        granted = granted_pod
        if col.overhead:  # the sandbox keeps its own (granted_pod is not needed again)
            granted = np.subtract(granted_pod, col.ovh_cpu[p], out=granted_pod)
            np.maximum(granted, np.float32(0), out=granted)
        return BlockStep(
            blk=blk, p=p, k=k, n=n, demand=demand, allowed=allowed, cap_lost=cap_lost,
            oom=oom_c, evicted=evicted_c, killed_c=killed_c, killed=killed,
            any_killed=any_killed, shares=shares, granted=granted,
            kernel_granted=kernel_granted,
            host_used=np.asarray(blk.to_host @ kernel_used, np.float32),
            ready=ready, factor=factor, vm_lost=vm_lost, vm_extra=vm_extra,
        )  # fmt: skip

    def _compete(
        self, blk: Block, k: slice, granted_pod: F32, kernel_used: F32
    ) -> tuple[F32, F32, F32, F32, F32, F32]:
        """VMs on an overcommitted host compete for its cores: (pods' grants scaled, VMs'
        use, CPU-ready per pod, share of its use each VM got, what each VM lost and what it
        got above its reservation — the last two by host, for the interference)."""
        kern, hosts = blk.kernels, blk.hosts
        reserve = self.vm_cores[k] / np.float32(self.overcommit)
        guaranteed = np.minimum(kernel_used, reserve)
        # VMs without tenant pods (control planes) run their node software first.
        host_free = self.host_cap[hosts] - self.host_idle_load[hosts] - blk.to_host @ guaranteed
        perm, present, by_host = blk.by_host
        extra = np.zeros_like(kernel_used)
        extra[perm] = share_by_weight(
            (kernel_used - guaranteed)[perm],
            np.broadcast_to(self.vm_cores[k][perm], kernel_used.shape),
            host_free[present], by_host,
        )  # fmt: skip
        got = guaranteed + extra
        factor = np.where(kernel_used > 0, got / np.maximum(kernel_used, 1e-9), np.float32(1))
        scaled = granted_pod * kern.spread(factor)
        ready = granted_pod - scaled
        # CPU-ready between VMs: what a VM lost went to the VMs above their reservation.
        return scaled, got, ready, factor, (kernel_used - got)[perm], extra[perm]


def _column(x: NDArray[Any]) -> F32:
    """``x`` as a (n × 1) float32 column."""
    out: F32 = np.asarray(x).astype(np.float32)[:, None]
    return out


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
    stepper, block_list = _Stepper.build(substrate, defaults, placement, pods, node, t_count)
    sums, latency, interference, hosts = _measures(
        scenario, defaults, placement, substrate, pods, node, stepper
    )
    gpus = GpuShares.build(scenario, defaults, placement, substrate, pods, node)
    slowdown = Slowdown(_shared_hardware(sim, defaults, substrate), stepper.host_cores, t_count)
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
    throughput = _throughput(substrate, defaults, placement, pods, t_count)
    acc = {**sums.result(), **slowdown.result(), **gpu_use.result()}
    return _summarise(scenario, placement, pods, node, acc, latency.result(), interference.result(),
                      hosts.result(), _latency_add(substrate, defaults), started, throughput)  # fmt: skip


def _measures(
    scenario: Scenario, defaults: Defaults, placement: SubstratePlacement, substrate: object,
    pods: PodTable, node: I64, stepper: _Stepper,
) -> tuple[TenantSums, Latency, Interference, HostLoad]:  # fmt: skip
    """The measures every simulation keeps, set up for ``placement``."""
    t_count = len(scenario.tenants)
    unplaced = np.flatnonzero(node < 0)
    lost = pod_columns(substrate, defaults, pods, unplaced)
    sla_target = np.array(
        [t.sla.cpu_satisfaction_percent / 100 for t in scenario.tenants], np.float32
    )
    sums = TenantSums(
        t_count, sla_target, stepper.host_cap, unplaced, pods.tenant[unplaced], lost.factor,
        lost.lim_w,
    )  # fmt: skip
    latency_pods = np.isin(
        pods.workload[stepper.order],
        [i for i, c in enumerate(pods.workload_class) if c == "network-latency"],
    )
    col = stepper.col
    latency = Latency(
        latency_pods, PodLimits(col.req_cpu, col.ovh_cpu, col.lim_w, col.vcap), stepper.cap_cpu,
        defaults.latency.rho_max, defaults.latency.max_inflation, t_count,
    )  # fmt: skip
    shared_kernels = placement.kind in ("baremetal-shared", "sandboxed")
    hosts = HostLoad(scenario.simulation.steps, stepper.host_cap, stepper.host_cores)
    return sums, latency, Interference(t_count, shared_kernels), hosts


def _shared_hardware(sim: SimulationSettings, defaults: Defaults, substrate: object) -> np.float32:
    """The slowdown of a pod at full load of other tenants on its host (``k``)."""
    hw = defaults.interference.slowdown_at_full_load
    if sim.shared_hardware_slowdown is not None:
        hw = sim.shared_hardware_slowdown
    if isinstance(substrate, BaremetalDedicated) or getattr(substrate, "cache_partitioned", False):
        hw = 0.0  # one tenant per host, or tenants' cache and bandwidth partitioned
    return np.float32(hw)


def _throughput(
    substrate: object, defaults: Defaults, placement: SubstratePlacement, pods: PodTable,
    t_count: int,
) -> F64:  # fmt: skip
    """Per tenant, the replica-weighted mean of :func:`class_throughput`."""
    per_class = np.array(
        [class_throughput(substrate, defaults, w.workload) for w in placement.workloads]
    )
    reps = np.bincount(pods.workload, minlength=len(pods.workload_class)).astype(np.float64)
    t_of_w = np.array([w.tenant_index for w in placement.workloads], np.int64)
    weight = (
        np.bincount(t_of_w, weights=reps, minlength=t_count) if len(t_of_w) else np.zeros(t_count)
    )
    out: F64 = np.divide(
        np.bincount(t_of_w, weights=reps * per_class, minlength=t_count) if len(t_of_w) else np.zeros(t_count),
        weight, out=np.ones(t_count), where=weight > 0,
    )  # fmt: skip
    return out


def _summarise(
    scenario: Scenario, placement: SubstratePlacement, pods: PodTable, node: I64,
    acc: dict[str, F64], latency: list[tuple[float, float]], interference: F64,
    hosts: HostFigures, lat_add: float, started: float, throughput: F64,
) -> SubstrateSimulation:  # fmt: skip
    """The measures' results, in hours and percentages."""
    steps, step_h = scenario.simulation.steps, scenario.simulation.step_minutes / 60.0
    to_core_h = step_h / 1000.0  # millicore-steps → core-hours
    unplaced = np.bincount(pods.tenant[node < 0], minlength=len(scenario.tenants))
    tenants = []
    for t, ten in enumerate(scenario.tenants):
        within = acc["demand"][t] - acc["throttled"][t]
        unmet = sum(acc[k][t] for k in ("contention", "ready", "killed", "capped", "unplaced"))
        pod_steps = max(acc["pod_steps"][t], 1.0)

        def pct(x: float, of: float = within) -> float:
            return 100.0 * x / of if of > 0 else 0.0

        tenants.append(
            TenantSimulation(
                name=ten.name,
                demand_core_hours=acc["demand"][t] * to_core_h,
                granted_core_hours=acc["granted"][t] * to_core_h,
                unmet_core_hours=unmet * to_core_h,
                unmet_percent=pct(unmet),
                contention_core_hours=acc["contention"][t] * to_core_h,
                cpu_ready_core_hours=acc["ready"][t] * to_core_h,
                cpu_ready_percent=pct(acc["ready"][t]),
                killed_core_hours=acc["killed"][t] * to_core_h,
                sandbox_cap_core_hours=acc["capped"][t] * to_core_h,
                unplaced_core_hours=acc["unplaced"][t] * to_core_h,
                unmet_pod_hours=acc["unmet_steps"][t] * step_h,
                throttled_pod_hours=acc["throttled_steps"][t] * step_h,
                throttled_core_hours=acc["throttled"][t] * to_core_h,
                oom_kills=int(acc["oom"][t]),
                evictions=int(acc["evict"][t]),
                risk_percent=100.0 * acc["risk_steps"][t] / pod_steps
                if acc["pod_steps"][t]
                else 0.0,
                latency_inflation_p50=latency[t][0],
                latency_inflation_p95=latency[t][1],
                latency_add_us=lat_add,
                sla_target_percent=ten.sla.cpu_satisfaction_percent,
                sla_attainment_percent=100.0 * acc["sla_ok"][t] / steps,
                slowdown_core_hours=acc["slow"][t] * to_core_h,
                slowdown_percent=pct(acc["slow"][t], acc["granted"][t]),
                throughput_percent=100.0 * float(throughput[t]),
                unplaced_pods=int(unplaced[t]),
                gpu_demand_hours=acc["gpu_demand"][t] * to_core_h,
                gpu_unmet_percent=pct(
                    acc["gpu_demand"][t] - acc["gpu_granted"][t], acc["gpu_demand"][t]
                ),
            )
        )
    return SubstrateSimulation(
        name=placement.name,
        kind=placement.kind,
        steps=steps,
        step_minutes=scenario.simulation.step_minutes,
        tenants=tenants,
        slatah_percent=hosts.slatah_percent,
        host_utilisation_mean=hosts.util_mean,
        host_utilisation_p95=hosts.util_p95,
        interference_core_hours=interference * to_core_h,
        seconds=time.perf_counter() - started,
        host_power_weights=hosts.power_weights,
    )


def _latency_add(substrate: object, defaults: Defaults) -> float:
    """Network round-trip latency the substrate adds, µs per request."""
    if isinstance(substrate, Vm):
        return defaults.hypervisors[substrate.hypervisor].network_latency_add_us
    if isinstance(substrate, Sandboxed):
        return defaults.sandbox_runtimes[substrate.runtime].network_latency_add_us
    return 0.0


def class_throughput(substrate: object, defaults: Defaults, workload: Workload) -> float:
    """Work a pod of ``workload`` does per unit of what the simulation does not model, vs
    bare metal: ``storage-io`` at the storage IOPS factor, GPU classes at the efficiency of
    the GPU mode its share is given in (:mod:`underlay.placement.gpus`: passthrough, vGPU,
    MIG or time-slicing), everything else 1.

    The CPU tax is *not* here: the simulation has already charged it as extra CPU demand
    (:func:`~underlay.placement.overheads.cpu_tax`), so dividing by it again would count it
    twice.
    """
    if workload.workload_class == "storage-io":
        if isinstance(substrate, Vm):
            return defaults.hypervisors[substrate.hypervisor].storage_iops_factor
        if isinstance(substrate, Sandboxed):
            return defaults.sandbox_runtimes[substrate.runtime].storage_iops_factor
        return 1.0
    if workload.workload_class.startswith("gpu-"):
        return gpu_efficiency(substrate, defaults, gpu_mode(substrate, workload) or "baremetal")
    return 1.0
