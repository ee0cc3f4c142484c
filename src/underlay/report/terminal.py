"""Terminal output: Rich tables built from the column declarations.

Names come from user input and are shown literally: a tenant may be called ``[red]x``,
``[/bold]``, ``:smile:`` or ``a\\``. No user string is ever read as Rich markup (or as an
emoji code). Markup is written only here, as fixed templates whose ``{}`` slots
:func:`markup_line` fills with plain text; the substrate rows of the column declarations
are plain text and go into tables as :class:`~rich.text.Text`; the per-tenant cells
(``tenant_cell`` and friends) are markup made of figures and fixed words only.

``rich.markup.escape`` on each name is not enough: an escaped name ending in a backslash
shows the backslash twice when plain text follows it, two escaped names can make a tag
between them (``[b`` ... ``c]``), and emoji codes are not escaped at all.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.control import strip_control_codes
from rich.text import Span, Text

from underlay.analysis.cost import SubstrateCost
from underlay.analysis.results import Analysis, Comparison
from underlay.model.scenario import Scenario, Tenant
from underlay.report.columns import Column, substrate_columns, tenant_cell
from underlay.report.document import Table, notes_once, transposed
from underlay.report.fitting import Grid, print_grid
from underlay.simulation.results import Simulation

__all__ = [
    "grid_of",
    "markup_line",
    "render_analysis",
    "render_comparison",
    "render_simulation",
]

_SLOT = "\ue000"  # a private-use character marks a slot while the template is parsed


def markup_line(template: str, *values: object) -> Text:
    """``template`` (Rich markup, ``{}`` for each slot) with ``values`` in the slots.

    The values are plain text: styled by the tags around their slot, never parsed as
    markup or emoji codes, so ``markup_line("[bold]{}[/bold]", "[red]x")`` shows
    ``[red]x`` in bold. ``str(value)`` is used for non-strings.
    """
    pieces = template.split("{}")
    if len(pieces) != len(values) + 1:
        raise ValueError(f"template has {len(pieces) - 1} slots for {len(values)} values")
    marked = Text.from_markup(_SLOT.join(pieces), emoji=False)
    plain = marked.plain
    slots = [i for i, ch in enumerate(plain) if ch == _SLOT]
    texts = [strip_control_codes(str(v)) for v in values]  # as Text() would
    parts: list[str] = []
    grown = [0]  # characters added before the k-th slot's end, for k slots passed
    start = 0
    for at, text in zip(slots, texts, strict=True):
        parts += [plain[start:at], text]
        grown.append(grown[-1] + len(text) - 1)
        start = at + 1
    parts.append(plain[start:])

    def moved(offset: int) -> int:
        # A tag around a slot stretches over its value; one ending at the slot stops before.
        return offset + grown[bisect_left(slots, offset)]

    return Text(
        "".join(parts),
        style=marked.style,
        justify=marked.justify,
        overflow=marked.overflow,
        end=marked.end,
        spans=[Span(moved(s.start), moved(s.end), s.style) for s in marked.spans],
    )


def _print(console: Console, line: Text, *, highlight: bool = True) -> None:
    """Print ``line`` as ``console.print`` prints a markup string: the console's
    highlighting (numbers, quoted text) under the line's own styles, unless turned off."""
    if highlight:
        shown = console.render_str(line.plain, markup=False, emoji=False)
        shown.copy_styles(line)
        line = shown
    console.print(line)


def grid_of(table: Table) -> Grid:
    """A document table (one label column) as a terminal grid: each row's unit dimmed
    beside its label, every cell plain text."""
    units = table.units or [""] * len(table.rows)
    labels = [
        Text.assemble(row[0], " ", (unit, "dim")) if unit else Text(row[0])
        for row, unit in zip(table.rows, units, strict=True)
    ]
    cells = [[Text(c) for c in row[1:]] for row in table.rows]
    return Grid(table.title, table.header[0], table.header[1:], labels, cells)


def _transposed(
    console: Console,
    title: str,
    columns: Sequence[Column[Any]],
    items: Sequence[Any],
    names: list[str],
) -> None:
    """One row per measure, one column per substrate, fitted to the console (its labels
    wrap before its figures; see :mod:`underlay.report.fitting`)."""
    print_grid(console, grid_of(transposed(title, columns, items, names)))


def _tenant_matrix(
    console: Console,
    title: str,
    sc: Scenario,
    names: list[str],
    max_tenants: int | None,
    subtitle: Callable[[Tenant], str],
    cells: Callable[[int], list[str]],
) -> None:
    """One row per tenant (at most ``max_tenants``), one column per substrate.

    ``subtitle`` is plain text under the tenant's name; ``cells`` are markup (figures only).
    """
    shown = sc.tenants if max_tenants is None else sc.tenants[:max_tenants]
    labels = [Text.assemble(t.name, "\n", (subtitle(t), "dim")) for t in shown]
    rows = [[Text.from_markup(cell, emoji=False) for cell in cells(i)] for i in range(len(shown))]
    grid = Grid(
        title, "tenant", names, labels, rows, justify="left", rules=True,
        whole=[t.name for t in shown],
    )  # fmt: skip
    print_grid(console, grid)
    if len(shown) < len(sc.tenants):
        console.print(
            f"[dim]… and {len(sc.tenants) - len(shown):,} more tenants "
            "(--all-tenants shows them; --json has every figure)[/dim]"
        )


def render_comparison(
    result: Comparison,
    console: Console,
    *,
    max_tenants: int | None = 25,
    costs: Sequence[SubstrateCost] | None = None,
) -> None:
    """Print the substrate table, the per-tenant table, and unplaced pods. With ``costs``
    (the cost analysis, one per substrate) the costs shown are its totals, so each
    substrate and tenant has one cost in the whole output."""
    sc = result.scenario
    mode = "sized by underlay" if result.scenario.hardware.inventory is None else "given inventory"
    _print(
        console,
        markup_line(
            "[bold]{}[/bold] — {} tenants, {}, strategy {}",
            sc.name, len(sc.tenants), mode, sc.placement.strategy,
        ),
    )  # fmt: skip
    names = [s.name for s in result.substrates]
    _transposed(console, "Substrates", substrate_columns(costs), result.substrates, names)
    _tenant_matrix(
        console, "Tenants (cost, hosts touched, what they give up)", sc, names, max_tenants,
        lambda t: f"{t.isolation}, {t.kubernetes_version}",
        lambda i: [
            tenant_cell(s.tenants[i], None if not costs else costs[j].tenants[i].per_month.total)
            for j, s in enumerate(result.substrates)
        ],
    )  # fmt: skip
    for s in result.substrates:
        if s.unplaced:
            _print(console, markup_line("[bold red]Unplaced pods on {}[/bold red]", s.name))
            for u in s.unplaced:
                pods = f"{u.pods:,} pod{'s' if u.pods != 1 else ''}"
                if u.resource == "hosts":  # no node to look at: the detail says it all
                    why = u.detail
                else:
                    why = (
                        f"{u.resource}: requested {u.requested:g}, largest free {u.free:g}, "
                        f"capacity {u.capacity:g}" + (f" ({u.detail})" if u.detail else "")
                    )
                if u.plugin:
                    why += f" [{u.plugin}]"
                if u.status != "Unschedulable":
                    why += "; more hosts would not help"
                line = markup_line(
                    "  {}/{}/{}: {} — {}", u.tenant, u.cluster, u.workload, pods, why
                )
                _print(console, line, highlight=False)
        for note in s.notes:
            _print(console, markup_line("[yellow]note[/yellow] ({}): {}", s.name, note))


def render_simulation(
    result: Simulation, console: Console, *, max_tenants: int | None = 25
) -> None:
    """Print the simulated measures per substrate, per tenant, and who hurt whom."""
    from underlay.report.simulation_columns import SIMULATION_ROWS, tenant_sim_cell

    sc = result.scenario
    sim = sc.simulation
    console.print(
        f"[bold]Over time[/bold] — {sim.horizon_hours:g} h at {sim.step_minutes:g}-minute steps, "
        f"seed {sim.seed}"
    )
    names = [r.name for r in result.results]
    _transposed(console, "Usage replayed", SIMULATION_ROWS, result.results, names)
    _tenant_matrix(
        console, "Tenants over time (unmet CPU, SLA, what hurt them)", sc, names, max_tenants,
        lambda t: f"SLA {t.sla.cpu_satisfaction_percent:g}%",
        lambda i: [tenant_sim_cell(r.tenants[i]) for r in result.results],
    )  # fmt: skip
    tenant_names = [t.name for t in sc.tenants]
    for r in result.results:
        pairs = r.who_hurt_whom(tenant_names)
        if pairs:
            text = "; ".join(
                f"{culprit} took {core_h:,.1f} core-h from {victim}"
                for victim, culprit, core_h in pairs
            )
            line = markup_line("[bold]who hurt whom on {}:[/bold] {}", r.name, text)
            _print(console, line, highlight=False)


def render_analysis(result: Analysis, console: Console, *, max_tenants: int | None = 25) -> None:
    """Print each analysed factor: a substrate table, a tenant table, and what went wrong."""
    for section in result.sections:
        if section == "isolation":
            _render_isolation(result, console, max_tenants)
        elif section == "lifecycle":
            _render_lifecycle(result, console, max_tenants)
        elif section == "cost":
            _render_cost(result, console, max_tenants)
        elif section == "failures":
            _render_failures(result, console, max_tenants)


def _factor_tables(
    console: Console,
    result: Analysis,
    max_tenants: int | None,
    items: Sequence[Any],
    heading: str,
    table: tuple[str, Sequence[Column[Any]]],
    matrix: tuple[str, Callable[[Tenant], str], Callable[[Any, int], str]],
) -> None:
    """One analysed factor: its heading, the substrate table (``table``: title, rows) and
    the tenant matrix (``matrix``: title, tenant subtitle, cell of a substrate's tenant)."""
    names = [a.name for a in result.substrates]
    console.print(heading)
    _transposed(console, table[0], table[1], items, names)
    title, subtitle, cell = matrix
    _tenant_matrix(
        console, title, result.scenario, names, max_tenants, subtitle,
        lambda i: [cell(s, i) for s in items],
    )  # fmt: skip


def _render_isolation(result: Analysis, console: Console, max_tenants: int | None) -> None:
    from underlay.report.isolation_columns import isolation_rows, tenant_isolation_cell

    sc = result.scenario
    isolation = [a.isolation for a in result.substrates if a.isolation is not None]
    classes = sorted({t.isolation for t in sc.tenants})
    _factor_tables(
        console, result, max_tenants, isolation,
        "[bold]Isolation[/bold] — who shares a kernel with whom, and how far an escape reaches",
        ("Isolation and blast radius", isolation_rows(classes)),
        ("Tenants: exposure to other tenants' escapes", lambda t: t.isolation,
         lambda s, i: tenant_isolation_cell(s.tenants[i])),
    )  # fmt: skip
    for s in isolation:
        for v in s.violations[:10]:
            rule = sc.isolation.rules[v.rule]
            line = markup_line(
                "[bold red]violation[/bold red] on {}: {} "
                "[dim](rule {}: {} and {} never share a {})[/dim]",
                s.name, v.describe(), v.rule + 1, *rule.between, rule.never_share,
            )  # fmt: skip
            _print(console, line, highlight=False)
        if len(s.violations) > 10:
            more = f"{len(s.violations) - 10:,}"
            _print(console, markup_line("  … and {} more on {} (--json)", more, s.name))
    _notes(console, [(s.name, s.notes) for s in isolation])


def _render_failures(result: Analysis, console: Console, max_tenants: int | None) -> None:
    from underlay.report.factor_columns import FAILURE_ROWS, tenant_failure_cell

    fails = [a.failures for a in result.substrates if a.failures is not None]
    first = fails[0]
    _factor_tables(
        console, result, max_tenants, fails,
        f"[bold]Failures[/bold] — host, rack and zone failures, {first.trials:,} simulated "
        f"{'year' if first.years == 1 else f'{first.years:g}-year period'}"
        f"{'' if first.trials == 1 else 's'}, seed {first.seed}",
        ("Failures and headroom", FAILURE_ROWS),
        ("Tenants: availability under failures (mean, worst 5 % of years)",
         lambda t: f"SLA {t.sla.availability_percent:g}%",
         lambda s, i: tenant_failure_cell(s.tenants[i])),
    )  # fmt: skip
    _notes(console, [(s.name, s.notes) for s in fails])


def _render_lifecycle(result: Analysis, console: Console, max_tenants: int | None) -> None:
    from underlay.report.factor_columns import LIFECYCLE_ROWS, tenant_lifecycle_cell

    life = [a.lifecycle for a in result.substrates if a.lifecycle is not None]
    first = life[0]
    _factor_tables(
        console, result, max_tenants, life,
        f"[bold]Kubernetes lifecycle[/bold] — {first.start} to {first.end} "
        f"({first.months} months), real release calendar",
        ("Upgrades and support", LIFECYCLE_ROWS),
        ("Tenants: upgrades, support, versions",
         lambda t: f"wants {t.kubernetes_version}, every {t.upgrade_cadence_months} mo, {t.support}",
         lambda s, i: tenant_lifecycle_cell(s.tenants[i])),
    )  # fmt: skip
    for s in life:
        for drain in s.blocked_drains[:5]:
            line = markup_line(
                "[yellow]blocked drain[/yellow] on {}: {} (its disruption budget allows no "
                "pod down)",
                s.name, drain,
            )  # fmt: skip
            _print(console, line, highlight=False)
    _notes(console, [(s.name, s.notes) for s in life])


def _render_cost(result: Analysis, console: Console, max_tenants: int | None) -> None:
    from underlay.report.factor_columns import COST_ROWS, tenant_cost_cell

    costs = [a.cost for a in result.substrates if a.cost is not None]
    _factor_tables(
        console, result, max_tenants, costs,
        "[bold]Cost and energy[/bold] — capex, power on the host curve at the "
        f"{costs[0].power_basis} load, licences, ops",
        ("Cost", COST_ROWS),
        ("Tenants: cost, energy, cost per SLA-met pod-hour",
         lambda t: f"{sum(w.replicas for c in t.clusters for w in c.workloads):,} pods",
         lambda s, i: tenant_cost_cell(s.tenants[i])),
    )  # fmt: skip
    _notes(console, [(s.name, s.notes) for s in costs])


def _notes(console: Console, per_substrate: list[tuple[str, list[str]]]) -> None:
    """Each distinct note once, naming the substrates it applies to (all: none named)."""
    for note, where in notes_once(per_substrate):
        scope = f" ({where})" if where else ""
        _print(console, markup_line("[yellow]note[/yellow]{}: {}", scope, note), highlight=False)
