"""What one failure of each domain costs (pods restarted, pod-hours lost, pods stranded),
decided once from the placement (see :mod:`underlay.analysis.failures`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from underlay.analysis.failure_groups import (
    NONE,
    Groups,
    domain_fit,
    headroom,
    host_load,
    model_table,
    sum_rows,
)
from underlay.analysis.failure_parts import (
    Recovery,
    dense_pools,
    fleet_groups,
    recovery_by_group,
)
from underlay.analysis.failure_restarts import Restarts, Room, cut
from underlay.defaults.catalog import Defaults
from underlay.errors import ScenarioError
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement

__all__ = ["FailureCosts", "failure_costs"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]


@dataclass(frozen=True)
class FailureCosts:
    """What one failure of each domain costs, decided once from the placement.

    ``pods``: the sparse (hosts × tenants) matrix of placed pods; ``restart``: the pods of
    each (host, tenant) that restart elsewhere when the host fails. ``host_cost``: pod-hours
    one failure of each host costs each tenant, by kind (``software``, ``hardware``: sparse
    hosts × tenants); ``rack_cost`` / ``zone_cost``: the same for one rack (zone) failure
    (dense racks × tenants, zones × tenants). ``stranded_by``: per tenant, the pods that
    could not restart summed over its hosts' failures, by reason. ``headroom_*``: extra
    hosts of ``headroom_model`` for the worst host / rack failure to fit in aggregate.
    """

    pods: Any  # scipy.sparse.csr_matrix, hosts × tenants, float64
    restart: Any  # scipy.sparse.csr_matrix, hosts × tenants, float64
    host_rack: I64
    host_zone: I64
    racks: int
    zones: int
    host_cost: dict[str, Any]  # "software" / "hardware": csr hosts × tenants, pod-hours
    rack_cost: F64
    zone_cost: F64
    rack_restart: F64  # racks × tenants: pods that restart elsewhere when the rack fails
    zone_restart: F64
    host_fits: B
    stranded_by: dict[str, F64]
    recovery_hours: dict[str, float]
    hardware_share: float
    rack_groups_with_pods: int
    rack_groups_fitting: int
    headroom_model: str
    headroom_hosts_host: int
    headroom_hosts_rack: int
    # a hybrid's recovery hours by part name (``recovery_hours``: its slowest part's)
    recovery_hours_by_part: dict[str, dict[str, float]] = field(default_factory=dict)


# ---------------------------------------------------------------------- what a failure costs
def _per_pair_cost(pods: F64, restarted: F64, restart: F64, wait: F64) -> F64:
    """Pod-hours one failure costs: restarted pods at the earlier of the two, the rest wait
    (the hours per pair: its group's part's)."""
    cost: F64 = restarted * np.minimum(restart, wait) + (pods - restarted) * wait
    return cost


@dataclass(frozen=True)
class _Model:
    """The placement as the restart rules see it (see :func:`_restart_model`)."""

    groups: Groups
    restarts: Restarts
    cls: I64  # per group: its room class
    cls_any: I64  # the same with any GPU model allowed
    specific: B  # per group: restricted to some GPU models
    rack: I64
    zones: int
    racks: int
    zone_of_rack: I64
    pool: I64
    load: I64
    free: I64
    spare: I64
    recovery: Recovery  # recovery hours: the placement's, each part's, each group's


def _restart_model(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> _Model:
    """Groups, their room classes and the restart counter for one placement."""
    rack = np.asarray(p.hosts.rack, np.int64)
    zones = scenario.hardware.topology.zones
    racks = int(rack.max()) + 1 if len(rack) else 0
    pool, load, free, spare, footprint = host_load(scenario, defaults, p)

    sets: list[frozenset[str]] = [frozenset()]  # 0: any GPU model
    gr, part_of = fleet_groups(scenario, defaults, p, footprint, sets)
    if p.parts:
        pool, gr = dense_pools(pool, gr)
    allowed = model_table(scenario, sets)
    host_model = np.asarray(p.hosts.model, np.int64)
    n_g = len(gr.need)
    # Classes: groups alike for room (pool, request, GPU models); and each GPU group's
    # class with any GPU model allowed, to tell when the model is what stopped it.
    base = np.column_stack([gr.pool, gr.need, gr.gpu, gr.models * gr.gpu]).astype(np.int64)
    specific = gr.gpu & (gr.models > 0)
    relaxed = base[specific].copy()
    relaxed[:, 6] = 0
    keys, inv = np.unique(np.vstack([base, relaxed]), axis=0, return_inverse=True)
    inv = inv.ravel()
    cls = inv[:n_g].astype(np.int64)
    cls_any = cls.copy()
    cls_any[specific] = inv[n_g:]
    zone_of_rack = np.arange(max(racks, 1), dtype=np.int64) % zones
    room = Room(keys, pool, free, rack, zone_of_rack, host_model, allowed)
    rs = Restarts(gr, room, rack)
    recovery = recovery_by_group(scenario, defaults, p, part_of)
    return _Model(
        gr,
        rs,
        cls,
        cls_any,
        specific,
        rack,
        zones,
        racks,
        zone_of_rack,
        pool,
        load,
        free,
        spare,
        recovery,
    )


def _stranded_by(
    m: _Model, alone: I64, stranded: F64, ratio: F64, carries: B, n_t: int
) -> dict[str, F64]:
    """Per tenant, the pods a host failure strands, by what stopped them: dropping the
    rule, or allowing any GPU model, would let more go; else there is no room."""
    gr, rs, cls = m.groups, m.restarts, m.cls
    n_g = len(gr.need)
    by_rule = np.zeros(len(gr.g))
    ruled = np.flatnonzero(gr.rule[gr.g] != NONE)
    if len(ruled):
        free_rule = rs.host(ruled, np.full(n_g, NONE, np.int64), cls)
        by_rule[ruled] = np.clip(free_rule - alone[ruled], 0, stranded[ruled])
    by_model = np.zeros(len(gr.g))
    modelled = np.flatnonzero(m.specific[gr.g])
    if len(modelled):
        any_model = rs.host(modelled, gr.rule, m.cls_any)
        by_model[modelled] = np.clip(
            any_model - alone[modelled], 0, stranded[modelled] - by_rule[modelled]
        )
    tenant = gr.tenant[gr.g]
    by = {
        "anti_affinity": by_rule * ratio,
        "gpu_model": by_model * ratio,
        "room": (stranded - by_rule - by_model) * ratio,
    }
    return {
        k: np.bincount(tenant[carries], v[carries], n_t).astype(np.float64) for k, v in by.items()
    }


class _Domains:
    """Rack and zone failures: whole racks go; the rest of each pool takes what it can."""

    def __init__(self, m: _Model, n_pools: int, pool_free: F64, n_t: int) -> None:
        self.m, self.n_pools, self.pool_free = m, n_pools, pool_free
        self.n_t = n_t

    def cost(self, rack_domain: I64, n_dom: int, wait: str) -> tuple[F64, F64, int, int]:
        """Per (domain, tenant): pod-hours of one failure and pods that restart; groups
        with pods, and those that all restart. ``wait``: the recovery hours' key of a
        unit that waits for its domain (each group's part's hours)."""
        m, n_pools, n_t = self.m, self.n_pools, self.n_t
        gr, pool, free = m.groups, m.pool, m.free
        in_pool = pool >= 0
        g, d, k, pods, alone_d = m.restarts.domain(rack_domain, n_dom, gr.rule, m.cls)
        host_dom = rack_domain[m.rack]
        inside = sum_rows(
            host_dom[in_pool] * n_pools + pool[in_pool],
            free[in_pool].astype(np.float64),
            n_dom * n_pools,
        )
        key = d * n_pools + gr.pool[g]
        out_free = self.pool_free[np.arange(n_dom * n_pools) % n_pools] - inside
        kept = cut(alone_d, gr.need[g].astype(np.float64), key, out_free)
        share = np.divide(pods, k, out=np.zeros(len(k)), where=k > 0)
        back_d = kept * share
        t = gr.tenant[g]
        has = t >= 0
        cell = d[has] * n_t + t[has]
        hours = m.recovery.by_group
        cost = _per_pair_cost(pods, back_d, hours["restart"][g], hours[wait][g])
        matrix_d = np.bincount(cell, cost[has], n_dom * n_t).reshape(n_dom, n_t).astype(np.float64)
        moved = np.bincount(cell, back_d[has], n_dom * n_t).reshape(n_dom, n_t).astype(np.float64)
        group_pods = np.bincount(key, np.where(has, pods, 0.0), n_dom * n_pools)
        group_back = np.bincount(key, np.where(has, back_d, 0.0), n_dom * n_pools)
        with_pods = group_pods > 0
        fitting = with_pods & (group_back >= group_pods - 1e-9)
        return matrix_d, moved, int(with_pods.sum()), int(fitting.sum())


def _check_tenants(p: SubstratePlacement, n_t: int) -> None:
    """Refuse a placement whose workloads name a tenant the scenario does not have."""
    if p.workloads and max(ref.tenant_index for ref in p.workloads) >= n_t:
        bad = max(ref.tenant_index for ref in p.workloads)
        raise ScenarioError(
            f"placement {p.name!r}: tenant {bad} is not in this scenario "
            "(place the scenario you analyse)"
        )


def _headroom_model(scenario: Scenario, p: SubstratePlacement, pool: NDArray[Any]) -> int:
    """The host model to add for headroom, -1 without worker hosts: the largest worker
    model without GPUs (CPU, then memory), as the fleet buys for non-GPU pods; a GPU model
    only when every worker host has GPUs."""
    host_model = np.asarray(p.hosts.model, np.int64)
    worker_models = sorted(set(host_model[pool >= 0].tolist()))
    if not worker_models:
        return -1
    models = scenario.hardware.host_models
    return int(
        max(
            worker_models,
            key=lambda m: (models[m].gpu_count == 0, models[m].cpu_milli, models[m].memory_mib, -m),
        )
    )


def _host_fits(
    busy: NDArray[np.bool_], host: NDArray[Any], pods: NDArray[Any], restarted: F64, n_hosts: int
) -> NDArray[np.bool_]:
    """Per host, whether a failure of it is restartable: it has pods and every one of them
    finds room elsewhere (``pods`` and ``restarted`` per group, on ``host``)."""
    fits = np.zeros(n_hosts, bool)
    pod_sum = np.bincount(host, pods, n_hosts)
    back = np.bincount(host, restarted, n_hosts)
    fits[busy] = back[busy] >= pod_sum[busy] - 1e-9
    return fits


def failure_costs(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> FailureCosts:
    """Decide once per host, rack and zone what one failure costs (module docstring)."""
    n_hosts, n_t = len(p.hosts), len(scenario.tenants)
    _check_tenants(p, n_t)
    m = _restart_model(scenario, defaults, p)
    gr, rs, cls = m.groups, m.restarts, m.cls
    rack, zones, racks, zone_of_rack = m.rack, m.zones, m.racks, m.zone_of_rack
    pool, load, free, spare = m.pool, m.load, m.free, m.spare
    n_g = len(gr.need)
    n_pools = max(int(pool.max()) if n_hosts else 0, int(gr.pool.max()) if n_g else 0) + 1
    in_pool = pool >= 0
    pool_free = sum_rows(pool[in_pool], free[in_pool].astype(np.float64), n_pools)
    need = gr.need[gr.g].astype(np.float64)
    ratio = np.divide(gr.pods, gr.units, out=np.zeros(len(gr.g)), where=gr.units > 0)
    carries = gr.tenant[gr.g] >= 0

    # Host failures: every pair judged alone, then the groups of one host compete.
    everyone = np.arange(len(gr.g), dtype=np.int64)
    alone = rs.host(everyone, gr.rule, cls)
    free_out = (pool_free[np.maximum(pool, 0)] - free).astype(np.float64)
    units = cut(alone, need, gr.h, free_out)
    restarted = units * ratio
    stranded = (gr.units - units).astype(np.float64)
    stranded_by = _stranded_by(m, alone, stranded, ratio, carries, n_t)
    tenant = gr.tenant[gr.g]

    def matrix(values: F64) -> Any:
        out = sparse.coo_matrix(
            (values[carries], (gr.h[carries], tenant[carries])), shape=(n_hosts, n_t)
        ).tocsr()
        out.sum_duplicates()
        return out

    pods_m = matrix(gr.pods)
    pods_m.eliminate_zeros()
    restart_m = matrix(restarted)
    at = {k: v[gr.g] for k, v in m.recovery.by_group.items()}  # hours per (group, host) pair
    host_cost = {
        kind: matrix(_per_pair_cost(gr.pods, restarted, at["restart"], at[f"host_{kind}_wait"]))
        for kind in ("software", "hardware")
    }
    host_fits = _host_fits(
        np.diff(pods_m.indptr) > 0, gr.h[carries], gr.pods[carries], restarted[carries], n_hosts
    )

    # Rack and zone failures: whole racks go; the rest of each pool takes what it can.
    domains = _Domains(m, n_pools, pool_free, n_t)
    rack_cost, rack_restart, rack_groups, rack_fitting = domains.cost(
        np.arange(max(racks, 1), dtype=np.int64), max(racks, 1), "rack_wait"
    )
    zone_cost, zone_restart, _, _ = domains.cost(zone_of_rack, zones, "zone_wait")

    pods_on_host = np.asarray(pods_m.sum(axis=1)).ravel()
    host_short, host_pool = domain_fit(np.arange(n_hosts), pool, load, free, pods_on_host)[1:3]
    rack_short, rack_pool = domain_fit(rack, pool, load, free, pods_on_host)[1:3]
    main = _headroom_model(scenario, p, pool)
    return FailureCosts(
        pods=pods_m,
        restart=restart_m,
        host_rack=rack,
        host_zone=rack % zones,
        racks=racks,
        zones=zones,
        host_cost=host_cost,
        rack_cost=rack_cost[:racks],
        zone_cost=zone_cost,
        rack_restart=rack_restart[:racks],
        zone_restart=zone_restart,
        host_fits=host_fits,
        stranded_by=stranded_by,
        recovery_hours=m.recovery.hours,
        recovery_hours_by_part=m.recovery.by_part,
        hardware_share=defaults.failures.hardware_share,
        rack_groups_with_pods=rack_groups,
        rack_groups_fitting=rack_fitting,
        headroom_model=scenario.hardware.host_models[main].name if main >= 0 else "",
        headroom_hosts_host=headroom(host_short, host_pool, spare, max(main, 0)),
        headroom_hosts_rack=headroom(rack_short, rack_pool, spare, max(main, 0)),
    )
