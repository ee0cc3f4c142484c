"""JSON output of ``underlay compare --json``; the schema is documented in docs/json.md.

The layout is stable within a ``schema_version``: fields may be added, never renamed or
removed, without bumping it. Each record is declared as fields
(:mod:`underlay.report.json_fields`): key, source attribute, rounding.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from underlay.analysis.capacity_results import ResourceTotals, SubstrateCapacity
from underlay.analysis.results import Analysis, Comparison
from underlay.model.measured import MeasuredDefaults
from underlay.report.json_fields import Field, each, group, num, record, renamed, rounded, same
from underlay.simulation.results import Simulation, SubstrateSimulation

__all__ = ["SCHEMA_VERSION", "SIMULATED", "SUBSTRATE", "comparison_to_dict"]

SCHEMA_VERSION = 1


def _res(r: ResourceTotals) -> dict[str, float]:
    return {
        "cpu_milli": round(r.cpu_milli, 3),
        "memory_mib": round(r.memory_mib, 3),
        "gpu_milli": round(r.gpu_milli, 3),
    }


def _kept(key: str, name: str, digits: int) -> Field:
    """``round`` as Python rounds the attribute's own type (an int stays an int)."""
    return Field(key, lambda obj: round(getattr(obj, name), digits))


def _resources(key: str, name: str) -> Field:
    return Field(key, lambda obj: _res(getattr(obj, name)))


def _by_kind(key: str, name: str) -> Field:
    return Field(key, lambda obj: {k: _res(v) for k, v in sorted(getattr(obj, name).items())})


def _packing_ratio(s: SubstrateCapacity) -> float | None:
    # null when pods are unplaced: the bound is for placing every pod
    return round(s.packing_ratio, 4) if s.pods_placed == s.pods else None


_TENANT: list[Field] = [
    *same("name", "isolation"),
    group("kubernetes_version", renamed(wanted="wanted_version", running="running_version")),
    group("pods", renamed(requested="pods", placed="pods_placed")),
    _resources("allocated", "allocated"),
    *same(
        "nodes",
        "hosts",
        "control_plane_machines",
        "control_plane",
        "shares_kernel_with",
        "shares_hosts_with",
    ),
    _kept("cost_per_month_usd", "cost_per_month_usd", 2),
    group(
        "throughput_vs_baremetal",
        [_kept("cpu", "cpu_efficiency", 4), _kept("gpu", "gpu_efficiency", 4)],
    ),
]

SUBSTRATE: list[Field] = [
    *same("name", "kind"),
    Field("sized_by_underlay", lambda s: s.sizing),
    group(
        "hosts",
        [
            *renamed(
                total="hosts",
                worker="hosts_worker",
                control_plane="hosts_control_plane",
                lower_bound="hosts_lower_bound",
            ),
            Field("packing_ratio", _packing_ratio),
            *renamed(idle="hosts_idle"),
        ],
    ),
    *same("nodes", "vms", "control_plane_machines"),
    Field("control_plane_modes", lambda s: dict(sorted(s.control_plane_modes.items()))),
    _resources("capacity", "capacity"),
    _resources("allocated", "allocated"),
    _resources("burst_room", "burst_room"),
    _by_kind("overhead", "overhead"),
    _by_kind("stranded", "stranded"),
    group(
        "kubernetes_versions_per_host",
        [*renamed(max="versions_per_host_max"), _kept("mean", "versions_per_host_mean", 4)],
    ),
    *same("tenants_per_kernel_max", "tenants_per_host_max"),
    group(
        "cost_per_month_usd",
        [
            _kept("capex", "cost_capex", 2),
            _kept("power", "cost_power", 2),
            _kept("licences", "cost_licences", 2),
            _kept("total", "cost_per_month_usd", 2),
        ],
    ),
    _kept("power_watts", "watts", 1),
    group(
        "throughput_vs_baremetal",
        [_kept("cpu", "cpu_efficiency", 4), _kept("gpu", "gpu_efficiency", 4)],
    ),
    group("pods", renamed(requested="pods", placed="pods_placed")),
    Field("unplaced", lambda s: [asdict(u) for u in s.unplaced]),
    each("tenants", "tenants", _TENANT),
    *same("notes"),
]

_SIMULATED_TENANT: list[Field] = [
    *same("name"),
    group(
        "cpu_core_hours",
        renamed(
            4,
            demand="demand_core_hours",
            granted="granted_core_hours",
            unmet="unmet_core_hours",
            throttled="throttled_core_hours",
            slowdown="slowdown_core_hours",
        ),
    ),
    group(
        "unmet_core_hours",
        renamed(
            4,
            contention="contention_core_hours",
            cpu_ready="cpu_ready_core_hours",
            killed="killed_core_hours",
            sandbox_cap="sandbox_cap_core_hours",
            unplaced="unplaced_core_hours",
        ),
    ),
    *rounded(4, "unmet_percent", "slowdown_percent", "unmet_pod_hours", "throttled_pod_hours"),
    *same("oom_kills", "evictions"),
    *rounded(4, "cpu_ready_percent", "risk_percent"),
    group(
        "latency_inflation",
        renamed(
            4,
            p50="latency_inflation_p50",
            p95="latency_inflation_p95",
            network_add_us="latency_add_us",
        ),
    ),
    group(
        "sla",
        renamed(
            4, target_percent="sla_target_percent", attainment_percent="sla_attainment_percent"
        ),
    ),
    *same("unplaced_pods"),
    *rounded(4, "throughput_percent"),
    group("gpu", renamed(4, demand_hours="gpu_demand_hours", unmet_percent="gpu_unmet_percent")),
]


def _utilisation(r: SubstrateSimulation) -> dict[str, float]:
    return {
        "mean": num(r.host_utilisation_mean.mean()) if r.steps else 0.0,
        "p95_peak": num(r.host_utilisation_p95.max()) if r.steps else 0.0,
    }


SIMULATED: list[Field] = [
    *same("steps", "step_minutes"),
    *rounded(4, "slatah_percent"),
    Field("host_cpu_utilisation", _utilisation),
]


def _simulated(r: SubstrateSimulation, names: list[str]) -> dict[str, Any]:
    """:data:`SIMULATED`, who hurt whom (it needs the tenants' names) and the tenants."""
    out = record(SIMULATED, r)
    out["who_hurt_whom"] = [
        {"victim": v, "culprit": c, "core_hours": num(h)}
        for v, c, h in r.who_hurt_whom(names, top=20)
    ]
    out["tenants"] = [record(_SIMULATED_TENANT, t) for t in r.tenants]
    return out


def _measured(m: MeasuredDefaults, overrides: dict[str, Any]) -> list[dict[str, Any]]:
    """The defaults a scenario's calibration file replaced and that are in use (those
    its ``overrides`` do not replace again)."""
    from underlay.model.calibration import numeric_defaults

    cited = numeric_defaults()
    return [
        {
            "default": f.path,
            "value": f.value,
            "cited": cited[f.path],
            "unit": f.unit,
            "how": f.how,
            "host": m.host,
            "measured_at": m.measured_at,
            "file": m.source,
        }
        for f in m.in_effect(overrides)
    ]


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
        "substrates": [record(SUBSTRATE, s) for s in result.substrates],
    }
    if sc.measured is not None:
        out["measured_defaults"] = _measured(sc.measured, sc.overrides)
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
