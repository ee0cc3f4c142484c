"""What one node roll of a cluster costs: drain waves under PodDisruptionBudgets, pods that
must wait because the other nodes cannot hold them, surge hosts or VMs, and how long it
takes (the model is written in :mod:`underlay.analysis.lifecycle`).

A VM is replaced in its hypervisor profile's ``vm_replace_minutes``; a bare-metal host is
reimaged in ``lifecycle.baremetal_reprovision_minutes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Hybrid, Sandboxed, Scenario, Vm
from underlay.placement.gpus import gpu_share
from underlay.placement.result import WORKER, SubstratePlacement

__all__ = ["ClusterRoll", "NodeRolls"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


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


def _workload_substrates(substrate: object, p: SubstratePlacement) -> list[object]:
    """Each workload's substrate: a hybrid's, its part's; else ``substrate``."""
    out = [substrate] * len(p.workloads)
    if isinstance(substrate, Hybrid):
        by_name = {part.name: part.substrate for part in substrate.parts}
        for part in p.parts:
            for w in part.workloads:
                out[w] = by_name[part.name]
    return out


def _pod_sizes(
    scenario: Scenario, defaults: Defaults, substrate: object, p: SubstratePlacement
) -> F64:
    """Per workload, what one of its pods takes on a node: CPU, memory (with a sandbox's
    pod overhead: in a hybrid, a sandboxed part's), one pod slot, and milli-GPUs."""
    rows = []
    for w, sub in zip(p.workloads, _workload_substrates(substrate, p), strict=True):
        extra = (0, 0)
        if isinstance(sub, Sandboxed) and sub.runtime in defaults.sandbox_runtimes:
            o = defaults.sandbox_runtimes[sub.runtime].pod_overhead
            extra = (o.cpu_milli, o.memory_mib)
        # A GPU pod moves with the share placement gave it (a MIG profile, Kata's whole GPUs).
        wl = w.workload
        share = gpu_share(scenario, defaults, sub, wl, wl.name).milli if wl.gpu_count else 0
        rows.append(
            [
                wl.requests.cpu_milli + extra[0],
                wl.requests.memory_mib + extra[1],
                1,
                wl.gpu_count * share,
            ]
        )
    size: F64 = np.array(
        rows or np.zeros((0, 4)),
        np.float64,
    ).reshape(len(p.workloads), 4)
    return size


class NodeRolls:
    """Per-cluster cost of one node roll, from the placement (see the module docstring)."""

    def __init__(self, scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> None:
        self.p, self.nodes = p, p.nodes
        settings = scenario.lifecycle
        self.parallel = settings.nodes_in_parallel
        self.pod_start = defaults.failures.pod_start_minutes
        substrate = scenario.substrate(p.name)
        self.vm = substrate if isinstance(substrate, Vm) else None
        life = defaults.lifecycle
        self.replace = (
            defaults.hypervisors[self.vm.hypervisor].vm_replace_minutes
            if self.vm
            else life.baremetal_reprovision_minutes
        )
        self.spare = 0 if self.vm else settings.spare_hosts_per_cluster
        self.tenant_names = [t.name for t in scenario.tenants]
        n_w = len(p.workloads)
        lens = np.array([len(x) for x in p.pod_nodes], np.int64)
        self.e_node = np.concatenate([*p.pod_nodes, np.zeros(0, np.int64)]).astype(np.int64)
        self.e_count = np.concatenate([*p.pod_counts, np.zeros(0, np.int64)]).astype(np.int64)
        self.e_wl = np.repeat(np.arange(n_w, dtype=np.int64), lens)
        self.size = _pod_sizes(scenario, defaults, substrate, p)
        budgets = [w.workload.disruption_budget for w in p.workloads]
        self.allowed = np.array(
            [
                b.allowed(w.workload.replicas) if b else max(1, w.workload.replicas)
                for b, w in zip(budgets, p.workloads, strict=True)
            ],
            np.int64,
        )
        self.wl_name = [
            f"{p.clusters[w.cluster_index].tenant.name}/"
            f"{p.clusters[w.cluster_index].cluster.name}/{w.workload.name}"
            for w in p.workloads
        ]
        self.wl_tenant = np.array([w.tenant_index for w in p.workloads], np.int64)
        nt = self.nodes
        self.free = np.stack(
            [
                nt.alloc_cpu - nt.used_cpu,
                nt.alloc_mem - nt.used_mem,
                nt.alloc_pods - nt.used_pods,
                nt.gpu_cap_milli - nt.gpu_used_milli,
            ],
            axis=1,
        ).astype(np.float64)
        self.alloc = np.stack(
            [nt.alloc_cpu, nt.alloc_mem, nt.alloc_pods, nt.gpu_cap_milli], axis=1
        ).astype(np.float64)
        workers = np.flatnonzero(nt.role == WORKER)
        order = np.argsort(nt.cluster[workers], kind="stable")
        keys, first = np.unique(nt.cluster[workers][order], return_index=True)
        self.by_cluster = _groups(keys, workers[order], first)
        e_order = (
            np.argsort(nt.cluster[self.e_node], kind="stable") if len(self.e_node) else self.e_node
        )
        e_keys, e_first = np.unique(nt.cluster[self.e_node][e_order], return_index=True)
        self.entries = _groups(e_keys, e_order, e_first)
        self.host_free = self._host_free() if self.vm else None

    def _rows(self, cluster: int, span: tuple[int, int] | None) -> tuple[I64, I64]:
        """``cluster``'s worker nodes and pod entries; with ``span``, only those on node
        rows [start, stop) (a hybrid's shared part: its own shared cluster)."""
        nodes = self.by_cluster.get(cluster, np.zeros(0, np.int64))
        e = self.entries.get(cluster, np.zeros(0, np.int64))
        if span is not None:
            a, b = span
            nodes = nodes[(nodes >= a) & (nodes < b)]
            e = e[(self.e_node[e] >= a) & (self.e_node[e] < b)]
        return nodes, e

    def tenant_pods(self, cluster: int, span: tuple[int, int] | None = None) -> F64:
        """Pods of each tenant on ``cluster``'s nodes (within node rows ``span``)."""
        _, e = self._rows(cluster, span)
        w = self.e_wl[e]
        pods = np.bincount(self.wl_tenant[w], self.e_count[e], len(self.tenant_names))
        return pods.astype(np.float64)

    def cluster(
        self, label: str, cluster: int, tenants: list[str], span: tuple[int, int] | None = None
    ) -> tuple[ClusterRoll, F64]:
        """One roll of ``cluster`` (its nodes within node rows ``span``), and the pods of
        each tenant that wait during it."""
        T = len(self.tenant_names)
        nodes, e = self._rows(cluster, span)
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


def _groups(keys: I64, items: I64, first: I64) -> dict[int, I64]:
    """``items`` (sorted by key) split at ``first`` into one array per key (none: empty)."""
    if not len(keys):
        return {}
    return dict(zip(keys.tolist(), np.split(items, first[1:]), strict=True))
