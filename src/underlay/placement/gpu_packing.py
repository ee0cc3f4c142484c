"""Vectorised GPU packing: place pods one by one, in order, on GPU nodes.

The kernel answers "where does each pod land, on which GPU(s), and why did the others
fail" for a fleet described as plain NumPy arrays. Nodes may be bare-metal hosts or
VMs: a node is only a row of free capacity, so the caller decides what a node is.

GPU state (shared with the rest of underlay)
--------------------------------------------
Per node ``n`` (``N`` nodes, ``G`` = most GPUs on any node):

* ``cpu_free_milli[n]`` (int64) and ``memory_free_mib[n]`` (int64);
* ``gpu_free_milli[n, g]`` (int32): free milli-GPU of GPU slot ``g``; a slot the node
  does not have is 0, so "fully free GPU" is exactly ``free == 1000``;
* ``gpu_model[n]`` (int32): index into ``model_names``.

A pod asks for ``cpu_milli``, ``memory_mib`` and ``num_gpu`` GPUs each with at least
``gpu_milli`` free (``gpu_milli`` is a share of *one* GPU, 1000 = a whole GPU; in the
openb trace every multi-GPU pod asks 1000 per GPU, but the kernel handles any value).
A GPU pod may be restricted to some GPU models; the model filter does not apply to pods
that ask for no GPU.

Node scorers (``KERNEL_SCORERS``), named after their algorithm
--------------------------------------------------------------
These are the kernel's ways of scoring a node for one pod, not scenario strategies (the
placement registry holds the one list of those): the framework reaches a scorer through
a score plugin's ``gpu_kernel_scorer`` (``GpuFragmentation`` → ``fgd``), and
benchmarks/openb.py compares them all against the published reference.

``first-fit``
    lowest-index node that fits; inside it, the lowest-index GPUs that fit.
``best-fit``
    the node with the least remaining resources after placement, as the reference
    simulator of Weng et al. defines its Best-fit baseline: the scalar
    ``0.5 * cpu_free' / max_cpu + 0.5 * gpu_free_total' / max_gpu``, where ``max_cpu``
    and ``max_gpu`` are the largest node capacities of the fleet (a resource no node has
    counts 0; memory is not part of it); inside the node the tightest GPU(s): least free
    milli-GPU that still fits. (An earlier per-node normalisation
    ``cpu'/cpu_cap + memory'/memory_cap + gpu'/gpu_cap`` scored about 1.3 points lower
    on openb than this definition, which matches the published ~93 %.)
``least-allocated``
    spreading, the node with the *largest* value of
    ``cpu_free'/cpu_cap + memory_free'/memory_cap + gpu_free_total'/gpu_cap_total``
    (per-node capacities, a term whose capacity is 0 counts 0; Kubernetes'
    LeastAllocated idea); inside it the loosest GPU(s).
``dot-product``
    Tetris-like alignment (Grandl et al., SIGCOMM 2014): the node maximising
    ``sum_r (request_r / cap_r) * (free_r / cap_r)`` over cpu, memory and GPU; tightest
    GPU(s) inside it.
``fgd``
    fragmentation gradient descent (Weng et al., "Beware of Fragmentation: Scheduling
    GPU-Sharing Workloads with Fragmentation Gradient Descent", USENIX ATC 2023): each pod
    goes to the node and GPU whose choice increases the expected GPU fragmentation of the
    cluster least, fragmentation being measured against the popularity-weighted pod
    types of the target workload (:class:`TypicalPods`). See :func:`gpu_fragmentation`.
    As in the reference Kubernetes plugin, a node's score is the integer
    ``floor(100 * sigmoid(-growth / 1000))`` of its fragmentation growth (milli-GPU), so
    growths within a few tens of milli-GPU tie; ties go to the node tightest by
    best-fit's scalar. Inside a node a fractional pod tries every GPU it fits on and
    takes the one with the least growth (exact, lowest GPU index on ties).

Remaining ties are broken by the lowest node index, then the lowest GPU index. Every strategy
only chooses among nodes where the pod fits, so no node or GPU goes over capacity.

Why a pod failed is data (:class:`FailureReason`): the filters run in the order
gpu-model, cpu, memory, gpu over all nodes (as the Kubernetes scheduler's filter chain
does) and the reason is the first filter after which no node is left.

Speed: a node's score for a pod depends only on that node's state and on the pod's
request, so scores are cached per distinct request and recomputed, vectorised, only for
the nodes that changed since that request was last scored. The per-pod step has no
Python loop over nodes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from underlay.placement.gpu_fleet import (
    FULL_GPU_MILLI,
    FailureReason,
    GpuNodes,
    GpuPackResult,
    GpuPods,
    TypicalPods,
)
from underlay.placement.gpu_fragmentation import _Fgd, gpu_fragmentation
from underlay.placement.gpu_state import (
    _INF,
    _best_fit_left,
    _bits,
    _choose,
    _fits,
    _remaining,
    _Request,
    _Scorer,
    _State,
)

__all__ = [
    "FULL_GPU_MILLI",
    "KERNEL_SCORERS",
    "FailureReason",
    "GpuNodes",
    "GpuPackResult",
    "GpuPods",
    "TypicalPods",
    "gpu_fragmentation",
    "pack",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

KERNEL_SCORERS: Final = ("first-fit", "best-fit", "least-allocated", "dot-product", "fgd")
"""The node scorers :func:`pack` accepts (its ``strategy`` argument)."""

# Score cache budget (entries of N floats + N ints + N ints), FIFO eviction beyond it.
_CACHE_ENTRIES: Final = 24_000_000


class _FirstFit:
    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        ok, slot = _fits(st, idx, req, model_ok)
        score = np.where(ok, idx.astype(np.float64), _INF)
        return score, _bits(_choose(st.gpu[idx], slot, req.k, "first"))

    def commit(self, st: _State, node: int) -> None:
        pass


class _BestFit:
    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        ok, slot = _fits(st, idx, req, model_ok)
        score = np.where(ok, _best_fit_left(st, idx, req), _INF)
        return score, _bits(_choose(st.gpu[idx], slot, req.k, "tightest"))

    def commit(self, st: _State, node: int) -> None:
        pass


class _LeastAllocated:
    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        ok, slot = _fits(st, idx, req, model_ok)
        score = np.where(ok, -_remaining(st, idx, req), _INF)
        return score, _bits(_choose(st.gpu[idx], slot, req.k, "loosest"))

    def commit(self, st: _State, node: int) -> None:
        pass


class _DotProduct:
    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        ok, slot = _fits(st, idx, req, model_ok)
        cpu_cap, mem_cap, gpu_cap = st.cpu_cap[idx], st.mem_cap[idx], st.gpu_cap[idx]
        dot = (
            (req.cpu / cpu_cap) * (st.cpu[idx] / cpu_cap)
            + (req.mem / mem_cap) * (st.mem[idx] / mem_cap)
            + (req.k * req.d / gpu_cap) * (st.gpu[idx].sum(axis=1) / gpu_cap)
        )
        score = np.where(ok, -dot, _INF)
        return score, _bits(_choose(st.gpu[idx], slot, req.k, "tightest"))

    def commit(self, st: _State, node: int) -> None:
        pass


def _why(st: _State, req: _Request, model_ok: B) -> FailureReason:
    """The first filter (gpu-model, cpu, memory, gpu) after which no node is left."""
    left = model_ok.copy() if req.k > 0 else np.ones(st.cpu.shape[0], dtype=np.bool_)
    if not left.any():
        return FailureReason.GPU_MODEL
    left &= st.cpu >= req.cpu
    if not left.any():
        return FailureReason.CPU
    left &= st.mem >= req.mem
    if not left.any():
        return FailureReason.MEMORY
    return FailureReason.GPU


def _scorer(
    strategy: str, st: _State, pods: GpuPods, typical: TypicalPods | None, n_models: int
) -> _Scorer:
    if strategy == "fgd":
        return _Fgd(st, TypicalPods.from_pods(pods) if typical is None else typical, n_models)
    simple: dict[str, _Scorer] = {
        "first-fit": _FirstFit(),
        "best-fit": _BestFit(),
        "least-allocated": _LeastAllocated(),
        "dot-product": _DotProduct(),
    }
    if strategy not in simple:
        hint = difflib.get_close_matches(strategy, KERNEL_SCORERS, n=1)
        fix = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown strategy {strategy!r}{fix}; choose from {KERNEL_SCORERS}")
    return simple[strategy]


def _fleet_max(values: I64) -> float:
    """Largest capacity of the fleet, inf if none (so that x / max == 0)."""
    top = int(values.max(initial=0))
    return float(top) if top > 0 else _INF


def _cap(values: I64) -> F64:
    cap = values.astype(np.float64)
    cap[cap <= 0] = _INF  # x / inf == 0: a resource the node lacks adds nothing
    return cap


@dataclass
class _CacheRow:
    req: _Request
    score: F64
    mask: I64
    version: I64
    model_ok: B


def pack(
    nodes: GpuNodes,
    pods: GpuPods,
    strategy: str,
    typical: TypicalPods | None = None,
    bias: F64 | None = None,
) -> GpuPackResult:
    """Place ``pods`` one by one, in row order, on ``nodes`` with ``strategy``.

    Each pod is either placed (on one node and ``num_gpu`` of its GPUs) or failed with a
    :class:`FailureReason`; nothing goes over capacity. ``typical`` is the target
    workload for ``fgd`` (default: :meth:`TypicalPods.from_pods` of ``pods``); other
    strategies ignore it. ``bias`` (float64[N], lower is better) is added to every
    node's score: the placement framework's other score plugins, in the strategy's
    units (for ``fgd``, points of its 0–100 node score). ``nodes`` is not modified.
    Deterministic: same input, same output; ties go to the lowest node index, then the
    lowest GPU index.
    """
    if pods.allowed_models.shape[1] != len(nodes.model_names):
        raise ValueError(
            f"pods know {pods.allowed_models.shape[1]} GPU models, "
            f"nodes have {len(nodes.model_names)}"
        )
    n_nodes, n_pods = nodes.n_nodes, pods.n_pods
    st = _initial_state(nodes)
    scorer = _scorer(strategy, st, pods, typical, len(nodes.model_names))
    node_of_pod = np.full(n_pods, -1, dtype=np.int64)
    gpu_mask = np.zeros(n_pods, dtype=np.int64)
    reason = np.zeros(n_pods, dtype=np.int8)
    first, keys = _request_keys(pods)
    max_rows = max(1, _CACHE_ENTRIES // max(n_nodes, 1))
    cache: dict[int, _CacheRow] = {}
    all_nodes = np.arange(n_nodes, dtype=np.int64)
    bit_index = np.arange(nodes.max_gpus, dtype=np.int64)
    for i in range(n_pods):
        key = keys[i]
        row = cache.get(key)
        if row is None:
            if len(cache) >= max_rows:
                del cache[next(iter(cache))]
            row = cache[key] = _cache_row(pods, int(first[key]), st)
        req = row.req
        stale = np.flatnonzero(row.version != st.version)
        if stale.size:
            score, mask = scorer.score(st, all_nodes[stale], req, row.model_ok[stale])
            row.score[stale] = score
            row.mask[stale] = mask
            row.version[stale] = st.version[stale]
        if n_nodes == 0:
            reason[i] = _why(st, req, row.model_ok)
            continue
        scores = row.score if bias is None else row.score + bias
        node = int(scores.argmin())
        if scores[node] == _INF:
            reason[i] = _why(st, req, row.model_ok)
            continue
        bits = int(row.mask[node])
        if req.k:
            used = (bits >> bit_index) & 1 == 1
            st.gpu[node, used] -= req.d
        st.cpu[node] -= req.cpu
        st.mem[node] -= req.mem
        st.version[node] += 1
        scorer.commit(st, node)
        node_of_pod[i] = node
        gpu_mask[i] = bits
    return _result(strategy, nodes, st, node_of_pod, gpu_mask, reason)


def _initial_state(nodes: GpuNodes) -> _State:
    """The kernel's working copy of ``nodes``."""
    return _State(
        cpu=nodes.cpu_free_milli.copy(),
        mem=nodes.memory_free_mib.copy(),
        gpu=nodes.gpu_free_milli.astype(np.int64),
        model=nodes.gpu_model.astype(np.int64),
        version=np.zeros(nodes.n_nodes, dtype=np.int64),
        cpu_cap=_cap(nodes.cpu_capacity_milli),
        mem_cap=_cap(nodes.memory_capacity_mib),
        gpu_cap=_cap(nodes.gpu_count * FULL_GPU_MILLI),
        cpu_max=_fleet_max(nodes.cpu_capacity_milli),
        gpu_max=_fleet_max(nodes.gpu_count * FULL_GPU_MILLI),
    )


def _request_keys(pods: GpuPods) -> tuple[I64, list[int]]:
    """One cache key per distinct request (pods of the same request share scores): the
    first pod of each key, and each pod's key."""
    if not pods.n_pods:
        return np.zeros(0, dtype=np.int64), []
    rows = np.column_stack(
        [
            pods.cpu_milli,
            pods.memory_mib,
            pods.num_gpu,
            pods.gpu_milli,
            pods.allowed_models.astype(np.int64),
        ]
    )
    _, first, key_of_pod = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    keys: list[int] = key_of_pod.reshape(-1).tolist()
    return first, keys


def _cache_row(pods: GpuPods, j: int, st: _State) -> _CacheRow:
    """An empty cache row for the request of pod ``j`` (every node stale)."""
    n_nodes = len(st.cpu)
    allowed = pods.allowed_models[j]
    model_ok = allowed[st.model] if allowed.size else np.ones(n_nodes, np.bool_)
    req = _Request(
        int(pods.cpu_milli[j]),
        int(pods.memory_mib[j]),
        int(pods.num_gpu[j]),
        int(pods.gpu_milli[j]),
        allowed,
    )
    return _CacheRow(
        req=req,
        score=np.empty(n_nodes),
        mask=np.zeros(n_nodes, dtype=np.int64),
        version=np.full(n_nodes, -1, dtype=np.int64),
        model_ok=model_ok,
    )


def _result(
    strategy: str, nodes: GpuNodes, st: _State, node_of_pod: I64, gpu_mask: I64, reason: I8
) -> GpuPackResult:
    after = GpuNodes(
        cpu_free_milli=st.cpu,
        memory_free_mib=st.mem,
        gpu_free_milli=st.gpu.astype(np.int32),
        gpu_model=nodes.gpu_model.copy(),
        model_names=nodes.model_names,
        cpu_capacity_milli=nodes.cpu_capacity_milli.copy(),
        memory_capacity_mib=nodes.memory_capacity_mib.copy(),
        gpu_count=nodes.gpu_count.copy(),
    )
    total = after.total_gpu_milli
    ratio = after.allocated_gpu_milli / total if total else 0.0
    return GpuPackResult(strategy, node_of_pod, gpu_mask, reason, after, ratio)
