"""The HTML report's interactive figures, built with Plotly's graph objects from the
pipeline's plain results (no figure reads a file or the network).

    figure              section       from
    host utilisation    performance   SubstrateSimulation.host_utilisation_mean / _p95
    SLA attainment      sla           simulated CPU SLA; failures' availability SLA probability
    interference        sla           SubstrateSimulation.interference_core_hours [victim, culprit]
    kernel sharing      isolation     SubstrateIsolation.edges and .violations
    blast radius        isolation     SubstrateIsolation.blast
    version timeline    versions      TenantLifecycle.version_by_month, UpgradeEvent
    cost breakdown      cost          SubstrateCost.per_month (else the static estimate)
    Pareto frontier     tradeoffs     Decision.pareto
    tornado             tradeoffs     Sensitivity.tornado

(the analyses' three are in :mod:`underlay.report.figures_analysis`; the list of them all,
in report order, is :func:`underlay.report.figure_set.build_figures`.)

Every name from the scenario goes through :func:`label` before it reaches a figure:
Plotly draws a subset of HTML in every text (``<b>``, ``<br>``, ``<a href>``), so a
tenant called ``a<br>b`` would be split in two; escaped, Plotly decodes the entities and
draws the name as written. Figures with one mark per tenant show at most ``max_tenants``
tenants, those the figure is about (most interference, most sharing, worst SLA), and say
so in their caption.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.colors import qualitative  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.model.scenario import Scenario
from underlay.simulation.results import Simulation

__all__ = ["ReportFigure", "label"]

SUBSTRATE_COLOURS = qualitative.D3
CLASS_COLOURS = qualitative.Set2
VIOLATION = "#d62728"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass(frozen=True)
class ReportFigure:
    """One figure: its element id, the section it belongs to, a title and a caption."""

    key: str  # element id in the page: letters, digits and dashes only
    section: str  # performance | sla | isolation | versions | cost | tradeoffs
    title: str
    caption: str
    figure: Any  # plotly.graph_objects.Figure


def label(name: str) -> str:
    """``name`` escaped for Plotly's text (which renders a subset of HTML)."""
    return html.escape(name, quote=False)


def labels(names: Sequence[str]) -> list[str]:
    """Each name escaped (:func:`label`)."""
    return [label(n) for n in names]


def pick(weight: Sequence[float], cap: int) -> list[int]:
    """Indices of the ``cap`` largest weights (ties: first first), in their original order."""
    if len(weight) <= cap:
        return list(range(len(weight)))
    return sorted(sorted(range(len(weight)), key=lambda i: (-weight[i], i))[:cap])


def shown(picked: int, total: int, which: str) -> str:
    """The caption's note when a figure leaves tenants out (``which``: those it keeps)."""
    return "" if picked == total else f" Showing {picked} of {total} tenants: {which}."


def grid(n: int) -> tuple[int, int]:
    """Rows and columns of subplots for ``n`` substrates: two a row."""
    cols = min(n, 2)
    return math.ceil(n / cols), cols


def styled(fig: Any, height: int) -> Any:
    """``fig`` with the report's look: plain white, system fonts, legend on top (the top
    margin grows with the legend's rows, guessed at 7 px a character on 1,050 px)."""
    names = [str(t.name or "") for t in fig.data if t.showlegend is not False]
    rows = math.ceil(sum(7 * len(n) + 45 for n in names) / 1050) if len(names) > 1 else 0
    fig.update_layout(
        template="plotly_white",
        height=height + 24 * rows,
        margin={"l": 60, "r": 20, "t": 50 + 24 * rows, "b": 50},
        font={"family": FONT, "size": 12},
        # The legend sits at the top of the figure, above any subplot's title.
        legend={"orientation": "h", "yref": "container", "y": 1, "yanchor": "top", "x": 0},
        hoverlabel={"namelength": -1},
    )
    return fig


def colour(j: int) -> str:
    """The colour of the ``j``-th substrate (or tenant) in every figure."""
    return str(SUBSTRATE_COLOURS[j % len(SUBSTRATE_COLOURS)])


# ---------------------------------------------------------------------------- figures


def utilisation(simulation: Simulation) -> ReportFigure:
    """Mean and p95 host CPU utilisation at each step, per substrate."""
    fig = go.Figure()
    for j, r in enumerate(simulation.results):
        hours = np.arange(r.steps) * (r.step_minutes / 60)
        for what, ys, dash in (
            ("mean", r.host_utilisation_mean, "solid"),
            ("p95", r.host_utilisation_p95, "dot"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=hours,
                    y=100 * np.asarray(ys, np.float64),
                    mode="lines",
                    name=f"{label(r.name)} {what}",
                    legendgroup=label(r.name),
                    line={"color": colour(j), "dash": dash, "width": 1.5},
                    hovertemplate="%{y:.1f}% at %{x:.2f} h",
                )
            )
    fig.update_xaxes(title_text="hours")
    fig.update_yaxes(title_text="host CPU utilisation (%)", rangemode="tozero")
    return ReportFigure(
        "fig-utilisation",
        "performance",
        "Host CPU utilisation over time",
        "Mean over hosts (solid) and the 95th percentile over hosts (dotted), each step.",
        styled(fig, 420),
    )


def sla(
    scenario: Scenario, simulation: Simulation | None, analysis: Analysis | None, max_tenants: int
) -> ReportFigure | None:
    """Per tenant: share of steps meeting the CPU SLA; share of years meeting availability."""
    fails = [a.failures for a in analysis.substrates if a.failures] if analysis else []
    rows = [x for x, ok in (("cpu", simulation is not None), ("fail", bool(fails))) if ok]
    if not rows:
        return None
    n = len(scenario.tenants)
    worst = np.zeros(n)
    if simulation is not None:
        worst += 100 - np.min(
            [[t.sla_attainment_percent for t in r.tenants] for r in simulation.results], axis=0
        )
    if fails:
        worst += 100 * (1 - np.min([[t.sla_probability for t in f.tenants] for f in fails], 0))
    keep = pick(list(worst), max_tenants)
    names = labels([scenario.tenants[i].name for i in keep])
    titles = {
        "cpu": "CPU SLA: % of steps meeting the target",
        "fail": "availability SLA: % of years meeting it",
    }
    fig = make_subplots(
        rows=len(rows), cols=1, subplot_titles=[titles[r] for r in rows], vertical_spacing=0.18
    )
    for row, what in enumerate(rows, 1):
        series = (
            [
                (r.name, [r.tenants[i].sla_attainment_percent for i in keep])
                for r in simulation.results
            ]
            if what == "cpu" and simulation is not None
            else [(f.name, [100 * f.tenants[i].sla_probability for i in keep]) for f in fails]
        )
        for j, (sub, ys) in enumerate(series):
            fig.add_trace(
                go.Bar(
                    x=names,
                    y=ys,
                    name=label(sub),
                    legendgroup=label(sub),
                    marker_color=colour(j),
                    showlegend=row == 1,
                    hovertemplate="%{x}: %{y:.1f}%",
                ),
                row=row,
                col=1,
            )
        target = [
            scenario.tenants[i].sla.cpu_satisfaction_percent if what == "cpu" else 100 for i in keep
        ]
        if what == "cpu":
            fig.add_trace(
                go.Scatter(
                    x=names,
                    y=target,
                    mode="markers",
                    name="CPU SLA target (% of demand)",
                    marker={"symbol": "line-ew-open", "size": 30, "color": "#333"},
                    hovertemplate="%{x}: target %{y:g}% of demand",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(range=[0, 105], ticksuffix="%", row=row, col=1)
    fig.update_layout(barmode="group")
    return ReportFigure(
        "fig-sla",
        "sla",
        "SLA attainment per tenant",
        "Higher is better; 100% means the tenant met its SLA in every step (every year)."
        + shown(len(keep), n, "those doing worst"),
        styled(fig, 320 * len(rows) + 80),
    )


def interference(scenario: Scenario, simulation: Simulation, max_tenants: int) -> ReportFigure:
    """Per substrate, CPU core-hours each tenant (row) lost while another (column) burst."""
    n = len(scenario.tenants)
    total = np.zeros(n)
    mats = []
    for r in simulation.results:
        m = np.array(r.interference_core_hours, np.float64, copy=True)
        np.fill_diagonal(m, 0.0)
        mats.append(m)
        total += m.sum(axis=0) + m.sum(axis=1)
    keep = pick(list(total), max_tenants)
    names = labels([scenario.tenants[i].name for i in keep])
    rows, cols = grid(len(mats))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        horizontal_spacing=0.15,
        vertical_spacing=0.2,
        subplot_titles=[label(r.name) for r in simulation.results],
    )
    top = max((float(m.max()) for m in mats), default=0.0)
    for k, m in enumerate(mats):
        fig.add_trace(
            go.Heatmap(
                z=m[np.ix_(keep, keep)],
                x=names,
                y=names,
                coloraxis="coloraxis",
                hovertemplate="%{y} lost %{z:,.2f} core-h to %{x}<extra></extra>",
            ),
            row=k // cols + 1,
            col=k % cols + 1,
        )
    fig.update_layout(
        coloraxis={
            "colorscale": "Reds",
            "cmin": 0,
            "cmax": max(top, 1e-9),
            "colorbar": {"title": {"text": "core-h"}},
        }
    )
    fig.update_xaxes(title_text="culprit (bursting)", tickangle=-30)
    fig.update_yaxes(title_text="victim", autorange="reversed")
    return ReportFigure(
        "fig-interference",
        "sla",
        "Cross-tenant interference",
        "CPU core-hours a tenant (row) lost while another tenant (column) burst on the same "
        "kernel; inside a VM only the VM's own pods compete."
        + shown(len(keep), n, "those with the most interference"),
        styled(fig, 380 * rows + 60),
    )


def cost_breakdown(comparison: Comparison, analysis: Analysis | None) -> ReportFigure:
    """Stacked monthly cost per substrate: capex, power, licences, operations."""
    costs = [a.cost for a in analysis.substrates if a.cost] if analysis else []
    if costs:
        names = [c.name for c in costs]
        parts = {
            "capex": [c.per_month.capex for c in costs],
            "power": [c.per_month.power for c in costs],
            "licences": [c.per_month.licences for c in costs],
            "operations (hosts)": [c.per_month.ops_hosts for c in costs],
            "operations (clusters)": [c.per_month.ops_clusters for c in costs],
        }
        basis = f"power at the {costs[0].power_basis} load"
    else:
        st = comparison.substrates
        names = [s.name for s in st]
        parts = {
            "capex": [s.cost_capex for s in st],
            "power": [s.cost_power for s in st],
            "licences": [s.cost_licences for s in st],
        }
        basis = (
            "the placement's estimate (no ops, power at allocation: the cost analysis did not run)"
        )
    fig = go.Figure()
    for k, (part, ys) in enumerate(parts.items()):
        fig.add_trace(
            go.Bar(
                x=labels(names),
                y=ys,
                name=part,
                marker_color=qualitative.Safe[k % len(qualitative.Safe)],
                hovertemplate="%{x}: $%{y:,.0f} a month<extra>" + part + "</extra>",
            )
        )
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(title_text="USD a month", tickprefix="$")
    return ReportFigure(
        "fig-cost",
        "cost",
        "Cost a month, by part",
        f"Stacked parts of each substrate's monthly cost, {basis}.",
        styled(fig, 420),
    )


def _assignment(assignment: dict[str, str], limit: int = 12) -> str:
    by: dict[str, list[str]] = {}
    for tenant, substrate in assignment.items():
        by.setdefault(substrate, []).append(tenant)
    lines = [
        f"{label(s)}: {', '.join(labels(ts[:limit]))}" + (" …" if len(ts) > limit else "")
        for s, ts in by.items()
    ]
    return "<br>".join(lines)


def pareto(decision: Decision) -> ReportFigure | None:
    """Cost against isolation exposure of the non-dominated assignments, coloured by SLA."""
    if not decision.pareto:
        return None
    pts = sorted(decision.pareto, key=lambda p: (p.cost_usd_per_month, p.exposure_per_year))
    fig = go.Figure(
        go.Scatter(
            x=[p.cost_usd_per_month for p in pts],
            y=[p.exposure_per_year for p in pts],
            mode="lines+markers",
            line={"color": "#bbb", "shape": "hv"},
            name="frontier",
            marker={
                "size": 12,
                "color": [100 * p.sla_probability for p in pts],
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": "SLA %"}},
            },
            text=[_assignment(p.assignment) for p in pts],
            customdata=[100 * p.sla_probability for p in pts],
            hovertemplate="$%{x:,.0f} a month, %{y:.2f} exposures a year, SLA %{customdata:.1f}%"
            "<br>%{text}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="USD a month", tickprefix="$")
    fig.update_yaxes(title_text="other tenants' escapes reaching tenants, a year")
    return ReportFigure(
        "fig-pareto",
        "tradeoffs",
        "Pareto frontier: cost, exposure and SLA",
        "Each point is an assignment of tenants to substrates that no other beats on cost, "
        "exposure and SLA at once; hover for the assignment.",
        styled(fig, 420),
    )


def tornado(decision: Decision) -> ReportFigure | None:
    """The winner's lead at the low and high end of each uncertain input, widest on top."""
    if decision.sensitivity is None or not decision.sensitivity.tornado:
        return None
    bars = sorted(decision.sensitivity.tornado, key=lambda b: b.span)  # Plotly draws bottom-up
    base = decision.scorecard.verdict.margin
    y = [f"{label(b.parameter)} ({b.low:g}–{b.high:g} {label(b.unit)})" for b in bars]
    fig = go.Figure()
    for end, tint in (("low", "#4c78a8"), ("high", "#f58518")):
        lead = [b.margin_low if end == "low" else b.margin_high for b in bars]
        win = [label(b.winner_low if end == "low" else b.winner_high) for b in bars]
        fig.add_trace(
            go.Bar(
                y=y,
                x=[v - base for v in lead],
                base=base,
                orientation="h",
                name=f"input at its {end} value",
                marker_color=tint,
                customdata=lead,
                text=win,
                textposition="none",
                hovertemplate="lead %{customdata:+.1f} points, %{text} wins<extra></extra>",
            )
        )
    fig.add_vline(x=0, line={"color": VIOLATION, "dash": "dash"})
    fig.add_vline(x=base, line={"color": "#333"})
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(title_text="winner's lead over the runner-up (score points; < 0: flipped)")
    return ReportFigure(
        "fig-tornado",
        "tradeoffs",
        "Sensitivity of the verdict",
        "How the winner's lead moves when one uncertain input goes to the end of its range "
        "(black: the lead at the base values; red dashes: the verdict flips).",
        styled(fig, 120 + 40 * len(bars)),
    )
