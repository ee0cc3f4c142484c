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
  (``lifecycle.vm_replace_minutes``), ``nodes_in_parallel`` at a time, surge first (a new VM
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

import calendar as _cal
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.defaults.releases import (
    DAYS_PER_MONTH,
    ReleaseCalendar,
    format_version,
    release_calendar,
)
from underlay.errors import ScenarioError
from underlay.model.scenario import BaremetalShared, Sandboxed, Scenario, SupportChannel, Vm
from underlay.placement.result import SHARED_CLUSTER, WORKER, SubstratePlacement

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
class ClusterRoll:
    """What one node roll of one cluster costs (the same for every roll: placement is fixed)."""

    cluster: str
    tenants: list[str]
    nodes: int
    pods: int  # pods evicted by one roll
    hours: float  # one roll, first drain to last node back
    pod_start_waves: int  # drain waves over all node groups
    pods_waiting: int  # pods with no room while their node is down (one roll)
    surge_hosts_needed: int  # bare metal: hosts beyond the spares so that no pod waits
    surge_fits: bool  # vm: room for the surge VMs; bare metal: no surge host needed
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
    starts = [_add_months(start, m) for m in range(months + 1)]
    ords = np.array([d.toordinal() for d in starts], np.int64)
    newest_at_end = cal.newest_released(starts[-1]) or cal.first
    wanted = _check_tenants(scenario, cal, start, newest_at_end)
    plans = [
        _plan(cal, wanted[i], t.upgrade_cadence_months, starts)
        for i, t in enumerate(scenario.tenants)
    ]
    substrate = scenario.substrate(placement.name)
    rolls = _Rolls(scenario, defaults, placement)
    T = len(scenario.tenants)
    names = [t.name for t in scenario.tenants]
    running = [p.versions for p in plans]
    forced = np.zeros(T, np.int64)
    cadence: int | None = None
    # (label, cluster index, tenants on it, its plan)
    units: list[tuple[str, int, list[int], _Plan]] = []
    if isinstance(substrate, BaremetalShared | Sandboxed):
        where = f"substrates[{scenario.substrates.index(substrate)}].kubernetes_version"
        version = substrate.kubernetes_version or placement.shared_version
        v0 = cal.parse(version or format_version(max(wanted)), where)
        _released_by(cal, v0, start, where)
        cadence = substrate.upgrade_cadence_months or min(
            t.upgrade_cadence_months for t in scenario.tenants
        )
        plan = _plan(cal, v0, cadence, starts)
        units.append((SHARED, SHARED_CLUSTER, list(range(T)), plan))
        for i, own in enumerate(plans):
            own_months = {m for m, _, _ in own.upgrades}
            forced[i] = sum(1 for m, _, _ in plan.upgrades if m not in own_months)
        running = [plan.versions] * T
    else:
        for ref in placement.clusters:
            label = f"{ref.tenant.name}/{ref.cluster.name}"
            units.append((label, ref.index, [ref.tenant_index], plans[ref.tenant_index]))
    events: list[UpgradeEvent] = []
    clusters: list[ClusterRoll] = []
    acc = {k: np.zeros(T) for k in ("events", "steps", "rolls", "pods", "wait", "hours")}
    blocked: list[set[str]] = [set() for _ in range(T)]
    for label, index, who, plan in units:
        roll, waiting = rolls.cluster(label, index, [names[i] for i in who])
        clusters.append(roll)
        pods = rolls.tenant_pods(index)
        for m, a, b in plan.upgrades:
            ev = _event(cal, starts[m], label, [names[i] for i in who], a, b, roll)
            events.append(ev)
            acc["events"][who] += 1
            acc["steps"][who] += ev.control_plane_steps
            acc["rolls"][who] += ev.node_rolls
            acc["hours"][who] += ev.drain_hours
            acc["pods"] += ev.node_rolls * pods
            acc["wait"] += ev.node_rolls * waiting
        for i in who if plan.upgrades else []:
            blocked[i] |= {n for n in roll.blocked_drains if n.startswith(names[i] + "/")}
    events.sort(key=lambda e: e.date)  # stable: clusters keep scenario order within a day
    tenants = []
    for i, t in enumerate(scenario.tenants):
        out = _months_out(cal, t.support, running[i], ords)
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
        surge_hosts_needed=sum(c.surge_hosts_needed for c in clusters),
        clusters_without_surge_room=sum(1 for c in clusters if not c.surge_fits),
        blocked_drains=sorted({n for c in clusters for n in c.blocked_drains}),
        notes=notes,
    )


# --------------------------------------------------------------------------- plans


@dataclass(frozen=True)
class _Plan:
    versions: I64  # minor running in each month
    upgrades: list[tuple[int, int, int]]  # (month, from minor, to minor)


def _plan(cal: ReleaseCalendar, wanted: int, cadence: int, starts: list[date]) -> _Plan:
    """Start at ``wanted``; every ``cadence`` months go to the newest minor released then."""
    months = len(starts) - 1
    versions = np.full(months, wanted, np.int64)
    upgrades = []
    current = wanted
    for m in range(cadence, months, cadence):
        newest = cal.newest_released(starts[m]) or current
        if newest > current:
            upgrades.append((m, current, newest))
            current = newest
            versions[m:] = current
    return _Plan(versions, upgrades)


def _months_out(cal: ReleaseCalendar, channel: SupportChannel, versions: I64, ords: I64) -> float:
    """Months (fractions by days) run at or past the end of support on ``channel``."""
    ends = cal.end_ordinals(versions, channel)
    lo, hi = ords[:-1], ords[1:]
    days = np.clip(hi - np.maximum(lo, ends), 0, hi - lo)
    return float((days / (hi - lo)).sum())


def _check_tenants(
    scenario: Scenario, cal: ReleaseCalendar, start: date, newest_at_end: int
) -> list[int]:
    """Each tenant's wanted minor; errors for unknown, unreleased or impossible settings."""
    wanted = []
    for i, t in enumerate(scenario.tenants):
        where = f"tenants[{i}]"
        v = cal.parse(t.kubernetes_version, f"{where}.kubernetes_version")
        _released_by(cal, v, start, f"{where}.kubernetes_version")
        if t.must_stay_supported:
            minor, days = cal.shortest_window(t.support, v, max(v, newest_at_end))
            window = days / DAYS_PER_MONTH
            if t.upgrade_cadence_months > window:
                raise ScenarioError(
                    f"{where}.upgrade_cadence_months: impossible cadence: upgrading every "
                    f"{t.upgrade_cadence_months} months cannot keep {t.name} supported on "
                    f"{t.support}, whose shortest support window among the versions it would "
                    f"run is {window:.1f} months (Kubernetes {format_version(minor)}); upgrade "
                    f"at least every {int(window)} months or set must_stay_supported: false"
                )
        wanted.append(v)
    return wanted


def _released_by(cal: ReleaseCalendar, minor: int, start: date, field_name: str) -> None:
    released = cal.release_date(minor)
    if released > start:
        newest = cal.newest_released(start)
        hint = f"the newest then is {format_version(newest)}" if newest else "none is"
        raise ScenarioError(
            f"{field_name}: Kubernetes {format_version(minor)} is not released by the "
            f"lifecycle start {start} (released {released}"
            f"{', estimated' if cal.is_extrapolated(minor) else ''}); {hint}: choose it, or "
            f"set lifecycle.start to {released} or later"
        )


def _event(
    cal: ReleaseCalendar,
    day: date,
    label: str,
    tenants: list[str],
    a: int,
    b: int,
    roll: ClusterRoll,
) -> UpgradeEvent:
    n = cal.node_rolls(a, b)
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


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _cal.monthrange(year, month)[1]))


# ---------------------------------------------------------------------- node rolls


class _Rolls:
    """Per-cluster cost of one node roll, from the placement (see the module docstring)."""

    def __init__(self, scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> None:
        self.p, self.nodes = p, p.nodes
        settings = scenario.lifecycle
        self.parallel = settings.nodes_in_parallel
        self.pod_start = defaults.failures.pod_start_minutes
        substrate = scenario.substrate(p.name)
        self.vm = substrate if isinstance(substrate, Vm) else None
        life = defaults.lifecycle
        self.replace = life.vm_replace_minutes if self.vm else life.baremetal_reprovision_minutes
        self.spare = 0 if self.vm else settings.spare_hosts_per_cluster
        self.tenant_names = [t.name for t in scenario.tenants]
        n_w = len(p.workloads)
        lens = np.array([len(x) for x in p.pod_nodes], np.int64)
        self.e_node = np.concatenate([*p.pod_nodes, np.zeros(0, np.int64)]).astype(np.int64)
        self.e_count = np.concatenate([*p.pod_counts, np.zeros(0, np.int64)]).astype(np.int64)
        self.e_wl = np.repeat(np.arange(n_w, dtype=np.int64), lens)
        extra = (0, 0)
        if isinstance(substrate, Sandboxed) and substrate.runtime in defaults.sandbox_runtimes:
            o = defaults.sandbox_runtimes[substrate.runtime].pod_overhead
            extra = (o.cpu_milli, o.memory_mib)
        self.size = np.array(  # per workload, per pod: cpu, memory, pod slot, GPU
            [
                [w.workload.requests.cpu_milli + extra[0], w.workload.requests.memory_mib + extra[1],
                 1, w.workload.gpu_count * w.workload.gpu_milli]
                for w in p.workloads
            ] or np.zeros((0, 4)),
            np.float64,
        ).reshape(n_w, 4)  # fmt: skip
        budgets = [w.workload.disruption_budget for w in p.workloads]
        self.allowed = np.array(
            [b.allowed(w.workload.replicas) if b else max(1, w.workload.replicas)
             for b, w in zip(budgets, p.workloads, strict=True)],
            np.int64,
        )  # fmt: skip
        self.wl_name = [
            f"{p.clusters[w.cluster_index].tenant.name}/"
            f"{p.clusters[w.cluster_index].cluster.name}/{w.workload.name}"
            for w in p.workloads
        ]
        self.wl_tenant = np.array([w.tenant_index for w in p.workloads], np.int64)
        nt = self.nodes
        self.free = np.stack(
            [nt.alloc_cpu - nt.used_cpu, nt.alloc_mem - nt.used_mem,
             nt.alloc_pods - nt.used_pods, nt.gpu_cap_milli - nt.gpu_used_milli], axis=1,
        ).astype(np.float64)  # fmt: skip
        self.alloc = np.stack(
            [nt.alloc_cpu, nt.alloc_mem, nt.alloc_pods, nt.gpu_cap_milli], axis=1
        ).astype(np.float64)
        workers = np.flatnonzero(nt.role == WORKER)
        order = np.argsort(nt.cluster[workers], kind="stable")
        keys, first = np.unique(nt.cluster[workers][order], return_index=True)
        self.by_cluster = dict(zip(keys.tolist(), np.split(workers[order], first[1:]), strict=True))
        e_order = (
            np.argsort(nt.cluster[self.e_node], kind="stable") if len(self.e_node) else self.e_node
        )
        e_keys, e_first = np.unique(nt.cluster[self.e_node][e_order], return_index=True)
        self.entries = dict(zip(e_keys.tolist(), np.split(e_order, e_first[1:]), strict=True))
        self.host_free = self._host_free() if self.vm else None

    def tenant_pods(self, cluster: int) -> F64:
        """Pods of each tenant on ``cluster``'s nodes."""
        e = self.entries.get(cluster, np.zeros(0, np.int64))
        w = self.e_wl[e]
        pods = np.bincount(self.wl_tenant[w], self.e_count[e], len(self.tenant_names))
        return pods.astype(np.float64)

    def cluster(self, label: str, cluster: int, tenants: list[str]) -> tuple[ClusterRoll, F64]:
        """One roll of ``cluster``, and the pods of each tenant that wait during it."""
        T = len(self.tenant_names)
        nodes = self.by_cluster.get(cluster, np.zeros(0, np.int64))
        e = self.entries.get(cluster, np.zeros(0, np.int64))
        if len(nodes) == 0:
            return ClusterRoll(label, tenants, 0, 0, 0.0, 0, 0, 0, True, []), np.zeros(T)
        n, p = len(nodes), self.parallel
        groups = -(-n // p)
        group_of = np.empty(len(self.nodes), np.int64)
        group_of[nodes] = np.arange(n) // p
        e_group, wl, count = group_of[self.e_node[e]], self.e_wl[e], self.e_count[e]
        # PodDisruptionBudget waves per node group
        key = wl * groups + e_group
        uniq, inv = np.unique(key, return_inverse=True)
        on_group = np.bincount(inv.reshape(-1), count).astype(np.int64)
        allowed = self.allowed[uniq // groups]
        waves = np.where(allowed > 0, -(-on_group // np.maximum(allowed, 1)), 1)
        per_group = np.zeros(groups, np.int64)
        np.maximum.at(per_group, uniq % groups, waves)
        blocked = sorted({self.wl_name[int(w)] for w in uniq[allowed == 0] // groups})
        hours = float((per_group * self.pod_start + self.replace).sum() / 60.0)
        # room for the pods of each group while it is down
        surge_fits = True
        surge_hosts = 0
        waiting_e = np.zeros(len(e), np.int64)
        if self.vm is not None:
            surge_fits = self._surge_fits(nodes)
        if self.vm is None or not surge_fits:
            free = self.free[nodes]
            room = free.sum(axis=0) - np.add.reduceat(free, np.arange(0, n, p), axis=0)
            host = self.alloc[nodes].max(axis=0)
            need = _fewest_hosts(room, host, e_group, self.size[wl], count)
            surge_hosts = max(0, need - self.spare) if self.vm is None else 0
            waiting_e = count - _fits(room + self.spare * host, e_group, self.size[wl], count)
            surge_fits = surge_fits and surge_hosts == 0
        waiting = np.bincount(self.wl_tenant[wl], waiting_e, T).astype(np.float64)
        roll = ClusterRoll(
            cluster=label,
            tenants=tenants,
            nodes=n,
            pods=int(count.sum()),
            hours=hours,
            pod_start_waves=int(per_group.sum()),
            pods_waiting=int(waiting_e.sum()),
            surge_hosts_needed=surge_hosts,
            surge_fits=surge_fits,
            blocked_drains=blocked,
        )
        return roll, waiting

    def _host_free(self) -> F64:
        """CPU, memory and GPU each host still offers to VMs (as placement counts them)."""
        assert self.vm is not None
        p, nt, vm = self.p, self.nodes, self.vm
        cap_cpu = (p.host_cpu - p.host_hypervisor_cpu).astype(np.float64)
        if vm.cpu_overcommit == 1:  # placement gives VMs whole cores only
            cap_cpu = cap_cpu // 1000 * 1000
        cap = np.stack([cap_cpu, p.host_mem - p.host_hypervisor_mem, p.host_gpus * 1000], axis=1)
        on = np.flatnonzero(nt.is_vm & (nt.host >= 0))
        fp = self._footprint(on)
        used = np.zeros((len(p.host_cpu), 3))
        np.add.at(used, nt.host[on], fp)
        out: F64 = cap.astype(np.float64) - used
        return out

    def _footprint(self, vms: I64) -> F64:
        nt, vm = self.nodes, self.vm
        assert vm is not None
        cpu = np.ceil(nt.size_cpu[vms] / vm.cpu_overcommit)
        mem = np.ceil(nt.size_mem[vms] / vm.memory_overcommit) + nt.vm_overhead_mem[vms]
        return np.stack([cpu, mem, nt.gpu_cap_milli[vms].astype(np.float64)], axis=1)

    def _surge_fits(self, vms: I64) -> bool:
        """Room for ``nodes_in_parallel`` new VMs of each of the cluster's shapes at once."""
        assert self.host_free is not None
        for fp in np.unique(self._footprint(vms), axis=0):
            with np.errstate(divide="ignore", invalid="ignore"):
                per_host = np.where(fp > 0, self.host_free // np.where(fp > 0, fp, 1), np.inf)
            if np.clip(per_host.min(axis=1), 0, None).sum() < self.parallel:
                return False
        return True

    def versions_per_host_max(self, cluster_versions: list[I64]) -> int:
        """Most Kubernetes versions on one host in any month (VMs of several clusters; one
        node, or one shared cluster, per bare-metal host)."""
        if len(self.p.hosts) == 0:
            return 0
        nt = self.nodes
        on = (nt.host >= 0) & (nt.cluster >= 0)
        if self.vm is None or not on.any():
            return 1
        pairs = np.unique(np.stack([nt.host[on], nt.cluster[on]], axis=1), axis=0)
        table = np.stack(cluster_versions)  # clusters x months
        best = 1
        for m in range(table.shape[1]):
            hv = np.unique(np.stack([pairs[:, 0], table[pairs[:, 1], m]], axis=1), axis=0)
            best = max(best, int(np.bincount(hv[:, 0]).max()))
        return best


def _fits(room: F64, group: I64, size: F64, count: I64) -> I64:
    """Pods of each entry (``count`` pods of ``size``, in node group ``group``) that fit the
    aggregate ``room[group]``, smallest pods (by largest share of the room) first; once an
    entry stops fitting, later (larger) entries are not tried in the gap it leaves, which is
    exact when one resource binds."""
    if len(count) == 0:
        return count
    share = (size / np.maximum(room.max(axis=0), 1.0)).max(axis=1)
    order = np.lexsort((share, group))
    g, s, c = group[order], size[order], count[order]
    demand = s * c[:, None]
    cum = np.cumsum(demand, axis=0)
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    base = np.repeat(cum[starts] - demand[starts], np.diff(np.r_[starts, len(g)]), axis=0)
    before = cum - demand - base
    left = room[g] - before
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(s > 0, np.floor(left / np.where(s > 0, s, 1)), np.inf)
    fit = np.clip(k.min(axis=1), 0, c).astype(np.int64)
    out = np.empty_like(count)
    out[order] = fit
    return out


def _fewest_hosts(room: F64, host: F64, group: I64, size: F64, count: I64) -> int:
    """Fewest empty hosts of size ``host`` added to ``room`` so every displaced pod fits."""
    if len(count) == 0:
        return 0
    demand = np.zeros_like(room)
    np.add.at(demand, group, size * count[:, None])
    short = np.clip(demand - room, 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(host > 0, np.ceil(short / np.where(host > 0, host, 1)), 0)
    k = int(lower.max())
    while k <= int(count.sum()) and (_fits(room + k * host, group, size, count) < count).any():
        k += 1
    return k
