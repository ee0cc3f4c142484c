"""The contention model: who gets how much CPU and memory, per step, per kernel.

Everything here is a pure function of (pods × steps) arrays whose pods are sorted by the
kernel they run on (a bare-metal node, or a VM's guest), so per-kernel sums are
``np.add.reduceat`` over contiguous segments.

**CPU on one kernel** (Linux CFS, as Kubernetes configures it):

1. a pod may use at most its limit: demand above it is *throttled* (cpu.cfs_quota);
2. it is guaranteed up to its request (cpu.shares sum to at most the node's allocatable);
3. the CPU left is shared among pods that want more, in proportion to their requests
   (cpu.shares; a pod without request weighs 2 millicores, the kernel's minimum), each
   capped at what it wants — water-filling, repeated until no CPU is left or nobody
   wants more (the exact fixed point).

What a pod wanted within its limit but did not get is *unmet* (contention); the CPU other
pods used above their own requests is what took it.

**Memory on one kernel**: a pod above its memory limit is OOM-killed (and restarts the
next step); when the pods' memory exceeds what the node leaves them, the kubelet evicts
in its node-pressure order (kubernetes.io, "Node-pressure Eviction"): first the pods
whose usage exceeds their requests (a BestEffort pod requests nothing, so it is one of
them), then the rest; within each group by priority, lowest first, then by how far usage
exceeds the request, largest first (ties: canonical pod order) — until the rest fits. A
killed or evicted pod gets no CPU and holds no memory for that step.

**VMs on a host**: each VM is a kernel of its own: the rules above apply among that VM's
pods only, against the VM's allocatable, and a VM never uses another VM's idle CPU. With
CPU overcommit > 1, the VMs' CPU — what their pods were granted plus the guest's own node
software (kubelet, runtime, DaemonSets: see :mod:`underlay.simulation.engine`) — competes
for the host's cores less the hypervisor's reservation: each VM is guaranteed
min(its use, ``vcpus ÷ overcommit``) and the rest is shared by vCPU weight, each VM capped
at its use; what a VM loses is *CPU-ready* time, and its pods (and node software) lose it
in proportion. Only VMs with tenant pods take part: a VM without any (a control-plane VM,
an empty node) is not simulated, and its node software counts in host utilisation only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from underlay.simulation.scratch import Fresh, Scratch

__all__ = [
    "ROUNDS",
    "CpuShares",
    "Kernels",
    "cpu_on_kernels",
    "evict_memory",
    "share_by_weight",
    "tight",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
ROUNDS = 3  # at least this many rounds; more until nothing is left to hand out
MIN_SHARES_MILLI = 2.0  # cpu.shares floor (2) in millicores
# Relative room for float32 rounding in a kernel's sums (a few hundred pods: ~1e-5 at most)
_ROUNDING = 1e-4


def tight(total: F32, capacity: F32) -> I64:
    """The groups (kernels, hosts: rows of ``total``, (groups × steps)) whose total is not
    below ``capacity`` by more than float32 rounding at every step: the others surely give
    every member all it wants."""
    fits = total <= capacity * np.float32(1 - _ROUNDING)
    out: I64 = np.flatnonzero(~fits.all(axis=1))
    return out


@dataclass(frozen=True)
class Kernels:
    """Pods (sorted) grouped into kernels: ``starts[k]`` is the first pod of kernel ``k``."""

    starts: I64
    counts: I64

    @property
    def n(self) -> int:
        """Number of kernels."""
        return len(self.starts)

    @cached_property
    def _matrix(self) -> sp.csr_matrix:
        # (kernels × pods) 0/1 matrix: a sparse product sums contiguous rows far faster
        # than np.add.reduceat along axis 0 of a large (pods × steps) array. Built from
        # its CSR arrays directly (pods sorted by kernel: row k holds its own pods, in
        # order), a fixed cost paid once per grouping, not a COO conversion.
        pods = int(self.counts.sum())
        indptr = np.concatenate([[0], np.cumsum(self.counts)]).astype(np.int32)
        indices = np.arange(pods, dtype=np.int32)
        return sp.csr_matrix(
            (np.ones(pods, np.float32), indices, indptr), shape=(self.n, pods), copy=False
        )

    @cached_property
    def kernel_of_pod(self) -> I64:
        """Kernel index of every pod."""
        out: I64 = np.repeat(np.arange(self.n, dtype=np.int64), self.counts)
        return out

    def total(self, x: NDArray[Any]) -> NDArray[Any]:
        """Per-kernel sums of a (pods × steps) array → (kernels × steps)."""
        if not len(x):
            return np.zeros((0, x.shape[1]), x.dtype)
        out: NDArray[Any] = np.asarray(self._matrix @ x)
        return out

    def weighted_total(self, x: F32, per_pod: F32) -> F32:
        """Per-kernel sums of ``x`` (pods × steps) each row times ``per_pod`` (pods,)."""
        m = self._matrix
        matrix = sp.csr_matrix((per_pod, m.indices, m.indptr), shape=m.shape, copy=False)
        out: F32 = np.asarray(matrix @ x)
        return out

    def spread(self, per_kernel: NDArray[Any]) -> NDArray[Any]:
        """A (kernels × steps) array repeated for each pod of the kernel."""
        out: NDArray[Any] = np.repeat(per_kernel, self.counts, axis=0)
        return out

    def subset(self, kernels: I64) -> tuple[Kernels, I64]:
        """The given kernels as a grouping of their own, and the indices of their pods."""
        counts = self.counts[kernels]
        starts = np.cumsum(counts) - counts
        pods = np.repeat(self.starts[kernels] - starts, counts) + np.arange(int(counts.sum()))
        return Kernels(starts=starts.astype(np.int64), counts=counts), pods.astype(np.int64)


def share_by_weight(
    want: F32, weight: F32, free: F32, kernels: Kernels, rounds: int = ROUNDS
) -> F32:
    """Split each kernel's ``free`` among its pods by ``weight``, each capped at ``want``.

    Water-filling: each round gives every pod that still wants CPU its weighted share of
    what is free; a pod capped by its want frees the rest for the next round. Every round
    either hands out all the free CPU or caps at least one more pod, so a kernel is done
    within max(``rounds``, its pods + 1) rounds; it stops as soon as no kernel has both
    free CPU and a pod wanting it (usually after two or three rounds). After ``rounds``
    rounds it carries on with only the kernels that are still busy.

    Each kernel's grants are its own: the same, bit for bit, whichever other kernels are
    water-filled with it (every step of the arithmetic is per pod or a sum over the
    kernel's own pods, and a kernel finished alone carries on from where it was).
    """
    given = np.zeros(want.shape, want.dtype)  # (calloc: pages zeroed as first touched)
    weight = np.broadcast_to(weight, want.shape)
    _fill(want.copy(), weight, np.maximum(free, 0), kernels, given, 0, rounds)
    return given


def _fill(
    want: F32, weight: F32, free: F32, kernels: Kernels, given: F32, first: int, rounds: int
) -> None:
    """Water-fill from round ``first`` on, adding the grants to ``given`` and taking them
    from ``want`` (both in place); a kernel takes part in at most max(``rounds``, its
    pods + 1) rounds in all."""
    last = np.maximum(kernels.counts + 1, rounds)[:, None]  # a kernel's last round + 1
    active = np.empty(want.shape, np.result_type(weight, np.float32))
    wanting = np.empty(want.shape, bool)
    give = np.empty(want.shape, np.result_type(want, active))
    for done in range(first, int(last.max(initial=0))):
        # weight where it wants more, else 0
        np.multiply(weight, np.greater(want, 1e-6, out=wanting), out=active)
        active_weight = kernels.total(active)
        busy = (free > 1e-3) & (active_weight > 0) & (done < last)
        if not busy.any():
            return
        still = np.flatnonzero(busy.any(axis=1))
        if done >= rounds and len(still) < kernels.n // 2:
            # Few kernels left: finish them alone (same rules, smaller arrays), carrying
            # on from this round with what they were given so far.
            sub, pods = kernels.subset(still)
            sub_given = given[pods]
            _fill(want[pods], weight[pods], free[still], sub, sub_given, done, rounds)
            given[pods] = sub_given
            return
        per_weight = np.where(busy, free / np.maximum(active_weight, np.float32(1e-9)), 0)
        # give = min(want, per_weight · active), in one buffer kept across rounds
        np.take(per_weight.astype(np.float32), kernels.kernel_of_pod, 0, give, mode="clip")
        np.multiply(give, active, out=give)
        np.minimum(want, give, out=give)
        given += give
        want -= give
        free = np.maximum(free - kernels.total(give), 0)


@dataclass(frozen=True)
class CpuShares:
    """CPU outcome of one chunk, (pods × steps) in millicores."""

    granted: F32
    unmet: F32  # wanted within the limit, not granted (contention)
    throttled: F32  # demand above the limit (a read-only zero view when none can be)
    # granted above the request on a kernel that had contention at some step (what may
    # have taken others' CPU); 0 on the others: there every pod got all it wanted and
    # nobody took anything from anyone
    burst: F32
    kernel_granted: F32  # (kernels × steps) what each kernel's pods were granted in all
    # The kernels whose pods' demand did not surely fit (grouped as in Kernels.subset) and
    # their pods' rows, sorted: unmet and burst are 0 in every other row.
    tight_kernels: Kernels
    tight_rows: I64


def cpu_on_kernels(
    demand: F32,
    request: F32,
    limit: F32,
    capacity: F32,
    kernels: Kernels,
    scratch: Scratch | None = None,
) -> CpuShares:
    """CFS on each kernel (see the module docstring). ``request``/``limit`` are per pod
    (pods × 1; ``limit`` may be a single inf for demand already within its limits, which
    spares two passes over the arrays), ``capacity`` per kernel (kernels × 1 or
    kernels × steps). ``demand`` is never written to. With ``scratch``, the granted,
    unmet and burst arrays are its buffers (valid until the next call with it)."""
    shape = demand.shape
    if limit.size == 1 and np.isinf(limit).all():
        allowed, throttled = demand, np.broadcast_to(np.float32(0), shape)
    else:
        allowed = np.minimum(demand, limit)
        throttled = demand - allowed
    # A kernel whose pods' CPU within their limits fits its capacity at every step, by
    # more than float32 rounding, gives every pod all of it (the rules' fixed point):
    # nothing is unmet, nobody took anything from anyone. Only the other kernels' pods
    # (a few percent of them in the benchmark fleets) go through the rules, each kernel on
    # its own terms; every other pod's grant is a copy of what it wanted.
    used = kernels.total(allowed)
    busy = tight(used, capacity)
    sub, rows = kernels.subset(busy)
    buffers = scratch or Fresh()
    granted = buffers.take("granted", shape, np.float32)
    np.copyto(granted, allowed)
    unmet = buffers.zeros("unmet", shape, np.float32, rows)
    burst = buffers.zeros("burst", shape, np.float32, rows)
    if len(busy):
        cap = capacity[busy] if capacity.shape[0] == kernels.n else capacity
        busy_granted, unmet[rows], burst[rows] = _contend(allowed[rows], request[rows], cap, sub)
        granted[rows] = busy_granted
        used[busy] = sub.total(busy_granted)
    return CpuShares(granted, unmet, throttled, burst, used, sub, rows)


def _contend(allowed: F32, request: F32, capacity: F32, kernels: Kernels) -> tuple[F32, F32, F32]:
    """(granted, unmet, burst) of pods whose kernels may not give all they want (the rules
    of the module docstring, on arrays of their own: ``allowed`` is written over)."""
    guaranteed = np.minimum(allowed, request)
    want = np.subtract(allowed, guaranteed, out=allowed)
    free = capacity - kernels.total(guaranteed)
    # A kernel whose every pod gets all it wants in the first round of water-filling, at
    # every step, needs no rounds: its grants are the wants (each pod's that wants more
    # than 1e-6m, as the rounds count it), bit for bit what the rounds give. A pod gets
    # its want in round 1 when want / weight <= free / (the wanting pods' weight), so
    # surely when the kernel's sum of want / weight is below free / (the wanting pods'
    # weight) by more than float32 rounding. Only the other kernels' pods are
    # water-filled, each kernel on its own terms.
    wants = np.greater(want, 1e-6)
    extra = np.multiply(want, wants)  # (a where)
    weight = np.maximum(request, np.float32(MIN_SHARES_MILLI))[:, 0]
    level = kernels.weighted_total(want, np.divide(1, weight, dtype=np.float32))  # Σ want/weight
    active_weight = kernels.weighted_total(wants.astype(np.float32), weight)
    round_one = (level == 0) | (
        (free > 1e-3)
        & (level <= free / np.maximum(active_weight, 1e-9) * np.float32(1 - _ROUNDING))
    )
    contended = np.flatnonzero(~round_one.all(axis=1))
    if len(contended):
        extra = _share_contended(want, request, free, kernels, contended, extra)
    granted = np.add(guaranteed, extra, out=guaranteed)
    unmet = np.subtract(want, extra, out=want)
    return granted, unmet, extra


def _share_contended(
    want: F32, request: F32, free: F32, kernels: Kernels, contended: I64, extra: F32
) -> F32:
    """``extra`` with the pods of the ``contended`` kernels water-filled (in place): only
    those that want more than their request at some step take part, the same kernels
    each holding just those pods (in the same order)."""
    sub, rows = kernels.subset(contended)
    rows_want = want[rows]
    keep_rows = rows_want.max(axis=1, initial=0) > 0
    rows, rows_want = rows[keep_rows], rows_want[keep_rows]
    per_kernel = np.bincount(sub.kernel_of_pod[keep_rows], minlength=sub.n)
    keep = np.flatnonzero(per_kernel)
    wanting = Kernels(
        starts=(np.cumsum(per_kernel[keep]) - per_kernel[keep]).astype(np.int64),
        counts=per_kernel[keep].astype(np.int64),
    )
    weight = np.maximum(request[rows], np.float32(MIN_SHARES_MILLI))
    extra[rows] = share_by_weight(
        rows_want, np.broadcast_to(weight, rows_want.shape), free[contended[keep]], wanting
    )
    return extra


def evict_memory(
    memory: F32, request_mem: F32, limit_mem: F32, priority: I64, capacity: F32, kernels: Kernels
) -> tuple[B, B]:
    """(OOM-killed over their own limit, evicted for node pressure), (pods × steps) each;
    ``priority`` per pod (see the module docstring for the order)."""
    oom = memory > limit_mem
    held = np.where(oom, np.float32(0), memory)
    over = kernels.total(held) > capacity  # (kernels × steps)
    evicted = np.zeros_like(oom)
    if not over.any():
        return oom, evicted
    # The kubelet's order inside a kernel: over their requests first, then by priority
    # (lowest first), then by usage above request (largest first); evict from the front
    # until the rest fits.
    for k, s in zip(*np.nonzero(over), strict=True):
        lo, hi = kernels.starts[k], kernels.starts[k] + kernels.counts[k]
        use = held[lo:hi, s].astype(np.float64)
        excess = use - request_mem[lo:hi, 0]
        within = (excess <= 0).astype(np.int64)
        order = np.lexsort((np.arange(hi - lo), -excess, priority[lo:hi], within))
        freed_before = np.cumsum(use[order]) - use[order]
        out = use.sum() - freed_before > float(
            capacity[k, 0] if capacity.shape[1] == 1 else capacity[k, s]
        )
        evicted[lo + order[out], s] = True
    return oom, evicted
