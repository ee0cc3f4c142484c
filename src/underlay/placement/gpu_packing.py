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

Strategies (``STRATEGIES``), named after their algorithm
--------------------------------------------------------
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
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "FULL_GPU_MILLI",
    "STRATEGIES",
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

FULL_GPU_MILLI: Final = 1000
"""Milli-GPU of one whole GPU."""

STRATEGIES: Final = ("first-fit", "best-fit", "least-allocated", "dot-product", "fgd")
"""The strategy names :func:`pack` accepts."""

_MAX_GPUS: Final = 62  # GPU sets are int64 bitmasks
_INF: Final = float("inf")
# Score cache budget (entries of N floats + N ints + N ints), FIFO eviction beyond it.
_CACHE_ENTRIES: Final = 24_000_000
# FGD's node score resolution: the Kubernetes node score range 0..100 the reference
# plugin maps sigmoid(-growth / 1000 milli-GPU) onto. 0 = rank by the exact growth.
_FGD_SCORE_LEVELS = 100
# FGD breaks ties of its (integer) score by best-fit's scalar (0..1); scaled by this it
# stays below one score step (and below one loss unit in exact mode), so it never
# overrides a real difference.
_FGD_TIE_WEIGHT: Final = 0.5
_FGD_TABLE_ENTRIES: Final = 8_000_000  # FGD's type-weight lookup table, at most 64 MB


class FailureReason(enum.IntEnum):
    """Why a pod was not placed: the first filter after which no node was left."""

    NONE = 0
    GPU_MODEL = 1
    CPU = 2
    MEMORY = 3
    GPU = 4

    @property
    def label(self) -> str:
        """Short name used in reports: ``""``, ``gpu-model``, ``cpu``, ``memory``, ``gpu``."""
        return _REASON_LABELS[self]


_REASON_LABELS: Final = {
    FailureReason.NONE: "",
    FailureReason.GPU_MODEL: "gpu-model",
    FailureReason.CPU: "cpu",
    FailureReason.MEMORY: "memory",
    FailureReason.GPU: "gpu",
}


def _i64(values: npt.ArrayLike, name: str, ndim: int = 1) -> I64:
    arr = np.ascontiguousarray(values, dtype=np.int64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class GpuNodes:
    """Free and total capacity of ``N`` nodes, in the shared GPU state representation.

    Build a fully free fleet with :meth:`from_capacity`; :func:`pack` returns the state
    after placement as another :class:`GpuNodes` (``GpuPackResult.nodes_after``).
    """

    cpu_free_milli: I64
    """Free CPU per node, millicores, int64[N]."""
    memory_free_mib: I64
    """Free memory per node, MiB, int64[N]."""
    gpu_free_milli: I32
    """Free milli-GPU per GPU slot, int32[N, G]; slots a node does not have are 0."""
    gpu_model: I32
    """GPU model per node, int32[N], an index into ``model_names``."""
    model_names: tuple[str, ...]
    """Names of the GPU models; ``""`` may stand for "no GPU"."""
    cpu_capacity_milli: I64
    """Allocatable CPU per node, millicores, int64[N]."""
    memory_capacity_mib: I64
    """Allocatable memory per node, MiB, int64[N]."""
    gpu_count: I64
    """Number of GPUs per node, int64[N]; slots ``>= gpu_count`` do not exist."""

    def __post_init__(self) -> None:
        """Coerce dtypes and check shapes and capacities (ValueError: a caller's bug)."""
        cpu = _i64(self.cpu_free_milli, "cpu_free_milli")
        n = cpu.shape[0]
        gpu = np.ascontiguousarray(self.gpu_free_milli, dtype=np.int32)
        if gpu.ndim == 1 and gpu.size == 0:
            gpu = gpu.reshape(n, 0)
        fields: dict[str, npt.NDArray[np.generic]] = {
            "cpu_free_milli": cpu,
            "memory_free_mib": _i64(self.memory_free_mib, "memory_free_mib"),
            "gpu_free_milli": gpu,
            "gpu_model": np.ascontiguousarray(self.gpu_model, dtype=np.int32),
            "cpu_capacity_milli": _i64(self.cpu_capacity_milli, "cpu_capacity_milli"),
            "memory_capacity_mib": _i64(self.memory_capacity_mib, "memory_capacity_mib"),
            "gpu_count": _i64(self.gpu_count, "gpu_count"),
        }
        for name, arr in fields.items():
            want = (n, arr.shape[1]) if name == "gpu_free_milli" and arr.ndim == 2 else (n,)
            if arr.shape != want:
                raise ValueError(f"GpuNodes.{name}: shape {arr.shape}, expected {want}")
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "model_names", tuple(self.model_names))
        g = gpu.shape[1]
        if g > _MAX_GPUS:
            raise ValueError(f"at most {_MAX_GPUS} GPUs per node are supported, got {g}")
        if n == 0:
            return
        if (self.gpu_model < 0).any() or (self.gpu_model >= len(self.model_names)).any():
            raise ValueError("GpuNodes.gpu_model must index into model_names")
        if (self.gpu_count < 0).any() or (self.gpu_count > g).any():
            raise ValueError(f"GpuNodes.gpu_count must be within 0..{g}")
        for free, cap in (
            (self.cpu_free_milli, self.cpu_capacity_milli),
            (self.memory_free_mib, self.memory_capacity_mib),
        ):
            if (free < 0).any() or (free > cap).any():
                raise ValueError("free CPU and memory must be within 0..capacity")
        exists = np.arange(g)[None, :] < self.gpu_count[:, None]
        if (gpu < 0).any() or (gpu > FULL_GPU_MILLI).any() or (gpu[~exists] != 0).any():
            raise ValueError("gpu_free_milli must be within 0..1000 and 0 on missing GPUs")

    @classmethod
    def from_capacity(
        cls,
        cpu_milli: npt.ArrayLike,
        memory_mib: npt.ArrayLike,
        gpu_count: npt.ArrayLike,
        gpu_model: npt.ArrayLike,
        model_names: Sequence[str],
        max_gpus: int | None = None,
    ) -> GpuNodes:
        """A fully free fleet: every existing GPU has 1000 milli free.

        ``max_gpus`` sets ``G`` (default: the largest ``gpu_count``).
        """
        count = _i64(gpu_count, "gpu_count")
        g = int(count.max(initial=0)) if max_gpus is None else max_gpus
        free = np.where(np.arange(g)[None, :] < count[:, None], FULL_GPU_MILLI, 0)
        cpu = _i64(cpu_milli, "cpu_milli")
        mem = _i64(memory_mib, "memory_mib")
        return cls(
            cpu_free_milli=cpu.copy(),
            memory_free_mib=mem.copy(),
            gpu_free_milli=free.astype(np.int32),
            gpu_model=np.asarray(gpu_model, dtype=np.int32),
            model_names=tuple(model_names),
            cpu_capacity_milli=cpu,
            memory_capacity_mib=mem,
            gpu_count=count,
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes ``N``."""
        return int(self.cpu_free_milli.shape[0])

    @property
    def max_gpus(self) -> int:
        """GPU slots per node ``G``."""
        return int(self.gpu_free_milli.shape[1])

    @property
    def total_gpu_milli(self) -> int:
        """Milli-GPU of all GPUs of all nodes."""
        return int(self.gpu_count.sum()) * FULL_GPU_MILLI

    @property
    def allocated_gpu_milli(self) -> int:
        """Milli-GPU not free (allocated) over all nodes."""
        return self.total_gpu_milli - int(self.gpu_free_milli.sum(dtype=np.int64))


@dataclass(frozen=True, eq=False)
class GpuPods:
    """Requests of ``P`` pods; row order is the order in which :func:`pack` places them."""

    cpu_milli: I64
    """CPU request, millicores, int64[P]."""
    memory_mib: I64
    """Memory request, MiB, int64[P]."""
    num_gpu: I64
    """Number of GPUs, int64[P]; 0 = no GPU."""
    gpu_milli: I64
    """Milli-GPU needed on *each* of the ``num_gpu`` GPUs (1..1000), 0 when num_gpu is 0."""
    allowed_models: B
    """bool[P, M]: GPU models (columns as the nodes' ``model_names``) the pod accepts."""

    def __post_init__(self) -> None:
        """Coerce dtypes and check the requests (ValueError: a caller's bug)."""
        cpu = _i64(self.cpu_milli, "cpu_milli")
        p = cpu.shape[0]
        arrays = {
            "cpu_milli": cpu,
            "memory_mib": _i64(self.memory_mib, "memory_mib"),
            "num_gpu": _i64(self.num_gpu, "num_gpu"),
            "gpu_milli": _i64(self.gpu_milli, "gpu_milli"),
        }
        for name, arr in arrays.items():
            if arr.shape != (p,):
                raise ValueError(f"GpuPods.{name}: shape {arr.shape}, expected {(p,)}")
            if (arr < 0).any():
                raise ValueError(f"GpuPods.{name} must not be negative")
            object.__setattr__(self, name, arr)
        allowed = np.ascontiguousarray(self.allowed_models, dtype=np.bool_)
        if allowed.ndim != 2 or allowed.shape[0] != p:
            raise ValueError(f"GpuPods.allowed_models: shape {allowed.shape}, expected (P, M)")
        object.__setattr__(self, "allowed_models", allowed)
        k, d = self.num_gpu, self.gpu_milli
        if ((k > 0) & ((d < 1) | (d > FULL_GPU_MILLI))).any():
            raise ValueError("a GPU pod needs 1..1000 milli-GPU per GPU")
        if ((k == 0) & (d != 0)).any():
            raise ValueError("a pod without GPUs must ask for gpu_milli 0")

    @classmethod
    def from_requests(
        cls,
        cpu_milli: npt.ArrayLike,
        memory_mib: npt.ArrayLike,
        num_gpu: npt.ArrayLike,
        gpu_milli: npt.ArrayLike,
        model_names: Sequence[str],
        gpu_spec: Sequence[str] | None = None,
    ) -> GpuPods:
        """Build pods; ``gpu_spec[i]`` lists allowed models separated by ``|``, "" = any."""
        cpu = _i64(cpu_milli, "cpu_milli")
        allowed = np.ones((cpu.shape[0], len(model_names)), dtype=np.bool_)
        if gpu_spec is not None:
            column = {name: j for j, name in enumerate(model_names)}
            for i, spec in enumerate(gpu_spec):
                names = [s.strip() for s in spec.split("|") if s.strip()]
                if names:
                    allowed[i] = False
                    for name in names:
                        if name in column:
                            allowed[i, column[name]] = True
        return cls(
            cpu,
            _i64(memory_mib, "memory_mib"),
            _i64(num_gpu, "num_gpu"),
            _i64(gpu_milli, "gpu_milli"),
            allowed,
        )

    @property
    def n_pods(self) -> int:
        """Number of pods ``P``."""
        return int(self.cpu_milli.shape[0])

    @property
    def gpu_milli_requested(self) -> I64:
        """Total milli-GPU each pod asks for: ``num_gpu * gpu_milli``, int64[P]."""
        return self.num_gpu * self.gpu_milli

    def take(self, index: npt.ArrayLike) -> GpuPods:
        """The pods at ``index`` (reorder, subset or repeat), in that order."""
        idx = np.asarray(index, dtype=np.int64)
        return GpuPods(
            self.cpu_milli[idx],
            self.memory_mib[idx],
            self.num_gpu[idx],
            self.gpu_milli[idx],
            self.allowed_models[idx],
        )


@dataclass(frozen=True, eq=False)
class TypicalPods:
    """The target workload as pod types with popularity, for fragmentation (FGD).

    A type is a distinct request ``(cpu_milli, memory_mib, num_gpu, gpu_milli,
    allowed models)``; its popularity is the number of pods of that type.
    """

    cpu_milli: I64
    """CPU request of each type, int64[T]."""
    memory_mib: I64
    """Memory request of each type, int64[T]."""
    num_gpu: I64
    """GPUs of each type, int64[T]."""
    gpu_milli: I64
    """Milli-GPU per GPU of each type, int64[T]."""
    allowed_models: B
    """bool[T, M], allowed GPU models of each type."""
    popularity: I64
    """Number of pods of each type, int64[T] (> 0)."""

    @classmethod
    def from_pods(cls, pods: GpuPods, coverage: float = 1.0) -> TypicalPods:
        """Condense ``pods`` into types and count them.

        Identical requests merge into one type (the openb default list has 8,152 pods
        but 151 types). With ``coverage < 1`` only the most popular types are kept, until
        their pods make up at least that share of all pods (the reference simulator
        keeps 95 %); equally popular types are ordered by request for determinism.
        """
        if not 0.0 < coverage <= 1.0:
            raise ValueError(f"coverage must be in (0, 1], got {coverage}")
        rows = np.column_stack(
            [
                pods.cpu_milli,
                pods.memory_mib,
                pods.num_gpu,
                pods.gpu_milli,
                pods.allowed_models.astype(np.int64),
            ]
        )
        if rows.shape[0] == 0:
            uniq = rows
            counts = np.zeros(0, dtype=np.int64)
        else:
            uniq, counts = np.unique(rows, axis=0, return_counts=True)
        # Most popular first; np.unique already sorted rows, a stable sort keeps that.
        order = np.argsort(-counts, kind="stable")
        uniq, counts = uniq[order], counts[order].astype(np.int64)
        if coverage < 1.0 and counts.size:
            share = np.cumsum(counts) / counts.sum()
            keep = int(np.searchsorted(share, coverage - 1e-12)) + 1
            uniq, counts = uniq[:keep], counts[:keep]
        return cls(
            cpu_milli=uniq[:, 0].copy(),
            memory_mib=uniq[:, 1].copy(),
            num_gpu=uniq[:, 2].copy(),
            gpu_milli=uniq[:, 3].copy(),
            allowed_models=uniq[:, 4:].astype(np.bool_),
            popularity=counts,
        )

    @property
    def n_types(self) -> int:
        """Number of types ``T``."""
        return int(self.popularity.shape[0])


@dataclass(frozen=True, eq=False)
class GpuPackResult:
    """Outcome of :func:`pack`: where each pod went, on which GPUs, or why not."""

    strategy: str
    """The strategy used."""
    node_of_pod: I64
    """Node index of each pod, int64[P]; -1 when the pod was not placed."""
    gpu_mask: I64
    """GPUs used by each pod, int64[P] bitmask (bit g = GPU slot g of its node)."""
    failure_reason: I8
    """int8[P] :class:`FailureReason` values; 0 (NONE) for placed pods."""
    nodes_after: GpuNodes
    """Node state after all placements."""
    gpu_allocation_ratio: float
    """Allocated milli-GPU / total milli-GPU over all nodes, after placement."""

    @property
    def placed(self) -> B:
        """bool[P]: which pods were placed."""
        return self.node_of_pod >= 0

    @property
    def n_failed(self) -> int:
        """Number of pods not placed."""
        return int((self.node_of_pod < 0).sum())

    def gpus_of_pod(self, pod: int) -> tuple[int, ...]:
        """GPU slot indices pod ``pod`` uses on its node (empty if none or failed)."""
        mask = int(self.gpu_mask[pod])
        return tuple(g for g in range(self.nodes_after.max_gpus) if mask >> g & 1)

    def failure_counts(self) -> dict[str, int]:
        """Failed pods per reason label (only reasons that occurred)."""
        codes, counts = np.unique(self.failure_reason, return_counts=True)
        return {
            FailureReason(int(c)).label: int(n)
            for c, n in zip(codes, counts, strict=True)
            if c != FailureReason.NONE
        }


# --------------------------------------------------------------------------------------
# Kernel internals
# --------------------------------------------------------------------------------------


@dataclass
class _State:
    """Mutable copy of the node state used while packing."""

    cpu: I64
    mem: I64
    gpu: I64  # (N, G), int64 to keep arithmetic simple
    model: I64
    version: I64  # bumped whenever a node changes; drives the score cache
    cpu_cap: F64  # capacities as floats, 0 replaced by inf so that x / cap == 0
    mem_cap: F64
    gpu_cap: F64
    cpu_max: float  # largest CPU / GPU capacity of the fleet (best-fit); inf if none
    gpu_max: float


@dataclass(frozen=True)
class _Request:
    cpu: int
    mem: int
    k: int
    d: int
    allowed: B  # bool[M]


class _Scorer(Protocol):
    """A strategy: score nodes for a request (lower is better, inf = does not fit)."""

    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        """Scores and chosen GPU bitmask for nodes ``idx``."""
        ...

    def commit(self, st: _State, node: int) -> None:
        """Hook called after a pod was placed on ``node``."""
        ...


def _fits(st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[B, B]:
    """(node fits, GPU slot fits) for nodes ``idx``; pure, changes nothing."""
    ok = (st.cpu[idx] >= req.cpu) & (st.mem[idx] >= req.mem)
    if req.k == 0:
        return ok, np.zeros((idx.shape[0], st.gpu.shape[1]), dtype=np.bool_)
    slot = st.gpu[idx] >= req.d
    ok &= model_ok & (slot.sum(axis=1) >= req.k)
    return ok, slot


def _bits(chosen: B) -> I64:
    weights = np.left_shift(np.int64(1), np.arange(chosen.shape[1], dtype=np.int64))
    return chosen.astype(np.int64) @ weights


def _choose(free: I64, slot: B, k: int, order: str) -> B:
    """Choose ``k`` fitting GPU slots per row: ``first``, ``tightest`` or ``loosest``."""
    n, g = slot.shape
    chosen = np.zeros((n, g), dtype=np.bool_)
    if k == 0 or n == 0:
        return chosen
    if order == "first":
        return slot & (np.cumsum(slot, axis=1) <= k)
    # key: smaller is preferred; argmin / stable argsort give the lowest slot on ties
    key = np.where(slot, free, 2 * FULL_GPU_MILLI + 1)
    if order == "loosest":
        key = np.where(slot, FULL_GPU_MILLI - free, 2 * FULL_GPU_MILLI + 1)
    if k == 1:
        chosen[np.arange(n), key.argmin(axis=1)] = True
    else:
        np.put_along_axis(chosen, np.argsort(key, axis=1, kind="stable")[:, :k], True, axis=1)
    return chosen & slot


class _FirstFit:
    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        ok, slot = _fits(st, idx, req, model_ok)
        score = np.where(ok, idx.astype(np.float64), _INF)
        return score, _bits(_choose(st.gpu[idx], slot, req.k, "first"))

    def commit(self, st: _State, node: int) -> None:
        pass


def _remaining(st: _State, idx: I64, req: _Request) -> F64:
    """Normalised free capacity after placement: cpu + memory + GPU shares (0..3)."""
    gpu_after = st.gpu[idx].sum(axis=1) - req.k * req.d
    result: F64 = (
        (st.cpu[idx] - req.cpu) / st.cpu_cap[idx]
        + (st.mem[idx] - req.mem) / st.mem_cap[idx]
        + gpu_after / st.gpu_cap[idx]
    )
    return result


def _best_fit_left(st: _State, idx: I64, req: _Request) -> F64:
    """Best-fit's scalar after placement: 0.5 cpu'/max_cpu + 0.5 gpu'/max_gpu (0..1)."""
    gpu_after = st.gpu[idx].sum(axis=1) - req.k * req.d
    result: F64 = 0.5 * (st.cpu[idx] - req.cpu) / st.cpu_max + 0.5 * gpu_after / st.gpu_max
    return result


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


class _Fragmentation:
    """Expected GPU fragmentation of node states against a typical workload.

    For a node and a pod type ``t`` (Weng et al. 2023, section 3):

    * if ``t`` cannot run on the node (CPU, memory, GPU model, or fewer than ``k_t``
      GPUs with ``d_t`` free), every free milli-GPU of the node is a fragment to ``t``;
    * otherwise the fragments are the free milli-GPU of the GPUs with less than ``d_t``
      free, i.e. those ``t`` could not use.

    * a type asking for no GPU (``k_t = 0``) uses no GPU, so every free milli-GPU of
      every node is a fragment to it, whether it could run there or not (the paper's
      rule; the reference simulator counts it the same way). Its share of the
      fragmentation changes by the same amount wherever a pod goes, so it never steers
      a choice, but it weighs in the mean.

    "Can run" checks CPU, memory, GPU model and GPUs; the reference simulator leaves
    memory out of its node model, underlay keeps it because a task short of memory
    cannot run either (leaving it out measured 0.2-0.4 points lower on openb seeds
    100-109). The node's fragmentation is the popularity-weighted mean over the types.
    Writing ``S`` for the node's free milli-GPU and ``U_t = sum_g free_g [free_g >= d_t]``
    for what ``t`` *could* use, ``frag = S - sum_t p_t fit_t U_t`` with ``p_t`` the
    popularity share (``U_t`` counted as 0 for GPU-less types); this class computes the
    second term (the "usable" value ``V``) with integer popularity counts, so equal
    placements tie exactly.

    Types are grouped by threshold ``d`` (one ``U``/count column per distinct ``d``);
    types asking for one GPU need no count check (``U > 0`` already implies one GPU
    fits); multi-GPU types are grouped by ``(d, k)`` and checked against the count.
    """

    def __init__(self, typical: TypicalPods, n_models: int) -> None:
        if typical.allowed_models.shape[1] != n_models:
            raise ValueError(
                f"TypicalPods has {typical.allowed_models.shape[1]} model columns, "
                f"the nodes have {n_models} models"
            )
        self.t_cpu = typical.cpu_milli
        self.t_mem = typical.memory_mib
        t_k = typical.num_gpu
        t_d = typical.gpu_milli  # 0 for CPU-only types: every GPU passes "free >= 0"
        self.total_popularity = float(typical.popularity.sum())
        # GPU-less types can use no GPU: they add nothing to V (all free GPU is a fragment)
        pop = np.where(t_k > 0, typical.popularity, 0).astype(np.float64)
        self.dvals = np.unique(t_d)  # (D,)
        d_col = np.searchsorted(self.dvals, t_d)
        multi = np.unique(np.column_stack([d_col, t_k])[t_k > 1], axis=0)  # (Q, 2)
        self.q_col = multi[:, 0].astype(np.int64)
        self.q_k = multi[:, 1].astype(np.int64)
        n_t, n_d, n_q = t_d.shape[0], self.dvals.shape[0], multi.shape[0]
        weights = np.zeros((n_t, n_d + n_q))
        single = t_k <= 1
        weights[np.flatnonzero(single), d_col[single]] = pop[single]
        for q in range(n_q):  # a handful of (d, k) groups, not a hot loop
            sel = (d_col == multi[q, 0]) & (t_k == multi[q, 1])
            weights[sel, n_d + q] = pop[sel]
        self.weights = weights
        self.n_d = n_d
        # model_ok_types[m, t]: type t may run on a node of model m
        self.model_ok_types = np.ascontiguousarray(typical.allowed_models.T)
        self.model_ok_types[:, t_k == 0] = True  # the model filter ignores CPU-only pods
        # Lookup table of the same sums: weights of the types with cpu_t <= cpu and
        # mem_t <= mem, per model, as a 2-D prefix sum over the distinct CPU and memory
        # requests. A lookup per node replaces an (n, T) comparison and a BLAS matmul
        # (whose threads slow down badly on a busy machine); skipped if it gets large.
        self.cpu_vals = np.unique(self.t_cpu)
        self.mem_vals = np.unique(self.t_mem)
        n_m = self.model_ok_types.shape[0]
        size = n_m * (self.cpu_vals.size + 1) * (self.mem_vals.size + 1) * weights.shape[1]
        self.table: F64 | None = None
        if 0 < size <= _FGD_TABLE_ENTRIES:
            table = np.zeros((n_m, self.cpu_vals.size + 1, self.mem_vals.size + 1, n_d + n_q))
            row = np.searchsorted(self.cpu_vals, self.t_cpu) + 1
            col = np.searchsorted(self.mem_vals, self.t_mem) + 1
            column = np.where(t_k > 1, 0, d_col)
            for q in range(n_q):
                column[(d_col == multi[q, 0]) & (t_k == multi[q, 1])] = n_d + q
            for m in range(n_m):  # a handful of GPU models, once per pack()
                ok = self.model_ok_types[m]
                np.add.at(table[m], (row[ok], col[ok], column[ok]), pop[ok])
            self.table = np.cumsum(np.cumsum(table, axis=1), axis=2)

    def _type_weights(self, cpu: I64, mem: I64, model: I64) -> F64:
        """Popularity of the types whose CPU, memory and model fit: (n, D + Q)."""
        if self.table is not None:
            row = np.searchsorted(self.cpu_vals, cpu, side="right")
            col = np.searchsorted(self.mem_vals, mem, side="right")
            looked_up: F64 = self.table[model, row, col]
            return looked_up
        fit = (cpu[:, None] >= self.t_cpu) & (mem[:, None] >= self.t_mem)
        if self.model_ok_types.shape[0]:
            fit &= self.model_ok_types[model]
        result: F64 = fit.astype(np.float64) @ self.weights
        return result

    def usable_from_parts(self, w: F64, usable: F64, count: I64) -> F64:
        """``V`` from type weights ``w (..., D+Q)``, per-threshold usable and count."""
        value: F64 = (usable * w[..., : self.n_d]).sum(axis=-1)
        if self.q_k.size:
            ok = count[..., self.q_col] >= self.q_k
            value += (usable[..., self.q_col] * w[..., self.n_d :] * ok).sum(axis=-1)
        return value

    def parts(self, free: I64) -> tuple[F64, I64]:
        """Per-threshold usable milli-GPU and GPU count of states ``free (..., G)``."""
        ge = free[..., None] >= self.dvals
        usable = (free[..., None] * ge).sum(axis=-2).astype(np.float64)
        return usable, ge.sum(axis=-2)

    def usable(self, cpu: I64, mem: I64, model: I64, free: I64) -> F64:
        """``V`` for node states given as arrays (n,), (n,), (n,), (n, G)."""
        usable, count = self.parts(free)
        return self.usable_from_parts(self._type_weights(cpu, mem, model), usable, count)


class _Fgd:
    """Fragmentation gradient descent: least growth of expected fragmentation.

    The loss of a placement is ``V_before - V_after`` >= 0, the popularity-weighted GPU
    capacity that stops being usable by the typical pods; the growth of the node's
    expected fragmentation is ``loss / P - k * d`` milli-GPU (``P`` the total
    popularity: the pod's own milli-GPU leave the free pool). For a pod with one GPU
    every fitting GPU of the node is tried and the least loss kept; for ``k > 1`` GPUs
    the ``k`` tightest fitting GPUs are taken (for whole-GPU pods all choices are equal).

    The node score is the reference plugin's integer ``floor(100 * sigmoid(-growth /
    1000))`` (higher is better; stored negated), so near-equal growths tie; ties go to
    the node tightest by best-fit's scalar, then to the lowest index. Tuned on openb
    seeds 100-109 (``benchmarks/openb.py``): exact growth with best-fit ties 95.0 %,
    integer score with lowest-index ties 95.3 %, with best-fit ties 95.5 %; random ties
    (the Kubernetes default) were far worse in our emulation.
    """

    def __init__(self, st: _State, typical: TypicalPods, n_models: int) -> None:
        self.frag = _Fragmentation(typical, n_models)
        self.v_now = self.frag.usable(st.cpu, st.mem, st.model, st.gpu)

    def score(self, st: _State, idx: I64, req: _Request, model_ok: B) -> tuple[F64, I64]:
        ok, slot = _fits(st, idx, req, model_ok)
        score = np.full(idx.shape[0], _INF)
        mask = np.zeros(idx.shape[0], dtype=np.int64)
        live = np.flatnonzero(ok)
        if live.size == 0:
            return score, mask
        nodes = idx[live]
        frag = self.frag
        w = frag._type_weights(st.cpu[nodes] - req.cpu, st.mem[nodes] - req.mem, st.model[nodes])
        free = st.gpu[nodes]
        if req.k == 1:
            # One GPU: try every slot; only slot g changes, so update the parts.
            usable, count = frag.parts(free)
            before = free[..., None] >= frag.dvals  # (n, G, D)
            after = free - req.d
            after_ge = after[..., None] >= frag.dvals
            usable_g = (
                usable[:, None, :]
                - (free[..., None] * before).astype(np.float64)
                + (after[..., None] * after_ge).astype(np.float64)
            )
            count_g = count[:, None, :] - before + after_ge
            v_after = frag.usable_from_parts(w[:, None, :], usable_g, count_g)  # (n, G)
            loss = np.where(slot[live], self.v_now[nodes, None] - v_after, _INF)
            best = loss.argmin(axis=1)
            score[live] = self._rank(loss[np.arange(live.size), best], req)
            score[live] += self._tie(st, nodes, req)
            mask[live] = np.left_shift(np.int64(1), best.astype(np.int64))
            return score, mask
        chosen = _choose(free, slot[live], req.k, "tightest")
        usable, count = frag.parts(free - req.d * chosen)
        score[live] = self._rank(self.v_now[nodes] - frag.usable_from_parts(w, usable, count), req)
        score[live] += self._tie(st, nodes, req)
        mask[live] = _bits(chosen)
        return score, mask

    def _rank(self, loss: F64, req: _Request) -> F64:
        """Lower is better: the negated integer score of the growth (or the loss)."""
        if not _FGD_SCORE_LEVELS:
            return loss
        total = self.frag.total_popularity
        growth = (loss / total if total > 0 else 0.0) - req.k * req.d
        with np.errstate(over="ignore"):  # exp overflow -> inf -> score 0, as wanted
            sig = 1.0 / (1.0 + np.exp(growth / FULL_GPU_MILLI))
        result: F64 = -np.floor(_FGD_SCORE_LEVELS * sig)
        return result

    @staticmethod
    def _tie(st: _State, nodes: I64, req: _Request) -> F64:
        """Tie-breaker below one score step: prefer the node tighter by best-fit."""
        result: F64 = _FGD_TIE_WEIGHT * _best_fit_left(st, nodes, req)
        return result

    def commit(self, st: _State, node: int) -> None:
        at = np.array([node])
        self.v_now[node] = self.frag.usable(st.cpu[at], st.mem[at], st.model[at], st.gpu[at])[0]


def gpu_fragmentation(nodes: GpuNodes, typical: TypicalPods) -> F64:
    """Expected GPU fragmentation of each node, in milli-GPU, float64[N].

    The popularity-weighted mean, over the typical pod types, of the free milli-GPU
    that type could not use on the node (see :class:`_Fragmentation` for the rules).
    """
    frag = _Fragmentation(typical, len(nodes.model_names))
    free = nodes.gpu_free_milli.astype(np.int64)
    usable = frag.usable(
        nodes.cpu_free_milli, nodes.memory_free_mib, nodes.gpu_model.astype(np.int64), free
    )
    if frag.total_popularity <= 0:
        return np.zeros(nodes.n_nodes)  # no workload: nothing is a fragment to anyone
    result: F64 = free.sum(axis=1).astype(np.float64) - usable / frag.total_popularity
    return result


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
        hint = difflib.get_close_matches(strategy, STRATEGIES, n=1)
        fix = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown strategy {strategy!r}{fix}; choose from {STRATEGIES}")
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
    st = _State(
        cpu=nodes.cpu_free_milli.copy(),
        mem=nodes.memory_free_mib.copy(),
        gpu=nodes.gpu_free_milli.astype(np.int64),
        model=nodes.gpu_model.astype(np.int64),
        version=np.zeros(n_nodes, dtype=np.int64),
        cpu_cap=_cap(nodes.cpu_capacity_milli),
        mem_cap=_cap(nodes.memory_capacity_mib),
        gpu_cap=_cap(nodes.gpu_count * FULL_GPU_MILLI),
        cpu_max=_fleet_max(nodes.cpu_capacity_milli),
        gpu_max=_fleet_max(nodes.gpu_count * FULL_GPU_MILLI),
    )
    scorer = _scorer(strategy, st, pods, typical, len(nodes.model_names))
    node_of_pod = np.full(n_pods, -1, dtype=np.int64)
    gpu_mask = np.zeros(n_pods, dtype=np.int64)
    reason = np.zeros(n_pods, dtype=np.int8)

    # One cache row per distinct request; pods of the same request share scores.
    if n_pods:
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
        key_of_pod = key_of_pod.reshape(-1)
    else:
        first = key_of_pod = np.zeros(0, dtype=np.int64)
    max_rows = max(1, _CACHE_ENTRIES // max(n_nodes, 1))
    cache: dict[int, _CacheRow] = {}
    all_nodes = np.arange(n_nodes, dtype=np.int64)
    bit_index = np.arange(nodes.max_gpus, dtype=np.int64)
    keys = key_of_pod.tolist()
    for i in range(n_pods):
        key = keys[i]
        row = cache.get(key)
        if row is None:
            j = int(first[key])
            if len(cache) >= max_rows:
                del cache[next(iter(cache))]
            allowed = pods.allowed_models[j]
            model_ok = allowed[st.model] if allowed.size else np.ones(n_nodes, np.bool_)
            req = _Request(
                int(pods.cpu_milli[j]),
                int(pods.memory_mib[j]),
                int(pods.num_gpu[j]),
                int(pods.gpu_milli[j]),
                allowed,
            )
            row = _CacheRow(
                req=req,
                score=np.empty(n_nodes),
                mask=np.zeros(n_nodes, dtype=np.int64),
                version=np.full(n_nodes, -1, dtype=np.int64),
                model_ok=model_ok,
            )
            cache[key] = row
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
