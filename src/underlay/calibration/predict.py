"""The model beside the measurement: each calibration experiment rebuilt as a scenario,
simulated with underlay's own pipeline, and its figures set beside the measured ones.

**The equivalent scenario** of a noisy-neighbour case (:func:`case_scenario`): one host (an
inventory of one) of the cores the probe and the hog ran on (one when pinned together;
the machine's when not pinned), one ``baremetal-shared`` cluster (a shared kernel, CFS
weights in proportion to requests) and two tenants:

- ``probe``: the latency probe as a ``network-latency`` workload (the class whose latency
  inflation the simulation measures) using, every step, the CPU it used alone
  (``cpu_seconds ÷ duration_s`` of the ``alone`` case: a paced loop asks for the same
  work whatever runs beside it);
- ``hog``: the other tenant's workload, wanting ``hog_threads`` cores (all the host's
  when not recorded): a spinning hog takes every core it is given.

Requests are read back from the cgroup weights the experiment gave
(:func:`request_milli`: Kubernetes sets cgroup v1 ``cpu.shares`` = request millicores ×
1024 ÷ 1000, and on v2 ``cpu.weight`` = 1 + (shares − 2) × 9999 ÷ 262142, as runc
converts them); a case without weights gives both the probe's alone use as request
(equal weights); requests that together exceed the host are scaled down to fit it, the
weights' ratio kept (the kernel knows only that ratio). A hard quota is the hog's CPU limit
(its request capped at it, as Kubernetes requires). A scenario's usage is at most 100 ×
the request: requests are raised to 1 % of the use where the weights give less, and a
hog under a quota below 1 % of its threads is modelled as wanting 100 × the quota (CFS's
smallest quota, 1 ms a 100 ms period, is 0.01 core). The memory-bandwidth hog is a
tenant like the others: the model knows no memory bandwidth apart from the shared-hardware
rule (a pod does 1 − k·L of its grant's work, L the other tenants' load ÷ the host's
cores, k = ``interference.slowdown_at_full_load``), so that rule is what the case tests.
The node's own software (kubelet, DaemonSets, reservations) is set to nothing and the
control plane runs on machines of its own: the experiment has none of it. Usage is constant and
one step long: every step of the experiment is the same.

**Figures compared** (:data:`TOLERANCES` states the tolerance of each, and why):

- probe latency inflation: the simulation's p95 inflation vs measured p95 ÷ p95 alone;
- probe throughput: alone work/s × granted ÷ demand × (1 − slowdown) vs measured work/s;
- probe work per CPU second: alone × (1 − k·L) vs measured (the on-time requests ÷ the
  CPU time of their unit of work, :meth:`~underlay.calibration.results.ProbeStats.work_per_cpu_second`):
  what the shared-hardware rule is about, since a paced probe with idle CPU beside it may
  keep its throughput and pay in CPU instead;
- hog CPU seconds and, under a quota, hog throttled core-seconds (demand above the limit
  × duration: the cgroup's ``throttled_time`` sums each CPU's throttled run queue, so a
  hog of D threads under a quota of Q cores is throttled (D − Q) × T);
- overheads: the model's CPU tax beside the measured loss (the median of the rounds'
  paired losses for the container): a container on bare metal has
  ``container_runtime.cpu_overhead_percent`` and a KVM guest
  ``hypervisors.kvm.cpu_overhead_percent``, each on all CPU work: cpu, membw and syscall
  benchmarks alike; loopback throughput has no model (a container's is set against 0 %, a
  KVM guest's is not compared).

:func:`underlay.calibration.changes.default_changes` says which default each disagreement would change, and to what.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from underlay.calibration.results import Calibration, Comparison, NeighbourCase, OverheadRun
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.model.scenario import Scenario

__all__ = [
    "EFFICIENCY",
    "HOST_MEMORY",
    "TOLERANCES",
    "Prediction",
    "case_scenario",
    "compare_with_model",
    "predict_case",
    "request_milli",
]

MAX_USE_PER_REQUEST = 100  # a usage level is at most 100 × the request (model.workloads)
HOST_MEMORY = "64Gi"  # ample: the experiments test CPU, never memory pressure
LATENCY = "probe p95 latency inflation"
THROUGHPUT = "probe throughput"
EFFICIENCY = "probe work per CPU second"
HOG_CPU = "hog CPU time"
HOG_THROTTLED = "hog throttled time"
OVERHEAD = "overhead"

TOLERANCES: dict[str, tuple[float, str]] = {
    LATENCY: (
        0.5,
        "half the measured inflation: the model gives an M/M/1 mean-response ratio (binned "
        "at 3 %) where the probe measures a p95 of a few thousand requests on a machine "
        "others share, which moves by tens of percent from run to run; agreeing means the "
        "same order of inflation, not the same figure",
    ),
    EFFICIENCY: (
        0.1,
        "10 % of the probe's work per CPU second alone: on-time requests over their own "
        "thread CPU time, each exact; but on a shared machine the same case moves by more "
        "between runs (±13 % over five interleaved runs on a 2-core VM at load 8), so a "
        "disagreement there wants repeating on a quieter host",
    ),
    THROUGHPUT: (
        0.1,
        "10 % of the probe's throughput alone: a paced loop's rate over the whole case "
        "varies by a few percent with timer slack and other users of the machine",
    ),
    HOG_CPU: (
        0.1,
        "10 % of the predicted CPU time: the cgroup's accounting is exact and CFS enforces "
        "a quota within one period, but other processes on the machine take their share",
    ),
    HOG_THROTTLED: (
        0.2,
        "20 % of the hog's whole demand (threads × duration): throttling depends on how the "
        "threads land on CPUs within each 100 ms period, which the model does not follow",
    ),
    OVERHEAD: (
        5.0,
        "5 percentage points: one microbenchmark run on a shared machine varies by a few "
        "percent between runs, and the cited figures are themselves single studies",
    ),
}
"""Per figure: the tolerance (a share of the scale named, or percentage points for the
overheads) and why."""


@dataclass(frozen=True)
class Prediction:
    """What the simulation of one case predicts (probe and hog, over the case)."""

    inflation_p95: float
    throughput_ratio: float  # probe's work vs alone: granted ÷ demand × (1 − slowdown)
    slowdown: float  # share of the probe's work lost to shared hardware: k·L
    hog_cpu_seconds: float
    hog_throttled_seconds: float
    hog_demand_cores: float
    other_load: float  # L of the shared-hardware rule: the hog's grant ÷ the host's cores


def request_milli(weight: int | None, cgroup: str, fallback: float) -> int:
    """The Kubernetes CPU request (millicores) that sets this cgroup ``weight``
    (``fallback`` millicores when no weight was given)."""
    if weight is None:
        return max(1, round(fallback))
    shares = weight if cgroup != "v2" else 2 + (weight - 1) * 262142 / 9999
    return max(1, round(shares * 1000 / 1024))


def _alone(cal: Calibration) -> NeighbourCase | None:
    return next((c for c in cal.neighbours if c.case == "alone"), None)


def _probe_use_milli(alone: NeighbourCase) -> float:
    return 1000 * alone.probe.cpu_seconds / max(alone.duration_s, 1e-9)


def _workload(name: str, request: int, use_milli: float, limit: float | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "replicas": 1,
        "requests": {"cpu": f"{request}m", "memory": "64Mi"},
        "usage": {"cpu": use_milli / request, "memory": 0.5},
    }
    if limit is not None:
        data["limits"] = {"cpu": f"{max(1, round(limit * 1000))}m"}
    return data


def _host(name: str, cores: int) -> dict[str, Any]:
    return {
        "name": name,
        "cores": cores,
        "memory": HOST_MEMORY,
        "price_usd": 1,
        "lifetime_years": 1,
    }


def _cores(cal: Calibration, case: NeighbourCase) -> int:
    """The equivalent host's cores: those the probe and the hog ran on (the machine's when
    they were not pinned)."""
    return case.cores if case.cores else cal.cores


def _requests(cal: Calibration, case: NeighbourCase, use: float, hog_use: float) -> tuple[int, int]:
    """(probe, hog) requests in millicores: from the weights, scaled to fit the host with
    their ratio kept, each at least its use ÷ ``MAX_USE_PER_REQUEST`` (a scenario's usage
    level is at most that many times the request)."""
    room = 1000 * _cores(cal, case)
    probe = request_milli(case.probe_weight, cal.cgroup, use)
    hog = request_milli(case.hog_weight, cal.cgroup, probe)
    if probe + hog > room:  # the kernel knows only the weights' ratio: keep it
        scale = room / (probe + hog)
        probe, hog = max(1, int(probe * scale)), max(1, int(hog * scale))
    probe = max(probe, math.ceil(use / MAX_USE_PER_REQUEST))
    hog = max(hog, math.ceil(hog_use / MAX_USE_PER_REQUEST))
    excess = probe + hog - room
    if excess > 0:  # the floors pushed them over: take it from the larger
        if probe >= hog:
            probe -= excess
        else:
            hog -= excess
    return probe, hog


def case_scenario(cal: Calibration, case: NeighbourCase, alone: NeighbourCase) -> Scenario:
    """The scenario equivalent to ``case`` on ``cal``'s machine (module docstring)."""
    cores = _cores(cal, case)
    room = 1000 * cores
    use = min(_probe_use_milli(alone), room)  # no more than the machine has
    threads = case.hog_threads if case.hog_threads is not None else cores
    quota = case.hog_quota_cores if case.case == "hard-quota" else None
    probe_req, hog_req = _requests(cal, case, use, 1000 * threads)
    if quota is not None:  # a request above the limit is refused by Kubernetes: cap it
        hog_req = max(1, min(hog_req, round(quota * 1000)))
    hog_use = min(1000.0 * threads, MAX_USE_PER_REQUEST * hog_req)
    probe = _workload("probe", probe_req, use, None) | {"class": "network-latency"}
    data = {
        "name": f"calibration-{case.case}",
        "hardware": {
            "host_models": [_host("calibrated-host", cores), _host("control-plane", 64)],
            "inventory": [
                {"model": "calibrated-host", "count": 1},
                {"model": "control-plane", "count": 3},
            ],
            "control_plane_model": "control-plane",
        },
        "substrates": [{"kind": "baremetal-shared", "control_plane": "dedicated"}],
        "kubernetes": {"node_reservation": "none"},
        "simulation": {"horizon_hours": 1 / 60, "step_minutes": 1},
        "tenants": [
            {"name": "probe", "workloads": [probe]},
            {"name": "hog", "workloads": [_workload("hog", hog_req, hog_use, quota)]},
        ],
        "overrides": {
            "node_daemons": {
                "kubelet_runtime_cpu_milli": 0,
                "system_pods_cpu_use": 0,
                "system_pods_memory_use": 0,
            },
            "system_pods": [],
        },
    }
    return Scenario.model_validate(data)


def predict_case(cal: Calibration, case: NeighbourCase, alone: NeighbourCase) -> Prediction:
    """Simulate ``case``'s equivalent scenario with underlay's pipeline."""
    from underlay.pipeline import simulate

    scenario = case_scenario(cal, case, alone)
    result = simulate(scenario).results[0]
    probe, hog = result.tenants
    hours = result.steps * result.step_minutes / 60
    hog_granted = hog.granted_core_hours / hours  # cores, over the case
    demand = probe.demand_core_hours
    ratio = probe.granted_core_hours / demand if demand > 0 else 1.0  # no work asked: none lost
    return Prediction(
        inflation_p95=float(probe.latency_inflation_p95),
        throughput_ratio=float(ratio * (1 - probe.slowdown_percent / 100)),
        slowdown=float(probe.slowdown_percent / 100),
        hog_cpu_seconds=float(hog_granted * case.duration_s),
        hog_throttled_seconds=float(hog.throttled_core_hours / hours * case.duration_s),
        hog_demand_cores=float(hog.demand_core_hours / hours),
        other_load=float(min(hog_granted / _cores(cal, case), 1.0)),
    )


def _case_comparisons(case: NeighbourCase, alone: NeighbourCase, p: Prediction) -> list[Comparison]:
    """The figures of one case, predicted beside measured."""
    tol = {name: share for name, (share, _) in TOLERANCES.items()}
    measured_inflation = case.probe.p95_us / max(alone.probe.p95_us, 1e-12)
    out = [
        Comparison(
            case.case,
            LATENCY,
            "× alone",
            p.inflation_p95,
            measured_inflation,
            tol[LATENCY] * measured_inflation,
        ),
        Comparison(
            case.case,
            THROUGHPUT,
            "work/s",
            alone.probe.work_per_s * p.throughput_ratio,
            case.probe.work_per_s,
            tol[THROUGHPUT] * alone.probe.work_per_s,
        ),
    ]
    alone_eff = alone.probe.work_per_cpu_second(alone.duration_s)
    case_eff = case.probe.work_per_cpu_second(case.duration_s)
    if alone_eff is not None and case_eff is not None:
        out.append(
            Comparison(
                case.case,
                EFFICIENCY,
                "work/CPU s",
                alone_eff * (1 - p.slowdown),
                case_eff,
                tol[EFFICIENCY] * alone_eff,
            )
        )
    if case.hog_cpu_seconds is not None:
        out.append(
            Comparison(
                case.case,
                HOG_CPU,
                "CPU seconds",
                p.hog_cpu_seconds,
                case.hog_cpu_seconds,
                tol[HOG_CPU] * p.hog_cpu_seconds,
            )
        )
    if case.case == "hard-quota" and case.hog_throttled_s is not None:
        demand = p.hog_demand_cores * case.duration_s
        out.append(
            Comparison(
                case.case,
                HOG_THROTTLED,
                "core-seconds",
                p.hog_throttled_seconds,
                case.hog_throttled_s,
                tol[HOG_THROTTLED] * demand,
            )
        )
    return out


def _overhead_comparisons(runs: list[OverheadRun], defaults: Defaults) -> list[Comparison]:
    """Each measured overhead beside the model's CPU tax for the same environment."""
    tol = TOLERANCES[OVERHEAD][0]
    kvm = defaults.hypervisors["kvm"].cpu_overhead_percent
    tax = defaults.container_runtime.cpu_overhead_percent
    out = []
    for run in runs:
        container = run.overhead_percent("container")
        if container is not None:
            # a container on bare metal pays the container runtime's CPU tax on CPU work
            model = 0.0 if run.bench == "loopback" else tax
            out.append(
                Comparison(f"{run.bench} in a container", OVERHEAD, "%", model, container, tol)
            )
        vm = run.overhead_percent("vm")
        if vm is not None and run.bench != "loopback":
            out.append(Comparison(f"{run.bench} in a KVM guest", OVERHEAD, "%", kvm, vm, tol))
    return out


def compare_with_model(cal: Calibration) -> list[Comparison]:
    """Every figure the model predicts for ``cal``'s experiments, beside the measured one:
    the noisy-neighbour cases (each simulated; none without an ``alone`` case to start
    from), then the overheads, against the cited defaults."""
    out: list[Comparison] = []
    alone = _alone(cal)
    if alone is not None:
        for case in cal.neighbours:
            if case.case != "alone":
                out += _case_comparisons(case, alone, predict_case(cal, case, alone))
    return out + _overhead_comparisons(cal.overheads, load_defaults())
