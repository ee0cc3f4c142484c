"""The stepping engine: usage × placement → contention, chunk by chunk, accumulated per tenant.

Pods are sorted by the kernel they run on once; then, for each chunk of steps, the usage
models give every pod's demand, the substrate's CPU overhead inflates it (a VM or a
sandbox needs more CPU for the same work), :mod:`underlay.simulation.contention` decides
what each pod gets, and sums per tenant, host and step are kept. Memory per chunk is
bounded by pods × ``CHUNK_STEPS``.

Measures (per tenant unless stated):

- demand, granted, unmet (demand within the limit not granted, including what killed pods
  wanted) and throttled (above the limit) CPU; OOM kills (over the pod's limit) and
  evictions (node pressure), one per killed pod-step (a pod restarts and, still over the
  line, is killed again: CrashLoopBackOff retries within minutes);
- CPU-ready: CPU a VM lost to other VMs on an overcommitted host;
- risk: pod-time on hosts whose utilisation over a chunk has μ + σ ≥ 1 (the load-variation
  risk line of the Trimaran scheduler plugin, η = 1);
- latency inflation of latency-sensitive pods (class ``network-latency``) by an M/M/1
  queue: response time grows as 1 / (1 − ρ) with ρ the utilisation of the CPU the pod
  competes for (its node's, or its VM's and, with overcommit, its host's), relative to
  an idle one; a pod starved below its demand adds demand ÷ granted. Percentiles come from
  a log-spaced histogram. The substrate's per-request network latency is reported apart;
- SLA attainment: share of steps in which the tenant got at least ``sla.cpu_satisfaction``
  of its demand within limits;
- slowdown from shared hardware (caches, memory bandwidth, I/O queues), if the scenario
  sets ``shared_hardware_slowdown = k``: a host at utilisation L delivers ``1 − k·L`` of
  the work it grants; VMs escape it only with ``pinned_cpus`` (then their own load
  counts) — cgroups never do;
- per substrate: SLATAH (Beloglazov & Buyya 2012: share of active host time at 100 %
  CPU), host utilisation over time, per host the time-mean weights of its utilisation on
  the power curve's 11 knots (mean draw = weights @ knots, :mod:`underlay.analysis.energy`),
  and the cross-tenant interference matrix: on each kernel and step with unmet demand,
  what each tenant lost is split among the tenants that used CPU above their requests
  there, in proportion to that use; on an overcommitted host, what a VM lost (CPU-ready)
  is split among the VMs above their reservation. A tenant that wants far more than it
  requested is often the largest "victim": it asked for CPU nobody promised it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.analysis.energy import KNOTS, knot_weight_sums
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Sandboxed, Scenario, Vm
from underlay.placement.result import SubstratePlacement
from underlay.simulation.contention import Kernels, cpu_on_kernels, evict_memory, share_by_weight
from underlay.simulation.pods import PodTable, pod_nodes, pod_table
from underlay.simulation.results import SubstrateSimulation, TenantSimulation
from underlay.simulation.usage import CHUNK_STEPS, UsageSampler

__all__ = ["simulate_substrate"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_LAT_BINS = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 241)])  # 3 % resolution
_RHO_MAX = 0.95  # caps the M/M/1 inflation at 20×


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

    # Per-pod parameters, sorted, as (pods × 1) columns; sandboxes add the pod overhead.
    cpu_factor, lat_add = _overhead(substrate, defaults)
    sandbox_cpu = sandbox_mem = 0.0
    if isinstance(substrate, Sandboxed):
        over = defaults.sandbox_runtimes[substrate.runtime].pod_overhead
        sandbox_cpu, sandbox_mem = float(over.cpu_milli), float(over.memory_mib)
    req_cpu = (pods.req_cpu[order] + sandbox_cpu).astype(np.float32)[:, None]
    lim_cpu = (pods.lim_cpu[order] + sandbox_cpu).astype(np.float32)[:, None]
    req_mem = (pods.req_mem[order] + sandbox_mem).astype(np.float32)[:, None]
    lim_mem = (pods.lim_mem[order] + sandbox_mem).astype(np.float32)[:, None]
    qos = pods.qos[order]
    cap_cpu = nodes.alloc_cpu[kernel_ids].astype(np.float32)[:, None]
    cap_mem = nodes.alloc_mem[kernel_ids].astype(np.float32)[:, None]
    latency_pods = np.isin(
        pods.workload[order],
        [i for i, c in enumerate(pods.workload_class) if c == "network-latency"],
    )

    # Hosts: which host each kernel is on, as a sparse (hosts × kernels) sum.
    n_hosts = len(placement.hosts)
    kernel_host = nodes.host[kernel_ids]
    to_host = sp.csr_matrix(
        (np.ones(len(kernel_ids), np.float32), (kernel_host, np.arange(len(kernel_ids)))),
        shape=(n_hosts, len(kernel_ids)),
    )
    is_vm = isinstance(substrate, Vm)
    # What pods can use on each host: its nodes' allocatable (bare metal), or the cores the
    # hypervisor leaves to VMs (its CPU tax is in the VMs' inflated demand, so only its
    # reservation is taken here). Utilisation, the risk line and SLATAH are against this.
    if isinstance(substrate, Vm):
        reserved = defaults.hypervisors[substrate.hypervisor].host_reserved.cpu_milli
        host_cap = (placement.host_cpu - reserved).astype(np.float32)[:, None]
    else:
        host_cap = np.asarray(to_host @ cap_cpu, np.float32)
    overcommit = substrate.cpu_overcommit if isinstance(substrate, Vm) else 1.0
    vm_cores = nodes.size_cpu[kernel_ids].astype(np.float32)[:, None]
    blocks = _blocks(kernels, kernel_host, tenant, t_count)
    acc = {k: np.zeros(t_count) for k in (
        "demand", "granted", "unmet", "throttled", "unmet_steps", "throttled_steps", "ready",
        "risk_steps", "pod_steps", "slow", "oom", "evict", "sla_ok", "killed",
    )}  # fmt: skip
    lat_hist = np.zeros((t_count, len(_LAT_BINS) - 1))
    interference = np.zeros((t_count, t_count))
    util_mean = np.zeros(steps)
    util_p95 = np.zeros(steps)
    power_weights = np.zeros((n_hosts, KNOTS))
    at_full = active_host_steps = 0.0
    sla_target = np.array(
        [t.sla.cpu_satisfaction_percent / 100 for t in scenario.tenants], np.float32
    )

    shared_hw = np.float32(sim.shared_hardware_slowdown)
    shared_kernels = placement.kind in ("baremetal-shared", "sandboxed")
    for start in range(0, steps, CHUNK_STEPS):
        stop = min(steps, start + CHUNK_STEPS)
        n = stop - start
        sampler.begin(start, stop)
        host_used_all = np.zeros((n_hosts, n), np.float32)
        got_t = np.zeros((t_count, n))
        want_t = np.zeros((t_count, n))
        for blk in blocks:
            p, k = slice(blk.p0, blk.p1), slice(blk.k0, blk.k1)
            kern, hosts = blk.kernels, blk.hosts
            cpu_b, memory = sampler.rows(order[p])
            demand = cpu_b * np.float32(cpu_factor) if cpu_factor != 1.0 else cpu_b
            if sandbox_mem:
                memory += np.float32(sandbox_mem)
            oom, evicted = evict_memory(memory, req_mem[p], lim_mem[p], qos[p], cap_mem[k], kern)
            # Memory without a trace is one column (constant): the same every step.
            oom = np.broadcast_to(oom, demand.shape)
            evicted = np.broadcast_to(evicted, demand.shape)
            killed = oom | evicted
            demand_run = np.where(killed, np.float32(0), demand)
            shares = cpu_on_kernels(demand_run, req_cpu[p], lim_cpu[p], cap_cpu[k], kern)
            granted, unmet = shares.granted, shares.unmet
            kernel_used = kern.total(granted)

            # VMs on an overcommitted host: VMs compete for the host's cores.
            ready = np.zeros_like(granted)
            factor = np.ones_like(kernel_used)
            if is_vm and overcommit > 1:
                reserve = vm_cores[k] / np.float32(overcommit)
                guaranteed = np.minimum(kernel_used, reserve)
                host_free = host_cap[hosts] - blk.to_host @ guaranteed
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
                scaled = granted * kern.spread(factor)
                ready = granted - scaled
                # CPU-ready between VMs: what a VM lost went to the VMs above their reservation.
                vm_tenant = blk.tenant[kern.starts][perm]
                interference += _interference(
                    (kernel_used - got)[perm], extra[perm], vm_tenant, by_host, t_count
                )
                granted, kernel_used = scaled, got

            host_used = np.asarray(blk.to_host @ kernel_used, np.float32)
            host_used_all[hosts] = host_used
            host_util = host_used / np.maximum(host_cap[hosts], 1)
            active = host_used > 0
            active_host_steps += float(active.sum())
            at_full += float(((host_used >= 0.999 * host_cap[hosts]) & active).sum())
            risky_host = (host_util.mean(axis=1) + host_util.std(axis=1)) >= 1.0
            risky_pod = risky_host[blk.kernel_host][kern.kernel_of_pod]

            # Shared hardware: a host at load L delivers 1 - k·L of what it grants.
            slow = np.zeros(blk.p1 - blk.p0)
            if shared_hw > 0:
                if is_vm and sim.pinned_cpus:
                    load = kernel_used / np.maximum(cap_cpu[k], 1)
                else:
                    load = host_util[blk.kernel_host]
                slow = (granted * kern.spread(shared_hw * np.minimum(load, 1))).sum(axis=1)

            # Latency of latency-sensitive pods: an M/M/1 queue whose server is the CPU the
            # pod can get this step — its grant plus its weighted share of what the kernel
            # left idle, at least its request — against the same pod on an idle kernel.
            lp = latency_pods[p]
            if lp.any():
                idle_left = np.maximum(cap_cpu[k] - kernel_used, 0)
                weight = np.maximum(req_cpu[p], np.float32(2.0))
                share = kern.spread(
                    idle_left / np.maximum(kern.total(np.broadcast_to(weight, granted.shape)), 1e-9)
                )
                capacity = np.minimum(np.maximum(granted + share * weight, req_cpu[p]), lim_cpu[p])[
                    lp
                ]
                alone = np.minimum(lim_cpu[p][lp], cap_cpu[k][kern.kernel_of_pod[lp]])
                wanted = np.minimum(demand_run, lim_cpu[p])[lp]
                rho = np.minimum(wanted / np.maximum(capacity, 1e-6), _RHO_MAX)
                rho_idle = np.minimum(wanted / np.maximum(alone, 1e-6), _RHO_MAX)
                inflation = (1.0 - rho_idle) / (1.0 - rho)
                if is_vm and overcommit > 1:  # CPU-ready delays every request of the VM
                    inflation = inflation / np.maximum(kern.spread(factor)[lp], 1e-3)
                t_lat = blk.tenant[lp]
                for t in np.unique(t_lat):
                    lat_hist[t] += np.histogram(inflation[t_lat == t], bins=_LAT_BINS)[0]

            # Per-tenant sums. A killed pod wanted CPU it did not get: unmet, against its SLA.
            allowed_all = np.minimum(demand, lim_cpu[p])
            killed_cpu = np.where(killed, allowed_all, np.float32(0))
            for key, per_pod in (
                ("demand", demand.sum(axis=1)),
                ("granted", granted.sum(axis=1)),
                ("unmet", unmet.sum(axis=1)),
                ("throttled", shares.throttled.sum(axis=1)),
                ("unmet_steps", (unmet > 1e-3).sum(axis=1)),
                ("throttled_steps", (shares.throttled > 1e-3).sum(axis=1)),
                ("ready", ready.sum(axis=1)),
                ("risk_steps", risky_pod * n),
                ("pod_steps", np.full(blk.p1 - blk.p0, n)),
                ("slow", slow),
                ("killed", killed_cpu.sum(axis=1)),
                # A killed pod restarts and is killed again each step it stays over the
                # line (CrashLoopBackOff retries within minutes): every killed step counts.
                ("oom", oom.sum(axis=1)),
                ("evict", (evicted & ~oom).sum(axis=1)),
            ):
                acc[key] += np.bincount(blk.tenant, weights=per_pod, minlength=t_count)
            got_t += blk.tenant_of @ granted
            want_t += blk.tenant_of @ allowed_all
            if shared_kernels:  # elsewhere a kernel (node or VM) holds one tenant only
                interference += _interference(unmet, shares.burst, blk.tenant, kern, t_count)

        host_util_all = host_used_all / np.maximum(host_cap, 1)
        util_mean[start:stop] = host_util_all.mean(axis=0) if n_hosts else 0
        util_p95[start:stop] = np.percentile(host_util_all, 95, axis=0) if n_hosts else 0
        power_weights += knot_weight_sums(host_util_all)
        acc["sla_ok"] += ((want_t <= 0) | (got_t >= sla_target[:, None] * want_t - 1e-3)).sum(
            axis=1
        )
        if progress:
            progress(n)

    per_class = np.array([class_throughput(substrate, defaults, c) for c in pods.workload_class])
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
        pod_steps = max(acc["pod_steps"][t], 1.0)
        tenants.append(
            TenantSimulation(
                name=ten.name,
                demand_core_hours=acc["demand"][t] * to_core_h,
                granted_core_hours=acc["granted"][t] * to_core_h,
                unmet_core_hours=acc["unmet"][t] * to_core_h,
                unmet_percent=(
                    100.0 * (acc["unmet"][t] + acc["killed"][t]) / within if within > 0 else 0.0
                ),
                killed_core_hours=acc["killed"][t] * to_core_h,
                unmet_pod_hours=acc["unmet_steps"][t] * step_h,
                throttled_pod_hours=acc["throttled_steps"][t] * step_h,
                throttled_core_hours=acc["throttled"][t] * to_core_h,
                oom_kills=int(acc["oom"][t]),
                evictions=int(acc["evict"][t]),
                cpu_ready_percent=100.0 * acc["ready"][t] / within if within > 0 else 0.0,
                risk_percent=100.0 * acc["risk_steps"][t] / pod_steps
                if acc["pod_steps"][t]
                else 0.0,
                latency_inflation_p50=_percentile(lat_hist[t], 0.50),
                latency_inflation_p95=_percentile(lat_hist[t], 0.95),
                latency_add_us=lat_add,
                sla_target_percent=ten.sla.cpu_satisfaction_percent,
                sla_attainment_percent=100.0 * acc["sla_ok"][t] / steps,
                slowdown_core_hours=acc["slow"][t] * to_core_h,
                throughput_percent=100.0 * float(throughput[t]),
                unplaced_pods=int(unplaced[t]),
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


def _overhead(substrate: object, defaults: Defaults) -> tuple[float, float]:
    """(CPU demand multiplier, network latency added in µs) of a substrate: a VM or a
    sandbox needs 1 / (CPU throughput) as much CPU for the same work."""
    latency = 0.0
    if isinstance(substrate, Vm):
        latency = defaults.hypervisors[substrate.hypervisor].network_latency_add_us
    elif isinstance(substrate, Sandboxed):
        latency = defaults.sandbox_runtimes[substrate.runtime].network_latency_add_us
    return 1.0 / class_throughput(substrate, defaults, "cpu"), latency


def class_throughput(substrate: object, defaults: Defaults, workload_class: str) -> float:
    """Work a pod of ``workload_class`` does per unit of its resource, vs bare metal.

    CPU-bound classes lose the hypervisor's or runtime's CPU overhead; ``storage-io`` runs
    at the storage IOPS factor; GPU classes at the GPU mode's efficiency (passthrough or
    vGPU; Kata passes GPUs through); ``network-latency`` pods lose CPU overhead (their
    added round-trip latency is reported apart). All figures are the cited defaults.
    """
    if isinstance(substrate, Vm):
        h = defaults.hypervisors[substrate.hypervisor]
        cpu, storage = 1 - h.cpu_overhead_percent / 100, h.storage_iops_factor
        gpu = h.vgpu_efficiency if substrate.gpu_mode == "vgpu" else h.gpu_passthrough_efficiency
    elif isinstance(substrate, Sandboxed):
        r = defaults.sandbox_runtimes[substrate.runtime]
        cpu, storage = 1 - r.cpu_overhead_percent / 100, r.storage_iops_factor
        gpu = defaults.gpu_modes["passthrough"].efficiency
    else:
        cpu, storage, gpu = 1.0, 1.0, defaults.gpu_modes["baremetal"].efficiency
    if workload_class == "storage-io":
        return storage
    if workload_class.startswith("gpu-"):
        return gpu
    return cpu


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
