"""The GPU packing kernel's working state and the checks every strategy shares: the
mutable node state (:class:`_State`), one pod's request (:class:`_Request`), which nodes
fit it, which GPUs it takes, and how much a node would have left. Private to the kernel
(``gpu_packing``) and its strategies (``gpu_fragmentation``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from underlay.placement.gpu_fleet import (
    FULL_GPU_MILLI,
)

__all__: list[str] = []  # private to the GPU packing kernel

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_INF: Final = float("inf")


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
