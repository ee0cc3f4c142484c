"""Who restarts where after a host failure: each host's free capacity, and the groups
of identical units (pods of one workload, or like VMs) that restart under one placement
rule (see :mod:`underlay.analysis.failures`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Sandboxed, Scenario, Vm
from underlay.placement.gpus import gpu_share
from underlay.placement.result import (
    CONTROL_PLANE,
    HOSTED_CONTROL_PLANE,
    WORKER,
    SubstratePlacement,
)

__all__ = [
    "BIG",
    "HOST",
    "NONE",
    "RACK",
    "SPREAD",
    "Groups",
    "cat",
    "domain_fit",
    "headroom",
    "host_load",
    "model_table",
    "pod_groups",
    "sum_rows",
    "vm_groups",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


def cat(parts: list[Any], dtype: type[Any]) -> NDArray[Any]:
    """The ``parts`` concatenated as ``dtype`` (empty when there are none)."""
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


# ---------------------------------------------------------------------- free capacity
def sum_rows(index: I64, values: NDArray[Any], n_out: int) -> NDArray[Any]:
    """Rows of ``values`` summed by ``index`` (an ``np.add.at`` by bincount, per column)."""
    out = np.zeros((n_out, values.shape[1]), values.dtype)
    for c in range(values.shape[1]):
        out[:, c] = np.bincount(index, values[:, c], n_out)
    return out


def host_load(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement
) -> tuple[I64, I64, I64, I64, I64]:
    """Per host: its pool (the hosts that can take its pods; -1 = none), its load and free
    capacity (hosts × [CPU milli, memory MiB, pod slots, GPU milli]); per host model, what
    one more worker host of it offers; per node, a VM's footprint on its host (zeros on
    bare metal)."""
    n_hosts, nodes = len(p.hosts), p.nodes
    role = np.asarray(p.hosts.role, np.int64)
    owner = np.asarray(p.hosts.owner, np.int64)
    model = np.asarray(p.hosts.model, np.int64)
    load = np.zeros((n_hosts, 4), np.int64)
    free = np.zeros((n_hosts, 4), np.int64)
    spare = np.zeros((len(p.host_models), 4), np.int64)
    fp = np.zeros((len(nodes), 4), np.int64)
    on = nodes.host >= 0
    if p.kind == "vm":
        vm = scenario.substrate(p.name)
        assert isinstance(vm, Vm)
        fp = np.stack(
            [
                np.ceil(nodes.size_cpu / vm.cpu_overcommit),
                np.ceil(nodes.size_mem / vm.memory_overcommit) + nodes.vm_overhead_mem,
                np.zeros(len(nodes)),
                nodes.gpu_cap_milli,
            ],
            axis=1,
        ).astype(np.int64)
        load = sum_rows(nodes.host[on], fp[on], n_hosts)
        cap = np.stack(
            [
                p.host_cpu - p.host_hypervisor_cpu,
                p.host_mem - p.host_hypervisor_mem,
                np.zeros(n_hosts, np.int64),
                p.host_gpus * 1000,
            ],
            axis=1,
        )
        free = np.maximum(cap - load, 0)
        pool = np.zeros(n_hosts, np.int64)
        np.maximum.at(spare, model, cap)
        return pool, load, free, spare, fp
    w = on & (nodes.role == WORKER)
    used = np.stack([nodes.used_cpu, nodes.used_mem, nodes.used_pods, nodes.gpu_used_milli], 1)
    alloc = np.stack([nodes.alloc_cpu, nodes.alloc_mem, nodes.alloc_pods, nodes.gpu_cap_milli], 1)
    load = sum_rows(nodes.host[w], used[w], n_hosts)
    free = sum_rows(nodes.host[w], np.maximum(alloc[w] - used[w], 0), n_hosts)
    np.maximum.at(spare, model[nodes.host[w]], alloc[w])
    worker = role == WORKER
    if p.kind == "baremetal-dedicated":
        pool = np.where(worker & (owner >= 0), owner, -1)
    else:
        pool = np.where(worker, 0, -1)
    for k, part in enumerate(p.parts):  # a hybrid: pods restart within their own part,
        a, b = part.hosts  # a dedicated part's in their cluster (its global index)
        if part.kind == "baremetal-dedicated":
            pool[a:b] = np.where(worker[a:b] & (owner[a:b] >= 0), owner[a:b], -1)
        else:
            pool[a:b] = np.where(worker[a:b], len(p.clusters) + k, -1)
    return pool.astype(np.int64), load, free, spare, fp


def domain_fit(
    domain: I64, pool: I64, load: I64, free: I64, pods_on_host: F64
) -> tuple[B, F64, I64, B]:
    """For each (domain, pool) group: does its load fit in the rest of its pool's free
    capacity? Returns per host whether its group fits, and per group the shortfall
    (groups × 4), its pool and whether it holds tenant pods."""
    mask = pool >= 0
    n_pools = int(pool.max()) + 1 if mask.any() else 1
    key = domain[mask] * n_pools + pool[mask]
    groups, inv = np.unique(key, return_inverse=True)
    g_pool = (groups % n_pools).astype(np.int64)
    g_load = sum_rows(inv.ravel(), load[mask].astype(np.float64), len(groups))
    g_free = sum_rows(inv.ravel(), free[mask].astype(np.float64), len(groups))
    pool_free = sum_rows(pool[mask], free[mask].astype(np.float64), n_pools)
    shortfall = np.maximum(g_load - (pool_free[g_pool] - g_free), 0)
    g_fits = ~(shortfall > 0).any(axis=1)
    fits = np.zeros(len(pool), bool)
    fits[mask] = g_fits[inv]
    has_pods = np.bincount(inv, weights=pods_on_host[mask], minlength=len(groups)) > 0
    return fits, shortfall, g_pool, has_pods


def headroom(shortfall: F64, g_pool: I64, spare: I64, main: int) -> int:
    """Extra hosts so that, in every pool, its worst group's load fits: model ``main`` for
    the resources it has, GPU hosts of the model with most GPUs for a GPU shortfall it
    cannot cover."""
    if not len(shortfall):
        return 0
    worst = np.zeros((int(g_pool.max()) + 1, 4))
    np.maximum.at(worst, g_pool, shortfall)
    total = 0
    for need in worst:
        own = [math.ceil(n / c) for n, c in zip(need, spare[main], strict=True) if n > 0 and c > 0]
        other = [
            math.ceil(n / spare[:, r].max())
            for r, n in enumerate(need)
            if n > 0 and spare[main, r] == 0 and spare[:, r].max() > 0
        ]
        total += max(own, default=0) + max(other, default=0)
    return total


# ---------------------------------------------------------------------- who restarts where
# Placement rules a group of identical units carries to its restart.
NONE, HOST, RACK, SPREAD = 0, 1, 2, 3
_RULE = {"none": NONE, "host": HOST, "rack": RACK}
BIG = 1 << 30  # units a host could take of a group that asks for none of a resource


@dataclass(frozen=True)
class Groups:
    """Identical units (pods of one workload, or like VMs) that restart under one rule.

    Per group: ``need`` (groups × [CPU milli, memory MiB, pod slots, GPU milli]) of one
    unit, whether it needs a GPU host, its allowed GPU models (an index into the model
    table, 0 = any GPU), its rule, tenant (-1: carries no tenant pods) and pool. Per
    (group, host) pair: its units on the host and the tenant pods they carry.
    """

    need: I64
    gpu: B
    models: I64
    rule: I64
    tenant: I64
    pool: I64
    g: I64
    h: I64
    units: I64
    pods: F64


def _pairs(
    group_of: I64, host_of: I64, units: I64, pods: F64, n_hosts: int
) -> tuple[I64, I64, I64, F64]:
    """(group, host) pairs with their units and pods summed, sorted by group then host."""
    keep = (host_of >= 0) & (units > 0)
    key = group_of[keep] * n_hosts + host_of[keep]
    uniq, inv = np.unique(key, return_inverse=True)
    u = np.bincount(inv, weights=units[keep], minlength=len(uniq)).astype(np.int64)
    q = np.bincount(inv, weights=pods[keep], minlength=len(uniq))
    return (
        (uniq // n_hosts).astype(np.int64),
        (uniq % n_hosts).astype(np.int64),
        u,
        q.astype(np.float64),
    )


def model_table(scenario: Scenario, sets: list[frozenset[str]]) -> B:
    """(model sets × host models): may a unit allowed ``sets[i]`` use a host of that model?
    Set 0 is "any GPU"; a host without GPUs is never allowed to a GPU unit."""
    models = scenario.hardware.host_models
    table = np.zeros((len(sets), len(models)), bool)
    for m, model in enumerate(models):
        if model.gpus is None or model.gpu_count == 0:
            continue
        for i, allowed in enumerate(sets):
            table[i, m] = i == 0 or model.gpus.model in allowed
    return table


def pod_groups(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement, sets: list[frozenset[str]]
) -> Groups:
    """Bare metal and sandboxed: one group per workload, its pods the units."""
    n_hosts = len(p.hosts)
    substrate = scenario.substrate(p.name)
    extra_cpu = extra_mem = 0
    if isinstance(substrate, Sandboxed) and substrate.runtime in defaults.sandbox_runtimes:
        overhead = defaults.sandbox_runtimes[substrate.runtime].pod_overhead
        extra_cpu, extra_mem = overhead.cpu_milli, overhead.memory_mib
    n_w = len(p.workloads)
    refs = p.workloads
    ws = [r.workload for r in refs]
    need = np.zeros((n_w, 4), np.int64)
    need[:, 0] = np.array([w.requests.cpu_milli for w in ws], np.int64) + extra_cpu
    need[:, 1] = np.array([w.requests.memory_mib for w in ws], np.int64) + extra_mem
    need[:, 2] = 1
    gpu = np.zeros(n_w, bool)
    models = np.zeros(n_w, np.int64)
    for i in [i for i, w in enumerate(ws) if w.gpu is not None]:
        w = ws[i]
        if w.gpu_count > 0 and w.gpu_milli > 0:
            # What placement gave the pod: its share (a MIG profile, Kata's whole GPUs, its
            # GPU memory) on the models it may use (narrowed by memory and MIG).
            share = gpu_share(scenario, defaults, substrate, w, w.name)
            gpu[i] = True
            need[i, 3] = w.gpu_count * share.milli
            if share.models is not None:
                models[i] = _set_id(sets, share.models)
    rule = np.array(
        [_RULE[w.spread.anti_affinity] or (SPREAD if w.spread.spread_racks else NONE) for w in ws],
        np.int64,
    )
    tenant = np.array([r.tenant_index for r in refs], np.int64)
    pool = (
        np.array([r.cluster_index for r in refs], np.int64)
        if p.kind == "baremetal-dedicated"
        else np.zeros(n_w, np.int64)
    )
    for k, part in enumerate(p.parts):  # a hybrid: each part's pool, as host_pools numbers it
        w_idx = np.array(part.workloads, np.int64)
        if part.kind == "baremetal-dedicated":
            pool[w_idx] = [refs[i].cluster_index for i in part.workloads]
        else:
            pool[w_idx] = len(p.clusters) + k
    lens = [len(pn) for pn in p.pod_nodes]
    nodes = cat(list(p.pod_nodes), np.int64)
    counts = cat(list(p.pod_counts), np.int64)
    wid = np.repeat(np.arange(n_w, dtype=np.int64), lens)
    hosts = p.nodes.host[nodes] if len(nodes) else nodes
    g, h, units, pods = _pairs(wid, hosts, counts, counts.astype(np.float64), n_hosts)
    return Groups(need, gpu, models, rule, tenant, pool, g, h, units, pods)


def _set_id(sets: list[frozenset[str]], allowed: frozenset[str]) -> int:
    if allowed not in sets:
        sets.append(allowed)
    return sets.index(allowed)


def vm_groups(
    scenario: Scenario,
    defaults: Defaults,
    p: SubstratePlacement,
    footprint: I64,
    sets: list[frozenset[str]],
) -> Groups:
    """VM substrates: the VMs are the units. A workload with anti-affinity or rack spread
    has VMs of its own that carry its rule; each cluster's control-plane VMs (and the
    hosted control-plane VMs) are one anti-affine group; other VMs group by cluster,
    footprint and allowed GPU models."""
    nodes, n_hosts = p.nodes, len(p.hosts)
    n_nodes = len(nodes)
    substrate = scenario.substrate(p.name)
    pod_node = cat(list(p.pod_nodes), np.int64)
    pod_count = cat(list(p.pod_counts), np.int64)
    vm_pods = np.bincount(pod_node, weights=pod_count, minlength=n_nodes).astype(np.float64)
    vm_models = np.zeros(n_nodes, np.int64)
    kind = np.where(
        nodes.role == CONTROL_PLANE, 1, np.where(nodes.role == HOSTED_CONTROL_PLANE, 2, 3)
    ).astype(np.int64)
    ident = np.where(kind == 2, 0, nodes.cluster).astype(np.int64)
    rule_of_workload: dict[int, int] = {}
    for i, ref in enumerate(p.workloads):
        w, own = ref.workload, p.pod_nodes[i]
        models = gpu_share(scenario, defaults, substrate, w, w.name).models
        if models is not None and w.gpu_count > 0 and len(own):
            vm_models[own] = _set_id(sets, models)
        if (w.spread.anti_affinity != "none" or w.spread.spread_racks) and len(own):
            kind[own], ident[own] = 0, i
            rule_of_workload[i] = _RULE[w.spread.anti_affinity] or SPREAD
    is_gpu = footprint[:, 3] > 0
    keys = np.column_stack([kind, ident, footprint, vm_models * is_gpu])
    on = nodes.host >= 0
    uniq, inv = np.unique(keys[on], axis=0, return_inverse=True)
    inv = inv.ravel()
    n_g = len(uniq)
    rule = np.where(uniq[:, 0] == 3, NONE, HOST).astype(np.int64)
    for gi in np.flatnonzero(uniq[:, 0] == 0):
        rule[gi] = rule_of_workload[int(uniq[gi, 1])]
    tenant = np.full(n_g, -1, np.int64)
    carries = (uniq[:, 0] == 0) | (uniq[:, 0] == 3)
    for gi in np.flatnonzero(carries):
        if uniq[gi, 0] == 0:
            tenant[gi] = p.workloads[int(uniq[gi, 1])].tenant_index
        else:
            tenant[gi] = p.clusters[int(uniq[gi, 1])].tenant_index
    need = uniq[:, 2:6].astype(np.int64)
    g, h, units, pods = _pairs(
        inv.astype(np.int64),
        nodes.host[on].astype(np.int64),
        np.ones(int(on.sum()), np.int64),
        vm_pods[on],
        n_hosts,
    )
    return Groups(
        need,
        need[:, 3] > 0,
        uniq[:, 6].astype(np.int64),
        rule,
        tenant,
        np.zeros(n_g, np.int64),
        g,
        h,
        units,
        pods,
    )
