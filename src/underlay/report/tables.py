"""Every table of the report, declared once: the terminal and the documents show these.

Each function builds the tables of one stage or factor from its results, as plain text
(:class:`~underlay.report.document.Table`: rows of the column declarations in
:mod:`underlay.report.columns` and friends, or one figure per tenant and substrate), and
tags each with its ``views``: where it is shown. The documents (Markdown, HTML, CSV:
:mod:`underlay.report.sections`) show every table tagged ``document``; the terminal
(:mod:`underlay.report.terminal`) those tagged ``terminal``, its tenant tables cut to
the first few tenants. So a figure reads the same in every output, and a table exists in
one place only.

Texts here are plain and unescaped: names come from user input, so each writer escapes
them for its own format.
"""

from __future__ import annotations

from collections.abc import Sequence

from underlay.analysis.capacity_results import UnplacedRow
from underlay.analysis.cost import SubstrateCost
from underlay.analysis.failures import SubstrateFailures
from underlay.analysis.isolation import SubstrateIsolation
from underlay.analysis.lifecycle import SubstrateLifecycle
from underlay.analysis.results import Comparison
from underlay.model.scenario import Scenario
from underlay.report.columns import PLACEMENT_COST_UNIT, substrate_columns
from underlay.report.document import DOCUMENT, Table, per_tenant, transposed
from underlay.report.units import pct, times, usd
from underlay.simulation.results import Simulation

__all__ = [
    "cost_tables",
    "failure_tables",
    "isolation_tables",
    "lifecycle_tables",
    "placement_cost_table",
    "placement_tables",
    "simulation_tables",
    "unplaced_why",
]


def _tenants(sc: Scenario) -> list[str]:
    return [t.name for t in sc.tenants]


def placement_tables(c: Comparison, costs: Sequence[SubstrateCost] | None = None) -> list[Table]:
    """The substrates (placement and capacity; their cost the cost analysis's total when
    ``costs`` are given, else the placement's estimate) and where each tenant runs."""
    st = c.substrates

    def where(i: int, j: int) -> str:
        t = st[j].tenants[i]
        out = f"{t.hosts:,} host{'s' if t.hosts != 1 else ''}"
        if t.pods_placed < t.pods:
            out += f", {t.pods - t.pods_placed:,} pods unplaced"
        if t.shares_kernel_with:
            out += f", kernel shared with {len(t.shares_kernel_with)}"
        return out

    return [
        transposed("Substrates (placement and capacity)", substrate_columns(costs), st),
        per_tenant(
            "Hosts each tenant touches (pods unplaced, kernel shared)",
            _tenants(c.scenario),
            [s.name for s in st],
            where,
            ("class, version", lambda i: _class_version(c.scenario, i)),
        ),
    ]


def _class_version(sc: Scenario, i: int) -> str:
    t = sc.tenants[i]
    return f"{t.isolation}, {t.kubernetes_version}"


def unplaced_why(u: UnplacedRow) -> str:
    """Why pods of one workload were not placed, in words: the resource with the figures
    behind it (or the hosts' reason), the refusing plugin, and whether more hosts help."""
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
    return why


def placement_cost_table(c: Comparison) -> Table:
    """Each tenant's cost by the placement's own estimate (no cost analysis)."""
    st = c.substrates
    return per_tenant(
        f"Cost per tenant ({PLACEMENT_COST_UNIT})",
        _tenants(c.scenario),
        [s.name for s in st],
        lambda i, j: usd(st[j].tenants[i].cost_per_month_usd),
    )


def simulation_tables(simulation: Simulation) -> tuple[list[Table], list[Table]]:
    """(the work delivered: the usage replayed per substrate, each tenant's throughput and
    latency; the guarantees: each tenant's CPU SLA and unmet CPU demand). The terminal
    shows all but the throughput."""
    from underlay.report.simulation_columns import SIMULATION_ROWS

    sc = simulation.scenario
    r = simulation.results
    names, subs = _tenants(sc), [x.name for x in r]
    work = [
        transposed("Usage replayed over the horizon", SIMULATION_ROWS, r),
        per_tenant(
            "Throughput vs bare metal (%)",
            names,
            subs,
            lambda i, j: pct(r[j].tenants[i].throughput_percent, 0),
            views=DOCUMENT,
        ),
        per_tenant(
            "Latency p95 (× an idle host)",
            names,
            subs,
            lambda i, j: times(r[j].tenants[i].latency_inflation_p95),
        ),
    ]
    guarantees = [
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
    return work, guarantees


def failure_tables(fails: Sequence[SubstrateFailures], sc: Scenario) -> list[Table]:
    """Failures and headroom per substrate, and each tenant's availability SLA."""
    from underlay.report.factor_columns import FAILURE_ROWS

    first = fails[0]
    period = "year" if first.years == 1 else f"{first.years:g}-year period"
    return [
        transposed(
            f"Failures ({first.trials:,} simulated {period}"
            f"{'' if first.trials == 1 else 's'}, seed {first.seed})",
            FAILURE_ROWS,
            fails,
        ),
        per_tenant(
            "Availability SLA: share of years meeting it",
            _tenants(sc),
            [f.name for f in fails],
            lambda i, j: pct(100 * fails[j].tenants[i].sla_probability, 0),
            ("target", lambda i: pct(sc.tenants[i].sla.availability_percent, 2)),
        ),
    ]


def isolation_tables(iso: Sequence[SubstrateIsolation], sc: Scenario) -> list[Table]:
    """Kernels, blast radius and exposure per substrate, and each tenant's exposure."""
    from underlay.report.isolation_columns import isolation_rows

    classes = sorted({t.isolation for t in sc.tenants})
    return [
        transposed("Isolation and blast radius", isolation_rows(classes), iso),
        per_tenant(
            "Exposure: other tenants' escapes reaching the tenant, a year",
            _tenants(sc),
            [s.name for s in iso],
            lambda i, j: f"{iso[j].tenants[i].incidents_per_year:.2f}",
            ("class", lambda i: sc.tenants[i].isolation),
        ),
    ]


def lifecycle_tables(life: Sequence[SubstrateLifecycle], sc: Scenario) -> list[Table]:
    """Upgrades and support per substrate, and each tenant's version at the end."""
    from underlay.report.factor_columns import LIFECYCLE_ROWS

    first = life[0]

    def cell(i: int, j: int) -> str:
        t = life[j].tenants[i]
        forced = f", {t.forced_upgrades} forced" if t.forced_upgrades else ""
        unsupported = (
            f", {t.months_out_of_support:.1f} mo unsupported" if t.months_out_of_support else ""
        )
        upgrades = f"{t.upgrade_events} upgrade{'' if t.upgrade_events == 1 else 's'}"
        return f"{t.final_version} ({upgrades}{forced}{unsupported})"

    return [
        transposed(
            f"Upgrades and support, {first.start} to {first.end} ({first.months} months)",
            LIFECYCLE_ROWS,
            life,
        ),
        per_tenant(
            "Version at the end (upgrades on the way)",
            _tenants(sc),
            [s.name for s in life],
            cell,
            ("wants", lambda i: sc.tenants[i].kubernetes_version),
        ),
    ]


def cost_tables(costs: Sequence[SubstrateCost], sc: Scenario) -> list[Table]:
    """Cost and energy per substrate, each tenant's cost a month and per SLA-met pod-hour."""
    from underlay.report.factor_columns import COST_ROWS

    names, subs = _tenants(sc), [s.name for s in costs]

    def per_pod_hour(i: int, j: int) -> str:
        x = costs[j].tenants[i].cost_per_sla_met_pod_hour_usd
        return "–" if x is None else usd(x, digits=4)

    return [
        transposed(f"Cost and energy (power at the {costs[0].power_basis} load)", COST_ROWS, costs),
        per_tenant(
            "Cost per tenant, a month",
            names,
            subs,
            lambda i, j: usd(costs[j].tenants[i].per_month.total),
        ),
        per_tenant("Cost per SLA-met pod-hour", names, subs, per_pod_hour),
    ]
