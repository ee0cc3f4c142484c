"""The report's sections as plain data, shared by the Markdown, HTML and CSV reports.

The report opens with the verdict (winner, margin, reasons) and the scorecard, then one
section per factor — performance and capacity, resource guarantees and SLAs, security and
isolation, Kubernetes versions, cost — and ends with the trade-offs (Pareto frontier,
sensitivity; the two sections of the decision are in
:mod:`underlay.report.sections_decision`). Every table is one of the model's
(:mod:`underlay.report.tables`), the ones tagged for the documents: the terminal shows
the same tables (fewer of them), so every writer says the same thing. A stage that did
not run (simulation, an analysis, the decision) leaves its tables out and the section
says so in one line.

Texts here are plain and unescaped: names come from user input, so each writer escapes
them for its own format.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from underlay.analysis.cost import SubstrateCost
from underlay.analysis.results import Analysis, Comparison
from underlay.decision.results import Decision
from underlay.report.document import Section, Table, is_figure, missing, notes_once
from underlay.report.sections_decision import scorecard_section, tradeoffs_section
from underlay.report.tables import (
    cost_tables,
    failure_tables,
    isolation_tables,
    lifecycle_tables,
    placement_cost_table,
    placement_tables,
    simulation_tables,
    unplaced_why,
)
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


def _documents(tables: list[Table]) -> list[Table]:
    return [t for t in tables if "document" in t.views]


def _performance(
    c: Comparison, simulation: Simulation | None, costs: Sequence[SubstrateCost]
) -> Section:
    tables = placement_tables(c, costs)
    notes = _notes([(s.name, s.notes) for s in c.substrates])
    points = [
        f"{s.name}: {u.pods:,} pods of {u.tenant}/{u.cluster}/{u.workload} unplaced — "
        + unplaced_why(u)
        for s in c.substrates
        for u in s.unplaced
    ]
    if simulation is None:
        notes.append(missing("utilisation, throughput or latency over time", "simulation"))
    else:
        tables += simulation_tables(simulation)[0]
        notes += _notes([(x.name, x.notes) for x in simulation.results])
    intro = "Hosts, nodes and overheads on each substrate, and the work they deliver."
    return Section(
        "performance", "Performance and capacity", intro, points, _documents(tables), notes
    )


def _sla(c: Comparison, simulation: Simulation | None, analysis: Analysis | None) -> Section:
    sc = c.scenario
    names = [t.name for t in sc.tenants]
    tables: list[Table] = []
    points, notes = [], []
    if simulation is None:
        notes.append(missing("CPU SLA attainment or interference", "simulation"))
    else:
        tables += simulation_tables(simulation)[1]
        for x in simulation.results:
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
        tables += failure_tables(fails, sc)
        notes += _notes([(f.name, f.notes) for f in fails])
    intro = "Soft cgroup shares on a shared kernel versus hard VM reservations, and failures."
    return Section("sla", "Resource guarantees and SLAs", intro, points, _documents(tables), notes)


def _isolation(c: Comparison, analysis: Analysis | None) -> Section:
    sc = c.scenario
    intro = "Who shares a kernel (a host) with whom, and how far an escape reaches."
    iso = _analysed(analysis, "isolation")
    if not iso:
        notes = [missing("kernel-sharing graph or blast radius", "isolation analysis")]
        return Section("isolation", "Security and isolation", intro, notes=notes)
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
    tables = _documents(isolation_tables(iso, sc))
    return Section("isolation", "Security and isolation", intro, points, tables, notes)


def _versions(c: Comparison, analysis: Analysis | None) -> Section:
    life = _analysed(analysis, "lifecycle")
    intro = "Kubernetes versions over the years: upgrades, tenants forced along, support."
    if not life:
        notes = [missing("version timeline", "lifecycle analysis")]
        return Section("versions", "Kubernetes versions", intro, notes=notes)
    tables = _documents(lifecycle_tables(life, c.scenario))
    points = [f"blocked drain on {s.name}: {d}" for s in life for d in s.blocked_drains[:5]]
    notes = _notes([(s.name, s.notes) for s in life])
    return Section("versions", "Kubernetes versions", intro, points, tables, notes)


def _cost(c: Comparison, costs: Sequence[SubstrateCost]) -> Section:
    intro = "Capex, power, hypervisor licences and operations, a month."
    if not costs:
        notes = [missing("operations cost or energy", "cost analysis")]
        return Section("cost", "Cost", intro, tables=[placement_cost_table(c)], notes=notes)
    tables = _documents(cost_tables(costs, c.scenario))
    notes = _notes([(s.name, s.notes) for s in costs])
    return Section("cost", "Cost", intro, tables=tables, notes=notes)


def report_sections(
    comparison: Comparison,
    simulation: Simulation | None = None,
    analysis: Analysis | None = None,
    decision: Decision | None = None,
) -> list[Section]:
    """The report's sections after the verdict, in order (plain, unescaped text)."""
    costs = _analysed(analysis, "cost")
    return [
        scorecard_section(decision),
        _performance(comparison, simulation, costs),
        _sla(comparison, simulation, analysis),
        _isolation(comparison, analysis),
        _versions(comparison, analysis),
        _cost(comparison, costs),
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
