"""The benchmark server inside the KVM guest (``python -m underlay.calibration.guest``).

The guest's ``/init`` (:mod:`underlay.calibration.kvm`) starts it on the serial console,
in the host's own file tree (mounted read-only over virtio-9p), so it runs the very code
and Python the native benchmarks run. It brings the loopback interface up, puts the
console in raw mode (no echo, no line editing), says ``{"event": "ready"}`` and serves
benchmark requests as ``workloads serve`` does, until the host closes the console.

One difference: a benchmark's CPU time is read by the guest's kernel, which (Debian's
kernel, built without ``CONFIG_PARAVIRT_TIME_ACCOUNTING``) counts the time the host gave
the vCPU to another process as the benchmark's. The guest reports that stolen time
(``/proc/stat``'s ``steal``, in clock ticks, over the window) and takes it out of the CPU
time, as the native benchmarks never count time another process had.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import termios
import tty
from typing import Any

from underlay.calibration.workloads import KINDS, loopback_up

__all__ = ["main", "steal_seconds"]

_TICK = os.sysconf("SC_CLK_TCK")


def steal_seconds() -> float:
    """The time the host took from this machine's vCPUs so far (all of them), seconds."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = stat.readline().split()  # "cpu user nice system idle iowait irq softirq steal"
    return int(fields[8]) / _TICK if len(fields) > 8 else 0.0


def _run(kind: str, seconds: float) -> dict[str, Any]:
    before = steal_seconds()
    result = KINDS[kind](seconds)
    stolen = steal_seconds() - before
    result["steal_seconds"] = stolen
    if "cpu_seconds" in result:
        result["cpu_seconds"] = max(result["cpu_seconds"] - stolen, 1e-9)
    return result


def main() -> int:
    """Serve benchmark requests on the console until it closes."""
    loopback_up()
    with contextlib.suppress(termios.error):
        tty.setraw(sys.stdin.fileno())
    ready = {"event": "ready", "cpus": os.cpu_count(), "kernel": os.uname().release}
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        kind, seconds = line.split()
        print(json.dumps(_run(kind, float(seconds))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
