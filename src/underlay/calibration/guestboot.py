"""Booting the KVM guest and asking it for benchmarks, each within a time limit.

The guest is one of the calibration's workload processes (QEMU, in its own process
group, killed when the :func:`~underlay.calibration.processes.children` block ends, also
on Ctrl-C and SIGTERM). Its serial console is QEMU's stdin and stdout, so the benchmark
server in the guest answers :meth:`Children.ask` as the native one does. A watchdog kills
QEMU when the guest does not answer in time: the read then ends, and the reason says so.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from underlay.calibration.kvm import (
    CPU_MODELS,
    ERROR_MARK,
    INIT_MARK,
    Guest,
    pvm_hint,
    qemu_command,
)
from underlay.calibration.processes import Children, WorkloadFailed

__all__ = ["ask_guest", "boot", "deadline"]


@contextlib.contextmanager
def deadline(
    process: subprocess.Popen[str], seconds: float, unless: threading.Event | None = None
) -> Iterator[threading.Event]:
    """Kill ``process``'s group if the block lasts over ``seconds`` (and ``unless`` is not
    set by then); the event returned says whether it had to."""
    fired = threading.Event()

    def kill() -> None:
        if unless is not None and unless.is_set():
            return
        fired.set()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    timer = threading.Timer(seconds, kill)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


@contextlib.contextmanager
def _no_core_dump() -> Iterator[None]:
    """Processes started in the block write no core file (the limit is inherited)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))


def _until_ready(process: subprocess.Popen[str], start_s: float, timeout_s: float) -> str:
    """Read the console until the guest is ready (""), or why it will not be: its kernel
    must start ``/init`` within ``start_s``, and the server be ready within ``timeout_s``."""
    assert process.stdout is not None  # started with serve=True
    last, alive = "", threading.Event()
    with deadline(process, timeout_s) as late, deadline(process, start_s, alive) as dead:
        for line in process.stdout:
            if line.startswith('{"event": "ready"'):
                return ""
            if ERROR_MARK in line:
                return "the guest " + line.split(ERROR_MARK, 1)[1].strip()
            if INIT_MARK in line:
                alive.set()
            last = line.strip() or last
    if dead.is_set():
        return f"the guest's kernel did not start /init within {start_s:g} s{pvm_hint()}"
    if late.is_set():
        return f"the guest did not answer within {timeout_s:g} s"
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    err = process.stderr.read().strip() if process.stderr is not None else ""
    said = " ".join(err.splitlines()[-2:]) if err else last or "no message"
    return f"QEMU ended (exit status {process.returncode}) before the guest was ready: {said}"


def boot(kids: Children, guest: Guest) -> subprocess.Popen[str] | str:
    """QEMU running ``guest`` with its benchmark server ready (within the guest's
    ``start_s`` and ``ready_s``), or why not. Each of :data:`CPU_MODELS` is tried in turn
    while QEMU refuses the previous one."""
    why = ""
    for cpu in CPU_MODELS:
        with _no_core_dump():  # QEMU aborts on the MSR it cannot set: no core file left
            process = kids.start(qemu_command(replace(guest, cpu=cpu)), serve=True)
        why = _until_ready(process, guest.start_s, guest.ready_s)
        if not why:
            return process
        kids.stop(process)
        if "failed to set MSR" not in why:
            break
    return why


def ask_guest(
    kids: Children, server: subprocess.Popen[str], bench: str, seconds: float, limit_s: float
) -> dict[str, Any] | str:
    """Benchmark ``bench`` for ``seconds`` in the guest, or why it gave no result within
    ``limit_s`` (QEMU is then killed)."""
    try:
        with deadline(server, limit_s) as fired:
            return kids.ask(server, bench, seconds)
    except (WorkloadFailed, OSError, ValueError) as exc:
        if fired.is_set():
            return f"the guest did not answer within {limit_s:g} s ({bench})"
        return f"the guest's benchmark server failed ({bench}): {exc}"
