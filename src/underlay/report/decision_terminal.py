"""Terminal output of the decision: the verdict and its reasons, the scorecard, the hybrid
plan, and how far the weights and defaults can move before the verdict flips.

User text (substrate and tenant names, the reasons, which quote them) never goes into
Rich markup: lines are built with :func:`underlay.report.terminal.markup_line` and table
cells are plain :class:`rich.text.Text`.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from underlay.decision.results import Decision, TornadoBar, WeightRange
from underlay.model.scenario import FACTORS
from underlay.report.factor_columns import FACTOR_PARTS
from underlay.report.fitting import Grid, print_grid
from underlay.report.terminal import markup_line
from underlay.report.units import usd

__all__ = ["render_decision", "render_verdict_line"]


def render_verdict_line(decision: Decision, console: Console) -> None:
    """One line: the winner and by how much."""
    v = decision.scorecard.verdict
    if v.tie and v.runner_up:
        line = markup_line("[bold]Verdict:[/bold] a tie between {} and {}", v.winner, v.runner_up)
    elif v.runner_up and v.placement_decides:
        line = markup_line(
            "[bold]Verdict:[/bold] {} ahead of {}, which places fewer pods",
            v.winner,
            v.runner_up,
        )
    elif v.runner_up:
        line = markup_line(
            "[bold]Verdict:[/bold] {} ahead of {} by {} points",
            v.winner,
            v.runner_up,
            f"{v.margin:.1f}",
        )
    else:
        line = markup_line("[bold]Verdict:[/bold] {}", v.winner)
    console.print(line, highlight=False)


def _weight_text(r: WeightRange) -> str:
    if r.low is None and r.high is None:
        return "any weight"
    low = f"{r.low:.2f}" if r.low is not None else "0"
    high = f"{r.high:.2f}" if r.high is not None else "∞"
    who = f" (then {r.flips_to})" if r.flips_to else ""
    return f"{low} … {high}{who}"


def _bar_text(b: TornadoBar) -> str:
    flips = [f"flips at {x:,.3g} {b.unit}" for x in (b.flip_low, b.flip_high) if x is not None]
    if flips:
        return "; ".join(flips)
    return "holds from 0.1× to 10×" if b.margin_low > 0 and b.margin_high > 0 else "–"


def _render_plan(decision: Decision, console: Console) -> None:
    """The least-cost plan: its cost, who goes where, the constraints that decide it."""
    plan = decision.hybrid
    if plan is None:
        return
    console.print(
        f"[bold]Least-cost plan meeting every constraint:[/bold] "
        f"{usd(plan.cost_usd_per_month)} a month",
        highlight=False,
    )
    by_substrate: dict[str, list[str]] = {}
    for member, where in plan.assignment.items():
        by_substrate.setdefault(where, []).append(member)
    for where, members in by_substrate.items():
        listed = ", ".join(members[:12])
        if len(members) > 12:
            listed += f" and {len(members) - 12} more"
        console.print(Text(f"  {where}: {listed}"), highlight=False)
    for line in plan.binding[:5]:
        console.print(Text(f"  constraint {line}", style="dim"), highlight=False)


def _render_sensitivity(decision: Decision, console: Console) -> None:
    """How far each weight and uncertain input can move before the verdict flips."""
    sens = decision.sensitivity
    if sens is None:
        return
    inputs = [Text(f"weight of {r.factor}") for r in sens.weights]
    inputs += [Text(b.parameter) for b in sens.tornado]
    ranges = [[Text(f"{r.weight:g}"), Text(_weight_text(r))] for r in sens.weights]
    ranges += [[Text(f"{b.base:,.3g} {b.unit}"), Text(_bar_text(b))] for b in sens.tornado]
    print_grid(
        console,
        Grid(
            "How far before the verdict flips", "input",
            ["now", "range keeping the verdict"], inputs, ranges,
            justify=["right", "left"], split=False,
        ),
    )  # fmt: skip
    for note in sens.notes:
        console.print(markup_line("[yellow]note[/yellow]: {}", note), highlight=False)


def render_decision(decision: Decision, console: Console, *, max_tenants: int | None = 25) -> None:
    """The verdict, the scorecard per substrate and per tenant, the hybrid, the sensitivity."""
    card = decision.scorecard
    console.print("[bold]Decision[/bold] — scores 0–100 per factor, weighted")
    render_verdict_line(decision, console)
    for reason in card.verdict.reasons:
        console.print(Text(f"  • {reason}"), highlight=False)
    weights = ", ".join(f"{f} {card.weights[f]:g}" for f in FACTORS)
    names = [s.name for s in card.substrates]
    labels: list[Text] = []
    rows: list[list[Text]] = []
    for f in FACTORS:
        labels.append(Text(f))
        rows.append([Text(f"{s.factors[f].score:.0f}") for s in card.substrates])
        # each figure the score rests on, under its own name (means over the tenants)
        for part in FACTOR_PARTS.get(f, []):
            figures = [part.cell(s.factors[f], worst=False) for s in card.substrates]
            if part.key == "pods_unplaced" and set(figures) <= {"0"}:
                continue  # every pod placed everywhere: nothing to say
            labels.append(Text(f"  {part.short}", style="dim"))
            rows.append([Text(c, style="dim") for c in figures])
    labels.append(Text("total", style="bold"))
    rows.append([Text(f"{s.total:.1f}", style="bold") for s in card.substrates])
    print_grid(console, Grid(f"Scorecard (weights: {weights})", "", names, labels, rows))
    console.print(
        Text(
            "performance index = throughput (storage I/O, GPU) × (1 − CPU unmet) × (1 − GPU "
            "unmet) × (1 − cache/bw loss: work lost to other tenants' cache and "
            "memory-bandwidth load) ÷ p95 "
            "latency; sla = share of failure years meeting the availability SLA × share of "
            "steps meeting the CPU SLA; means over tenants",
            style="dim",
        ),
        highlight=False,
    )
    shown = card.tenants if max_tenants is None else card.tenants[:max_tenants]
    best = [
        [
            Text(f"{x:.0f}", style="bold" if n == t.best else "")
            for n, x in zip(names, t.totals, strict=True)
        ]
        for t in shown
    ]
    print_grid(
        console,
        Grid(
            "Best substrate per tenant (its own total)", "tenant", names,
            [Text(t.name) for t in shown], best, whole=[t.name for t in shown],
        ),
    )  # fmt: skip
    if len(shown) < len(card.tenants):
        console.print(f"[dim]… and {len(card.tenants) - len(shown):,} more tenants[/dim]")
    _render_plan(decision, console)
    for note in decision.notes:
        console.print(markup_line("[yellow]note[/yellow]: {}", note), highlight=False)
    _render_sensitivity(decision, console)
    for note in card.notes:
        console.print(Text(note, style="dim"), highlight=False)
