"""The Kubernetes version lifecycle of one substrate over a multi-year horizon.

Time runs in calendar months from ``lifecycle.start`` (default: the release calendar's
``as_of`` day, so results never depend on the day underlay runs) for ``horizon_years``
(rounded to whole months); month ``m`` begins ``m`` calendar months after the start.
Upgrades happen on the first day of a month; a month's version is the one running after
that day's upgrade. Release and end-of-support dates come from
:mod:`underlay.defaults.releases` (estimated past the data).

A tenant's own plan: run its wanted ``kubernetes_version`` (released by the start, else
an error); every ``upgrade_cadence_months`` upgrade to the newest minor released by that
day (nothing happens when it is already there). The control plane climbs one minor at a
time (one control-plane step per minor jumped); the nodes are rolled as few times as the
kubelet skew allows (``ceil(jump / 3)`` since 1.28). A tenant that ``must_stay_supported``
but whose cadence is longer than the shortest support window on its channel (among the
versions from its wanted one to the newest released by the end) can never stay supported:
ScenarioError on ``tenants[i].upgrade_cadence_months``.

Per substrate:

- ``baremetal-dedicated``: each tenant cluster follows its tenant's plan. A node roll
  reimages every worker host of the cluster (``lifecycle.baremetal_reprovision_minutes``),
  ``nodes_in_parallel`` at a time, without surge: a group's pods must fit in the free
  capacity of the cluster's other hosts plus ``spare_hosts_per_cluster`` empty hosts (the
  size of its largest host), else they wait (pending) until their host is back. Surge hosts
  needed = the fewest extra empty hosts with which no pod of any group waits, beyond the
  spares.
- ``vm``: each cluster follows its tenant's plan. A node roll replaces each worker VM
  (its hypervisor's ``vm_replace_minutes``), ``nodes_in_parallel`` at a time, surge first (a new VM
  of the same shape before the old one drains, maxSurge = ``nodes_in_parallel``): that needs
  room for ``nodes_in_parallel`` VMs of each of the cluster's shapes on the hosts' free
  capacity; where there is none the roll goes without surge, as on bare metal. Versions per
  host (VMs of different clusters on one host) change with the plans; the maximum over all
  months is reported.
- ``baremetal-shared`` / ``sandboxed``: one cluster at the substrate's ``kubernetes_version``
  (or the one placement chose); it upgrades every ``upgrade_cadence_months`` (default: the
  shortest cadence of its tenants) to the newest minor, rolling its hosts as on dedicated
  bare metal, and every tenant is forced along. Forced upgrades of a tenant = shared upgrades
  in months its own plan would not have upgraded; months off its own version = months the
  shared version differs from its own plan's.
- ``hybrid``: each part's clusters as on its substrate; every shared-cluster part is a
  shared cluster of its own (the version its substrate picked for its tenants, its cadence,
  its hosts rolled), its events labelled ``shared (PART)`` when there are several. A tenant
  with halves in two shared parts is counted on both clusters' events but runs the first
  one's versions.

Disruption of a node roll: every pod on a rolled node is evicted once (``pods_disrupted``
adds each roll). A group of nodes drains in waves: a workload with more replicas on the
group than its PodDisruptionBudget allows (``DisruptionBudget.allowed(replicas)``) needs
``ceil(replicas on the group / allowed)`` waves; each wave is one pod start
(``failures.pod_start_minutes``); the group takes its largest wave count. A budget that
allows 0 blocks the drain: the workload is reported by name (``tenant/cluster/workload``),
its pods counted as evicted once the operator forces it (one wave). A roll lasts, per group
of nodes, waves × pod start + reimage (or VM replace) time; ``drain_hours`` is that
duration, summed over rolls.

Whether displaced pods fit is checked against the *aggregate* free CPU, memory, pod slots
and GPU of the other nodes (optimistic: it ignores how the free capacity is split among
hosts), smallest pods first; the pods that do not fit wait. A tenant's months out of
support count the days of each month on which it runs a version at or past its channel's
end of support, as a fraction of that month.

Not modelled: the time control-plane steps take (they evict no tenant pods), patch
upgrades, anti-affinity of displaced pods, budgets that stall because displaced pods cannot
start, and rolls of different clusters overlapping (surge room is checked per cluster).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.node_rolls import ClusterRoll, NodeRolls
from underlay.defaults.catalog import Defaults
from underlay.defaults.releases import (
    ReleaseCalendar,
    format_version,
    release_calendar,
)
from underlay.defaults.upgrade_plans import (
    Loc,
    UpgradePlan,
    add_months,
    lifecycle_problems,
    months_out_of_support,
    unreleased,
    upgrade_plan,
)
from underlay.errors import ScenarioError
from underlay.model.scenario import (
    BaremetalShared,
    Hybrid,
    Sandboxed,
    Scenario,
    SupportChannel,
    Tenant,
)
from underlay.placement.result import SHARED_CLUSTER, SHARED_KINDS, SubstratePlacement

__all__ = [
    "ClusterRoll",
    "SubstrateLifecycle",
    "TenantLifecycle",
    "UpgradeEvent",
    "analyse_lifecycle",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
SHARED = "shared"


@dataclass(frozen=True)
class UpgradeEvent:
    """One upgrade of one cluster (``tenant/cluster``, or ``shared``)."""

    date: date
    cluster: str
    tenants: list[str]
    from_version: str
    to_version: str
    control_plane_steps: int
    node_rolls: int
    pods_disrupted: int
    pods_waiting: int
    drain_hours: float
    blocked_drains: list[str]


@dataclass(frozen=True)
class TenantLifecycle:
    """One tenant on one substrate over the horizon."""

    name: str
    support: str
    wanted_version: str
    upgrade_cadence_months: int
    final_version: str  # running at the end of the horizon
    own_final_version: str  # its own plan's at the end
    upgrade_events: int
    forced_upgrades: int
    control_plane_steps: int
    node_rolls: int
    months_out_of_support: float
    months_off_own_version: int
    pods_disrupted: int
    pods_waiting: int
    drain_hours: float
    blocked_drains: list[str]
    version_by_month: list[str]


@dataclass(frozen=True)
class SubstrateLifecycle:
    """The lifecycle of one substrate: per tenant (scenario order), events and totals."""

    kind: str
    name: str
    start: date
    end: date
    months: int
    shared_cadence_months: int | None
    tenants: list[TenantLifecycle]
    events: list[UpgradeEvent]
    clusters: list[ClusterRoll]
    upgrade_events: int
    control_plane_steps: int
    node_rolls: int
    pods_disrupted: int
    pods_waiting: int
    drain_hours: float
    forced_upgrades: int
    months_out_of_support: float
    tenants_out_of_support: int
    versions_per_host_max: int
    surge_hosts_needed: int
    clusters_without_surge_room: int
    blocked_drains: list[str]
    notes: list[str] = field(default_factory=list)


def analyse_lifecycle(
    scenario: Scenario, defaults: Defaults, placement: SubstratePlacement
) -> SubstrateLifecycle:
    """The version lifecycle of ``placement``'s substrate (model: see the module docstring)."""
    cal = release_calendar()
    settings = scenario.lifecycle
    start = settings.start or cal.as_of
    months = max(1, round(settings.horizon_years * 12))
    starts = [add_months(start, m) for m in range(months + 1)]
    ords = np.array([d.toordinal() for d in starts], np.int64)
    wanted = _check_tenants(scenario, cal)
    plans = [
        upgrade_plan(cal, wanted[i], t.upgrade_cadence_months, starts)
        for i, t in enumerate(scenario.tenants)
    ]
    rolls = NodeRolls(scenario, defaults, placement)
    T = len(scenario.tenants)
    names = [t.name for t in scenario.tenants]
    units, running, forced, cadence = _units(scenario, placement, cal, plans, wanted, starts)
    events: list[UpgradeEvent] = []
    clusters: list[ClusterRoll] = []
    rolling: list[ClusterRoll] = []  # clusters that do roll nodes within the horizon
    acc = {k: np.zeros(T) for k in ("events", "steps", "rolls", "pods", "wait", "hours")}
    blocked: list[set[str]] = [set() for _ in range(T)]
    for label, index, who, plan, rows in units:
        roll, waiting = rolls.cluster(label, index, [names[i] for i in who], rows)
        clusters.append(roll)
        if plan.upgrades and roll.nodes:
            rolling.append(roll)
        pods = rolls.tenant_pods(index, rows)
        for m, a, b in plan.upgrades:
            ev = _event(cal, starts[m], label, [names[i] for i in who], a, b, roll)
            events.append(ev)
            acc["events"][who] += 1
            acc["steps"][who] += ev.control_plane_steps
            acc["rolls"][who] += ev.node_rolls
            acc["hours"][who] += ev.drain_hours
            acc["pods"] += ev.node_rolls * pods
            acc["wait"] += ev.node_rolls * waiting
        for i in who if plan.upgrades and roll.nodes else []:
            blocked[i] |= {n for n in roll.blocked_drains if n.startswith(names[i] + "/")}
    events.sort(key=lambda e: e.date)  # stable: clusters keep scenario order within a day
    tenants = _tenant_rows(scenario, cal, wanted, plans, running, forced, acc, blocked, ords)
    used = np.unique(np.concatenate(running))
    notes = _notes(cal, used, {t.support for t in scenario.tenants})
    return SubstrateLifecycle(
        kind=placement.kind,
        name=placement.name,
        start=start,
        end=starts[-1],
        months=months,
        shared_cadence_months=cadence,
        tenants=tenants,
        events=events,
        clusters=clusters,
        upgrade_events=len(events),
        control_plane_steps=sum(e.control_plane_steps for e in events),
        node_rolls=sum(e.node_rolls for e in events),
        pods_disrupted=sum(e.pods_disrupted for e in events),
        pods_waiting=sum(e.pods_waiting for e in events),
        drain_hours=float(sum(e.drain_hours for e in events)),
        forced_upgrades=int(forced.sum()),
        months_out_of_support=float(sum(t.months_out_of_support for t in tenants)),
        tenants_out_of_support=sum(1 for t in tenants if t.months_out_of_support > 0),
        versions_per_host_max=rolls.versions_per_host_max(
            [running[r.tenant_index] for r in placement.clusters]
        ),
        surge_hosts_needed=sum(c.surge_hosts_needed for c in rolling),
        clusters_without_surge_room=sum(1 for c in rolling if not c.surge_fits),
        blocked_drains=sorted({n for c in rolling for n in c.blocked_drains}),
        notes=notes,
    )


_Unit = tuple[str, int, list[int], UpgradePlan, tuple[int, int] | None]


@dataclass(frozen=True)
class _SharedCluster:
    """One shared cluster: its substrate, where its version is written, its tenants, the
    version placement chose for them, and its rows of the node table (None: all)."""

    substrate: BaremetalShared | Sandboxed
    where: str
    tenants: list[int]
    version: str | None
    label: str
    nodes: tuple[int, int] | None


def _shared_clusters(scenario: Scenario, placement: SubstratePlacement) -> list[_SharedCluster]:
    """The placement's shared clusters: a pure shared substrate's one, or each shared part
    of a hybrid (its own version, tenants and nodes; labelled ``shared (PART)`` when a
    hybrid has several)."""
    substrate = scenario.substrate(placement.name)
    si = scenario.substrates.index(substrate)
    if isinstance(substrate, BaremetalShared | Sandboxed):
        T = len(scenario.tenants)
        where = f"substrates[{si}]"
        return [
            _SharedCluster(substrate, where, list(range(T)), placement.shared_version, SHARED, None)
        ]
    if not isinstance(substrate, Hybrid):
        return []
    placed = placement.shared_parts()
    names = [part.name for part in substrate.parts]
    out = []
    for pp in placed:
        pi = names.index(pp.name)
        sub = substrate.parts[pi].substrate
        if not isinstance(sub, BaremetalShared | Sandboxed):  # never: pp is a shared part
            continue
        label = SHARED if len(placed) == 1 else f"{SHARED} ({pp.name})"
        where = f"substrates[{si}].parts[{pi}].substrate"
        out.append(_SharedCluster(sub, where, list(pp.tenants), pp.shared_version, label, pp.nodes))
    return out


def _units(
    scenario: Scenario,
    placement: SubstratePlacement,
    cal: ReleaseCalendar,
    plans: list[UpgradePlan],
    wanted: list[int],
    starts: list[date],
) -> tuple[list[_Unit], list[I64], I64, int | None]:
    """The clusters that upgrade as one — (label, cluster index, tenants on it, its plan,
    its node rows) —, each tenant's versions month by month, its forced upgrades, and the
    shortest cadence of the shared clusters (None without one)."""
    running = [p.versions for p in plans]
    forced = np.zeros(len(scenario.tenants), np.int64)
    cadence: int | None = None
    units: list[_Unit] = []
    shared = _shared_clusters(scenario, placement)
    on_shared: set[int] = set()
    for sc in shared:
        members = [scenario.tenants[t] for t in sc.tenants]
        plan, every = _shared_plan(
            cal,
            sc.substrate,
            f"{sc.where}.kubernetes_version",
            sc.version,
            [wanted[t] for t in sc.tenants],
            members,
            starts,
        )
        cadence = every if cadence is None else min(cadence, every)
        units.append((sc.label, SHARED_CLUSTER, sc.tenants, plan, sc.nodes))
        # a tenant with halves in two shared parts runs the first one's versions
        for i in (t for t in sc.tenants if t not in on_shared):
            own_months = {m for m, _, _ in plans[i].upgrades}
            forced[i] = sum(1 for m, _, _ in plan.upgrades if m not in own_months)
            running[i] = plan.versions
        on_shared |= set(sc.tenants)
    # a tenant split by GPU workloads: its cluster's half outside the shared cluster
    # upgrades on its own (the tenant's plan), the shared half with the shared cluster
    apart = {
        placement.workloads[w].cluster_index
        for pp in placement.parts
        if pp.kind not in SHARED_KINDS
        for w in pp.workloads
    }
    for ref in placement.clusters:
        if ref.tenant_index not in on_shared or ref.index in apart:
            label = f"{ref.tenant.name}/{ref.cluster.name}"
            units.append((label, ref.index, [ref.tenant_index], plans[ref.tenant_index], None))
    return units, running, forced, cadence


def _shared_plan(
    cal: ReleaseCalendar,
    substrate: BaremetalShared | Sandboxed,
    where: str,
    default: str | None,
    wanted: list[int],
    tenants: list[Tenant],
    starts: list[date],
) -> tuple[UpgradePlan, int]:
    """The upgrade plan of a shared cluster and its cadence (its version, default
    ``default`` or the newest wanted; its cadence, default its tenants' shortest)."""
    version = substrate.kubernetes_version or default
    v0 = cal.parse(version or format_version(max(wanted)), where)
    _released_by(cal, v0, starts[0], where)
    cadence = substrate.upgrade_cadence_months or min(t.upgrade_cadence_months for t in tenants)
    return upgrade_plan(cal, v0, cadence, starts), cadence


def _tenant_rows(
    scenario: Scenario,
    cal: ReleaseCalendar,
    wanted: list[int],
    plans: list[UpgradePlan],
    running: list[I64],
    forced: I64,
    acc: dict[str, F64],
    blocked: list[set[str]],
    ords: I64,
) -> list[TenantLifecycle]:
    """One row per tenant."""
    tenants = []
    for i, t in enumerate(scenario.tenants):
        out = months_out_of_support(cal, t.support, running[i], ords)
        tenants.append(
            TenantLifecycle(
                name=t.name,
                support=t.support,
                wanted_version=format_version(wanted[i]),
                upgrade_cadence_months=t.upgrade_cadence_months,
                final_version=format_version(int(running[i][-1])),
                own_final_version=format_version(int(plans[i].versions[-1])),
                upgrade_events=int(acc["events"][i]),
                forced_upgrades=int(forced[i]),
                control_plane_steps=int(acc["steps"][i]),
                node_rolls=int(acc["rolls"][i]),
                months_out_of_support=out,
                months_off_own_version=int(np.count_nonzero(running[i] != plans[i].versions)),
                pods_disrupted=int(acc["pods"][i]),
                pods_waiting=int(acc["wait"][i]),
                drain_hours=float(acc["hours"][i]),
                blocked_drains=sorted(blocked[i]),
                version_by_month=[format_version(int(v)) for v in running[i]],
            )
        )
    return tenants


def _dotted(loc: Loc) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")


def _check_tenants(scenario: Scenario, cal: ReleaseCalendar) -> list[int]:
    """Each tenant's wanted minor; the first lifecycle problem as an error."""
    problems = lifecycle_problems(scenario)
    if problems:
        loc, message = problems[0]
        raise ScenarioError(f"{_dotted(loc)}: {message}")
    return [
        cal.parse(t.kubernetes_version, f"tenants[{i}].kubernetes_version")
        for i, t in enumerate(scenario.tenants)
    ]


def _released_by(cal: ReleaseCalendar, minor: int, start: date, field_name: str) -> None:
    late = unreleased(cal, minor, start)
    if late:
        raise ScenarioError(f"{field_name}: {late}")


def _event(
    cal: ReleaseCalendar,
    day: date,
    label: str,
    tenants: list[str],
    a: int,
    b: int,
    roll: ClusterRoll,
) -> UpgradeEvent:
    n = cal.node_rolls(a, b) if roll.nodes else 0  # a cluster with no worker node has none
    return UpgradeEvent(
        date=day,
        cluster=label,
        tenants=tenants,
        from_version=format_version(a),
        to_version=format_version(b),
        control_plane_steps=cal.control_plane_steps(a, b),
        node_rolls=n,
        pods_disrupted=n * roll.pods,
        pods_waiting=n * roll.pods_waiting,
        drain_hours=n * roll.hours,
        blocked_drains=list(roll.blocked_drains),
    )


def _notes(cal: ReleaseCalendar, used: I64, channels: set[SupportChannel]) -> list[str]:
    notes = []
    if int(used.max()) > cal.last:
        notes.append(
            f"Kubernetes {format_version(cal.last + 1)} and later are estimates: one release "
            f"every {cal.cadence_days:.0f} days after {format_version(cal.last)}"
        )
    for ch in sorted(channels):
        guessed = [int(m) for m in used if cal.is_extrapolated(int(m), ch)]
        if guessed:
            notes.append(
                f"{ch} end of support estimated for {', '.join(map(format_version, guessed))}: "
                f"median window {cal.window_days[ch]:.0f} days"
            )
    return notes
