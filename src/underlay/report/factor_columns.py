"""Rows of the failure, lifecycle and cost tables and their per-tenant cells, and the
rows naming each figure a decision score rests on (:data:`FACTOR_PARTS`).

Rows are plain text, figures written by the rules of :mod:`underlay.units`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from underlay.analysis.cost import SubstrateCost
from underlay.analysis.failures import SubstrateFailures
from underlay.analysis.lifecycle import SubstrateLifecycle
from underlay.decision.results import FactorScore
from underlay.report.columns import Column
from underlay.report.units import times, usd

__all__ = [
    "COST_ROWS",
    "FACTOR_PARTS",
    "FAILURE_ROWS",
    "LIFECYCLE_ROWS",
    "FactorPart",
]


def _hours(h: float) -> str:
    """Hours as minutes below one hour, else hours (``7 min``, ``48.1 h``)."""
    return f"{60 * h:.0f} min" if h < 1 else f"{h:,.1f} h"


FAILURE_ROWS: list[Column[SubstrateFailures]] = [
    Column(
        "failures a year",
        "hosts / racks / zones",
        lambda s: " / ".join(
            f"{s.failures_per_year.get(k, 0):.3g}" for k in ("host", "rack", "zone")
        ),
    ),
    Column(
        "hardware faults",
        "of host failures (repair)",
        lambda s: (
            f"{100 * s.host_failures_hardware_share:.0f}% "
            f"({_hours(s.recovery_hours.get('host_hardware_wait', 0.0))})"
        ),
    ),
    Column(
        "recovery",
        "restart / reboot / repair",
        lambda s: " / ".join(
            _hours(s.recovery_hours.get(k, 0.0))
            for k in ("restart", "host_software_wait", "host_hardware_wait")
        ),
    ),
    Column(
        "tenants one host failure hits",
        "mean (max)",
        lambda s: f"{s.tenants_touched_mean:.2f} ({s.tenants_touched_max})",
    ),
    Column(
        "host failures that restart",
        "elsewhere",
        lambda s: f"{100 * s.host_failures_restartable:.0f}%",
    ),
    Column(
        "rack failures that restart",
        "elsewhere",
        lambda s: f"{100 * s.rack_failures_restartable:.0f}%",
    ),
    Column(
        "headroom to survive",
        "1 host / 1 rack (+hosts)",
        lambda s: f"{s.headroom_hosts_host:,} / {s.headroom_hosts_rack:,}",
    ),
    Column(
        "tenants meeting SLA",
        "in most years",
        lambda s: f"{sum(t.sla_probability >= 0.5 for t in s.tenants)} of {len(s.tenants)}",
    ),
]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _surge(s: SubstrateLifecycle) -> str:
    if s.kind == "vm":
        n = s.clusters_without_surge_room
        return f"{_plural(n, 'cluster')} {'lacks' if n == 1 else 'lack'} room"
    return _plural(s.surge_hosts_needed, "host")


LIFECYCLE_ROWS: list[Column[SubstrateLifecycle]] = [
    Column("upgrade events", "cluster upgrades", lambda s: f"{s.upgrade_events:,}"),
    Column("node rolls", "", lambda s: f"{s.node_rolls:,}"),
    Column("upgrades forced", "on tenants", lambda s: f"{s.forced_upgrades:,}"),
    Column(
        "out of support",
        "tenant-months (tenants)",
        lambda s: f"{s.months_out_of_support:,.1f} ({s.tenants_out_of_support})",
    ),
    Column("versions", "per host (max)", lambda s: str(s.versions_per_host_max)),
    Column("pods disrupted", "evictions", lambda s: f"{s.pods_disrupted:,}"),
    Column("pods waiting", "no room in rolls", lambda s: f"{s.pods_waiting:,}"),
    Column("drain time", "hours", lambda s: f"{s.drain_hours:,.1f}"),
    Column("surge needed", "to roll without waiting", _surge),
    Column("drains blocked", "by a budget", lambda s: f"{len(s.blocked_drains):,}"),
]


def _usd(x: float) -> str:
    return usd(x, symbol=False)  # the unit, USD, is in the row's label


COST_ROWS: list[Column[SubstrateCost]] = [  # power at the simulated load, unlike the
    # substrate table's cost, which prices power at the requested load
    Column(
        "capex",
        "USD / month",
        lambda s: (
            _usd(s.per_month.capex)
            + (
                f" ({s.idle_hosts:,} idle owned host{'' if s.idle_hosts == 1 else 's'})"
                if s.idle_hosts
                else ""
            )
        ),
    ),
    Column("power", "USD / month", lambda s: _usd(s.per_month.power)),
    Column("licences", "USD / month", lambda s: _usd(s.per_month.licences)),
    Column(
        "operations",
        "USD / month",
        lambda s: _usd(s.per_month.ops_hosts + s.per_month.ops_clusters),
    ),
    Column("total", "USD / month", lambda s: _usd(s.per_month.total)),
    Column(
        "for bare-metal work",
        "USD / month ÷ throughput",
        lambda s: f"{_usd(s.cost_per_baremetal_work_usd)} ({100 * s.work_throughput:.0f}%)",
    ),
    Column("energy", "kWh / month", lambda s: f"{s.energy_kwh_per_month:,.0f}"),
    Column("mean draw", "W per host", lambda s: f"{s.watts / max(s.hosts, 1):,.0f}"),
    Column("power at", "utilisation", lambda s: f"{s.power_basis} {100 * s.utilisation_mean:.0f}%"),
]


@dataclass(frozen=True)
class FactorPart:
    """One figure a factor's value is made of (a key of ``FactorScore.parts``)."""

    key: str
    title: str  # in words
    text: Callable[[float], str]
    worst: str | None = None  # the key of the worst tenant's figure, if any

    def cell(self, f: FactorScore, *, worst: bool = True) -> str:
        """The figure of ``f`` ("–" where not measured), with the worst tenant's."""
        if self.key not in f.parts:
            return "–"
        out = self.text(f.parts[self.key])
        if worst and self.worst in f.parts:
            other = self.text(f.parts[self.worst])
            if other != out:
                out += f" (worst {other})"
        return out


def _pct(digits: int) -> Callable[[float], str]:
    return lambda x: f"{100 * x:.{digits}f}%"


# Per factor, the figures its value is made of (FactorScore.parts), each under its own
# name: means over the tenants (the worst tenant in brackets where kept); "–" where not
# measured (without a simulation).
FACTOR_PARTS: dict[str, list[FactorPart]] = {
    "performance": [
        FactorPart("throughput", "throughput (storage I/O, GPU)", _pct(0)),
        FactorPart("cpu_unmet", "CPU demand unmet", _pct(1), worst="cpu_unmet_worst"),
        FactorPart("gpu_unmet", "GPU time unmet (time-sliced, unplaced)", _pct(1)),
        FactorPart(
            "slowdown",
            "work lost to other tenants' cache and memory-bandwidth load",
            _pct(1),
        ),
        FactorPart(
            "latency_p95",
            "p95 latency (× an idle host)",
            times,
            worst="latency_p95_worst",
        ),
        FactorPart("pods_unplaced", "pods not placed", lambda x: f"{x:,.0f}"),
    ],
    "sla": [
        FactorPart(
            "availability_sla_probability",
            "availability SLA met (share of failure years)",
            _pct(0),
        ),
        FactorPart(
            "cpu_sla_attainment_percent",
            "CPU SLA met (share of steps)",
            lambda x: f"{x:.1f}%",
        ),
    ],
}
