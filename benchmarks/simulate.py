"""Time-stepped simulation at fleet scale: time, memory and throughput on every substrate.

Issue target: 10,000 hosts, 1,000,000 pods, 2,016 steps (a week at 5 minutes) on each
substrate (``baremetal-dedicated``, ``baremetal-shared``, ``vm``, ``sandboxed``) in
<= 120 s and <= 8 GiB on a 2-core machine, printing pod-steps per second; and, in the same
run, the ratio against a straightforward per-event reference implementation of the same
model on a smaller case, checking that both give the same numbers.

What it does:

1. builds the placement benchmark's synthetic scenario (``benchmarks/placement.py``
   ``generate``: ``--pods`` pods in ``--workloads`` workloads of ``--tenants`` tenants) and
   gives every workload a usage model, drawn with a seeded generator: ~35 % constant
   (CPU 20-90 % of request), ~65 % diurnal (mean 30-80 %, swing 10-50 %, peak hour around
   14:00 +- 3 h so tenants peak together, noise sd 0-30 % with correlation 0-1), a quarter of
   the diurnal ones bursting (0.1-1 % per step, x1.5-4 for 3-24 steps); limits on some:
   ~15 % Guaranteed (limits = requests, so peaks are throttled), ~20 % Burstable with
   CPU limit 2x and memory limit 1.5x the request; memory at 40-100 % of request, ~3 % of
   unlimited workloads above their request (node memory pressure) and ~1 % of
   memory-limited ones above their limit (OOM kills). The ``vm`` substrate gets
   ``cpu_overcommit: --vm-overcommit`` (default 1.5) so CPU-ready is exercised.
   ``simulation: {horizon_hours: --hours, step_minutes: 5, seed: 1}``;
2. per substrate, in a fresh subprocess (``--one KIND``) so that ``ru_maxrss`` is that
   substrate's alone: ``place_substrate`` once (timed), then ``simulate_substrate`` alone
   (timed; it includes drawing the usage). Prints place s, simulate s, pod-steps/s
   (placed pods x steps / simulate s), peak RSS and measures that show the work was done:
   worst tenant's unmet %, fleet unmet %, throttled core-hours, OOM kills, evictions,
   worst CPU-ready %, SLATAH, mean host utilisation, worst SLA attainment;
3. the reference (``benchmarks/reference/event_sim.py``, plain Python, no extra package): a
   per-pod, per-step implementation of the same model written from the engine's
   docstrings, with exact water-filling, on a small case (``small_case``: ``--ref-pods``
   200 pods on hosts of ``--ref-host-cores`` 8 cores, ``--ref-hours`` 24 = 288 steps;
   hotter usage, ``--ref-vm-overcommit`` 3, priorities, a workload too big to place, Kata
   and gVisor substrates; GPU hosts (L4 x4, A100-80GB x8) and 21 GPU pods on MIG,
   time-slicing, vGPU, passthrough and MIG-backed vGPU, so that every rule has something
   to compare) on every substrate, fed exactly the usage ``UsageSampler`` draws (and its
   burst factors, for GPU use). Compares per tenant demand, throttled, granted, unmet and
   each of its parts (contention, CPU-ready, killed, sandbox cap, unplaced), slowdown,
   OOM kills, evictions, SLA attainment, latency p95, GPU demand and GPU unmet against
   ``simulate_substrate`` (PASS/FAIL, tolerances below), shows what stopping
   the water-filling after 3 rounds would change, times both and extrapolates the
   reference to the full size (an extrapolation, linear in pod-steps). The same
   comparison runs in the test suite (``tests/simulation/test_reference_oracle.py``);
4. prints the tables and whether each target is met.

    .venv/bin/python benchmarks/simulate.py                               # 1M pods, all substrates
    .venv/bin/python benchmarks/simulate.py --pods 100000 --workloads 2000
    .venv/bin/python benchmarks/simulate.py --substrate vm --profile /tmp/sim.prof --no-reference
    .venv/bin/python benchmarks/simulate.py --hours 24 --no-reference --ab   # vs the previous kernel

``--ab`` also replays each placement with the kernel before issue 15
(``benchmarks/replay_baseline``) in the same process, alternately, and prints both times
(wall and CPU), their ratio, the load, whether every figure is equal, the largest
relative difference and the figures that differ by more than 1e-6 relative (a figure
of ~1e-9 against 0 counts as 1: a sum that float32 rounding left a hair off zero).

The benchmark is not part of the test suite; its reference comparison is, on a smaller case
(``tests/simulation/test_reference_oracle.py``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from placement import generate, run_child
from reference import event_sim
from replay_baseline import engine as old_engine
from replay_baseline.compare import differences, largest_difference
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.pipeline import place as place_one
from underlay.placement.result import WORKER
from underlay.simulation.engine import simulate_substrate
from underlay.simulation.pods import pod_table
from underlay.simulation.usage import CHUNK_STEPS, UsageSampler

TARGET_SECONDS = 120.0
TARGET_RSS_GIB = 8.0
TARGET_HOSTS = 10_000
TARGET_PODS = 1_000_000
TARGET_STEPS = 2016
STEP_MINUTES = 5.0


# ============================================================================ scenario
def add_usage(data: dict[str, Any], seed: int, *, hours: float, vm_overcommit: float,
              heat: float = 1.0, leak: float = 0.01, pressure: float = 0.03) -> dict[str, Any]:  # fmt: skip
    """Usage models and limits on every workload of a ``generate`` scenario (in place).

    ``heat`` scales the CPU levels; ``leak`` is the share of memory-limited workloads
    above their limit (OOM), ``pressure`` the share of unlimited ones above their request.
    """
    rng = np.random.default_rng([seed, 31337])
    for t in data["tenants"]:
        for c in t["clusters"]:
            for w in c["workloads"]:
                usage: dict[str, Any]
                if w.get("gpu"):  # GPU work: steady
                    usage = {"model": "constant", "cpu": round(float(rng.uniform(0.5, 0.9)), 3),
                             "memory": round(float(rng.uniform(0.5, 0.9)), 3)}  # fmt: skip
                    w["usage"] = usage
                    continue
                if rng.random() < 0.35:
                    usage = {"model": "constant", "cpu": heat * float(rng.uniform(0.2, 0.9))}
                else:
                    usage = {
                        "model": "diurnal",
                        "cpu": heat * float(rng.uniform(0.3, 0.8)),
                        "amplitude": heat * float(rng.uniform(0.1, 0.5)),
                        "peak_hour": float((14.0 + rng.normal(0.0, 3.0)) % 24.0),
                        "noise": float(rng.uniform(0.0, 0.3)),
                        "correlation": float(rng.uniform(0.0, 1.0)),
                    }
                    if rng.random() < 0.25:
                        usage.update(
                            burst_probability=float(rng.uniform(0.001, 0.01)),
                            burst_factor=float(rng.uniform(1.5, 4.0)),
                            burst_steps=int(rng.integers(3, 25)),
                        )
                mem_level = float(rng.uniform(0.4, 1.0))
                u = rng.random()
                req = w["requests"]
                if u < 0.15:  # Guaranteed
                    w["limits"] = dict(req)
                elif u < 0.35:  # Burstable with limits
                    cpu_m = int(req["cpu"].rstrip("m")) if req["cpu"].endswith("m") else (
                        int(req["cpu"]) * 1000)  # fmt: skip
                    mem_mi = int(req["memory"].rstrip("Mi"))
                    w["limits"] = {"cpu": f"{2 * cpu_m}m", "memory": f"{int(1.5 * mem_mi)}Mi"}
                    if rng.random() < leak:  # leaks past the limit: OOM kills
                        mem_level = float(rng.uniform(1.55, 1.8))
                elif rng.random() < pressure:  # no limit, more memory than requested
                    mem_level = float(rng.uniform(1.1, 1.6))
                usage["memory"] = mem_level
                w["usage"] = {k: round(v, 4) if isinstance(v, float) else v
                              for k, v in usage.items()}  # fmt: skip
    for s in data["substrates"]:
        if s["kind"] == "vm":
            s["cpu_overcommit"] = vm_overcommit
    data["simulation"] = {"horizon_hours": hours, "step_minutes": STEP_MINUTES, "seed": 1}
    data["description"] += f" + benchmarks/simulate.py usage (seed {seed}), {hours} h"
    return data


def fleet_arguments(ap: argparse.ArgumentParser, *, hours: float) -> None:
    """The arguments ``scenario_dict`` reads: the fleet's size, horizon and seed (this
    benchmark's and those that replay its fleet: partition.py, hybrid_fleet.py)."""
    ap.add_argument("--pods", type=int, default=1_000_000)
    ap.add_argument("--workloads", type=int, default=20_000)
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--hours", type=float, default=hours, help="horizon (5-minute steps)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vm-overcommit", type=float, default=1.5, help="cpu_overcommit of vm")


def scenario_dict(args: argparse.Namespace) -> dict[str, Any]:
    data = generate(args.pods, args.workloads, args.tenants, args.seed)
    return add_usage(data, args.seed, hours=args.hours, vm_overcommit=args.vm_overcommit)


# ============================================================================ one substrate
def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measures(sim: Any) -> dict[str, Any]:
    """Fleet and worst-tenant figures of one SubstrateSimulation."""
    ts = sim.tenants
    within = [t.demand_core_hours - t.throttled_core_hours for t in ts]
    worst = max(ts, key=lambda t: t.unmet_percent)
    contention = [
        100.0 * t.unmet_core_hours / w if w > 0 else 0.0 for t, w in zip(ts, within, strict=True)
    ]
    hurt = sim.who_hurt_whom([t.name for t in ts], top=1)
    return {
        "demand_ch": sum(t.demand_core_hours for t in ts),
        "granted_ch": sum(t.granted_core_hours for t in ts),
        "unmet_ch": sum(t.unmet_core_hours for t in ts),
        "throttled_ch": sum(t.throttled_core_hours for t in ts),
        "unmet_pct": 100.0 * sum(t.unmet_core_hours for t in ts) / max(sum(within), 1e-9),
        "worst_unmet_pct": worst.unmet_percent,
        "worst_unmet_tenant": worst.name,
        "worst_contention_pct": max(contention),
        "killed_ch": sum(getattr(t, "killed_core_hours", 0.0) for t in ts),
        "oom": sum(t.oom_kills for t in ts),
        "evict": sum(t.evictions for t in ts),
        "ready_max_pct": max(t.cpu_ready_percent for t in ts),
        "slatah_pct": sim.slatah_percent,
        "util_mean": float(np.mean(sim.host_utilisation_mean)),
        "util_p95_max": float(np.max(sim.host_utilisation_p95)),
        "sla_min_pct": min(t.sla_attainment_percent for t in ts),
        "lat_p95_max": max(t.latency_inflation_p95 for t in ts),
        "risk_max_pct": max(t.risk_percent for t in ts),
        "hurt": hurt[0] if hurt else None,
    }


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    """Place + simulate one substrate in this (fresh) process; returns the measurements."""
    t0 = time.perf_counter()
    scenario = Scenario.model_validate(scenario_dict(args))
    defaults = load_defaults(scenario.overrides)
    t_gen = time.perf_counter() - t0
    total = sum(w.replicas for t in scenario.tenants for c in t.clusters for w in c.workloads)
    kind = args.one
    gc.collect()
    gc.freeze()  # as the CLI does once the scenario is loaded
    rss_before = rss_mib()
    t0 = time.perf_counter()
    placement = place_one(scenario, defaults, kind)
    t_place = time.perf_counter() - t0
    rss_place = rss_mib()
    gc.collect()

    load_before = os.getloadavg()[0]
    prof = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    c0 = time.process_time()
    if prof:
        prof.enable()
    sim = simulate_substrate(scenario, defaults, placement)
    if prof:
        prof.disable()
    t_sim = time.perf_counter() - t0
    c_sim = time.process_time() - c0
    ab = a_b(scenario, defaults, placement, sim, (t_sim, c_sim), args.ab_repeat) if args.ab else {}
    placed = int(placement.placed.sum())
    nodes = placement.nodes
    used_hosts = np.unique(nodes.host[nodes.used_pods > 0]) if len(nodes) else np.zeros(0)
    out: dict[str, Any] = {
        "kind": kind,
        "pods": total,
        "placed": placed,
        "hosts": len(placement.hosts),
        "hosts_with_pods": len(used_hosts),
        "kernels": int(((nodes.used_pods > 0) & (nodes.role == WORKER)).sum()),
        "steps": sim.steps,
        "generate_s": t_gen,
        "place_s": t_place,
        "simulate_s": t_sim,
        "pod_steps_per_s": placed * sim.steps / max(t_sim, 1e-9),
        "rss_before_mib": rss_before,
        "rss_after_place_mib": rss_place,
        "rss_peak_mib": rss_mib(),
        "simulate_cpu_s": c_sim,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        **ab,
        **measures(sim),
    }
    if prof:
        prof.dump_stats(args.profile)
        for sort in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(sort).print_stats(args.profile_top)
            out[f"profile_{sort}"] = buf.getvalue()
    return out


def a_b(scenario: Scenario, defaults: Any, placement: Any, sim: Any,
        first: tuple[float, float], repeat: int) -> dict[str, Any]:  # fmt: skip
    """The previous kernel (``replay_baseline``) against the current one on the same
    placement, in this process, alternately (the current one's run, ``first``, then
    baseline, lean, baseline, ...): best wall and CPU seconds of each, their ratios, and
    whether every figure is equal."""
    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "lean": [first]}
    kernels = {"baseline": old_engine.simulate_substrate, "lean": simulate_substrate}
    old = None
    for r in range(2 * repeat - 1):  # after the lean one: baseline, lean, baseline, ...
        which = "lean" if r % 2 else "baseline"
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        out = kernels[which](scenario, defaults, placement)
        runs[which].append((time.perf_counter() - t0, time.process_time() - c0))
        old = out if which == "baseline" else old
    diffs = differences(old, sim)
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in runs.items()}
    return {
        "baseline_s": best["baseline"][0],
        "baseline_cpu_s": best["baseline"][1],
        "lean_best_s": best["lean"][0],
        "lean_best_cpu_s": best["lean"][1],
        "ab_runs": {k: len(v) for k, v in runs.items()},
        "ab_ratio": best["baseline"][0] / max(best["lean"][0], 1e-9),
        "ab_cpu_ratio": best["baseline"][1] / max(best["lean"][1], 1e-9),
        "ab_equal": not diffs,
        "ab_largest_difference": largest_difference(old, sim),
        # what differs beyond float32 rounding of the sums (first 5 of them)
        "ab_beyond": (beyond := differences(old, sim, rtol=1e-6))[:5],
        "ab_beyond_count": len(beyond),
    }


def spawn_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", kind,
           "--pods", str(args.pods), "--workloads", str(args.workloads),
           "--tenants", str(args.tenants), "--seed", str(args.seed),
           "--hours", str(args.hours), "--vm-overcommit", str(args.vm_overcommit)]  # fmt: skip
    if args.profile:
        cmd += ["--profile", f"{args.profile}.{kind}", "--profile-top", str(args.profile_top)]
    if args.ab:
        cmd += ["--ab", "--ab-repeat", str(args.ab_repeat)]
    return run_child(kind, cmd, args.timeout * (1 + 2 * args.ab_repeat if args.ab else 1))


# ============================================================================ reference
# Per-tenant measures compared with the reference: its key -> TenantSimulation's field.
REF_CPU = {
    "demand": "demand_core_hours",
    "throttled": "throttled_core_hours",
    "granted": "granted_core_hours",
    "unmet": "unmet_core_hours",
    "contention": "contention_core_hours",
    "ready": "cpu_ready_core_hours",
    "killed": "killed_core_hours",
    "capped": "sandbox_cap_core_hours",
    "unplaced": "unplaced_core_hours",
    "slow": "slowdown_core_hours",
}
REF_COUNTS = {"oom": "oom_kills", "evict": "evictions"}
REF_GPU = ("gpu_demand", "gpu_unmet")
REF_MEASURES = (*REF_CPU, *REF_COUNTS, "sla", "latency_p95", *REF_GPU)

# Tolerances (see benchmarks/README.md). Both sides water-fill to the fixed point and
# see the same usage, so only arithmetic separates them: the engine works in float32
# (7 significant digits) and stops handing out below 1e-3 millicores of free CPU per
# kernel and step, the reference in float64. Over a tenant's pod-steps that stays far
# below 1e-4 of its demand; a modelling difference (a wrong eviction, a missed rule, the
# wrong capacity) shows at 1e-3 or more.
# - demand, throttled: relative 1e-4 per tenant;
# - granted and every part of unmet (contention, CPU-ready, killed, sandbox cap,
#   unplaced), unmet itself, slowdown: |difference| <= 1e-4 x the tenant's demand within
#   limits;
# - OOM kills and evictions: equal;
# - SLA attainment: the steps meeting the SLA differ by at most the steps the reference
#   finds within float noise of the line (|granted - target x wanted| <= 1e-4 x wanted +
#   0.01 millicores), where float32 and float64 sums may fall either side;
# - latency p95: relative 3 %, the engine's histogram resolution (bins 1000^(1/240) =
#   2.9 % wide; it reports the upper edge of the bin holding the percentile);
# - GPU demand: relative 1e-4 per tenant; GPU unmet (demand - granted): |difference| <=
#   1e-4 x the tenant's GPU demand (the engine water-fills each device in float32 too).
TOL_EXACT_REL = 1e-4
TOL_OF_WITHIN = 1e-4
TOL_LATENCY_REL = 0.03
MEM_PER_CORE = 3


def small_case(pods: int, workloads: int, tenants: int, seed: int, *, hours: float,
               host_cores: int, vm_overcommit: float,
               slowdown: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The reference's small case: ``generate``'s scenario on small hosts, hotter, with
    stressors, so that every rule of the model has something to compare.

    - host models of ``host_cores`` cores and 8 GiB a core: one without GPUs, one with 4
      L4s, one with 8 A100-80GBs (``generate``'s GPU workloads become ``batch``; the GPU
      work is ``GPU_WORK``); requests capped at 2 cores;
    - priorities -100 / 0 / 1000 drawn for the workloads; classes as ``generate`` draws
      them (cpu, memory, network-latency, batch, storage-io); CPU SLAs of 60-95 %
      drawn for the tenants (so that attainment is neither 0 nor 100 %);
    - a workload asking for 2 TiB of memory: no host has it, so its pods are unplaced;
    - usage 1.3x hotter than the big case, 20 % of the memory-limited workloads above
      their limit (OOM kills), 30 % of the others above their request;
    - stressors: three "hogs" (tenants 1, 2, 3 at priorities 0, 1000, -100; 2 x 250m /
      1 GiB requested, 20 GiB used, no limits) put nodes under memory pressure across
      tenants and priorities; two "burners" (tenants 0 and the last; 4 x 500m requested,
      limit 3 cores / 1 GiB, using 2 cores) contend for CPU wherever they land, also
      inside Kata and gVisor pod cgroups; a "cache" (2 x 3 GiB used, limit 4 GiB) lives
      above a Kata guest's default memory;
    - GPU work (``GPU_WORK``, 21 pods): shares of a GPU wanting more than their share,
      bursting ones, shares raised by the GPU memory they ask (one to a whole GPU), whole
      GPUs, a pod asking for 9 GPUs (no host has them) and a half-GPU pod asking for 20
      cores (only an overcommitted VM can hold it);
    - seven substrates: dedicated bare metal (GPUs shared by MIG) and shared bare metal
      (time-slicing); VMs at ``vm_overcommit`` (CPU-ready) with vGPU (``vm``), whole GPUs
      passed through (``vm-passthrough``) and MIG-backed vGPU (``vm-vgpu-mig``); Kata
      (pods without limits hit its 1-vCPU cap and 2 GiB guest memory; whole GPUs) and
      gVisor (CPU tax by class; ``cache_partitioned``, so no shared-hardware slowdown);
    - ``slowdown`` sets ``simulation.shared_hardware_slowdown`` (default: the defaults').
    """
    data = generate(pods, workloads, tenants, seed)
    rng = np.random.default_rng([seed, 4242])
    for t in data["tenants"]:
        t["sla"] = {"cpu_satisfaction_percent": int(rng.choice([60, 75, 85, 95]))}
        for c in t["clusters"]:
            for w in c["workloads"]:
                if w.pop("gpu", None):
                    w["class"] = "batch"
                cpu = w["requests"]["cpu"]
                milli = int(cpu.rstrip("m")) if cpu.endswith("m") else int(cpu) * 1000
                if milli > 2000:  # pods that fit the small hosts
                    w["requests"]["cpu"] = "2000m"
                w["priority"] = int(rng.choice([-100, 0, 0, 1000]))
    too_big = {"name": "too-big", "replicas": 2, "class": "network-latency",
               "requests": {"cpu": "1000m", "memory": "2097152Mi"}}  # fmt: skip
    data["tenants"][0]["clusters"][0]["workloads"].append(too_big)
    base = data["hardware"]["host_models"][0]
    data["hardware"]["host_models"] = [
        {**base, "cores": host_cores, "memory": f"{host_cores * 8}Gi"},
        # GPU hosts, after the CPU one: pods that may use any GPU take an L4 host first
        {**base, "name": "l4x4", "cores": host_cores, "memory": f"{host_cores * 8}Gi",
         "gpus": {"model": "L4", "count": 4}},
        {**base, "name": "a100x8", "cores": host_cores, "memory": f"{host_cores * 8}Gi",
         "gpus": {"model": "A100-80GB", "count": 8}},
    ]  # fmt: skip
    # VMs cut to the pods' requests, so that pods contend inside them too
    vm = {"kind": "vm", "hypervisor": "kvm", "shapes": "auto", "sizing": "requests"}
    data["substrates"] = [
        {"kind": "baremetal-dedicated", "gpu_sharing": "mig"},
        {"kind": "baremetal-shared"},  # GPUs time-sliced
        {**vm, "gpu_mode": "vgpu"},  # time-sliced vGPU slices (and whole GPUs passed through)
        {**vm, "name": "vm-passthrough", "gpu_mode": "passthrough"},
        {**vm, "name": "vm-vgpu-mig", "gpu_mode": "vgpu", "gpu_sharing": "mig"},
        {"kind": "sandboxed", "name": "kata", "runtime": "kata"},
        {"kind": "sandboxed", "name": "gvisor", "runtime": "gvisor", "cache_partitioned": True},
    ]
    data = add_usage(data, seed, hours=hours, vm_overcommit=vm_overcommit, heat=1.3, leak=0.2,
                     pressure=0.3)  # fmt: skip
    for i, (t, priority) in enumerate(((1, 0), (2, 1000), (3, -100))):
        data["tenants"][t % tenants]["clusters"][0]["workloads"].append(
            {
                "name": f"hog{i}",
                "replicas": 2,
                "class": "memory",
                "priority": priority,
                "requests": {"cpu": "250m", "memory": "1Gi"},
                "usage": {"model": "constant", "cpu": 0.6, "memory": 20},
            }
        )
    # A Kata guest gets a memory limit hot-added: these live above its default memory.
    data["tenants"][1 % tenants]["clusters"][0]["workloads"].append(
        {
            "name": "cache0",
            "replicas": 2,
            "class": "memory",
            "requests": {"cpu": "500m", "memory": "3Gi"},
            "limits": {"cpu": "1", "memory": "4Gi"},
            "usage": {"model": "constant", "cpu": 0.8, "memory": 1.0},
        }
    )
    for i, t in enumerate((0, tenants - 1)):
        data["tenants"][t]["clusters"][-1]["workloads"].append(
            {
                "name": f"burner{i}",
                "replicas": 4,
                "class": "cpu",
                "requests": {"cpu": "500m", "memory": "512Mi"},
                "limits": {"cpu": "3", "memory": "1Gi"},
                "usage": {"model": "constant", "cpu": 4.0, "memory": 0.8},
            }
        )
    for t, workload in GPU_WORK:
        data["tenants"][t % tenants]["clusters"][0]["workloads"].append(dict(workload))
    if slowdown is not None:
        data["simulation"]["shared_hardware_slowdown"] = slowdown
    return data


def _gpu(name: str, replicas: int, gpu: dict[str, Any], usage: dict[str, Any],
         cpu: str = "500m", memory: str = "2Gi") -> dict[str, Any]:  # fmt: skip
    cls = "gpu-training" if gpu.get("fraction", 1) >= 1 else "gpu-inference"
    return {"name": name, "replicas": replicas, "class": cls, "gpu": gpu,
            "requests": {"cpu": cpu, "memory": memory}, "usage": usage}  # fmt: skip


# The small case's GPU work, by tenant (modulo the tenants): time-sliced shares wanting
# more than their share (usage.gpu > 1) next to quieter, bursting ones (L4s first, or any
# GPU; MIG-capable A100s under MIG); shares raised by the GPU memory they ask, one of them
# to a whole GPU (isolated then); whole GPUs bursting past what they hold; a pod asking
# for more GPUs than any host has, and a time-sliced one asking for more cores (both
# never placed on bare metal, where their GPU demand is all unmet).
GPU_WORK: tuple[tuple[int, dict[str, Any]], ...] = (
    (0, _gpu("infer-half", 3, {"count": 1, "fraction": 0.5},
             {"model": "constant", "cpu": 0.8, "gpu": 1.6})),
    (1, _gpu("infer-quarter", 4, {"count": 1, "fraction": 0.25},
             {"model": "diurnal", "cpu": 0.6, "amplitude": 0.2, "gpu": 0.6,
              "burst_probability": 0.05, "burst_factor": 3, "burst_steps": 6})),
    (1, _gpu("infer-too-big", 1, {"count": 1, "fraction": 0.5},
             {"model": "constant", "cpu": 0.1, "gpu": 1.4}, cpu="20")),
    (2, _gpu("a100-slice", 8, {"count": 1, "fraction": 0.1, "memory": "12Gi",
                               "models": ["A100-80GB"]},
             {"model": "constant", "cpu": 0.5, "gpu": 1.3})),
    (2, _gpu("infer-fullmem", 2, {"count": 1, "fraction": 0.5, "memory": "80Gi",
                                  "models": ["A100-80GB"]},
             {"model": "constant", "cpu": 0.5, "gpu": 1.2})),
    (3, _gpu("train", 2, {"count": 2, "models": ["A100-80GB"]},
             {"model": "constant", "cpu": 0.9, "gpu": 0.8, "burst_probability": 0.05,
              "burst_factor": 1.5, "burst_steps": 4}, cpu="1", memory="4Gi")),
    (0, _gpu("too-many-gpus", 1, {"count": 9, "models": ["A100-80GB"]},
             {"model": "constant", "cpu": 0.5, "gpu": 0.2}, cpu="1", memory="4Gi")),
)  # fmt: skip


def small_dict(args: argparse.Namespace) -> dict[str, Any]:
    return small_case(args.ref_pods, args.ref_workloads, args.ref_tenants, args.seed,
                      hours=args.ref_hours, host_cores=args.ref_host_cores,
                      vm_overcommit=args.ref_vm_overcommit)  # fmt: skip


def sample_usage(scenario: Scenario, placement: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cpu, memory, burst factor) of every pod in canonical order, (pods x steps), as the
    engine draws them."""
    steps = scenario.simulation.steps
    pods = pod_table(scenario, placement.workloads)
    sampler = UsageSampler(scenario, placement.workloads, pods)
    every = np.arange(len(pods), dtype=np.int64)
    parts = []
    for s in range(0, steps, CHUNK_STEPS):
        c, m = sampler.chunk(s, min(steps, s + CHUNK_STEPS))
        parts.append((c, m, sampler.burst_rows(every)))
    cpu = np.concatenate([c for c, _, _ in parts], axis=1)
    # Memory without a trace is one column per chunk (the same every step): widen it.
    mem = np.concatenate([np.broadcast_to(m, c.shape) for c, m, _ in parts], axis=1)
    burst = np.concatenate([b for _, _, b in parts], axis=1)
    return cpu, mem, burst


def compare(sim: Any, ref: Any, to_ch: float) -> dict[str, dict[str, Any]]:
    """Per measure: the worst per-tenant difference on the measure's scale (see the
    tolerances), the tolerance, whether every tenant is within it, and the totals."""
    ts = sim.tenants
    r = {k: np.asarray(ref.acc[k]) * to_ch for k in REF_CPU}
    within = np.maximum(r["demand"] - r["throttled"], 1e-12)
    out: dict[str, dict[str, Any]] = {}
    for key, attr in REF_CPU.items():
        e = np.array([getattr(t, attr) for t in ts])
        d = np.abs(e - r[key])
        if key in ("demand", "throttled"):
            diff, tol = np.where(d > 0, d / np.maximum(np.abs(r[key]), 1e-12), 0.0), TOL_EXACT_REL
        else:
            diff, tol = d / within, TOL_OF_WITHIN
        out[key] = _worst(ts, diff, tol, e.sum(), r[key].sum())
    for key, attr in REF_COUNTS.items():
        e = np.array([getattr(t, attr) for t in ts], float)
        rc = np.asarray(ref.acc[key], float)
        out[key] = _worst(ts, np.abs(e - rc), 0.0, e.sum(), rc.sum())
    # SLA: steps; each tenant may differ by its own borderline steps.
    e_steps = np.array([t.sla_attainment_percent for t in ts]) * ref.steps / 100.0
    d_steps = np.abs(np.round(e_steps) - np.asarray(ref.sla_ok))
    border = np.asarray(ref.sla_borderline, float)
    out["sla"] = _worst(ts, d_steps - border, 0.0, min(t.sla_attainment_percent for t in ts),
                        min(ref.sla_percent(i) for i in range(len(ts))))  # fmt: skip
    out["sla"]["worst"] = float(d_steps.max())  # shown as steps; "ok" judged against border
    out["sla"]["tol"] = float(border.max())
    lat = np.array([abs(t.latency_inflation_p95 / ref.latency_p95(i) - 1.0) if ref.latency[i]
                    else 0.0 for i, t in enumerate(ts)])  # fmt: skip
    out["latency_p95"] = _worst(ts, lat, TOL_LATENCY_REL,
                                max(t.latency_inflation_p95 for t in ts),
                                max(ref.latency_p95(i) for i in range(len(ts))))  # fmt: skip
    # GPUs (milli-GPU-steps to GPU-hours as millicore-steps to core-hours): demand relative,
    # unmet (demand - granted) against the tenant's GPU demand.
    r_dem = np.asarray(ref.acc["gpu_demand"]) * to_ch
    r_unmet = r_dem - np.asarray(ref.acc["gpu_granted"]) * to_ch
    e_dem = np.array([t.gpu_demand_hours for t in ts])
    e_unmet = np.array([t.gpu_unmet_percent for t in ts]) / 100.0 * e_dem
    d = np.abs(e_dem - r_dem)
    out["gpu_demand"] = _worst(ts, np.where(d > 0, d / np.maximum(r_dem, 1e-12), 0.0),
                               TOL_EXACT_REL, e_dem.sum(), r_dem.sum())  # fmt: skip
    d = np.abs(e_unmet - r_unmet)
    out["gpu_unmet"] = _worst(ts, np.where(d > 0, d / np.maximum(r_dem, 1e-12), 0.0),
                              TOL_OF_WITHIN, e_unmet.sum(), r_unmet.sum())  # fmt: skip
    return out


def _worst(ts: list[Any], diff: np.ndarray, tol: float, eng: float, ref: float) -> dict[str, Any]:
    """The worst tenant's difference, whether every tenant is within ``tol``, totals."""
    i = int(np.argmax(diff))
    return {"worst": float(diff[i]), "tenant": ts[i].name, "tol": tol,
            "ok": bool((diff <= tol).all()), "eng": float(eng), "ref": float(ref)}  # fmt: skip


def verdict(cmp: dict[str, dict[str, Any]]) -> tuple[bool, list[str]]:
    """PASS/FAIL of one substrate, and what failed."""
    bad = [f"{k}: worst {c['worst']:.3g} (tenant {c['tenant']}) > tolerance {c['tol']:.3g}; "
           f"totals engine {c['eng']:.6g}, reference {c['ref']:.6g}"
           for k, c in cmp.items() if not c["ok"]]  # fmt: skip
    return not bad, bad


def reference_case(scenario: Scenario, defaults: Any, label: str, *, repeat: int = 1,
                   rounds3: bool = False) -> dict[str, Any]:  # fmt: skip
    """Engine vs reference on one substrate of ``scenario``: the comparison, what the
    reference saw (totals, so a test can check every path was exercised) and timings."""
    placement = place_one(scenario, defaults, label)
    eng_s = []
    for _ in range(repeat):  # best of N (the engine's time is short)
        t0 = time.perf_counter()
        sim = simulate_substrate(scenario, defaults, placement)
        eng_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    cpu, mem, burst = sample_usage(scenario, placement)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = event_sim.build(scenario, defaults, placement)
    exact = event_sim.run(model, cpu, mem, burst)
    t_ref = time.perf_counter() - t0 + t_sample
    to_ch = scenario.simulation.step_minutes / 60.0 / 1000.0
    row: dict[str, Any] = {
        "label": label,
        "kind": placement.kind,
        "placed": int(placement.placed.sum()),
        "unplaced_pods": len(model.unplaced),
        "hosts": len(model.hosts),
        "kernels": sum(len(h.kernels) for h in model.hosts),
        "steps": exact.steps,
        "engine_s": min(eng_s),
        "ref_s": t_ref,
        "ref_sample_s": t_sample,
        "exact": compare(sim, exact, to_ch),
        "totals": {
            k: float(sum(exact.acc[k])) * (1.0 if k in REF_COUNTS else to_ch) for k in exact.acc
        },  # core-hours, GPU-hours, counts
        "gpu_modes": sorted({g.mode for g in model.gpu_pods if g.placed}),
        "gpu_pods": len(model.gpu_pods),
        "gpu_devices_shared": sum(len(d) > 1 for d in model.gpu_devices),
        # vGPU devices whose time is shared by pods of two VMs or more
        "gpu_vgpu_shared": sum(
            len({g.node for g in d}) > 1
            for d in model.gpu_devices
            if d[0].device is not None and d[0].device[0] == "host"
        ),
        "latency_steps": sum(len(v) for v in exact.latency),
        "paths": exact.paths,
        "sla_percent": [round(exact.sla_percent(t), 1) for t in range(model.tenants)],
        "priorities": sorted({p.priority for h in model.hosts for k in h.kernels for p in k.pods}),
        "slowdown_k": model.slowdown,
    }
    if rounds3:  # what stopping the water-filling after 3 rounds would change
        three = event_sim.run(model, cpu, mem, burst, rounds=3)
        within = np.maximum(np.asarray(exact.acc["demand"]) - exact.acc["throttled"], 1e-9)
        row["rounds3_unmet"] = float(
            (np.abs(np.asarray(three.acc["unmet"]) - exact.acc["unmet"]) / within).max()
        )
    return row


def reference(args: argparse.Namespace) -> dict[str, Any]:
    """Engine vs per-event reference on the small case, every substrate."""
    scenario = Scenario.model_validate(small_dict(args))
    defaults = load_defaults(scenario.overrides)
    rows = [reference_case(scenario, defaults, label, repeat=args.ref_repeat, rounds3=True)
            for label in scenario.substrate_labels]  # fmt: skip
    return {"rows": rows, "pods": sum(r["placed"] + r["unplaced_pods"] for r in rows[:1]),
            "steps": scenario.simulation.steps}  # fmt: skip


# ============================================================================ report
def gib(mib: float) -> str:
    return f"{mib / 1024:.2f}"


def ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def print_reference(ref: dict[str, Any], ok_rows: list[dict[str, Any]]) -> bool:
    rows = ref["rows"]
    r0 = rows[0]
    print(f"\nreference comparison (small case: {ref['pods']} pods, {ref['steps']} steps; "
          f"per-pod, per-step reference in plain Python vs simulate_substrate):")  # fmt: skip
    head = (f"  {'substrate':<20} {'placed':>6} {'unpl.':>5} {'hosts':>5} {'kern':>4} "
            f"{'unmet %':>7} {'verdict':>7}")  # fmt: skip
    print(head + "\n  " + "-" * (len(head) - 2))
    all_ok = True
    for r in rows:
        ok_e, bad_e = verdict(r["exact"])
        all_ok &= ok_e
        t = r["totals"]
        unmet_pct = 100 * t["unmet"] / max(t["demand"] - t["throttled"], 1e-9)
        print(f"  {r['label']:<20} {r['placed']:>6} {r['unplaced_pods']:>5} {r['hosts']:>5} "
              f"{r['kernels']:>4} {unmet_pct:>7.2f} {'PASS' if ok_e else 'FAIL':>7}")  # fmt: skip
        for b in bad_e:
            print(f"      FAIL: {b}")
    print("\n  worst per-tenant difference by measure (scale: rel = relative; /within = of the "
          "tenant's demand within limits; steps; ratio) and PASS/FAIL:")  # fmt: skip
    scale = {"demand": "rel", "throttled": "rel", "oom": "count", "evict": "count",
             "sla": "steps", "latency_p95": "ratio", "gpu_demand": "rel",
             "gpu_unmet": "/gpu dem"}  # fmt: skip
    print(f"  {'measure':<12} {'scale':<8} {'tolerance':>9} " + " ".join(
        f"{r['label']:>20}" for r in rows))  # fmt: skip
    for key in REF_MEASURES:
        cells = []
        for r in rows:
            c = r["exact"][key]
            cells.append(f"{c['worst']:>10.1e} {'PASS' if c['ok'] else 'FAIL':>4} "
                         f"({c['ref']:>.3g})".rjust(20))  # fmt: skip
        tol = "border" if key == "sla" else f"{r0['exact'][key]['tol']:.0e}"
        print(f"  {key:<12} {scale.get(key, '/within'):<8} {tol:>9} " + " ".join(cells))
    print("  (in brackets: the reference's total over tenants — core-hours, counts, GPU-hours; "
          "for sla the worst tenant's %, for latency_p95 the largest; SLA tolerance: the steps "
          "within float noise of the line; /gpu dem = of the tenant's GPU demand)")  # fmt: skip
    print("\n  paths the reference went through (pod-steps unless stated):")
    print(f"  {'substrate':<20} {'latency':>7} {'past rho_max':>12} {'guest-mem OOM':>13} "
          f"{'above guest mem':>15} {'priorities':>16} {'k':>5} {'SLA % by tenant':<30}")  # fmt: skip
    for r in rows:
        pth = r["paths"]
        print(f"  {r['label']:<20} {r['latency_steps']:>7} {pth['latency_backlog']:>12} "
              f"{pth['guest_memory_oom']:>13} {pth['above_guest_memory']:>15} "
              f"{','.join(map(str, r['priorities'])):>16} {r['slowdown_k']:>5g} "
              f"{' '.join(f'{x:g}' for x in r['sla_percent']):<30}")  # fmt: skip
    print("\n  GPUs in the reference (pod-steps unless stated; time-sliced: pods sharing a "
          "device's time; capped: isolated pods wanting more than they hold):")  # fmt: skip
    print(f"  {'substrate':<20} {'modes':<26} {'shared devices':>14} {'vGPU of 2+ VMs':>14} "
          f"{'contended':>9} {'idle taken':>10} {'capped':>6} {'bursting':>8} {'unplaced':>8} "
          f"{'demand GPU-h':>12} {'unmet %':>7}")  # fmt: skip
    for r in rows:
        pth, t = r["paths"], r["totals"]
        unmet = 100 * (1 - t["gpu_granted"] / t["gpu_demand"]) if t["gpu_demand"] else 0.0
        print(f"  {r['label']:<20} {','.join(r['gpu_modes']):<26} {r['gpu_devices_shared']:>14} "
              f"{r['gpu_vgpu_shared']:>14} {pth['gpu_contended']:>9} {pth['gpu_idle_taken']:>10} "
              f"{pth['gpu_capped']:>6} {pth['gpu_burst']:>8} {pth['gpu_unplaced']:>8} "
              f"{t['gpu_demand']:>12.1f} {unmet:>7.1f}")  # fmt: skip
    print("  what stopping after 3 water-filling rounds (underlay before fbe0bc0) changes, "
          "reference exact vs 3 rounds, max over tenants of |d unmet| / demand within limits: "
          + ", ".join(f"{r['label']} {r['rounds3_unmet']:.1e}" for r in rows))  # fmt: skip
    print(f"  verdict: {'PASS' if all_ok else 'FAIL'}")

    eng = sum(r["engine_s"] for r in rows)
    refs = sum(r["ref_s"] for r in rows)
    ps = sum(r["placed"] * r["steps"] for r in rows)
    print(f"\n  speed on the small case ({r0['steps']} steps; engine best of several runs, "
          f"reference incl. drawing the same usage):")  # fmt: skip
    for r in rows:
        pss = r["placed"] * r["steps"]
        print(f"    {r['label']:<20} engine {r['engine_s']:7.3f} s ({pss / r['engine_s']:>10,.0f} "
              f"pod-steps/s)   reference {r['ref_s']:7.2f} s ({pss / r['ref_s']:>8,.0f} pod-steps/s)"
              f"   {r['ref_s'] / r['engine_s']:6.1f}x")  # fmt: skip
    print(f"  vectorised engine is {refs / eng:.1f}x the per-pod reference on the small case "
          f"({ps:,} pod-steps)")  # fmt: skip
    ref_rate = ps / refs
    for r in ok_rows:
        full = r["placed"] * r["steps"]
        est = full / ref_rate
        print(f"  extrapolated (linear in pod-steps; an extrapolation, not a measurement): the "
              f"reference would need ~{est:,.0f} s ({est / 3600:.1f} h) for {r['kind']} at "
              f"{r['placed']:,} pods x {r['steps']} steps, i.e. the engine "
              f"({r['simulate_s']:.0f} s) is ~{est / r['simulate_s']:,.0f}x it")  # fmt: skip
    return all_ok


def print_a_b(rows: list[dict[str, Any]]) -> None:
    """The A/B against the previous kernel (``--ab``), per substrate."""
    rows = [r for r in rows if "ab_ratio" in r]
    if not rows:
        return
    print("\nA/B against the previous kernel (benchmarks/replay_baseline), same process, "
          "alternating; best of each (wall s; CPU s of this process):")  # fmt: skip
    head = (f"  {'substrate':<20} {'runs':>5} {'previous s':>10} {'lean s':>8} {'ratio':>6} "
            f"{'prev CPU s':>10} {'lean CPU s':>10} {'CPU ratio':>9} {'load 1m':>11} "
            f"{'bit-equal':>9} {'largest rel. diff':>17}")  # fmt: skip
    print(head + "\n  " + "-" * (len(head) - 2))
    for r in rows:
        print(f"  {r['kind']:<20} {r['ab_runs']['baseline']:>2}+{r['ab_runs']['lean']:<2} "
              f"{r['baseline_s']:>10.1f} {r['lean_best_s']:>8.1f} {r['ab_ratio']:>5.2f}x "
              f"{r['baseline_cpu_s']:>10.1f} {r['lean_best_cpu_s']:>10.1f} "
              f"{r['ab_cpu_ratio']:>8.2f}x {r['load_before']:>5.1f}-{r['load_after']:<5.1f} "
              f"{'yes' if r['ab_equal'] else 'no':>9} "
              f"{r['ab_largest_difference']:>17.2g}")  # fmt: skip
        if not r["ab_equal"]:
            print(f"      figures differing by more than 1e-6 relative: {r['ab_beyond_count']}")
        for d in r["ab_beyond"]:
            print(f"      beyond 1e-6: {d}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    fleet_arguments(ap, hours=168.0)
    ap.add_argument("--substrate", action="append", choices=SUBSTRATE_KINDS,
                    help="substrate(s) to run (default: all four)")  # fmt: skip
    ap.add_argument("--no-reference", action="store_true", help="skip the reference comparison")
    ap.add_argument("--reference-only", action="store_true", help="only the reference comparison")
    ap.add_argument("--ref-pods", type=int, default=200)
    ap.add_argument("--ref-workloads", type=int, default=60)
    ap.add_argument("--ref-tenants", type=int, default=5)
    ap.add_argument("--ref-hours", type=float, default=24.0)
    ap.add_argument("--ref-host-cores", type=int, default=8)
    ap.add_argument("--ref-vm-overcommit", type=float, default=3.0,
                    help="cpu_overcommit of vm in the small case (small hosts need more for CPU-ready)")  # fmt: skip
    ap.add_argument("--ref-repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per substrate")
    ap.add_argument("--profile", default=None,
                    help="cProfile simulate_substrate; stats to PATH.KIND")  # fmt: skip
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--ab", action="store_true",
                    help="also replay with the previous kernel (benchmarks/replay_baseline) in "
                         "the same process, alternately: ratio and figure-for-figure equality")  # fmt: skip
    ap.add_argument("--ab-repeat", type=int, default=1,
                    help="runs of each kernel in the A/B (alternating; best of each)")  # fmt: skip
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="also write all results to this JSON file")
    args = ap.parse_args()

    if args.one:
        print(json.dumps(run_one(args)))
        return 0

    kinds = [] if args.reference_only else (args.substrate or list(SUBSTRATE_KINDS))
    steps = max(1, round(args.hours * 60 / STEP_MINUTES))
    print(f"underlay simulation benchmark: pods={args.pods:,} workloads={args.workloads:,} "
          f"tenants={args.tenants} hours={args.hours:g} ({steps} steps) seed={args.seed} "
          f"vm cpu_overcommit={args.vm_overcommit:g}; python {sys.version.split()[0]}, "
          f"numpy {np.__version__}; {len(os.sched_getaffinity(0))} cores")  # fmt: skip
    results = []
    for kind in kinds:
        print(f"  {kind}: placing + simulating ...", flush=True)
        r = spawn_one(kind, args)
        results.append(r)
        if "error" in r:
            print(f"    {kind}: {r['error']}", flush=True)
        else:
            print(f"    place {r['place_s']:.1f} s, simulate {r['simulate_s']:.1f} s, "
                  f"{r['pod_steps_per_s']:,.0f} pod-steps/s, peak RSS {gib(r['rss_peak_mib'])} GiB",
                  flush=True)  # fmt: skip
    ok_rows = [r for r in results if "error" not in r]

    if ok_rows:
        head = (f"{'substrate':<20} {'hosts':>6} {'kernels':>7} {'placed':>9} {'steps':>5} "
                f"{'place s':>7} {'sim s':>7} {'pod-steps/s':>12} {'RSS GiB':>7} "
                f"{'worst unmet %':>13} {'(contention)':>12} {'unmet %':>7} {'SLATAH %':>8} {'util':>5} "
                f"{'OOM':>6} {'evict':>6} {'ready %':>7} {'SLA min %':>9}")  # fmt: skip
        print("\n" + head + "\n" + "-" * len(head))
        for r in results:
            if "error" in r:
                print(f"{r['kind']:<20} {r['error']}")
                continue
            print(f"{r['kind']:<20} {r['hosts']:>6,} {r['kernels']:>7,} {r['placed']:>9,} "
                  f"{r['steps']:>5} {r['place_s']:>7.1f} {r['simulate_s']:>7.1f} "
                  f"{r['pod_steps_per_s']:>12,.0f} {gib(r['rss_peak_mib']):>7} "
                  f"{r['worst_unmet_pct']:>13.2f} {r.get('worst_contention_pct', 0):>12.2f} "
                  f"{r['unmet_pct']:>7.3f} {r['slatah_pct']:>8.2f} "
                  f"{r['util_mean']:>5.2f} {r['oom']:>6,} {r['evict']:>6,} "
                  f"{r['ready_max_pct']:>7.2f} {r['sla_min_pct']:>9.1f}")  # fmt: skip
        print("(kernels = worker nodes / VMs with pods; pod-steps/s = placed pods x steps / sim s; "
              "RSS = ru_maxrss of the substrate's own process; worst unmet % = the worst "
              "tenant's unmet share of its demand within limits (underlay's unmet_percent: "
              "contention + killed pods' CPU; '(contention)' without the kills); unmet % = fleet "
              "contention only; util = mean host CPU "
              "utilisation; ready % = worst tenant's CPU-ready; SLA min = worst tenant's "
              "share of steps meeting its CPU SLA)")  # fmt: skip
        for r in ok_rows:
            hurt = r["hurt"]
            print(f"  {r['kind']}: demand {r['demand_ch']:,.0f} core-h, granted "
                  f"{r['granted_ch']:,.0f}, unmet {r['unmet_ch']:,.1f}, killed {r.get('killed_ch', 0):,.0f}, throttled "
                  f"{r['throttled_ch']:,.0f}; worst tenant {r['worst_unmet_tenant']}; p95 host "
                  f"util max {r['util_p95_max']:.2f}; latency p95 max {r['lat_p95_max']:.2f}x; "
                  f"risk max {r['risk_max_pct']:.1f} %"
                  + (f"; most hurt: {hurt[0]} by {hurt[1]} {hurt[2]:.1f} core-h" if hurt else "")
                  + f"; hosts with pods {r['hosts_with_pods']:,}")  # fmt: skip

    print_a_b(ok_rows)
    ref_ok = True
    ref = None
    if not args.no_reference:
        print("\n  reference comparison on the small case ...", flush=True)
        ref = reference(args)
        ref_ok = print_reference(ref, ok_rows)

    if results:
        print(f"\ntargets ({args.pods:,} pods x {steps} steps; this machine: "
              f"{len(os.sched_getaffinity(0))} cores):")  # fmt: skip
    for r in results:
        if "error" in r:
            print(f"  {r['kind']:<20} NO ({r['error']})")
            continue
        at_target = r["pods"] >= TARGET_PODS and r["steps"] >= TARGET_STEPS
        t_ok = r["simulate_s"] <= TARGET_SECONDS
        m_ok = r["rss_peak_mib"] / 1024 <= TARGET_RSS_GIB
        if not at_target:  # say so, and extrapolate (linear in pod-steps; RSS is per chunk)
            full = r["simulate_s"] * TARGET_PODS * TARGET_STEPS / max(r["placed"] * r["steps"], 1)
            print(f"  {r['kind']:<20} not the target size: {r['simulate_s']:.1f} s for "
                  f"{r['placed']:,} pods x {r['steps']} steps; extrapolated (linear in pod-steps, "
                  f"not measured) to {TARGET_PODS:,} x {TARGET_STEPS}: ~{full:,.0f} s "
                  f"({'within' if full <= TARGET_SECONDS else 'over'} {TARGET_SECONDS:.0f} s); "
                  f"peak RSS {gib(r['rss_peak_mib'])} GiB")  # fmt: skip
            continue
        print(f"  {r['kind']:<20} simulate <= {TARGET_SECONDS:.0f} s: {ok(t_ok)} "
              f"({r['simulate_s']:.1f} s; place+simulate {r['place_s'] + r['simulate_s']:.1f} s); "
              f"peak RSS <= {TARGET_RSS_GIB:.0f} GiB: {ok(m_ok)} ({gib(r['rss_peak_mib'])} GiB); "
              f"{r['pod_steps_per_s']:,.0f} pod-steps/s; hosts {r['hosts']:,} "
              f"({'<=' if r['hosts'] <= TARGET_HOSTS else '>'} {TARGET_HOSTS:,})")  # fmt: skip
    if ref is not None:
        print(f"  reference agreement: {'PASS' if ref_ok else 'FAIL'}")
    if args.profile:
        for r in ok_rows:
            print(f"\nprofile of {r['kind']} (cProfile, simulate_substrate only; stats in "
                  f"{args.profile}.{r['kind']}):\n{r.get('profile_tottime', '')}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "substrates": results,
                                               "reference": ref}, indent=1, default=str))  # fmt: skip
    return 0 if ref_ok else 1


if __name__ == "__main__":
    sys.exit(main())
