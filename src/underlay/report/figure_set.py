"""The HTML report's figures, all of them, in report order.

The figures themselves are in :mod:`underlay.report.figures` (simulation, cost, decision)
and :mod:`underlay.report.figures_analysis` (isolation, lifecycle), which builds on the
first's styles; this module lists them, so neither of those two imports the other back.
"""

from __future__ import annotations

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.figures import (
    ReportFigure,
    cost_breakdown,
    interference,
    pareto,
    sla,
    tornado,
    utilisation,
)
from underlay.report.figures_analysis import blast_radius, kernel_sharing, version_timeline
from underlay.simulation.results import Simulation

__all__ = ["build_figures"]


def build_figures(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
    *,
    max_tenants: int = 40,
) -> list[ReportFigure]:
    """Every figure the data allows, in report order (stages not run give none)."""
    sc = comparison.scenario
    iso = [a.isolation for a in analysis.substrates if a.isolation] if analysis else []
    life = [a.lifecycle for a in analysis.substrates if a.lifecycle] if analysis else []
    out = [
        utilisation(simulation) if simulation else None,
        sla(sc, simulation, analysis, max_tenants),
        interference(sc, simulation, max_tenants) if simulation else None,
        kernel_sharing(sc, iso, max_tenants) if iso else None,
        blast_radius(iso) if iso else None,
        version_timeline(sc, life, max_tenants) if life else None,
        cost_breakdown(comparison, analysis),
        pareto(decision) if decision else None,
        tornado(decision) if decision else None,
    ]
    return [f for f in out if f is not None]
