"""JSON of the analyses (isolation, failures, lifecycle, cost), one entry per substrate.

Part of ``underlay compare --json`` / ``underlay analyze --json``; the layout is documented
in docs/json.md and stable within the schema version. Each entry is declared as fields
(:mod:`underlay.report.json_fields`): key, source attribute, rounding.
"""

from __future__ import annotations

from typing import Any

from underlay.analysis.failures import SubstrateFailures
from underlay.analysis.isolation import SubstrateIsolation
from underlay.analysis.results import Analysis
from underlay.report.json_fields import (
    Field,
    attr,
    each,
    group,
    num,
    of,
    record,
    rounded,
    same,
    sorted_map,
)

__all__ = ["COST", "FAILURES", "ISOLATION", "LIFECYCLE", "analysis_entries"]


def _escapes(s: SubstrateIsolation) -> list[dict[str, Any]]:
    # one entry per kind of escape: its blast radius here, with the cited rate's source
    return [
        {
            "kind": b.escape,
            "per_year": num(b.per_year),
            "tenants_exposed_mean": num(b.tenants_exposed_mean),
            "tenants_exposed_max": b.tenants_exposed_max,
            "pods_exposed_mean": num(b.pods_exposed_mean),
            "class_exposed_percent": {
                k: num(v) for k, v in sorted(b.class_exposed_percent.items())
            },
            "exposes": e.exposes,
            "source": e.source,
        }
        for b, e in zip(s.blast, s.escapes, strict=True)
    ]


ISOLATION: list[Field] = [
    *same("kernels", "tenants_per_kernel_max", "tenants_per_host_max"),
    Field("escapes", _escapes),
    each("kernel_sharing", "edges", same("a", "b", "kernels", "hosts", "racks")),
    each(
        "violations",
        "violations",
        same("rule", "level", "tenant", "tenant_class", "other", "other_class", "shared"),
    ),
    attr("exposure_incidents_per_year", "incidents_per_year", 4),
    each(
        "tenants",
        "tenants",
        [
            *same(
                "name",
                "isolation",
                "kernels",
                "shares_kernel_with",
                "shares_host_with",
                "violations",
            ),
            group(
                "exposure",
                [
                    *rounded(4, "incidents_per_year", "exposed_pods_per_year"),
                    sorted_map("by_escape", "by_escape"),
                ],
            ),
            group(
                "blast_radius_from_its_pods",
                [
                    attr("tenants_mean", "blast_tenants_mean", 4),
                    attr("pods_mean", "blast_pods_mean", 4),
                ],
            ),
        ],
    ),
    *same("notes"),
]


def _touched(s: SubstrateFailures) -> dict[str, Any]:
    hosts = {str(k): v for k, v in sorted(s.tenants_touched_hosts.items())}
    return {
        "mean": num(s.tenants_touched_mean),
        "max": s.tenants_touched_max,
        "hosts_by_tenants_touched": hosts,
    }


FAILURES: list[Field] = [
    *same("trials", "years", "seed", "hosts", "racks", "zones"),
    sorted_map("failures_per_year", "failures_per_year"),
    sorted_map("recovery_hours", "recovery_hours"),
    Field(
        "recovery_hours_by_part",
        lambda s: {
            part: {k: num(v) for k, v in sorted(hours.items())}
            for part, hours in s.recovery_hours_by_part.items()
        },
    ),
    Field("tenants_touched_per_host_failure", _touched),
    *rounded(
        4,
        "hardware_share",
        "host_failures_hardware_share",
        "host_failures_restartable",
        "rack_failures_restartable",
    ),
    group(
        "headroom",
        [
            attr("host_model", "headroom_model"),
            attr("hosts_for_one_host_failure", "headroom_hosts_host"),
            attr("hosts_for_one_rack_failure", "headroom_hosts_rack"),
        ],
    ),
    each(
        "tenants",
        "tenants",
        [
            *same("name", "pods", "hosts", "sla_percent"),
            group(
                "availability",
                [attr("mean", "availability_mean", 6), attr("p5", "availability_p5", 6)],
            ),
            *rounded(4, "sla_probability"),
            group(
                "pod_hours_lost",
                [
                    attr("mean", "pod_hours_lost_mean", 4),
                    sorted_map("expected_by_domain", "pod_hours_lost_expected"),
                    sorted_map("expected_host_by_kind", "pod_hours_lost_expected_host"),
                ],
            ),
            *rounded(4, "pods_per_host_failure", "pods_stranded_per_host_failure"),
            sorted_map("pods_stranded_by", "pods_stranded_by"),
            *same("notes"),
        ],
    ),
    *same("notes"),
]


def _iso(name: str) -> Field:
    return Field(name, lambda obj: getattr(obj, name).isoformat())


LIFECYCLE: list[Field] = [
    _iso("start"),
    _iso("end"),
    *same(
        "months",
        "shared_cadence_months",
        "upgrade_events",
        "control_plane_steps",
        "node_rolls",
        "forced_upgrades",
    ),
    *rounded(4, "months_out_of_support"),
    *same("tenants_out_of_support", "versions_per_host_max", "pods_disrupted", "pods_waiting"),
    *rounded(4, "drain_hours"),
    *same("surge_hosts_needed", "clusters_without_surge_room", "blocked_drains"),
    each(
        "events",
        "events",
        [
            _iso("date"),
            *same("cluster", "tenants"),
            attr("from", "from_version"),
            attr("to", "to_version"),
            *same("control_plane_steps", "node_rolls", "pods_disrupted", "pods_waiting"),
            *rounded(4, "drain_hours"),
            *same("blocked_drains"),
        ],
    ),
    each(
        "tenants",
        "tenants",
        [
            *same(
                "name",
                "support",
                "wanted_version",
                "upgrade_cadence_months",
                "final_version",
                "own_final_version",
                "upgrade_events",
                "forced_upgrades",
                "control_plane_steps",
                "node_rolls",
            ),
            *rounded(4, "months_out_of_support"),
            *same("months_off_own_version", "pods_disrupted", "pods_waiting"),
            *rounded(4, "drain_hours"),
            *same("blocked_drains", "version_by_month"),
        ],
    ),
    *same("notes"),
]

_PARTS = rounded(2, "capex", "power", "licences", "ops_hosts", "ops_clusters", "total")

COST: list[Field] = [
    *same("power_basis", "hours_per_month"),
    *rounded(4, "horizon_hours"),
    *same("hosts", "idle_hosts", "clusters_operated", "licensed_cores"),
    of("per_month_usd", "per_month", _PARTS),
    of("horizon_usd", "horizon", _PARTS),
    *rounded(1, "watts"),
    group(
        "energy_kwh",
        [attr("per_month", "energy_kwh_per_month", 2), attr("horizon", "energy_kwh_horizon", 2)],
    ),
    *rounded(4, "utilisation_mean"),
    attr("work_throughput_vs_baremetal", "work_throughput", 4),
    attr("per_month_for_baremetal_work_usd", "cost_per_baremetal_work_usd", 2),
    each(
        "tenants",
        "tenants",
        [
            *same("name"),
            of("per_month_usd", "per_month", _PARTS),
            attr("horizon_usd", "horizon_usd", 2),
            *rounded(1, "watts"),
            group(
                "energy_kwh",
                [
                    attr("per_month", "energy_kwh_per_month", 2),
                    attr("horizon", "energy_kwh_horizon", 2),
                ],
            ),
            *same("pods_placed"),
            attr("sla_met_pod_hours", "sla_met_pod_hours", 2, optional=True),
            attr(
                "cost_per_sla_met_pod_hour_usd",
                "cost_per_sla_met_pod_hour_usd",
                6,
                optional=True,
            ),
        ],
    ),
    *same("notes"),
]

_SECTIONS = {"isolation": ISOLATION, "failures": FAILURES, "lifecycle": LIFECYCLE, "cost": COST}


def analysis_entries(analysis: Analysis) -> list[dict[str, Any]]:
    """Per substrate, the keys to add to its entry: one per analysed section."""
    out = []
    for a in analysis.substrates:
        entry: dict[str, Any] = {}
        for key, fields in _SECTIONS.items():
            result = getattr(a, key)
            if result is not None:
                entry[key] = record(fields, result)
        out.append(entry)
    return out
