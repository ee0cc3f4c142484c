"""What a calibration run measured (plain data; the CLI, the report and the calibration
file read it).

- :class:`OverheadRun`: one microbenchmark (CPU-bound, memory bandwidth, syscalls,
  loopback network) natively, in the container sandbox and in a KVM guest, as work per
  second (``None`` where it was not measured, with the reason);
- :class:`ProbeStats`: the latency probe's request latencies and the work it did;
- :class:`NeighbourCase`: the probe in one noisy-neighbour case (alone, beside a CPU hog
  under soft shares, under a hard quota, beside a memory-bandwidth hog), with the hog's
  CPU time and throttling read from its cgroup's own statistics;
- :class:`Comparison`: one figure the model predicts beside the measured one;
- :class:`Figure`: one default the measurement replaces (or could not);
- :class:`Calibration`: the whole run.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Calibration",
    "Comparison",
    "Figure",
    "NeighbourCase",
    "OverheadRun",
    "ProbeStats",
]

MIN_CPU_SECONDS = 1e-3
"""Less probe CPU time than this makes work per CPU second meaningless."""
MIN_ON_TIME = 100
"""Fewer on-time requests than this give no work per CPU second (the probe's 1,000 a
second make thousands in any case of a second or more)."""

Bench = Literal["cpu", "membw", "syscall", "loopback"]
Case = Literal["alone", "soft-shares", "hard-quota", "membw-hog"]


@dataclass(frozen=True)
class OverheadRun:
    """One microbenchmark in each environment, as work per second (``unit``)."""

    bench: Bench
    unit: str  # e.g. "iterations/s", "GB/s", "syscalls/s", "round trips/s"
    native: float
    container: float | None  # None: not measured (``why_not_container``)
    vm: float | None  # None: not measured (``why_not_vm``)
    why_not_container: str = ""
    why_not_vm: str = ""
    # each round's work per second, natively and in the container, in the order run (the
    # two took turns within a round): the rounds the best figures above were picked from
    native_rounds: tuple[float, ...] = ()
    container_rounds: tuple[float, ...] = ()

    def paired_percent(self) -> list[float]:
        """Per round, the work lost in the container against native in the same round, %."""
        pairs = zip(self.native_rounds, self.container_rounds, strict=False)
        return [100.0 * (1.0 - c / n) for n, c in pairs if n > 0]

    def overhead_percent(self, where: Literal["container", "vm"]) -> float | None:
        """Work lost in ``where`` against native, % (None when not measured): in the
        container the median of the rounds' paired losses when the rounds were kept (a
        busy moment weighs on both sides of a pair), else from the best figures."""
        value = self.container if where == "container" else self.vm
        if value is None or self.native <= 0:
            return None
        paired = self.paired_percent() if where == "container" else []
        if paired:
            return float(statistics.median(paired))
        return 100.0 * (1.0 - value / self.native)


@dataclass(frozen=True)
class ProbeStats:
    """The paced latency probe over one case: request latencies and the work it did."""

    requests: int
    p50_us: float
    p95_us: float
    p99_us: float
    work_per_s: float  # units of work completed per second
    cpu_seconds: float  # the probe's own CPU time over the case
    service_p50_us: float | None = None  # median time a request took once started (no wait)
    # requests that started on time (the probe slept until they were due), and the CPU
    # time of their unit of work alone (each request's own thread CPU time, summed)
    on_time_requests: int | None = None
    on_time_cpu_seconds: float | None = None

    def work_per_cpu_second(self, duration_s: float) -> float | None:
        """Requests per second of the probe's CPU time: from the on-time requests' own CPU
        time when recorded (at least :data:`MIN_ON_TIME` of them), else the whole work
        over the process's CPU time (pacing included); None when either is too small."""
        if self.on_time_requests is not None and self.on_time_cpu_seconds is not None:
            if self.on_time_requests < MIN_ON_TIME or self.on_time_cpu_seconds <= 0:
                return None
            return self.on_time_requests / self.on_time_cpu_seconds
        if self.cpu_seconds < MIN_CPU_SECONDS:
            return None
        return self.work_per_s * duration_s / self.cpu_seconds


@dataclass(frozen=True)
class NeighbourCase:
    """The probe in one case, and the hog beside it (none in ``alone``)."""

    case: Case
    duration_s: float
    probe: ProbeStats
    hog_cpu_seconds: float | None = None  # from the hog cgroup's own accounting
    hog_quota_cores: float | None = None  # the hard quota (``hard-quota`` only)
    hog_throttled_s: float | None = None  # throttled time from the cgroup (quota cases)
    probe_weight: int | None = None  # cgroup CPU weight / shares given (soft cases)
    hog_weight: int | None = None
    # the cores the probe and the hog ran on between them (1: pinned to one core; None:
    # unpinned, the machine's) — the equivalent scenario's host has this many
    cores: int | None = None
    hog_threads: int | None = None  # threads the hog ran (None: one per core of the host)


@dataclass(frozen=True)
class Comparison:
    """One figure: what the model predicts for an experiment and what was measured."""

    experiment: str  # e.g. "soft-shares"
    figure: str  # e.g. "probe p95 latency inflation"
    unit: str
    predicted: float
    measured: float
    tolerance: float  # the stated tolerance, same unit (|predicted − measured| ≤ it: agrees)

    @property
    def difference(self) -> float:
        return self.predicted - self.measured

    @property
    def agrees(self) -> bool:
        return abs(self.difference) <= self.tolerance


@dataclass(frozen=True)
class Figure:
    """One default the calibration replaces: its path in ``underlay defaults``, the cited
    value, the measured one (None: not measured, ``why_not`` says why) and how."""

    default: str  # e.g. "interference.slowdown_at_full_load"
    cited: float
    measured: float | None
    unit: str
    how: str
    why_not: str = ""


@dataclass(frozen=True)
class Calibration:
    """A calibration run on one host."""

    host: str
    measured_at: str  # ISO 8601, UTC
    cpu_model: str
    cores: int
    cgroup: Literal["v1", "v2", "none"]
    duration_s: float
    overheads: list[OverheadRun] = field(default_factory=list)
    neighbours: list[NeighbourCase] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be measured, and why
