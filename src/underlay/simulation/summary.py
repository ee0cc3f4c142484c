"""A simulation's measures summed up: per tenant in hours and percentages, per substrate.

Also the work a pod does per unit of what the simulation does not model
(:func:`class_throughput`: storage IOPS, the GPU mode's efficiency) and the network
latency a substrate adds, both reported beside the simulated figures; in a hybrid each
workload's from its own part's substrate, so a tenant gets what it would get on that
substrate alone.
"""

from __future__ import annotations

import time

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Sandboxed, Scenario, Vm, Workload
from underlay.placement.gpus import gpu_efficiency, gpu_mode
from underlay.placement.part_substrates import (
    distinct_substrates,
    each_workload_substrate,
    tenant_mean,
    tenant_substrates,
)
from underlay.placement.result import SubstratePlacement
from underlay.simulation.host_load import HostFigures
from underlay.simulation.pods import PodTable
from underlay.simulation.results import SubstrateSimulation, TenantSimulation

__all__ = [
    "class_throughput",
    "latency_add",
    "summarise",
    "tenant_latency_add",
    "tenant_throughput",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def tenant_throughput(
    substrate: object,
    defaults: Defaults,
    placement: SubstratePlacement,
    pods: PodTable,
    t_count: int,
) -> F64:
    """Per tenant, the replica-weighted mean of :func:`class_throughput`, each workload on
    its own substrate (a hybrid's: its part's)."""
    subs = each_workload_substrate(substrate, placement)
    per_w = np.array(
        [
            class_throughput(s, defaults, w.workload)
            for s, w in zip(subs, placement.workloads, strict=True)
        ],
        np.float64,
    )
    reps = np.bincount(pods.workload, minlength=len(placement.workloads)).astype(np.float64)
    return tenant_mean(per_w, [reps], _tenant_of(placement), np.ones(t_count))


def tenant_latency_add(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    pods: PodTable,
) -> F64:
    """Per tenant, the network latency its substrate adds per request (µs): in a hybrid
    the mean of its workloads' parts' figures, weighted by its latency-sensitive pods
    (class ``network-latency``), by all its pods when it has none (by workload when it
    has no pod; a tenant without workloads: its tenant rule's part)."""
    substrate = scenario.substrate(placement.name)
    subs, code = distinct_substrates(each_workload_substrate(substrate, placement))
    per_w = np.array([latency_add(s, defaults) for s in subs], np.float64)[code]
    reps = np.bincount(pods.workload, minlength=len(placement.workloads)).astype(np.float64)
    sensitive = np.array(
        [w.workload.workload_class == "network-latency" for w in placement.workloads], bool
    )
    fallback = np.array(
        [latency_add(s, defaults) for s in tenant_substrates(scenario, substrate)], np.float64
    )
    weights = [reps * sensitive, reps, np.ones(len(reps))]
    return tenant_mean(per_w, weights, _tenant_of(placement), fallback)


def _tenant_of(placement: SubstratePlacement) -> I64:
    return np.array([w.tenant_index for w in placement.workloads], np.int64)


def summarise(
    scenario: Scenario,
    placement: SubstratePlacement,
    pods: PodTable,
    node: I64,
    acc: dict[str, F64],
    latency: list[tuple[float, float]],
    interference: F64,
    hosts: HostFigures,
    lat_add: F64,
    started: float,
    throughput: F64,
) -> SubstrateSimulation:
    """The measures' results, in hours and percentages."""
    steps, step_h = scenario.simulation.steps, scenario.simulation.step_minutes / 60.0
    to_core_h = step_h / 1000.0  # millicore-steps → core-hours
    unplaced = np.bincount(pods.tenant[node < 0], minlength=len(scenario.tenants))
    tenants = []
    for t, ten in enumerate(scenario.tenants):
        within = acc["demand"][t] - acc["throttled"][t]
        unmet = sum(acc[k][t] for k in ("contention", "ready", "killed", "capped", "unplaced"))
        pod_steps = max(acc["pod_steps"][t], 1.0)

        def pct(x: float, of: float = within) -> float:
            return 100.0 * x / of if of > 0 else 0.0

        tenants.append(
            TenantSimulation(
                name=ten.name,
                demand_core_hours=acc["demand"][t] * to_core_h,
                granted_core_hours=acc["granted"][t] * to_core_h,
                unmet_core_hours=unmet * to_core_h,
                unmet_percent=pct(unmet),
                contention_core_hours=acc["contention"][t] * to_core_h,
                cpu_ready_core_hours=acc["ready"][t] * to_core_h,
                cpu_ready_percent=pct(acc["ready"][t]),
                killed_core_hours=acc["killed"][t] * to_core_h,
                sandbox_cap_core_hours=acc["capped"][t] * to_core_h,
                unplaced_core_hours=acc["unplaced"][t] * to_core_h,
                unmet_pod_hours=acc["unmet_steps"][t] * step_h,
                throttled_pod_hours=acc["throttled_steps"][t] * step_h,
                throttled_core_hours=acc["throttled"][t] * to_core_h,
                oom_kills=int(acc["oom"][t]),
                evictions=int(acc["evict"][t]),
                risk_percent=100.0 * acc["risk_steps"][t] / pod_steps
                if acc["pod_steps"][t]
                else 0.0,
                latency_inflation_p50=latency[t][0],
                latency_inflation_p95=latency[t][1],
                latency_add_us=float(lat_add[t]),
                sla_target_percent=ten.sla.cpu_satisfaction_percent,
                sla_attainment_percent=100.0 * acc["sla_ok"][t] / steps,
                slowdown_core_hours=acc["slow"][t] * to_core_h,
                slowdown_percent=pct(acc["slow"][t], acc["granted"][t]),
                throughput_percent=100.0 * float(throughput[t]),
                unplaced_pods=int(unplaced[t]),
                gpu_demand_hours=acc["gpu_demand"][t] * to_core_h,
                gpu_unmet_percent=pct(
                    acc["gpu_demand"][t] - acc["gpu_granted"][t], acc["gpu_demand"][t]
                ),
            )
        )
    return SubstrateSimulation(
        name=placement.name,
        kind=placement.kind,
        steps=steps,
        step_minutes=scenario.simulation.step_minutes,
        tenants=tenants,
        slatah_percent=hosts.slatah_percent,
        host_utilisation_mean=hosts.util_mean,
        host_utilisation_p95=hosts.util_p95,
        interference_core_hours=interference * to_core_h,
        seconds=time.perf_counter() - started,
        host_power_weights=hosts.power_weights,
    )


def latency_add(substrate: object, defaults: Defaults) -> float:
    """Network round-trip latency the substrate adds, µs per request."""
    if isinstance(substrate, Vm):
        return defaults.hypervisors[substrate.hypervisor].network_latency_add_us
    if isinstance(substrate, Sandboxed):
        return defaults.sandbox_runtimes[substrate.runtime].network_latency_add_us
    return 0.0


def class_throughput(substrate: object, defaults: Defaults, workload: Workload) -> float:
    """Work a pod of ``workload`` does per unit of what the simulation does not model, vs
    bare metal: ``storage-io`` at the storage IOPS factor, GPU classes at the efficiency of
    the GPU mode its share is given in (:mod:`underlay.placement.gpus`: passthrough, vGPU,
    MIG or time-slicing), everything else 1.

    The CPU tax is *not* here: the simulation has already charged it as extra CPU demand
    (:func:`~underlay.placement.overheads.cpu_tax`), so dividing by it again would count it
    twice.
    """
    if workload.workload_class == "storage-io":
        if isinstance(substrate, Vm):
            return defaults.hypervisors[substrate.hypervisor].storage_iops_factor
        if isinstance(substrate, Sandboxed):
            return defaults.sandbox_runtimes[substrate.runtime].storage_iops_factor
        return 1.0
    if workload.workload_class.startswith("gpu-"):
        return gpu_efficiency(substrate, defaults, gpu_mode(substrate, workload) or "baremetal")
    return 1.0
