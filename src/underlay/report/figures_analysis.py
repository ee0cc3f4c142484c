"""The analyses' figures of the HTML report: who shares a kernel with whom, the blast
radius of an escape, and the Kubernetes version each tenant runs over the years (the
conventions — escaped labels, at most ``max_tenants`` tenants — are those of
:mod:`underlay.report.figures`)."""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]
from plotly.colors import qualitative  # type: ignore[import-untyped]
from plotly.subplots import make_subplots  # type: ignore[import-untyped]

from underlay.analysis.isolation import SubstrateIsolation
from underlay.analysis.lifecycle import SubstrateLifecycle
from underlay.model.scenario import Scenario
from underlay.report.figures import (
    CLASS_COLOURS,
    VIOLATION,
    ReportFigure,
    colour,
    grid,
    label,
    pick,
    shown,
    styled,
)

__all__ = ["blast_radius", "kernel_sharing", "version_timeline"]


def _circle(n: int) -> tuple[Any, Any]:
    angle = np.pi / 2 - 2 * np.pi * np.arange(n) / max(n, 1)
    return np.cos(angle), np.sin(angle)


_Lines = tuple[list[float | None], list[float | None], list[str]]


def _edge_groups(
    s: SubstrateIsolation,
    index: dict[str, int],
    pos: dict[int, int],
    circle: tuple[Any, Any],
) -> dict[str, _Lines]:
    """The edges among the tenants shown, as line segments grouped by kind (breaks a rule,
    shares a kernel, shares only hosts), each with its hover text."""
    xs, ys = circle
    bad = {frozenset((v.tenant, v.other)) for v in s.violations}
    groups: dict[str, _Lines] = {}
    for e in s.edges:
        a, b = index[e.a], index[e.b]
        if a not in pos or b not in pos:
            continue
        kind = (
            "breaks an isolation rule"
            if frozenset((e.a, e.b)) in bad
            else "shares a kernel"
            if e.kernels
            else "shares a host, not a kernel"
        )
        gx, gy, text = groups.setdefault(kind, ([], [], []))
        pa, pb = pos[a], pos[b]
        gx += [xs[pa], xs[pb], None]
        gy += [ys[pa], ys[pb], None]
        text += [
            f"{label(e.a)} – {label(e.b)}: {e.kernels:,} kernels, {e.hosts:,} hosts, "
            f"{e.racks:,} racks"
        ] * 3
    return groups


def _class_markers(
    fig: Any,
    scenario: Scenario,
    keep: list[int],
    pos: dict[int, int],
    circle: tuple[Any, Any],
    at: dict[str, int],
    seen: set[str],
) -> None:
    """The tenants shown, as markers coloured by isolation class (one legend entry per
    class in ``seen``)."""
    xs, ys = circle
    classes = scenario.isolation.class_names
    for c, cls in enumerate(classes):
        members = [i for i in keep if scenario.tenants[i].isolation == cls]
        if not members:
            continue
        fig.add_trace(
            go.Scatter(
                x=[xs[pos[i]] for i in members],
                y=[ys[pos[i]] for i in members],
                mode="markers+text",
                name=f"class {label(cls)}",
                legendgroup=f"class-{c}",
                showlegend=f"class-{c}" not in seen,
                textposition="top center",
                text=[label(scenario.tenants[i].name) for i in members],
                marker={
                    "size": 16,
                    "color": CLASS_COLOURS[c % len(CLASS_COLOURS)],
                    "line": {"color": "#333", "width": 1},
                },
                # Names go in as data, never into the template (where "%{x}" in a
                # name would be substituted).
                customdata=[label(cls)] * len(members),
                hovertemplate="%{text}: class %{customdata}<extra></extra>",
            ),
            **at,
        )
        seen.add(f"class-{c}")


def kernel_sharing(
    scenario: Scenario, iso: list[SubstrateIsolation], max_tenants: int
) -> ReportFigure:
    """Per substrate: tenants on a circle, an edge where two share hosts (solid: a
    kernel), coloured by isolation class; pairs breaking an isolation rule in red."""
    n = len(scenario.tenants)
    index = {t.name: i for i, t in enumerate(scenario.tenants)}
    degree = np.zeros(n)
    for s in iso:
        for e in s.edges:
            degree[[index[e.a], index[e.b]]] += 1
        for v in s.violations:
            degree[[index[v.tenant], index[v.other]]] += n  # violations first
    keep = pick(list(degree), max_tenants)
    pos = {i: k for k, i in enumerate(keep)}
    xs, ys = _circle(len(keep))
    rows, cols = grid(len(iso))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[label(s.name) for s in iso],
        horizontal_spacing=0.05,
        vertical_spacing=0.1,
    )
    seen: set[str] = set()
    for k, s in enumerate(iso):
        at = {"row": k // cols + 1, "col": k % cols + 1}
        groups = _edge_groups(s, index, pos, (xs, ys))
        for kind, (gx, gy, text) in sorted(groups.items()):
            red = kind.startswith("breaks")
            fig.add_trace(
                go.Scatter(
                    x=gx,
                    y=gy,
                    mode="lines",
                    name=kind,
                    legendgroup=kind,
                    showlegend=kind not in seen,
                    text=text,
                    hoverinfo="text",
                    line={
                        "color": VIOLATION if red else "#888",
                        "width": 3 if red else 1.5,
                        "dash": "solid" if red or kind == "shares a kernel" else "dot",
                    },
                ),
                **at,
            )
            seen.add(kind)
        _class_markers(fig, scenario, keep, pos, (xs, ys), at, seen)
    fig.update_xaxes(visible=False, range=[-1.6, 1.6])
    fig.update_yaxes(visible=False, range=[-1.4, 1.4])
    return ReportFigure(
        "fig-kernel-sharing",
        "isolation",
        "Who shares a kernel with whom",
        "Tenants coloured by isolation class; a solid line where two share a kernel, dotted "
        "where they share only hosts (each in its own VM or sandbox); red where the pair "
        "breaks an isolation rule of the scenario."
        + shown(len(keep), n, "those breaking rules, then those sharing most"),
        styled(fig, 420 * rows + 60),
    )


def blast_radius(iso: list[SubstrateIsolation]) -> ReportFigure:
    """Per substrate and escape kind: other tenants and their pods an escape reaches."""
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=["other tenants reached (mean)", "other tenants' pods reached (mean)"],
    )
    kinds = list(dict.fromkeys(b.escape for s in iso for b in s.blast))
    for k, kind in enumerate(kinds):
        subs = [(s.name, b) for s in iso for b in s.blast if b.escape == kind]
        x = [label(name) for name, _ in subs]
        hover = [
            f"{b.per_year:.3g} escapes a year; at most {b.tenants_exposed_max} tenants"
            for _, b in subs
        ]
        for col, ys in (
            (1, [b.tenants_exposed_mean for _, b in subs]),
            (2, [b.pods_exposed_mean for _, b in subs]),
        ):
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=ys,
                    name=f"{kind} escape",
                    legendgroup=kind,
                    showlegend=col == 1,
                    marker_color=qualitative.Pastel1[k % len(qualitative.Pastel1)],
                    text=hover,
                    hovertemplate="%{x}: %{y:,.2f}<br>%{text}<extra></extra>",
                    textposition="none",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="group")
    return ReportFigure(
        "fig-blast-radius",
        "isolation",
        "Blast radius of an escape",
        "What an escape from a random pod reaches: a container escape lands in its kernel, "
        "a hypervisor or sandbox escape in the whole host.",
        styled(fig, 400),
    )


def _month(start: date, m: int) -> date:
    y, mo = divmod(start.month - 1 + m, 12)
    year, month = start.year + y, mo + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _minor(version: str) -> float | None:
    """A version on a numeric axis: 1.31 → 1031 (None, a gap, for anything else)."""
    parts = version.split(".")
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return 1000 * int(parts[0]) + int(parts[1])


def version_timeline(
    scenario: Scenario, life: list[SubstrateLifecycle], max_tenants: int
) -> ReportFigure:
    """Per substrate, the version each tenant runs each month; upgrade events marked."""
    n = len(scenario.tenants)
    moved = [
        sum(s.tenants[i].forced_upgrades + s.tenants[i].months_out_of_support for s in life)
        for i in range(n)
    ]
    keep = pick(moved, max_tenants)
    fig = make_subplots(
        rows=len(life),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=[label(s.name) for s in life],
    )
    versions: set[str] = set()
    spread = min(0.08, 0.4 / max(len(keep), 1))
    for row, s in enumerate(life, 1):
        x = [_month(s.start, m) for m in range(s.months)]
        for k, i in enumerate(keep):
            t = s.tenants[i]
            versions.update(t.version_by_month)
            off = (k - (len(keep) - 1) / 2) * spread
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=[None if (m := _minor(v)) is None else m + off for v in t.version_by_month],
                    mode="lines",
                    line_shape="hv",
                    name=label(t.name),
                    legendgroup=f"t{i}",
                    showlegend=row == 1,
                    line={"color": colour(k)},
                    text=t.version_by_month,
                    customdata=[label(t.name)] * len(x),
                    hovertemplate="%{customdata} runs %{text} (%{x|%b %Y})<extra></extra>",
                ),
                row=row,
                col=1,
            )
        kept = {scenario.tenants[i].name for i in keep}
        ev = [e for e in s.events if kept.intersection(e.tenants)]  # one mark per upgrade
        fig.add_trace(
            go.Scatter(
                x=[e.date for e in ev],
                y=[_minor(e.to_version) for e in ev],
                mode="markers",
                name="upgrade",
                legendgroup="upgrade",
                showlegend=row == 1,
                marker={"symbol": "triangle-up", "size": 9, "color": "#333"},
                text=[
                    f"{label(e.cluster)}: {e.from_version} → {e.to_version}, "
                    f"{e.pods_disrupted:,} pods disrupted"
                    for e in ev
                ],
                hovertemplate="%{x|%d %b %Y}: %{text}<extra></extra>",
            ),
            row=row,
            col=1,
        )
    ticks = sorted((v for v in versions if _minor(v) is not None), key=lambda v: _minor(v) or 0)
    fig.update_yaxes(tickvals=[_minor(v) for v in ticks], ticktext=ticks, title_text="version")
    return ReportFigure(
        "fig-versions",
        "versions",
        "Kubernetes version per tenant over time",
        "The minor version each tenant runs each month (lines nudged apart where tenants run "
        "the same version); triangles mark upgrades."
        + shown(len(keep), n, "those forced along or unsupported longest"),
        styled(fig, 260 * len(life) + 80),
    )
