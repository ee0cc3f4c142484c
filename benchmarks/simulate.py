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
3. the reference (``benchmarks/reference/event_sim.py``, needs ``simpy``): a per-pod,
   per-step Python implementation of the same model with exact water-filling, driven as
   SimPy processes (one per host), on a small case (``--ref-pods`` 200 pods on hosts of
   ``--ref-host-cores`` 8 cores, 7-35 hosts by substrate, ``--ref-hours`` 24 = 288 steps;
   hotter usage and ``--ref-vm-overcommit`` 3 so that unmet CPU, CPU-ready, OOM kills and
   evictions all occur) on every substrate, fed exactly the demand ``UsageSampler``
   draws. Compares per-tenant demand / granted / unmet / throttled / killed core-hours,
   CPU-ready, OOM kills and evictions against ``simulate_substrate`` (PASS/FAIL), shows
   what stopping the water-filling after 3 rounds would change, times both and
   extrapolates the reference to the full size (an extrapolation, linear in pod-steps);
4. prints the tables and whether each target is met.

    .venv/bin/python benchmarks/simulate.py                               # 1M pods, all substrates
    .venv/bin/python benchmarks/simulate.py --pods 100000 --workloads 2000
    .venv/bin/python benchmarks/simulate.py --substrate vm --profile /tmp/sim.prof --no-reference

Not part of the test suite.
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
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.placement.result import WORKER
from underlay.placement.substrates import place_substrate
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


def scenario_dict(args: argparse.Namespace) -> dict[str, Any]:
    data = generate(args.pods, args.workloads, args.tenants, args.seed)
    return add_usage(data, args.seed, hours=args.hours, vm_overcommit=args.vm_overcommit)


def small_dict(args: argparse.Namespace) -> dict[str, Any]:
    """The reference's small case: same generator, smaller hosts (so there are ~20)."""
    data = generate(args.ref_pods, args.ref_workloads, args.ref_tenants, args.seed)
    for t in data["tenants"]:  # pods that fit the small hosts
        for c in t["clusters"]:
            for w in c["workloads"]:
                cpu = w["requests"]["cpu"]
                milli = int(cpu.rstrip("m")) if cpu.endswith("m") else int(cpu) * 1000
                if milli > 2000:
                    w["requests"]["cpu"] = "2000m"
    cores = args.ref_host_cores
    data["hardware"]["host_models"][0].update(cores=cores, memory=f"{cores * 8}Gi")
    # Hotter than the big case, so every path of the model (unmet on shared kernels,
    # CPU-ready, OOM kills, evictions) has something to compare.
    return add_usage(
        data,
        args.seed,
        hours=args.ref_hours,
        vm_overcommit=args.ref_vm_overcommit,
        heat=1.3,
        leak=0.2,
        pressure=0.3,
    )


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
    rss_before = rss_mib()
    t0 = time.perf_counter()
    placement = place_substrate(scenario, defaults, kind)
    t_place = time.perf_counter() - t0
    rss_place = rss_mib()
    gc.collect()

    prof = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    sim = simulate_substrate(scenario, defaults, placement)
    if prof:
        prof.disable()
    t_sim = time.perf_counter() - t0
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
        **measures(sim),
    }
    if prof:
        prof.dump_stats(args.profile)
        for sort in ("tottime", "cumulative"):
            buf = io.StringIO()
            pstats.Stats(prof, stream=buf).sort_stats(sort).print_stats(args.profile_top)
            out[f"profile_{sort}"] = buf.getvalue()
    return out


def spawn_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", kind,
           "--pods", str(args.pods), "--workloads", str(args.workloads),
           "--tenants", str(args.tenants), "--seed", str(args.seed),
           "--hours", str(args.hours), "--vm-overcommit", str(args.vm_overcommit)]  # fmt: skip
    if args.profile:
        cmd += ["--profile", f"{args.profile}.{kind}", "--profile-top", str(args.profile_top)]
    return run_child(kind, cmd, args.timeout)


# ============================================================================ reference
REF_CH = ("demand", "granted", "unmet", "throttled", "ready", "killed")
REF_COUNTS = ("oom", "evict")


def engine_tenants(sim: Any) -> dict[str, np.ndarray]:
    """simulate_substrate's per-tenant figures in the reference's units (core-hours)."""
    ts = sim.tenants
    within = np.array([t.demand_core_hours - t.throttled_core_hours for t in ts])
    return {
        "demand": np.array([t.demand_core_hours for t in ts]),
        "granted": np.array([t.granted_core_hours for t in ts]),
        "unmet": np.array([t.unmet_core_hours for t in ts]),
        "throttled": np.array([t.throttled_core_hours for t in ts]),
        "ready": np.array([t.cpu_ready_percent for t in ts]) / 100.0 * within,
        "killed": np.array([getattr(t, "killed_core_hours", 0.0) for t in ts]),
        "oom": np.array([t.oom_kills for t in ts], float),
        "evict": np.array([t.evictions for t in ts], float),
    }


def compare(eng: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, Any]:
    """Max abs / rel differences per measure, and the worst difference relative to each
    tenant's demand within limits (the scale the tolerance is set on)."""
    within = np.maximum(ref["demand"] - ref["throttled"], 1e-9)
    out: dict[str, Any] = {}
    for key in REF_CH + REF_COUNTS:
        d = np.abs(eng[key] - ref[key])
        rel = d / np.maximum(np.abs(ref[key]), 1e-9)
        rel[d == 0] = 0.0
        out[key] = {"abs": float(d.max()), "rel": float(rel.max()),
                    "of_within": float((d / within).max()),
                    "total_eng": float(eng[key].sum()), "total_ref": float(ref[key].sum())}  # fmt: skip
    return out


def reference(args: argparse.Namespace) -> dict[str, Any]:
    """Engine vs per-event reference on the small case, every substrate."""
    try:
        import simpy  # noqa: F401
    except ImportError:
        return {"skipped": "simpy is not installed (it is a benchmark-only dependency): "
                           "`.venv/bin/pip install simpy` to run the reference comparison"}  # fmt: skip
    from reference import event_sim

    scenario = Scenario.model_validate(small_dict(args))
    defaults = load_defaults(scenario.overrides)
    steps = scenario.simulation.steps
    to_ch = scenario.simulation.step_minutes / 60.0 / 1000.0
    rows = []
    for kind in SUBSTRATE_KINDS:
        placement = place_substrate(scenario, defaults, kind)
        placed = int(placement.placed.sum())
        eng_s = []
        for _ in range(args.ref_repeat):  # best of N (the engine's time is short)
            t0 = time.perf_counter()
            sim = simulate_substrate(scenario, defaults, placement)
            eng_s.append(time.perf_counter() - t0)
        eng = engine_tenants(sim)

        t0 = time.perf_counter()
        pods = pod_table(scenario, placement.workloads)
        sampler = UsageSampler(scenario, placement.workloads, pods)
        parts = [
            sampler.chunk(s, min(steps, s + CHUNK_STEPS)) for s in range(0, steps, CHUNK_STEPS)
        ]
        cpu = np.concatenate([c for c, _ in parts], axis=1)
        # Memory without a trace is one column per chunk (the same every step): widen it.
        mem = np.concatenate([np.broadcast_to(m, c.shape) for c, m in parts], axis=1)
        t_sample = time.perf_counter() - t0
        t0 = time.perf_counter()
        model = event_sim.build(scenario, defaults, placement)
        exact = event_sim.run(model, cpu, mem)
        t_ref = time.perf_counter() - t0 + t_sample
        three = event_sim.run(model, cpu, mem, rounds=3)  # the old truncation, for scale

        def conv(acc: dict[str, list[float]]) -> dict[str, np.ndarray]:
            return {k: np.asarray(acc[k]) * (to_ch if k in REF_CH else 1.0) for k in acc}

        ref_exact, ref_three = conv(exact), conv(three)
        rows.append({
            "kind": kind, "placed": placed, "hosts": len(model.hosts),
            "kernels": sum(len(h.kernels) for h in model.hosts), "steps": steps,
            "engine_s": min(eng_s), "ref_s": t_ref, "ref_sample_s": t_sample,
            "exact": compare(eng, ref_exact), "rounds3": compare(ref_three, ref_exact),
            "totals": {k: float(ref_exact[k].sum()) for k in ref_exact},
            "unmet_pct": 100 * float(ref_exact["unmet"].sum())
            / max(float((ref_exact["demand"] - ref_exact["throttled"]).sum()), 1e-9),
        })  # fmt: skip
    return {"rows": rows, "pods": args.ref_pods, "steps": steps}


# ============================================================================ report
def gib(mib: float) -> str:
    return f"{mib / 1024:.2f}"


def ok(flag: bool) -> str:
    return "yes" if flag else "NO"


# Tolerances (see benchmarks/README.md). underlay water-fills until nothing is left to
# hand out (since fbe0bc0; it stopped after ROUNDS = 3 before), like the reference, so
# the two differ only by arithmetic: the engine works in float32 (7 significant digits)
# and stops handing out below 1e-3 millicores of free CPU per kernel and step, the
# reference in float64 to 1e-9. Over a tenant's few hundred pod-steps that is far below
# 1e-4 of its demand; a modelling difference (a wrong eviction, a missed round, the
# wrong host capacity) shows up at 1e-3 or more.
# - demand, throttled (rel 1e-4); OOM kills and evictions: equal;
# - granted / unmet / CPU-ready / killed: |difference| <= 1e-4 x the tenant's demand
#   within limits.
TOL_EXACT_REL = 1e-4
TOL_OF_WITHIN = 1e-4


def verdict(cmp: dict[str, Any]) -> tuple[bool, list[str]]:
    bad = []
    for key in ("demand", "throttled"):
        if cmp[key]["rel"] > TOL_EXACT_REL:
            bad.append(f"{key} rel {cmp[key]['rel']:.2e}")
    for key in REF_COUNTS:
        if cmp[key]["abs"] > 0:
            bad.append(f"{key} differs by {cmp[key]['abs']:.0f}")
    for key in ("granted", "unmet", "ready", "killed"):
        if cmp[key]["of_within"] > TOL_OF_WITHIN:
            bad.append(f"{key} {cmp[key]['of_within']:.2%} of demand within limits")
    return not bad, bad


def print_reference(ref: dict[str, Any], ok_rows: list[dict[str, Any]]) -> bool:
    if "skipped" in ref:
        print(f"\nreference: SKIPPED — {ref['skipped']}")
        return True
    rows = ref["rows"]
    r0 = rows[0]
    print(f"\nreference comparison (small case: {ref['pods']} pods, {ref['steps']} steps; "
          f"per-event SimPy reference with exact water-filling vs simulate_substrate):")  # fmt: skip
    head = (f"  {'substrate':<20} {'pods':>5} {'hosts':>5} {'kern':>4} {'unmet %':>7} "
            f"{'granted d':>10} {'unmet d':>10} {'ready d':>10} {'killed d':>10} {'thr rel':>8} "
            f"{'oom/ev d':>8} {'verdict':>7}")  # fmt: skip
    print(head + "\n  " + "-" * (len(head) - 2))
    all_ok = True
    for r in rows:
        e = r["exact"]
        ok_e, bad_e = verdict(e)
        all_ok &= ok_e
        print(f"  {r['kind']:<20} {r['placed']:>5} {r['hosts']:>5} {r['kernels']:>4} "
              f"{r['unmet_pct']:>7.3f} {e['granted']['of_within']:>10.2e} "
              f"{e['unmet']['of_within']:>10.2e} {e['ready']['of_within']:>10.2e} "
              f"{e['killed']['of_within']:>10.2e} {e['throttled']['rel']:>8.1e} "
              f"{int(e['oom']['abs']):>3}/{int(e['evict']['abs']):<4} "
              f"{'PASS' if ok_e else 'FAIL':>7}")  # fmt: skip
        for b in bad_e:
            print(f"      FAIL: {b}")
    print("  (d = max over tenants of |engine - reference| / the tenant's demand within limits; "
          "thr rel = max relative difference of throttled core-hours; oom/ev d = max difference "
          "in kill counts; unmet % = contention only, killed pods apart)")  # fmt: skip
    print("  totals, engine vs reference, and the max relative difference per tenant:")
    for r in rows:
        e = r["exact"]
        print(f"    {r['kind']:<20} " + ", ".join(
            f"{k} {e[k]['total_eng']:.1f} vs {e[k]['total_ref']:.1f} (rel {e[k]['rel']:.1e})"
            for k in ("granted", "unmet", "ready", "killed") if e[k]["total_ref"] > 1e-6
        ) + f"; OOM kills {e['oom']['total_eng']:.0f} vs {e['oom']['total_ref']:.0f}, "
            f"evictions {e['evict']['total_eng']:.0f} vs {e['evict']['total_ref']:.0f}")  # fmt: skip
    print("  what stopping after 3 water-filling rounds (underlay before fbe0bc0) changes, "
          "reference exact vs 3 rounds, max over tenants of |d unmet| / demand within limits: "
          + ", ".join(f"{r['kind']} {r['rounds3']['unmet']['of_within']:.1e}" for r in rows))  # fmt: skip
    print(f"  verdict: {'PASS' if all_ok else 'FAIL'} (tolerances: demand / throttled rel "
          f"{TOL_EXACT_REL:g}; kill counts equal; granted / unmet / ready / killed within "
          f"{TOL_OF_WITHIN:g} of the tenant's demand within limits)")  # fmt: skip

    eng = sum(r["engine_s"] for r in rows)
    refs = sum(r["ref_s"] for r in rows)
    ps = sum(r["placed"] * r["steps"] for r in rows)
    print(f"\n  speed on the small case ({r0['steps']} steps; engine best of several runs, "
          f"reference incl. drawing the same usage):")  # fmt: skip
    for r in rows:
        pss = r["placed"] * r["steps"]
        print(f"    {r['kind']:<20} engine {r['engine_s']:7.3f} s ({pss / r['engine_s']:>10,.0f} "
              f"pod-steps/s)   reference {r['ref_s']:7.2f} s ({pss / r['ref_s']:>8,.0f} pod-steps/s)"
              f"   {r['ref_s'] / r['engine_s']:6.1f}x")  # fmt: skip
    print(f"  vectorised engine is {refs / eng:.1f}x the per-event reference on the small case "
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


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pods", type=int, default=1_000_000)
    ap.add_argument("--workloads", type=int, default=20_000)
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--hours", type=float, default=168.0, help="horizon (5-minute steps)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vm-overcommit", type=float, default=1.5, help="cpu_overcommit of vm")
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
    if ref is not None and "skipped" not in ref:
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
