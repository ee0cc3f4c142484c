"""The decision's tables, declared once (like :mod:`underlay.report.tables`): the scores,
the figures behind them, the tenants' totals, the hybrid plan, the Pareto frontier and
how far the weights and inputs can move before the verdict flips, each tagged with where
it is shown (the terminal leaves out the scores in words and the Pareto frontier).

Texts here are plain and unescaped: names come from user input, so each writer escapes
them for its own format.
"""

from __future__ import annotations

from collections.abc import Callable

from underlay.decision.results import (
    HybridPlan,
    ParetoPoint,
    PlanCheck,
    PlanRound,
    Scorecard,
    Sensitivity,
    SubstrateScore,
    TornadoBar,
)
from underlay.report.document import DOCUMENT, Table
from underlay.report.units import pct, usd

__all__ = [
    "evidence_table",
    "figures_table",
    "hybrid_table",
    "pareto_table",
    "plan_check_line",
    "plan_check_tables",
    "plan_moves",
    "scorecard_factors",
    "scores_table",
    "sensitivity_tables",
    "tenant_totals_table",
]


def scorecard_factors(card: Scorecard) -> list[str]:
    """The factors of ``card``, in the order of its weights."""
    return list(card.weights) or sorted({f for s in card.substrates for f in s.factors})


def _score(f: str, s: SubstrateScore) -> str:
    return f"{s.factors[f].score:.0f}" if f in s.factors else "–"


def scores_table(card: Scorecard) -> Table:
    """Each factor's weight and score per substrate, and the weighted totals."""
    rows = [
        [f, f"{card.weights.get(f, 0):g}", *(_score(f, s) for s in card.substrates)]
        for f in scorecard_factors(card)
    ]
    rows.append(["total", "", *(f"{s.total:.1f}" for s in card.substrates)])
    return Table("Scores", ["factor", "weight", *(s.name for s in card.substrates)], rows)


def figures_table(card: Scorecard) -> Table:
    """Each figure a score rests on, under its own name (means over the tenants, the worst
    tenant's in brackets)."""
    from underlay.report.factor_columns import FACTOR_PARTS

    rows = []
    for f in scorecard_factors(card):
        for p in FACTOR_PARTS.get(f, []):
            cells = [p.cell(s.factors[f]) if f in s.factors else "–" for s in card.substrates]
            rows.append([f"{f}: {p.title}", *cells])
    header = ["factor", *(s.name for s in card.substrates)]
    return Table("The figures behind the scores", header, rows)


def evidence_table(card: Scorecard) -> Table:
    """Each score in words (the documents only: sentences too long for a terminal)."""
    rows = [
        [f, *(s.factors[f].evidence if f in s.factors else "–" for s in card.substrates)]
        for f in scorecard_factors(card)
    ]
    header = ["factor", *(s.name for s in card.substrates)]
    return Table("Each score in words", header, rows, views=DOCUMENT)


def tenant_totals_table(card: Scorecard) -> Table:
    """Each tenant's own weighted total on each substrate, and its best."""
    return Table(
        "Per tenant: weighted total on each substrate",
        ["tenant", *(s.name for s in card.substrates), "best"],
        [[t.name, *(f"{x:.1f}" for x in t.totals), t.best] for t in card.tenants],
        tenants=True,
    )


def hybrid_table(plan: HybridPlan, check: PlanCheck | None = None) -> Table:
    """Who goes where in the least-cost plan meeting every constraint (with its measured
    cost when ``check`` placed it as one fleet)."""
    alone = ", ".join(
        f"{s} {'infeasible' if c is None else usd(c)}"
        for s, c in plan.single_substrate_costs.items()
    )
    cost = f"{usd(plan.cost_usd_per_month)} a month"
    if check is not None and check.final.measured_cost is not None:
        cost += f" predicted, {usd(check.final.measured_cost)} measured as one fleet"
    return Table(
        f"Hybrid plan: {cost} (each substrate alone: {alone})",
        ["tenant", "substrate"],
        [[t, s] for t, s in plan.assignment.items()],
        tenants=True,
    )


def _measured(x: float | None, figure: Callable[[float], str]) -> str:
    """``x`` by its figure rule, or a dash when it was not measured."""
    return "–" if x is None else figure(x)


def _share(x: float) -> str:
    return pct(100 * x)


def _change(predicted: float, measured: float | None) -> str:
    if measured is None:
        return "–"
    if predicted == 0:
        return "–" if measured == 0 else "new"
    return f"{(measured - predicted) / predicted:+.0%}"


def plan_check_line(check: PlanCheck) -> str:
    """The loop's outcome in one sentence: the kept plan's predicted and measured cost and
    SLA, and whether it is stable."""
    r = check.final
    n = check.rounds.index(r) + 1
    if r.measured_cost is None:
        return f"The plan was not measured as one fleet: {check.reason}"
    figures = (
        f"predicted {usd(r.predicted_cost)} a month, measured {usd(r.measured_cost)} "
        f"({_change(r.predicted_cost, r.measured_cost)}); availability SLA met in "
        f"{_share(r.predicted_sla)} of failure years predicted, "
        f"{_share(r.measured_sla or 0.0)} measured; CPU SLA met in "
        f"{pct(r.predicted_cpu_sla)} of steps predicted, {pct(r.measured_cpu_sla or 0.0)} measured"
    )
    if check.status == "stable":
        again = (
            "the optimiser keeps it with the measured figures"
            if len(check.rounds) == 1
            else f"the optimiser settles on plan {n} of {len(check.rounds)} with the measured figures"
        )
        return f"Plan placed and replayed as one fleet ({check.label}): {figures}; stable: {again}."
    return f"Plan placed and replayed as one fleet ({check.label}): {figures}; not stable: {check.reason}."


def _round_row(k: int, r: PlanRound) -> list[str]:
    return [
        str(k),
        usd(r.predicted_cost),
        _measured(r.measured_cost, usd),
        _change(r.predicted_cost, r.measured_cost),
        _share(r.predicted_sla),
        _measured(r.measured_sla, _share),
        pct(r.predicted_cpu_sla),
        _measured(r.measured_cpu_sla, pct),
        _measured(r.pods_unplaced, "{:,.0f}".format),
    ]


def plan_moves(check: PlanCheck) -> list[str]:
    """What each plan after the first changes, in words (``plan 2: bank-eu to sandboxed``)."""
    out = []
    for k in range(1, len(check.rounds)):
        before, after = check.rounds[k - 1].assignment, check.rounds[k].assignment
        moved = [f"{u} to {s}" for u, s in after.items() if before.get(u) != s]
        out.append(f"plan {k + 1} moves {', '.join(moved)}")
    return out


def plan_check_tables(check: PlanCheck) -> list[Table]:
    """Each plan of the loop, predicted vs measured (and, in the documents, who goes
    where in each); then the kept plan's tenants."""
    rounds = Table(
        f"The plan as one fleet ({check.label}), each figure predicted then measured: "
        "cost a month, availability SLA met (share of failure years), CPU SLA met (share of "
        "steps)",
        [
            "plan",
            "cost",
            "measured",
            "change",
            "availability",
            "measured",
            "CPU SLA",
            "measured",
            "pods unplaced",
        ],
        [_round_row(k + 1, r) for k, r in enumerate(check.rounds)],
    )
    plans = Table(
        "Who goes where in each plan",
        ["plan", "substrate", "tenants"],
        [
            [str(k + 1), where, ", ".join(units)]
            for k, r in enumerate(check.rounds)
            for where, units in _by_substrate(r.assignment).items()
        ],
        views=DOCUMENT,
    )
    final = check.final
    tenants = Table(
        f"Per tenant, plan {check.rounds.index(final) + 1}: each figure predicted then measured",
        [
            "tenant",
            "substrate",
            "cost",
            "measured",
            "availability",
            "measured",
            "CPU SLA",
            "measured",
        ],
        [
            [
                t.name,
                t.where,
                usd(t.predicted_cost),
                _measured(t.measured_cost, usd),
                _share(t.predicted_sla),
                _measured(t.measured_sla, _share),
                pct(t.predicted_cpu_sla),
                _measured(t.measured_cpu_sla, pct),
            ]
            for t in final.tenants
        ],
        tenants=True,
    )
    return [rounds, plans, tenants]


def _by_substrate(assignment: dict[str, str]) -> dict[str, list[str]]:
    by: dict[str, list[str]] = {}
    for unit, substrate in assignment.items():
        by.setdefault(substrate, []).append(unit)
    return by


def _assignment(assignment: dict[str, str]) -> str:
    return "; ".join(f"{s}: {', '.join(ts)}" for s, ts in _by_substrate(assignment).items())


def pareto_table(points: list[ParetoPoint]) -> Table:
    """The Pareto frontier, cheapest first (the documents only)."""
    rows = [
        [
            usd(p.cost_usd_per_month),
            f"{p.exposure_per_year:.2f}",
            pct(100 * p.sla_probability),
            _assignment(p.assignment),
        ]
        for p in sorted(points, key=lambda p: p.cost_usd_per_month)
    ]
    return Table(
        "Pareto frontier (no other assignment is cheaper, less exposed and better on SLA)",
        ["cost a month", "exposure a year", "SLA probability", "assignment"],
        rows,
        0,
        views=DOCUMENT,
    )


def _bound(x: float | None, none: str) -> str:
    return none if x is None else f"{x:.2f}"


def _flips(b: TornadoBar) -> str:
    """Where the verdict flips below and above the base ("–": not within 0.1× to 10×)."""
    return " / ".join("–" if x is None else f"{x:,.3g}" for x in (b.flip_low, b.flip_high))


def sensitivity_tables(sens: Sensitivity) -> list[Table]:
    """How far each weight, and each uncertain input, can move before the verdict flips."""
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
            _flips(b),
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
            [
                "input",
                "base",
                "low / high",
                "lead at low",
                "lead at high",
                "winner low / high",
                "flips at (low / high)",
            ],
            inputs,
        ),
    ]
