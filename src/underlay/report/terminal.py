"""Terminal output: Rich tables built from the column declarations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from underlay.model.scenario import Scenario, Tenant
from underlay.pipeline import Comparison, Simulation
from underlay.report.columns import SUBSTRATE_COLUMNS, Column, tenant_cell

__all__ = ["render_comparison", "render_simulation"]


def _transposed(
    title: str, columns: Sequence[Column[Any]], items: Sequence[Any], names: list[str]
) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right")
    for col in columns:
        label = f"{col.title} [dim]{col.unit}[/dim]" if col.unit else col.title
        table.add_row(label, *(col.text(item) for item in items))
    return table


def _tenant_matrix(
    console: Console,
    title: str,
    sc: Scenario,
    names: list[str],
    max_tenants: int | None,
    subtitle: Callable[[Tenant], str],
    cells: Callable[[int], list[str]],
) -> None:
    """One row per tenant (at most ``max_tenants``), one column per substrate."""
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("tenant")
    for name in names:
        table.add_column(name)
    shown = sc.tenants if max_tenants is None else sc.tenants[:max_tenants]
    for i, tenant in enumerate(shown):
        label = f"{tenant.name}\n[dim]{subtitle(tenant)}[/dim]"
        table.add_row(label, *cells(i), end_section=True)
    console.print(table)
    if len(shown) < len(sc.tenants):
        console.print(
            f"[dim]… and {len(sc.tenants) - len(shown):,} more tenants "
            "(--all-tenants shows them; --json has every figure)[/dim]"
        )


def render_comparison(
    result: Comparison, console: Console, *, max_tenants: int | None = 25
) -> None:
    """Print the substrate table, the per-tenant table, and unplaced pods."""
    sc = result.scenario
    mode = "sized by underlay" if result.scenario.hardware.inventory is None else "given inventory"
    console.print(
        f"[bold]{sc.name}[/bold] — {len(sc.tenants)} tenants, {mode}, strategy {sc.placement.strategy}"
    )
    names = [s.name for s in result.substrates]
    console.print(_transposed("Substrates", SUBSTRATE_COLUMNS, result.substrates, names))
    _tenant_matrix(
        console, "Tenants (cost, hosts touched, what they give up)", sc, names, max_tenants,
        lambda t: f"{t.isolation}, {t.kubernetes_version}",
        lambda i: [tenant_cell(s.tenants[i]) for s in result.substrates],
    )  # fmt: skip
    for s in result.substrates:
        if s.unplaced:
            console.print(f"[bold red]Unplaced pods on {s.name}[/bold red]")
            for u in s.unplaced:
                pods = f"{u.pods:,} pod{'s' if u.pods != 1 else ''}"
                if u.resource == "hosts":  # no node to look at: the detail says it all
                    why = u.detail
                else:
                    why = (
                        f"{u.resource}: requested {u.requested:g}, largest free {u.free:g}, "
                        f"capacity {u.capacity:g}" + (f" ({u.detail})" if u.detail else "")
                    )
                console.print(
                    f"  {u.tenant}/{u.cluster}/{u.workload}: {pods} — {why}", highlight=False
                )
        for note in s.notes:
            console.print(f"[yellow]note[/yellow] ({s.name}): {note}")


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
    console.print(_transposed("Usage replayed", SIMULATION_ROWS, result.results, names))
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
            console.print(f"[bold]who hurt whom on {r.name}:[/bold] {text}", highlight=False)
