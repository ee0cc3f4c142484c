"""The two sections of the report the decision fills: the scorecard (scores, the figures
behind them, per-tenant totals, the hybrid plan) and the trade-offs (Pareto frontier,
how far weights and inputs can move before the verdict flips), from the tables of
:mod:`underlay.report.tables_decision`. Without a decision each says so in one line
(plain, unescaped text, like :mod:`underlay.report.sections`)."""

from __future__ import annotations

from underlay.decision.results import Decision
from underlay.report.document import Section, Table, missing
from underlay.report.tables_decision import (
    evidence_table,
    figures_table,
    hybrid_table,
    pareto_table,
    plan_check_line,
    plan_check_tables,
    plan_moves,
    scores_table,
    sensitivity_tables,
    tenant_totals_table,
)

__all__ = ["scorecard_section", "tradeoffs_section"]

_SCORE_INTRO = "Scores 0–100 per factor (100 = the best substrate compared here) and the weights."
_TRADE_INTRO = (
    "What each choice trades away, and how far the inputs can move before the verdict flips."
)


def scorecard_section(decision: Decision | None) -> Section:
    """The scores per factor and substrate, the figures behind them, the tenants' totals
    and the hybrid plan."""
    if decision is None:
        notes = [missing("scorecard", "decision")]
        return Section("scorecard", "Scorecard", _SCORE_INTRO, notes=notes)
    card = decision.scorecard
    tables = [scores_table(card), figures_table(card), evidence_table(card)]
    if card.tenants:
        tables.append(tenant_totals_table(card))
    notes = [*card.notes, *decision.notes]
    plan = decision.hybrid
    if plan is None:
        notes.append("No hybrid plan: the decision holds none.")
        return Section("scorecard", "Scorecard", _SCORE_INTRO, tables=tables, notes=notes)
    tables.append(hybrid_table(plan, decision.plan_check))
    points = [
        f"constraint: {c}" + (" (binding)" if c in plan.binding else "") for c in plan.constraints
    ]
    points += [f"binding: {b}" for b in plan.binding if b not in plan.constraints]
    notes += plan.notes
    if decision.plan_check is not None:
        points.append(plan_check_line(decision.plan_check))
        points += plan_moves(decision.plan_check)
        tables += plan_check_tables(decision.plan_check)
    return Section("scorecard", "Scorecard", _SCORE_INTRO, points, tables, notes)


def tradeoffs_section(decision: Decision | None) -> Section:
    """The Pareto frontier and the sensitivity of the verdict."""
    title = "Trade-offs and sensitivity"
    if decision is None:
        return Section(
            "tradeoffs",
            title,
            _TRADE_INTRO,
            notes=[missing("Pareto frontier or sensitivity", "decision")],
        )
    tables: list[Table] = []
    notes: list[str] = []
    if decision.pareto:
        tables.append(pareto_table(decision.pareto))
    else:
        notes.append("No Pareto frontier: the decision holds none.")
    sens = decision.sensitivity
    if sens is None:
        notes.append("No sensitivity: the decision holds none.")
    else:
        tables += sensitivity_tables(sens)
        notes += sens.notes
    return Section("tradeoffs", title, _TRADE_INTRO, tables=tables, notes=notes)
