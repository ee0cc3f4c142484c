"""What the simulation measures, one object per measure, outside the stepping kernel.

The kernel (:mod:`underlay.simulation.engine`) only decides, block of hosts by block of
hosts and chunk of steps by chunk, what each pod wanted and got; it hands each decision
to every measure as a :class:`BlockStep` (:meth:`Measure.observe`), tells them when a
chunk of steps ends (:meth:`Measure.end_chunk`), and the measures keep their own sums. A
new measure is a new class here, not an edit to the loop (SimPy's lesson: its
``Environment.step`` only advances time; monitoring lives outside).

What each measure means is in the engine's module docstring; the arithmetic is here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.simulation.blocks import Block
from underlay.simulation.contention import CpuShares, Kernels
from underlay.simulation.gpu_shares import GpuShares
from underlay.simulation.latency_bins import LAT_BINS, percentile, response_in_place
from underlay.simulation.latency_bins import histograms as _histograms
from underlay.simulation.reductions import (
    interference_matrix,
    row_counts,
    row_sums,
    step_count,
)
from underlay.simulation.usage import UsageSampler

__all__ = [
    "LAT_BINS",
    "BlockStep",
    "Chunk",
    "GpuUse",
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
    shares: CpuShares  # the kernel's CPU split: unmet, burst (its granted may be spent)
    granted: F32  # CPU the workload got (a sandbox's own use taken out)
    kernel_granted: F32  # (kernels × steps) granted to pods, before CPU-ready
    host_used: F32  # (block hosts × steps) everything the hosts' kernels used
    # CPU-ready: what a VM's pods lost to other VMs, on the rows of the VMs that lost some
    # (those rows, their values); None: none
    ready: tuple[I64, F32] | None
    factor: F32 | None  # (kernels × steps) share of its use a VM got (None: no overcommit)
    # The VMs of the hosts where VMs competed for the cores (their kernel indices, grouped
    # by host); on every other host each VM got all it used. None: no overcommit.
    vm_hosts: tuple[Kernels, I64] | None
    vm_lost: F32 | None  # (those VMs × steps) what each lost to CPU-ready
    vm_extra: F32 | None  # (those VMs × steps) what each got above its reservation


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
        limited: B | None = None,
    ) -> None:
        # ``limited``: per sorted placed pod, whether its workload has a CPU limit (None:
        # any may have one)
        self.t_count = t_count
        self.limited = limited
        self.acc = {k: np.zeros(t_count) for k in self.KEYS}
        self.sla_target = sla_target
        self.host_cap = host_cap  # (hosts × 1) what each host's cores can give
        self.unplaced, self.unplaced_tenant = unplaced, unplaced_tenant
        self.unplaced_factor, self.unplaced_lim = unplaced_factor, unplaced_lim
        self._got = self._want = np.zeros((t_count, 0))

    def observe(self, s: BlockStep) -> None:
        """Add the block's per-tenant sums. A killed pod wanted CPU it did not get: unmet,
        against its SLA.

        Per pod, each figure is a float32 sum over the steps; per tenant, a float64 sum
        over the pods (in pod order, as a bincount adds). A sum known to be zero (nobody
        killed, capped, ready or limited) is not added at all: x + 0 is x.
        """
        blk, n, t_count = s.blk, s.n, self.t_count
        if self._got.shape[1] != n:
            self._got, self._want = np.zeros((t_count, n)), np.zeros((t_count, n))
        host_util = s.host_used / np.maximum(self.host_cap[blk.hosts], 1)
        risky_host = (host_util.mean(axis=1) + host_util.std(axis=1)) >= 1.0
        risky_pod = risky_host[blk.pod_host]
        rows = blk.p1 - blk.p0
        per_pod: dict[str, NDArray[Any]] = {
            "demand": row_sums(s.demand),
            "granted": row_sums(s.granted),
            "contention": _tight_row_sums(s.shares),
            "unmet_steps": row_counts(self._unmet_flags(s)),
        }
        if s.ready is not None:
            per_pod["ready"] = np.zeros(rows, np.float32)
            per_pod["ready"][s.ready[0]] = row_sums(s.ready[1])
        per_pod.update(self._throttled(s, rows))
        per_pod.update(self._killed_capped(s, rows))
        if s.any_killed:
            # A killed pod restarts and is killed again each step it stays over the
            # line (CrashLoopBackOff retries within minutes): every killed step counts.
            per_pod["oom"] = step_count(s.oom, n)
            per_pod["evict"] = step_count(s.evicted & ~s.oom, n)
        per_pod["risk_steps"] = risky_pod
        per_pod["pod_steps"] = np.ones(1)
        # Per tenant, in float64, in pod order (a bincount's additions).
        for key, values in per_pod.items():
            per_tenant = np.bincount(
                blk.tenant, weights=np.broadcast_to(values, (rows,)), minlength=t_count
            )
            if key in ("risk_steps", "pod_steps"):  # each counts its n steps
                per_tenant *= n
            self.acc[key] += per_tenant
        tenant_of = blk.tenant_of
        self._got += tenant_of @ s.granted
        self._want += tenant_of @ s.allowed

    @staticmethod
    def _unmet_flags(s: BlockStep) -> B:
        """Per pod-step, whether contention + CPU-ready + (a killed pod's CPU, or what a
        sandbox's vCPUs held back) leaves over 1e-3 millicores unmet.

        The sum is made in full only when a sandbox's cap or kills that vary by step touch
        every row; otherwise the flags are contention's, redone on the rows that have some
        CPU-ready or a kill (the same additions, in the same order)."""
        unmet, thr = s.shares.unmet, np.float32(1e-3)
        lost_rows, ready = s.ready if s.ready is not None else (None, None)
        per_step_kills = s.any_killed and s.killed_c.shape[1] != 1
        if s.cap_lost is None and not per_step_kills:
            # contention is 0 but in the rows of kernels that went through the rules
            flags: B = np.zeros(unmet.shape, bool)
            tight = s.shares.tight_rows
            if len(tight):
                flags[tight] = np.take(unmet, tight, axis=0) > thr
            if lost_rows is not None and ready is not None:
                values = np.take(unmet, lost_rows, axis=0)  # (unique rows, in order)
                values += ready
                flags[lost_rows] = values > thr
            if s.any_killed:  # a killed pod's unmet and CPU-ready are 0: + its CPU
                k_rows = np.flatnonzero(s.killed_c[:, 0])
                values = unmet[k_rows]
                if lost_rows is not None and ready is not None and len(lost_rows):
                    at = np.minimum(np.searchsorted(lost_rows, k_rows), len(lost_rows) - 1)
                    also = lost_rows[at] == k_rows
                    values[also] += ready[at[also]]
                values += s.allowed[k_rows]
                flags[k_rows] = values > thr
            return flags
        if lost_rows is None and s.cap_lost is not None:  # (unmet + 0 + cap: no copy first)
            # unmet is 0 (0 + x is x) but in the rows of kernels that went through the rules
            out: B = s.cap_lost > thr
            tight = s.shares.tight_rows
            if len(tight):
                values = np.take(unmet, tight, axis=0)
                values += np.take(s.cap_lost, tight, axis=0)
                out[tight] = values > thr
            return out
        unmet_all = unmet.copy()
        if lost_rows is not None and ready is not None:
            unmet_all[lost_rows] += ready
        if s.cap_lost is not None:  # killed and capped never overlap: one array holds both
            unmet_all += s.cap_lost
        elif s.any_killed:
            unmet_all += np.where(s.killed, s.allowed, np.float32(0))
        return unmet_all > thr

    @staticmethod
    def _killed_capped(s: BlockStep, rows: int) -> dict[str, NDArray[Any]]:
        """Per pod, killed pods' CPU within limits (``killed``) and what a sandbox's vCPUs
        held back (``capped``; the kernel put a killed pod's whole want in it)."""
        out: dict[str, NDArray[Any]] = {}
        allowed, killed, cap_lost = s.allowed, s.killed, s.cap_lost
        if s.any_killed:  # a killed pod's CPU within its limit
            if s.killed_c.shape[1] == 1:  # killed every step: the killed rows alone
                k_rows = np.flatnonzero(s.killed_c[:, 0])
                out["killed"] = np.zeros(rows, np.float32)
                out["killed"][k_rows] = row_sums(allowed[k_rows])
            else:
                out["killed"] = np.add.reduce(allowed, axis=1, where=killed)
        if cap_lost is not None:
            if s.any_killed and s.killed_c.shape[1] > 1:
                out["capped"] = np.add.reduce(cap_lost, axis=1, where=~killed)
            else:
                out["capped"] = row_sums(cap_lost)
                if s.any_killed:  # killed every step: nothing held back, all is killed
                    out["capped"][s.killed_c[:, 0]] = 0
        return out

    def _throttled(self, s: BlockStep, rows: int) -> dict[str, NDArray[Any]]:
        """Per pod, CPU above the workload's limit and the steps with some: only pods with
        a finite limit can have any (demand - min(demand, inf) is 0)."""
        limited = np.flatnonzero(self.limited[s.p]) if self.limited is not None else None
        if limited is not None and not len(limited):
            return {}
        if limited is None or 2 * len(limited) > rows:  # (the others' rows give 0: x - x)
            over = s.demand - s.allowed
            return {"throttled": row_sums(over), "throttled_steps": row_counts(over > 1e-3)}
        over = np.take(s.demand, limited, axis=0)
        over -= np.take(s.allowed, limited, axis=0)
        throttled = np.zeros(rows, np.float32)
        steps = np.zeros(rows, np.int64)
        throttled[limited] = row_sums(over)
        steps[limited] = row_counts(over > 1e-3)
        return {"throttled": throttled, "throttled_steps": steps}

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

    def observe(self, s: BlockStep) -> None:
        """Add the work the block's pods lost to other tenants on their hosts.

        The pods' grants are summed per (tenant, host) pair, the pairs host by host (so
        the sum reads the pods in their own order, hosts being contiguous); the host's
        total is its kernels' (as ever: others' load is a difference of the two, where a
        sum in another order would move the last bits of a large total); then in place.
        k is a host's: it multiplies the pair's sum over the steps, not each step."""
        blk = s.blk
        if not (self.any and blk.mixed):
            return
        pairs = blk.pairs
        tenant_host = np.asarray(pairs.of_pod @ s.granted, np.float32)  # (pairs × steps)
        host_total = np.asarray(blk.to_host @ blk.kernels.total(s.granted), np.float32)
        load = np.take(host_total, pairs.host, axis=0)
        load -= tenant_host  # others' load
        load /= np.maximum(self.host_cores[blk.hosts][pairs.host], 1)
        np.minimum(load, np.float32(1), out=load)
        load *= tenant_host
        k = self.shared_hw[blk.hosts][pairs.host][:, 0]
        lost_work = row_sums(load) * k
        self.slow += np.bincount(pairs.tenant, weights=lost_work, minlength=self.t_count)

    def result(self) -> dict[str, F64]:
        """Per tenant, ``slow``: the work (millicore-steps) lost to shared hardware."""
        return {"slow": self.slow}


def _tight_row_sums(shares: CpuShares) -> F32:
    """Per pod, the contention summed over the steps: 0 but in the rows of the kernels
    that went through the rules (their sums as :func:`row_sums` makes them)."""
    out = np.zeros(shares.unmet.shape[0], np.float32)
    if len(shares.tight_rows):
        out[shares.tight_rows] = row_sums(np.take(shares.unmet, shares.tight_rows, axis=0))
    return out


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
        """Add the inflation of the block's running latency-sensitive pods, step by step.

        Computed on the latency pods' rows only, in buffers of their own, each operation
        in place (the same float32 operations as ever, so the same values: a value on a
        bin's edge stays in its bin); the kernels' figures are gathered to the pods once.
        """
        p, k, kern, col = s.p, s.k, s.blk.kernels, self.pods
        lp = self.latency_pods[p]
        if s.any_killed:  # a pod killed every step serves nothing at all
            lp = lp & ~s.killed_c.all(axis=1)
        rows = np.flatnonzero(lp)
        if not len(rows):
            return
        kp = kern.kernel_of_pod[rows]
        weight = np.maximum(col.req_cpu[p], np.float32(2.0))  # (pods × 1)
        idle_left = np.maximum(self.cap_cpu[k] - s.kernel_granted, 0)
        share_k = idle_left / np.maximum(kern.total(weight), 1e-9)  # (kernels × steps)
        req_w = (col.req_cpu[p] - col.ovh_cpu[p])[rows]
        cap_w = np.minimum(col.lim_w[p], col.vcap[p])[rows]
        server = np.take(share_k, kp, axis=0)  # (latency pods × steps) from here on
        server *= weight[rows]
        server += np.take(s.granted, rows, axis=0)
        np.maximum(server, req_w, out=server)
        np.minimum(server, cap_w, out=server)
        np.maximum(server, np.float32(1e-6), out=server)
        alone = np.minimum(col.lim_w[p][rows], self.cap_cpu[k][kp])
        wanted = np.take(s.allowed, rows, axis=0)
        rho = np.divide(wanted, server, out=server)
        rho_idle = np.divide(wanted, np.maximum(alone, np.float32(1e-6)), out=wanted)
        inflation = response_in_place(rho, self.rho_max, out=np.empty_like(rho))
        idle = response_in_place(rho_idle, self.rho_max, out=rho)
        np.divide(inflation, idle, out=inflation)
        if s.factor is not None:  # CPU-ready delays every request of the VM
            np.divide(inflation, np.take(np.maximum(s.factor, 1e-3), kp, axis=0), out=inflation)
        np.minimum(inflation, np.float32(self.max_inflation), out=inflation)
        tenant = s.blk.tenant[rows][:, None]
        if s.any_killed and s.killed_c.shape[1] > 1:  # a killed pod serves nothing that step
            up = ~s.killed_c[rows]
            tenant_up = np.broadcast_to(tenant, up.shape)[up]
            self.hist += _histograms(inflation[up], tenant_up, self.t_count)
        else:
            self.hist += _histograms(inflation, tenant, self.t_count)

    def result(self) -> list[tuple[float, float]]:
        """Per tenant, the (p50, p95) latency inflation."""
        return [(percentile(h, 0.50), percentile(h, 0.95)) for h in self.hist]


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
        if s.vm_hosts is not None and s.vm_lost is not None and s.vm_extra is not None:
            by_host, vms = s.vm_hosts
            if len(vms):  # (on other hosts no VM lost anything)
                vm_tenant = blk.tenant[blk.kernels.starts[vms]]
                self.matrix += interference_matrix(
                    s.vm_lost, s.vm_extra, vm_tenant, by_host, self.t_count
                )
        # (elsewhere a kernel holds one tenant; only a tight kernel has any unmet)
        tight = s.shares.tight_rows
        if self.shared_kernels and len(tight):
            self.matrix += interference_matrix(
                np.take(s.shares.unmet, tight, axis=0),
                np.take(s.shares.burst, tight, axis=0),
                blk.tenant[tight],
                s.shares.tight_kernels,
                self.t_count,
            )

    def result(self) -> F64:
        """The (victim × culprit) matrix, millicore-steps."""
        return self.matrix
