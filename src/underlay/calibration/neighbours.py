"""The noisy-neighbour experiments: the latency probe alone and beside a hog.

The four cases (:data:`CASES`), the article's soft limits against hard ones:

- ``alone``: the probe in its group, nothing beside it;
- ``soft-shares``: beside a CPU hog on the same core, the two groups weighted in
  proportion to their requests (1 core each: equal shares, as the kubelet sets them);
- ``hard-quota``: beside the same hog held to a hard quota (0.5 core);
- ``membw-hog``: beside a memory-bandwidth hog on *another* core, which neither shares nor
  quotas touch: what the probe loses is cache and memory bandwidth.

The probe and the CPU hog are pinned to the same core (the last one underlay may use):
the hog fills that core as other pods fill a fully requested host, and the scheduler's
weights and quotas decide who runs. Their groups' parent weighs as much as the hierarchy
allows (:meth:`~underlay.calibration.cgroups.Session.prevail`), so that other work on a
shared machine does not decide it instead. The hog's CPU time and throttling come from its
cgroup's own statistics, read when the probe's timed window opens and when it ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from underlay.calibration.cgroups import CpuGroup, Session
from underlay.calibration.processes import Children, workload_command
from underlay.calibration.results import Case, NeighbourCase, ProbeStats

__all__ = [
    "CASES",
    "HOG_QUOTA_CORES",
    "PROBE_RATE",
    "REQUEST_CORES",
    "Hog",
    "measure_neighbours",
    "run_case",
]

CASES: tuple[Case, ...] = ("alone", "soft-shares", "hard-quota", "membw-hog")
REQUEST_CORES = 1.0
"""The CPU request of the probe's pod and of the hog's: equal weights under soft shares."""
HOG_QUOTA_CORES = 0.5
"""The hog's hard limit in ``hard-quota``."""
PROBE_RATE = 1000.0
"""Probe requests per second (each 0.1-0.3 ms of work: a light pod, well within the one
core it requests; many requests, so that the percentiles of a short case hold)."""
HOG_MARGIN_S = 5.0
"""The hog runs this much longer than the probe; it is killed when the probe is done."""


@dataclass(frozen=True)
class Hog:
    """A neighbour: its workload, its group and limit, the core it is pinned to."""

    kind: str  # "cpu" or "membw"
    group: CpuGroup | None
    cpu: int | None
    quota_cores: float | None = None


def run_case(
    kids: Children,
    case: Case,
    seconds: float,
    *,
    probe_group: CpuGroup | None,
    probe_cpu: int | None,
    hog: Hog | None,
) -> NeighbourCase:
    """The probe for ``seconds`` beside ``hog`` (None: alone), measured."""
    probe_weight = probe_group.set_request(REQUEST_CORES) if probe_group else None
    hog_weight = None
    hog_process = None
    if hog is not None:
        if hog.group is not None:
            hog_weight = hog.group.set_request(REQUEST_CORES)
            hog.group.set_limit(hog.quota_cores)
        command = workload_command(hog.kind, seconds + HOG_MARGIN_S)
        hog_process = kids.start(command, group=hog.group, cpu=hog.cpu)
        kids.started(hog_process)
    probe = kids.start(
        workload_command("probe", seconds, rate=PROBE_RATE), group=probe_group, cpu=probe_cpu
    )
    kids.started(probe)
    stat_group = hog.group if hog is not None else None
    before = stat_group.stat() if stat_group else None
    began = time.monotonic()
    result = kids.result(probe, timeout_s=seconds + 60)
    wall = time.monotonic() - began
    after = stat_group.stat() if stat_group else None
    if hog_process is not None:
        kids.stop(hog_process)
    stats = ProbeStats(**{k: result[k] for k in ProbeStats.__dataclass_fields__})
    used = throttled = None
    if before is not None and after is not None:
        used = after.usage_s - before.usage_s
        throttled = after.throttled_s - before.throttled_s
    return NeighbourCase(
        case=case,
        duration_s=wall,
        probe=stats,
        hog_cpu_seconds=used,
        hog_quota_cores=hog.quota_cores if hog is not None else None,
        hog_throttled_s=throttled if hog is not None and hog.quota_cores is not None else None,
        probe_weight=probe_weight if hog is not None and case != "membw-hog" else None,
        hog_weight=hog_weight if case != "membw-hog" else None,
        hog_threads=1 if hog is not None else None,  # each hog is one single-threaded process
        cores=_used_cores(probe_cpu, hog.cpu if hog is not None else None),
    )


def _used_cores(probe_cpu: int | None, hog_cpu: int | None) -> int | None:
    """The cores the probe and its hog ran on between them (None: not pinned)."""
    if probe_cpu is None:
        return None
    return len({probe_cpu, hog_cpu} - {None})


def _cores() -> tuple[int, int | None]:
    """The probe's core (the last underlay may use) and another one for the membw hog."""
    allowed = sorted(os.sched_getaffinity(0))
    other = allowed[-2] if len(allowed) > 1 else None
    return allowed[-1], other


def measure_neighbours(
    kids: Children,
    groups: Session | None,
    seconds: float,
    progress: Callable[[str], None],
) -> tuple[list[NeighbourCase], list[str]]:
    """The cases that can run here, and a note for each that cannot.

    Without a writable cgroup hierarchy the probe runs alone and beside the
    memory-bandwidth hog (neither needs a weight or a quota), with no hog accounting.
    """
    probe_cpu, other = _cores()
    notes: list[str] = []
    if groups is not None:
        groups.prevail()
    found: list[NeighbourCase] = []
    for case in CASES:
        if groups is None and case in ("soft-shares", "hard-quota"):
            notes.append(f"noisy neighbours, {case}: not measured: no writable cgroup")
            continue
        hog = None
        if case != "alone":
            group = groups.group(f"hog-{case}") if groups else None
            quota = HOG_QUOTA_CORES if case == "hard-quota" else None
            kind, cpu = ("membw", other) if case == "membw-hog" else ("cpu", probe_cpu)
            hog = Hog(kind, group, cpu, quota)
        if case == "membw-hog" and other is None:
            notes.append("membw-hog: one core only, so the hog shares the probe's core")
            hog = Hog("membw", hog.group if hog else None, probe_cpu)
        probe_group = groups.group(f"probe-{case}") if groups else None
        progress(f"noisy neighbours: {case} ({seconds:.1f} s)")
        found.append(
            run_case(kids, case, seconds, probe_group=probe_group, probe_cpu=probe_cpu, hog=hog)
        )
    return found, notes
