"""The overhead microbenchmarks, natively and in the container sandbox.

Each of the four workloads (:mod:`underlay.calibration.workloads`) runs once natively
(in underlay's own cgroup, no new namespace) and once in the sandbox (new namespaces and a
pod cgroup requesting one core, limited to every core, so no quota throttles a
one-threaded benchmark: what is left is the cost of the namespaces and of the group).
Native and sandboxed runs alternate, benchmark by benchmark, so that a slow minute on a
shared machine weighs on both. Work per second is the workload's own count over its own
timed window.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from underlay.calibration.cgroups import CpuGroup, Session
from underlay.calibration.processes import Children, workload_command
from underlay.calibration.results import Bench, OverheadRun

__all__ = ["BENCHES", "measure_overheads"]

BENCHES: tuple[Bench, ...] = ("cpu", "membw", "syscall", "loopback")


def _rate(
    kids: Children, command: list[str], seconds: float, group: CpuGroup | None = None
) -> float:
    process = kids.start(command, group=group)
    result = kids.result(process, timeout_s=seconds + 120)
    return float(result["work"]) / float(result["seconds"])


def measure_overheads(
    kids: Children,
    groups: Session | None,
    sandbox: list[str] | str,
    seconds: float,
    why_not_vm: str,
    progress: Callable[[str], None],
) -> list[OverheadRun]:
    """Each benchmark natively and in the sandbox (``sandbox``: its prefix, or why none)."""
    runs = []
    cores = len(os.sched_getaffinity(0))
    for bench in BENCHES:
        progress(f"overhead: {bench} natively ({seconds:.1f} s)")
        native = _rate(kids, workload_command(bench, seconds), seconds)
        container: float | None = None
        why_not = ""
        if isinstance(sandbox, str):
            why_not = sandbox
        else:
            group = groups.group(f"pod-{bench}") if groups is not None else None
            if group is not None:
                group.set_request(1.0)
                group.set_limit(float(cores))
            progress(f"overhead: {bench} in the container sandbox ({seconds:.1f} s)")
            command = workload_command(bench, seconds, sandbox=sandbox)
            container = _rate(kids, command, seconds, group=group)
        runs.append(
            OverheadRun(
                bench=bench,
                unit=_UNITS[bench],
                native=native,
                container=container,
                vm=None,
                why_not_container=why_not,
                why_not_vm=why_not_vm,
            )
        )
    return runs


_UNITS: dict[Bench, str] = {
    "cpu": "iterations/s",
    "membw": "GB/s",
    "syscall": "syscalls/s",
    "loopback": "round trips/s",
}
