"""What each pod asks for at each step, vectorised over pods and steps.

:class:`UsageSampler` gives, for a range of steps, (pods × steps) arrays of CPU demand
(millicores) and memory use (MiB): each pod's row is copied from its usage model's table
of rows its workload's pods share (:mod:`underlay.simulation.usage_models`: constant,
diurnal, trace; one protocol, ``UsageModel``), the model adds what is the pod's own, and
then the workload's bursts apply: they start with probability ``burst_probability`` per
step for the whole workload and multiply CPU demand by ``burst_factor`` for
``burst_steps`` steps (not a trace's: its bursts are in the trace). Negative demand is
clipped to 0.

GPU use (:meth:`UsageSampler.gpu_rows`) is ``usage.gpu`` of the pod's GPU share, times
the workload's burst factor while it bursts.

Randomness comes from ``numpy.random.default_rng([seed, first_step])`` per chunk of
steps, drawn for pods in canonical order — each model's draws, then the bursts' — so the
same seed gives the same usage on every substrate and in every run. The draws of a chunk
(:meth:`UsageSampler.draw`, a :class:`ChunkDraws` of plain arrays) can be made once and
handed to several samplers of the same fleet (:meth:`UsageSampler.begin` with
``draws=``): a partitioned replay's workers share the parent's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario
from underlay.placement.result import WorkloadRef
from underlay.simulation.pods import PodTable, pod_table
from underlay.simulation.scratch import Scratch
from underlay.simulation.usage_models import (
    USAGE_MODELS,
    Drawn,
    DrawShape,
    UsageInputs,
    resample_mean,
)

__all__ = ["CHUNK_STEPS", "ChunkDraws", "UsageSampler", "resample_mean", "workload_peaks"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
CHUNK_STEPS = 32  # part of the model: random draws are made per chunk of this many steps


@dataclass(frozen=True)
class ChunkDraws:
    """The random draws of steps [start, stop) for a whole fleet, in the order they come
    from the chunk's stream: each model's (:meth:`~underlay.simulation.usage_models.
    UsageModel.draw`), then the bursts' uniforms (workloads × steps; None when no workload
    bursts). Only read once made: they may live in shared memory or Ray's object store."""

    start: int
    stop: int
    models: tuple[Drawn, ...]  # one per model of the sampler, in its order
    bursts: F64 | None

    @property
    def arrays(self) -> list[NDArray[Any]]:
        """Every array, in the order of :meth:`UsageSampler.draw_shapes`."""
        out = [a for drawn in self.models for a in drawn]
        return out if self.bursts is None else [*out, self.bursts]


class UsageSampler:
    """Per-pod usage for any range of steps (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        workloads: list[WorkloadRef],
        pods: PodTable,
        *,
        seed: int | None = None,
    ) -> None:
        sim = scenario.simulation
        self.steps = sim.steps
        self.step_s = sim.step_minutes * 60.0
        self.seed = sim.seed if seed is None else seed
        self.pods = pods
        usage = [w.workload.usage for w in workloads]
        inputs = UsageInputs(scenario, workloads, pods, self.steps, self.step_s)
        used = {u.model for u in usage}
        # Every model the workloads use, in the registry's order (the order of the draws).
        self.models = [make(inputs) for name, make in USAGE_MODELS.items() if name in used]
        codes = {model.name: code for code, model in enumerate(self.models)}
        self.n_workloads = len(workloads)
        self.burst_p = np.array([u.burst_probability for u in usage])
        self.burst_factor = np.array([u.burst_factor for u in usage], np.float32)
        self.burst_steps = np.array([u.burst_steps for u in usage], np.int64)
        self._burst_left = np.zeros(self.n_workloads, np.int64)
        self._next_step = 0
        wid = pods.workload
        self.model_of_pod = np.array([codes[u.model] for u in usage], np.int64)[wid]
        self.mem_level = (np.array([u.memory for u in usage])[wid] * pods.base_mem).astype(
            np.float32
        )
        self.gpu_level = np.array([u.gpu for u in usage], np.float32)[wid]
        self._bursty = self.burst_p[wid] > 0
        bursts = np.array([m.bursts for m in self.models] or [False], bool)
        self._bursts_cpu = self._bursty & bursts[self.model_of_pod]
        self._memory_varies = any(m.memory_varies for m in self.models)
        self._span = (0, 0)
        # Each pod's row of the chunk's table: the models' tables one after the other.
        self._pod_row = np.full(len(pods), -1, np.int64)
        offset = 0
        for model in self.models:
            mine = model.row_of_pod >= 0
            self._pod_row[mine] = offset + model.row_of_pod[mine]
            offset += int(model.row_of_pod.max(initial=-1)) + 1
        self._table_span = (-1, -1)
        self._kept = Scratch()  # the draws' arrays, reused chunk after chunk

    def chunk(self, start: int, stop: int) -> tuple[F32, F32]:
        """(cpu millicores, memory MiB) for steps [start, stop): CPU is (pods × steps);
        memory too when traces are used, else one column (pods × 1), constant over time.

        Chunks must be asked for in order (bursts carry from one chunk to the next).
        """
        self.begin(start, stop)
        return self.rows(np.arange(len(self.pods), dtype=np.int64))

    def draw_shapes(self, n: int) -> list[DrawShape]:
        """What :meth:`draw` makes for a chunk of ``n`` steps: shapes and dtypes, in order
        (each model's, then the bursts')."""
        shapes = [shape for model in self.models for shape in model.draw_shapes(n)]
        if self.burst_p.any():
            shapes.append(((self.n_workloads, n), np.float64))
        return shapes

    def draw(self, start: int, stop: int, out: Sequence[NDArray[Any]] | None = None) -> ChunkDraws:
        """The random draws of steps [start, stop) for every pod, into ``out`` (arrays of
        :meth:`draw_shapes`; new ones by default). Changes nothing in the sampler.

        All of a chunk's draws come from ``default_rng([seed, start])``, for every pod in
        canonical order — each model's, in the order of :data:`USAGE_MODELS`, then the
        bursts' — so which pods are asked for, in what blocks or by which process, never
        changes anyone's usage.
        """
        shapes = self.draw_shapes(stop - start)
        arrays: list[NDArray[Any]] = (
            [np.empty(shape, dtype) for shape, dtype in shapes] if out is None else list(out)
        )
        draws = self.draws_in(start, stop, arrays)
        rng = np.random.default_rng([self.seed, start])
        for model, drawn in zip(self.models, draws.models, strict=True):
            model.draw(rng, drawn)
        if draws.bursts is not None:
            rng.random(out=draws.bursts)
        return draws

    def draws_in(self, start: int, stop: int, arrays: Sequence[NDArray[Any]]) -> ChunkDraws:
        """The :class:`ChunkDraws` of steps [start, stop) whose arrays are ``arrays``, in
        the order of :meth:`draw_shapes` (drawn by :meth:`draw`, maybe by another process
        into shared memory), each model's its own."""
        shapes = self.draw_shapes(stop - start)
        if [(a.shape, a.dtype) for a in arrays] != [(s, np.dtype(d)) for s, d in shapes]:
            raise ValueError("draws: arrays of other shapes than draw_shapes says")
        models: list[Drawn] = []
        at = 0
        for model in self.models:
            k = len(model.draw_shapes(stop - start))
            models.append(tuple(arrays[at : at + k]))
            at += k
        bursts: F64 | None = arrays[at] if self.burst_p.any() else None
        return ChunkDraws(start, stop, tuple(models), bursts)

    def begin(self, start: int, stop: int, *, draws: ChunkDraws | None = None) -> None:
        """Take the random draws of steps [start, stop) (:meth:`draw`'s, made here unless
        ``draws`` are given); then ask :meth:`rows` for pods. The bursts carry from one
        chunk to the next, so chunks must come in order."""
        if start != self._next_step:
            raise ValueError(
                f"chunks must come in order: expected step {self._next_step}, got {start}"
            )
        if draws is None:  # into arrays kept from chunk to chunk: no fresh pages to fault in
            kept = [
                self._kept.take(f"draw{i}", shape, dtype)
                for i, (shape, dtype) in enumerate(self.draw_shapes(stop - start))
            ]
            draws = self.draw(start, stop, kept)
        elif (draws.start, draws.stop) != (start, stop):
            raise ValueError(f"draws of steps {draws.start}-{draws.stop} for {start}-{stop}")
        self._next_step = stop
        self._span = (start, stop)
        n = stop - start
        for model, drawn in zip(self.models, draws.models, strict=True):
            model.begin(start, stop, drawn)
        self._factor: F32 | None = None
        # which workloads burst in this chunk (None: none can): × 1 elsewhere changes nothing
        self._bursting: NDArray[np.bool_] | None = None
        if draws.bursts is not None:
            bursting = np.zeros((self.n_workloads, n), bool)
            for s in range(n):
                starts = draws.bursts[:, s] < self.burst_p
                self._burst_left = np.where(
                    starts, self.burst_steps, np.maximum(self._burst_left - 1, 0)
                )
                bursting[:, s] = self._burst_left > 0
            self._factor = np.where(bursting, self.burst_factor[:, None], np.float32(1.0))
            self._bursting = (self._factor != 1).any(axis=1)

    def _chunk_table(self) -> F32:
        """The rows every pod copies its CPU from over the span of :meth:`begin` (the
        models' tables, once a chunk)."""
        if self._table_span != self._span:
            start, stop = self._span
            tables = [model.table(start, stop) for model in self.models]
            empty = np.zeros((0, stop - start), np.float32)
            self._table: F32 = np.concatenate(tables) if tables else empty
            self._table_span = self._span
        return self._table

    def burst_rows(self, idx: I64) -> F32:
        """The burst factor of pods ``idx`` over the span of :meth:`begin` (pods × steps):
        their workload's ``burst_factor`` while it bursts, else 1."""
        start, stop = self._span
        out = np.ones((len(idx), stop - start), np.float32)
        if self._factor is not None and self._bursting is not None:
            wid = self.pods.workload[idx]
            sel = np.flatnonzero(self._bursty[idx] & self._bursting[wid])
            if len(sel):
                out[sel] = self._factor[wid[sel]]
        return out

    def gpu_rows(self, idx: I64, share: F32) -> F32:
        """GPU use of pods ``idx`` over the span of :meth:`begin`, in milli-GPUs: ``usage.gpu``
        of each pod's GPU ``share`` (milli-GPUs it was given), times the burst factor while
        its workload bursts (:meth:`burst_rows`)."""
        level = (self.gpu_level[idx] * share).astype(np.float32)[:, None]
        out: F32 = level * self.burst_rows(idx)
        return out

    def rows(self, idx: I64, out: F32 | None = None) -> tuple[F32, F32]:
        """Usage of the pods ``idx`` (canonical indices) over the span of :meth:`begin`:
        each pod's row of the chunk's table (its level, and what it shares with its
        workload), its own terms added by its model, its workload's bursts applied.

        ``out``, a (len(idx) × steps) float32 array, receives the CPU demand when given (a
        caller that keeps one from call to call spares a fresh array's page faults).
        """
        start, stop = self._span
        n = stop - start
        table = self._chunk_table()
        if out is None:
            out = np.empty((len(idx), n), np.float32)
        # ("clip": the rows are all valid; it spares numpy a buffer for out)
        cpu = np.take(table, self._pod_row[idx], 0, out, "clip")
        # Memory stays at its level unless a model says otherwise: one column then.
        mem = (
            np.repeat(self.mem_level[idx, None], n, axis=1)
            if self._memory_varies
            else self.mem_level[idx, None].copy()
        )
        model_of = self.model_of_pod[idx]
        for code, model in enumerate(self.models):
            if not model.own_terms:
                continue
            if len(self.models) == 1:
                model.write(idx, slice(None), cpu, mem)
                continue
            mine = np.flatnonzero(model_of == code)
            if len(mine):
                model.write(idx, mine, cpu, mem)
        if self._factor is not None and self._bursting is not None:
            # only the workloads bursting in this chunk: × 1 changes nothing
            wid = self.pods.workload[idx]
            sel = np.flatnonzero(self._bursts_cpu[idx] & self._bursting[wid])
            if len(sel):
                cpu[sel] *= self._factor[wid[sel]]
        # max(cpu, 0), as a masked write: a comparison and a copy where it holds are ~3×
        # faster than np.maximum's NaN-aware loop (<= 0, so -0.0 becomes 0.0 as there)
        np.copyto(cpu, np.float32(0), where=cpu <= 0)
        return cpu, mem


# Values kept for the percentile: sampled pods × sampled steps, at most this many.
_PEAK_BUDGET = 8_000_000


def workload_peaks(
    scenario: Scenario, workloads: list[WorkloadRef], percentile: float
) -> tuple[F64, F64]:
    """Per workload, the ``percentile`` of one pod's CPU demand (millicores) and memory use
    (MiB) over the horizon: what ``sizing: peak`` sizes a VM's room for.

    Drawn by the usage models with the scenario's seed for up to 8 replicas of each
    workload (their pooled values; replicas share a model, so a few stand for all), every
    step while the values fit ``_PEAK_BUDGET``, else every k-th step.
    """
    w_count = len(workloads)
    if not w_count:
        return np.zeros(0), np.zeros(0)
    sim = scenario.simulation
    steps = sim.steps
    per = max(1, min(8, _PEAK_BUDGET // max(w_count * steps, 1)))
    sample = [
        WorkloadRef(
            w.index,
            w.cluster_index,
            w.tenant_index,
            w.workload.model_copy(update={"replicas": min(w.workload.replicas, per)}),
        )
        for w in workloads
    ]
    pods = pod_table(scenario, sample)
    sampler = UsageSampler(scenario, sample, pods)
    stride = max(1, -(-len(pods) * steps // _PEAK_BUDGET))
    cpu_parts, mem_parts = [], []
    for start in range(0, steps, CHUNK_STEPS):
        cpu, mem = sampler.chunk(start, min(steps, start + CHUNK_STEPS))
        keep = np.arange(start, min(steps, start + CHUNK_STEPS))
        keep = keep % stride == 0
        cpu_parts.append(cpu[:, keep])
        mem_parts.append(np.broadcast_to(mem, cpu.shape)[:, keep])
    cpu_all = np.concatenate(cpu_parts, axis=1)
    mem_all = np.concatenate(mem_parts, axis=1)
    cpu_peak = np.zeros(w_count)
    mem_peak = np.zeros(w_count)
    reps = np.bincount(pods.workload, minlength=w_count)
    starts = np.cumsum(reps) - reps  # pods are numbered workload by workload
    # Workloads with the same number of sampled replicas, r, are one (workloads, r × steps)
    # array each: one percentile call per r (at most 8), not one per workload.
    for r in np.unique(reps[reps > 0]):
        ws = np.flatnonzero(reps == r)
        rows = (starts[ws][:, None] + np.arange(r)).ravel()
        for peak, values in ((cpu_peak, cpu_all), (mem_peak, mem_all)):
            peak[ws] = np.percentile(values[rows].reshape(len(ws), -1), percentile, axis=1)
    return cpu_peak, mem_peak
