"""The overhead microbenchmarks, natively, in the container sandbox and in a KVM guest.

Benchmark servers (``workloads serve``) run side by side, idle between requests: one
native (in underlay's own cgroup, no new namespace), one in the sandbox (new namespaces
and a pod cgroup requesting one core, limited to every core, so no quota throttles a
one-threaded benchmark: what is left is the cost of the namespaces and of the group), and,
given a guest kernel and initrd, one in a KVM guest (:mod:`underlay.calibration.kvm`: the
same code and Python, over the guest's serial console, each answer within a time limit;
a guest that does not answer is killed, and none of its figures count).
Each benchmark runs :data:`ROUNDS` times in each, taking turns (native first in one
round, last in the next), so that a busy moment on a shared machine weighs on all; the
best round of each is shown (the usual reading of a microbenchmark: the others lost time
to something else), and every native and container round is kept: the container's
overhead is read from the rounds' pairs (:mod:`underlay.calibration.container_tax`).
Start-up (the guest's boot too) is outside every timed window.

The CPU-bound, memory-bandwidth and system-call benchmarks count work per second of the
benchmark's *own CPU time* (user and system): on a shared machine other processes take
turns on the cores, and the wall-clock time they take is no cost of the container (in the
guest, its kernel's reading less the time the host took from its vCPUs). The
loopback benchmark counts round trips per wall-clock second: a round trip is two
processes waking each other, and the waiting is what it measures.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

from underlay.calibration.cgroups import Session
from underlay.calibration.guestboot import ask_guest
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
    vm: subprocess.Popen[str] | str,
    progress: Callable[[str], None],
    *,
    answer_s: float = 30.0,
) -> list[OverheadRun]:
    """Each benchmark natively, in the sandbox (``sandbox``: its prefix, or why none) and
    in the KVM guest (``vm``: QEMU with the guest's server ready, or why none; see
    :func:`~underlay.calibration.guestboot.boot`), ``seconds`` a run. The guest may take
    ``answer_s`` plus ten times ``seconds`` to answer a request (the benchmark, its first
    set-up, e.g. NumPy's arrays, and the console both ways, on a busy host)."""
    servers = {"native": kids.start(workload_command("serve", 0), serve=True)}
    if not isinstance(sandbox, str):
        group = groups.group("pod") if groups is not None else None
        if group is not None:
            group.set_request(1.0)
            group.set_limit(float(len(os.sched_getaffinity(0))))
        command = workload_command("serve", 0, sandbox=sandbox)
        servers["container"] = kids.start(command, group=group, serve=True)
    why_not_vm = vm if isinstance(vm, str) else ""
    limit = answer_s + 10.0 * seconds
    if not isinstance(vm, str):
        servers["vm"] = vm
    rounds: dict[tuple[str, Bench], list[float]] = {}
    for bench in BENCHES:
        progress(f"overhead: {bench}, {ROUNDS} rounds of {seconds:.2f} s in {len(servers)} places")
        for round_ in range(ROUNDS):
            order = list(servers) if round_ % 2 == 0 else list(reversed(servers))
            for where in order:
                if where not in servers:  # the guest stopped answering
                    continue
                if where == "vm":
                    result = ask_guest(kids, servers[where], bench, seconds, limit)
                    if isinstance(result, str):
                        why_not_vm = result
                        kids.stop(servers.pop("vm"))
                        continue
                else:
                    result = kids.ask(servers[where], bench, seconds)
                spent = result.get("cpu_seconds", result["seconds"])
                rate = float(result["work"]) / max(float(spent), 1e-9)
                rounds.setdefault((where, bench), []).append(rate)
    for server in servers.values():
        kids.stop(server)
    if why_not_vm:  # measured in part before the guest stopped: none of it counts
        rounds = {k: v for k, v in rounds.items() if k[0] != "vm"}
    why_not = sandbox if isinstance(sandbox, str) else ""
    return [
        OverheadRun(
            bench=bench,
            unit=_UNITS[bench],
            native=max(rounds["native", bench]),
            container=_best(rounds.get(("container", bench))),
            vm=_best(rounds.get(("vm", bench))),
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
