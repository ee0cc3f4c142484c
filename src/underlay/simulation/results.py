"""What the simulation measured, per substrate and per tenant (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement

__all__ = ["Simulation", "SubstrateSimulation", "TenantSimulation"]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class TenantSimulation:
    """One tenant on one substrate over the horizon.

    CPU the tenant wanted within its limits and did not get is *unmet*, whatever took it:
    ``unmet_core_hours`` is the sum of contention (other pods on its kernel), CPU-ready
    (its VM waiting for a physical core), kills (OOM and evictions), the sandbox's vCPU
    cap and pods that were never placed; ``unmet_percent`` is that sum over the demand
    within limits (placed or not).
    """

    name: str
    demand_core_hours: float  # CPU asked for (with the CPU tax), within limits and above
    granted_core_hours: float  # CPU the workloads got (a sandbox's own use excluded)
    unmet_core_hours: float  # every part below, summed
    unmet_percent: float  # of demand within limits
    contention_core_hours: float  # lost to other pods on the same kernel (CFS)
    cpu_ready_core_hours: float  # lost waiting for a physical core (VM CPU overcommit)
    cpu_ready_percent: float  # of demand within limits
    killed_core_hours: float  # wanted by pods while OOM-killed or evicted
    sandbox_cap_core_hours: float  # above a sandbox's vCPUs (a Kata guest without a CPU limit)
    unplaced_core_hours: float  # wanted by pods that were never placed
    unmet_pod_hours: float  # pod-time with some unmet demand
    throttled_pod_hours: float  # pod-time above the CPU limit
    throttled_core_hours: float
    oom_kills: int  # over their own memory limit
    evictions: int  # node memory pressure
    risk_percent: float  # pod-time on hosts over the Trimaran risk line (μ + σ ≥ capacity)
    latency_inflation_p50: float  # latency-sensitive pods; 1.0 = as on an idle host
    latency_inflation_p95: float
    latency_add_us: float  # network round-trip added by the substrate (per request)
    sla_target_percent: float  # share of CPU demand to be granted, per step
    sla_attainment_percent: float  # share of steps meeting it
    slowdown_core_hours: float  # work lost to others' cache / memory-bandwidth load
    slowdown_percent: float  # of the CPU granted
    throughput_percent: float  # work per resource vs bare metal, not simulated (I/O, GPU)
    unplaced_pods: int
    gpu_demand_hours: float = 0.0  # GPU-hours wanted (time-sliced pods: beyond their share)
    gpu_unmet_percent: float = 0.0  # of it not granted: time-sliced neighbours, no placement


@dataclass(frozen=True)
class SubstrateSimulation:
    """One substrate over the horizon."""

    name: str
    kind: str
    steps: int
    step_minutes: float
    tenants: list[TenantSimulation]
    slatah_percent: float  # Beloglazov: share of active host time at 100 % CPU
    host_utilisation_mean: F64  # per step, mean over hosts
    host_utilisation_p95: F64  # per step, 95th percentile over hosts
    interference_core_hours: F64  # [victim, culprit]: CPU one tenant lost while the other burst
    seconds: float  # wall time of the simulation
    notes: list[str] = field(default_factory=list)
    # (hosts × 11): per host, the time-mean of the interpolation weights of its CPU
    # utilisation (clipped to 0–1) onto the power curve's knots at 0, 10, ..., 100 %; the
    # mean draw is weights[h] @ knots(h) exactly (underlay.simulation.power).
    host_power_weights: F64 = field(default_factory=lambda: np.zeros((0, 11)))

    def who_hurt_whom(self, names: list[str], top: int = 5) -> list[tuple[str, str, float]]:
        """The largest cross-tenant interference pairs: (victim, culprit, core-hours)."""
        m = self.interference_core_hours.copy()
        np.fill_diagonal(m, 0)
        pairs = [
            (names[v], names[c], float(m[v, c])) for v, c in zip(*np.nonzero(m > 0), strict=True)
        ]
        return sorted(pairs, key=lambda x: (-x[2], x[0], x[1]))[:top]


@dataclass(frozen=True)
class Simulation:
    """The time-stepped replay on every chosen substrate."""

    scenario: Scenario
    placements: list[SubstratePlacement]
    results: list[SubstrateSimulation]
    seed: int  # the usage models' seed this run used
