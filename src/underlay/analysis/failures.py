"""Host, rack and zone failures: a seeded Monte Carlo of the pod-hours each tenant loses.

The model, for one substrate's placement:

- **Failures.** Over ``failures.years`` each host fails a Poisson number of times at
  ``defaults.failures.host_rate`` a host-year, each rack at ``rack_rate`` a rack-year and
  each zone at ``zone_rate`` a zone-year (Jeff Dean's per-cluster-year counts, see the
  defaults' source). Hosts carry the racks placement gave them; racks go round-robin into
  ``hardware.topology.zones`` zones (rack ``r`` is in zone ``r % zones``). Every domain
  fails independently; a trial is one such period.
- **Coupling.** Counts are drawn by inverse CDF from uniforms fixed per (trial, domain):
  three streams (hosts, racks, zones) spawned from the seed, row by row, so with the same
  seed and placement a higher rate never gives fewer failures in any trial, and more
  failures never give a tenant more availability — sample by sample, not only on average.
- **What one failure costs** is decided once per domain from the placement's spare
  capacity, in aggregate (CPU, memory, pod slots and GPU-milli summed over the hosts that
  could take the pods; *not* a bin-packing: a sum that holds may still not pack, and GPU
  models and anti-affinity are not checked), and each event is costed alone against that
  spare capacity (overlapping failures are not modelled; a year's downtime is clipped at
  the whole year):
  - ``baremetal-dedicated``: the failed host's pods restart on the other worker hosts *of
    the same cluster* if their free capacity holds them; ``baremetal-shared`` and
    ``sandboxed``: on the other worker hosts of the one shared cluster. Down for
    detection + pod start; else they wait for the host: detection + reprovision + pod
    start.
  - ``vm``: the failed host's VMs (workers and control planes) are re-created on other
    hosts if the fleet's free host capacity holds their footprint (vCPUs and memory over
    the overcommit, per-VM memory overhead, GPUs): down for detection + VM replace + pod
    start; else detection + reprovision + VM replace + pod start.
  - a rack (zone) failure takes all its hosts for the rack (zone) repair time; their pods
    (per cluster on dedicated hosts, else together) restart elsewhere if the rest of the
    cluster / fleet holds them (detection + [VM replace] + pod start), else they are down
    for the repair time + [VM replace] + pod start.
  Pods come back at the earlier of the two (restart elsewhere or their machine's return).
  Detection is node-monitor grace + the not-ready toleration; times come from
  ``defaults.failures`` and ``defaults.lifecycle``. Control-plane machines carry no tenant
  pods: their failures cost no pod-hours here (a control plane has three replicas).
- **Vectorised.** A sparse (hosts × tenants) matrix of placed pods; per trial a vector of
  downtime hours per host (count × hours a failure costs, racks and zones mapped onto their
  hosts); lost pod-hours per tenant = downtime @ pods, for a chunk of trials at once.
- **Per tenant**: availability = 1 − (lost pod-hours + unplaced pods × hours) / (pods
  asked for × hours) per trial (hours = years × 365.2425 × 24; a host's downtime in a trial
  is capped at the period); its mean, 5th percentile (the bad years), the share of trials
  meeting the tenant's SLA, the mean pod-hours lost to failures (and the exact expectation
  by domain: rate × years × hours × pods) and how many of its pods one of its hosts takes
  down. A pod that could not be placed is down the whole period; a tenant asking for no
  pods has availability 100 % and a note.
- **Per substrate**: tenants touched by one host failure (tenants with pods on the host:
  dedicated hosts touch one, VM hosts and shared nodes often several); the share of host
  and rack failures whose pods could restart elsewhere; headroom: extra hosts so that the
  worst single host's load, and the worst rack's, fits in the free capacity left — per
  cluster on dedicated hosts, fleet-wide otherwise. The host added is the largest worker
  model (the largest without GPUs when there is one, as the fleet buys for CPU pods;
  GPU hosts of the worker model with most GPUs for a GPU shortfall), offering what a
  worker of that model offers in this placement.
- Spare capacity is what the placement opened: inventory hosts it left unopened are not
  counted (they belong to no cluster until provisioned).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import pdtr

from underlay.defaults.catalog import Defaults, FailureRates
from underlay.errors import ScenarioError
from underlay.model.scenario import Scenario, Vm
from underlay.placement.result import WORKER, SubstratePlacement

# Hours in a year of the Gregorian calendar (365.2425 days); the failure period's length.
HOURS_PER_YEAR = 24 * 365.2425
# Trials × tenants availabilities are kept in memory: 100,000 × 200 tenants is ~0.6 GiB.
MAX_TRIALS = 100_000

__all__ = [
    "FailureCosts",
    "SubstrateFailures",
    "TenantFailures",
    "analyse_failures",
    "failure_costs",
    "lost_pod_hours",
    "poisson_counts",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
_CHUNK_ELEMENTS = 1 << 20  # trials × hosts per chunk: 8 MiB per float array (cache-friendly)
_SLA_EPS = 1e-9  # percentage points: 99.99 computed as 99.98999999 still meets 99.99


@dataclass(frozen=True)
class FailureCosts:
    """What one failure of each domain costs, decided once from the placement.

    Per host: its rack and zone, and the hours its pods are down when the host, its rack
    or its zone fails once; ``pods`` is the sparse (hosts × tenants) matrix of placed pods.
    ``*_fits``: the pods could restart elsewhere. ``headroom_*``: extra hosts of
    ``headroom_model`` for the worst host / rack failure to fit (see the module docstring).
    """

    pods: Any  # scipy.sparse.csr_matrix, hosts × tenants, float64
    host_rack: I64
    host_zone: I64
    racks: int
    zones: int
    host_hours: F64
    rack_hours: F64
    zone_hours: F64
    host_fits: B
    rack_fits: B
    zone_fits: B
    recovery_hours: dict[str, float]
    rack_groups_with_pods: int
    rack_groups_fitting: int
    headroom_model: str
    headroom_hosts_host: int
    headroom_hosts_rack: int


@dataclass(frozen=True)
class TenantFailures:
    """One tenant's losses on one substrate over the Monte Carlo's trials."""

    name: str
    pods: int  # placed pods (unplaced ones cannot fail)
    hosts: int  # hosts carrying its pods
    sla_percent: float
    availability_mean: float
    availability_p5: float
    sla_probability: float
    pod_hours_lost_mean: float
    pod_hours_lost_expected: dict[str, float]  # exact expectation by domain: host/rack/zone
    pods_per_host_failure: float
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SubstrateFailures:
    """Failures on one substrate: settings, blast radius, headroom and per-tenant losses."""

    kind: str
    name: str
    trials: int
    years: float
    seed: int
    hosts: int
    racks: int
    zones: int
    failures_per_year: dict[str, float]  # per host, per rack, per zone
    recovery_hours: dict[str, float]  # restart elsewhere / wait, per domain
    tenants_touched_mean: float
    tenants_touched_max: int
    tenants_touched_hosts: dict[int, int]  # tenants touched -> hosts (with pods)
    host_failures_restartable: float
    rack_failures_restartable: float
    headroom_model: str
    headroom_hosts_host: int
    headroom_hosts_rack: int
    tenants: list[TenantFailures]
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- Poisson draws
def poisson_counts(u: F64, mu: float) -> I64:
    """Inverse Poisson(mu) CDF of the uniforms ``u``: the smallest k with F(k) >= u.

    Equal to ``scipy.stats.poisson.ppf(u, mu)`` (except 0 where ``ppf`` gives -1 at u = 0),
    through a table of F(0..K), grown until it covers the largest uniform, and a sorted
    search: ``ppf`` itself is the slow part at millions of draws, and ``scipy.special``'s
    ``pdtr`` (the Poisson CDF) spares importing ``scipy.stats``.
    """
    if mu <= 0 or not u.size:
        return np.zeros(u.shape, np.int64)
    need = float(u.max())
    top = int(mu + 10 * math.sqrt(mu) + 10)
    table = pdtr(np.arange(top + 1), mu)
    while table[-1] < need and top < 1_000_000:
        top *= 2
        table = pdtr(np.arange(top + 1), mu)
    k: I64 = np.searchsorted(table, u, side="left").astype(np.int64)
    return np.minimum(k, top)


# ---------------------------------------------------------------------- what a failure costs
def _host_load(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement
) -> tuple[I64, I64, I64, I64]:
    """Per host: its pool (the hosts that can take its pods; -1 = none), its load and free
    capacity (hosts × [CPU milli, memory MiB, pod slots, GPU milli]); per host model, what
    one more worker host of it offers."""
    n_hosts, nodes = len(p.hosts), p.nodes
    role = np.asarray(p.hosts.role, np.int64)
    owner = np.asarray(p.hosts.owner, np.int64)
    model = np.asarray(p.hosts.model, np.int64)
    load = np.zeros((n_hosts, 4), np.int64)
    free = np.zeros((n_hosts, 4), np.int64)
    spare = np.zeros((len(p.host_models), 4), np.int64)
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
        np.add.at(load, nodes.host[on], fp[on])
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
        return pool, load, free, spare
    w = on & (nodes.role == WORKER)
    used = np.stack([nodes.used_cpu, nodes.used_mem, nodes.used_pods, nodes.gpu_used_milli], 1)
    alloc = np.stack([nodes.alloc_cpu, nodes.alloc_mem, nodes.alloc_pods, nodes.gpu_cap_milli], 1)
    np.add.at(load, nodes.host[w], used[w])
    np.add.at(free, nodes.host[w], np.maximum(alloc[w] - used[w], 0))
    np.maximum.at(spare, model[nodes.host[w]], alloc[w])
    worker = role == WORKER
    if p.kind == "baremetal-dedicated":
        pool = np.where(worker & (owner >= 0), owner, -1)
    else:
        pool = np.where(worker, 0, -1)
    return pool.astype(np.int64), load, free, spare


def _domain_fit(
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
    g_load = np.zeros((len(groups), 4))
    g_free = np.zeros((len(groups), 4))
    np.add.at(g_load, inv, load[mask])
    np.add.at(g_free, inv, free[mask])
    pool_free = np.zeros((n_pools, 4))
    np.add.at(pool_free, pool[mask], free[mask])
    shortfall = np.maximum(g_load - (pool_free[g_pool] - g_free), 0)
    g_fits = ~(shortfall > 0).any(axis=1)
    fits = np.zeros(len(pool), bool)
    fits[mask] = g_fits[inv]
    has_pods = np.bincount(inv, weights=pods_on_host[mask], minlength=len(groups)) > 0
    return fits, shortfall, g_pool, has_pods


def _headroom(shortfall: F64, g_pool: I64, spare: I64, main: int) -> int:
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


def _cat(parts: list[Any], dtype: type[Any]) -> NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def failure_costs(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> FailureCosts:
    """Decide once per host, rack and zone what one failure costs (module docstring)."""
    n_hosts, n_t = len(p.hosts), len(scenario.tenants)
    rows, cols, vals = [], [], []
    for ref, pn, pc in zip(p.workloads, p.pod_nodes, p.pod_counts, strict=True):
        if ref.tenant_index >= n_t:
            raise ScenarioError(
                f"placement {p.name!r}: tenant {ref.tenant_index} is not in this scenario "
                "(place the scenario you analyse)"
            )
        hosts = p.nodes.host[pn] if len(pn) else pn
        keep = hosts >= 0  # pods on VMs without a host are unplaced; none should remain
        rows.append(hosts[keep])
        cols.append(np.full(int(keep.sum()), ref.tenant_index, np.int64))
        vals.append(pc[keep].astype(np.float64))
    pods = sparse.coo_matrix(
        (_cat(vals, np.float64), (_cat(rows, np.int64), _cat(cols, np.int64))),
        shape=(n_hosts, n_t),
    ).tocsr()
    pods.sum_duplicates()
    pods_on_host = np.asarray(pods.sum(axis=1)).ravel()

    rack = np.asarray(p.hosts.rack, np.int64)
    zones = scenario.hardware.topology.zones
    zone = rack % zones
    racks = int(rack.max()) + 1 if n_hosts else 0
    pool, load, free, spare = _host_load(scenario, defaults, p)
    host_fits, host_short, host_pool, _ = _domain_fit(
        np.arange(n_hosts), pool, load, free, pods_on_host
    )
    rack_fits, rack_short, rack_pool, rack_pods = _domain_fit(rack, pool, load, free, pods_on_host)
    zone_fits, _, _, _ = _domain_fit(zone, pool, load, free, pods_on_host)

    f, life = defaults.failures, defaults.lifecycle
    substrate = scenario.substrate(p.name)
    replace = (
        defaults.hypervisors[substrate.hypervisor].vm_replace_minutes
        if isinstance(substrate, Vm)
        else 0.0
    )
    start = replace + f.pod_start_minutes
    restart = (f.detection_minutes + start) / 60
    back = {
        "host": (f.detection_minutes + life.baremetal_reprovision_minutes + start) / 60,
        "rack": f.rack_repair_hours + start / 60,
        "zone": f.zone_repair_hours + start / 60,
    }
    recovery = {"restart": restart} | {f"{k}_wait": v for k, v in back.items()}

    def hours(fits: B, wait: float) -> F64:
        return np.where(fits, min(restart, wait), wait).astype(np.float64)

    # The host to add: the largest worker model without GPUs (CPU, then memory), as the
    # fleet buys for non-GPU pods; a GPU model only when every worker host has GPUs.
    worker_models = sorted(set(np.asarray(p.hosts.model)[pool >= 0].tolist()))
    models = scenario.hardware.host_models
    main = max(
        worker_models or [0],
        key=lambda m: (models[m].gpu_count == 0, models[m].cpu_milli, models[m].memory_mib, -m),
    )
    return FailureCosts(
        pods=pods,
        host_rack=rack,
        host_zone=zone,
        racks=racks,
        zones=zones,
        host_hours=hours(host_fits, back["host"]),
        rack_hours=hours(rack_fits, back["rack"]),
        zone_hours=hours(zone_fits, back["zone"]),
        host_fits=host_fits,
        rack_fits=rack_fits,
        zone_fits=zone_fits,
        recovery_hours=recovery,
        rack_groups_with_pods=int(rack_pods.sum()),
        rack_groups_fitting=int((rack_pods & ~(rack_short > 0).any(axis=1)).sum()),
        headroom_model=models[main].name if worker_models else "",
        headroom_hosts_host=_headroom(host_short, host_pool, spare, main),
        headroom_hosts_rack=_headroom(rack_short, rack_pool, spare, main),
    )


# ---------------------------------------------------------------------- the Monte Carlo
def lost_pod_hours(
    costs: FailureCosts, rates: FailureRates, *, trials: int, years: float, seed: int
) -> F64:
    """Pod-hours each tenant loses in each trial: a (trials × tenants) array.

    Uniforms come row by row (one row per trial) from three streams spawned from
    ``seed`` — hosts, racks, zones — so the chunking never changes a number and the
    same (trial, domain) always sees the same uniform whatever the rates.
    """
    pods = costs.pods
    n_hosts, n_t = pods.shape
    out = np.zeros((trials, n_t))
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    mu = (rates.host_rate * years, rates.rack_rate * years, rates.zone_rate * years)
    busy = np.flatnonzero(np.diff(pods.indptr) > 0)  # hosts with pods
    pods_t = pods[busy].T.tocsr()  # tenants × busy hosts
    h_hours, r_hours, z_hours = (
        costs.host_hours[busy],
        costs.rack_hours[busy],
        costs.zone_hours[busy],
    )
    h_rack, h_zone = costs.host_rack[busy], costs.host_zone[busy]
    period = years * HOURS_PER_YEAR  # a host cannot be down longer than the period
    chunk = max(1, _CHUNK_ELEMENTS // max(n_hosts, 1))
    for first in range(0, trials, chunk):
        n = min(chunk, trials - first)
        host_u = streams[0].random((n, n_hosts))
        rack_u = streams[1].random((n, costs.racks))
        zone_u = streams[2].random((n, costs.zones))
        if not len(busy):
            continue
        down = poisson_counts(host_u[:, busy], mu[0]) * h_hours
        down += poisson_counts(rack_u, mu[1])[:, h_rack] * r_hours
        down += poisson_counts(zone_u, mu[2])[:, h_zone] * z_hours
        np.minimum(down, period, out=down)
        out[first : first + n] = (pods_t @ down.T).T
    return out


def _settings(scenario: Scenario, trials: int | None, seed: int | None) -> tuple[int, int]:
    settings = scenario.failures
    n = settings.trials if trials is None else trials
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TRIALS:
        raise ScenarioError(
            f"failures.trials: must be a whole number from 1 to {MAX_TRIALS:,}, got {n!r}"
        )
    chosen = seed if seed is not None else settings.seed
    chosen = scenario.simulation.seed if chosen is None else chosen
    if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < 0:
        raise ScenarioError(f"failures.seed: must be a whole number >= 0, got {chosen!r}")
    return n, chosen


def analyse_failures(
    scenario: Scenario,
    defaults: Defaults,
    placement: SubstratePlacement,
    *,
    trials: int | None = None,
    seed: int | None = None,
) -> SubstrateFailures:
    """The failure Monte Carlo for one substrate's placement (see the module docstring).

    ``trials`` and ``seed`` override ``scenario.failures``; the seed defaults to
    ``failures.seed``, then ``simulation.seed``. Same inputs and seed, same numbers.
    """
    if placement.name not in scenario.substrate_labels:
        raise ScenarioError(
            f"placement {placement.name!r}: no such substrate in scenario {scenario.name!r} "
            f"(substrates: {', '.join(scenario.substrate_labels)})"
        )
    n_trials, chosen_seed = _settings(scenario, trials, seed)
    years = scenario.failures.years
    rates = defaults.failures
    hours = years * HOURS_PER_YEAR
    costs = failure_costs(scenario, defaults, placement)
    lost = lost_pod_hours(costs, rates, trials=n_trials, years=years, seed=chosen_seed)

    pods = costs.pods
    placed = np.asarray(pods.sum(axis=0)).ravel()
    wanted_t = np.zeros(len(scenario.tenants))
    for r in placement.workloads:
        wanted_t[r.tenant_index] += r.workload.replicas
    # A pod that was never placed is down the whole period: it counts against availability.
    missing = np.maximum(wanted_t - placed, 0) * hours
    denom = np.where(wanted_t > 0, wanted_t * hours, 1.0)
    availability = np.clip(1 - (lost + missing) / denom, 0.0, 1.0)
    availability[:, wanted_t == 0] = 1.0
    mean_t = availability.mean(axis=0)
    p5_t = np.percentile(availability, 5, axis=0)
    expected = {
        "host": rates.host_rate * years * (costs.host_hours @ pods),
        "rack": rates.rack_rate * years * (costs.rack_hours @ pods),
        "zone": rates.zone_rate * years * (costs.zone_hours @ pods),
    }
    csc = pods.tocsc()
    tenants: list[TenantFailures] = []
    for ti, tenant in enumerate(scenario.tenants):
        col = csc.data[csc.indptr[ti] : csc.indptr[ti + 1]]
        wanted = sum(r.workload.replicas for r in placement.workloads if r.tenant_index == ti)
        notes = []
        if wanted == 0:
            notes.append("no pods asked for: availability shown as 100 %")
        elif placed[ti] < wanted:
            notes.append(
                f"{wanted - int(placed[ti])} of {wanted} pods unplaced: counted as down the "
                "whole period"
            )
        sla = tenant.sla.availability_percent
        tenants.append(
            TenantFailures(
                name=tenant.name,
                pods=int(placed[ti]),
                hosts=len(col),
                sla_percent=sla,
                availability_mean=float(mean_t[ti]),
                availability_p5=float(p5_t[ti]),
                sla_probability=float(np.mean(availability[:, ti] * 100 >= sla - _SLA_EPS)),
                pod_hours_lost_mean=float(lost[:, ti].mean()),
                pod_hours_lost_expected={k: float(v[ti]) for k, v in expected.items()},
                pods_per_host_failure=float(col.mean()) if len(col) else 0.0,
                notes=notes,
            )
        )

    touched = np.diff(pods.indptr)
    touched = touched[touched > 0]
    values, counts = np.unique(touched, return_counts=True)
    busy = np.asarray(pods.sum(axis=1)).ravel() > 0
    notes = []
    if placement.unplaced:
        notes.append(
            f"{sum(u.pods for u in placement.unplaced)} pods unplaced: counted as down the "
            "whole period in their tenants' availability"
        )
    return SubstrateFailures(
        kind=placement.kind,
        name=placement.name,
        trials=n_trials,
        years=years,
        seed=chosen_seed,
        hosts=len(placement.hosts),
        racks=costs.racks,
        zones=costs.zones,
        failures_per_year={
            "host": rates.host_rate,
            "rack": rates.rack_rate,
            "zone": rates.zone_rate,
        },
        recovery_hours=costs.recovery_hours,
        tenants_touched_mean=float(touched.mean()) if len(touched) else 0.0,
        tenants_touched_max=int(touched.max()) if len(touched) else 0,
        tenants_touched_hosts={int(v): int(c) for v, c in zip(values, counts, strict=True)},
        host_failures_restartable=float(costs.host_fits[busy].mean()) if busy.any() else 1.0,
        rack_failures_restartable=(
            costs.rack_groups_fitting / costs.rack_groups_with_pods
            if costs.rack_groups_with_pods
            else 1.0
        ),
        headroom_model=costs.headroom_model,
        headroom_hosts_host=costs.headroom_hosts_host,
        headroom_hosts_rack=costs.headroom_hosts_rack,
        tenants=tenants,
        notes=notes,
    )
