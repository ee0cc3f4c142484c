"""Invariants of the simulation on small random scenarios (Hypothesis).

Few tenants and workloads with random requests, limits and usage parameters, on all four
substrates (VMs with and without CPU overcommit), over 2–6 hours at 5–15 minute steps.
Over the whole run, per tenant and substrate:

* granted ≤ demand; unmet, throttled, CPU-ready, slowdown ≥ 0;
* conservation: demand = granted + unmet + throttled + CPU-ready (+ what killed pods did
  not get: with OOM kills or evictions, demand is only an upper bound);
* on every host at every step, CPU granted ≤ the host's cores (checked inside the engine:
  the (hosts × steps) utilisation it takes percentiles of is ≤ 1), and on every kernel
  ≤ its allocatable;
* a tenant whose pods are all placed asks for the same work on every substrate (its
  demand differs only by the substrate's CPU overhead factor);
* the same seed gives identical JSON; another seed gives different JSON when some placed
  pod has noise.

``UNDERLAY_HYPOTHESIS_SCALE`` multiplies the example count for a longer hunt (tests/properties.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from factories import make_host_model, make_tenant, make_workload, scenario_dict
from properties import examples
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import Scenario, Vm
from underlay.pipeline import Comparison, Simulation, compare, simulate
from underlay.placement.overheads import cpu_tax
from underlay.report.json import comparison_to_dict
from underlay.simulation import host_load, measures, stepper

EXAMPLES = examples(30)
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CPUS = ["0", "100m", "250m", "500m", "1", "2", "4"]
MEMORIES = ["0", "128Mi", "512Mi", "1Gi", "2Gi"]
# Core-hours are sums of float32 millicores; 1e-4 relative (and 1e-6 absolute) is far
# above their rounding and far below any modelling effect.
REL, ABS = 1e-4, 1e-6


@st.composite
def usages(draw: st.DrawFn) -> dict[str, Any]:
    model = draw(st.sampled_from(["constant", "diurnal"]))
    level = st.floats(0, 3, allow_nan=False).map(lambda x: round(x, 2))
    usage: dict[str, Any] = {"model": model, "cpu": draw(level)}
    usage["memory"] = draw(st.sampled_from([0.2, 0.5, 0.8, 1.0, 1.3, 3.0]))
    if model == "diurnal":
        usage.update(
            amplitude=draw(st.sampled_from([0, 0.3, 1.0])),
            peak_hour=draw(st.integers(0, 23)),
            noise=draw(st.sampled_from([0, 0.1, 0.5])),
            correlation=draw(st.sampled_from([0, 0.5, 1])),
            burst_probability=draw(st.sampled_from([0, 0.1, 0.5, 1])),
            burst_factor=draw(st.sampled_from([1, 2, 5])),
            burst_steps=draw(st.integers(1, 6)),
        )
    return usage


@st.composite
def workloads(draw: st.DrawFn, name: str) -> dict[str, Any]:
    cpu = draw(st.sampled_from(CPUS))
    memory = draw(st.sampled_from(MEMORIES))
    extra: dict[str, Any] = {"usage": draw(usages())}
    limits: dict[str, str] = {}
    if draw(st.booleans()):
        limits["cpu"] = draw(st.sampled_from(["500m", "1", "2", "4", "8"]))
        if cpu != "0" and _milli(limits["cpu"]) < _milli(cpu):
            limits["cpu"] = cpu
    if draw(st.booleans()):
        limits["memory"] = draw(st.sampled_from(["512Mi", "1Gi", "2Gi", "4Gi"]))
        if memory != "0" and _mib(limits["memory"]) < _mib(memory):
            limits["memory"] = memory
    if limits:
        extra["limits"] = limits
    replicas = draw(st.integers(1, 3))
    extra["class"] = draw(st.sampled_from(["cpu", "network-latency", "storage-io", "batch"]))
    extra["priority"] = draw(st.sampled_from([0, 0, 1000]))
    return make_workload(name, replicas=replicas, cpu=cpu, memory=memory, **extra)


def _milli(q: str) -> int:
    return int(q[:-1]) if q.endswith("m") else int(q) * 1000


def _mib(q: str) -> int:
    return int(q[:-2]) * (1024 if q.endswith("Gi") else 1)


CONTROL_PLANES = ["auto", "dedicated", "stacked", "management", "hosted"]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    cores = draw(st.sampled_from([4, 8, 16]))
    memory = draw(st.sampled_from(["8Gi", "16Gi", "32Gi"]))
    models = [make_host_model(cores=cores, memory=memory)]
    gpu_model = draw(st.sampled_from([None, None, "A100", "L4"]))
    if gpu_model is not None:  # GPU hosts, time-sliced, MIG or vGPU (A100 has MIG)
        models.append(
            make_host_model("gpu", cores=16, memory="64Gi", gpus={"model": gpu_model, "count": 2})
        )
    tenants = []
    for t in range(draw(st.integers(1, 3))):
        ws = [draw(workloads(f"w{i}")) for i in range(draw(st.integers(1, 2)))]
        if gpu_model is not None and draw(st.booleans()):
            fraction = draw(st.sampled_from([0.25, 0.5, 1.0]))
            ws[0] = {**ws[0], "gpu": {"count": 1, "fraction": fraction}}
            ws[0]["usage"] = {**ws[0]["usage"], "gpu": draw(st.sampled_from([0.5, 1.0, 2.0]))}
        tenants.append(
            make_tenant(
                f"t{t}",
                workloads=ws,
                control_plane=draw(st.sampled_from(CONTROL_PLANES)),
            )
        )
    sharing = "mig" if gpu_model == "A100" and draw(st.booleans()) else "time-slicing"
    step = draw(st.sampled_from([5, 10, 15]))
    data = scenario_dict(
        hardware={"host_models": models},
        substrates=[
            {"kind": "baremetal-dedicated", "gpu_sharing": sharing},
            {
                "kind": "baremetal-shared",
                "gpu_sharing": sharing,
                "control_plane": draw(st.sampled_from(CONTROL_PLANES)),
            },
            {
                "kind": "vm",
                "cpu_overcommit": draw(st.sampled_from([1, 1.5, 2, 4])),
                "sizing": draw(st.sampled_from(["requests", "limits", "peak"])),
                "shapes": draw(st.sampled_from(["auto", "menu"])),
                "gpu_mode": draw(st.sampled_from(["passthrough", "vgpu"])),
                "gpu_sharing": sharing,
            },
            {"kind": "sandboxed", "runtime": draw(st.sampled_from(["kata", "gvisor"]))},
        ],
        tenants=tenants,
        simulation={
            "horizon_hours": draw(st.integers(2, 6)),
            "step_minutes": step,
            "seed": draw(st.integers(0, 10_000)),
            "shared_hardware_slowdown": draw(st.sampled_from([None, 0, 0.3])),
        },
    )
    return Scenario.model_validate(data)


class _CapacityChecks:
    """numpy, as the engine sees it, with its percentile over the (hosts × steps) host
    utilisation checked ≤ 1 (every host, every step), and the kernels' grants checked
    against their capacity."""

    def __init__(self) -> None:
        self.host_checks = 0
        self.kernel_checks = 0
        self.worst_host = 0.0

    def percentile(self, a: Any, q: Any, *args: Any, **kw: Any) -> Any:
        arr = np.asarray(a)
        if q == 95 and arr.ndim == 2 and arr.size:
            self.host_checks += 1
            self.worst_host = max(self.worst_host, float(arr.max()))
            assert arr.max() <= 1.0 + 1e-5, f"host over capacity: {arr.max()}"
        return np.percentile(a, q, *args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)


@contextmanager
def capacity_checks() -> Iterator[_CapacityChecks]:
    checks = _CapacityChecks()
    real = stepper.cpu_on_kernels

    def checked(
        demand: Any, request: Any, limit: Any, capacity: Any, kernels: Any, *scratch: Any
    ) -> Any:
        shares = real(demand, request, limit, capacity, kernels, *scratch)
        used = kernels.total(shares.granted)
        assert np.all(used <= capacity * (1 + 1e-5) + 1e-2), "kernel over its allocatable"
        assert np.all(shares.granted <= np.minimum(demand, limit) + 1e-2)
        checks.kernel_checks += 1
        return shares

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(host_load, "np", checks)  # the host load measure takes the percentile
        mp.setattr(stepper, "cpu_on_kernels", checked)
        yield checks


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b)) + ABS


# Review of issue 9: three half-GPU pods in one VM of two whole GPUs on a vGPU substrate
# were all counted on its first device (1,500 of 1,000 milli-GPUs wanted: a third unmet).
VGPU_IN_WHOLE_GPUS = Scenario.model_validate(
    scenario_dict(
        hardware={
            "host_models": [
                make_host_model(cores=8, memory="16Gi"),
                make_host_model("gpu", cores=16, memory="64Gi", gpus={"model": "A100", "count": 2}),
            ]
        },
        substrates=[{"kind": "vm", "gpu_mode": "vgpu", "sizing": "requests", "shapes": [
            {"name": "g2", "vcpus": 8, "memory": "32Gi", "gpus": 2}]}],
        tenants=[make_tenant("t0", workloads=[make_workload(
            "w0", replicas=3, cpu="1", memory="1Gi", gpu={"count": 1, "fraction": 0.5},
            usage={"model": "constant", "gpu": 1.0})])],
        simulation={"horizon_hours": 2, "step_minutes": 15},
    )
)  # fmt: skip


@PROPERTY
@given(scenarios())
@example(VGPU_IN_WHOLE_GPUS)
def test_accounting_and_capacity_hold_on_every_substrate(sc: Scenario) -> None:
    with capacity_checks() as checks:
        sim = simulate(sc)
    for result in sim.results:
        assert len(result.tenants) == len(sc.tenants)
        assert np.all(result.host_utilisation_p95 <= 1 + 1e-5)
        assert np.all(result.host_utilisation_mean <= 1 + 1e-5)
        for t in result.tenants:
            where = (result.name, t.name)
            for value in (
                t.demand_core_hours,
                t.granted_core_hours,
                t.unmet_core_hours,
                t.throttled_core_hours,
                t.slowdown_core_hours,
                t.cpu_ready_percent,
            ):
                assert value >= -ABS, where
            assert t.granted_core_hours <= t.demand_core_hours * (1 + REL) + ABS, where
            assert 0 <= t.sla_attainment_percent <= 100, where
            assert t.gpu_demand_hours >= 0 and 0 <= t.gpu_unmet_percent <= 100 + 1e-9, where
            # Every core-hour asked for is granted, unmet (for one of its named reasons) or
            # above the limit — killed, unplaced and waiting pods included.
            accounted = t.granted_core_hours + t.unmet_core_hours + t.throttled_core_hours
            assert _close(t.demand_core_hours, accounted), (where, t)
            parts = (
                t.contention_core_hours + t.cpu_ready_core_hours + t.killed_core_hours
                + t.sandbox_cap_core_hours + t.unplaced_core_hours
            )  # fmt: skip
            assert _close(t.unmet_core_hours, parts), (where, t)
            if t.unplaced_pods == 0:
                assert t.unplaced_core_hours == 0, where
            substrate = sc.substrate(result.name)
            if not isinstance(substrate, Vm) or substrate.cpu_overcommit == 1:
                assert t.cpu_ready_percent == 0, where
            k = sc.simulation.shared_hardware_slowdown
            k = load_defaults().interference.slowdown_at_full_load if k is None else k
            assert t.slowdown_core_hours <= k * t.granted_core_hours * (1 + REL) + ABS
            if result.kind == "baremetal-dedicated":
                assert t.slowdown_core_hours == 0, where
    _same_usage_on_every_substrate(sc, sim)
    if _gpu_pods_within_their_shares(sc):
        # The shares on a device never exceed it: a pod wanting no more than its share
        # gets it, time-sliced or not.
        for result in sim.results:
            for t in result.tenants:
                if t.unplaced_pods == 0:
                    assert t.gpu_unmet_percent == pytest.approx(0, abs=1e-6), (result.name, t)
    placed_any = any(len(n) for p in sim.placements for n in p.pod_nodes)
    if placed_any:
        assert checks.kernel_checks > 0 and checks.host_checks > 0
    tenants = [t for r in sim.results for t in r.tenants]
    event("placed" if placed_any else "nothing placed")
    for label, seen in (
        ("unmet", any(t.unmet_core_hours > 0 for t in tenants)),
        ("throttled", any(t.throttled_core_hours > 0 for t in tenants)),
        ("CPU-ready", any(t.cpu_ready_percent > 0 for t in tenants)),
        ("killed", any(t.oom_kills or t.evictions for t in tenants)),
        ("a host at ≥ 90 %", checks.worst_host >= 0.9),
    ):
        if seen:
            event(label)


def _gpu_pods_within_their_shares(sc: Scenario) -> bool:
    """Every GPU pod wants at most its share of its GPUs, bursts included."""
    return all(
        w.usage.gpu * (w.usage.burst_factor if w.usage.burst_probability else 1.0) <= 1.0
        for t in sc.tenants
        for c in t.clusters
        for w in c.workloads
        if w.gpu_count
    )


def _same_usage_on_every_substrate(sc: Scenario, sim: Simulation) -> None:
    """A tenant asks for the same work on every substrate, placed or not: its demand
    differs only by the substrate's CPU tax 1 / (1 − tax), by workload class."""
    defaults = load_defaults()
    work: dict[str, list[tuple[float, float]]] = {}
    for result in sim.results:
        substrate = sc.substrate(result.name)
        taxes = [
            cpu_tax(substrate, defaults, c)
            for c in ("cpu", "network-latency", "storage-io", "batch")
        ]
        for t in result.tenants:
            low, high = (
                t.demand_core_hours * (1 - max(taxes)),
                t.demand_core_hours * (1 - min(taxes)),
            )
            work.setdefault(t.name, []).append((low, high))
    for name, ranges in work.items():
        low = max(lo for lo, _ in ranges)
        high = min(hi for _, hi in ranges)
        assert low <= high * (1 + REL) + ABS, (name, ranges)


def _noisy_and_placed(cmp: Comparison) -> bool:
    """Some placed pod's demand has continuous noise, so that another seed changes it.
    (Bursts alone are not enough: two seeds can give the same number of burst steps; nor
    is noise on a level the wave keeps below 0, where demand is clipped to 0.)"""
    for p in cmp.placements:
        for ref, placed in zip(p.workloads, p.placed, strict=True):
            u = ref.workload.usage
            above_zero = u.cpu >= u.amplitude + 0.1  # not clipped to 0 all the time
            if placed and u.model == "diurnal" and u.noise >= 0.1 and above_zero:
                return True
    return False


@PROPERTY
@given(scenarios(), st.integers(0, 10_000))
def test_same_seed_same_json_other_seed_other_json(sc: Scenario, other: int) -> None:
    cmp = compare(sc)
    one = json.dumps(comparison_to_dict(cmp, simulate(sc, comparison=cmp)), sort_keys=True)
    again = json.dumps(comparison_to_dict(cmp, simulate(sc, comparison=cmp)), sort_keys=True)
    assert one == again
    # the seed through the API, and the seed in the scenario, are the same thing
    via_api = comparison_to_dict(cmp, simulate(sc, comparison=cmp, seed=sc.simulation.seed))
    assert json.dumps(via_api, sort_keys=True) == one
    if other == sc.simulation.seed:
        return
    reseeded = comparison_to_dict(cmp, simulate(sc, comparison=cmp, seed=other))
    if _noisy_and_placed(cmp):
        a = [s["simulation"]["tenants"] for s in json.loads(one)["substrates"]]
        b = [s["simulation"]["tenants"] for s in reseeded["substrates"]]
        assert a != b


def test_json_reports_the_seed_the_simulation_used() -> None:
    sc = Scenario.model_validate(scenario_dict(simulation={"horizon_hours": 2, "seed": 3}))
    cmp = compare(sc)
    data = comparison_to_dict(cmp, simulate(sc, comparison=cmp, seed=7))
    assert data["simulation"]["seed"] == 7


@given(
    st.lists(
        st.one_of(
            st.floats(-1, 1100, allow_nan=False, width=32),
            st.sampled_from([float(x) for x in measures.LAT_BINS]),
        ),
        min_size=1,
        max_size=200,
    ),
    st.integers(1, 4),
    st.data(),
)
@example(values=[1000.0, 0.0, 1.0, 999.9999], t_count=1, data=None)
def test_latency_histograms_count_as_numpy_does(
    values: list[float], t_count: int, data: st.DataObject | None
) -> None:
    # The engine bins every latency pod-step in one pass from the logarithm; np.histogram,
    # tenant by tenant, is the rule it must follow (bins closed on the left, the last on
    # both sides, values outside [0, 1000] left out), edges included.
    n = len(values)
    tenant = (
        np.array(data.draw(st.lists(st.integers(0, t_count - 1), min_size=n, max_size=n)))
        if data is not None
        else np.zeros(n, np.int64)
    )
    # float32 as the engine gives them; float64 too, so that values exactly on an edge
    # (where the logarithm can be a bin off) are checked.
    for v in (np.array(values, np.float32), np.array(values, np.float64)):
        got = measures._histograms(v, tenant.astype(np.int64), t_count)  # type: ignore[arg-type]
        for t in range(t_count):
            want = np.histogram(v[tenant == t], bins=measures.LAT_BINS)[0]
            assert got[t].tolist() == want.tolist()
