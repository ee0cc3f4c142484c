"""``run_calibration``: every measurement of a calibration run, within about its duration.

The duration is split between the experiments: 40 % to the overhead runs (four
benchmarks, natively and in the sandbox, ``ROUNDS`` times each), what is left after them
to the four noisy-neighbour cases, less an allowance for each process's start-up (Python
and NumPy loading), which no window times. On a busy machine start-ups take longer than
allowed, and the run takes longer than its duration.
What cannot be measured here is said in ``notes`` and in the figure it leaves at its
cited default; the model-beside-measurement ``comparisons`` are filled by another step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from underlay.calibration import cgroups
from underlay.calibration.container_tax import (
    CONTAINER_CPU,
    TAX_BENCH,
    TAX_HOW,
    container_tax,
)
from underlay.calibration.neighbours import CASES, measure_neighbours
from underlay.calibration.overheads import BENCHES, ROUNDS, measure_overheads
from underlay.calibration.processes import children
from underlay.calibration.results import Calibration, Figure, NeighbourCase, OverheadRun
from underlay.calibration.sandbox import sandbox_prefix, why_not_vm
from underlay.defaults import load_defaults
from underlay.interrupts import Interrupted

__all__ = [
    "figures",
    "neighbour_window",
    "overhead_window",
    "run_calibration",
]

STARTUP_S = 1.0
"""The start-up allowance of one workload process, or of a noisy-neighbour case's two
(not timed, but it takes wall time; about what a busy 2-core machine needs)."""


def overhead_window(duration_s: float) -> float:
    """The timed window of one overhead run, seconds (40 % of the duration for them all)."""
    runs = 2 * len(BENCHES) * ROUNDS
    return max(0.05, (0.4 * duration_s - 2 * STARTUP_S) / runs)


def neighbour_window(left_s: float) -> float:
    """The timed window of one noisy-neighbour case, from the time left (the overheads may
    have taken longer than planned on a busy machine), seconds; at least half a second."""
    return max(0.5, left_s / len(CASES) - STARTUP_S)


def run_calibration(
    duration_s: float,
    *,
    kernel: Path | None = None,
    initrd: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Calibration:
    """Measure this host: overheads and noisy neighbours, in about ``duration_s`` seconds.

    Every cgroup and process it creates is gone when it returns or raises, also on Ctrl-C
    and SIGTERM. ``progress`` is called with one line per step.
    """
    say = progress or (lambda _line: None)
    began = time.monotonic()
    found = cgroups.detect()
    if isinstance(found, cgroups.Hierarchy):
        cgroups.remove_stale(found)
        found = cgroups.why_unusable(found) or found
    hierarchy = found if isinstance(found, cgroups.Hierarchy) else None
    notes = [] if hierarchy else [f"cgroups: not measured: {found}"]
    sandbox = sandbox_prefix()
    if isinstance(sandbox, str):
        notes.append(f"container overhead: not measured: {sandbox}")
    elif hierarchy is None:
        notes.append("container overhead: measured in the namespaces without a pod cgroup")
    no_vm = why_not_vm(kernel, initrd)
    notes.append(f"KVM guest overhead: not measured: {no_vm}")
    with _sigterm_raises(), children() as kids, _groups(hierarchy) as groups:
        overhead_s = overhead_window(duration_s)
        overheads = measure_overheads(kids, groups, sandbox, overhead_s, no_vm, say)
        neighbour_s = neighbour_window(duration_s - (time.monotonic() - began))
        neighbours, more = measure_neighbours(kids, groups, neighbour_s, say)
    notes += more + _busy(os.cpu_count() or 1)
    return Calibration(
        host=socket.gethostname(),
        measured_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 1,
        cgroup=hierarchy.version if hierarchy else "none",
        duration_s=duration_s,
        overheads=overheads,
        neighbours=neighbours,
        figures=figures(overheads, neighbours, no_vm),
        notes=notes,
    )


@contextlib.contextmanager
def _groups(hierarchy: cgroups.Hierarchy | None) -> Iterator[cgroups.Session | None]:
    if hierarchy is None:
        yield None
        return
    with cgroups.session(hierarchy) as made:
        yield made


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """SIGTERM unwinds the stack (so the cleanup runs) unless a handler is already set.

    The CLI installs its own (``underlay.entry``); this is for the Python API, where the
    default action would end the process with its cgroups and children left behind.
    """
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def raise_interrupted(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _busy(cores: int) -> list[str]:
    """A note when other work kept the machine busy (the 1-minute load average, read as the
    run ends, above the core count: the run's own processes count for about one)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        load = float(Path("/proc/loadavg").read_text(encoding="utf-8").split()[0])
        if load > cores + 1:
            return [
                f"the machine was busy (load average {load:.1f} on {cores} cores): "
                "other work shared the cores, the figures are noisier than on an idle host"
            ]
    return []


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return "unknown"


def figures(
    overheads: list[OverheadRun], neighbours: list[NeighbourCase], no_vm: str
) -> list[Figure]:
    """The defaults this run measured (or could not), each with how. The container's CPU
    tax is read from the CPU-bound benchmark's rounds by the rule of
    :mod:`underlay.calibration.container_tax`; its other benchmarks replace no default
    (the model beside the measurement, ``predict``, sets them against that tax)."""
    defaults = load_defaults()
    by_case = {n.case: n for n in neighbours}
    slowdown = _membw_slowdown(by_case.get("alone"), by_case.get("membw-hog"))
    tax = container_tax(next((o for o in overheads if o.bench == TAX_BENCH), None))
    return [
        Figure(
            default="interference.slowdown_at_full_load",
            cited=defaults.interference.slowdown_at_full_load,
            measured=slowdown,
            unit="share of work lost",
            how="probe's median service time per request, alone vs beside a memory-bandwidth hog "
            "(STREAM-like triad, 1 thread, another core); a gain counts as 0",
            why_not="" if slowdown is not None else "the probe did not run in both cases",
        ),
        Figure(
            default=CONTAINER_CPU,
            cited=defaults.container_runtime.cpu_overhead_percent,
            measured=tax.percent,
            unit="%",
            how=TAX_HOW,
            why_not=tax.why_not,
        ),
        Figure(
            default="hypervisors.kvm.cpu_overhead_percent",
            cited=defaults.hypervisors["kvm"].cpu_overhead_percent,
            measured=None,
            unit="%",
            how="CPU-bound loop natively vs in a KVM guest",
            why_not=no_vm,
        ),
    ]


def _membw_slowdown(alone: NeighbourCase | None, beside: NeighbourCase | None) -> float | None:
    """Work lost beside the membw hog: 1 − (median service time alone / beside).

    The service time (a request's start to its end) leaves out waits for a core, so what
    it loses is the speed of the work itself (cache and memory bandwidth); the median, so
    that a few requests slowed by something else do not count.
    """
    if alone is None or beside is None:
        return None
    before, after = alone.probe.service_p50_us, beside.probe.service_p50_us
    if not before or not after:
        return None
    return max(0.0, 1.0 - before / after)
