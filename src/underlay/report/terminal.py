"""Terminal output: the report's tables (:mod:`underlay.report.tables`) as Rich tables.

Names come from user input and are shown literally: a tenant may be called ``[red]x``,
``[/bold]``, ``:smile:`` or ``a\\``. No user string is ever read as Rich markup (or as an
emoji code). Markup is written only here, as fixed templates whose ``{}`` slots
:func:`markup_line` fills with plain text; every table cell is plain text and goes into
its table as :class:`~rich.text.Text`.

``rich.markup.escape`` on each name is not enough: an escaped name ending in a backslash
shows the backslash twice when plain text follows it, two escaped names can make a tag
between them (``[b`` ... ``c]``), and emoji codes are not escaped at all.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

from rich.console import Console
from rich.control import strip_control_codes
from rich.text import Span, Text

from underlay.analysis.cost import SubstrateCost
from underlay.analysis.results import Analysis, Comparison
from underlay.report.document import Table, notes_once
from underlay.report.fitting import Grid, print_grid
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

__all__ = [
    "grid_of",
    "markup_line",
    "render_analysis",
    "render_comparison",
    "render_simulation",
    "show_tables",
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


def grid_of(table: Table, max_rows: int | None = None) -> Grid:
    """A document table as a terminal grid: its first column the row labels (each row's
    unit dimmed beside its label; a second label column dimmed under the first), at most
    ``max_rows`` rows; every cell plain text."""
    rows = table.rows if max_rows is None else table.rows[:max_rows]
    units = list(table.units) or [""] * len(table.rows)
    left = max(table.left, 1)
    labels = [
        Text.assemble(row[0], " ", (unit, "dim")) if unit else Text(row[0])
        for row, unit in zip(rows, units, strict=False)
    ]
    corner = table.header[0]
    if left == 2:
        labels = [Text.assemble(row[0], "\n", (row[1], "dim")) for row in rows]
        corner = f"{corner} ({table.header[1]})"
    right = table.right_aligned()[left:]
    return Grid(
        table.title,
        corner,
        table.header[left:],
        labels,
        [[Text(c) for c in row[left:]] for row in rows],
        justify=["right" if r else "left" for r in right],
        rules=left == 2,
        whole=[row[0] for row in rows] if table.tenants else (),
    )


def show_tables(console: Console, tables: Sequence[Table], max_tenants: int | None = None) -> None:
    """Print the tables of ``tables`` the terminal shows (their ``views``), each fitted to
    the console (:mod:`underlay.report.fitting`), a table of tenants cut to its first
    ``max_tenants`` rows with a line saying how many more there are."""
    for table in tables:
        if "terminal" not in table.views:
            continue
        cut = max_tenants if table.tenants else None
        print_grid(console, grid_of(table, cut))
        if cut is not None and len(table.rows) > cut:
            console.print(
                f"[dim]… and {len(table.rows) - cut:,} more tenants "
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
            sc.name,
            len(sc.tenants),
            mode,
            sc.placement.strategy,
        ),
    )
    tables = placement_tables(result, costs)
    if not costs:  # else the cost analysis shows each tenant's cost
        tables.append(placement_cost_table(result))
    show_tables(console, tables, max_tenants)
    for s in result.substrates:
        if s.unplaced:
            _print(console, markup_line("[bold red]Unplaced pods on {}[/bold red]", s.name))
            for u in s.unplaced:
                pods = f"{u.pods:,} pod{'s' if u.pods != 1 else ''}"
                why = unplaced_why(u)
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
    sc = result.scenario
    sim = sc.simulation
    console.print(
        f"[bold]Over time[/bold] — {sim.horizon_hours:g} h at {sim.step_minutes:g}-minute steps, "
        f"seed {sim.seed}"
    )
    work, guarantees = simulation_tables(result)
    show_tables(console, [*work, *guarantees], max_tenants)
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


def _render_isolation(result: Analysis, console: Console, max_tenants: int | None) -> None:
    sc = result.scenario
    isolation = [a.isolation for a in result.substrates if a.isolation is not None]
    console.print(
        "[bold]Isolation[/bold] — who shares a kernel with whom, and how far an escape reaches"
    )
    show_tables(console, isolation_tables(isolation, sc), max_tenants)
    for s in isolation:
        for v in s.violations[:10]:
            rule = sc.isolation.rules[v.rule]
            line = markup_line(
                "[bold red]violation[/bold red] on {}: {} "
                "[dim](rule {}: {} and {} never share a {})[/dim]",
                s.name,
                v.describe(),
                v.rule + 1,
                *rule.between,
                rule.never_share,
            )
            _print(console, line, highlight=False)
        if len(s.violations) > 10:
            more = f"{len(s.violations) - 10:,}"
            _print(console, markup_line("  … and {} more on {} (--json)", more, s.name))
    _notes(console, [(s.name, s.notes) for s in isolation])


def _render_failures(result: Analysis, console: Console, max_tenants: int | None) -> None:
    fails = [a.failures for a in result.substrates if a.failures is not None]
    console.print("[bold]Failures[/bold] — host, rack and zone failures, and the headroom")
    show_tables(console, failure_tables(fails, result.scenario), max_tenants)
    _notes(console, [(s.name, s.notes) for s in fails])


def _render_lifecycle(result: Analysis, console: Console, max_tenants: int | None) -> None:
    life = [a.lifecycle for a in result.substrates if a.lifecycle is not None]
    console.print("[bold]Kubernetes lifecycle[/bold] — on the real release calendar")
    show_tables(console, lifecycle_tables(life, result.scenario), max_tenants)
    for s in life:
        for drain in s.blocked_drains[:5]:
            line = markup_line(
                "[yellow]blocked drain[/yellow] on {}: {} (its disruption budget allows no "
                "pod down)",
                s.name,
                drain,
            )
            _print(console, line, highlight=False)
    _notes(console, [(s.name, s.notes) for s in life])


def _render_cost(result: Analysis, console: Console, max_tenants: int | None) -> None:
    costs = [a.cost for a in result.substrates if a.cost is not None]
    console.print("[bold]Cost and energy[/bold] — capex, power on the host curve, licences, ops")
    show_tables(console, cost_tables(costs, result.scenario), max_tenants)
    _notes(console, [(s.name, s.notes) for s in costs])


def _notes(console: Console, per_substrate: list[tuple[str, list[str]]]) -> None:
    """Each distinct note once, naming the substrates it applies to (all: none named)."""
    for note, where in notes_once(per_substrate):
        scope = f" ({where})" if where else ""
        _print(console, markup_line("[yellow]note[/yellow]{}: {}", scope, note), highlight=False)
