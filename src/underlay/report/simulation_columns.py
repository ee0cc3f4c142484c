"""The simulation's measures, declared as fields (title, unit, accessor) for every writer.

The rows are plain text (a worst tenant is named as given, e.g. ``12.00% ([red]x)``).
"""

from __future__ import annotations

from underlay.report.columns import Column
from underlay.simulation.results import SubstrateSimulation

__all__ = ["SIMULATION_ROWS"]


def _worst(s: SubstrateSimulation, attr: str) -> float:
    return max((getattr(t, attr) for t in s.tenants), default=0.0)


def _worst_tenant(
    s: SubstrateSimulation, attr: str, fmt: str, *, high: bool = True, fine: float = 0.0
) -> str:
    if not s.tenants:
        return "–"
    pick = max if high else min
    t = pick(s.tenants, key=lambda t: getattr(t, attr))
    value = getattr(t, attr)
    # Name the tenant only when someone is worse off than ``fine``.
    named = value > fine if high else value < fine
    return f"{fmt.format(value)} ({t.name})" if named else fmt.format(value)


def _total(s: SubstrateSimulation, attr: str) -> float:
    return float(sum(getattr(t, attr) for t in s.tenants))


SIMULATION_ROWS: list[Column[SubstrateSimulation]] = [
    Column(
        "unmet CPU", "worst", lambda s: _worst_tenant(s, "unmet_percent", "{:.2f}%", fine=0.005)
    ),
    Column(
        "SLA met",
        "worst, % steps",
        lambda s: _worst_tenant(s, "sla_attainment_percent", "{:.1f}%", high=False, fine=99.95),
    ),
    Column(
        "latency p95",
        "worst, × idle",
        lambda s: _worst_tenant(s, "latency_inflation_p95", "{:.1f}×", fine=2.0),
    ),
    Column(
        "throughput",
        "worst, vs metal",
        lambda s: f"{min((t.throughput_percent for t in s.tenants), default=100):.0f}%",
    ),
    Column("throttled", "pod-hours", lambda s: f"{_total(s, 'throttled_pod_hours'):,.0f}"),
    Column(
        "OOM kills / evictions",
        "",
        lambda s: f"{_total(s, 'oom_kills'):,.0f} / {_total(s, 'evictions'):,.0f}",
    ),
    Column("CPU-ready", "worst", lambda s: f"{_worst(s, 'cpu_ready_percent'):.2f}%"),
    Column("risk line", "worst, % time", lambda s: f"{_worst(s, 'risk_percent'):.1f}%"),
    Column("SLATAH", "% at 100 %", lambda s: f"{s.slatah_percent:.1f}%"),
    Column(
        "host CPU",
        "mean / p95 max",
        lambda s: (
            f"{100 * s.host_utilisation_mean.mean():.0f}% / {100 * s.host_utilisation_p95.max():.0f}%"
        ),
    ),
]
