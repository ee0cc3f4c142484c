"""Pure resource arithmetic for node reservations, max pods and per-VM overheads.

Every formula is the published one named in the defaults file (``underlay defaults``).
The CPU tax of a VM or a sandbox is charged once, as extra CPU demand in the simulation
(:func:`cpu_tax`); placement keeps none of it back.
"""

from __future__ import annotations

import itertools
import math

from underlay.defaults.catalog import Defaults, ReservationPolicy, tiered
from underlay.model.scenario import Sandboxed, Vm

__all__ = ["cpu_tax", "node_reservation", "tiered"]


def _interpolate(x: float, points: list[tuple[float, float]]) -> float:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:  # extend at the last segment's slope
        slope = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        return ys[-1] + slope * (x - xs[-1])
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]  # pragma: no cover


def node_reservation(
    policy: ReservationPolicy, *, cpu_milli: int, memory_mib: int, max_pods: int
) -> tuple[int, int]:
    """(cpu_milli, memory_mib) a node keeps back from pods: kube + system reserved + eviction.

    Example (GKE, 8 cores, 32 GiB): CPU 60 + 10 + 2×5 + 4×2.5 = 90m; memory
    0.25×4 + 0.20×4 + 0.10×8 + 0.06×16 = 3.56 GiB = 3646 MiB, + 100 MiB eviction = 3746 MiB.
    """
    cores = cpu_milli / 1000
    if policy.cpu_tiers is not None:
        cpu = tiered(cores, policy.cpu_tiers) * 1000
    elif policy.cpu_points is not None:
        cpu = _interpolate(cores, policy.cpu_points)
    else:
        cpu = 0.0
    if policy.memory_tiers is not None:
        mem = tiered(memory_mib / 1024, policy.memory_tiers) * 1024
    elif policy.memory_per_pod_mib is not None:
        mem = policy.memory_per_pod_mib * max_pods + (policy.memory_base_mib or 0.0)
        if policy.memory_cap_fraction is not None:
            mem = min(mem, policy.memory_cap_fraction * memory_mib)
    else:
        mem = 0.0
    mem += policy.eviction_mib
    return math.ceil(cpu), math.ceil(mem)


def cpu_tax(substrate: object, defaults: Defaults, workload_class: str) -> float:
    """The CPU tax of ``substrate`` on a pod of ``workload_class`` (0–1).

    A sandboxed pod pays its runtime's (by class where it says so), which replaces the
    container runtime. Every other pod runs in a plain container (runc) and pays
    ``container_runtime.cpu_overhead_percent`` (c): on bare metal c; in a VM's guest on top
    of the hypervisor's h, the two losses compounding: 1 − (1 − h)(1 − c), written
    h + c − h·c so that it is h exactly when c is 0.
    """
    if isinstance(substrate, Sandboxed):
        r = defaults.sandbox_runtimes[substrate.runtime]
        return r.class_cpu_overhead_percent.get(workload_class, r.cpu_overhead_percent) / 100
    c = defaults.container_runtime.cpu_overhead_percent / 100
    if isinstance(substrate, Vm):
        h = defaults.hypervisors[substrate.hypervisor].cpu_overhead_percent / 100
        return h + c - h * c
    return c
