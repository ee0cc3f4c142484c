"""The report's sections as plain data, shared by the Markdown, HTML and CSV reports.

The report opens with the verdict (winner, margin, reasons) and the scorecard, then one
section per factor — performance and capacity, resource guarantees and SLAs, security and
isolation, Kubernetes versions, cost — and ends with the trade-offs (Pareto frontier,
sensitivity; the two sections of the decision are in
:mod:`underlay.report.sections_decision`). The substrate tables reuse the column
declarations the terminal shows (:mod:`underlay.report.columns` and friends), built into
tables by :mod:`underlay.report.document`, so every writer says the same thing; the
tenant tables hold one figure per cell. A stage that did not run (simulation, an
analysis, the decision) leaves its tables out and the section says so in one line.

Texts here are plain and unescaped: names come from user input, so each writer escapes
them for its own format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.columns import SUBSTRATE_COLUMNS
from underlay.report.document import (
    Section,
    Table,
    is_figure,
    missing,
    notes_once,
    per_tenant,
    transposed,
)
from underlay.report.sections_decision import scorecard_section, tradeoffs_section
from underlay.report.units import pct, usd
from underlay.simulation.results import Simulation

__all__ = ["Section", "Table", "is_figure", "missing", "report_sections", "run_summary"]


def _notes(per_substrate: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Each distinct note once, naming the substrates it applies to (all: none named)."""
    return [f"{note} ({where})" if where else note for note, where in notes_once(per_substrate)]


def _analysed(analysis: Analysis | None, section: str) -> list[Any]:
    if analysis is None or section not in analysis.sections:
        return []
    return [getattr(a, section) for a in analysis.substrates if getattr(a, section) is not None]


# ---------------------------------------------------------------------------- sections


def _performance(c: Comparison, simulation: Simulation | None) -> Section:
    names = [t.name for t in c.scenario.tenants]
    tables = [transposed("Substrates (placement and capacity)", SUBSTRATE_COLUMNS, c.substrates)]
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
            transposed("Usage replayed over the horizon", SIMULATION_ROWS, r),
            per_tenant(
                "Throughput vs bare metal (%)",
                names,
                subs,
                lambda i, j: pct(r[j].tenants[i].throughput_percent, 0),
            ),
            per_tenant(
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
            per_tenant(
                "CPU SLA: share of steps meeting the target",
                names,
                subs,
                lambda i, j: pct(r[j].tenants[i].sla_attainment_percent),
                ("target", lambda i: pct(sc.tenants[i].sla.cpu_satisfaction_percent)),
            ),
            per_tenant(
                "Unmet CPU demand (%)",
                names,
                subs,
                lambda i, j: pct(r[j].tenants[i].unmet_percent, 2),
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
            transposed(
                f"Failures ({first.trials:,} simulated "
                + ("year" if first.years == 1 else f"{first.years:g}-year period")
                + f"{'' if first.trials == 1 else 's'}, seed {first.seed})",
                FAILURE_ROWS,
                fails,
            ),
            per_tenant(
                "Availability SLA: share of years meeting it",
                names,
                [f.name for f in fails],
                lambda i, j: pct(100 * fails[j].tenants[i].sla_probability, 0),
                ("target", lambda i: pct(sc.tenants[i].sla.availability_percent, 2)),
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
        transposed("Isolation and blast radius", isolation_rows(classes), iso),
        per_tenant(
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
        transposed(
            f"Upgrades and support, {first.start} to {first.end} ({first.months} months)",
            LIFECYCLE_ROWS,
            life,
        ),
        per_tenant(
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
        table = per_tenant(
            "Cost per tenant (USD / month, no ops, power at allocation)",
            names,
            [s.name for s in st],
            lambda i, j: usd(st[j].tenants[i].cost_per_month_usd),
        )
        notes = [missing("operations cost or energy", "cost analysis")]
        return Section("cost", "Cost", intro, tables=[table], notes=notes)
    from underlay.report.factor_columns import COST_ROWS

    subs = [s.name for s in costs]

    def per_pod_hour(i: int, j: int) -> str:
        x = costs[j].tenants[i].cost_per_sla_met_pod_hour_usd
        return "–" if x is None else usd(x, digits=4)

    tables = [
        transposed(f"Cost and energy (power at the {costs[0].power_basis} load)", COST_ROWS, costs),
        per_tenant(
            "Cost per tenant, a month",
            names,
            subs,
            lambda i, j: usd(costs[j].tenants[i].per_month.total),
        ),
        per_tenant("Cost per SLA-met pod-hour", names, subs, per_pod_hour),
    ]
    return Section(
        "cost", "Cost", intro, tables=tables, notes=_notes([(s.name, s.notes) for s in costs])
    )


def report_sections(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
) -> list[Section]:
    """The report's sections after the verdict, in order (plain, unescaped text)."""
    return [
        scorecard_section(decision),
        _performance(comparison, simulation),
        _sla(comparison, simulation, analysis),
        _isolation(comparison, analysis),
        _versions(comparison, analysis),
        _cost(comparison, analysis),
        tradeoffs_section(decision),
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
