"""Where a workload can run besides natively: the container sandbox and the KVM guest.

The container sandbox is what a container runtime builds for a pod, from the same Linux
primitives: new mount, PID, network, UTS and IPC namespaces (``unshare(1)``, with its own
``/proc`` and the loopback interface brought up inside the new network namespace), plus a
cgroup carrying the pod's CPU request and limit (:mod:`underlay.calibration.cgroups`).
No image and no overlay filesystem: their cost is at start-up, which no microbenchmark
here times.

The KVM guest is :mod:`underlay.calibration.kvm`'s.
"""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["NAMESPACES", "sandbox_prefix"]

NAMESPACES = ["--mount", "--uts", "--ipc", "--net", "--pid", "--fork", "--mount-proc"]
"""``unshare`` options: the namespaces of a pod's sandbox (a new PID namespace needs a
fork, and its own ``/proc`` to show it)."""


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
