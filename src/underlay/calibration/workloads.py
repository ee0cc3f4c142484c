"""The calibration's small workloads, each run as its own process so that it can be put
in a cgroup or in namespaces::

    python -m underlay.calibration.workloads KIND --seconds S [--loopback-up] [--rate R]

KIND is one of

- ``cpu``: a pure-Python integer loop (a linear congruential step), iterations/s;
- ``membw``: the STREAM triad ``a = b + s·c`` on three NumPy arrays each the size of the
  last-level cache (at least 16 MiB), so that a pass (three times the cache) goes to memory; GB/s counted as
  STREAM counts the triad, 24 bytes per element (McCalpin, STREAM benchmark);
- ``syscall``: one-byte ``write`` and ``read`` on a pipe in turn, system calls/s;
- ``loopback``: one-byte TCP round trips over 127.0.0.1 to an echo server in a forked
  child, round trips/s;
- ``probe``: the paced latency probe (:func:`probe`);
- ``serve``: any of the four benchmarks above, on request (:func:`serve`).

The CPU hog is ``cpu`` and the memory-bandwidth hog is ``membw``, run for longer than the
probe beside them. Every workload prints ``{"event": "start"}`` when its timed window
opens and one JSON object with its result when it ends, each on its own line.
``--loopback-up`` brings the loopback interface up first (a new network namespace starts
with it down). Only the standard library is imported at start; NumPy by the workloads that
use it.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import socket
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["KINDS", "loopback_up", "main", "probe", "serve"]

_BATCH = 2000


_CPU_AT_START: list[float] = [0.0]


def _start() -> float:
    """Announce the timed window; its start, on the wall clock (CPU clock kept aside)."""
    print(json.dumps({"event": "start"}), flush=True)
    _CPU_AT_START[0] = time.process_time()
    return time.perf_counter()


def _cpu_since_start() -> float:
    """This process's CPU time (user and system) since :func:`_start`."""
    return time.process_time() - _CPU_AT_START[0]


def cpu(seconds: float) -> dict[str, Any]:
    """Iterations of an integer loop per second."""
    x, done = 1, 0
    began = _start()
    deadline = began + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(_BATCH):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        done += _BATCH
    return {
        "work": done,
        "seconds": now - began,
        "unit": "iterations/s",
        "cpu_seconds": _cpu_since_start(),
    }


def _llc_bytes() -> int:
    """The last-level cache of CPU 0 (sysfs), or 32 MiB when sysfs does not say."""
    best = 0
    for index in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        text = (index / "size").read_text().strip() if (index / "size").exists() else ""
        if text[:-1].isdigit():
            scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1], 1)
            best = max(best, int(text[:-1]) * scale)
    return best or 32 << 20


_ARRAYS: list[Any] = []


def membw(seconds: float) -> dict[str, Any]:
    """The STREAM triad over arrays larger than the last-level cache, GB/s."""
    import numpy as np

    if not _ARRAYS:  # made once per process: a server runs the triad many times
        n = max(16 << 20, _llc_bytes()) // 8
        _ARRAYS.extend(np.full(n, x) for x in (0.0, 1.0, 2.0))  # filled: pages touched
    a, b, c = _ARRAYS
    n = a.size
    passes = 0
    began = _start()
    deadline = began + seconds
    while (now := time.perf_counter()) < deadline:
        np.multiply(c, 3.0, out=a)
        np.add(a, b, out=a)
        passes += 1
    gigabytes = passes * 24 * n / 1e9
    return {
        "work": gigabytes,
        "seconds": now - began,
        "unit": "GB/s",
        "cpu_seconds": _cpu_since_start(),
    }


def syscall(seconds: float) -> dict[str, Any]:
    """System calls per second: a one-byte ``write`` and ``read`` on a pipe, in turn.

    Not ``getppid``: in the sandbox the workload is PID 1 of its namespace, whose parent
    is outside it, and the kernel answers that case by another path than natively.
    """
    read_end, write_end = os.pipe()
    read, write = os.read, os.write
    done = 0
    began = _start()
    deadline = began + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(_BATCH // 2):
            write(write_end, b"x")
            read(read_end, 1)
        done += _BATCH
    os.close(read_end)
    os.close(write_end)
    return {
        "work": done,
        "seconds": now - began,
        "unit": "syscalls/s",
        "cpu_seconds": _cpu_since_start(),
    }


def loopback(seconds: float) -> dict[str, Any]:
    """One-byte TCP round trips per second to an echo server in a child process."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    child = os.fork()
    if child == 0:  # the echo server: answer every byte until the client closes
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(1):
            conn.sendall(data)
        os._exit(0)
    address = server.getsockname()
    server.close()
    client = socket.create_connection(address)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    done = 0
    began = _start()
    deadline = began + seconds
    while (now := time.perf_counter()) < deadline:
        for _ in range(100):
            client.sendall(b"x")
            client.recv(1)
        done += 100
    client.close()
    os.waitpid(child, 0)
    return {"work": done, "seconds": now - began, "unit": "round trips/s"}


def probe(seconds: float, rate: float = 200.0) -> dict[str, Any]:
    """The paced latency probe: a fixed unit of work at ``rate`` requests per second.

    Request ``i`` is due at ``start + i / rate``; its latency runs from that due time to
    its end, so a request that starts late because the probe was held back (by the
    scheduler, a quota, a slower memory) counts the wait (an open loop: the probe never
    sends fewer requests because it is slow). The median service time (from a request's
    actual start to its end) is the speed of the work itself, without the waits. The unit of work gathers 4096 random
    elements of an 8 MiB array and runs a short Python loop: sensitive to the CPU it gets
    and to the cache and memory bandwidth it shares.

    The work per CPU second is read from the requests that started *on time* (the probe
    slept until their due time): each one's own CPU time (``time.thread_time_ns`` around
    the unit of work, so the sleeps and wake-ups of the pacing are not in it), summed in
    ``on_time_cpu_seconds`` over ``on_time_requests``. A request that starts late runs
    straight after the one before, on caches that one warmed, and costs about half the
    CPU of a paced one; how many start late depends on the case (many beside a CPU hog),
    so counting them would measure the mix, not the work.
    """
    import numpy as np

    rng = np.random.default_rng(14)
    table = rng.random(1 << 20)
    index = rng.integers(0, table.size, 4096)
    latencies: list[float] = []
    services: list[float] = []
    on_time, on_time_ns = 0, 0
    thread_ns = time.thread_time_ns
    cpu_before = time.process_time()
    began = _start()
    end = began + seconds
    i = 0
    while (due := began + i / rate) < end:
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        started, cpu_started = time.perf_counter(), thread_ns()
        total = float(table[index].sum())
        for k in range(200):
            total += k
        done, cpu_done = time.perf_counter(), thread_ns()
        if wait > 0:
            on_time += 1
            on_time_ns += cpu_done - cpu_started
        latencies.append(done - due)
        services.append(done - started)
        i += 1
    elapsed = time.perf_counter() - began
    us = np.asarray(latencies) * 1e6
    p50, p95, p99 = np.percentile(us, [50, 95, 99]) if us.size else (0.0, 0.0, 0.0)
    return {
        "requests": len(latencies),
        "p50_us": float(p50),
        "p95_us": float(p95),
        "p99_us": float(p99),
        "work_per_s": len(latencies) / elapsed,
        "cpu_seconds": time.process_time() - cpu_before,
        "service_p50_us": float(np.median(services)) * 1e6 if services else 0.0,
        "on_time_requests": on_time,
        "on_time_cpu_seconds": on_time_ns / 1e9,
    }


KINDS: dict[str, Callable[[float], dict[str, Any]]] = {
    "cpu": cpu,
    "membw": membw,
    "syscall": syscall,
    "loopback": loopback,
    "probe": probe,
}
"""Every workload by name."""

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def loopback_up() -> None:
    """Bring ``lo`` up (ioctl SIOCSIFFLAGS, as ``ip link set lo up`` does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def serve() -> None:
    """Run benchmarks on request: one ``KIND SECONDS`` line on stdin each, a result line
    on stdout each, until stdin closes. One process serves a whole series, so the series
    pays for one start-up, and the caller can interleave two environments' runs."""
    for line in sys.stdin:
        kind, seconds = line.split()
        print(json.dumps(KINDS[kind](float(seconds))), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run one workload and print its result as JSON."""
    parser = argparse.ArgumentParser(prog="python -m underlay.calibration.workloads")
    parser.add_argument("kind", choices=[*sorted(KINDS), "serve"])
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--loopback-up", action="store_true")
    args = parser.parse_args(argv)
    if args.loopback_up:
        loopback_up()
    if args.kind == "serve":
        serve()
        return 0
    if args.kind == "probe":
        result = probe(args.seconds, args.rate)
    else:
        result = KINDS[args.kind](args.seconds)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
