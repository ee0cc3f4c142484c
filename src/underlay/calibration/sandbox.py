"""Where a workload can run besides natively: the container sandbox and the KVM guest.

The container sandbox is what a container runtime builds for a pod, from the same Linux
primitives: new mount, PID, network, UTS and IPC namespaces (``unshare(1)``, with its own
``/proc`` and the loopback interface brought up inside the new network namespace), plus a
cgroup carrying the pod's CPU request and limit (:mod:`underlay.calibration.cgroups`).
No image and no overlay filesystem: their cost is at start-up, which no microbenchmark
here times.

A KVM guest needs ``/dev/kvm`` that opens, a QEMU binary, and the kernel and initrd the
user points to; :func:`why_not_vm` says which is missing. Running the guest is not
implemented in this version: with everything present, it says so.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

__all__ = ["NAMESPACES", "sandbox_prefix", "why_not_vm"]

NAMESPACES = ["--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--mount-proc"]
"""``unshare`` options: the namespaces of a pod's sandbox (a new PID namespace needs a
fork, and its own ``/proc`` to show it)."""

QEMU = ("qemu-system-x86_64", "qemu-kvm", "qemu-system-aarch64")


def sandbox_prefix() -> list[str] | str:
    """The command prefix that runs a command in the sandbox's namespaces, or why none.

    Tried once with ``true``: as root directly; otherwise in a new user namespace that
    maps the user to root (where the kernel allows unprivileged user namespaces).
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare(1) is not installed (util-linux)"
    tries = [[unshare, *NAMESPACES]]
    if os.geteuid() != 0:
        tries.append([unshare, "--user", "--map-root-user", *NAMESPACES])
    last = ""
    for prefix in tries:
        try:
            done = subprocess.run(
                [*prefix, "true"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            last = str(exc)
            continue
        if done.returncode == 0:
            return prefix
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
    return f"cannot create namespaces with unshare: {last}"


def why_not_vm(kernel: Path | None, initrd: Path | None) -> str:
    """Why no KVM guest can run the benchmarks here (never empty in this version)."""
    reasons = []
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        reasons.append(f"/dev/kvm not usable: open() failed with {name}")
    else:
        os.close(fd)
    if not any(shutil.which(q) for q in QEMU):
        reasons.append(f"no QEMU binary ({', '.join(QEMU)}) on PATH")
    if kernel is None or initrd is None:
        reasons.append("no guest kernel and initrd given (--kernel, --initrd)")
    else:
        reasons += [f"{p} does not exist" for p in (kernel, initrd) if not p.is_file()]
    if not reasons:
        reasons.append("running the benchmarks in a KVM guest is not implemented yet")
    return "; ".join(reasons)
