"""Host, rack and zone failures: a seeded Monte Carlo of the pod-hours each tenant loses.

The model, for one substrate's placement (every figure is a default with its source in
``defaults.yaml``, shown by ``underlay defaults``):

- **Failures.** Over ``failures.years`` each host fails a Poisson number of times at
  ``failures.host_rate`` a host-year, each rack at ``rack_rate`` a rack-year and each zone
  at ``zone_rate`` a zone-year (Jeff Dean's per-cluster-year counts, LADIS 2009). Hosts
  carry the racks placement gave them; racks go round-robin into ``hardware.topology.zones``
  zones (rack ``r`` is in zone ``r % zones``). Every domain fails independently; a trial
  is one such period.
- **Two kinds of host failure.** Each host failure is a *hardware* fault (a part must be
  replaced) with probability ``failures.hardware_share`` (0.4: hardware-related failures
  are 42 % of all failures on Blue Waters, Di Martino et al., DSN 2014 — an HPC system,
  taken as an assumption for a fleet), else a *software* fault (kernel panic, hung host).
  A software fault is cleared by a reboot: the host is back after
  ``lifecycle.baremetal_reboot_minutes`` (openshift-docs#46241: 10-15 min). A reboot, not
  a re-image: a panicked or hung host comes back with its disk intact (a power cycle
  through the BMC), and re-imaging is for a host whose software is damaged, which the
  failure counts do not separate out. A hardware fault waits for
  ``failures.hardware_repair_hours`` (48: a next-business-day on-site support contract,
  the derived arithmetic in the defaults' source; a 4-hour 24x7 contract gives about
  6 h). Rack and zone failures keep their own repair times (power and network domains,
  Dean's 1-6 h and ~6 h).
- **Coupling.** Counts are drawn by inverse CDF from uniforms fixed per (trial, domain):
  four streams spawned from the seed — hosts, racks, zones, and a second uniform per
  (trial, host) for the kind — drawn row by row (one trial a row), so the chunking never
  changes a number. A host's count of failures is split by the inverse
  Binomial(count, hardware_share) CDF of its second uniform. Chosen over two independent
  Poisson processes at rate x share each (which would couple as well) because the total
  is then exactly the count without kinds, whatever the share, and one Poisson inverse
  CDF per (trial, host) is enough: the split is trivial for the 0 or 1 failure nearly
  every host has in a year. The binomial quantile never falls as the count or the share
  rises, and the count minus it never falls as the count rises; so with the same seed and
  placement a higher rate never gives fewer failures of either kind, a larger share never
  fewer hardware ones, and — a hardware fault costing at least what a software one does
  while the repair is no shorter than the reboot — more failures, a larger hardware share
  or longer repairs never give a tenant more availability: sample by sample, not only on
  average.
- **Who restarts where.** What one failure costs is decided once per host, rack and zone
  from the placement, each failure alone (overlapping failures are not modelled). The
  pods (or, on ``vm``, the VMs) of the failed domain restart elsewhere only on hosts they
  are *allowed* to use:
  - the same pool: ``baremetal-dedicated``, the other worker hosts of the pod's own
    cluster; ``baremetal-shared`` and ``sandboxed``, the shared cluster's worker hosts;
    ``vm``, every hypervisor host, the failed host's *VMs* being what restart;
  - a GPU pod (GPU VM) only on a host with GPUs of a model placement allows it (the
    models its workload names, narrowed by its GPU memory and by MIG), needing the share
    placement gave it (a MIG profile, Kata's whole GPUs);
  - anti-affinity ``host``: only on a host holding no replica (VM) of its group;
    ``rack``: only in a rack holding none — the failed host's own rack is open again to
    the failed unit itself when another host there has room; rack spread (max skew 1,
    a hard constraint as in placement: DoNotSchedule): one at a time into a rack at the
    lowest count among the racks with hosts it may use (a failed rack's or zone's racks
    drop out of the count: their nodes are unreachable), so a rack at the lowest count
    with no room stops the rest;
  - room, host by host: a unit needs *one* host with its whole request free (CPU,
    memory, a pod slot, GPU milli summed over the host's GPUs, which can over-count room
    on a host whose GPUs are fragmented). Identical units of one group are counted
    exactly (each allowed host takes floor(free / request) of them, one under
    anti-affinity); the groups of one failed domain then share that room in aggregate
    only: when together they ask for more of a resource than the pool's free capacity
    outside the domain, each group restarts the same share of its units, the largest
    the room allows (which pods the scheduler's queue serves first is not modelled; a
    fraction of a pod is an expected value). An approximation both ways: groups that
    each fit alone may not pack together, and a large pod that would fit is cut back like
    the small ones.
  Free capacity is what the placement left on the hosts it opened (unopened inventory
  hosts belong to no cluster). A VM's units: its footprint (vCPUs and memory over the
  overcommit, the hypervisor's per-VM memory, GPUs); a workload with anti-affinity or
  rack spread has VMs of its own carrying its rule; a cluster's three control-plane VMs
  (and the hosted control-plane VMs) are anti-affine; when some of a group's VMs on the
  failed host can restart and some cannot, the tenant pods they carry are shared pro
  rata.
- **Recovery.** A unit that can restart elsewhere is back after detection (node-monitor
  grace 40 s + the 300 s not-ready toleration) + [VM replace, on ``vm``] + pod start; one
  that cannot waits for its host: detection + reboot (software fault) or repair
  (hardware fault) + [VM replace] + pod start, or, in a rack (zone) failure, the rack
  (zone) repair + [VM replace] + pod start. A unit comes back at the earlier of the two.
  Control-plane machines carry no tenant pods: their failures cost no pod-hours here (a
  control plane has three replicas); on ``vm`` their VMs still take room to restart.
- **Vectorised.** One failure of each host costs each tenant pod-hours (a sparse
  hosts x tenants matrix per kind), one of each rack or zone a racks (zones) x tenants
  matrix; the pod-hours lost in a trial are failure counts (trials x hosts) @ per-failure
  cost (hosts x tenants), by kind, plus the same for racks and zones, for a chunk of
  trials at once; a tenant's loss in a trial is capped at its placed pods x the period.
- **Per tenant**: availability = 1 - (lost pod-hours + unplaced pods x hours) / (pods asked
  for x hours) per trial (hours = years x 365.2425 x 24); its mean, 5th percentile (the
  bad years), the share of trials meeting the tenant's SLA, the mean pod-hours lost to
  failures (and the exact expectation by domain and by kind: rate x years x cost of one
  failure), how many of its pods one of its hosts takes down and how many of those could
  not restart anywhere allowed (with what stopped them: anti-affinity, a GPU model, or
  room). A pod that could not be placed is down the whole period; a tenant asking for no
  pods has availability 100 % and a note.
- **Per substrate**: tenants touched by one host failure (tenants with pods on the host:
  dedicated hosts touch one, VM hosts and shared nodes often several); the share of host
  failures that were hardware in the trials; the share of host and rack failures whose
  pods all restart elsewhere; headroom: extra hosts so that the worst single host's load,
  and the worst rack's, fits in the free capacity left, in aggregate (not by the rules
  above) — per cluster on dedicated hosts, fleet-wide otherwise. The host added is the
  largest worker model (the largest without GPUs when there is one, as the fleet buys
  for CPU pods; GPU hosts of the worker model with most GPUs for a GPU shortfall),
  offering what a worker of that model offers in this placement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import bdtr, bdtrik, pdtr

from underlay.defaults.catalog import Defaults, FailureRates
from underlay.errors import ScenarioError
from underlay.model.scenario import Sandboxed, Scenario, Vm
from underlay.placement.gpus import gpu_share
from underlay.placement.result import (
    CONTROL_PLANE,
    HOSTED_CONTROL_PLANE,
    WORKER,
    SubstratePlacement,
)

# Hours in a year of the Gregorian calendar (365.2425 days); the failure period's length.
HOURS_PER_YEAR = 24 * 365.2425
# Trials × tenants availabilities are kept in memory: 100,000 × 200 tenants is ~0.6 GiB.
MAX_TRIALS = 100_000
# Why a pod could not restart after a host failure (see TenantFailures.pods_stranded_by).
STRANDED_REASONS = ("anti_affinity", "gpu_model", "room")

__all__ = [
    "HOURS_PER_YEAR",
    "MAX_TRIALS",
    "STRANDED_REASONS",
    "FailureCosts",
    "SubstrateFailures",
    "TenantFailures",
    "analyse_failures",
    "binomial_split",
    "failure_costs",
    "lost_pod_hours",
    "poisson_counts",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
_CHUNK_ELEMENTS = 1 << 20  # trials × hosts per chunk: 8 MiB per float array (cache-friendly)
_SLA_EPS = 1e-9  # percentage points: 99.99 computed as 99.98999999 still meets 99.99
_PASSES = 8  # inverse-CDF table entries compared one pass each before a sorted search


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
    # Host failures by kind: exact expected pod-hours lost, "software" / "hardware".
    pod_hours_lost_expected_host: dict[str, float] = field(default_factory=dict)
    # Of its pods on one failed host (mean over its hosts), those with nowhere allowed to
    # restart, which wait for the host; and by what stopped them (STRANDED_REASONS).
    pods_stranded_per_host_failure: float = 0.0
    pods_stranded_by: dict[str, float] = field(default_factory=dict)
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
    # restart (elsewhere), host_software_wait (reboot), host_hardware_wait (repair),
    # host_wait (their mean by the hardware share), rack_wait, zone_wait
    recovery_hours: dict[str, float]
    tenants_touched_mean: float
    tenants_touched_max: int
    tenants_touched_hosts: dict[int, int]  # tenants touched -> hosts (with pods)
    host_failures_restartable: float
    rack_failures_restartable: float
    headroom_model: str
    headroom_hosts_host: int
    headroom_hosts_rack: int
    tenants: list[TenantFailures]
    hardware_share: float = 0.0  # the setting: a host failure is hardware with this chance
    host_failures_hardware_share: float = 0.0  # hardware in the trials (all hosts)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------- inverse CDFs
def _poisson_table(mu: float, need: float) -> F64:
    """F(0..K) of Poisson(mu), grown until it covers ``need`` (the largest uniform)."""
    top = int(mu + 10 * math.sqrt(mu) + 10)
    table: F64 = pdtr(np.arange(top + 1), mu)
    while table[-1] < need and top < 1_000_000:
        top *= 2
        table = pdtr(np.arange(top + 1), mu)
    return table


def _inverse(u: F64, table: F64) -> F64:
    """The smallest k with table[k] >= u (clipped to the table), as floats.

    Equal to a sorted search, but the first entries (where nearly every uniform falls)
    are counted one comparison pass each, and only the uniforms beyond them searched.
    """
    top = len(table) - 1
    head = int(np.searchsorted(table, 0.999, side="right")) + 1
    if head > _PASSES:
        out: F64 = np.minimum(np.searchsorted(table, u, side="left"), top).astype(np.float64)
        return out
    out = np.zeros(u.shape)
    above = np.empty(u.shape, bool)
    for j in range(min(head, top + 1)):
        np.greater(u, table[j], out=above)
        out += above
    if head <= top:
        flat_u, flat_out = u.reshape(-1), out.reshape(-1)
        tail = np.flatnonzero(flat_u > table[head - 1])
        if tail.size:
            flat_out[tail] = np.minimum(np.searchsorted(table, flat_u[tail], side="left"), top)
    return out


def poisson_counts(u: F64, mu: float) -> I64:
    """Inverse Poisson(mu) CDF of the uniforms ``u``: the smallest k with F(k) >= u.

    Equal to ``scipy.stats.poisson.ppf(u, mu)`` (except 0 where ``ppf`` gives -1 at u = 0),
    through a table of F(0..K), grown until it covers the largest uniform: ``ppf`` itself
    is the slow part at millions of draws, and ``scipy.special``'s ``pdtr`` (the Poisson
    CDF) spares importing ``scipy.stats``.
    """
    if mu <= 0 or not u.size:
        return np.zeros(u.shape, np.int64)
    return _inverse(u, _poisson_table(mu, float(u.max()))).astype(np.int64)


def _poisson(u: F64, mu: float) -> F64:
    if mu <= 0 or not u.size:
        return np.zeros(u.shape)
    return _inverse(u, _poisson_table(mu, float(u.max())))


def binomial_split(n: F64, u: F64, p: float) -> F64:
    """Inverse Binomial(n, p) CDF of the uniforms ``u``: of ``n`` failures, how many are of
    the kind with probability ``p`` (here: hardware). The smallest k with F(k) >= u, equal to
    ``scipy.stats.binom.ppf(u, n, p)``; n = 0 and 1 (nearly every host in a year) need no
    table: k = 1 exactly when u > 1 - p.
    """
    if p <= 0:
        return np.zeros(n.shape)
    if p >= 1:
        return n.astype(np.float64, copy=True)
    out: F64 = ((u > 1 - p) & (n >= 1)).astype(np.float64)
    flat_n, flat_u, flat_out = n.reshape(-1), u.reshape(-1), out.reshape(-1)
    many = np.flatnonzero(flat_n >= 2)
    if many.size:
        n_m, u_m = flat_n[many], flat_u[many]
        values = np.unique(n_m)
        if len(values) <= 64:
            k = np.empty(len(many))
            for v in values.tolist():
                sel = n_m == v
                k[sel] = np.searchsorted(bdtr(np.arange(int(v)), int(v), p), u_m[sel])
        else:  # many distinct counts (absurd rates): scipy.stats' own ppf formula
            k = np.ceil(bdtrik(u_m, n_m, p))
            lower = np.maximum(k - 1, 0)
            below = bdtr(lower.astype(np.int64), n_m.astype(np.int64), p)
            k = np.clip(np.where(below >= u_m, lower, k), 0, n_m)
        flat_out[many] = k
    return out


# ---------------------------------------------------------------------- free capacity
def _sum_rows(index: I64, values: NDArray[Any], n_out: int) -> NDArray[Any]:
    """Rows of ``values`` summed by ``index`` (an ``np.add.at`` by bincount, per column)."""
    out = np.zeros((n_out, values.shape[1]), values.dtype)
    for c in range(values.shape[1]):
        out[:, c] = np.bincount(index, values[:, c], n_out)
    return out


def _host_load(
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
        load = _sum_rows(nodes.host[on], fp[on], n_hosts)
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
    load = _sum_rows(nodes.host[w], used[w], n_hosts)
    free = _sum_rows(nodes.host[w], np.maximum(alloc[w] - used[w], 0), n_hosts)
    np.maximum.at(spare, model[nodes.host[w]], alloc[w])
    worker = role == WORKER
    if p.kind == "baremetal-dedicated":
        pool = np.where(worker & (owner >= 0), owner, -1)
    else:
        pool = np.where(worker, 0, -1)
    return pool.astype(np.int64), load, free, spare, fp


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
    g_load = _sum_rows(inv.ravel(), load[mask].astype(np.float64), len(groups))
    g_free = _sum_rows(inv.ravel(), free[mask].astype(np.float64), len(groups))
    pool_free = _sum_rows(pool[mask], free[mask].astype(np.float64), n_pools)
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


# ---------------------------------------------------------------------- who restarts where
# Placement rules a group of identical units carries to its restart.
NONE, HOST, RACK, SPREAD = 0, 1, 2, 3
_RULE = {"none": NONE, "host": HOST, "rack": RACK}
_BIG = 1 << 30  # units a host could take of a group that asks for none of a resource


@dataclass(frozen=True)
class _Groups:
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


def _model_table(scenario: Scenario, sets: list[frozenset[str]]) -> B:
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


def _pod_groups(
    scenario: Scenario, defaults: Defaults, p: SubstratePlacement, sets: list[frozenset[str]]
) -> _Groups:
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
    lens = [len(pn) for pn in p.pod_nodes]
    nodes = _cat(list(p.pod_nodes), np.int64)
    counts = _cat(list(p.pod_counts), np.int64)
    wid = np.repeat(np.arange(n_w, dtype=np.int64), lens)
    hosts = p.nodes.host[nodes] if len(nodes) else nodes
    g, h, units, pods = _pairs(wid, hosts, counts, counts.astype(np.float64), n_hosts)
    return _Groups(need, gpu, models, rule, tenant, pool, g, h, units, pods)


def _set_id(sets: list[frozenset[str]], allowed: frozenset[str]) -> int:
    if allowed not in sets:
        sets.append(allowed)
    return sets.index(allowed)


def _vm_groups(
    scenario: Scenario,
    defaults: Defaults,
    p: SubstratePlacement,
    footprint: I64,
    sets: list[frozenset[str]],
) -> _Groups:
    """VM substrates: the VMs are the units. A workload with anti-affinity or rack spread
    has VMs of its own that carry its rule; each cluster's control-plane VMs (and the
    hosted control-plane VMs) are one anti-affine group; other VMs group by cluster,
    footprint and allowed GPU models."""
    nodes, n_hosts = p.nodes, len(p.hosts)
    n_nodes = len(nodes)
    substrate = scenario.substrate(p.name)
    pod_node = _cat(list(p.pod_nodes), np.int64)
    pod_count = _cat(list(p.pod_counts), np.int64)
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
    return _Groups(
        need, need[:, 3] > 0, uniq[:, 6].astype(np.int64), rule, tenant,
        np.zeros(n_g, np.int64), g, h, units, pods,
    )  # fmt: skip


class _Room:
    """Where a unit of each class (pool, need, GPU models) may restart, host by host.

    ``fit`` is, per (class, host of its pool) with any room at all, how many units of the
    class fit in the host's free capacity alone (the least over the resources it asks
    for; GPU milli summed over the host's GPUs), 0 on a host its GPU models do not
    allow; then per class: units that fit (``slots``), hosts with room for one
    (``roomy``), the same per rack, and racks with a roomy host (``roomy_racks``).
    """

    def __init__(
        self, keys: I64, pool: I64, free: I64, rack: I64, zone_of_rack: I64,
        host_model: I64, allowed: B,
    ) -> None:  # fmt: skip
        self.keys, self.pool, self.rack, self.zone_of_rack = keys, pool, rack, zone_of_rack
        self.host_model, self.allowed = host_model, allowed
        n_cls, n_racks = len(keys), len(zone_of_rack)
        self.n_racks = n_racks
        c_pool, need, gpu, models = keys[:, 0], keys[:, 1:5], keys[:, 5] > 0, keys[:, 6]
        self.c_pool = c_pool
        # Only hosts that could take the smallest unit of any class are visited.
        smallest = need.min(axis=0) if n_cls else np.zeros(4, np.int64)
        roomy = np.flatnonzero((pool >= 0) & (free >= smallest).all(axis=1))
        roomy = roomy[np.argsort(pool[roomy], kind="stable")]
        n_pools = max(int(pool.max()) if len(pool) else 0, int(c_pool.max()) if n_cls else 0) + 1
        per_pool = np.bincount(pool[roomy], minlength=n_pools)
        start = np.cumsum(per_pool) - per_pool
        self.pos = np.full(len(pool), -1, np.int64)
        self.pos[roomy] = np.arange(len(roomy)) - start[pool[roomy]]
        size = per_pool[c_pool] if n_cls else np.zeros(0, np.int64)
        self.offset = np.cumsum(size) - size
        cls = np.repeat(np.arange(n_cls, dtype=np.int64), size)
        host = roomy[start[c_pool][cls] + np.arange(len(cls)) - self.offset[cls]]
        fit = np.full(len(cls), _BIG, np.int64)
        for r in range(4):
            n = need[cls, r]
            ask = n > 0
            fit[ask] = np.minimum(fit[ask], free[host[ask], r] // n[ask])
        gi = np.flatnonzero(gpu[cls])
        fit[gi[~allowed[models[cls[gi]], host_model[host[gi]]]]] = 0
        self.fit = fit
        one = (fit >= 1).astype(np.float64)
        cell = cls * n_racks + rack[host]
        self.slots = np.bincount(cls, weights=fit, minlength=n_cls).astype(np.int64)
        self.roomy = np.bincount(cls, weights=one, minlength=n_cls).astype(np.int64)
        shape = (n_cls, n_racks)
        self.rack_slots = np.bincount(cell, fit, n_cls * n_racks).reshape(shape).astype(np.int64)
        self.rack_roomy = np.bincount(cell, one, n_cls * n_racks).reshape(shape).astype(np.int64)
        self.roomy_racks = (self.rack_roomy > 0).sum(axis=1)

    def at(self, cls: I64, host: I64) -> I64:
        """Units of class ``cls`` host ``host`` could take (0 when it has no room)."""
        pos = self.pos[host]
        ok = (pos >= 0) & (self.pool[host] == self.c_pool[cls])
        out = np.zeros(len(cls), np.int64)
        out[ok] = self.fit[self.offset[cls[ok]] + pos[ok]]
        return out

    def domains(self, cls: int) -> I64:
        """Hosts per rack a unit of class ``cls`` may use (its pool, its GPU models): the
        racks a rack spread counts."""
        pool_c, gpu, models = self.keys[cls, 0], self.keys[cls, 5] > 0, self.keys[cls, 6]
        mine = self.pool == pool_c
        if gpu:
            mine &= self.allowed[models, self.host_model]
        return np.bincount(self.rack[mine], minlength=self.n_racks).astype(np.int64)


def _spread_fill(count: I64, room: I64, domain: B, k: I64) -> I64:
    """How many of ``k`` pods a rack spread (max skew 1, rows: one case each) can restart.

    The scheduler puts each pod in a rack at the lowest count among the rack domains
    (``domain``), so the lowest count can only rise once every rack at it got one; a rack
    at the lowest count with no room stops it. With cap = count + room, the lowest count
    reaches L = min(cap) and the pods placed are sum(max(0, L - count)) plus one in each
    rack at or below L with room past it.
    """
    cap = count + room
    top = np.where(domain, cap, np.iinfo(np.int64).max).min(axis=1)[:, None]
    below = np.where(domain, np.maximum(top - count, 0), 0).sum(axis=1)
    above = (domain & (count <= top) & (cap > top)).sum(axis=1)
    return np.where(domain.any(axis=1), np.minimum(k, below + above), 0).astype(np.int64)


class _Spread:
    """:func:`_spread_fill` for one rack changed (a host failure) or dropped (a rack failure),
    per case in O(log racks): for rows ``s`` (one spread group each) the counts, room and
    allowed hosts per rack before the failure. Room is capped at the group's units (no
    rack can take more), which changes no result."""

    _M = 1 << 42  # key stride per row in the sorted tables (values stay below 2^41)

    def __init__(self, count: I64, room: I64, hosts: I64) -> None:
        self.count, self.hosts, self.room = count, hosts, room
        self.units = count.sum(axis=1)
        self.cap = count + np.minimum(room, self.units[:, None])
        self.dom = hosts >= 1
        big = np.iinfo(np.int64).max
        k = np.where(self.dom, self.cap, big)
        order = np.argsort(k, axis=1, kind="stable")
        rows = np.arange(len(k))
        self.kmin_rack = order[:, 0] if k.shape[1] else np.zeros(len(k), np.int64)
        self.kmin = k[rows, self.kmin_rack] if k.shape[1] else np.full(len(k), big)
        self.kmin2 = k[rows, order[:, 1]] if k.shape[1] > 1 else np.full(len(k), big)
        self.c_keys, self.c_sum, self.c_start = self._table(count)
        self.k_keys, _, self.k_start = self._table(self.cap)

    def _table(self, values: I64) -> tuple[I64, I64, I64]:
        s, r = np.nonzero(self.dom)
        keys = np.sort(s * self._M + values[s, r])
        csum = np.concatenate([[0], np.cumsum(keys % self._M)])
        start = np.searchsorted(keys, np.arange(len(values)) * self._M)
        return keys, csum, start

    def _total(self, s: I64, level: I64) -> I64:
        """Per case, over the rack domains before the failure: sum(max(0, L - count)) +
        #(count <= L) - #(cap <= L), i.e. the fill at level L without the one-more term's
        exclusion (see _spread_fill: #(count <= L < cap) = #(count <= L) - #(cap <= L))."""
        base = s * self._M
        lt = np.searchsorted(self.c_keys, base + level, side="left")
        le = np.searchsorted(self.c_keys, base + level, side="right")
        k_le = np.searchsorted(self.k_keys, base + level, side="right")
        below = (lt - self.c_start[s]) * level - (self.c_sum[lt] - self.c_sum[self.c_start[s]])
        total: I64 = below + (le - self.c_start[s]) - (k_le - self.k_start[s])
        return total

    @staticmethod
    def _one(count: I64, cap: I64, level: I64) -> I64:
        term: I64 = np.maximum(level - count, 0) + (count <= level) - (cap <= level)
        return term

    def _min_without(self, s: I64, rack: I64) -> I64:
        out: I64 = np.where(self.kmin_rack[s] == rack, self.kmin2[s], self.kmin[s])
        return out

    def host(self, s: I64, rack: I64, lost: I64, room_lost: I64) -> I64:
        """Restarts of the ``lost`` units when one host of ``rack`` (with ``room_lost`` of
        the room) fails: the rack stays a domain while another allowed host is up there."""
        big = np.iinfo(np.int64).max
        count, cap = self.count[s, rack], self.cap[s, rack]
        count2 = count - lost
        cap2 = count2 + np.minimum(self.room[s, rack] - room_lost, self.units[s])
        stays = self.hosts[s, rack] - 1 >= 1
        level = np.minimum(self._min_without(s, rack), np.where(stays, cap2, big))
        some = level < big
        level = np.where(some, level, 0)
        fill = (
            self._total(s, level)
            - np.where(self.dom[s, rack], self._one(count, cap, level), 0)
            + np.where(stays, self._one(count2, cap2, level), 0)
        )
        return np.where(some, np.minimum(lost, fill), 0).astype(np.int64)

    def without_rack(self, s: I64, rack: I64, lost: I64) -> I64:
        """Restarts of the ``lost`` units of a failed rack: it drops out of the domains."""
        big = np.iinfo(np.int64).max
        level = self._min_without(s, rack)
        some = level < big
        level = np.where(some, level, 0)
        fill = self._total(s, level) - np.where(
            self.dom[s, rack], self._one(self.count[s, rack], self.cap[s, rack], level), 0
        )
        return np.where(some, np.minimum(lost, fill), 0).astype(np.int64)


class _Restarts:
    """Units of each (group, failed domain) that may restart elsewhere, by their rules.

    Each failure is judged alone against the placement's free capacity: per group the
    units are counted exactly (identical units on each allowed host's own free capacity);
    the groups of one failed domain then compete for the same room, which :func:`_cut`
    settles in aggregate (see the module docstring).
    """

    _CHUNK = 1 << 21  # cases × racks of a rack spread per block (zone failures)

    def __init__(self, groups: _Groups, room: _Room, rack: I64) -> None:
        self.gr, self.room = groups, room
        self.pair_rack = rack[groups.h]
        self.n_groups = len(groups.need)
        spread = np.flatnonzero(groups.rule == SPREAD)
        self.spread_row = np.full(self.n_groups, -1, np.int64)
        self.spread_row[spread] = np.arange(len(spread))
        n_racks = room.n_racks
        on = self.spread_row[groups.g] >= 0
        cell = self.spread_row[groups.g[on]] * n_racks + self.pair_rack[on]
        self.spread_count = (
            np.bincount(cell, groups.units[on], len(spread) * n_racks)
            .reshape(len(spread), n_racks)
            .astype(np.int64)
        )
        self._domains: dict[int, I64] = {}

    def _domain_rows(self, cls: I64) -> I64:
        """Per case: allowed hosts per rack for its class (the racks a spread counts)."""
        uniq, inv = np.unique(cls, return_inverse=True)
        for c in uniq.tolist():
            if c not in self._domains:
                self._domains[c] = self.room.domains(c)
        table = np.stack([self._domains[c] for c in uniq.tolist()])
        return table[inv.ravel()]

    def _own_racks(self, g: I64, rack: I64, c: I64, target: I64, n_out: int) -> F64:
        """Per ``target`` (a group, or a group's domain): racks holding one of its units
        that have a roomy host, each rack once."""
        key = g * self.room.n_racks + rack
        _, first = np.unique(key, return_index=True)
        roomy = (self.room.rack_roomy[c[first], rack[first]] > 0).astype(np.float64)
        return np.bincount(target[first], roomy, n_out).astype(np.float64)

    def host(self, sel: I64, rule: I64, cls: I64) -> I64:
        """Units of each pair in ``sel`` (whole groups) that can restart elsewhere when the
        pair's host fails, before the groups compete for room."""
        gr, room = self.gr, self.room
        g, h, k = gr.g[sel], gr.h[sel], gr.units[sel]
        c, r, a = cls[g], rule[g], self.pair_rack[sel]
        fh = room.at(c, h)
        out = np.zeros(len(g), np.int64)
        m = r == NONE
        out[m] = np.minimum(k[m], room.slots[c[m]] - fh[m])
        m = r == HOST
        if m.any():
            own = np.bincount(g[m], (fh[m] >= 1).astype(np.float64), self.n_groups)
            out[m] = np.minimum(k[m], room.roomy[c[m]] - own[g[m]].astype(np.int64))
        m = r == RACK
        if m.any():
            own_racks = self._own_racks(g[m], a[m], c[m], g[m], self.n_groups)
            # The failed unit's own rack is open to it again if another host there has room.
            back_home = room.rack_roomy[c[m], a[m]] - (fh[m] >= 1) >= 1
            free_racks = room.roomy_racks[c[m]] - own_racks[g[m]].astype(np.int64) + back_home
            out[m] = np.minimum(k[m], free_racks)
        m = r == SPREAD
        if m.any():
            spread = self._spread(cls)
            out[m] = spread.host(self.spread_row[g[m]], a[m], k[m], fh[m])
        return np.maximum(out, 0)

    def _spread(self, cls: I64) -> _Spread:
        c = cls[np.flatnonzero(self.spread_row >= 0)]
        return _Spread(self.spread_count, self.room.rack_slots[c], self._domain_rows(c))

    def domain(
        self, rack_domain: I64, n_domains: int, rule: I64, cls: I64
    ) -> tuple[I64, I64, I64, F64, I64]:
        """Whole racks fail together (a rack, or a zone's racks): per (group, domain) with
        units in it, returns (group, domain, units, pods, units that can restart)."""
        gr, room = self.gr, self.room
        d_pair = rack_domain[self.pair_rack]
        key = gr.g * n_domains + d_pair
        uniq, inv = np.unique(key, return_inverse=True)
        g, d = uniq // n_domains, uniq % n_domains
        k = np.bincount(inv, gr.units, len(uniq)).astype(np.int64)
        pods = np.bincount(inv, gr.pods, len(uniq)).astype(np.float64)
        c, r = cls[g], rule[g]
        whole_racks = n_domains == room.n_racks and bool(
            (rack_domain == np.arange(room.n_racks)).all()
        )
        out = np.zeros(len(g), np.int64)
        m = r == NONE
        inside = _by_domain(room.rack_slots, rack_domain, n_domains)
        out[m] = np.minimum(k[m], room.slots[c[m]] - inside[c[m], d[m]])
        m = r == HOST
        if m.any():
            pm = np.isin(gr.g, g[m])
            fh = room.at(cls[gr.g[pm]], gr.h[pm]) >= 1
            own = np.bincount(gr.g[pm], fh.astype(np.float64), self.n_groups)
            own_in = np.bincount(inv[pm], fh.astype(np.float64), len(uniq))
            roomy_in = _by_domain(room.rack_roomy, rack_domain, n_domains)
            out[m] = np.minimum(
                k[m],
                room.roomy[c[m]] - roomy_in[c[m], d[m]] - (own[g[m]] - own_in[m]).astype(np.int64),
            )
        m = r == RACK
        if m.any():
            pm = np.isin(gr.g, g[m])
            pg, pr = gr.g[pm], self.pair_rack[pm]
            own_r = self._own_racks(pg, pr, cls[pg], pg, self.n_groups)
            own_r_in = self._own_racks(pg, pr, cls[pg], inv[pm], len(uniq))
            racks_in = _by_domain((room.rack_roomy > 0).astype(np.int64), rack_domain, n_domains)
            out[m] = np.minimum(
                k[m],
                room.roomy_racks[c[m]] - racks_in[c[m], d[m]]
                - (own_r[g[m]] - own_r_in[m]).astype(np.int64),
            )  # fmt: skip
        m = r == SPREAD
        if m.any() and whole_racks:  # one rack drops out of each case's domains
            out[m] = self._spread(cls).without_rack(self.spread_row[g[m]], d[m], k[m])
        elif m.any():  # a zone: few cases, each over every rack
            for block in _blocks(np.flatnonzero(m), room.n_racks, self._CHUNK):
                row = self.spread_row[g[block]]
                cap = np.minimum(room.rack_slots[c[block]], self.spread_count[row].sum(1)[:, None])
                hosts = self._domain_rows(c[block])
                up = rack_domain[None, :] != d[block][:, None]
                out[block] = _spread_fill(self.spread_count[row], cap, (hosts >= 1) & up, k[block])
        return g, d, k, pods, np.maximum(out, 0)


def _by_domain(per_rack: I64, rack_domain: I64, n_domains: int) -> I64:
    """Columns (racks) summed into their domains."""
    if n_domains == per_rack.shape[1] and (rack_domain == np.arange(n_domains)).all():
        return per_rack.astype(np.int64)
    out = np.zeros((len(per_rack), n_domains), np.int64)
    for dom in range(n_domains):
        out[:, dom] = per_rack[:, rack_domain == dom].sum(axis=1)
    return out


def _blocks(rows: I64, width: int, chunk: int) -> list[I64]:
    step = max(1, chunk // max(width, 1))
    return [rows[i : i + step] for i in range(0, len(rows), step)]


def _cut(restart: I64, need: F64, key: I64, free_out: F64) -> F64:
    """The groups of one failed domain (``key``) compete for the room left. Where their
    restarts together ask for more of a resource than the pool's free capacity outside the
    domain, which pods get it first is the scheduler queue's order, unknown here: every
    group gets the same share of its restarts, the largest share the room allows (a
    fraction of a pod is an expected value)."""
    n_keys = len(free_out)
    demand = np.zeros((n_keys, 4))
    for r in range(4):
        demand[:, r] = np.bincount(key, restart * need[:, r], n_keys)
    ratio = np.divide(free_out, demand, out=np.ones_like(demand), where=demand > 0)
    factor = np.clip(ratio.min(axis=1), 0.0, 1.0)
    out: F64 = restart * factor[key]
    return out


# ---------------------------------------------------------------------- what a failure costs
def _cat(parts: list[Any], dtype: type[Any]) -> NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def _recovery(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> dict[str, float]:
    """Hours a failed domain's pods are down: restarted elsewhere, or waiting (by kind)."""
    f, life = defaults.failures, defaults.lifecycle
    substrate = scenario.substrate(p.name)
    replace = (
        defaults.hypervisors[substrate.hypervisor].vm_replace_minutes
        if isinstance(substrate, Vm)
        else 0.0
    )
    start = replace + f.pod_start_minutes
    software = (f.detection_minutes + life.baremetal_reboot_minutes + start) / 60
    hardware = (f.detection_minutes + start) / 60 + f.hardware_repair_hours
    share = f.hardware_share
    return {
        "restart": (f.detection_minutes + start) / 60,
        "host_software_wait": software,
        "host_hardware_wait": hardware,
        "host_wait": (1 - share) * software + share * hardware,
        "rack_wait": f.rack_repair_hours + start / 60,
        "zone_wait": f.zone_repair_hours + start / 60,
    }


def _per_pair_cost(pods: F64, restarted: F64, restart: float, wait: float) -> F64:
    """Pod-hours one failure costs: restarted pods at the earlier of the two, the rest wait."""
    cost: F64 = restarted * min(restart, wait) + (pods - restarted) * wait
    return cost


@dataclass(frozen=True)
class _Model:
    """The placement as the restart rules see it (see :func:`_restart_model`)."""

    groups: _Groups
    restarts: _Restarts
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


def _restart_model(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> _Model:
    """Groups, their room classes and the restart counter for one placement."""
    rack = np.asarray(p.hosts.rack, np.int64)
    zones = scenario.hardware.topology.zones
    racks = int(rack.max()) + 1 if len(rack) else 0
    pool, load, free, spare, footprint = _host_load(scenario, defaults, p)

    sets: list[frozenset[str]] = [frozenset()]  # 0: any GPU model
    if p.kind == "vm":
        gr = _vm_groups(scenario, defaults, p, footprint, sets)
    else:
        gr = _pod_groups(scenario, defaults, p, sets)
    allowed = _model_table(scenario, sets)
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
    room = _Room(keys, pool, free, rack, zone_of_rack, host_model, allowed)
    rs = _Restarts(gr, room, rack)
    return _Model(
        gr, rs, cls, cls_any, specific, rack, zones, racks, zone_of_rack, pool, load, free, spare
    )


def failure_costs(scenario: Scenario, defaults: Defaults, p: SubstratePlacement) -> FailureCosts:
    """Decide once per host, rack and zone what one failure costs (module docstring)."""
    n_hosts, n_t = len(p.hosts), len(scenario.tenants)
    if p.workloads and max(ref.tenant_index for ref in p.workloads) >= n_t:
        bad = max(ref.tenant_index for ref in p.workloads)
        raise ScenarioError(
            f"placement {p.name!r}: tenant {bad} is not in this scenario "
            "(place the scenario you analyse)"
        )
    m = _restart_model(scenario, defaults, p)
    gr, rs, cls, cls_any, specific = m.groups, m.restarts, m.cls, m.cls_any, m.specific
    rack, zones, racks, zone_of_rack = m.rack, m.zones, m.racks, m.zone_of_rack
    pool, load, free, spare = m.pool, m.load, m.free, m.spare
    zone = rack % zones
    host_model = np.asarray(p.hosts.model, np.int64)
    n_g = len(gr.need)
    n_pools = max(int(pool.max()) if n_hosts else 0, int(gr.pool.max()) if n_g else 0) + 1
    in_pool = pool >= 0
    pool_free = _sum_rows(pool[in_pool], free[in_pool].astype(np.float64), n_pools)
    need = gr.need[gr.g].astype(np.float64)
    ratio = np.divide(gr.pods, gr.units, out=np.zeros(len(gr.g)), where=gr.units > 0)
    carries = gr.tenant[gr.g] >= 0

    # Host failures: every pair judged alone, then the groups of one host compete.
    everyone = np.arange(len(gr.g), dtype=np.int64)
    alone = rs.host(everyone, gr.rule, cls)
    free_out = (pool_free[np.maximum(pool, 0)] - free).astype(np.float64)
    units = _cut(alone, need, gr.h, free_out)
    restarted = units * ratio
    stranded = (gr.units - units).astype(np.float64)
    # What stopped them: dropping the rule, or allowing any GPU model, would let more go.
    by_rule = np.zeros(len(gr.g))
    ruled = np.flatnonzero(gr.rule[gr.g] != NONE)
    if len(ruled):
        free_rule = rs.host(ruled, np.full(n_g, NONE, np.int64), cls)
        by_rule[ruled] = np.clip(free_rule - alone[ruled], 0, stranded[ruled])
    by_model = np.zeros(len(gr.g))
    modelled = np.flatnonzero(specific[gr.g])
    if len(modelled):
        any_model = rs.host(modelled, gr.rule, cls_any)
        by_model[modelled] = np.clip(
            any_model - alone[modelled], 0, stranded[modelled] - by_rule[modelled]
        )
    tenant = gr.tenant[gr.g]
    stranded_by = {
        "anti_affinity": by_rule * ratio,
        "gpu_model": by_model * ratio,
        "room": (stranded - by_rule - by_model) * ratio,
    }
    stranded_by = {
        k: np.bincount(tenant[carries], v[carries], n_t).astype(np.float64)
        for k, v in stranded_by.items()
    }

    def matrix(values: F64) -> Any:
        out = sparse.coo_matrix(
            (values[carries], (gr.h[carries], tenant[carries])), shape=(n_hosts, n_t)
        ).tocsr()
        out.sum_duplicates()
        return out

    pods_m = matrix(gr.pods)
    pods_m.eliminate_zeros()
    restart_m = matrix(restarted)
    hours = _recovery(scenario, defaults, p)
    host_cost = {
        kind: matrix(
            _per_pair_cost(gr.pods, restarted, hours["restart"], hours[f"host_{kind}_wait"])
        )
        for kind in ("software", "hardware")
    }
    busy = np.diff(pods_m.indptr) > 0
    host_fits = np.zeros(n_hosts, bool)
    pod_sum = np.bincount(gr.h[carries], gr.pods[carries], n_hosts)
    back = np.bincount(gr.h[carries], restarted[carries], n_hosts)
    host_fits[busy] = back[busy] >= pod_sum[busy] - 1e-9

    # Rack and zone failures: whole racks go; the rest of each pool takes what it can.
    def domain_cost(rack_domain: I64, n_dom: int, wait: float) -> tuple[F64, F64, int, int]:
        """Per (domain, tenant): pod-hours of one failure and pods that restart."""
        g, d, k, pods, alone_d = rs.domain(rack_domain, n_dom, gr.rule, cls)
        host_dom = rack_domain[rack]
        inside = _sum_rows(
            host_dom[in_pool] * n_pools + pool[in_pool],
            free[in_pool].astype(np.float64),
            n_dom * n_pools,
        )
        key = d * n_pools + gr.pool[g]
        out_free = pool_free[np.arange(n_dom * n_pools) % n_pools] - inside
        kept = _cut(alone_d, gr.need[g].astype(np.float64), key, out_free)
        share = np.divide(pods, k, out=np.zeros(len(k)), where=k > 0)
        back_d = kept * share
        t = gr.tenant[g]
        has = t >= 0
        cell = d[has] * n_t + t[has]
        cost = _per_pair_cost(pods, back_d, hours["restart"], wait)
        matrix_d = np.bincount(cell, cost[has], n_dom * n_t).reshape(n_dom, n_t).astype(np.float64)
        moved = np.bincount(cell, back_d[has], n_dom * n_t).reshape(n_dom, n_t).astype(np.float64)
        group_pods = np.bincount(key, np.where(has, pods, 0.0), n_dom * n_pools)
        group_back = np.bincount(key, np.where(has, back_d, 0.0), n_dom * n_pools)
        with_pods = group_pods > 0
        fitting = with_pods & (group_back >= group_pods - 1e-9)
        return matrix_d, moved, int(with_pods.sum()), int(fitting.sum())

    rack_cost, rack_restart, rack_groups, rack_fitting = domain_cost(
        np.arange(max(racks, 1), dtype=np.int64), max(racks, 1), hours["rack_wait"]
    )
    zone_cost, zone_restart, _, _ = domain_cost(zone_of_rack, zones, hours["zone_wait"])

    pods_on_host = np.asarray(pods_m.sum(axis=1)).ravel()
    host_short, host_pool = _domain_fit(np.arange(n_hosts), pool, load, free, pods_on_host)[1:3]
    rack_short, rack_pool = _domain_fit(rack, pool, load, free, pods_on_host)[1:3]
    # The host to add: the largest worker model without GPUs (CPU, then memory), as the
    # fleet buys for non-GPU pods; a GPU model only when every worker host has GPUs.
    worker_models = sorted(set(host_model[pool >= 0].tolist()))
    models = scenario.hardware.host_models
    main = max(
        worker_models or [0],
        key=lambda m: (models[m].gpu_count == 0, models[m].cpu_milli, models[m].memory_mib, -m),
    )
    return FailureCosts(
        pods=pods_m,
        restart=restart_m,
        host_rack=rack,
        host_zone=zone,
        racks=racks,
        zones=zones,
        host_cost=host_cost,
        rack_cost=rack_cost[:racks],
        zone_cost=zone_cost,
        rack_restart=rack_restart[:racks],
        zone_restart=zone_restart,
        host_fits=host_fits,
        stranded_by=stranded_by,
        recovery_hours=hours,
        hardware_share=defaults.failures.hardware_share,
        rack_groups_with_pods=rack_groups,
        rack_groups_fitting=rack_fitting,
        headroom_model=models[main].name if worker_models else "",
        headroom_hosts_host=_headroom(host_short, host_pool, spare, main),
        headroom_hosts_rack=_headroom(rack_short, rack_pool, spare, main),
    )


# ---------------------------------------------------------------------- the Monte Carlo
def _host_failures(
    u: F64, v: F64, table: F64, share: float, counts: NDArray[Any], kinds: NDArray[Any],
    one: B, many: B,
) -> None:  # fmt: skip
    """Fill ``counts`` (the inverse Poisson CDF of ``u``, as :func:`poisson_counts`) and
    ``kinds`` (how many of them are hardware: :func:`binomial_split` of ``v``), in place,
    as small integers.

    Nearly every host fails 0 or 1 times a year: two comparison passes decide those, and
    only the hosts with two or more failures go through the sorted search and the
    binomial table.
    """
    np.greater(u, table[0], out=one)  # at least one failure
    np.greater(u, table[1], out=many)  # at least two
    np.add(one, many, out=counts, dtype=counts.dtype)
    several = np.flatnonzero(many.reshape(-1))
    flat_counts = counts.reshape(-1)
    if several.size:
        found = np.searchsorted(table, u.reshape(-1)[several], side="left")
        flat_counts[several] = np.minimum(found, len(table) - 1)
    if share <= 0:
        kinds.fill(0)
        return
    if share >= 1:
        np.copyto(kinds, counts)
        return
    np.greater(v, 1 - share, out=many)
    np.logical_and(many, one, out=many)
    np.copyto(kinds, many)
    if several.size:
        kinds.reshape(-1)[several] = binomial_split(
            flat_counts[several].astype(np.float64), v.reshape(-1)[several], share
        )


def _monte_carlo(
    costs: FailureCosts, rates: FailureRates, *, trials: int, years: float, seed: int
) -> tuple[F64, float]:
    """Pod-hours each tenant loses in each trial, and the share of host failures that were
    hardware faults.

    Per chunk of trials, the counts are decided as small integers in the (trials × hosts)
    layout the streams draw, then turned (hosts × trials) for the sparse products, whose
    rows are the hosts: a host without pods has an all-zero cost row.
    """
    pods = costs.pods
    n_hosts, n_t = pods.shape
    out = np.zeros((trials, n_t))
    hosts_s, racks_s, zones_s, kinds_s = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    mu_host, mu_rack, mu_zone = (
        rates.host_rate * years,
        rates.rack_rate * years,
        rates.zone_rate * years,
    )
    software = costs.host_cost["software"]
    software_t = software.T.tocsr()  # tenants × hosts
    extra_t = (costs.host_cost["hardware"] - software).T.tocsr()  # hardware - software
    extra_t.eliminate_zeros()
    rack_t = sparse.csr_matrix(costs.rack_cost.T)  # tenants × racks
    zone_t = sparse.csr_matrix(costs.zone_cost.T)
    share = rates.hardware_share
    table = _poisson_table(mu_host, 1.0) if mu_host > 0 else np.ones(2)
    small = next(t for t in (np.uint8, np.uint16, np.int64) if len(table) <= np.iinfo(t).max)
    # A tenant cannot lose more than all its pods for the whole period.
    cap = (np.asarray(pods.sum(axis=0)).ravel() * years * HOURS_PER_YEAR)[:, None]
    chunk = max(1, _CHUNK_ELEMENTS // max(n_hosts, 1))
    failures = hardware = 0
    buffers: dict[int, tuple[NDArray[Any], ...]] = {}
    for first in range(0, trials, chunk):
        n = min(chunk, trials - first)
        if n not in buffers:  # (trials × hosts) draws and counts; (hosts × trials) products
            across, down = (n, n_hosts), (n_hosts, n)
            buffers[n] = (
                np.empty(across), np.empty(across), np.empty(across, small),
                np.empty(across, small), np.empty(across, bool), np.empty(across, bool),
                np.empty(down, small), np.empty(down), np.empty(down),
            )  # fmt: skip
        u, v, counts, kinds, one, many, turned, counts_t, kinds_t = buffers[n]
        hosts_s.random(out=u)
        rack_u = racks_s.random((n, costs.racks))
        zone_u = zones_s.random((n, costs.zones))
        kinds_s.random(out=v)
        if not n_hosts or mu_host <= 0:
            counts.fill(0)
            kinds.fill(0)
        else:
            _host_failures(u, v, table, share, counts, kinds, one, many)
        failures += int(counts.sum(dtype=np.int64))
        hardware += int(kinds.sum(dtype=np.int64))
        np.copyto(turned, counts.T)
        np.copyto(counts_t, turned)
        np.copyto(turned, kinds.T)
        np.copyto(kinds_t, turned)
        lost = software_t @ counts_t
        lost += extra_t @ kinds_t
        lost += rack_t @ _poisson(np.ascontiguousarray(rack_u.T), mu_rack)
        lost += zone_t @ _poisson(np.ascontiguousarray(zone_u.T), mu_zone)
        np.minimum(lost, cap, out=lost)
        out[first : first + n] = lost.T
    return out, hardware / failures if failures else 0.0


def lost_pod_hours(
    costs: FailureCosts, rates: FailureRates, *, trials: int, years: float, seed: int
) -> F64:
    """Pod-hours each tenant loses in each trial: a (trials × tenants) array.

    Uniforms come row by row (one row per trial) from four streams spawned from
    ``seed`` — hosts, racks, zones, the kind of each host's failures — so the chunking
    never changes a number and the same (trial, domain) always sees the same uniform
    whatever the rates and the hardware share.
    """
    return _monte_carlo(costs, rates, trials=trials, years=years, seed=seed)[0]


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


def _stranded_note(by: dict[str, float]) -> str | None:
    """A tenant note naming the rule that left its pods nowhere to restart."""
    parts = []
    if by["anti_affinity"] > 0:
        parts.append(f"anti-affinity or rack spread {by['anti_affinity']:.2f}")
    if by["gpu_model"] > 0:
        parts.append(f"the allowed GPU model {by['gpu_model']:.2f}")
    if not parts:
        return None
    return (
        "pods with nowhere allowed to restart after a host failure (they wait for the "
        f"host's reboot or repair), per failure: {', '.join(parts)}"
    )


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
    lost, hardware_seen = _monte_carlo(costs, rates, trials=n_trials, years=years, seed=chosen_seed)

    pods = costs.pods
    placed = np.asarray(pods.sum(axis=0)).ravel()
    wanted_t = np.zeros(len(scenario.tenants))
    np.add.at(
        wanted_t,
        np.array([r.tenant_index for r in placement.workloads], np.int64),
        np.array([r.workload.replicas for r in placement.workloads], np.float64),
    )
    # A pod that was never placed is down the whole period: it counts against availability.
    missing = np.maximum(wanted_t - placed, 0) * hours
    denom = np.where(wanted_t > 0, wanted_t * hours, 1.0)
    availability = np.clip(1 - (lost + missing) / denom, 0.0, 1.0)
    availability[:, wanted_t == 0] = 1.0
    mean_t = availability.mean(axis=0)
    p5_t = np.percentile(availability, 5, axis=0)
    share = rates.hardware_share
    per_failure = {
        kind: np.asarray(costs.host_cost[kind].sum(axis=0)).ravel()
        for kind in ("software", "hardware")
    }
    by_kind = {
        "software": rates.host_rate * years * (1 - share) * per_failure["software"],
        "hardware": rates.host_rate * years * share * per_failure["hardware"],
    }
    expected = {
        "host": by_kind["software"] + by_kind["hardware"],
        "rack": rates.rack_rate * years * costs.rack_cost.sum(axis=0),
        "zone": rates.zone_rate * years * costs.zone_cost.sum(axis=0),
    }
    csc = pods.tocsc()
    tenants: list[TenantFailures] = []
    for ti, tenant in enumerate(scenario.tenants):
        col = csc.data[csc.indptr[ti] : csc.indptr[ti + 1]]
        wanted = int(wanted_t[ti])
        notes = []
        if wanted == 0:
            notes.append("no pods asked for: availability shown as 100 %")
        elif placed[ti] < wanted:
            notes.append(
                f"{wanted - int(placed[ti])} of {wanted} pods unplaced: counted as down the "
                "whole period"
            )
        n_hosts_t = len(col)
        stranded = {
            k: float(v[ti]) / n_hosts_t if n_hosts_t else 0.0 for k, v in costs.stranded_by.items()
        }
        note = _stranded_note(stranded)
        if note:
            notes.append(note)
        sla = tenant.sla.availability_percent
        tenants.append(
            TenantFailures(
                name=tenant.name,
                pods=int(placed[ti]),
                hosts=n_hosts_t,
                sla_percent=sla,
                availability_mean=float(mean_t[ti]),
                availability_p5=float(p5_t[ti]),
                sla_probability=float(np.mean(availability[:, ti] * 100 >= sla - _SLA_EPS)),
                pod_hours_lost_mean=float(lost[:, ti].mean()),
                pod_hours_lost_expected={k: float(v[ti]) for k, v in expected.items()},
                pods_per_host_failure=float(col.mean()) if n_hosts_t else 0.0,
                pod_hours_lost_expected_host={k: float(v[ti]) for k, v in by_kind.items()},
                pods_stranded_per_host_failure=sum(stranded.values()),
                pods_stranded_by=stranded,
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
        hardware_share=share,
        host_failures_hardware_share=hardware_seen,
        notes=notes,
    )
