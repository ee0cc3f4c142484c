"""What the simulation measures, one object per measure, outside the stepping kernel.

The kernel (:mod:`replay_baseline.engine`) only decides, block of hosts by block of
hosts and chunk of steps by chunk, what each pod wanted and got; it hands each decision
to every measure as a :class:`BlockStep` (:meth:`Measure.observe`), tells them when a
chunk of steps ends (:meth:`Measure.end_chunk`), and the measures keep their own sums. A
new measure is a new class here, not an edit to the loop (SimPy's lesson: its
``Environment.step`` only advances time; monitoring lives outside).

What each measure means is in the engine's module docstring; the arithmetic is here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from replay_baseline.contention import CpuShares, Kernels
from replay_baseline.gpu_shares import GpuShares
from replay_baseline.usage import UsageSampler
from underlay.simulation.blocks import Block
from underlay.simulation.power import KNOTS, knot_weight_sums

__all__ = [
    "LAT_BINS",
    "BlockStep",
    "Chunk",
    "GpuUse",
    "HostFigures",
    "HostLoad",
    "Interference",
    "Latency",
    "Measure",
    "PodLimits",
    "Slowdown",
    "TenantSums",
    "percentile",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
LAT_BINS = np.concatenate([[0.0], np.geomspace(1.0, 1000.0, 241)])  # 3 % resolution
"""Edges of the latency-inflation histogram: 0, then 1 to 1,000 log-spaced."""
_LAT_LOG_STEP = np.log(1000.0) / 240


@dataclass
class BlockStep:
    """What the kernel decided for one block of pods over the current chunk's steps.

    Arrays are (block pods × steps) unless stated; a column of memory or kill flags stands
    for every step when memory is constant. Measures read these and must not write them.
    """

    blk: Block
    p: slice  # the block's rows of the sorted pods
    k: slice  # the block's rows of the sorted kernels
    n: int  # steps in the chunk
    demand: F32  # CPU wanted, with the substrate's tax
    allowed: F32  # within the workload's own CPU limit
    cap_lost: F32 | None  # what a sandbox's vCPUs held back, and a killed pod's whole want
    # (None: no sandbox cap)
    oom: B  # killed for its own limit (pods × steps or × 1)
    evicted: B  # evicted by node memory pressure
    killed_c: B  # oom | evicted, as computed (pods × steps or × 1)
    killed: B  # killed_c broadcast to (pods × steps)
    any_killed: bool
    shares: CpuShares  # the kernel's CPU split: granted, unmet, burst
    granted: F32  # CPU the workload got (a sandbox's own use taken out)
    kernel_granted: F32  # (kernels × steps) granted to pods, before CPU-ready
    host_used: F32  # (block hosts × steps) everything the hosts' kernels used
    ready: F32 | None  # CPU-ready: what a VM's pods lost to other VMs (None: none)
    factor: F32 | None  # (kernels × steps) share of its use a VM got (None: no overcommit)
    vm_lost: F32 | None  # (VMs by host × steps) what each VM lost to CPU-ready
    vm_extra: F32 | None  # (VMs by host × steps) what each VM got above its reservation


@dataclass(frozen=True)
class Chunk:
    """A chunk of steps ``[start, stop)`` that has just been stepped through."""

    start: int
    stop: int
    sampler: UsageSampler  # its draws for this chunk (measures may ask for more rows)
    host_used: F32  # (hosts × steps) everything each host's kernels and idle nodes used


class Measure:
    """One measure: :meth:`observe` each block step, :meth:`end_chunk` each chunk; then
    its ``result()`` (each measure returns its own figures)."""

    def observe(self, step: BlockStep) -> None:
        """Take in one block's step (default: nothing)."""

    def end_chunk(self, chunk: Chunk) -> None:
        """Take in the end of a chunk of steps (default: nothing)."""


def _step_count(flags: B, n: int) -> I64:
    """Per pod, the steps of ``n`` flagged (a single column stands for every step)."""
    out: I64 = flags.sum(axis=1) * (n if flags.shape[1] == 1 else 1)
    return out


class TenantSums(Measure):
    """Per tenant: demand, granted, unmet by cause, throttled, kills, risk, SLA attainment;
    unplaced pods' demand too (all of it unmet).

    ``acc`` holds millicore-steps (CPU), pod-steps (counts) and steps (``sla_ok``).
    """

    KEYS = (
        "demand",
        "granted",
        "contention",
        "throttled",
        "unmet_steps",
        "throttled_steps",
        "ready",
        "risk_steps",
        "pod_steps",
        "oom",
        "evict",
        "sla_ok",
        "killed",
        "capped",
        "unplaced",
    )

    def __init__(
        self,
        t_count: int,
        sla_target: F32,
        host_cap: F32,
        unplaced: I64,
        unplaced_tenant: I64,
        unplaced_factor: F32,
        unplaced_lim: F32,
    ) -> None:
        self.t_count = t_count
        self.acc = {k: np.zeros(t_count) for k in self.KEYS}
        self.sla_target = sla_target
        self.host_cap = host_cap  # (hosts × 1) what each host's cores can give
        self.unplaced, self.unplaced_tenant = unplaced, unplaced_tenant
        self.unplaced_factor, self.unplaced_lim = unplaced_factor, unplaced_lim
        self._got = self._want = np.zeros((t_count, 0))

    def observe(self, s: BlockStep) -> None:
        """Add the block's per-tenant sums. A killed pod wanted CPU it did not get: unmet,
        against its SLA."""
        blk, n, t_count = s.blk, s.n, self.t_count
        if self._got.shape[1] != n:
            self._got, self._want = np.zeros((t_count, n)), np.zeros((t_count, n))
        host_util = s.host_used / np.maximum(self.host_cap[blk.hosts], 1)
        risky_host = (host_util.mean(axis=1) + host_util.std(axis=1)) >= 1.0
        risky_pod = risky_host[blk.kernel_host][blk.kernels.kernel_of_pod]
        rows = blk.p1 - blk.p0
        none = np.zeros(rows)
        unmet_all = s.shares.unmet
        killed_sum = capped_sum = ready_sum = none
        parts = []
        allowed, killed, cap_lost = s.allowed, s.killed, s.cap_lost
        if s.ready is not None:
            parts.append(s.ready)
            ready_sum = s.ready.sum(axis=1)
        if s.any_killed:  # a killed pod's CPU within its limit
            killed_sum = np.add.reduce(allowed, axis=1, where=killed)
        if cap_lost is not None:  # held back by the sandbox's vCPUs; a killed pod loses all
            if s.any_killed:  # (the kernel put a killed pod's whole want in cap_lost)
                capped_sum = np.add.reduce(cap_lost, axis=1, where=~killed)
            else:
                capped_sum = cap_lost.sum(axis=1)
            parts.append(cap_lost)  # killed and capped never overlap: one array holds both
        elif s.any_killed:
            parts.append(np.where(killed, allowed, np.float32(0)))
        if parts:  # contention + ready + (killed, cap), added in that order
            unmet_all = unmet_all + parts[0]
            for part in parts[1:]:
                unmet_all += part
        over = s.demand - allowed
        for key, per_pod in (
            ("demand", s.demand.sum(axis=1)),
            ("granted", s.granted.sum(axis=1)),
            ("contention", s.shares.unmet.sum(axis=1)),
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
            ("oom", _step_count(s.oom, n)),
            ("evict", _step_count(s.evicted & ~s.oom, n)),
        ):
            self.acc[key] += np.bincount(blk.tenant, weights=per_pod, minlength=t_count)
        self._got += blk.tenant_of @ s.granted
        self._want += blk.tenant_of @ allowed

    def end_chunk(self, chunk: Chunk) -> None:
        """Add the unplaced pods' demand, then count the steps that met each SLA."""
        n = chunk.stop - chunk.start
        if self._got.shape[1] != n:
            self._got, self._want = np.zeros((self.t_count, n)), np.zeros((self.t_count, n))
        if len(self.unplaced):  # pods never placed wanted CPU too: all of it is unmet
            cpu_u, _ = chunk.sampler.rows(self.unplaced)
            demand_u = cpu_u * self.unplaced_factor
            allowed_u = np.minimum(demand_u, self.unplaced_lim)
            for key, per_pod in (
                ("demand", demand_u.sum(axis=1)),
                ("throttled", (demand_u - allowed_u).sum(axis=1)),
                ("unplaced", allowed_u.sum(axis=1)),
            ):
                self.acc[key] += np.bincount(
                    self.unplaced_tenant, weights=per_pod, minlength=self.t_count
                )
            np.add.at(self._want, self.unplaced_tenant, allowed_u)
        got, want = self._got, self._want
        self.acc["sla_ok"] += ((want <= 0) | (got >= self.sla_target[:, None] * want - 1e-3)).sum(
            axis=1
        )
        self._got = self._want = np.zeros((self.t_count, 0))

    def result(self) -> dict[str, F64]:
        """Per tenant, each sum of :attr:`KEYS`."""
        return self.acc


class GpuUse(Measure):
    """Per tenant, the milli-GPU-steps its GPU pods wanted and were given."""

    def __init__(self, gpus: GpuShares, t_count: int) -> None:
        self.gpus, self.t_count = gpus, t_count
        self.acc = {k: np.zeros(t_count) for k in ("gpu_demand", "gpu_granted")}

    def end_chunk(self, chunk: Chunk) -> None:
        """Add this chunk's GPU demand and grants."""
        if not len(self.gpus.pods):
            return
        demand_g, granted_g = self.gpus.step(chunk.sampler)
        for key, per_pod in (("gpu_demand", demand_g), ("gpu_granted", granted_g)):
            self.acc[key] += np.bincount(
                self.gpus.tenant, weights=per_pod.sum(axis=1), minlength=self.t_count
            )

    def result(self) -> dict[str, F64]:
        """Per tenant, ``gpu_demand`` and ``gpu_granted`` (milli-GPU-steps)."""
        return self.acc


class Slowdown(Measure):
    """Shared hardware: a pod does 1 − k·L of its grant's work, L the load of other
    tenants on its host. L is the same for a tenant's pods on one host, so the work lost
    is summed per (tenant, host) pair, not per pod."""

    def __init__(self, shared_hw: F32, host_cores: F32, t_count: int) -> None:
        # ``shared_hw``: k of each host, a (hosts × 1) column (a hybrid's parts differ)
        self.shared_hw, self.host_cores, self.t_count = shared_hw, host_cores, t_count
        self.any = bool((shared_hw > 0).any())
        self.slow = np.zeros(t_count)
        self._pairs: dict[int, tuple[sp.csr_matrix, bool, I64]] = {}  # per block, by p0

    def observe(self, s: BlockStep) -> None:
        """Add the work the block's pods lost to other tenants on their hosts."""
        blk = s.blk
        if not self.any:
            return
        if blk.p0 not in self._pairs:
            self._pairs[blk.p0] = _tenant_host(blk)
        tenant_host_of, mixed, keys = self._pairs[blk.p0]
        if not mixed:
            return
        tenant_host = np.asarray(tenant_host_of @ s.granted, np.float32)
        host_tenants = np.asarray(blk.to_host @ blk.kernels.total(s.granted), np.float32)
        key_host, key_tenant = keys % len(blk.hosts), keys // len(blk.hosts)
        others = host_tenants[key_host] - tenant_host
        load = others / np.maximum(self.host_cores[blk.hosts][key_host], 1)
        k = self.shared_hw[blk.hosts][key_host]
        lost_work = (tenant_host * (k * np.minimum(load, 1))).sum(axis=1)
        self.slow += np.bincount(key_tenant, weights=lost_work, minlength=self.t_count)

    def result(self) -> dict[str, F64]:
        """Per tenant, ``slow``: the work (millicore-steps) lost to shared hardware."""
        return {"slow": self.slow}


def _tenant_host(blk: Block) -> tuple[sp.csr_matrix, bool, I64]:
    """A block's ((tenant, host) pairs × pods) matrix, tenant by tenant; whether a host has
    pods of two or more tenants; the pairs' keys (tenant × hosts + host). (The package's
    ``Block`` had these before issue 15; it now keeps its pairs host by host.)"""
    key = blk.tenant * len(blk.hosts) + blk.pod_host
    keys, pod_key = np.unique(key, return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(key), np.float32), (pod_key, np.arange(len(key)))),
        shape=(len(keys), len(key)),
    )
    per_host = np.bincount(keys % len(blk.hosts), minlength=len(blk.hosts))
    return matrix, bool((per_host > 1).any()), keys.astype(np.int64)


def _histograms(values: F32, tenant: I64, t_count: int) -> F64:
    """Per tenant, the counts of ``values`` in the ``LAT_BINS`` (as ``np.histogram`` counts
    them: each bin closed on the left, the last on both sides), in one pass."""
    nb = len(LAT_BINS) - 1
    v = values.astype(np.float64)
    # The bins above 1 are log-spaced: the index from the logarithm, then put right
    # against the edges themselves (a rounding can be one bin off).
    idx = np.where(v >= 1, 1 + np.floor(np.log(np.maximum(v, 1)) / _LAT_LOG_STEP), 0)
    idx = np.clip(idx, 0, nb).astype(np.int64)
    idx -= v < LAT_BINS[idx]
    idx += v >= LAT_BINS[np.minimum(idx + 1, nb)]
    idx[v == LAT_BINS[-1]] = nb - 1
    ok = (v >= 0) & (v <= LAT_BINS[-1])
    flat = np.bincount(tenant[ok] * nb + idx[ok], minlength=t_count * nb)
    return flat.reshape(t_count, nb).astype(np.float64)


def _response(rho: F32, rho_max: float) -> F32:
    """Relative response time of a queue at load ``rho``: M/M/1's 1 / (1 − ρ) up to
    ``rho_max``, then growing with the backlog in proportion to ρ."""
    capped = np.minimum(rho, np.float32(rho_max))
    out: F32 = (np.maximum(rho / np.float32(rho_max), 1) / (1 - capped)).astype(np.float32)
    return out


def percentile(hist: F64, q: float) -> float:
    """The ``q`` quantile of a latency histogram (1.0 when it is empty)."""
    total = hist.sum()
    if total <= 0:
        return 1.0
    idx = int(np.searchsorted(np.cumsum(hist), q * total))
    return float(LAT_BINS[min(idx + 1, len(LAT_BINS) - 1)])


@dataclass(frozen=True)
class PodLimits:
    """What the latency measure needs of the sorted placed pods, as (pods × 1) columns."""

    req_cpu: F32  # the pod cgroup's request
    ovh_cpu: F32  # the sandbox's own CPU
    lim_w: F32  # the workload's CPU limit
    vcap: F32  # a sandbox guest's vCPUs (inf elsewhere)


class Latency(Measure):
    """Latency inflation of latency-sensitive pods: an M/M/1 queue whose server is the CPU
    the workload can get this step (see the engine's docstring), against the same pod
    alone on an idle bare-metal kernel; a histogram per tenant."""

    def __init__(
        self,
        latency_pods: B,
        pods: PodLimits,
        cap_cpu: F32,
        rho_max: float,
        max_inflation: float,
        t_count: int,
    ) -> None:
        self.latency_pods, self.pods, self.cap_cpu = latency_pods, pods, cap_cpu
        self.rho_max, self.max_inflation, self.t_count = rho_max, max_inflation, t_count
        self.hist = np.zeros((t_count, len(LAT_BINS) - 1))

    def observe(self, s: BlockStep) -> None:
        """Add the inflation of the block's running latency-sensitive pods, step by step."""
        p, k, kern, col = s.p, s.k, s.blk.kernels, self.pods
        lp = self.latency_pods[p] & ~s.killed_c.all(axis=1)
        if not lp.any():
            return
        # Computed for the latency pods' rows only.
        kp = kern.kernel_of_pod[lp]
        weight = np.maximum(col.req_cpu[p], np.float32(2.0))  # (pods × 1)
        idle_left = np.maximum(self.cap_cpu[k] - s.kernel_granted, 0)
        share = (idle_left / np.maximum(kern.total(weight), 1e-9))[kp]
        req_w = (col.req_cpu[p] - col.ovh_cpu[p])[lp]
        cap_w = np.minimum(col.lim_w[p], col.vcap[p])[lp]
        server = np.minimum(np.maximum(s.granted[lp] + share * weight[lp], req_w), cap_w)
        alone = np.minimum(col.lim_w[p][lp], self.cap_cpu[k][kp])
        wanted = s.allowed[lp]
        rho = np.asarray(wanted / np.maximum(server, np.float32(1e-6)), np.float32)
        rho_idle = np.asarray(wanted / np.maximum(alone, np.float32(1e-6)), np.float32)
        inflation: F32 = _response(rho, self.rho_max) / _response(rho_idle, self.rho_max)
        if s.factor is not None:  # CPU-ready delays every request of the VM
            inflation = (inflation / np.maximum(s.factor[kp], 1e-3)).astype(np.float32, copy=False)
        inflation = np.minimum(inflation, np.float32(self.max_inflation))
        up = ~s.killed[lp]  # a killed pod serves nothing that step
        t_lat = np.broadcast_to(s.blk.tenant[lp][:, None], up.shape)
        self.hist += _histograms(inflation[up], t_lat[up], self.t_count)

    def result(self) -> list[tuple[float, float]]:
        """Per tenant, the (p50, p95) latency inflation."""
        return [(percentile(h, 0.50), percentile(h, 0.95)) for h in self.hist]


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


class Interference(Measure):
    """The cross-tenant interference matrix (victim × culprit, millicore-steps): on a shared
    kernel, what each tenant lost is split among the tenants bursting there; on an
    overcommitted host, what a VM lost to CPU-ready among the VMs above their reservation.
    """

    def __init__(self, t_count: int, shared_kernels: bool) -> None:
        self.t_count, self.shared_kernels = t_count, shared_kernels
        self.matrix = np.zeros((t_count, t_count))

    def observe(self, s: BlockStep) -> None:
        """Add who took what from whom in the block."""
        blk = s.blk
        if s.vm_lost is not None and s.vm_extra is not None:
            perm, _, by_host = blk.by_host
            vm_tenant = blk.tenant[blk.kernels.starts][perm]
            self.matrix += _interference(s.vm_lost, s.vm_extra, vm_tenant, by_host, self.t_count)
        if self.shared_kernels:  # elsewhere a kernel (node or VM) holds one tenant only
            self.matrix += _interference(
                s.shares.unmet, s.shares.burst, blk.tenant, blk.kernels, self.t_count
            )

    def result(self) -> F64:
        """The (victim × culprit) matrix, millicore-steps."""
        return self.matrix


class HostLoad(Measure):
    """Per substrate: SLATAH (active host time at 100 % of what the host can give), host
    utilisation over time (mean and p95 across hosts), and the power curve's knot weights
    per host."""

    def __init__(self, steps: int, host_cap: F32, host_cores: F32) -> None:
        n_hosts = len(host_cap)
        self.host_cap, self.host_cores = host_cap, host_cores
        self.util_mean = np.zeros(steps)
        self.util_p95 = np.zeros(steps)
        self.power_weights = np.zeros((n_hosts, KNOTS))
        self.at_full = self.active_host_steps = 0.0

    def observe(self, s: BlockStep) -> None:
        """Count the block's hosts that were active, and those at full use."""
        cap = self.host_cap[s.blk.hosts]
        active = s.host_used > 0
        self.active_host_steps += float(active.sum())
        self.at_full += float(((s.host_used >= 0.999 * cap) & active).sum())

    def end_chunk(self, chunk: Chunk) -> None:
        """Record the chunk's utilisation across hosts and add its power weights."""
        n_hosts = len(self.host_cap)
        host_util_all = chunk.host_used / np.maximum(self.host_cores, 1)
        self.util_mean[chunk.start : chunk.stop] = host_util_all.mean(axis=0) if n_hosts else 0
        self.util_p95[chunk.start : chunk.stop] = (
            np.percentile(host_util_all, 95, axis=0) if n_hosts else 0
        )
        self.power_weights += knot_weight_sums(host_util_all)

    def result(self) -> HostFigures:
        """SLATAH, utilisation over time and the time-mean power weights."""
        steps = len(self.util_mean)
        return HostFigures(
            slatah_percent=100.0 * self.at_full / self.active_host_steps
            if self.active_host_steps
            else 0.0,
            util_mean=self.util_mean,
            util_p95=self.util_p95,
            power_weights=self.power_weights / steps,
        )


@dataclass(frozen=True)
class HostFigures:
    """What :class:`HostLoad` found."""

    slatah_percent: float  # share of active host time at 100 % of what the host can give
    util_mean: F64  # (steps,) mean host utilisation
    util_p95: F64  # (steps,) its 95th percentile across hosts
    power_weights: F64  # (hosts × 11) time-mean knot weights
