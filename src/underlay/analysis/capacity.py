"""The static comparison of one substrate: machines, capacity, overheads, stranded
capacity by cause, Kubernetes versions and tenants per host and kernel, cost — overall
and per tenant.

Accounting (CPU in millicores, memory in MiB, GPUs in milli-GPUs), for every host:

    capacity = allocated  (tenant pod requests; GPUs: the share each pod holds)
             + burst room (what VMs sized by limits or usage peaks keep above requests)
             + overhead   (hypervisor, per-VM memory, kubelet reservations, DaemonSet pods,
                           sandbox pod overhead, control planes)
             + stranded   (left unused, by cause)

With CPU or memory overcommit the VMs' contents may exceed their hosts' capacity; the
identity then holds per VM, not per host. Capacity counts the hosts opened; inventory
hosts left unopened are counted apart (``hosts_idle``) and their capex is in the cost
(:mod:`underlay.analysis.cost`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.capacity_results import (
    ResourceTotals,
    SubstrateCapacity,
    TenantCapacity,
    UnplacedRow,
)
from underlay.analysis.cost import (
    allocated_utilisation,
    attribute,
    host_costs,
    host_parts,
    idle_costs,
    idle_inventory,
    overall_shares,
    placement_licence,
    tenant_host_shares,
)
from underlay.analysis.efficiencies import efficiencies
from underlay.defaults.catalog import Defaults
from underlay.model.scenario import Hybrid, Scenario, Substrate, Vm
from underlay.placement.gpus import gpu_share
from underlay.placement.part_substrates import each_workload_substrate
from underlay.placement.result import (
    HOSTED_CONTROL_PLANE,
    HOSTED_POOL,
    SHARED_CLUSTER,
    WORKER,
    SubstratePlacement,
)

__all__ = ["analyse_capacity"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _sum(cpu: F64 | I64, mem: F64 | I64, gpu: F64 | I64 | float = 0.0) -> ResourceTotals:
    return ResourceTotals(float(np.sum(cpu)), float(np.sum(mem)), float(np.sum(gpu)))


@dataclass(frozen=True)
class _PodRows:
    """Placed pods per (workload, node): tenant, node, host, CPU, memory, GPU, count."""

    tenant: I64
    node: I64
    host: I64
    cpu: NDArray[Any]
    mem: NDArray[Any]
    gpu: NDArray[Any]
    count: I64


def _pod_rows(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> _PodRows:
    """The placed pods per (workload, node). A GPU pod holds the share placement gave it
    (a MIG profile, Kata's whole GPUs, at least its GPU memory), not only the fraction it
    asked for."""
    subs = each_workload_substrate(scenario.substrate(p.name), p)  # a hybrid's: its part's
    t_idx, n_idx, cpu, mem, gpu, cnt = [], [], [], [], [], []
    for ref, pn, pc, substrate in zip(p.workloads, p.pod_nodes, p.pod_counts, subs, strict=True):
        if not len(pn):
            continue
        w = ref.workload
        t_idx.append(np.full(len(pn), ref.tenant_index))
        n_idx.append(pn)
        cnt.append(pc)
        cpu.append(pc * w.requests.cpu_milli)
        mem.append(pc * w.requests.memory_mib)
        share = gpu_share(scenario, defaults, substrate, w, w.name).milli if w.gpu_count else 0
        gpu.append(pc * w.gpu_count * share)
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64)  # noqa: E731
    T, N, C, M, G, K = map(cat, (t_idx, n_idx, cpu, mem, gpu, cnt))
    H = p.nodes.host[N] if len(N) else N
    return _PodRows(T, N, H, C, M, G, K)


def _overheads(
    p: SubstratePlacement,
    vm: Vm | None,
    worker: NDArray[np.bool_],
    on_host: NDArray[np.bool_],
    hosts: NDArray[np.bool_],
) -> dict[str, ResourceTotals]:
    """What the hypervisor, the VMs, the kubelet, DaemonSets, sandboxes and control planes
    keep on ``hosts`` (``vm``: the substrate, when it is one; node masks within them)."""
    nodes = p.nodes
    cp_nodes = nodes.role != WORKER
    overhead: dict[str, ResourceTotals] = {}
    if vm is not None:
        overhead["hypervisor"] = _sum(p.host_hypervisor_cpu[hosts], p.host_hypervisor_mem[hosts])
        overhead["vm_memory"] = _sum(np.zeros(1), nodes.vm_overhead_mem[worker])
    overhead["kubelet_reserved"] = _sum(nodes.reserved_cpu[worker], nodes.reserved_mem[worker])
    overhead["system_pods"] = _sum(nodes.system_cpu[worker], nodes.system_mem[worker])
    if nodes.sandbox_cpu.any():
        overhead["sandbox"] = _sum(nodes.sandbox_cpu[worker], nodes.sandbox_mem[worker])
    if vm is not None:
        cp_cpu = nodes.size_cpu[cp_nodes & on_host] / vm.cpu_overcommit
        cp_mem = (
            nodes.size_mem[cp_nodes & on_host] / vm.memory_overcommit
            + nodes.vm_overhead_mem[cp_nodes & on_host]
        )
        overhead["control_plane"] = _sum(cp_cpu, cp_mem)
    else:
        # Hosts of their own (dedicated machines, hosted pool, management hosts) and the
        # size stacked control planes keep on workers.
        cp_hosts = (np.array(p.hosts.role, np.int64) != WORKER) & hosts
        overhead["control_plane"] = _sum(
            p.host_cpu[cp_hosts], p.host_mem[cp_hosts], p.host_gpus[cp_hosts] * 1000
        ) + _sum(nodes.control_plane_cpu[worker], nodes.control_plane_mem[worker])
    return overhead


def _stranded(
    p: SubstratePlacement,
    vm: Vm | None,
    worker: NDArray[np.bool_],
    on_host: NDArray[np.bool_],
    hosts: NDArray[np.bool_],
    kind: str,
) -> dict[str, ResourceTotals]:
    """Capacity left unused on ``hosts`` by cause (``kind``: their substrate's kind)."""
    nodes, n_hosts = p.nodes, len(p.hosts)
    stranded: dict[str, ResourceTotals] = {}
    free_cpu = nodes.alloc_cpu - nodes.used_cpu
    free_mem = nodes.alloc_mem - nodes.used_mem
    free_gpu = nodes.gpu_cap_milli - nodes.gpu_used_milli
    pods_full = worker & (nodes.used_pods >= nodes.alloc_pods)
    rest = worker & ~pods_full

    def add(cause: str, mask: NDArray[np.bool_]) -> None:
        if mask.any():
            stranded[cause] = stranded.get(cause, ResourceTotals()) + _sum(
                free_cpu[mask], free_mem[mask], free_gpu[mask]
            )

    add("max_pods", pods_full)
    if kind == "baremetal-dedicated":
        add("dedicated_hosts", rest)
    elif vm is not None:
        add("vm_shapes", rest)
    else:
        add("fragmentation", rest)
    if vm is not None:
        fp_cpu = np.zeros(n_hosts)
        fp_mem = np.zeros(n_hosts)
        fp_gpu = np.zeros(n_hosts)
        hv = nodes.host[on_host]
        np.add.at(fp_cpu, hv, nodes.size_cpu[on_host] / vm.cpu_overcommit)
        np.add.at(
            fp_mem,
            hv,
            nodes.size_mem[on_host] / vm.memory_overcommit + nodes.vm_overhead_mem[on_host],
        )
        np.add.at(fp_gpu, hv, nodes.gpu_cap_milli[on_host])
        left_cpu = np.maximum(p.host_cpu - p.host_hypervisor_cpu - fp_cpu, 0)
        left_mem = np.maximum(p.host_mem - p.host_hypervisor_mem - fp_mem, 0)
        left_gpu = np.maximum(p.host_gpus * 1000 - fp_gpu, 0)
        stranded["host_fragmentation"] = _sum(left_cpu[hosts], left_mem[hosts], left_gpu[hosts])
    return stranded


def _breakdown(
    substrate: Substrate,
    p: SubstratePlacement,
    worker: NDArray[np.bool_],
    on_host: NDArray[np.bool_],
) -> tuple[dict[str, ResourceTotals], dict[str, ResourceTotals]]:
    """Overheads and stranded capacity by cause; a hybrid's, part by part (each part's
    hosts and nodes under its own substrate's rules), added up."""
    everywhere = np.ones(len(p.hosts), np.bool_)
    if not p.parts or not isinstance(substrate, Hybrid):
        vm = substrate if isinstance(substrate, Vm) else None
        return (
            _overheads(p, vm, worker, on_host, everywhere),
            _stranded(p, vm, worker, on_host, everywhere, p.kind),
        )
    overhead: dict[str, ResourceTotals] = {}
    stranded: dict[str, ResourceTotals] = {}
    by_name = {part.name: part.substrate for part in substrate.parts}
    index = np.arange(len(p.nodes))
    host_index = np.arange(len(p.hosts))
    for part in p.parts:
        mine = (index >= part.nodes[0]) & (index < part.nodes[1])
        hosts = (host_index >= part.hosts[0]) & (host_index < part.hosts[1])
        part_substrate = by_name[part.name]
        vm = part_substrate if isinstance(part_substrate, Vm) else None
        for out, got in (
            (overhead, _overheads(p, vm, worker & mine, on_host & mine, hosts)),
            (stranded, _stranded(p, vm, worker & mine, on_host & mine, hosts, part.kind)),
        ):
            for cause, amount in got.items():
                out[cause] = out.get(cause, ResourceTotals()) + amount
    return overhead, stranded


def _versions_per_host(p: SubstratePlacement) -> I64:
    """Kubernetes versions each host runs (VMs of different clusters on one host; 1
    elsewhere)."""
    nodes, n_hosts = p.nodes, len(p.hosts)

    def version_of_cluster(ci: int) -> str:
        if ci == SHARED_CLUSTER:
            return p.shared_version or ""
        if ci == HOSTED_POOL:
            return "platform"
        return p.clusters[ci].tenant.kubernetes_version

    node_version = np.array([version_of_cluster(int(c)) for c in nodes.cluster], dtype=object)
    for part in p.shared_parts():  # each shared part's nodes run its own cluster's version
        a, b = part.nodes
        node_version[a:b][nodes.cluster[a:b] == SHARED_CLUSTER] = part.shared_version or ""
    versions_per_host = np.ones(n_hosts, np.int64)
    if p.kind in ("vm", "hybrid") and len(nodes):  # a bare-metal node is its host
        pairs = {
            (int(h), str(v))
            for h, v in zip(nodes.host, node_version, strict=True)
            if h >= 0 and v != "platform"
        }
        counts = np.zeros(n_hosts, np.int64)
        for h, _ in pairs:
            counts[h] += 1
        versions_per_host = np.maximum(counts, 1)
    return versions_per_host


def _host_tenants(p: SubstratePlacement, rows: _PodRows, tenants: int) -> NDArray[np.bool_]:
    """Hosts x tenants: who has pods, or VMs, on each host (a VM without a host holds
    nothing)."""
    nodes = p.nodes
    pairs = np.zeros((len(p.hosts), tenants), bool)
    if p.kind != "vm":
        placed = rows.host >= 0
        pairs[rows.host[placed], rows.tenant[placed]] = True
    if p.kind in ("vm", "hybrid"):
        cluster_tenant = np.array([c.tenant_index for c in p.clusters] + [-1], np.int64)
        vms = (nodes.host >= 0) & (nodes.cluster >= 0)
        pairs[nodes.host[vms], cluster_tenant[nodes.cluster[vms]]] = True
    return pairs


def _shared_kernel_spans(p: SubstratePlacement, tenants: int) -> list[tuple[int, int, I64]]:
    """The host spans whose tenants share a kernel, each with the tenants it may hold: a
    baremetal-shared fleet's hosts (every tenant), or a hybrid's baremetal-shared parts'."""
    if p.parts:
        return [
            (*q.hosts, np.array(q.tenants, np.int64))
            for q in p.parts
            if q.kind == "baremetal-shared"
        ]
    if p.kind == "baremetal-shared":
        return [(0, len(p.hosts), np.arange(tenants, dtype=np.int64))]
    return []


def _tenants_per_kernel_max(p: SubstratePlacement, pairs: NDArray[np.bool_]) -> int:
    """Most tenants on one kernel: a shared bare-metal host's tenants; one elsewhere (a
    hybrid: its shared bare-metal parts' hosts)."""
    spans = _shared_kernel_spans(p, pairs.shape[1])
    counts = [int(pairs[a:b].sum(axis=1).max()) for a, b, _ in spans if b > a]
    busiest = max([c for c in counts if c > 0], default=0)
    return busiest or (1 if pairs.any() else 0)


def _together(pairs: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Tenants x tenants: whether the two have pods on one host of ``pairs``."""
    on = pairs.astype(np.float64)
    shared: NDArray[np.bool_] = (on.T @ on) > 0
    return shared


def _tenant_rows(
    scenario: Scenario,
    p: SubstratePlacement,
    rows: _PodRows,
    host_tenant_pairs: NDArray[np.bool_],
    tenant_cost: F64,
    worker: NDArray[np.bool_],
) -> list[TenantCapacity]:
    """One row per tenant."""
    tenants, nodes = scenario.tenants, p.nodes
    names = np.array([t.name for t in tenants], dtype=object)
    co_hosted = _together(host_tenant_pairs)
    np.fill_diagonal(co_hosted, False)
    co_kernel = np.zeros_like(co_hosted)
    for a, b, members in _shared_kernel_spans(p, len(tenants)):
        co_kernel[members] |= _together(host_tenant_pairs[a:b])[members]
    np.fill_diagonal(co_kernel, False)
    hosts_of = host_tenant_pairs.sum(axis=0)
    out: list[TenantCapacity] = []
    for ti, tenant in enumerate(tenants):
        mine = ti == rows.tenant
        kinds = p.tenant_kinds(ti)  # a tenant split by GPU workloads: its two parts'
        t_nodes = np.unique(rows.node[mine])
        my_clusters = [c.index for c in p.clusters if c.tenant_index == ti]
        mine_cp = [c for c in p.control_planes if c.cluster in my_clusters]
        cp_machines = sum(c.replicas for c in mine_cp if c.mode in ("dedicated", "management"))
        if "vm" in kinds:
            own = np.isin(nodes.cluster, my_clusters)
            nodes_count = int((own & worker).sum())
        else:
            nodes_count = len(t_nodes)
        pods = sum(r.workload.replicas for r in p.workloads if r.tenant_index == ti)
        placed = int(rows.count[mine].sum())
        running = p.running_version(ti, tenant.kubernetes_version)
        out.append(
            TenantCapacity(
                name=tenant.name,
                isolation=tenant.isolation,
                wanted_version=tenant.kubernetes_version,
                running_version=running,
                pods=pods,
                pods_placed=placed,
                allocated=_sum(rows.cpu[mine], rows.mem[mine], rows.gpu[mine]),
                nodes=nodes_count,
                hosts=int(hosts_of[ti]),
                control_plane_machines=cp_machines,
                control_plane="; ".join(dict.fromkeys(c.describe() for c in mine_cp)),
                shares_kernel_with=sorted(set(names[co_kernel[ti]].tolist())),
                shares_hosts_with=sorted(set(names[co_hosted[ti]].tolist())),
                cost_per_month_usd=float(tenant_cost[ti]),
            )
        )
    return out


def _unplaced_rows(p: SubstratePlacement) -> list[UnplacedRow]:
    """The pods placement could not place, per workload, with the reason."""
    unplaced = []
    for u in p.unplaced:
        ref = p.workloads[u.workload_index]
        c = p.clusters[ref.cluster_index]
        unplaced.append(
            UnplacedRow(
                c.tenant.name,
                c.cluster.name,
                ref.workload.name,
                u.pods,
                u.reason.resource,
                u.reason.requested,
                u.reason.free,
                u.reason.capacity,
                u.reason.detail,
                u.reason.plugin,
                u.reason.status,
            )
        )
    return unplaced


def _burst_room(
    p: SubstratePlacement,
    worker: NDArray[np.bool_],
    allocated: ResourceTotals,
    overhead: dict[str, ResourceTotals],
) -> ResourceTotals:
    """What VMs sized above their pods' requests keep for their peaks."""
    used = _sum(p.nodes.used_cpu[worker], p.nodes.used_mem[worker])
    sandbox = overhead.get("sandbox", ResourceTotals())
    return ResourceTotals(
        max(used.cpu_milli - allocated.cpu_milli - sandbox.cpu_milli, 0.0),
        max(used.memory_mib - allocated.memory_mib - sandbox.memory_mib, 0.0),
    )


def _control_plane_machines(p: SubstratePlacement) -> tuple[int, dict[str, int]]:
    """Control-plane machines of their own (dedicated and management replicas, and the
    hosted pool's nodes), and how many control planes run in each mode."""
    machines = sum(
        c.replicas for c in p.control_planes if c.mode in ("dedicated", "management")
    ) + int((p.nodes.role == HOSTED_CONTROL_PLANE).sum())
    modes: dict[str, int] = {}
    for c in p.control_planes:
        modes[c.mode] = modes.get(c.mode, 0) + 1
    return machines, modes


def analyse_capacity(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement
) -> SubstrateCapacity:
    """Everything the static comparison shows for placement ``p``."""
    nodes, n_hosts = p.nodes, len(p.hosts)
    host_role = np.array(p.hosts.role, np.int64)
    host_model = np.array(p.hosts.model, np.int64)
    substrate = scenario.substrate(p.name)
    vm = substrate if isinstance(substrate, Vm) else None
    on_host = nodes.host >= 0
    # Worker VMs that found no host do not exist: they hold no capacity and no pods.
    worker = (nodes.role == WORKER) & on_host
    rows = _pod_rows(scenario, defaults, p)
    allocated = _sum(rows.cpu, rows.mem, rows.gpu)
    overhead, stranded = _breakdown(substrate, p, worker, on_host)

    burst_room = _burst_room(p, worker, allocated, overhead)

    versions_per_host = _versions_per_host(p)
    host_tenant_pairs = _host_tenants(p, rows, len(scenario.tenants))
    tenants_per_host_max = int(host_tenant_pairs.sum(axis=1).max(initial=0))
    tenants_per_kernel_max = _tenants_per_kernel_max(p, host_tenant_pairs)

    # Cost (the model and the attribution to tenants are in analysis.cost).
    utilisation = allocated_utilisation(scenario, p)
    licence = placement_licence(scenario, defaults, p)
    costs = host_costs(scenario, defaults, host_model, utilisation, licence)
    shares = tenant_host_shares(scenario, p)
    idle = idle_inventory(scenario, p)
    idle_capex, _ = idle_costs(scenario, idle)  # host operations are the cost analysis's
    parts = host_parts(p)
    tenant_cost = attribute(shares, costs.total, parts) + overall_shares(shares, parts) * idle_capex

    eff = efficiencies(scenario, defaults, substrate, p)
    tenants = _tenant_rows(scenario, p, rows, host_tenant_pairs, tenant_cost, worker)
    vm_count = int((nodes.is_vm & on_host).sum()) if vm is not None or p.parts else 0
    cp_machines_total, modes = _control_plane_machines(p)
    return SubstrateCapacity(
        kind=p.kind,
        name=p.name,
        sizing=p.sizing,
        hosts=n_hosts,
        hosts_idle=int(idle.sum()),
        hosts_worker=int((host_role == WORKER).sum()),
        hosts_control_plane=int((host_role != WORKER).sum()),
        hosts_lower_bound=p.lower_bound_hosts,
        nodes=int(worker.sum()),
        vms=vm_count,
        control_plane_machines=cp_machines_total,
        control_plane_modes=modes,
        capacity=_sum(p.host_cpu, p.host_mem, p.host_gpus * 1000),
        allocated=allocated,
        burst_room=burst_room,
        overhead=overhead,
        stranded=stranded,
        versions_per_host_max=int(versions_per_host.max()) if n_hosts else 0,
        versions_per_host_mean=float(versions_per_host.mean()) if n_hosts else 0.0,
        tenants_per_kernel_max=tenants_per_kernel_max,
        tenants_per_host_max=tenants_per_host_max,
        cost_capex=float(costs.capex.sum()) + idle_capex,
        cost_power=float(costs.power.sum()),
        cost_licences=float(costs.licences.sum()),
        watts=float(costs.watts.sum()),
        pods=sum(r.workload.replicas for r in p.workloads),
        gpu_efficiency=eff.gpu,
        cpu_efficiency=eff.cpu,
        pods_placed=int(p.placed.sum()),
        unplaced=_unplaced_rows(p),
        tenants=[
            replace(t, gpu_efficiency=float(g), cpu_efficiency=float(c))
            for t, g, c in zip(tenants, eff.tenant_gpu, eff.tenant_cpu, strict=True)
        ],
        notes=list(p.notes),
    )
