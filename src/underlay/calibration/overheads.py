"""The overhead microbenchmarks, natively and in the container sandbox.

Two benchmark servers (``workloads serve``) run side by side, idle between requests: one
native (in underlay's own cgroup, no new namespace), one in the sandbox (new namespaces
and a pod cgroup requesting one core, limited to every core, so no quota throttles a
one-threaded benchmark: what is left is the cost of the namespaces and of the group).
Each benchmark runs :data:`ROUNDS` times in each, the two taking turns (native first in
one round, sandbox first in the next), so that a busy moment on a shared machine weighs on
both; the best round of each is shown (the usual reading of a microbenchmark: the others
lost time to something else), and every round is kept: the container's overhead is read
from the rounds' pairs (:mod:`underlay.calibration.container_tax`). Start-up is outside
every timed window.

The CPU-bound, memory-bandwidth and system-call benchmarks count work per second of the
benchmark's *own CPU time* (user and system): on a shared machine other processes take
turns on the cores, and the wall-clock time they take is no cost of the container. The
loopback benchmark counts round trips per wall-clock second: a round trip is two
processes waking each other, and the waiting is what it measures.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from underlay.calibration.cgroups import Session
from underlay.calibration.processes import Children, workload_command
from underlay.calibration.results import Bench, OverheadRun

__all__ = ["BENCHES", "ROUNDS", "measure_overheads"]

BENCHES: tuple[Bench, ...] = ("cpu", "membw", "syscall", "loopback")
ROUNDS = 5
"""Runs of each benchmark in each environment: five pairs, so that a sign test can tell a
container overhead from noise (:mod:`underlay.calibration.container_tax`)."""


def measure_overheads(
    kids: Children,
    groups: Session | None,
    sandbox: list[str] | str,
    seconds: float,
    why_not_vm: str,
    progress: Callable[[str], None],
) -> list[OverheadRun]:
    """Each benchmark natively and in the sandbox (``sandbox``: its prefix, or why none),
    ``seconds`` a run."""
    servers = {"native": kids.start(workload_command("serve", 0), serve=True)}
    if not isinstance(sandbox, str):
        group = groups.group("pod") if groups is not None else None
        if group is not None:
            group.set_request(1.0)
            group.set_limit(float(len(os.sched_getaffinity(0))))
        command = workload_command("serve", 0, sandbox=sandbox)
        servers["container"] = kids.start(command, group=group, serve=True)
    rounds: dict[tuple[str, Bench], list[float]] = {}
    for bench in BENCHES:
        progress(f"overhead: {bench}, {ROUNDS} rounds of {seconds:.2f} s in {len(servers)} places")
        for round_ in range(ROUNDS):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for where in order:
                result = kids.ask(servers[where], bench, seconds)
                spent = result.get("cpu_seconds", result["seconds"])
                rate = float(result["work"]) / max(float(spent), 1e-9)
                rounds.setdefault((where, bench), []).append(rate)
    for server in servers.values():
        kids.stop(server)
    why_not = sandbox if isinstance(sandbox, str) else ""
    return [
        OverheadRun(
            bench=bench,
            unit=_UNITS[bench],
            native=max(rounds["native", bench]),
            container=_best(rounds.get(("container", bench))),
            vm=None,
            why_not_container=why_not,
            why_not_vm=why_not_vm,
            native_rounds=tuple(rounds["native", bench]),
            container_rounds=tuple(rounds.get(("container", bench), [])),
        )
        for bench in BENCHES
    ]


def _best(rates: list[float] | None) -> float | None:
    return max(rates) if rates else None


_UNITS: dict[Bench, str] = {
    "cpu": "iterations/CPU-s",
    "membw": "GB/CPU-s",
    "syscall": "syscalls/CPU-s",
    "loopback": "round trips/s",
}
