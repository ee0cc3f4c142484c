"""JSON of the analyses (isolation, failures, lifecycle, cost), one entry per substrate.

Part of ``underlay compare --json`` / ``underlay analyze --json``; the layout is documented
in docs/json.md and stable within the schema version.
"""

from __future__ import annotations

from typing import Any

from underlay.analysis.cost import CostParts, SubstrateCost
from underlay.analysis.failures import SubstrateFailures
from underlay.analysis.isolation import SubstrateIsolation
from underlay.analysis.lifecycle import SubstrateLifecycle
from underlay.analysis.results import Analysis

__all__ = ["analysis_entries"]


def _num(x: float, digits: int = 4) -> float:
    return round(float(x), digits)


def _isolation(s: SubstrateIsolation) -> dict[str, Any]:
    return {
        "kernels": s.kernels,
        "tenants_per_kernel_max": s.tenants_per_kernel_max,
        "tenants_per_host_max": s.tenants_per_host_max,
        "escapes": [
            {
                "kind": b.escape,
                "per_year": _num(b.per_year),
                "tenants_exposed_mean": _num(b.tenants_exposed_mean),
                "tenants_exposed_max": b.tenants_exposed_max,
                "pods_exposed_mean": _num(b.pods_exposed_mean),
                "class_exposed_percent": {
                    k: _num(v) for k, v in sorted(b.class_exposed_percent.items())
                },
                "exposes": e.exposes,
                "source": e.source,
            }
            for b, e in zip(s.blast, s.escapes, strict=True)
        ],
        "kernel_sharing": [
            {"a": e.a, "b": e.b, "kernels": e.kernels, "hosts": e.hosts, "racks": e.racks}
            for e in s.edges
        ],
        "violations": [
            {
                "rule": v.rule,
                "level": v.level,
                "tenant": v.tenant,
                "tenant_class": v.tenant_class,
                "other": v.other,
                "other_class": v.other_class,
                "shared": v.shared,
            }
            for v in s.violations
        ],
        "exposure_incidents_per_year": _num(s.incidents_per_year),
        "tenants": [
            {
                "name": t.name,
                "isolation": t.isolation,
                "kernels": t.kernels,
                "shares_kernel_with": t.shares_kernel_with,
                "shares_host_with": t.shares_host_with,
                "violations": t.violations,
                "exposure": {
                    "incidents_per_year": _num(t.incidents_per_year),
                    "exposed_pods_per_year": _num(t.exposed_pods_per_year),
                    "by_escape": {k: _num(v) for k, v in sorted(t.by_escape.items())},
                },
                "blast_radius_from_its_pods": {
                    "tenants_mean": _num(t.blast_tenants_mean),
                    "pods_mean": _num(t.blast_pods_mean),
                },
            }
            for t in s.tenants
        ],
        "notes": s.notes,
    }


def _failures(s: SubstrateFailures) -> dict[str, Any]:
    return {
        "trials": s.trials,
        "years": s.years,
        "seed": s.seed,
        "hosts": s.hosts,
        "racks": s.racks,
        "zones": s.zones,
        "failures_per_year": {k: _num(v) for k, v in sorted(s.failures_per_year.items())},
        "recovery_hours": {k: _num(v) for k, v in sorted(s.recovery_hours.items())},
        "tenants_touched_per_host_failure": {
            "mean": _num(s.tenants_touched_mean),
            "max": s.tenants_touched_max,
            "hosts_by_tenants_touched": {
                str(k): v for k, v in sorted(s.tenants_touched_hosts.items())
            },
        },
        "hardware_share": _num(s.hardware_share),
        "host_failures_hardware_share": _num(s.host_failures_hardware_share),
        "host_failures_restartable": _num(s.host_failures_restartable),
        "rack_failures_restartable": _num(s.rack_failures_restartable),
        "headroom": {
            "host_model": s.headroom_model,
            "hosts_for_one_host_failure": s.headroom_hosts_host,
            "hosts_for_one_rack_failure": s.headroom_hosts_rack,
        },
        "tenants": [
            {
                "name": t.name,
                "pods": t.pods,
                "hosts": t.hosts,
                "sla_percent": t.sla_percent,
                "availability": {
                    "mean": _num(t.availability_mean, 6),
                    "p5": _num(t.availability_p5, 6),
                },
                "sla_probability": _num(t.sla_probability),
                "pod_hours_lost": {
                    "mean": _num(t.pod_hours_lost_mean),
                    "expected_by_domain": {
                        k: _num(v) for k, v in sorted(t.pod_hours_lost_expected.items())
                    },
                    "expected_host_by_kind": {
                        k: _num(v) for k, v in sorted(t.pod_hours_lost_expected_host.items())
                    },
                },
                "pods_per_host_failure": _num(t.pods_per_host_failure),
                "pods_stranded_per_host_failure": _num(t.pods_stranded_per_host_failure),
                "pods_stranded_by": {k: _num(v) for k, v in sorted(t.pods_stranded_by.items())},
                "notes": t.notes,
            }
            for t in s.tenants
        ],
        "notes": s.notes,
    }


def _lifecycle(s: SubstrateLifecycle) -> dict[str, Any]:
    return {
        "start": s.start.isoformat(),
        "end": s.end.isoformat(),
        "months": s.months,
        "shared_cadence_months": s.shared_cadence_months,
        "upgrade_events": s.upgrade_events,
        "control_plane_steps": s.control_plane_steps,
        "node_rolls": s.node_rolls,
        "forced_upgrades": s.forced_upgrades,
        "months_out_of_support": _num(s.months_out_of_support),
        "tenants_out_of_support": s.tenants_out_of_support,
        "versions_per_host_max": s.versions_per_host_max,
        "pods_disrupted": s.pods_disrupted,
        "pods_waiting": s.pods_waiting,
        "drain_hours": _num(s.drain_hours),
        "surge_hosts_needed": s.surge_hosts_needed,
        "clusters_without_surge_room": s.clusters_without_surge_room,
        "blocked_drains": s.blocked_drains,
        "events": [
            {
                "date": e.date.isoformat(),
                "cluster": e.cluster,
                "tenants": e.tenants,
                "from": e.from_version,
                "to": e.to_version,
                "control_plane_steps": e.control_plane_steps,
                "node_rolls": e.node_rolls,
                "pods_disrupted": e.pods_disrupted,
                "pods_waiting": e.pods_waiting,
                "drain_hours": _num(e.drain_hours),
                "blocked_drains": e.blocked_drains,
            }
            for e in s.events
        ],
        "tenants": [
            {
                "name": t.name,
                "support": t.support,
                "wanted_version": t.wanted_version,
                "upgrade_cadence_months": t.upgrade_cadence_months,
                "final_version": t.final_version,
                "own_final_version": t.own_final_version,
                "upgrade_events": t.upgrade_events,
                "forced_upgrades": t.forced_upgrades,
                "control_plane_steps": t.control_plane_steps,
                "node_rolls": t.node_rolls,
                "months_out_of_support": _num(t.months_out_of_support),
                "months_off_own_version": t.months_off_own_version,
                "pods_disrupted": t.pods_disrupted,
                "pods_waiting": t.pods_waiting,
                "drain_hours": _num(t.drain_hours),
                "blocked_drains": t.blocked_drains,
                "version_by_month": t.version_by_month,
            }
            for t in s.tenants
        ],
        "notes": s.notes,
    }


def _parts(c: CostParts) -> dict[str, float]:
    return {
        "capex": _num(c.capex, 2),
        "power": _num(c.power, 2),
        "licences": _num(c.licences, 2),
        "ops_hosts": _num(c.ops_hosts, 2),
        "ops_clusters": _num(c.ops_clusters, 2),
        "total": _num(c.total, 2),
    }


def _cost(s: SubstrateCost) -> dict[str, Any]:
    return {
        "power_basis": s.power_basis,
        "hours_per_month": s.hours_per_month,
        "horizon_hours": _num(s.horizon_hours),
        "hosts": s.hosts,
        "idle_hosts": s.idle_hosts,
        "clusters_operated": s.clusters_operated,
        "licensed_cores": s.licensed_cores,
        "per_month_usd": _parts(s.per_month),
        "horizon_usd": _parts(s.horizon),
        "watts": _num(s.watts, 1),
        "energy_kwh": {
            "per_month": _num(s.energy_kwh_per_month, 2),
            "horizon": _num(s.energy_kwh_horizon, 2),
        },
        "utilisation_mean": _num(s.utilisation_mean),
        "work_throughput_vs_baremetal": _num(s.work_throughput),
        "per_month_for_baremetal_work_usd": _num(s.cost_per_baremetal_work_usd, 2),
        "tenants": [
            {
                "name": t.name,
                "per_month_usd": _parts(t.per_month),
                "horizon_usd": _num(t.horizon_usd, 2),
                "watts": _num(t.watts, 1),
                "energy_kwh": {
                    "per_month": _num(t.energy_kwh_per_month, 2),
                    "horizon": _num(t.energy_kwh_horizon, 2),
                },
                "pods_placed": t.pods_placed,
                "sla_met_pod_hours": None
                if t.sla_met_pod_hours is None
                else _num(t.sla_met_pod_hours, 2),
                "cost_per_sla_met_pod_hour_usd": None
                if t.cost_per_sla_met_pod_hour_usd is None
                else _num(t.cost_per_sla_met_pod_hour_usd, 6),
            }
            for t in s.tenants
        ],
        "notes": s.notes,
    }


def analysis_entries(analysis: Analysis) -> list[dict[str, Any]]:
    """Per substrate, the keys to add to its entry: one per analysed section."""
    out = []
    for a in analysis.substrates:
        entry: dict[str, Any] = {}
        if a.isolation is not None:
            entry["isolation"] = _isolation(a.isolation)
        if a.failures is not None:
            entry["failures"] = _failures(a.failures)
        if a.lifecycle is not None:
            entry["lifecycle"] = _lifecycle(a.lifecycle)
        if a.cost is not None:
            entry["cost"] = _cost(a.cost)
        out.append(entry)
    return out
