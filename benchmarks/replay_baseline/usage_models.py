"""The usage models: one class per ``usage.model`` of a workload, all of one protocol.

A :class:`UsageModel` writes, for the pods of its workloads, their CPU demand (millicores)
and memory use (MiB) over a span of steps into rows of the sampler's (pods × steps)
arrays, vectorised over pods and steps (CloudSim Plus's ``UtilizationModel``, as arrays).
:class:`~replay_baseline.usage.UsageSampler` starts every row at the pod's level,
lets each model write its own pods' rows, then applies the workloads' bursts to the
models that burst, and clips demand at 0. :data:`USAGE_MODELS` maps the scenario's
``usage.model`` to its class; the sampler asks the models for their random draws in
that order, so the order is part of the model (the same seed gives the same usage).

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
from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario
from underlay.model.traces import scenario_traces
from underlay.placement.result import WorkloadRef
from underlay.simulation.normals import fill_standard_normal
from underlay.simulation.pods import PodTable

__all__ = [
    "USAGE_MODELS",
    "ConstantUsage",
    "DiurnalUsage",
    "TraceUsage",
    "UsageInputs",
    "UsageModel",
    "resample_mean",
]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Rows = I64 | slice  # the rows of the sampler's arrays a model writes: some, or all


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
    """How the pods of some workloads use CPU and memory over time."""

    name: ClassVar[str]  # the scenario's ``usage.model``
    bursts: ClassVar[bool]  # whether the workload's bursts multiply its CPU demand
    memory_varies: ClassVar[bool]  # whether memory changes from step to step

    def begin(self, start: int, stop: int, rng: np.random.Generator) -> None:
        """Make the random draws of steps [start, stop), for all the model's pods."""

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """Write the usage of pods ``idx[rows]`` (canonical indices) over the span of
        :meth:`begin` into ``cpu[rows]`` and ``mem[rows]``, which hold their levels."""


class ConstantUsage:
    """The pod's level at every step: nothing to add to what the sampler starts from."""

    name: ClassVar[str] = "constant"
    bursts: ClassVar[bool] = True
    memory_varies: ClassVar[bool] = False

    def __init__(self, inputs: UsageInputs) -> None:
        """Nothing to prepare."""

    def begin(self, start: int, stop: int, rng: np.random.Generator) -> None:
        """No draws."""

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """The level is the usage."""


class DiurnalUsage:
    """A daily cosine around the level, plus correlated Gaussian noise."""

    name: ClassVar[str] = "diurnal"
    bursts: ClassVar[bool] = True
    memory_varies: ClassVar[bool] = False

    def __init__(self, inputs: UsageInputs) -> None:
        pods, usage = inputs.pods, [w.workload.usage for w in inputs.workloads]
        wid = pods.workload
        mine = np.array([u.model == self.name for u in usage], bool)[wid]
        amp = np.array([u.amplitude for u in usage])[wid] * pods.base_cpu
        noise = np.array([u.noise for u in usage])[wid]
        peak_s = np.array([u.peak_hour for u in usage])[wid] * 3600.0
        peak = 2 * np.pi * peak_s / 86400.0
        amp = np.where(mine, amp.astype(np.float32), np.float32(0))
        self._wave_cos = (amp * np.cos(peak)).astype(np.float32)
        self._wave_sin = (amp * np.sin(peak)).astype(np.float32)
        self._noise_sd = (noise * pods.base_cpu).astype(np.float32)
        self._corr = np.array([u.correlation for u in usage])[wid].astype(np.float32)
        self._noisy = np.flatnonzero((noise > 0) & mine)
        self._noise_slot = np.full(len(pods), -1, np.int64)  # row in the own-noise draws
        self._noise_slot[self._noisy] = np.arange(len(self._noisy))
        self._workload = wid
        self._n_workloads = len(inputs.workloads)
        self._step_s = inputs.step_s
        self._common: F32 | None = None
        self._own: F32 | None = None

    def begin(self, start: int, stop: int, rng: np.random.Generator) -> None:
        """The time of day of each step; the workloads' common noise, then each pod's own."""
        t = 2 * np.pi * np.arange(start, stop) * self._step_s / 86400.0
        self._cos_t = np.cos(t).astype(np.float32)[None, :]
        self._sin_t = np.sin(t).astype(np.float32)[None, :]
        self._common = self._own = None
        if len(self._noisy):
            n = stop - start
            # (the engine's normal draws, not its own: see the package's docstring)
            self._common = np.empty((self._n_workloads, n), np.float32)
            self._own = np.empty((len(self._noisy), n), np.float32)
            fill_standard_normal(rng, self._common)
            fill_standard_normal(rng, self._own)

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """Add the wave, then the noise."""
        pods = idx[rows]
        part = cpu if isinstance(rows, slice) else cpu[rows]  # all rows: in place
        # cos(t − peak) = cos t · cos peak + sin t · sin peak: two products per pod-step
        # instead of a cosine.
        part += self._wave_cos[pods, None] * self._cos_t
        part += self._wave_sin[pods, None] * self._sin_t
        if self._own is not None and self._common is not None:
            slot = self._noise_slot[pods]
            sel = np.flatnonzero(slot >= 0)
            if len(sel):
                k = pods[sel]
                rho = self._corr[k, None]
                z = (
                    np.sqrt(rho) * self._common[self._workload[k]]
                    + np.sqrt(1 - rho) * self._own[slot[sel]]
                )
                part[sel] += self._noise_sd[k, None] * z
        if part is not cpu:
            cpu[rows] = part


class TraceUsage:
    """The usage a trace file recorded, one series per replica, resampled to the steps."""

    name: ClassVar[str] = "trace"
    bursts: ClassVar[bool] = False
    memory_varies: ClassVar[bool] = True

    def __init__(self, inputs: UsageInputs) -> None:
        """The series the pods replay, resampled to the steps (the files were read, and
        the series names checked, when the scenario was loaded)."""
        scenario, pods = inputs.scenario, inputs.pods
        files = scenario_traces(scenario)
        names: list[tuple[Path, str]] = []
        index: dict[tuple[Path, str], int] = {}
        self._series_of_pod = np.zeros(len(pods), np.int64)
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
            self._series_of_pod[mine] = codes[pods.replica[mine] % len(codes)]
        steps, step_s = inputs.steps, inputs.step_s
        self._cpu = np.zeros((len(names), steps), np.float32)  # millicores
        self._mem = np.zeros((len(names), steps), np.float32)  # MiB
        for i, (path, name) in enumerate(names):
            s = files[path][name]
            self._cpu[i] = resample_mean(s.time_s, s.cpu_cores * 1000.0, step_s, steps)
            self._mem[i] = resample_mean(s.time_s, s.memory_mib, step_s, steps)
        self._span = (0, 0)

    def begin(self, start: int, stop: int, rng: np.random.Generator) -> None:
        """No draws: only the span to replay."""
        self._span = (start, stop)

    def write(self, idx: I64, rows: Rows, cpu: F32, mem: F32) -> None:
        """The series' values over the span, in place of the levels."""
        start, stop = self._span
        codes = self._series_of_pod[idx[rows]]
        cpu[rows] = self._cpu[codes, start:stop]
        mem[rows] = self._mem[codes, start:stop]


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
