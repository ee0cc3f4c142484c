"""Usage models: what each pod asks for at each step, vectorised over pods and steps.

One protocol — :meth:`UsageSampler.chunk` returns (pods × steps) arrays of CPU demand
(millicores) and memory use (MiB) for a range of steps — behind three models:

- **constant**: ``cpu`` and ``memory`` levels, fractions of the pod's base (its request;
  its limit when it requests nothing; else 100m / 128Mi).
- **diurnal** (synthetic): ``cpu + amplitude · cos(2π (hour − peak_hour) / 24)`` plus
  Gaussian noise of sd ``noise``, of which a share ``correlation`` of the variance is
  common to all pods of the workload (so two of its pods correlate by ``correlation``);
  bursts start with probability ``burst_probability`` per step for the whole workload
  and multiply CPU demand by ``burst_factor`` for ``burst_steps`` steps. Memory stays at
  its level. Negative demand is clipped to 0.
- **trace**: absolute usage from a trace file (``series,time_s,cpu_cores,memory_mib``),
  one series per replica (cycled); resampled to the step as the mean over each step
  (exact integration of the linear interpolation between samples, so gaps are
  interpolated and coarser traces are spread evenly); the trace repeats past its end.

GPU use (:meth:`UsageSampler.gpu_rows`) is ``usage.gpu`` of the pod's GPU share, times
the workload's burst factor while it bursts.

Randomness comes from ``numpy.random.default_rng([seed, first_step])`` per chunk of
steps, drawn for pods in canonical order, so the same seed gives the same usage on every
substrate and in every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario
from underlay.model.traces import scenario_traces
from underlay.placement.result import WorkloadRef
from underlay.simulation.pods import PodTable, pod_table

__all__ = ["CHUNK_STEPS", "UsageSampler", "resample_mean", "workload_peaks"]

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
CHUNK_STEPS = 32  # part of the model: random draws are made per chunk of this many steps
_KINDS = {"constant": 0, "diurnal": 1, "trace": 2}


def resample_mean(time_s: F64, values: F64, step_s: float, steps: int) -> F64:
    """Mean of the piecewise-linear ``values(time_s)`` over each step ``[k·step, (k+1)·step)``.

    Times count from the trace's origin (0); a series that starts later holds its first
    value until then. The trace repeats after its last sample (its period is the last
    time plus one sampling interval).
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


@dataclass(frozen=True)
class _Traces:
    cpu: F32  # (series, steps) millicores
    mem: F32  # (series, steps) MiB


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
        per_w = {
            "kind": np.array([_KINDS[u.model] for u in usage], np.int64),
            "cpu": np.array([u.cpu for u in usage]),
            "mem": np.array([u.memory for u in usage]),
            "amp": np.array([u.amplitude for u in usage]),
            "peak": np.array([u.peak_hour for u in usage]),
            "noise": np.array([u.noise for u in usage]),
            "corr": np.array([u.correlation for u in usage]),
        }
        self.n_workloads = len(workloads)
        self.burst_p = np.array([u.burst_probability for u in usage])
        self.burst_factor = np.array([u.burst_factor for u in usage], np.float32)
        self.burst_steps = np.array([u.burst_steps for u in usage], np.int64)
        self._burst_left = np.zeros(self.n_workloads, np.int64)
        self._next_step = 0
        wid = pods.workload
        self.kind = per_w["kind"][wid]
        self.cpu_level = (per_w["cpu"][wid] * pods.base_cpu).astype(np.float32)
        self.mem_level = (per_w["mem"][wid] * pods.base_mem).astype(np.float32)
        self.amp = (per_w["amp"][wid] * pods.base_cpu).astype(np.float32)
        self.peak_s = per_w["peak"][wid] * 3600.0
        self.gpu_level = np.array([u.gpu for u in usage], np.float32)[wid]
        self.noisy = np.flatnonzero((per_w["noise"][wid] > 0) & (self.kind == 1))
        self.noise_sd = (per_w["noise"][wid] * pods.base_cpu).astype(np.float32)
        self.corr = per_w["corr"][wid].astype(np.float32)
        self.diurnal = np.flatnonzero(self.kind == 1)
        peak = 2 * np.pi * self.peak_s / 86400.0
        amp = np.where(self.kind == 1, self.amp, np.float32(0))
        self._wave_cos = (amp * np.cos(peak)).astype(np.float32)
        self._wave_sin = (amp * np.sin(peak)).astype(np.float32)
        self._bursty = self.burst_p[wid] > 0
        self._noise_slot = np.full(len(pods), -1, np.int64)  # row in the own-noise draws
        self._noise_slot[self.noisy] = np.arange(len(self.noisy))
        self._span = (0, 0)
        self.traced = np.flatnonzero(self.kind == 2)
        self.series_of_pod = np.zeros(len(pods), np.int64)
        self.traces = self._load_traces(scenario, workloads, pods)

    # ------------------------------------------------------------------ traces
    def _load_traces(
        self, scenario: Scenario, workloads: list[WorkloadRef], pods: PodTable
    ) -> _Traces:
        """The series the pods replay, resampled to the steps (the files were read, and
        the series names checked, when the scenario was loaded)."""
        files = scenario_traces(scenario)
        names: list[tuple[Path, str]] = []
        index: dict[tuple[Path, str], int] = {}
        for w, ref in enumerate(workloads):
            u = ref.workload.usage
            if u.model != "trace" or u.trace is None:
                continue
            path = (scenario.base_dir / u.trace).resolve()
            series = u.series or list(files[path])
            for name in series:
                if (path, name) not in index:
                    index[(path, name)] = len(names)
                    names.append((path, name))
            mine = np.flatnonzero(pods.workload == w)
            codes = np.array([index[(path, n)] for n in series], np.int64)
            self.series_of_pod[mine] = codes[pods.replica[mine] % len(codes)]
        cpu = np.zeros((len(names), self.steps), np.float32)
        mem = np.zeros((len(names), self.steps), np.float32)
        for i, (path, name) in enumerate(names):
            s = files[path][name]
            cpu[i] = resample_mean(s.time_s, s.cpu_cores * 1000.0, self.step_s, self.steps)
            mem[i] = resample_mean(s.time_s, s.memory_mib, self.step_s, self.steps)
        return _Traces(cpu, mem)

    # ------------------------------------------------------------------ sampling
    def chunk(self, start: int, stop: int) -> tuple[F32, F32]:
        """(cpu millicores, memory MiB) for steps [start, stop): CPU is (pods × steps);
        memory too when traces are used, else one column (pods × 1), constant over time.

        Chunks must be asked for in order (bursts carry from one chunk to the next).
        """
        self.begin(start, stop)
        return self.rows(np.arange(len(self.pods), dtype=np.int64))

    def begin(self, start: int, stop: int) -> None:
        """Draw the random numbers of steps [start, stop); then ask :meth:`rows` for pods.

        All draws are made here, for every pod in canonical order, so which pods are asked
        for, and in what blocks, never changes anyone's usage.
        """
        if start != self._next_step:
            raise ValueError(
                f"chunks must come in order: expected step {self._next_step}, got {start}"
            )
        self._next_step = stop
        self._span = (start, stop)
        n = stop - start
        rng = np.random.default_rng([self.seed, start])
        t = 2 * np.pi * np.arange(start, stop) * self.step_s / 86400.0
        self._cos_t = np.cos(t).astype(np.float32)[None, :]
        self._sin_t = np.sin(t).astype(np.float32)[None, :]
        self._common: F32 | None = None
        self._own: F32 | None = None
        if len(self.noisy):
            self._common = rng.standard_normal((self.n_workloads, n), dtype=np.float32)
            self._own = rng.standard_normal((len(self.noisy), n), dtype=np.float32)
        self._factor: F32 | None = None
        if self.burst_p.any():
            bursting = np.zeros((self.n_workloads, n), bool)
            draws = rng.random((self.n_workloads, n))
            for s in range(n):
                starts = draws[:, s] < self.burst_p
                self._burst_left = np.where(
                    starts, self.burst_steps, np.maximum(self._burst_left - 1, 0)
                )
                bursting[:, s] = self._burst_left > 0
            self._factor = np.where(bursting, self.burst_factor[:, None], np.float32(1.0))

    def burst_rows(self, idx: I64) -> F32:
        """The burst factor of pods ``idx`` over the span of :meth:`begin` (pods × steps):
        their workload's ``burst_factor`` while it bursts, else 1."""
        start, stop = self._span
        out = np.ones((len(idx), stop - start), np.float32)
        if self._factor is not None:
            sel = np.flatnonzero(self._bursty[idx])
            if len(sel):
                out[sel] = self._factor[self.pods.workload[idx[sel]]]
        return out

    def gpu_rows(self, idx: I64, share: F32) -> F32:
        """GPU use of pods ``idx`` over the span of :meth:`begin`, in milli-GPUs: ``usage.gpu``
        of each pod's GPU ``share`` (milli-GPUs it was given), times the burst factor while
        its workload bursts (:meth:`burst_rows`)."""
        level = (self.gpu_level[idx] * share).astype(np.float32)[:, None]
        out: F32 = level * self.burst_rows(idx)
        return out

    def rows(self, idx: I64) -> tuple[F32, F32]:
        """Usage of the pods ``idx`` (canonical indices) over the span of :meth:`begin`."""
        start, stop = self._span
        n = stop - start
        cpu = np.repeat(self.cpu_level[idx, None], n, axis=1)
        # Memory stays at its level unless a trace says otherwise: one column then.
        mem = (
            np.repeat(self.mem_level[idx, None], n, axis=1)
            if len(self.traced)
            else self.mem_level[idx, None].copy()
        )
        if len(self.diurnal):
            # cos(t − peak) = cos t · cos peak + sin t · sin peak: two products per
            # pod-step instead of a cosine (amplitude 0 for pods that are not diurnal).
            cpu += self._wave_cos[idx, None] * self._cos_t
            cpu += self._wave_sin[idx, None] * self._sin_t
        wid = self.pods.workload[idx]
        if self._own is not None and self._common is not None:
            slot = self._noise_slot[idx]
            sel = np.flatnonzero(slot >= 0)
            if len(sel):
                k = idx[sel]
                rho = self.corr[k, None]
                z = np.sqrt(rho) * self._common[wid[sel]] + np.sqrt(1 - rho) * self._own[slot[sel]]
                cpu[sel] += self.noise_sd[k, None] * z
        if self._factor is not None:
            sel = np.flatnonzero(self._bursty[idx])
            if len(sel):
                cpu[sel] *= self._factor[wid[sel]]
        if len(self.traced):
            sel = np.flatnonzero(self.kind[idx] == 2)
            if len(sel):
                codes = self.series_of_pod[idx[sel]]
                cpu[sel] = self.traces.cpu[codes, start:stop]
                mem[sel] = self.traces.mem[codes, start:stop]
        np.maximum(cpu, 0, out=cpu)
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
