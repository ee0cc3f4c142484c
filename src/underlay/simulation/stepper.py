"""The stepping kernel: what every pod of a block of hosts gets over a chunk of steps.

:class:`Stepper` holds the placed pods sorted by host, then by kernel (node or VM), and
what each kernel and host can give; :meth:`Stepper.step` decides, with
:mod:`underlay.simulation.contention`, what each pod gets. It measures nothing: the
measures (:mod:`underlay.simulation.measures`) observe what it decided. The model is
described in :mod:`underlay.simulation.engine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Hybrid, Vm
from underlay.placement.result import SubstratePlacement
from underlay.simulation.blocks import Block, blocks
from underlay.simulation.contention import (
    Kernels,
    cpu_on_kernels,
    evict_memory,
    share_by_weight,
    tight,
)
from underlay.simulation.measures import BlockStep
from underlay.simulation.pod_columns import PodColumns, node_load, pod_columns, workload_substrates
from underlay.simulation.pods import PodTable
from underlay.simulation.scratch import Scratch
from underlay.simulation.usage import UsageSampler

__all__ = ["Stepper"]

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]
_NO_LIMIT: F32 = np.full((1, 1), np.inf, np.float32)


@dataclass(frozen=True)
class Stepper:
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
    # buffers for a block step's (pods × steps) results, kept across steps
    scratch: Scratch = field(default_factory=Scratch, compare=False, repr=False)

    @staticmethod
    def build(
        substrate: object,
        defaults: Defaults,
        placement: SubstratePlacement,
        pods: PodTable,
        node: I64,
        t_count: int,
    ) -> tuple[Stepper, list[Block]]:
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
        stepper = Stepper(
            order=order,
            col=pod_columns(
                substrate, defaults, pods, order, workload_substrates(substrate, placement)
            ),
            cap_cpu=_column(cap_cpu),
            cap_mem=_column(cap_mem),
            kernel_fixed=_column(fixed_cpu[kernel_ids]),
            vm_cores=_column(nodes.size_cpu[kernel_ids]),
            host_cap=_column(host_cap),
            host_cores=_column(placement.host_cpu),
            host_idle_load=_column(host_idle_load),
            overcommit=_overcommit(substrate),
        )
        return stepper, blocks(kernels, nodes.host[kernel_ids], pods.tenant[order], t_count)

    def step(self, blk: Block, sampler: UsageSampler, n: int) -> BlockStep:
        """What the pods of ``blk`` want and get over the sampler's current ``n`` steps.

        (Steps that change nothing are skipped — no tax, no sandbox, nobody killed, no
        CPU-ready — so that the common case does no full-size work for them.)
        """
        p, k, kern, col = slice(blk.p0, blk.p1), slice(blk.k0, blk.k1), blk.kernels, self.col
        cpu_b, memory = sampler.rows(self.order[p])
        # (the sampler's rows are this step's own: taxed in place)
        demand = np.multiply(cpu_b, col.factor[p], out=cpu_b) if col.taxed else cpu_b
        # within the workload's own limit (the buffers are valid until the next step: the
        # measures observe this one first)
        allowed = np.minimum(
            demand, col.lim_w[p], out=self.scratch.take("allowed", demand.shape, np.float32)
        )
        capped, cap_lost = self._vcap(allowed, p)
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
        elif any_killed:  # capped may be allowed itself: never written to
            # x · 1 is x and x · 0 is 0 (x finite): a where, faster with a float column
            alive = np.logical_not(killed_c).astype(np.float32)
            buf = self.scratch.take("demand_pod", demand.shape, np.float32)
            demand_pod = np.multiply(capped, alive, out=buf)
        else:
            demand_pod = capped
        if cap_lost is not None and any_killed:  # a killed pod loses all it wanted
            np.copyto(cap_lost, allowed, where=killed)
        # demand_pod is within the pod cgroup's limit by construction (capped <= lim_w, so
        # capped + ovh <= lim_w + ovh = lim_cpu, float rounding being monotonic; a killed
        # pod wants 0): no limit to apply again.
        shares = cpu_on_kernels(
            demand_pod, col.req_cpu[p], _NO_LIMIT, self.cap_cpu[k], kern, self.scratch
        )
        kernel_used = shares.kernel_granted + self.kernel_fixed[k]
        granted_pod, factor, vm_lost, vm_extra = shares.granted, None, None, None
        ready: tuple[I64, F32] | None = None
        vm_hosts: tuple[Kernels, I64] | None = None
        if self.overcommit > 1:
            granted_pod, kernel_used, ready, factor, vm_hosts, vm_lost, vm_extra = self._compete(
                blk, k, granted_pod, kernel_used
            )
        granted = granted_pod
        if col.overhead:  # the sandbox keeps its own (granted_pod is not needed again)
            granted = np.subtract(granted_pod, col.ovh_cpu[p], out=granted_pod)
            np.maximum(granted, np.float32(0), out=granted)
        return BlockStep(
            blk=blk,
            p=p,
            k=k,
            n=n,
            demand=demand,
            allowed=allowed,
            cap_lost=cap_lost,
            oom=oom_c,
            evicted=evicted_c,
            killed_c=killed_c,
            killed=killed,
            any_killed=any_killed,
            shares=shares,
            granted=granted,
            kernel_granted=shares.kernel_granted,
            host_used=np.asarray(blk.to_host @ kernel_used, np.float32),
            ready=ready,
            factor=factor,
            vm_hosts=vm_hosts,
            vm_lost=vm_lost,
            vm_extra=vm_extra,
        )

    def _vcap(self, allowed: F32, p: slice) -> tuple[F32, F32 | None]:
        """Within a sandbox's vCPUs, and what that holds back (None: no sandbox cap)."""
        if not self.col.vcapped:
            return allowed, None
        shape, take = allowed.shape, self.scratch.take
        capped = np.minimum(allowed, self.col.vcap[p], out=take("capped", shape, np.float32))
        return capped, np.subtract(allowed, capped, out=take("cap_lost", shape, np.float32))

    def _compete(
        self, blk: Block, k: slice, granted_pod: F32, kernel_used: F32
    ) -> tuple[F32, F32, tuple[I64, F32], F32, tuple[Kernels, I64], F32, F32]:
        """VMs on an overcommitted host compete for its cores: (pods' grants scaled, in
        place, VMs' use, CPU-ready of the pods that lost some (their rows, their values),
        share of its use each VM got, the VMs of the hosts where they competed (grouped by
        host) with what each lost and what it got above its reservation — the last three
        for the interference)."""
        kern, hosts = blk.kernels, blk.hosts
        reserve = self.vm_cores[k] / np.float32(self.overcommit)
        guaranteed = np.minimum(kernel_used, reserve)
        # VMs without tenant pods (control planes) run their node software first.
        host_free = self.host_cap[hosts] - self.host_idle_load[hosts] - blk.to_host @ guaranteed
        above = kernel_used - guaranteed
        perm, present, by_host = blk.by_host
        # A host whose VMs' use above their reservations fits what it has free at every
        # step, by more than float32 rounding, gives every VM all it uses (the sharing's
        # fixed point): nobody waits. Only the other hosts' VMs (about a tenth of them in
        # the benchmark fleet) share by weight, each host on its own terms.
        free = host_free[present]
        busy = tight(by_host.total(above[perm]), free)
        sub, at = by_host.subset(busy)
        vms = perm[at]
        extra = share_by_weight(
            above[vms],
            np.broadcast_to(self.vm_cores[k][vms], (len(vms), kernel_used.shape[1])),
            free[busy],
            sub,
        )
        got = kernel_used.copy()
        got_t = np.add(guaranteed[vms], extra)
        got[vms] = got_t
        used_t = kernel_used[vms]
        factor = np.ones_like(kernel_used)
        factor[vms] = np.where(used_t > 0, got_t / np.maximum(used_t, 1e-9), np.float32(1))
        # Only the pods of VMs that lost something are scaled (x * 1 is x, and their
        # CPU-ready 0): CPU-ready is held for those rows alone.
        lost = np.sort(vms[(factor[vms] < 1).any(axis=1)])
        vm_sub, rows = kern.subset(lost)
        granted_rows = granted_pod[rows]
        scaled = granted_rows * vm_sub.spread(factor[lost])
        ready = granted_rows - scaled
        granted_pod[rows] = scaled  # (the kernel's own array: its pre-ready grant is spent)
        # CPU-ready between VMs: what a VM lost went to the VMs above their reservation.
        return granted_pod, got, (rows, ready), factor, (sub, vms), used_t - got_t, extra


def _column(x: NDArray[Any]) -> F32:
    """``x`` as a (n × 1) float32 column."""
    out: F32 = np.asarray(x).astype(np.float32)[:, None]
    return out


def _overcommit(substrate: object) -> float:
    """VMs' CPU overcommit: a vm substrate's, a hybrid's vm parts' (the largest), else 1
    (one kernel per host: nothing to overcommit)."""
    if isinstance(substrate, Vm):
        return substrate.cpu_overcommit
    if isinstance(substrate, Hybrid):
        return max(
            [p.substrate.cpu_overcommit for p in substrate.parts if isinstance(p.substrate, Vm)]
            + [1.0]
        )
    return 1.0
