"""The usage models: one class per ``usage.model`` of a workload, all of one protocol.

A :class:`UsageModel` gives, for the pods of its workloads, their CPU demand (millicores)
and memory use (MiB) over a span of steps as rows of the sampler's (pods × steps)
arrays, vectorised over pods and steps (CloudSim Plus's ``UtilizationModel``, as arrays).
What a model's pods share — a constant level, a workload's wave and common noise — is
one row of its :meth:`~UsageModel.table` for all of them (``row_of_pod``), made once a
chunk; :class:`~underlay.simulation.usage.UsageSampler` copies each pod's row into its
array, lets the model add what is the pod's own (:meth:`~UsageModel.write`: a diurnal
pod's own noise, a trace's memory), then applies the workloads' bursts to the models
that burst, and clips demand at 0. The float32 operations are those, in the order, of
adding the terms pod by pod: sharing rows changes no bit. :data:`USAGE_MODELS` maps the
scenario's ``usage.model`` to its class; the sampler asks the models for their random
draws in that order, so the order is part of the model (the same seed gives the same
usage).
A model's draws are made apart from their use: :meth:`UsageModel.draw_shapes` says what
it draws for a span, :meth:`UsageModel.draw` fills arrays of those shapes (anywhere:
a partitioned replay's parent draws into shared memory once for every worker), and
:meth:`UsageModel.begin` takes them.

- :class:`ConstantUsage` (``constant``): the level, ``cpu`` and ``memory`` as fractions
  of the pod's base (its request; its limit when it requests nothing; else 100m /
  128Mi).
- :class:`DiurnalUsage` (``diurnal``): ``cpu + amplitude · cos(2π (hour − peak_hour) /
  24)`` plus Gaussian noise of sd ``noise``, a share ``correlation`` of whose variance is
  common to all pods of the workload (two of its pods correlate by ``correlation``).
  Memory stays at its level.
- :class:`TraceUsage` (``trace``): absolute usage from a trace file
  (``series,time_s,cpu_cores,memory_mib``), one series per replica (cycled), resampled
  to the step by :func:`resample_mean`; the trace repeats past its end. Its bursts are
  in the trace: the workload's burst settings do not multiply it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario
from underlay.model.traces import scenario_traces
from underlay.placement.result import WorkloadRef
from underlay.simulation.normals import fill_standard_normal
from underlay.simulation.pods import PodTable
from underlay.simulation.scratch import Scratch

__all__ = [
    "USAGE_MODELS",
    "ConstantUsage",
    "DiurnalUsage",
    "DrawShape",
    "Drawn",
    "TraceUsage",
    "UsageInputs",
    "UsageModel",
    "cpu_levels",
    "resample_mean",
    "rows_by_runs",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Rows = I64 | slice  # the rows of the sampler's arrays a model writes: some, or all
DrawShape = tuple[tuple[int, int], type[np.floating[Any]]]  # (rows, steps), dtype
Drawn = tuple[NDArray[Any], ...]  # a model's draws for a span, in its order


@dataclass(frozen=True)
class UsageInputs:
    """What a usage model is built from: the scenario, its placed workloads and their
    pods in canonical order, and the simulation's steps."""

    scenario: Scenario
    workloads: list[WorkloadRef]
    pods: PodTable
    steps: int
    step_s: float


class UsageModel(Protocol):
    """How the pods of some workloads use CPU and memory over time.

    What pods share (a level, a wave, a workload's common noise) is one row of the
    model's :meth:`table` for all of them, computed once a chunk; :meth:`write` adds what
    is a pod's own (its own noise, a trace's memory) to the rows copied from it.
    """

    name: ClassVar[str]  # the scenario's ``usage.model``
    bursts: ClassVar[bool]  # whether the workload's bursts multiply its CPU demand
    memory_varies: ClassVar[bool]  # whether memory changes from step to step
    own_terms: ClassVar[bool]  # whether :meth:`write` has anything to add to a pod's row
    row_of_pod: I64  # each pod's row of :meth:`table` (-1: a pod of another model)

    def draw_shapes(self, n: int) -> tuple[DrawShape, ...]:
        """What :meth:`draw` makes for a span of ``n`` steps: shapes and dtypes, in order."""

    def draw(self, rng: np.random.Generator, out: Drawn) -> None:
        """Fill ``out`` (arrays of :meth:`draw_shapes`) with the span's random draws, in
        order, for all the model's pods."""

    def begin(self, start: int, stop: int, drawn: Drawn) -> None:
        """Take the draws of steps [start, stop) (made by :meth:`draw`; only read)."""

    def table(self, start: int, stop: int) -> F32:
        """CPU demand (millicores) of each row over steps [start, stop) of :meth:`begin`
        (rows × steps): what the pods of a row share."""

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """Finish the usage of pods ``idx[rows]`` (canonical indices) over the span of
        :meth:`begin` in ``cpu[rows]`` and ``mem[rows]``, which hold their :meth:`table`
        rows and their memory levels (the other rows of ``cpu`` are other models' pods)."""


def cpu_levels(inputs: UsageInputs) -> F32:
    """Each pod's CPU level, millicores: its workload's ``usage.cpu`` of its base."""
    usage = np.array([w.workload.usage.cpu for w in inputs.workloads])
    level: F32 = (usage[inputs.pods.workload] * inputs.pods.base_cpu).astype(np.float32)
    return level


def rows_by_runs(mine: NDArray[np.bool_], *keys: NDArray[Any]) -> tuple[I64, I64]:
    """A table row for each run of consecutive pods of ``mine`` equal in every one of
    ``keys``: (each pod's row, -1 for the others; the first pod of each row). Pods are
    numbered workload by workload, so the replicas of a workload share one row."""
    pods = np.flatnonzero(mine)
    new = np.zeros(len(pods), bool)
    new[:1] = True
    for key in keys:
        k = key[pods]
        new[1:] |= k[1:] != k[:-1]
    row_of_pod = np.full(len(mine), -1, np.int64)
    row_of_pod[pods] = np.cumsum(new) - 1
    return row_of_pod, pods[new]


class ConstantUsage:
    """The pod's level at every step: a row per level, nothing of a pod's own."""

    name: ClassVar[str] = "constant"
    bursts: ClassVar[bool] = True
    memory_varies: ClassVar[bool] = False
    own_terms: ClassVar[bool] = False

    def __init__(self, inputs: UsageInputs) -> None:
        """The rows: the levels of the model's pods."""
        usage = [w.workload.usage for w in inputs.workloads]
        mine = np.array([u.model == self.name for u in usage], bool)[inputs.pods.workload]
        level = cpu_levels(inputs)
        self.row_of_pod, first = rows_by_runs(mine, level)
        self._level = level[first]

    def draw_shapes(self, n: int) -> tuple[DrawShape, ...]:
        """No draws."""
        return ()

    def draw(self, rng: np.random.Generator, out: Drawn) -> None:
        """No draws."""

    def begin(self, start: int, stop: int, drawn: Drawn) -> None:
        """No draws."""

    def table(self, start: int, stop: int) -> F32:
        """The level at every step."""
        out: F32 = np.repeat(self._level[:, None], stop - start, axis=1)
        return out

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """The level is the usage."""


class DiurnalUsage:
    """A daily cosine around the level, plus correlated Gaussian noise.

    A pod's demand is ``level + wave(t) + √ρ·common(t)·sd + own(t)·√(1−ρ)·sd``, in float32
    in that order. The level, wave and common noise are the same for the replicas of a
    workload: its rows of one table made once a chunk (:meth:`table`); the own noise is
    added pod by pod (:meth:`write`), one gather, one product and one sum a pod-step.
    """

    name: ClassVar[str] = "diurnal"
    bursts: ClassVar[bool] = True
    memory_varies: ClassVar[bool] = False
    own_terms: ClassVar[bool] = True

    def __init__(self, inputs: UsageInputs) -> None:
        pods, usage = inputs.pods, [w.workload.usage for w in inputs.workloads]
        wid = pods.workload
        mine = np.array([u.model == self.name for u in usage], bool)[wid]
        amp = np.array([u.amplitude for u in usage])[wid] * pods.base_cpu
        noise = np.array([u.noise for u in usage])[wid]
        peak_s = np.array([u.peak_hour for u in usage])[wid] * 3600.0
        peak = 2 * np.pi * peak_s / 86400.0
        amp = np.where(mine, amp.astype(np.float32), np.float32(0))
        # cos(t − peak) = cos t · cos peak + sin t · sin peak: two products per pod-step
        # instead of a cosine.
        wave_cos = (amp * np.cos(peak)).astype(np.float32)
        wave_sin = (amp * np.sin(peak)).astype(np.float32)
        noisy = (noise > 0) & mine
        # 0 for a pod without noise (or of another model): its common and own terms,
        # times an sd of 0, add 0 to its row (see table and write)
        corr = np.where(noisy, np.array([u.correlation for u in usage])[wid], 0.0)
        corr = corr.astype(np.float32)
        sd = np.where(noisy, noise * pods.base_cpu, 0.0).astype(np.float32)
        level = cpu_levels(inputs)
        self.row_of_pod, first = rows_by_runs(mine, wid, level, wave_cos, wave_sin, corr, sd)
        self._level, self._wave_cos, self._wave_sin = level[first], wave_cos[first], wave_sin[first]
        # The common noise's weight, sqrt(rho), and sd, per row; the own noise's,
        # sqrt(1 - rho) · sd, per pod (0 for a pod without noise).
        self._common_w, self._row_sd = np.sqrt(corr[first]), sd[first]
        self._own_sd = np.where(noisy, np.sqrt(1 - corr), np.float32(0)) * sd
        self._row_workload = wid[first]
        self._noisy = np.flatnonzero(noisy)
        self._noise_slot = np.full(len(pods), -1, np.int64)  # row in the own-noise draws
        self._noise_slot[self._noisy] = np.arange(len(self._noisy))
        self._n_workloads = len(inputs.workloads)
        self._step_s = inputs.step_s
        self._common: F32 | None = None
        self._own: F32 | None = None
        self._scratch = Scratch()  # the gathers of write, kept from call to call

    def draw_shapes(self, n: int) -> tuple[DrawShape, ...]:
        """The workloads' common noise, then each noisy pod's own (none without noise)."""
        if not len(self._noisy):
            return ()
        return ((self._n_workloads, n), np.float32), ((len(self._noisy), n), np.float32)

    def draw(self, rng: np.random.Generator, out: Drawn) -> None:
        """Standard normal draws (:func:`~underlay.simulation.normals.fill_standard_normal`),
        the common noise's then the pods' own."""
        for values in out:
            fill_standard_normal(rng, values)

    def begin(self, start: int, stop: int, drawn: Drawn) -> None:
        """The time of day of each step; the noise drawn."""
        t = 2 * np.pi * np.arange(start, stop) * self._step_s / 86400.0
        self._cos_t = np.cos(t).astype(np.float32)[None, :]
        self._sin_t = np.sin(t).astype(np.float32)[None, :]
        self._common = self._own = None
        if len(self._noisy):
            self._common, self._own = drawn

    def table(self, start: int, stop: int) -> F32:
        """Level, wave and common noise of each row, in the order and precision of the
        pod-by-pod sum."""
        out = np.repeat(self._level[:, None], stop - start, axis=1)
        out += self._wave_cos[:, None] * self._cos_t
        out += self._wave_sin[:, None] * self._sin_t
        if self._common is not None:
            common = self._common[self._row_workload] * self._common_w[:, None]
            common *= self._row_sd[:, None]
            out += common
        return out

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """Add each pod's own noise, ``own·√(1−ρ)·sd``: over the whole array when a third
        of the rows or more have some (the others' weights are 0), else over theirs
        alone."""
        if self._own is None:
            return
        slot = self._noise_slot[idx[rows]]
        sel = np.flatnonzero(slot >= 0)
        if not len(sel):
            return
        at: I64 | slice = slice(None)
        if 3 * len(sel) < len(idx):
            at = sel if isinstance(rows, slice) else rows[sel]
        pods = idx[at]
        shape = (len(pods), cpu.shape[1])
        # ("clip": another model's pod, slot -1, reads row 0, weighed by 0; the indices
        # are otherwise valid, and "clip" spares numpy a buffer for out)
        z = np.take(
            self._own,
            self._noise_slot[pods],
            0,
            self._scratch.take("own", shape, np.float32),
            "clip",
        )
        z *= self._own_sd[pods, None]
        if isinstance(at, slice):
            cpu += z
        else:
            cpu[at] += z


class TraceUsage:
    """The usage a trace file recorded, one series per replica, resampled to the steps."""

    name: ClassVar[str] = "trace"
    bursts: ClassVar[bool] = False
    memory_varies: ClassVar[bool] = True
    own_terms: ClassVar[bool] = True

    def __init__(self, inputs: UsageInputs) -> None:
        """The series the pods replay, resampled to the steps (the files were read, and
        the series names checked, when the scenario was loaded): a row per series."""
        scenario, pods = inputs.scenario, inputs.pods
        files = scenario_traces(scenario)
        names: list[tuple[Path, str]] = []
        index: dict[tuple[Path, str], int] = {}
        self.row_of_pod = np.full(len(pods), -1, np.int64)
        for w, ref in enumerate(inputs.workloads):
            u = ref.workload.usage
            if u.model != self.name or u.trace is None:
                continue
            path = (scenario.base_dir / u.trace).resolve()
            series = u.series or list(files[path])
            for name in series:
                if (path, name) not in index:
                    index[(path, name)] = len(names)
                    names.append((path, name))
            mine = np.flatnonzero(pods.workload == w)
            codes = np.array([index[(path, n)] for n in series], np.int64)
            self.row_of_pod[mine] = codes[pods.replica[mine] % len(codes)]
        steps, step_s = inputs.steps, inputs.step_s
        self._cpu = np.zeros((len(names), steps), np.float32)  # millicores
        self._mem = np.zeros((len(names), steps), np.float32)  # MiB
        for i, (path, name) in enumerate(names):
            s = files[path][name]
            self._cpu[i] = resample_mean(s.time_s, s.cpu_cores * 1000.0, step_s, steps)
            self._mem[i] = resample_mean(s.time_s, s.memory_mib, step_s, steps)
        self._span = (0, 0)

    def draw_shapes(self, n: int) -> tuple[DrawShape, ...]:
        """No draws."""
        return ()

    def draw(self, rng: np.random.Generator, out: Drawn) -> None:
        """No draws."""

    def begin(self, start: int, stop: int, drawn: Drawn) -> None:
        """No draws: only the span to replay."""
        self._span = (start, stop)

    def table(self, start: int, stop: int) -> F32:
        """Each series' CPU over the span."""
        return self._cpu[:, start:stop]

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """The series' memory over the span, in place of the levels."""
        start, stop = self._span
        mem[rows] = self._mem[self.row_of_pod[idx[rows]], start:stop]


USAGE_MODELS: dict[str, Callable[[UsageInputs], UsageModel]] = {
    "constant": ConstantUsage,
    "diurnal": DiurnalUsage,
    "trace": TraceUsage,
}
"""Every usage model by its ``usage.model`` name, in the order they draw random numbers."""


def resample_mean(time_s: F64, values: F64, step_s: float, steps: int) -> F64:
    """Mean of the piecewise-linear ``values(time_s)`` over each step ``[k·step, (k+1)·step)``.

    Times count from the trace's origin (0); a series that starts later holds its first
    value until then. The trace repeats after its last sample (its period is the last
    time plus one sampling interval). This integrates the linear interpolation between
    samples exactly, so gaps are interpolated and coarser traces are spread evenly.
    """
    if len(time_s) == 1:
        return np.full(steps, float(values[0]))
    interval = float(np.median(np.diff(time_s)))
    t, v = time_s.astype(np.float64), values.astype(np.float64)
    if t[0] > 0:  # a series that starts late holds its first value from the trace's origin
        t, v = np.concatenate([[0.0], t]), np.concatenate([[v[0]], v])
    t = np.append(t, t[-1] + interval)
    v = np.append(v, v[0])  # wrap to the start
    area = np.concatenate([[0.0], np.cumsum(np.diff(t) * (v[1:] + v[:-1]) / 2)])
    period, total = t[-1], area[-1]

    def integral(x: F64) -> F64:
        laps, rest = np.divmod(x, period)
        j = np.clip(np.searchsorted(t, rest, side="right") - 1, 0, len(t) - 2)
        slope = (v[j + 1] - v[j]) / np.maximum(t[j + 1] - t[j], 1e-12)
        partial = area[j] + (rest - t[j]) * (v[j] + 0.5 * slope * (rest - t[j]))
        out: F64 = laps * total + partial
        return out

    edges = np.arange(steps + 1, dtype=np.float64) * step_s
    mean: F64 = np.diff(integral(edges)) / step_s
    return mean
