"""The workloads' processes: started in a cgroup, on a CPU, natively or in the sandbox,
and never left behind.

A workload joins its cgroup *before* it runs: the child writes its own id into the
group's ``cgroup.procs`` between ``fork`` and ``exec`` (``preexec_fn``), so the
sandbox's ``unshare`` and everything it forks start inside the group, with no window in
which they run outside it. Each child leads its own process group (a new session), so a
Ctrl-C at the terminal reaches underlay alone, and underlay kills each child's whole
process group when the :func:`children` block ends, however it ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from underlay.calibration.cgroups import CpuGroup

__all__ = ["Children", "WorkloadFailed", "children", "workload_command"]


class WorkloadFailed(RuntimeError):
    """A workload ended without its result (its stderr's last line says why)."""


def workload_command(
    kind: str, seconds: float, *, sandbox: Sequence[str] = (), rate: float | None = None
) -> list[str]:
    """The command running workload ``kind`` for ``seconds``, under ``sandbox`` if given."""
    command = [
        *sandbox,
        sys.executable,
        "-m",
        "underlay.calibration.workloads",
        kind,
        "--seconds",
        f"{seconds:.3f}",
    ]
    if rate is not None:
        command += ["--rate", f"{rate:g}"]
    if sandbox:
        command.append("--loopback-up")
    return command


def _joiner(files: list[Path], cpu: int | None) -> Callable[[], None]:
    """What the child runs before ``exec``: join the cgroup, then pin itself to ``cpu``."""

    def join() -> None:
        for path in files:
            # os.write on a raw descriptor: nothing buffered, nothing allocated in Python
            # objects that a forked child of a threaded parent could find locked.
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")  # "0": the writing process itself
            finally:
                os.close(fd)
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return join


@dataclass
class Children:
    """The workload processes of one :func:`children` block."""

    running: list[subprocess.Popen[str]] = field(default_factory=list)

    def start(
        self,
        command: list[str],
        *,
        group: CpuGroup | None = None,
        cpu: int | None = None,
        serve: bool = False,
    ) -> subprocess.Popen[str]:
        """Start ``command`` in ``group`` (None: where underlay runs), pinned to ``cpu``;
        with ``serve``, its stdin is a pipe that :meth:`ask` writes requests to."""
        files = group.procs_files if group is not None else []
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if serve else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_joiner(files, cpu),
        )
        self.running.append(process)
        return process

    def started(self, process: subprocess.Popen[str]) -> None:
        """Wait until ``process`` opens its timed window (its ``start`` line)."""
        # Byte by byte, unbuffered: communicate() reads the rest from the descriptor itself
        # and would never see what a buffered readline() had taken ahead.
        fd = _stdout(process).fileno()
        while (byte := os.read(fd, 1)) != b"\n":
            if not byte:
                raise WorkloadFailed(_why(process))

    def result(self, process: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
        """The JSON result ``process`` prints last (after its ``start`` line)."""
        try:
            out, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise WorkloadFailed(f"no result after {timeout_s:.0f} s") from exc
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if process.returncode != 0 or not lines:
            raise WorkloadFailed(_why(process))
        value: dict[str, Any] = json.loads(lines[-1])
        return value

    def ask(self, server: subprocess.Popen[str], kind: str, seconds: float) -> dict[str, Any]:
        """Run benchmark ``kind`` for ``seconds`` in ``server`` (a ``serve`` workload)."""
        assert server.stdin is not None  # started with serve=True
        try:
            server.stdin.write(f"{kind} {seconds:.3f}\n")
            server.stdin.flush()
        except BrokenPipeError as exc:
            raise WorkloadFailed(_why(server)) from exc
        while line := _stdout(server).readline():
            if line.startswith('{"work"'):
                value: dict[str, Any] = json.loads(line)
                return value
        raise WorkloadFailed(_why(server))

    def stop(self, process: subprocess.Popen[str]) -> None:
        """Kill ``process`` and everything it started; reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=5)


def _stdout(process: subprocess.Popen[str]) -> IO[str]:
    assert process.stdout is not None  # started with stdout=PIPE
    return process.stdout


def _why(process: subprocess.Popen[str]) -> str:
    """The last line of a failed workload's stderr, with its exit status."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)
    err = process.stderr.read() if process.stderr is not None else ""
    last = err.strip().splitlines()[-1] if err.strip() else "no message"
    return f"exit status {process.returncode}: {last}"


@contextlib.contextmanager
def children() -> Iterator[Children]:
    """Workload processes that are all killed (with their own children) on exit."""
    made = Children()
    try:
        yield made
    finally:
        for process in made.running:
            if process.poll() is None:
                made.stop(process)
            for stream in (process.stdin, process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
