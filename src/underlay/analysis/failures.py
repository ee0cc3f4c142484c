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
    a ``hybrid``, each part by its own substrate's rule within the part (a vm part's VMs
    on its own hypervisor hosts; a dedicated part's pods in their cluster; never on
    another part's hosts: :mod:`~underlay.analysis.failure_parts`);
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
  On a hybrid each unit takes its own part's times (a vm part's hypervisor's VM replace,
  none for its bare-metal parts); ``recovery_hours`` shows the slowest part's, and
  ``recovery_hours_by_part`` each part's.
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

The parts, one module each: the random draws (:mod:`~underlay.analysis.failure_draws`),
free capacity and the groups that restart under one rule
(:mod:`~underlay.analysis.failure_groups`; a hybrid's, part by part, and each part's
recovery times: :mod:`~underlay.analysis.failure_parts`), where they restart
(:mod:`~underlay.analysis.failure_restarts`), what one failure of each domain costs
(:mod:`~underlay.analysis.failure_costs`); this module runs the Monte Carlo
(:mod:`~underlay.analysis.failure_trials`) and sums it up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from underlay.analysis.failure_costs import FailureCosts, failure_costs
from underlay.analysis.failure_draws import binomial_split, poisson_counts
from underlay.analysis.failure_trials import HOURS_PER_YEAR, lost_pod_hours, monte_carlo
from underlay.defaults.catalog import Defaults, FailureRates
from underlay.errors import ScenarioError
from underlay.model.scenario import Scenario
from underlay.placement.result import SubstratePlacement

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
_SLA_EPS = 1e-9  # percentage points: 99.99 computed as 99.98999999 still meets 99.99


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
    # a hybrid's recovery_hours by part name; recovery_hours is then its slowest part's
    recovery_hours_by_part: dict[str, dict[str, float]] = field(default_factory=dict)


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


def _tenant_failures(
    scenario: Scenario,
    costs: FailureCosts,
    rates: FailureRates,
    years: float,
    lost: F64,
    availability: F64,
    wanted_t: F64,
) -> list[TenantFailures]:
    """One row per tenant: availability over the trials, and the pod-hours each kind of
    failure is expected to cost (the expectation, beside the trials' mean)."""
    pods = costs.pods
    placed = np.asarray(pods.sum(axis=0)).ravel()
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
    return tenants


def _pods_wanted(scenario: Scenario, placement: SubstratePlacement) -> F64:
    """Pods each tenant asked for (its workloads' replicas), placed or not."""
    wanted_t = np.zeros(len(scenario.tenants))
    np.add.at(
        wanted_t,
        np.array([r.tenant_index for r in placement.workloads], np.int64),
        np.array([r.workload.replicas for r in placement.workloads], np.float64),
    )
    return wanted_t


def _availability(costs: FailureCosts, lost: F64, wanted_t: F64, hours: float) -> F64:
    """(trials × tenants) share of the pod-hours asked for that were up; 1 for a tenant
    that asked for no pod."""
    placed = np.asarray(costs.pods.sum(axis=0)).ravel()
    # A pod that was never placed is down the whole period: it counts against availability.
    missing = np.maximum(wanted_t - placed, 0) * hours
    denom = np.where(wanted_t > 0, wanted_t * hours, 1.0)
    availability: F64 = np.clip(1 - (lost + missing) / denom, 0.0, 1.0)
    availability[:, wanted_t == 0] = 1.0
    return availability


def _part_notes(by_part: dict[str, dict[str, float]]) -> list[str]:
    """A hybrid whose parts recover at different speeds: each part's restart time (the
    recovery row shows the slowest part's)."""
    if len({hours["restart"] for hours in by_part.values()}) < 2:
        return []
    each = ", ".join(f"{name} {60 * h['restart']:.1f} min" for name, h in by_part.items())
    note = f"a unit restarted elsewhere is back after, by part: {each}"
    return [note + " (a vm part's VMs are re-created first, with its VM replace time)"]


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
    costs = failure_costs(scenario, defaults, placement)
    lost, hardware_seen = monte_carlo(costs, rates, trials=n_trials, years=years, seed=chosen_seed)

    wanted_t = _pods_wanted(scenario, placement)
    availability = _availability(costs, lost, wanted_t, years * HOURS_PER_YEAR)
    tenants = _tenant_failures(scenario, costs, rates, years, lost, availability, wanted_t)

    pods = costs.pods
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
    notes += _part_notes(costs.recovery_hours_by_part)
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
        recovery_hours_by_part=costs.recovery_hours_by_part,
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
        hardware_share=rates.hardware_share,
        host_failures_hardware_share=hardware_seen,
        notes=notes,
    )
