"""JSON of the analyses (isolation, failures, lifecycle, cost), one entry per substrate.

Part of ``underlay compare --json`` / ``underlay analyze --json``; the layout is documented
in docs/json.md and stable within the schema version.
"""

from __future__ import annotations

from typing import Any

from underlay.analysis.isolation import SubstrateIsolation
from underlay.pipeline import Analysis

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


def analysis_entries(analysis: Analysis) -> list[dict[str, Any]]:
    """Per substrate, the keys to add to its entry: one per analysed section."""
    out = []
    for a in analysis.substrates:
        entry: dict[str, Any] = {}
        if a.isolation is not None:
            entry["isolation"] = _isolation(a.isolation)
        out.append(entry)
    return out
