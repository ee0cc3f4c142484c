"""The GPU packing kernel's inputs and result as plain NumPy arrays: GPU nodes
(:class:`GpuNodes`), the pods to place (:class:`GpuPods`), the typical workload FGD
scores against (:class:`TypicalPods`), and what :func:`~underlay.placement.gpu_packing.pack`
returns (:class:`GpuPackResult`, with a :class:`FailureReason` per pod that found no node).
The state they describe and its invariants are in ``gpu_packing``'s module docstring.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "FULL_GPU_MILLI",
    "MAX_GPUS",
    "FailureReason",
    "GpuNodes",
    "GpuPackResult",
    "GpuPods",
    "TypicalPods",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

FULL_GPU_MILLI: Final = 1000
"""Milli-GPU of one whole GPU."""

MAX_GPUS: Final = 62  # GPU sets are int64 bitmasks


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
        if g > MAX_GPUS:
            raise ValueError(f"at most {MAX_GPUS} GPUs per node are supported, got {g}")
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
