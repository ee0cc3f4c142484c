"""The stepping engine: usage × placement → contention, chunk by chunk, accumulated per tenant.

Pods are sorted by the kernel they run on once; then, for each chunk of steps, the usage
models give every pod's demand, :mod:`underlay.simulation.contention` decides what each
pod gets, and sums per tenant, host and step are kept. Memory per chunk is bounded by
pods × ``CHUNK_STEPS``.

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
  device's time equally, isolated ones keep their share (see ``_GpuShares``);
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
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import BaremetalDedicated, Sandboxed, Scenario, Vm, Workload
from underlay.placement.gpus import gpu_efficiency, gpu_mode, gpu_share
from underlay.placement.overheads import cpu_tax
from underlay.placement.result import SubstratePlacement
from underlay.simulation.contention import Kernels, cpu_on_kernels, evict_memory, share_by_weight
from underlay.simulation.pods import PodTable, pod_nodes, pod_table
from underlay.simulation.power import KNOTS, knot_weight_sums
from underlay.simulation.results import SubstrateSimulation, TenantSimulation
from underlay.simulation.usage import CHUNK_STEPS, UsageSampler

__all__ = ["class_throughput", "simulate_substrate"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_LAT_BINS = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 241)])  # 3 % resolution
_LAT_LOG_STEP = np.log(1000.0) / 240
_MEASURES = (
    "demand", "granted", "contention", "throttled", "unmet_steps", "throttled_steps", "ready",
    "risk_steps", "pod_steps", "slow", "oom", "evict", "sla_ok", "killed", "capped", "unplaced",
    "gpu_demand", "gpu_granted",
)  # fmt: skip


@dataclass(frozen=True)
class _Pods:
    """Per-pod parameters of the placed pods in kernel order, as (pods × 1) float32 columns.

    ``*_pod`` are the pod cgroup's (the workload's plus a sandbox's overhead); ``lim_w``
    the workload's own CPU limit; ``vcap`` a sandbox guest's vCPUs (inf elsewhere).
    """

    factor: F32  # CPU needed per unit of bare-metal work (the substrate's tax)
    lim_w: F32
    vcap: F32
    ovh_cpu: F32  # what the sandbox itself uses
    ovh_mem: F32
    req_cpu: F32  # the pod cgroup's
    lim_cpu: F32
    req_mem: F32
    lim_mem: F32
    priority: I64
    taxed: bool  # some factor is not 1
    vcapped: bool  # some pod is held to a sandbox's vCPUs
    overhead: bool  # the sandbox uses CPU or memory of its own


def _pod_columns(substrate: object, defaults: Defaults, pods: PodTable, idx: I64) -> _Pods:
    """The parameters of pods ``idx`` (canonical indices) on ``substrate``."""
    tax = np.array([cpu_tax(substrate, defaults, c) for c in pods.workload_class])
    wid = pods.workload[idx]
    factor = 1.0 / (1.0 - tax[wid])
    lim_w = pods.lim_cpu[idx]
    lim_mem_w = pods.lim_mem[idx]
    vcap = np.full(len(idx), np.inf)
    ovh_cpu = ovh_mem = 0.0
    if isinstance(substrate, Sandboxed):
        runtime = defaults.sandbox_runtimes[substrate.runtime]
        ovh_cpu = float(runtime.pod_overhead.cpu_milli)
        ovh_mem = float(runtime.pod_overhead.memory_mib)
        if runtime.default_vcpus is not None:
            # A CPU limit hot-adds ceil(limit) vCPUs to the default ones: never binding.
            vcap = np.where(np.isfinite(lim_w), np.inf, runtime.default_vcpus * 1000.0)
        if runtime.default_memory_mib is not None:
            # Likewise a memory limit hot-adds that much memory: only unlimited pods are
            # held to the guest's default memory.
            lim_mem_w = np.where(
                np.isfinite(lim_mem_w), lim_mem_w, float(runtime.default_memory_mib)
            )

    def col(x: F64 | float) -> F32:
        return np.broadcast_to(np.asarray(x, np.float64), (len(idx),)).astype(np.float32)[:, None]

    return _Pods(
        factor=col(factor),
        lim_w=col(lim_w),
        vcap=col(vcap),
        ovh_cpu=col(ovh_cpu),
        ovh_mem=col(ovh_mem),
        req_cpu=col(pods.req_cpu[idx] + ovh_cpu),
        lim_cpu=col(lim_w + ovh_cpu),
        req_mem=col(pods.req_mem[idx] + ovh_mem),
        lim_mem=col(lim_mem_w + ovh_mem),
        priority=pods.priority[idx],
        taxed=bool((factor != 1.0).any()),
        vcapped=bool(np.isfinite(vcap).any()),
        overhead=bool(ovh_cpu or ovh_mem),
    )


def node_load(placement: SubstratePlacement, defaults: Defaults) -> tuple[F64, F64]:
    """(CPU millicores, memory MiB) each node's own software uses: the kubelet and runtime
    (CPU), the DaemonSet pods at their constant share of requests, and a stacked control
    plane at its ``use_fraction`` of the size kept for it."""
    d, nodes = defaults.node_daemons, placement.nodes
    cp = defaults.control_plane.use_fraction
    cpu = (
        d.kubelet_runtime_cpu_milli
        + d.system_pods_cpu_use * nodes.system_cpu
        + cp * nodes.control_plane_cpu
    )
    mem = d.system_pods_memory_use * nodes.system_mem + cp * nodes.control_plane_mem
    return cpu.astype(np.float64), mem.astype(np.float64)


def _step_count(flags: NDArray[np.bool_], n: int) -> I64:
    """Per pod, the steps of ``n`` flagged (a single column stands for every step)."""
    out: I64 = flags.sum(axis=1) * (n if flags.shape[1] == 1 else 1)
    return out


def _histograms(values: F32, tenant: I64, t_count: int) -> F64:
    """Per tenant, the counts of ``values`` in the ``_LAT_BINS`` (as ``np.histogram`` counts
    them: each bin closed on the left, the last on both sides), in one pass."""
    nb = len(_LAT_BINS) - 1
    v = values.astype(np.float64)
    # The bins above 1 are log-spaced: the index from the logarithm, then put right
    # against the edges themselves (a rounding can be one bin off).
    idx = np.where(v >= 1, 1 + np.floor(np.log(np.maximum(v, 1)) / _LAT_LOG_STEP), 0)
    idx = np.clip(idx, 0, nb).astype(np.int64)
    idx -= v < _LAT_BINS[idx]
    idx += v >= _LAT_BINS[np.minimum(idx + 1, nb)]
    idx[v == _LAT_BINS[-1]] = nb - 1
    ok = (v >= 0) & (v <= _LAT_BINS[-1])
    flat = np.bincount(tenant[ok] * nb + idx[ok], minlength=t_count * nb)
    return flat.reshape(t_count, nb).astype(np.float64)


def _response(rho: F32, rho_max: float) -> F32:
    """Relative response time of a queue at load ``rho``: M/M/1's 1 / (1 − ρ) up to
    ``rho_max``, then growing with the backlog in proportion to ρ."""
    capped = np.minimum(rho, np.float32(rho_max))
    out: F32 = (np.maximum(rho / np.float32(rho_max), 1) / (1 - capped)).astype(np.float32)
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
    steps, step_h = sim.steps, sim.step_minutes / 60.0
    pods = pod_table(scenario, placement.workloads)
    sampler = UsageSampler(scenario, placement.workloads, pods, seed=seed)
    node = pod_nodes(placement, pods)
    placed = np.flatnonzero(node >= 0)
    unplaced = np.flatnonzero(node < 0)
    # Pods sorted by host, then by kernel (node or VM), so that blocks of whole hosts are
    # contiguous: each block is processed on its own, small enough to stay in cache.
    node_host = placement.nodes.host
    order = placed[np.lexsort((node[placed], node_host[node[placed]]))]
    change = np.flatnonzero(np.diff(node[order])) + 1
    first = np.concatenate([[0], change]).astype(np.int64) if len(order) else np.zeros(0, np.int64)
    kernel_ids = node[order][first]
    counts = np.diff(np.concatenate([first, [len(order)]])).astype(np.int64)
    kernels = Kernels(
        starts=(np.cumsum(counts) - counts).astype(np.int64), counts=counts.astype(np.int64)
    )
    nodes = placement.nodes
    substrate = scenario.substrate(placement.name)
    t_count = len(scenario.tenants)
    tenant = pods.tenant[order]
    col = _pod_columns(substrate, defaults, pods, order)
    lost = _pod_columns(substrate, defaults, pods, unplaced)
    lat_add = _latency_add(substrate, defaults)

    # Kernels: what tenant pods can use once the node's own software has its share.
    fixed_cpu, fixed_mem = node_load(placement, defaults)
    cap_cpu = np.maximum(nodes.size_cpu - fixed_cpu, 0)[kernel_ids].astype(np.float32)[:, None]
    cap_mem = np.maximum(nodes.size_mem - nodes.reserved_mem - fixed_mem, 0)[kernel_ids]
    cap_mem = cap_mem.astype(np.float32)[:, None]
    kernel_fixed = fixed_cpu[kernel_ids].astype(np.float32)[:, None]
    latency_pods = np.isin(
        pods.workload[order],
        [i for i, c in enumerate(pods.workload_class) if c == "network-latency"],
    )

    # Hosts: which host each kernel is on, as a sparse (hosts × kernels) sum.
    n_hosts = len(placement.hosts)
    kernel_host = nodes.host[kernel_ids]
    is_vm = isinstance(substrate, Vm)
    # What the host's cores can give: all of them on bare metal; less the hypervisor's
    # reservation on a vm. Competition (VM overcommit), the risk line and SLATAH are
    # against this; utilisation for power is against the host's cores.
    host_cores = placement.host_cpu.astype(np.float32)[:, None]
    host_cap = (placement.host_cpu - placement.host_hypervisor_cpu).astype(np.float32)[:, None]
    # Nodes with no tenant pod are no kernel here; their own software still loads the host.
    idle_nodes = np.ones(len(nodes), bool)
    idle_nodes[kernel_ids] = False
    idle_nodes &= nodes.host >= 0
    host_idle_load = np.bincount(
        nodes.host[idle_nodes], weights=fixed_cpu[idle_nodes], minlength=n_hosts
    ).astype(np.float32)[:, None]
    overcommit = substrate.cpu_overcommit if isinstance(substrate, Vm) else 1.0
    vm_cores = nodes.size_cpu[kernel_ids].astype(np.float32)[:, None]
    blocks = _blocks(kernels, kernel_host, tenant, t_count)
    acc = {k: np.zeros(t_count) for k in _MEASURES}
    lat_hist = np.zeros((t_count, len(_LAT_BINS) - 1))
    interference = np.zeros((t_count, t_count))
    util_mean = np.zeros(steps)
    util_p95 = np.zeros(steps)
    power_weights = np.zeros((n_hosts, KNOTS))
    at_full = active_host_steps = 0.0
    sla_target = np.array(
        [t.sla.cpu_satisfaction_percent / 100 for t in scenario.tenants], np.float32
    )
    hw = defaults.interference.slowdown_at_full_load
    if sim.shared_hardware_slowdown is not None:
        hw = sim.shared_hardware_slowdown
    if isinstance(substrate, BaremetalDedicated) or getattr(substrate, "cache_partitioned", False):
        hw = 0.0  # one tenant per host, or tenants' cache and bandwidth partitioned
    shared_hw = np.float32(hw)
    rho_max, max_inflation = defaults.latency.rho_max, defaults.latency.max_inflation
    shared_kernels = placement.kind in ("baremetal-shared", "sandboxed")
    lost_tenant = pods.tenant[unplaced]
    gpus = _GpuShares.build(scenario, defaults, placement, substrate, pods, node)
    for start in range(0, steps, CHUNK_STEPS):
        stop = min(steps, start + CHUNK_STEPS)
        n = stop - start
        sampler.begin(start, stop)
        host_used_all = np.zeros((n_hosts, n), np.float32) + host_idle_load
        got_t = np.zeros((t_count, n))
        want_t = np.zeros((t_count, n))
        for blk in blocks:
            p, k = slice(blk.p0, blk.p1), slice(blk.k0, blk.k1)
            kern, hosts = blk.kernels, blk.hosts
            # (Steps that change nothing are skipped — no tax, no sandbox, nobody killed,
            # no CPU-ready — so that the common case does no full-size work for them.)
            cpu_b, memory = sampler.rows(order[p])
            demand = cpu_b * col.factor[p] if col.taxed else cpu_b
            allowed = np.minimum(demand, col.lim_w[p])  # within the workload's own limit
            capped, cap_lost = allowed, None  # within a sandbox's vCPUs, and what that holds back
            if col.vcapped:
                capped = np.minimum(allowed, col.vcap[p])
                cap_lost = allowed - capped
            if col.overhead:
                memory = memory + col.ovh_mem[p]
            oom_c, evicted_c = evict_memory(
                memory, col.req_mem[p], col.lim_mem[p], col.priority[p], cap_mem[k], kern
            )
            # Memory without a trace is one column (constant): the same every step.
            killed_c = oom_c | evicted_c
            any_killed = bool(killed_c.any())
            killed = np.broadcast_to(killed_c, demand.shape)
            # The pod cgroup: the workload within its caps plus the sandbox's own use.
            if col.overhead:  # (capped is not needed again: its own array is reused)
                demand_pod = np.add(
                    capped, col.ovh_cpu[p], out=None if cap_lost is None else capped
                )
                if any_killed:
                    np.copyto(demand_pod, np.float32(0), where=killed)
            else:  # capped may be allowed itself: never written to
                demand_pod = np.where(killed, np.float32(0), capped) if any_killed else capped
            shares = cpu_on_kernels(demand_pod, col.req_cpu[p], col.lim_cpu[p], cap_cpu[k], kern)
            granted_pod = shares.granted
            kernel_granted = kern.total(granted_pod)
            kernel_used = kernel_granted + kernel_fixed[k]

            # VMs on an overcommitted host: VMs compete for the host's cores.
            ready: F32 | None = None
            factor: F32 | None = None
            if is_vm and overcommit > 1:
                reserve = vm_cores[k] / np.float32(overcommit)
                guaranteed = np.minimum(kernel_used, reserve)
                # VMs without tenant pods (control planes) run their node software first.
                host_free = host_cap[hosts] - host_idle_load[hosts] - blk.to_host @ guaranteed
                perm, present, by_host = blk.by_host
                extra = np.zeros_like(kernel_used)
                extra[perm] = share_by_weight(
                    (kernel_used - guaranteed)[perm],
                    np.broadcast_to(vm_cores[k][perm], kernel_used.shape),
                    host_free[present], by_host,
                )  # fmt: skip
                got = guaranteed + extra
                factor = np.where(
                    kernel_used > 0, got / np.maximum(kernel_used, 1e-9), np.float32(1)
                )
                scaled = granted_pod * kern.spread(factor)
                ready = granted_pod - scaled
                # CPU-ready between VMs: what a VM lost went to the VMs above their reservation.
                vm_tenant = blk.tenant[kern.starts][perm]
                interference += _interference(
                    (kernel_used - got)[perm], extra[perm], vm_tenant, by_host, t_count
                )
                granted_pod, kernel_used = scaled, got
            granted = granted_pod
            if col.overhead:  # the sandbox keeps its own (granted_pod is not needed again)
                granted = np.subtract(granted_pod, col.ovh_cpu[p], out=granted_pod)
                np.maximum(granted, np.float32(0), out=granted)

            host_used = np.asarray(blk.to_host @ kernel_used, np.float32)
            host_used_all[hosts] += host_used
            host_util = host_used / np.maximum(host_cap[hosts], 1)
            active = host_used > 0
            active_host_steps += float(active.sum())
            at_full += float(((host_used >= 0.999 * host_cap[hosts]) & active).sum())
            risky_host = (host_util.mean(axis=1) + host_util.std(axis=1)) >= 1.0
            risky_pod = risky_host[blk.kernel_host][kern.kernel_of_pod]

            # Shared hardware: a pod does 1 - k·L of its grant's work, L the load of other
            # tenants on its host. L is the same for a tenant's pods on one host, so the
            # work lost is summed per (tenant, host) pair, not per pod.
            if shared_hw > 0 and blk.mixed:
                tenant_host = np.asarray(blk.tenant_host_of @ granted, np.float32)
                host_tenants = np.asarray(blk.to_host @ kern.total(granted), np.float32)
                key_host, key_tenant = blk.key_host, blk.key_tenant
                others = host_tenants[key_host] - tenant_host
                load = others / np.maximum(host_cores[hosts][key_host], 1)
                lost_work = (tenant_host * (shared_hw * np.minimum(load, 1))).sum(axis=1)
                acc["slow"] += np.bincount(key_tenant, weights=lost_work, minlength=t_count)

            # Latency of latency-sensitive pods: an M/M/1 queue whose server is the CPU the
            # workload can get this step (see the module docstring), against the same pod
            # alone on an idle bare-metal kernel.
            lp = latency_pods[p] & ~killed_c.all(axis=1)
            if lp.any():
                # Computed for the latency pods' rows only.
                kp = kern.kernel_of_pod[lp]
                weight = np.maximum(col.req_cpu[p], np.float32(2.0))  # (pods × 1)
                idle_left = np.maximum(cap_cpu[k] - kernel_granted, 0)
                share = (idle_left / np.maximum(kern.total(weight), 1e-9))[kp]
                req_w = (col.req_cpu[p] - col.ovh_cpu[p])[lp]
                cap_w = np.minimum(col.lim_w[p], col.vcap[p])[lp]
                server = np.minimum(np.maximum(granted[lp] + share * weight[lp], req_w), cap_w)
                alone = np.minimum(col.lim_w[p][lp], cap_cpu[k][kp])
                wanted = allowed[lp]
                rho = np.asarray(wanted / np.maximum(server, np.float32(1e-6)), np.float32)
                rho_idle = np.asarray(wanted / np.maximum(alone, np.float32(1e-6)), np.float32)
                inflation: F32 = _response(rho, rho_max) / _response(rho_idle, rho_max)
                if factor is not None:  # CPU-ready delays every request of the VM
                    inflation = (inflation / np.maximum(factor[kp], 1e-3)).astype(
                        np.float32, copy=False
                    )
                inflation = np.minimum(inflation, np.float32(max_inflation))
                up = ~killed[lp]  # a killed pod serves nothing that step
                t_lat = np.broadcast_to(blk.tenant[lp][:, None], up.shape)
                lat_hist += _histograms(inflation[up], t_lat[up], t_count)

            # Per-tenant sums. A killed pod wanted CPU it did not get: unmet, against its SLA.
            rows = blk.p1 - blk.p0
            none = np.zeros(rows)
            unmet_all = shares.unmet
            killed_sum = capped_sum = ready_sum = none
            parts = []
            if ready is not None:
                parts.append(ready)
                ready_sum = ready.sum(axis=1)
            if any_killed:  # a killed pod's CPU within its limit
                killed_sum = np.add.reduce(allowed, axis=1, where=killed)
            if cap_lost is not None:  # held back by the sandbox's vCPUs; a killed pod loses all
                if any_killed:
                    np.copyto(cap_lost, allowed, where=killed)
                    capped_sum = np.add.reduce(cap_lost, axis=1, where=~killed)
                else:
                    capped_sum = cap_lost.sum(axis=1)
                parts.append(cap_lost)  # killed and capped never overlap: one array holds both
            elif any_killed:
                parts.append(np.where(killed, allowed, np.float32(0)))
            if parts:  # contention + ready + (killed, cap), added in that order
                unmet_all = unmet_all + parts[0]
                for part in parts[1:]:
                    unmet_all += part
            over = demand - allowed
            for key, per_pod in (
                ("demand", demand.sum(axis=1)),
                ("granted", granted.sum(axis=1)),
                ("contention", shares.unmet.sum(axis=1)),
                ("throttled", over.sum(axis=1)),
                ("unmet_steps", (unmet_all > 1e-3).sum(axis=1)),
                ("throttled_steps", (over > 1e-3).sum(axis=1)),
                ("ready", ready_sum),
                ("risk_steps", risky_pod * n),
                ("pod_steps", np.full(rows, n)),
                ("killed", killed_sum),
                ("capped", capped_sum),
                # A killed pod restarts and is killed again each step it stays over the
                # line (CrashLoopBackOff retries within minutes): every killed step counts.
                ("oom", _step_count(oom_c, n)),
                ("evict", _step_count(evicted_c & ~oom_c, n)),
            ):
                acc[key] += np.bincount(blk.tenant, weights=per_pod, minlength=t_count)
            got_t += blk.tenant_of @ granted
            want_t += blk.tenant_of @ allowed
            if shared_kernels:  # elsewhere a kernel (node or VM) holds one tenant only
                interference += _interference(shares.unmet, shares.burst, blk.tenant, kern, t_count)

        if len(gpus.pods):
            demand_g, granted_g = gpus.step(sampler)
            for key, per_pod in (("gpu_demand", demand_g), ("gpu_granted", granted_g)):
                acc[key] += np.bincount(gpus.tenant, weights=per_pod.sum(axis=1), minlength=t_count)
        if len(unplaced):  # pods never placed wanted CPU too: all of it is unmet
            cpu_u, _ = sampler.rows(unplaced)
            demand_u = cpu_u * lost.factor
            allowed_u = np.minimum(demand_u, lost.lim_w)
            for key, per_pod in (
                ("demand", demand_u.sum(axis=1)),
                ("throttled", (demand_u - allowed_u).sum(axis=1)),
                ("unplaced", allowed_u.sum(axis=1)),
            ):
                acc[key] += np.bincount(lost_tenant, weights=per_pod, minlength=t_count)
            np.add.at(want_t, lost_tenant, allowed_u)

        host_util_all = host_used_all / np.maximum(host_cores, 1)
        util_mean[start:stop] = host_util_all.mean(axis=0) if n_hosts else 0
        util_p95[start:stop] = np.percentile(host_util_all, 95, axis=0) if n_hosts else 0
        power_weights += knot_weight_sums(host_util_all)
        acc["sla_ok"] += ((want_t <= 0) | (got_t >= sla_target[:, None] * want_t - 1e-3)).sum(
            axis=1
        )
        if progress:
            progress(n)

    per_class = np.array(
        [class_throughput(substrate, defaults, w.workload) for w in placement.workloads]
    )
    reps = np.bincount(pods.workload, minlength=len(pods.workload_class)).astype(np.float64)
    t_of_w = np.array([w.tenant_index for w in placement.workloads], np.int64)
    weight = (
        np.bincount(t_of_w, weights=reps, minlength=t_count) if len(t_of_w) else np.zeros(t_count)
    )
    throughput = np.divide(
        np.bincount(t_of_w, weights=reps * per_class, minlength=t_count) if len(t_of_w) else np.zeros(t_count),
        weight, out=np.ones(t_count), where=weight > 0,
    )  # fmt: skip
    return _summarise(scenario, placement, pods, node, acc, lat_hist, interference, util_mean, util_p95,
                      at_full, active_host_steps, steps, step_h, lat_add, started, throughput,
                      power_weights / steps)  # fmt: skip


# Modes in which a fraction of a GPU is time-sliced (passthrough: inside the pod's VM).
_TIME_SLICED_MODES = ("time-slicing", "vgpu", "passthrough")


@dataclass(frozen=True)
class _GpuShares:
    """The GPU pods (canonical indices), what each was given and how it shares its GPU.

    A pod given a fraction of a GPU in a time-sliced mode — bare-metal time-slicing, a
    fraction of a GPU passed through to its VM, or a vGPU — is *time-sliced*: it shares one
    physical device (a bare-metal host's GPU; a GPU passed through to its VM, which is the
    VM's own — on a vGPU substrate too, when the VM holds whole GPUs; or, in a VM holding a
    vGPU slice, the host GPU the slice is on) and is work-conserving, without isolation: on
    each physical device the GPU time is split equally among the pods that want it, each
    capped at what it wants (NVIDIA's time-slicing and the vGPU best-effort scheduler are
    round-robin), so a pod may use idle time beyond its share and loses some of its share
    when its neighbours want more; its demand is all it wants. Any other pod — whole GPUs,
    a MIG slice, a MIG-backed vGPU, or a fraction its GPU memory rounds up to a whole GPU —
    has what it was given to itself and uses at most that: its demand is min(want, share).
    A pod never placed gets nothing; its demand is what it would want placed, by the same
    rules (demand does not hang on placement).
    """

    pods: I64  # canonical indices of GPU pods
    tenant: I64
    share: F32  # milli-GPUs each was given (per GPU × GPUs; what it asks when unplaced)
    placed: NDArray[np.bool_]
    time_sliced: NDArray[np.bool_]  # demand is all it wants (placed or not)
    sliced: I64  # rows of ``pods`` that are time-sliced and placed, sorted by device
    devices: Kernels  # those rows grouped by physical device

    @staticmethod
    def build(
        scenario: Scenario, defaults: Defaults, placement: SubstratePlacement,
        substrate: object, pods: PodTable, node: I64,
    ) -> _GpuShares:  # fmt: skip
        """The GPU pods of ``placement`` and the devices the time-sliced ones share."""
        gpu_w = [i for i, w in enumerate(placement.workloads) if w.workload.gpu_count]
        idx = np.flatnonzero(np.isin(pods.workload, gpu_w)) if gpu_w else np.zeros(0, np.int64)
        reps = np.bincount(pods.workload, minlength=len(placement.workloads))
        starts = np.cumsum(reps) - reps
        device = np.full(len(pods), -1, np.int64)
        for w in gpu_w:
            d = placement.pod_devices[w]
            device[starts[w] : starts[w] + len(d)] = d
        share = np.zeros(len(pods), np.float32)
        time_sliced = np.zeros(len(pods), bool)
        key = np.full(len(pods), -1, np.int64)
        nodes = placement.nodes
        n_nodes = max(len(nodes), 1)
        # A VM holding a vGPU slice (less than one GPU): its pods share the host's GPU.
        on_slice = nodes.is_vm & (nodes.gpu_cap_milli > 0) & (nodes.gpu_cap_milli < 1000)
        for w in gpu_w:
            wl = placement.workloads[w].workload
            rows = np.arange(starts[w], starts[w] + reps[w])
            milli = gpu_share(scenario, defaults, substrate, wl, wl.name).milli
            share[rows] = milli * wl.gpu_count
            if milli >= 1000 or gpu_mode(substrate, wl) not in _TIME_SLICED_MODES:
                continue
            time_sliced[rows] = True
            r = rows[node[rows] >= 0]
            vm = node[r]
            slot = np.where(on_slice[vm], nodes.host_gpu_device[vm], device[r])
            if (slot < 0).any():
                raise AssertionError(f"placement recorded no GPU device for pods of {wl.name}")
            # the host's GPU under a vGPU slice; else the node's GPU (a bare-metal host's or
            # one passed through to the VM)
            key[r] = np.where(on_slice[vm], n_nodes + nodes.host[vm], vm) * 64 + slot
        sliced = time_sliced & (key >= 0)
        sel = idx[np.argsort(~sliced[idx], kind="stable")]  # placed time-sliced pods first
        n_sliced = int(sliced[idx].sum())
        order = np.argsort(key[sel[:n_sliced]], kind="stable")
        sel[:n_sliced] = sel[:n_sliced][order]
        keys = key[sel[:n_sliced]]
        first = (
            np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
            if n_sliced
            else np.zeros(0, np.int64)
        )
        counts = np.diff(np.r_[first, n_sliced]).astype(np.int64)
        return _GpuShares(
            pods=sel.astype(np.int64),
            tenant=pods.tenant[sel],
            share=share[sel],
            placed=node[sel] >= 0,
            time_sliced=time_sliced[sel],
            sliced=np.arange(n_sliced, dtype=np.int64),
            devices=Kernels(starts=first.astype(np.int64), counts=counts),
        )

    def step(self, sampler: UsageSampler) -> tuple[F32, F32]:
        """(demand, granted) milli-GPUs of each GPU pod over the sampler's current span."""
        want = sampler.gpu_rows(self.pods, self.share)
        # A time-sliced pod may want idle time beyond its share; any other uses at most
        # what it was given. A pod never placed gets nothing.
        demand = np.where(self.time_sliced[:, None], want, np.minimum(want, self.share[:, None]))
        granted = np.where(self.placed[:, None], demand, np.float32(0))
        n = len(self.sliced)
        if n:
            s = self.sliced
            free = np.full((self.devices.n, want.shape[1]), 1000.0, np.float32)
            granted[s] = share_by_weight(want[s], np.ones_like(want[s]), free, self.devices)
        return demand, granted


@dataclass(frozen=True)
class _Block:
    """Whole hosts' worth of sorted pods [p0, p1) on kernels [k0, k1)."""

    p0: int
    p1: int
    k0: int
    k1: int
    kernels: Kernels  # local to the block
    hosts: I64  # global host ids in the block
    kernel_host: I64  # local host index of each kernel
    to_host: sp.csr_matrix  # (block hosts × block kernels)
    tenant: I64
    tenant_of: sp.csr_matrix  # (tenants × block pods)

    @cached_property
    def by_host(self) -> tuple[I64, I64, Kernels]:
        """The block's kernels regrouped by host (for VMs competing on a host)."""
        return _by_host(self.kernel_host)

    @cached_property
    def pod_host(self) -> I64:
        """Local host index of each pod."""
        out: I64 = self.kernel_host[self.kernels.kernel_of_pod]
        return out

    @cached_property
    def _tenant_host(self) -> tuple[sp.csr_matrix, bool, I64]:
        key = self.tenant * len(self.hosts) + self.pod_host
        keys, pod_key = np.unique(key, return_inverse=True)
        matrix = sp.csr_matrix(
            (np.ones(len(key), np.float32), (pod_key, np.arange(len(key)))),
            shape=(len(keys), len(key)),
        )
        # A host with pods of two or more tenants: only then does anyone slow anyone.
        per_host = np.bincount(keys % len(self.hosts), minlength=len(self.hosts))
        mixed = bool((per_host > 1).any())
        return matrix, mixed, keys.astype(np.int64)

    @property
    def key_host(self) -> I64:
        """Local host of each (tenant, host) pair of :attr:`tenant_host_of`."""
        out: I64 = self._tenant_host[2] % len(self.hosts)
        return out

    @property
    def key_tenant(self) -> I64:
        """Tenant of each (tenant, host) pair of :attr:`tenant_host_of`."""
        out: I64 = self._tenant_host[2] // len(self.hosts)
        return out

    @property
    def tenant_host_of(self) -> sp.csr_matrix:
        """((tenant, host) pairs × block pods) 0/1 matrix: per-pair sums."""
        return self._tenant_host[0]

    @property
    def mixed(self) -> bool:
        """Whether some host of the block carries pods of more than one tenant."""
        return self._tenant_host[1]


BLOCK_PODS = 65_536  # pods per block: (pods × steps) temporaries of a few MB stay in cache


def _blocks(kernels: Kernels, kernel_host: I64, tenant: I64, t_count: int) -> list[_Block]:
    """Cut the sorted pods into blocks of whole hosts of about ``BLOCK_PODS`` pods."""
    out: list[_Block] = []
    k, n = 0, kernels.n
    while k < n:
        p0 = int(kernels.starts[k])
        k1 = k
        while k1 < n and (
            k1 == k
            or int(kernels.starts[k1]) - p0 < BLOCK_PODS
            or kernel_host[k1] == kernel_host[k1 - 1]
        ):
            k1 += 1
        p1 = int(kernels.starts[k1 - 1] + kernels.counts[k1 - 1])
        local = Kernels(
            starts=(kernels.starts[k:k1] - p0).astype(np.int64), counts=kernels.counts[k:k1]
        )
        hosts, kh = np.unique(kernel_host[k:k1], return_inverse=True)
        to_host = sp.csr_matrix(
            (np.ones(k1 - k, np.float32), (kh, np.arange(k1 - k))), shape=(len(hosts), k1 - k)
        )
        tb = tenant[p0:p1]
        tenant_of = sp.csr_matrix(
            (np.ones(p1 - p0, np.float32), (tb, np.arange(p1 - p0))), shape=(t_count, p1 - p0)
        )
        out.append(
            _Block(
                p0,
                p1,
                k,
                k1,
                local,
                hosts.astype(np.int64),
                kh.astype(np.int64),
                to_host,
                tb,
                tenant_of,
            )
        )
        k = k1
    return out


def _by_host(kernel_host: I64) -> tuple[I64, I64, Kernels]:
    """Kernels (VMs) regrouped by host: (permutation, host of each group, groups)."""
    perm = np.argsort(kernel_host, kind="stable").astype(np.int64)
    hosts, counts = np.unique(kernel_host[perm], return_counts=True)
    starts = (np.cumsum(counts) - counts).astype(np.int64)
    return perm, hosts.astype(np.int64), Kernels(starts=starts, counts=counts.astype(np.int64))


def _percentile(hist: F64, q: float) -> float:
    total = hist.sum()
    if total <= 0:
        return 1.0
    idx = int(np.searchsorted(np.cumsum(hist), q * total))
    return float(_LAT_BINS[min(idx + 1, len(_LAT_BINS) - 1)])


def _summarise(
    scenario: Scenario, placement: SubstratePlacement, pods: PodTable, node: I64,
    acc: dict[str, F64], lat_hist: F64, interference: F64, util_mean: F64, util_p95: F64,
    at_full: float, active_host_steps: float, steps: int, step_h: float, lat_add: float,
    started: float, throughput: F64, power_weights: F64,
) -> SubstrateSimulation:  # fmt: skip
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
                latency_inflation_p50=_percentile(lat_hist[t], 0.50),
                latency_inflation_p95=_percentile(lat_hist[t], 0.95),
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
        slatah_percent=100.0 * at_full / active_host_steps if active_host_steps else 0.0,
        host_utilisation_mean=util_mean,
        host_utilisation_p95=util_p95,
        interference_core_hours=interference * to_core_h,
        seconds=time.perf_counter() - started,
        host_power_weights=power_weights,
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


def _interference(unmet: F32, burst: F32, tenant: I64, kernels: Kernels, t_count: int) -> F64:
    """Core-steps (millicore-steps) each tenant lost while others burst, this chunk."""
    lost_k = kernels.total(unmet)
    took_k = kernels.total(burst)
    events = (lost_k > 1e-3) & (took_k > 1e-3)
    if not events.any():
        return np.zeros((t_count, t_count))
    event_id = np.full(events.shape, -1, np.int64)
    event_id[events] = np.arange(int(events.sum()))
    per_pod = kernels.spread(event_id.astype(np.float32)).astype(np.int64)
    rows_u, cols_u = np.nonzero((per_pod >= 0) & (unmet > 1e-3))
    rows_b, cols_b = np.nonzero((per_pod >= 0) & (burst > 1e-3))
    e_count = int(events.sum())
    lost = sp.csr_matrix(
        (unmet[rows_u, cols_u], (per_pod[rows_u, cols_u], tenant[rows_u])), shape=(e_count, t_count)
    )
    took = sp.csr_matrix(
        (burst[rows_b, cols_b], (per_pod[rows_b, cols_b], tenant[rows_b])), shape=(e_count, t_count)
    )
    share = sp.diags(1.0 / np.maximum(np.asarray(took.sum(axis=1)).ravel(), 1e-9)) @ took
    out: F64 = (lost.T @ share).toarray().astype(np.float64)
    return out
