"""Terminal output of the decision: the verdict and its reasons, then the decision's tables
as every report shows them (:mod:`underlay.report.tables_decision`): the scorecard, the
hybrid plan, and how far the weights and defaults can move before the verdict flips.

User text (substrate and tenant names, the reasons, which quote them) never goes into
Rich markup: lines are built with :func:`underlay.report.terminal.markup_line` and table
cells are plain :class:`rich.text.Text`.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from underlay.decision.results import Decision
from underlay.report.tables_decision import (
    evidence_table,
    figures_table,
    hybrid_table,
    plan_check_line,
    plan_check_tables,
    plan_moves,
    scores_table,
    sensitivity_tables,
    tenant_totals_table,
)
from underlay.report.terminal import markup_line, show_tables

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


def render_decision(decision: Decision, console: Console, *, max_tenants: int | None = 25) -> None:
    """The verdict and its reasons, then the decision's tables the terminal shows
    (:mod:`underlay.report.tables_decision`): the scores, the figures behind them, the
    tenants' totals, the hybrid plan and how far the verdict holds."""
    card = decision.scorecard
    console.print("[bold]Decision[/bold] — scores 0–100 per factor, weighted")
    render_verdict_line(decision, console)
    for reason in card.verdict.reasons:
        console.print(Text(f"  • {reason}"), highlight=False)
    tables = [scores_table(card), figures_table(card), evidence_table(card)]
    if card.tenants:
        tables.append(tenant_totals_table(card))
    show_tables(console, tables, max_tenants)
    console.print(Text(_INDEX, style="dim"), highlight=False)
    plan = decision.hybrid
    if plan is not None:
        show_tables(console, [hybrid_table(plan, decision.plan_check)], max_tenants)
        for line in plan.binding[:5]:
            console.print(Text(f"  constraint {line}", style="dim"), highlight=False)
    if decision.plan_check is not None:
        console.print(Text(plan_check_line(decision.plan_check)), highlight=False)
        for line in plan_moves(decision.plan_check):
            console.print(Text(f"  {line}", style="dim"), highlight=False)
        show_tables(console, plan_check_tables(decision.plan_check), max_tenants)
    for note in decision.notes:
        console.print(markup_line("[yellow]note[/yellow]: {}", note), highlight=False)
    sens = decision.sensitivity
    if sens is not None:
        show_tables(console, sensitivity_tables(sens))
        for note in sens.notes:
            console.print(markup_line("[yellow]note[/yellow]: {}", note), highlight=False)
    for note in card.notes:
        console.print(Text(note, style="dim"), highlight=False)


_INDEX = (
    "performance index = throughput (storage I/O, GPU) × (1 − CPU unmet) × (1 − GPU unmet) × "
    "(1 − cache/bw loss: work lost to other tenants' cache and memory-bandwidth load) ÷ p95 "
    "latency; sla = share of failure years meeting the availability SLA × share of steps "
    "meeting the CPU SLA; means over tenants"
)
