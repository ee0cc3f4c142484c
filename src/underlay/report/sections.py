"""The report's sections as plain data, shared by the Markdown and the HTML report.

The report opens with the verdict (winner, margin, reasons) and the scorecard, then one
section per factor — performance and capacity, resource guarantees and SLAs, security and
isolation, Kubernetes versions, cost — and ends with the trade-offs (Pareto frontier,
sensitivity). The substrate tables reuse the column declarations the terminal shows
(:mod:`underlay.report.columns` and friends), so every writer says the same thing; the
tenant tables hold one figure per cell. A stage that did not run (simulation, an analysis,
the decision) leaves its tables out and the section says so in one line.

Texts here are plain and unescaped: names come from user input, so each writer escapes
them for its own format.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.columns import SUBSTRATE_COLUMNS, Column
from underlay.simulation.results import Simulation

__all__ = ["Section", "Table", "is_figure", "missing", "report_sections", "run_summary"]

Row = TypeVar("Row")


_FIGURE = re.compile(r"^[-+$]?\d")


def is_figure(cell: str) -> bool:
    """Whether a cell reads as a figure (right-aligned): short, starting with a number
    ("1,548 / 12,710", "27 (1.00×)", "$2,673"; not a sentence that starts with one)."""
    return len(cell) <= 20 and bool(_FIGURE.match(cell))


@dataclass(frozen=True)
class Table:
    """A table of plain text cells; the first ``left`` columns are labels."""

    title: str
    header: list[str]
    rows: list[list[str]]
    left: int = 1

    def right_aligned(self) -> list[bool]:
        """Per column: labels left, other columns right when most of their cells are
        figures ("–" for none does not count)."""
        out = []
        for k in range(len(self.header)):
            cells = [r[k] for r in self.rows if k < len(r) and r[k] not in ("", "–")]
            figures = sum(is_figure(c) for c in cells)
            out.append(k >= self.left and 2 * figures >= len(cells) > 0)
        return out


@dataclass(frozen=True)
class Section:
    """One part of the report: what it shows, findings, tables, and notes (including what
    is missing and why)."""

    key: str  # anchor: scorecard | performance | sla | isolation | versions | cost | tradeoffs
    title: str
    intro: str
    points: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- helpers


def _transposed(title: str, columns: Sequence[Column[Row]], items: Sequence[Row]) -> Table:
    """One row per measure, one column per substrate (as the terminal shows them)."""
    header = ["", *(str(getattr(i, "name", "")) for i in items)]
    rows = [
        [f"{c.title}, {c.unit}" if c.unit else c.title, *(c.text(i) for i in items)]
        for c in columns
    ]
    return Table(title, header, rows)


def _per_tenant(
    title: str,
    names: list[str],
    substrates: list[str],
    cell: Callable[[int, int], str],
    extra: tuple[str, Callable[[int], str]] | None = None,
) -> Table:
    """One row per tenant, one column per substrate (``extra``: a column after the name)."""
    header = ["tenant", *([extra[0]] if extra else []), *substrates]
    rows = [
        [n, *([extra[1](i)] if extra else []), *(cell(i, j) for j in range(len(substrates)))]
        for i, n in enumerate(names)
    ]
    return Table(title, header, rows, 2 if extra else 1)


def _notes(per_substrate: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Each distinct note once, naming the substrates it applies to (all: none named)."""
    where: dict[str, list[str]] = {}
    for name, notes in per_substrate:
        for note in notes:
            where.setdefault(note, []).append(name)
    return [
        note if len(names) == len(per_substrate) else f"{note} ({', '.join(names)})"
        for note, names in where.items()
    ]


def missing(what: str, stage: str) -> str:
    """One line saying what is not shown and which stage did not run."""
    return f"No {what}: the {stage} did not run."


def _pct(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}%"


def _usd(x: float) -> str:
    return f"${x:,.0f}"


def _analysed(analysis: Analysis | None, section: str) -> list[Any]:
    if analysis is None or section not in analysis.sections:
        return []
    return [getattr(a, section) for a in analysis.substrates if getattr(a, section) is not None]


def _assignment(assignment: dict[str, str]) -> str:
    by: dict[str, list[str]] = {}
    for tenant, substrate in assignment.items():
        by.setdefault(substrate, []).append(tenant)
    return "; ".join(f"{s}: {', '.join(ts)}" for s, ts in by.items())


# ---------------------------------------------------------------------------- sections


def _scorecard(decision: Decision | None) -> Section:
    intro = "Scores 0–100 per factor (100 = the best substrate compared here) and the weights."
    if decision is None:
        return Section("scorecard", "Scorecard", intro, notes=[missing("scorecard", "decision")])
    from underlay.report.factor_columns import FACTOR_PARTS

    card = decision.scorecard
    subs = [s.name for s in card.substrates]
    factors = list(card.weights) or sorted({f for s in card.substrates for f in s.factors})

    def score(f: str, s: Any) -> str:
        return f"{s.factors[f].score:.0f}" if f in s.factors else "–"

    def evidence(f: str, s: Any) -> str:
        return s.factors[f].evidence if f in s.factors else "–"

    tables = [
        Table(
            "Scores",
            ["factor", "weight", *subs],
            [
                [f, f"{card.weights.get(f, 0):g}", *(score(f, s) for s in card.substrates)]
                for f in factors
            ]
            + [["total", "", *(f"{s.total:.1f}" for s in card.substrates)]],
        ),
        Table(
            "The figures behind the scores",
            ["factor", *subs],
            [
                row
                for f in factors
                for row in [
                    [f, *(evidence(f, s) for s in card.substrates)],
                    *(
                        [
                            f"{f}: {p.title}",
                            *(
                                p.cell(s.factors[f]) if f in s.factors else "–"
                                for s in card.substrates
                            ),
                        ]
                        for p in FACTOR_PARTS.get(f, [])
                    ),
                ]
            ],
        ),
    ]
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
        return Section("scorecard", "Scorecard", intro, tables=tables, notes=notes)
    alone = ", ".join(
        f"{s} {'infeasible' if c is None else _usd(c)}"
        for s, c in plan.single_substrate_costs.items()
    )
    tables.append(
        Table(
            f"Hybrid plan: {_usd(plan.cost_usd_per_month)} a month (each substrate alone: {alone})",
            ["tenant", "substrate"],
            [[t, s] for t, s in plan.assignment.items()],
        )
    )
    points = [
        f"constraint: {c}" + (" (binding)" if c in plan.binding else "") for c in plan.constraints
    ]
    points += [f"binding: {b}" for b in plan.binding if b not in plan.constraints]
    return Section("scorecard", "Scorecard", intro, points, tables, [*notes, *plan.notes])


def _performance(c: Comparison, simulation: Simulation | None) -> Section:
    names = [t.name for t in c.scenario.tenants]
    tables = [_transposed("Substrates (placement and capacity)", SUBSTRATE_COLUMNS, c.substrates)]
    notes = _notes([(s.name, s.notes) for s in c.substrates])
    points = [
        f"{s.name}: {u.pods:,} pods of {u.tenant}/{u.cluster}/{u.workload} unplaced — "
        + (
            u.detail
            if u.resource == "hosts"
            else f"{u.resource}: requested {u.requested:g}, "
            f"largest free {u.free:g}, capacity {u.capacity:g}"
        )
        for s in c.substrates
        for u in s.unplaced
    ]
    if simulation is None:
        notes.append(missing("utilisation, throughput or latency over time", "simulation"))
    else:
        from underlay.report.simulation_columns import SIMULATION_ROWS

        r = simulation.results
        subs = [x.name for x in r]
        tables += [
            _transposed("Usage replayed over the horizon", SIMULATION_ROWS, r),
            _per_tenant(
                "Throughput vs bare metal (%)",
                names,
                subs,
                lambda i, j: f"{r[j].tenants[i].throughput_percent:.0f}%",
            ),
            _per_tenant(
                "Latency p95 (× an idle host)",
                names,
                subs,
                lambda i, j: f"{r[j].tenants[i].latency_inflation_p95:.2f}×",
            ),
        ]
        notes += _notes([(x.name, x.notes) for x in r])
    intro = "Hosts, nodes and overheads on each substrate, and the work they deliver."
    return Section("performance", "Performance and capacity", intro, points, tables, notes)


def _sla(c: Comparison, simulation: Simulation | None, analysis: Analysis | None) -> Section:
    sc = c.scenario
    names = [t.name for t in sc.tenants]
    tables, points, notes = [], [], []
    if simulation is None:
        notes.append(missing("CPU SLA attainment or interference", "simulation"))
    else:
        r = simulation.results
        subs = [x.name for x in r]
        tables += [
            _per_tenant(
                "CPU SLA: share of steps meeting the target",
                names,
                subs,
                lambda i, j: _pct(r[j].tenants[i].sla_attainment_percent),
                ("target", lambda i: _pct(sc.tenants[i].sla.cpu_satisfaction_percent)),
            ),
            _per_tenant(
                "Unmet CPU demand (%)",
                names,
                subs,
                lambda i, j: _pct(r[j].tenants[i].unmet_percent, 2),
            ),
        ]
        for x in r:
            pairs = x.who_hurt_whom(names, top=3)
            if pairs:
                points.append(
                    f"who hurt whom on {x.name}: "
                    + "; ".join(f"{cu} took {h:,.1f} core-h from {v}" for v, cu, h in pairs)
                )
    fails = _analysed(analysis, "failures")
    if not fails:
        notes.append(missing("availability under failures", "failures analysis"))
    else:
        from underlay.report.factor_columns import FAILURE_ROWS

        first = fails[0]
        tables += [
            _transposed(
                f"Failures ({first.trials:,} simulated "
                + ("year" if first.years == 1 else f"{first.years:g}-year period")
                + f"{'' if first.trials == 1 else 's'}, seed {first.seed})",
                FAILURE_ROWS,
                fails,
            ),
            _per_tenant(
                "Availability SLA: share of years meeting it",
                names,
                [f.name for f in fails],
                lambda i, j: _pct(100 * fails[j].tenants[i].sla_probability, 0),
                ("target", lambda i: _pct(sc.tenants[i].sla.availability_percent, 2)),
            ),
        ]
        notes += _notes([(f.name, f.notes) for f in fails])
    intro = "Soft cgroup shares on a shared kernel versus hard VM reservations, and failures."
    return Section("sla", "Resource guarantees and SLAs", intro, points, tables, notes)


def _isolation(c: Comparison, analysis: Analysis | None) -> Section:
    sc = c.scenario
    intro = "Who shares a kernel (a host) with whom, and how far an escape reaches."
    iso = _analysed(analysis, "isolation")
    if not iso:
        notes = [missing("kernel-sharing graph or blast radius", "isolation analysis")]
        return Section("isolation", "Security and isolation", intro, notes=notes)
    from underlay.report.isolation_columns import isolation_rows

    names = [t.name for t in sc.tenants]
    classes = sorted({t.isolation for t in sc.tenants})
    tables = [
        _transposed("Isolation and blast radius", isolation_rows(classes), iso),
        _per_tenant(
            "Exposure: other tenants' escapes reaching the tenant, a year",
            names,
            [s.name for s in iso],
            lambda i, j: f"{iso[j].tenants[i].incidents_per_year:.2f}",
            ("class", lambda i: sc.tenants[i].isolation),
        ),
    ]
    points = []
    for s in iso:
        for v in s.violations[:10]:
            rule = sc.isolation.rules[v.rule]
            points.append(
                f"violation on {s.name}: {v.describe()} (rule {v.rule + 1}: "
                f"{rule.between[0]} and {rule.between[1]} never share a {rule.never_share})"
            )
        if len(s.violations) > 10:
            points.append(f"… and {len(s.violations) - 10:,} more violations on {s.name}")
    notes = _notes([(s.name, s.notes) for s in iso])
    return Section("isolation", "Security and isolation", intro, points, tables, notes)


def _versions(c: Comparison, analysis: Analysis | None) -> Section:
    sc = c.scenario
    life = _analysed(analysis, "lifecycle")
    intro = "Kubernetes versions over the years: upgrades, tenants forced along, support."
    if not life:
        notes = [missing("version timeline", "lifecycle analysis")]
        return Section("versions", "Kubernetes versions", intro, notes=notes)
    from underlay.report.factor_columns import LIFECYCLE_ROWS

    first = life[0]

    def cell(i: int, j: int) -> str:
        t = life[j].tenants[i]
        forced = f", {t.forced_upgrades} forced" if t.forced_upgrades else ""
        unsupported = (
            f", {t.months_out_of_support:.1f} mo unsupported" if t.months_out_of_support else ""
        )
        return f"{t.final_version} ({t.upgrade_events} upgrades{forced}{unsupported})"

    tables = [
        _transposed(
            f"Upgrades and support, {first.start} to {first.end} ({first.months} months)",
            LIFECYCLE_ROWS,
            life,
        ),
        _per_tenant(
            "Version at the end (upgrades on the way)",
            [t.name for t in sc.tenants],
            [s.name for s in life],
            cell,
            ("wants", lambda i: sc.tenants[i].kubernetes_version),
        ),
    ]
    points = [f"blocked drain on {s.name}: {d}" for s in life for d in s.blocked_drains[:5]]
    notes = _notes([(s.name, s.notes) for s in life])
    return Section("versions", "Kubernetes versions", intro, points, tables, notes)


def _cost(c: Comparison, analysis: Analysis | None) -> Section:
    sc = c.scenario
    names = [t.name for t in sc.tenants]
    costs = _analysed(analysis, "cost")
    intro = "Capex, power, hypervisor licences and operations, a month."
    if not costs:
        st = c.substrates
        table = _per_tenant(
            "Cost per tenant, a month (power at requests)",
            names,
            [s.name for s in st],
            lambda i, j: _usd(st[j].tenants[i].cost_per_month_usd),
        )
        notes = [missing("operations cost or energy", "cost analysis")]
        return Section("cost", "Cost", intro, tables=[table], notes=notes)
    from underlay.report.factor_columns import COST_ROWS

    subs = [s.name for s in costs]

    def per_pod_hour(i: int, j: int) -> str:
        x = costs[j].tenants[i].cost_per_sla_met_pod_hour_usd
        return "–" if x is None else f"${x:.4f}"

    tables = [
        _transposed(
            f"Cost and energy (power at the {costs[0].power_basis} load)", COST_ROWS, costs
        ),
        _per_tenant(
            "Cost per tenant, a month",
            names,
            subs,
            lambda i, j: _usd(costs[j].tenants[i].per_month.total),
        ),
        _per_tenant("Cost per SLA-met pod-hour", names, subs, per_pod_hour),
    ]
    return Section(
        "cost", "Cost", intro, tables=tables, notes=_notes([(s.name, s.notes) for s in costs])
    )


def _tradeoffs(decision: Decision | None) -> Section:
    intro = (
        "What each choice trades away, and how far the inputs can move before the verdict flips."
    )
    if decision is None:
        notes = [missing("Pareto frontier or sensitivity", "decision")]
        return Section("tradeoffs", "Trade-offs and sensitivity", intro, notes=notes)
    tables, notes = [], []
    if decision.pareto:
        tables.append(
            Table(
                "Pareto frontier (no other assignment is cheaper, less exposed and better on SLA)",
                ["cost a month", "exposure a year", "SLA probability", "assignment"],
                [
                    [
                        _usd(p.cost_usd_per_month),
                        f"{p.exposure_per_year:.2f}",
                        _pct(100 * p.sla_probability),
                        _assignment(p.assignment),
                    ]
                    for p in sorted(decision.pareto, key=lambda p: p.cost_usd_per_month)
                ],
                0,
            )
        )
    else:
        notes.append("No Pareto frontier: the decision holds none.")
    sens = decision.sensitivity
    if sens is None:
        notes.append("No sensitivity: the decision holds none.")
        return Section("tradeoffs", "Trade-offs and sensitivity", intro, tables=tables, notes=notes)

    def bound(x: float | None, none: str) -> str:
        return none if x is None else f"{x:g}"

    tables += [
        Table(
            "Weights: the verdict holds while each weight stays in its range",
            ["factor", "weight", "holds from", "up to", "past it wins"],
            [
                [
                    w.factor,
                    f"{w.weight:g}",
                    bound(w.low, "0"),
                    bound(w.high, "any"),
                    w.flips_to or "–",
                ]
                for w in sens.weights
            ],
        ),
        Table(
            "Uncertain inputs: the winner's lead at each end of the range (< 0: flipped)",
            ["input", "base", "low / high", "lead at low", "lead at high", "winner low / high"],
            [
                [
                    b.parameter,
                    f"{b.base:g} {b.unit}",
                    f"{b.low:g} / {b.high:g}",
                    f"{b.margin_low:+.1f}",
                    f"{b.margin_high:+.1f}",
                    f"{b.winner_low} / {b.winner_high}",
                ]
                for b in sorted(sens.tornado, key=lambda b: -b.span)
            ],
        ),
    ]
    notes += sens.notes
    return Section("tradeoffs", "Trade-offs and sensitivity", intro, tables=tables, notes=notes)


def report_sections(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
) -> list[Section]:
    """The report's sections after the verdict, in order (plain, unescaped text)."""
    return [
        _scorecard(decision),
        _performance(comparison, simulation),
        _sla(comparison, simulation, analysis),
        _isolation(comparison, analysis),
        _versions(comparison, analysis),
        _cost(comparison, analysis),
        _tradeoffs(decision),
    ]


def run_summary(
    comparison: Comparison, simulation: Simulation | None, analysis: Analysis | None
) -> str:
    """One line: tenants, substrates, strategy, and the seeds of the random stages."""
    sc = comparison.scenario
    parts = [
        f"{len(sc.tenants):,} tenant{'s' if len(sc.tenants) != 1 else ''}",
        f"substrates {', '.join(s.name for s in comparison.substrates)}",
        f"placement {sc.placement.strategy}",
    ]
    if simulation is not None:
        sim = sc.simulation
        parts.append(
            f"usage replayed {sim.horizon_hours:g} h at {sim.step_minutes:g}-minute steps "
            f"(seed {simulation.seed})"
        )
    if analysis is not None:
        parts.append(
            f"analyses {', '.join(analysis.sections)} (failure seed {analysis.failure_seed})"
        )
    return "; ".join(parts)
