"""JSON output of ``underlay compare --json``; the schema is documented in docs/json.md.

The layout is stable within a ``schema_version``: fields may be added, never renamed or
removed, without bumping it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from underlay.analysis.capacity import Resources3, SubstrateStatic
from underlay.pipeline import Comparison

__all__ = ["SCHEMA_VERSION", "comparison_to_dict"]

SCHEMA_VERSION = 1


def _res(r: Resources3) -> dict[str, float]:
    return {
        "cpu_milli": round(r.cpu_milli, 3),
        "memory_mib": round(r.memory_mib, 3),
        "gpu_milli": round(r.gpu_milli, 3),
    }


def _substrate(s: SubstrateStatic) -> dict[str, Any]:
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
        },
        "nodes": s.nodes,
        "vms": s.vms,
        "control_plane_machines": s.control_plane_machines,
        "capacity": _res(s.capacity),
        "allocated": _res(s.allocated),
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
                "shares_kernel_with": t.shares_kernel_with,
                "shares_hosts_with": t.shares_hosts_with,
                "cost_per_month_usd": round(t.cost_per_month_usd, 2),
            }
            for t in s.tenants
        ],
        "notes": s.notes,
    }


def comparison_to_dict(result: Comparison) -> dict[str, Any]:
    """The whole comparison as JSON-ready data."""
    sc = result.scenario
    return {
        "schema_version": SCHEMA_VERSION,
        "scenario": sc.name,
        "strategy": sc.placement.strategy,
        "substrates": [_substrate(s) for s in result.substrates],
    }
