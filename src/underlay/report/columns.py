"""Tables declared as fields (title, unit, accessor), rendered by each writer.

The comparison is shown transposed: one row per measure, one column per substrate; in a
terminal too narrow for every substrate side by side, the table is printed in parts
(:mod:`underlay.report.fitting`).

A column's title, unit and text are plain text, never markup: they may hold names from
user input (a tenant called ``[red]x`` or ``<b>``), so each writer escapes them for its
own format (the terminal adds them as :class:`rich.text.Text`). The tables of the report
are built from these declarations in :mod:`underlay.report.tables`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from underlay.analysis.capacity_results import SubstrateCapacity
from underlay.analysis.cost import SubstrateCost
from underlay.report.units import cores, gib, share, usd

__all__ = ["PLACEMENT_COST_UNIT", "SUBSTRATE_COLUMNS", "Column", "substrate_columns"]

Row = TypeVar("Row")

PLACEMENT_COST_UNIT = "USD / month, no ops, power at allocation"
"""The unit of the placement's own cost estimate (``cost_per_month_usd``): capex, licences
and power at the allocated (requested) load, without operations; shown where the cost
analysis did not run."""


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column: a title, a unit, and how to get the text of a row (all plain text,
    never markup: names in them are the user's, written as given)."""

    title: str
    unit: str
    text: Callable[[Row], str]
    justify: str = "right"


def _overhead(s: SubstrateCapacity) -> tuple[float, float]:
    cpu = sum(v.cpu_milli for k, v in s.overhead.items())
    mem = sum(v.memory_mib for k, v in s.overhead.items())
    return cpu, mem


def _throughput(s: SubstrateCapacity) -> str:
    # Work per CPU and per GPU relative to bare metal, from the cited defaults.
    gpu = f"{100 * s.gpu_efficiency:.0f}%" if s.capacity.gpu_milli else "–"
    return f"{100 * s.cpu_efficiency:.0f}% / {gpu}"


def _bound(s: SubstrateCapacity) -> str:
    # The bound is for placing every pod; with pods left over the ratio means nothing.
    if s.pods_placed < s.pods:
        return f"{s.hosts_lower_bound:,} (n/a: pods unplaced)"
    return f"{s.hosts_lower_bound:,} ({s.packing_ratio:.2f}×)"


def _modes(s: SubstrateCapacity) -> str:
    if not s.control_plane_modes:
        return "–"
    return ", ".join(f"{n} {mode}" for mode, n in sorted(s.control_plane_modes.items()))


def _stranded_cause(s: SubstrateCapacity) -> str:
    if not s.stranded:
        return "–"
    return max(s.stranded.items(), key=lambda kv: (kv[1].cpu_milli, kv[0]))[0].replace("_", " ")


SUBSTRATE_COLUMNS: list[Column[SubstrateCapacity]] = [
    Column(
        "hosts",
        "",
        # owned hosts left unopened are paid for too (analysis.cost)
        lambda s: f"{s.hosts:,}" + (f" (+{s.hosts_idle:,} idle)" if s.hosts_idle else ""),
    ),
    Column("LP lower bound", "hosts", _bound),
    Column("worker nodes", "", lambda s: f"{s.nodes:,}" + _vms(s.kind, s.vms)),
    Column("control-plane", "machines", lambda s: f"{s.control_plane_machines:,}"),
    Column("control planes", "clusters by mode", lambda s: _modes(s)),
    Column(
        "CPU alloc", "of capacity", lambda s: share(s.allocated.cpu_milli, s.capacity.cpu_milli)
    ),
    Column(
        "mem alloc", "of capacity", lambda s: share(s.allocated.memory_mib, s.capacity.memory_mib)
    ),
    Column(
        "GPU alloc", "of capacity", lambda s: share(s.allocated.gpu_milli, s.capacity.gpu_milli)
    ),
    Column("throughput", "CPU / GPU", _throughput),
    Column(
        "overhead", "cores / GiB", lambda s: f"{cores(_overhead(s)[0])} / {gib(_overhead(s)[1])}"
    ),
    Column(
        "VM burst room",
        "cores above requests",
        lambda s: cores(s.burst_room.cpu_milli) if s.kind == "vm" else "–",
    ),
    Column("stranded", "cores", lambda s: cores(sum(v.cpu_milli for v in s.stranded.values()))),
    Column("stranded mostly by", "", _stranded_cause),
    Column("versions", "per host (max)", lambda s: str(s.versions_per_host_max)),
    Column("tenants", "per kernel (max)", lambda s: str(s.tenants_per_kernel_max)),
    Column("cost", PLACEMENT_COST_UNIT, lambda s: usd(s.cost_per_month_usd, symbol=False)),
    Column("unplaced", "pods", lambda s: f"{s.pods - s.pods_placed:,}"),
]


def substrate_columns(
    costs: Sequence[SubstrateCost] | None = None,
) -> list[Column[SubstrateCapacity]]:
    """:data:`SUBSTRATE_COLUMNS`, and with the cost analysed (``costs``, one per substrate)
    its cost row the analysis's total instead: power at the simulated load, ops and idle
    owned hosts included, the figure the Cost table and the decision show. The placement's
    own estimate (power at the requested load) differs by a few per cent and would be a
    second cost per substrate; it stays in the JSON (``cost_per_month_usd``)."""
    if not costs:
        return SUBSTRATE_COLUMNS
    total = {c.name: c.per_month.total for c in costs}
    cost: Column[SubstrateCapacity] = Column(
        "cost",
        f"USD / month, power at the {costs[0].power_basis} load",
        lambda s: usd(total[s.name], symbol=False),
    )
    return [cost if c.title == "cost" else c for c in SUBSTRATE_COLUMNS]


def _vms(kind: str, vms: int) -> str:
    """ " VMs" after a vm substrate's node count (a hybrid's nodes are of both sorts)."""
    return " VMs" if vms and kind != "hybrid" else ""
