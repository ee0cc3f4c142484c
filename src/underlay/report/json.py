"""JSON output of ``underlay compare --json``; the schema is documented in docs/json.md.

The layout is stable within a ``schema_version``: fields may be added, never renamed or
removed, without bumping it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from underlay.analysis.capacity_results import ResourceTotals, SubstrateCapacity
from underlay.analysis.results import Analysis, Comparison
from underlay.simulation.results import Simulation, SubstrateSimulation

__all__ = ["SCHEMA_VERSION", "comparison_to_dict"]

SCHEMA_VERSION = 1


def _res(r: ResourceTotals) -> dict[str, float]:
    return {
        "cpu_milli": round(r.cpu_milli, 3),
        "memory_mib": round(r.memory_mib, 3),
        "gpu_milli": round(r.gpu_milli, 3),
    }


def _substrate(s: SubstrateCapacity) -> dict[str, Any]:
    return {
        "name": s.name,
        "kind": s.kind,
        "sized_by_underlay": s.sizing,
        "hosts": {
            "total": s.hosts,
            "worker": s.hosts_worker,
            "control_plane": s.hosts_control_plane,
            "lower_bound": s.hosts_lower_bound,
            # null when pods are unplaced: the bound is for placing every pod
            "packing_ratio": round(s.packing_ratio, 4) if s.pods_placed == s.pods else None,
            "idle": s.hosts_idle,
        },
        "nodes": s.nodes,
        "vms": s.vms,
        "control_plane_machines": s.control_plane_machines,
        "control_plane_modes": dict(sorted(s.control_plane_modes.items())),
        "capacity": _res(s.capacity),
        "allocated": _res(s.allocated),
        "burst_room": _res(s.burst_room),
        "overhead": {k: _res(v) for k, v in sorted(s.overhead.items())},
        "stranded": {k: _res(v) for k, v in sorted(s.stranded.items())},
        "kubernetes_versions_per_host": {
            "max": s.versions_per_host_max,
            "mean": round(s.versions_per_host_mean, 4),
        },
        "tenants_per_kernel_max": s.tenants_per_kernel_max,
        "tenants_per_host_max": s.tenants_per_host_max,
        "cost_per_month_usd": {
            "capex": round(s.cost_capex, 2),
            "power": round(s.cost_power, 2),
            "licences": round(s.cost_licences, 2),
            "total": round(s.cost_per_month_usd, 2),
        },
        "power_watts": round(s.watts, 1),
        "throughput_vs_baremetal": {
            "cpu": round(s.cpu_efficiency, 4),
            "gpu": round(s.gpu_efficiency, 4),
        },
        "pods": {"requested": s.pods, "placed": s.pods_placed},
        "unplaced": [asdict(u) for u in s.unplaced],
        "tenants": [
            {
                "name": t.name,
                "isolation": t.isolation,
                "kubernetes_version": {"wanted": t.wanted_version, "running": t.running_version},
                "pods": {"requested": t.pods, "placed": t.pods_placed},
                "allocated": _res(t.allocated),
                "nodes": t.nodes,
                "hosts": t.hosts,
                "control_plane_machines": t.control_plane_machines,
                "control_plane": t.control_plane,
                "shares_kernel_with": t.shares_kernel_with,
                "shares_hosts_with": t.shares_hosts_with,
                "cost_per_month_usd": round(t.cost_per_month_usd, 2),
            }
            for t in s.tenants
        ],
        "notes": s.notes,
    }


def _simulated(r: SubstrateSimulation, names: list[str]) -> dict[str, Any]:
    def num(x: float) -> float:
        return round(float(x), 4)

    return {
        "steps": r.steps,
        "step_minutes": r.step_minutes,
        "slatah_percent": num(r.slatah_percent),
        "host_cpu_utilisation": {
            "mean": num(r.host_utilisation_mean.mean()) if r.steps else 0.0,
            "p95_peak": num(r.host_utilisation_p95.max()) if r.steps else 0.0,
        },
        "who_hurt_whom": [
            {"victim": v, "culprit": c, "core_hours": num(h)}
            for v, c, h in r.who_hurt_whom(names, top=20)
        ],
        "tenants": [
            {
                "name": t.name,
                "cpu_core_hours": {
                    "demand": num(t.demand_core_hours),
                    "granted": num(t.granted_core_hours),
                    "unmet": num(t.unmet_core_hours),
                    "throttled": num(t.throttled_core_hours),
                    "slowdown": num(t.slowdown_core_hours),
                },
                "unmet_core_hours": {
                    "contention": num(t.contention_core_hours),
                    "cpu_ready": num(t.cpu_ready_core_hours),
                    "killed": num(t.killed_core_hours),
                    "sandbox_cap": num(t.sandbox_cap_core_hours),
                    "unplaced": num(t.unplaced_core_hours),
                },
                "unmet_percent": num(t.unmet_percent),
                "slowdown_percent": num(t.slowdown_percent),
                "unmet_pod_hours": num(t.unmet_pod_hours),
                "throttled_pod_hours": num(t.throttled_pod_hours),
                "oom_kills": t.oom_kills,
                "evictions": t.evictions,
                "cpu_ready_percent": num(t.cpu_ready_percent),
                "risk_percent": num(t.risk_percent),
                "latency_inflation": {
                    "p50": num(t.latency_inflation_p50),
                    "p95": num(t.latency_inflation_p95),
                    "network_add_us": num(t.latency_add_us),
                },
                "sla": {
                    "target_percent": num(t.sla_target_percent),
                    "attainment_percent": num(t.sla_attainment_percent),
                },
                "unplaced_pods": t.unplaced_pods,
                "throughput_percent": num(t.throughput_percent),
                "gpu": {
                    "demand_hours": num(t.gpu_demand_hours),
                    "unmet_percent": num(t.gpu_unmet_percent),
                },
            }
            for t in r.tenants
        ],
    }


def comparison_to_dict(
    result: Comparison, simulation: Simulation | None = None, analysis: Analysis | None = None
) -> dict[str, Any]:
    """The whole comparison (with the simulation and the analyses, when given) as JSON-ready
    data."""
    sc = result.scenario
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "scenario": sc.name,
        "strategy": sc.placement.strategy,
        "substrates": [_substrate(s) for s in result.substrates],
    }
    if simulation is not None:
        names = [t.name for t in sc.tenants]
        out["simulation"] = {
            "horizon_hours": sc.simulation.horizon_hours,
            "step_minutes": sc.simulation.step_minutes,
            "seed": simulation.seed,
        }
        for entry, r in zip(out["substrates"], simulation.results, strict=True):
            entry["simulation"] = _simulated(r, names)
    if analysis is not None:
        from underlay.report.json_analysis import analysis_entries

        out["analysis"] = {
            "sections": list(analysis.sections),
            "failure_seed": analysis.failure_seed,
        }
        for entry, extra in zip(out["substrates"], analysis_entries(analysis), strict=True):
            entry.update(extra)
    return out
