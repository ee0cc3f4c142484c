"""The sweep report: one self-contained HTML page of where in the grid the verdict changes,
read from the results file alone (a finished sweep is not run again).

Figures (Plotly, drawn as in :mod:`underlay.report.html`: plotly.js inlined, the figure
JSON made safe for a ``<script>`` element, a Content-Security-Policy that forbids every
request):

- per pair of parameters, a heat map of the winning substrate (each cell's winner, see
  :mod:`underlay.report.sweep_data`) and one of the mean verdict margin;
- per parameter, a partial-dependence line: each substrate's overall score, averaged
  over the other parameters, against that parameter's levels;
- the flips, as a table: neighbouring points (one parameter apart) whose winners differ.

A sweep of many keys would give many pairs: the first :data:`MAX_PAIRS` pairs of the
keys that take more than one value are drawn, and the page says so; the flip table
lists at most :data:`MAX_FLIPS` rows, and says how many more there are.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go  # type: ignore[import-untyped]
from markupsafe import Markup

from underlay.report.figures import colour, label, labels, styled
from underlay.report.html import page_template, plotly_js, script_json
from underlay.report.sweep_data import (
    Cells,
    SweepData,
    cells,
    describe,
    flips,
    levels,
    partial_dependence,
)

__all__ = ["MAX_FLIPS", "MAX_PAIRS", "render_sweep_html", "sweep_report"]

MAX_PAIRS = 15
"""Most pairs of parameters drawn as heat maps (those of the first six keys)."""

MAX_FLIPS = 200
"""Most flips listed in the table."""

NO_WINNER = "#e1e4e8"


@dataclass(frozen=True)
class SweepFigure:
    """One figure of the sweep report: its element id, title, caption and figure."""

    key: str
    title: str
    caption: str
    figure: Any


def _discrete(n: int) -> list[list[Any]]:
    """A colour scale giving integer ``z`` = -1 the no-winner grey and ``z`` = j the
    ``j``-th substrate's colour (z from -1 to n - 1, each a band of equal width)."""
    colours = [NO_WINNER, *(colour(j) for j in range(n))]
    bands = len(colours)
    scale: list[list[Any]] = []
    for k, c in enumerate(colours):
        scale += [[k / bands, c], [(k + 1) / bands, c]]
    return scale


def winner_map(data: SweepData, grid: Cells, key: str) -> SweepFigure:
    """The heat map of each cell's winning substrate."""
    names = labels(data.substrates)
    text = [
        [
            "no verdict" if w < 0 else names[w] + ("" if n == 1 else f" ({k} of {n})")
            for w, k, n in zip(wr, kr, nr, strict=True)
        ]
        for wr, kr, nr in zip(grid.winner, grid.wins, grid.count, strict=True)
    ]
    n = len(data.substrates)
    fig = go.Figure(
        go.Heatmap(
            z=grid.winner.tolist(),
            x=labels(grid.columns.labels),
            y=labels(grid.rows.labels),
            text=text,
            texttemplate="%{text}" if grid.winner.size <= 400 else None,
            hovertemplate=f"{label(grid.columns.key)}=%{{x}}<br>{label(grid.rows.key)}=%{{y}}"
            "<br>winner: %{text}<extra></extra>",
            zmin=-1.5,
            zmax=n - 0.5,
            colorscale=_discrete(n),
            colorbar={
                "tickvals": list(range(-1, n)),
                "ticktext": ["none", *names],
                "title": {"text": "winner"},
            },
            xgap=1,
            ygap=1,
        )
    )
    _axes(fig, grid)
    return SweepFigure(
        key,
        f"Winner: {grid.columns.key} × {grid.rows.key}",
        "Each cell's winning substrate; a cell holding several points (other parameters "
        "varied) shows the substrate that won most of them, and how many.",
        styled(fig, _height(grid)),
    )


def margin_map(data: SweepData, grid: Cells, key: str) -> SweepFigure:
    """The heat map of each cell's mean verdict margin."""
    z = [[None if np.isnan(m) else round(float(m), 3) for m in row] for row in grid.margin]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels(grid.columns.labels),
            y=labels(grid.rows.labels),
            colorscale="Blues",
            zmin=0,
            texttemplate="%{z:.1f}" if grid.margin.size <= 400 else None,
            hovertemplate=f"{label(grid.columns.key)}=%{{x}}<br>{label(grid.rows.key)}=%{{y}}"
            "<br>margin: %{z:.2f} points<extra></extra>",
            colorbar={"title": {"text": "margin"}},
            xgap=1,
            ygap=1,
        )
    )
    _axes(fig, grid)
    return SweepFigure(
        key,
        f"Margin: {grid.columns.key} × {grid.rows.key}",
        "The verdict's margin (total points between winner and runner-up), averaged over "
        "the cell's points: pale cells are where the verdict is close.",
        styled(fig, _height(grid)),
    )


def _axes(fig: Any, grid: Cells) -> None:
    fig.update_xaxes(title_text=label(grid.columns.key), type="category")
    fig.update_yaxes(title_text=label(grid.rows.key), type="category")


def _height(grid: Cells) -> int:
    return int(min(700, max(260, 160 + 28 * len(grid.rows.labels))))


def dependence(data: SweepData, key: str, element: str) -> SweepFigure:
    """The partial-dependence lines of parameter ``key``: one per substrate."""
    lv, means = partial_dependence(data, key)
    fig = go.Figure()
    for j, name in enumerate(data.substrates):
        fig.add_trace(
            go.Scatter(
                x=labels(lv.labels),
                y=[None if np.isnan(v) else round(float(v), 3) for v in means[j]],
                mode="lines+markers",
                name=label(name),
                line={"color": colour(j)},
                hovertemplate=f"{label(name)}<br>{label(key)}=%{{x}}<br>score %{{y:.2f}}"
                "<extra></extra>",
            )
        )
    fig.update_xaxes(title_text=label(key), type="category")
    fig.update_yaxes(title_text="overall score (mean)")
    binned = " Values are binned (midpoints shown)." if lv.binned else ""
    return SweepFigure(
        element,
        f"Partial dependence on {key}",
        "Each substrate's overall score at each value of this parameter, averaged over "
        f"the points at that value (every combination of the others, in a grid).{binned}",
        styled(fig, 320),
    )


def sweep_figures(data: SweepData) -> tuple[list[SweepFigure], list[SweepFigure], str]:
    """Heat maps (winner and margin per pair) and dependence lines; a note on pairs left
    out."""
    varied = [k for k in data.keys if len(levels(data, k).labels) > 1] if data.size else []
    pairs = list(itertools.combinations(varied, 2))
    maps: list[SweepFigure] = []
    for n, (a, b) in enumerate(pairs[:MAX_PAIRS]):
        grid = cells(data, b, a)
        maps += [winner_map(data, grid, f"winner-{n}"), margin_map(data, grid, f"margin-{n}")]
    lines = [dependence(data, k, f"pd-{n}") for n, k in enumerate(varied)]
    note = ""
    if len(pairs) > MAX_PAIRS:
        note = f"Showing {MAX_PAIRS} of {len(pairs)} pairs of parameters (the first keys')."
    elif len(varied) < 2:
        note = "Heat maps need two parameters that take more than one value; this sweep has "
        note += f"{len(varied)}."
    return maps, lines, note


def _flip_rows(data: SweepData) -> tuple[list[list[str]], int]:
    found = flips(data)
    rows = [
        [
            f.key,
            f"{describe(f.value_before)} → {describe(f.value_after)}",
            f.others,
            f"{f.before} → {f.after}",
            f"{f.winner_before} → {f.winner_after}",
            f"{f.margin_before:.2f} → {f.margin_after:.2f}",
        ]
        for f in found[:MAX_FLIPS]
    ]
    return rows, len(found)


def render_sweep_html(data: SweepData) -> str:
    """The whole sweep report as one HTML page (plotly.js inside)."""
    from underlay.version import __version__

    maps, lines, note = sweep_figures(data)
    flip_rows, flip_count = _flip_rows(data)
    wins = np.bincount(data.winner[data.winner >= 0], minlength=len(data.substrates))
    figures = {f.key: f.figure.to_plotly_json() for f in [*maps, *lines]}
    return page_template("sweep.html.j2").render(
        data=data,
        wins=[(name, int(w)) for name, w in zip(data.substrates, wins, strict=True)],
        ties=int(data.tie.sum()),
        maps=maps,
        lines=lines,
        note=note,
        flip_rows=flip_rows,
        flip_count=flip_count,
        max_flips=MAX_FLIPS,
        figures=Markup(script_json(figures)),
        plotly_js=Markup(plotly_js()),
        version=__version__,
    )


def sweep_report(path: Path, sweep_id: int) -> str:
    """The report of sweep ``sweep_id`` in results file ``path`` (read only)."""
    from underlay.report.results_db import ResultsDB
    from underlay.report.sweep_data import load_sweep

    with ResultsDB(path, read_only=True) as db:
        data = load_sweep(db, sweep_id)
    return render_sweep_html(data)
