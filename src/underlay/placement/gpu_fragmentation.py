"""Fragmentation gradient descent (FGD), the GPU packing strategy that scores a node by how
much placing the pod grows the fleet's GPU fragmentation for the typical workload; and
:func:`gpu_fragmentation`, that measure for a whole fleet. The method and its reference
are in ``gpu_packing``'s module docstring."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from underlay.placement.gpu_fleet import (
    FULL_GPU_MILLI,
    GpuNodes,
    TypicalPods,
)
from underlay.placement.gpu_state import (
    _INF,
    _best_fit_left,
    _bits,
    _choose,
    _fits,
    _Request,
    _State,
)

__all__ = ["gpu_fragmentation"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
# FGD's node score resolution: the Kubernetes node score range 0..100 the reference
# plugin maps sigmoid(-growth / 1000 milli-GPU) onto. 0 = rank by the exact growth.
_FGD_SCORE_LEVELS = 100
# FGD breaks ties of its (integer) score by best-fit's scalar (0..1); scaled by this it
# stays below one score step (and below one loss unit in exact mode), so it never
# overrides a real difference.
_FGD_TIE_WEIGHT: Final = 0.5
_FGD_TABLE_ENTRIES: Final = 8_000_000  # FGD's type-weight lookup table, at most 64 MB


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
