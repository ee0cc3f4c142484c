"""The two sections of the report the decision fills: the scorecard (scores, the figures
behind them, per-tenant totals, the hybrid plan) and the trade-offs (Pareto frontier,
how far weights and inputs can move before the verdict flips). Without a decision each
says so in one line (plain, unescaped text, like :mod:`underlay.report.sections`)."""

from __future__ import annotations

from underlay.decision.results import Decision, Scorecard, Sensitivity, SubstrateScore
from underlay.report.document import Section, Table, missing
from underlay.report.units import pct, usd

__all__ = ["scorecard_section", "tradeoffs_section"]

_SCORE_INTRO = "Scores 0–100 per factor (100 = the best substrate compared here) and the weights."
_TRADE_INTRO = (
    "What each choice trades away, and how far the inputs can move before the verdict flips."
)


def _score(f: str, s: SubstrateScore) -> str:
    return f"{s.factors[f].score:.0f}" if f in s.factors else "–"


def _evidence(f: str, s: SubstrateScore) -> str:
    return s.factors[f].evidence if f in s.factors else "–"


def _scores(card: Scorecard, factors: list[str]) -> Table:
    rows = [
        [f, f"{card.weights.get(f, 0):g}", *(_score(f, s) for s in card.substrates)]
        for f in factors
    ]
    rows.append(["total", "", *(f"{s.total:.1f}" for s in card.substrates)])
    return Table("Scores", ["factor", "weight", *(s.name for s in card.substrates)], rows)


def _figures(card: Scorecard, factors: list[str]) -> Table:
    from underlay.report.factor_columns import FACTOR_PARTS

    rows = []
    for f in factors:
        rows.append([f, *(_evidence(f, s) for s in card.substrates)])
        for p in FACTOR_PARTS.get(f, []):
            cells = [p.cell(s.factors[f]) if f in s.factors else "–" for s in card.substrates]
            rows.append([f"{f}: {p.title}", *cells])
    header = ["factor", *(s.name for s in card.substrates)]
    return Table("The figures behind the scores", header, rows)


def scorecard_section(decision: Decision | None) -> Section:
    """The scores per factor and substrate, the figures behind them, the tenants' totals
    and the hybrid plan."""
    if decision is None:
        notes = [missing("scorecard", "decision")]
        return Section("scorecard", "Scorecard", _SCORE_INTRO, notes=notes)
    card = decision.scorecard
    subs = [s.name for s in card.substrates]
    factors = list(card.weights) or sorted({f for s in card.substrates for f in s.factors})
    tables = [_scores(card, factors), _figures(card, factors)]
    if card.tenants:
        tables.append(
            Table(
                "Per tenant: weighted total on each substrate",
                ["tenant", *subs, "best"],
                [[t.name, *(f"{x:.1f}" for x in t.totals), t.best] for t in card.tenants],
            )
        )
    notes = [*card.notes, *decision.notes]
    plan = decision.hybrid
    if plan is None:
        notes.append("No hybrid plan: the decision holds none.")
        return Section("scorecard", "Scorecard", _SCORE_INTRO, tables=tables, notes=notes)
    alone = ", ".join(
        f"{s} {'infeasible' if c is None else usd(c)}"
        for s, c in plan.single_substrate_costs.items()
    )
    tables.append(
        Table(
            f"Hybrid plan: {usd(plan.cost_usd_per_month)} a month (each substrate alone: {alone})",
            ["tenant", "substrate"],
            [[t, s] for t, s in plan.assignment.items()],
        )
    )
    points = [
        f"constraint: {c}" + (" (binding)" if c in plan.binding else "") for c in plan.constraints
    ]
    points += [f"binding: {b}" for b in plan.binding if b not in plan.constraints]
    notes += plan.notes
    return Section("scorecard", "Scorecard", _SCORE_INTRO, points, tables, notes)


def _assignment(assignment: dict[str, str]) -> str:
    by: dict[str, list[str]] = {}
    for tenant, substrate in assignment.items():
        by.setdefault(substrate, []).append(tenant)
    return "; ".join(f"{s}: {', '.join(ts)}" for s, ts in by.items())


def _pareto(decision: Decision) -> Table:
    rows = [
        [
            usd(p.cost_usd_per_month),
            f"{p.exposure_per_year:.2f}",
            pct(100 * p.sla_probability),
            _assignment(p.assignment),
        ]
        for p in sorted(decision.pareto, key=lambda p: p.cost_usd_per_month)
    ]
    return Table(
        "Pareto frontier (no other assignment is cheaper, less exposed and better on SLA)",
        ["cost a month", "exposure a year", "SLA probability", "assignment"],
        rows,
        0,
    )


def _bound(x: float | None, none: str) -> str:
    return none if x is None else f"{x:g}"


def _sensitivity(sens: Sensitivity) -> list[Table]:
    weights = [
        [w.factor, f"{w.weight:g}", _bound(w.low, "0"), _bound(w.high, "any"), w.flips_to or "–"]
        for w in sens.weights
    ]
    inputs = [
        [
            b.parameter,
            f"{b.base:g} {b.unit}",
            f"{b.low:g} / {b.high:g}",
            f"{b.margin_low:+.1f}",
            f"{b.margin_high:+.1f}",
            f"{b.winner_low} / {b.winner_high}",
        ]
        for b in sorted(sens.tornado, key=lambda b: -b.span)
    ]
    return [
        Table(
            "Weights: the verdict holds while each weight stays in its range",
            ["factor", "weight", "holds from", "up to", "past it wins"],
            weights,
        ),
        Table(
            "Uncertain inputs: the winner's lead at each end of the range (< 0: flipped)",
            ["input", "base", "low / high", "lead at low", "lead at high", "winner low / high"],
            inputs,
        ),
    ]


def tradeoffs_section(decision: Decision | None) -> Section:
    """The Pareto frontier and the sensitivity of the verdict."""
    title = "Trade-offs and sensitivity"
    if decision is None:
        notes = [missing("Pareto frontier or sensitivity", "decision")]
        return Section("tradeoffs", title, _TRADE_INTRO, notes=notes)
    tables, notes = [], []
    if decision.pareto:
        tables.append(_pareto(decision))
    else:
        notes.append("No Pareto frontier: the decision holds none.")
    sens = decision.sensitivity
    if sens is None:
        notes.append("No sensitivity: the decision holds none.")
    else:
        tables += _sensitivity(sens)
        notes += sens.notes
    return Section("tradeoffs", title, _TRADE_INTRO, tables=tables, notes=notes)
