"""Failure Monte Carlo at fleet scale: time, memory and a per-event baseline, per substrate.

Issue target: host, rack and zone failures for a fleet of ~10,000 hosts, 1,000 trials,
on each substrate, in <= 30 s on a 2-core machine; printing peak memory and the ratio
against a plain per-event Python loop measured in the same process.

What it does, per substrate, in a fresh subprocess (``--one KIND``) so that ``ru_maxrss``
is that substrate's alone:

1. builds the placement benchmark's synthetic scenario (``benchmarks/placement.py``
   ``generate``, 50 pods a workload) sized so the substrate opens about ``--hosts``
   hosts: a pilot placement of ``--pilot-pods`` pods gives the substrate's pods per host,
   and the pod count is rescaled by the hosts each placement opened until it is within
   3 % (at most ``--refine`` rounds; dedicated hosts hold fewer pods than shared ones).
   Four zones, 40 hosts a rack as sized by placement (the generator's topology). The last
   generation and placement are timed and printed apart; they are not part of the
   Monte Carlo's time;
2. times ``analyse_failures`` (``--trials`` trials, everything: the per-domain costs, the
   draws, the matrix products, the per-tenant statistics), and apart from it
   ``failure_costs`` and ``lost_pod_hours`` (the Monte Carlo kernel);
3. the baseline: a plain Python loop over trials, domains and events (for each host:
   draw its count by inverse CDF from the same uniform, split it into hardware and
   software faults by the inverse binomial CDF of the kind stream's uniform, and add each
   kind's pod-hours per failure to each tenant of the host; for each rack and zone: its
   count times the pod-hours one failure costs each tenant; then each tenant's cap at its
   pods x the period), fed the same per-domain costs and the same uniform streams, on the
   first ``--loop-trials`` trials. Its result is checked against ``lost_pod_hours`` on
   the same trials (PASS/FAIL) and its time is extrapolated linearly to ``--trials``
   trials (an extrapolation, not a measurement);
4. a second, traced run of ``analyse_failures`` for the ``tracemalloc`` peak (the
   Monte Carlo's own NumPy/Python heap), next to the process's ``ru_maxrss`` (which
   includes the scenario and the placement).

    .venv/bin/python benchmarks/failures.py                         # ~10k hosts, all four
    .venv/bin/python benchmarks/failures.py --hosts 2000 --trials 200 --substrate vm

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binom, poisson

from underlay.analysis.failures import (
    HOURS_PER_YEAR,
    FailureCosts,
    analyse_failures,
    failure_costs,
    lost_pod_hours,
)
from underlay.defaults.catalog import FailureRates, load_defaults
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.pipeline import place as place_one

sys.path.insert(0, str(Path(__file__).resolve().parent))
from placement import generate, run_child

TARGET_SECONDS = 30.0
PODS_PER_WORKLOAD = 50


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def scenario_for(pods: int, args: argparse.Namespace) -> Scenario:
    data = generate(pods, max(1, pods // PODS_PER_WORKLOAD), args.tenants, args.seed)
    data["failures"] = {"trials": args.trials, "seed": args.seed}
    return Scenario.model_validate(data)


# ============================================================================ baseline
def python_loop(
    costs: FailureCosts, rates: FailureRates, *, trials: int, years: float, seed: int
) -> list[list[float]]:
    """The same Monte Carlo as plain Python, one event at a time (see the docstring)."""
    n_hosts, n_t = costs.pods.shape

    def rows(matrix: Any) -> list[list[tuple[int, float]]]:
        return [
            list(zip(matrix.indices[matrix.indptr[h] : matrix.indptr[h + 1]].tolist(),
                     matrix.data[matrix.indptr[h] : matrix.indptr[h + 1]].tolist(), strict=True))
            for h in range(n_hosts)
        ]  # fmt: skip

    software, hardware = rows(costs.host_cost["software"]), rows(costs.host_cost["hardware"])
    rack_cost, zone_cost = costs.rack_cost.tolist(), costs.zone_cost.tolist()
    mus = (rates.host_rate * years, rates.rack_rate * years, rates.zone_rate * years)
    share = rates.hardware_share
    cap = (np.asarray(costs.pods.sum(axis=0)).ravel() * years * HOURS_PER_YEAR).tolist()

    def table(mu: float) -> list[float]:
        return (
            poisson.cdf(np.arange(int(poisson.ppf(1 - 1e-12, mu)) + 1), mu).tolist()
            if mu > 0
            else []
        )

    tables = [table(mu) for mu in mus]

    def count(u: float, k: int) -> int:
        if mus[k] <= 0:
            return 0
        i = bisect.bisect_left(tables[k], u)
        return i if i < len(tables[k]) else int(poisson.ppf(u, mus[k]))

    splits: dict[int, list[float]] = {}

    def hard(n: int, u: float) -> int:  # inverse Binomial(n, share) CDF
        if n == 0 or share <= 0:
            return 0
        if share >= 1:
            return n
        if n not in splits:
            splits[n] = binom.cdf(np.arange(n), n, share).tolist()
        return bisect.bisect_left(splits[n], u)

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    lost = []
    for _ in range(trials):
        row = [0.0] * n_t
        host_u = streams[0].random(n_hosts).tolist()
        rack_u = streams[1].random(costs.racks).tolist()
        zone_u = streams[2].random(costs.zones).tolist()
        kind_u = streams[3].random(n_hosts).tolist()
        for h in range(n_hosts):
            n = count(host_u[h], 0)
            if not n:
                continue
            k = hard(n, kind_u[h])
            for t, c in software[h]:
                row[t] += (n - k) * c
            for t, c in hardware[h]:
                row[t] += k * c
        for domain_u, costs_d, k in ((rack_u, rack_cost, 1), (zone_u, zone_cost, 2)):
            for d, u in enumerate(domain_u):
                for _event in range(count(u, k)):
                    for t, c in enumerate(costs_d[d]):
                        row[t] += c
        lost.append([min(x, m) for x, m in zip(row, cap, strict=True)])
    return lost


# ============================================================================ one substrate
def run_one(args: argparse.Namespace) -> dict[str, Any]:
    kind = args.one
    t0 = time.perf_counter()
    pods, hosts = args.pilot_pods, 0
    for step in range(1 + args.refine):
        if step:
            pods = round(pods * args.hosts / max(hosts, 1))
        t1 = time.perf_counter()
        scenario = scenario_for(pods, args)
        defaults = load_defaults(scenario.overrides)
        t_gen = time.perf_counter() - t1
        t1 = time.perf_counter()
        placement = place_one(scenario, defaults, kind)
        t_place = time.perf_counter() - t1
        hosts = len(placement.hosts)
        if step and abs(hosts - args.hosts) <= 0.03 * args.hosts:
            break
    t_sizing = time.perf_counter() - t0 - t_gen - t_place
    gc.collect()

    t0 = time.perf_counter()
    result = analyse_failures(scenario, defaults, placement)
    t_total = time.perf_counter() - t0
    t0 = time.perf_counter()
    costs = failure_costs(scenario, defaults, placement)
    t_costs = time.perf_counter() - t0
    years, seed = scenario.failures.years, result.seed
    t0 = time.perf_counter()
    lost_pod_hours(costs, defaults.failures, trials=args.trials, years=years, seed=seed)
    t_mc = time.perf_counter() - t0

    n_loop = min(args.loop_trials, args.trials)
    t0 = time.perf_counter()
    loop = np.array(python_loop(costs, defaults.failures, trials=n_loop, years=years, seed=seed))
    t_loop = time.perf_counter() - t0
    vec = lost_pod_hours(costs, defaults.failures, trials=n_loop, years=years, seed=seed)
    diff = float(np.abs(loop - vec).max()) if loop.size else 0.0
    rss_peak = rss_mib()

    gc.collect()
    tracemalloc.start()
    analyse_failures(scenario, defaults, placement)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    tenants = result.tenants
    with_pods = [t for t in tenants if t.pods]
    return {
        "kind": kind,
        "sizing_s": t_sizing,
        "generate_s": t_gen,
        "place_s": t_place,
        "pods": pods,
        "placed": int(placement.placed.sum()),
        "hosts": result.hosts,
        "racks": result.racks,
        "zones": result.zones,
        "trials": result.trials,
        "analyse_s": t_total,
        "costs_s": t_costs,
        "mc_s": t_mc,
        "loop_trials": n_loop,
        "loop_s": t_loop,
        "loop_extrapolated_s": t_loop * args.trials / max(n_loop, 1),
        "loop_max_diff": diff,
        "loop_ok": bool(np.allclose(loop, vec, rtol=1e-9, atol=1e-9)),
        "rss_peak_mib": rss_peak,
        "traced_peak_mib": traced_peak / 2**20,
        "touched_mean": result.tenants_touched_mean,
        "touched_max": result.tenants_touched_max,
        "host_restartable": result.host_failures_restartable,
        "hardware_share": result.host_failures_hardware_share,
        "stranded_mean": float(np.mean([t.pods_stranded_per_host_failure for t in with_pods]))
        if with_pods
        else 0.0,
        "rack_restartable": result.rack_failures_restartable,
        "headroom_host": result.headroom_hosts_host,
        "headroom_rack": result.headroom_hosts_rack,
        "headroom_model": result.headroom_model,
        "worst_mean_pct": 100 * min((t.availability_mean for t in with_pods), default=1.0),
        "worst_p5_pct": 100 * min((t.availability_p5 for t in with_pods), default=1.0),
        "min_sla_prob": min((t.sla_probability for t in with_pods), default=1.0),
    }


def spawn_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", kind,
           "--hosts", str(args.hosts), "--trials", str(args.trials),
           "--tenants", str(args.tenants), "--seed", str(args.seed),
           "--pilot-pods", str(args.pilot_pods), "--refine", str(args.refine),
           "--loop-trials", str(args.loop_trials)]  # fmt: skip
    return run_child(kind, cmd, args.timeout)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--hosts", type=int, default=10_000, help="hosts to aim the fleet at")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pilot-pods", type=int, default=100_000)
    ap.add_argument("--refine", type=int, default=3, help="rounds that rescale the pods")
    ap.add_argument("--loop-trials", type=int, default=20, help="trials of the Python loop")
    ap.add_argument("--substrate", action="append", choices=SUBSTRATE_KINDS,
                    help="substrate(s) to run (default: all four)")  # fmt: skip
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per substrate")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help="also write all results to this JSON file")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args)))
        return 0

    kinds = args.substrate or list(SUBSTRATE_KINDS)
    print(f"underlay failure benchmark: ~{args.hosts:,} hosts, {args.trials:,} trials, "
          f"{args.tenants} tenants, seed {args.seed}; python {sys.version.split()[0]}, "
          f"numpy {np.__version__}; {len(os.sched_getaffinity(0))} cores")  # fmt: skip
    rows = []
    for kind in kinds:
        print(f"  {kind}: placing + Monte Carlo ...", flush=True)
        r = spawn_one(kind, args)
        rows.append(r)
        if "error" in r:
            print(f"    {r['error']}", flush=True)
        else:
            print(f"    {r['hosts']:,} hosts ({r['placed']:,} pods) placed in {r['place_s']:.1f} s "
                  f"(not counted); Monte Carlo {r['analyse_s']:.2f} s", flush=True)  # fmt: skip
    ok = [r for r in rows if "error" not in r]
    if ok:
        head = (f"{'substrate':<20} {'hosts':>6} {'racks':>5} {'pods':>9} {'place s':>7} "
                f"{'analyse s':>9} {'costs s':>7} {'MC s':>6} {'traced MiB':>10} {'RSS MiB':>7} "
                f"{'loop s (n)':>12} {'loop @N s':>9} {'ratio':>7} {'check':>5}")  # fmt: skip
        print("\n" + head + "\n" + "-" * len(head))
        for r in ok:
            print(f"{r['kind']:<20} {r['hosts']:>6,} {r['racks']:>5} {r['placed']:>9,} "
                  f"{r['place_s']:>7.1f} {r['analyse_s']:>9.2f} {r['costs_s']:>7.2f} "
                  f"{r['mc_s']:>6.2f} {r['traced_peak_mib']:>10.1f} {r['rss_peak_mib']:>7.0f} "
                  f"{r['loop_s']:>8.2f} ({r['loop_trials']}) {r['loop_extrapolated_s']:>9.0f} "
                  f"{r['loop_extrapolated_s'] / r['mc_s']:>6.0f}x "
                  f"{'PASS' if r['loop_ok'] else 'FAIL':>5}")  # fmt: skip
        print("(analyse s = analyse_failures, all of it; costs s = failure_costs; MC s = "
              "lost_pod_hours, the kernel; traced = tracemalloc peak of analyse_failures; "
              "RSS = ru_maxrss of the substrate's process, scenario and placement included; "
              "loop = the plain per-event Python loop on its first n trials, same uniforms, "
              "checked against the kernel (PASS: equal to 1e-9); loop @N = its time scaled "
              "linearly to all trials — an extrapolation, not a measurement; ratio = loop @N "
              "/ MC s)")  # fmt: skip
        print(f"\n{'substrate':<20} {'touched mean/max':>16} {'host ok':>7} {'rack ok':>7} "
              f"{'hw %':>5} {'stranded':>8} "
              f"{'headroom host/rack':>18} {'model':>8} {'worst mean %':>12} {'worst p5 %':>10} "
              f"{'min P(SLA)':>10}")  # fmt: skip
        for r in ok:
            print(f"{r['kind']:<20} {r['touched_mean']:>9.2f} / {r['touched_max']:<4} "
                  f"{r['host_restartable']:>7.2f} {r['rack_restartable']:>7.2f} "
                  f"{100 * r['hardware_share']:>5.1f} {r['stranded_mean']:>8.2f} "
                  f"{r['headroom_host']:>9} / {r['headroom_rack']:<6} {r['headroom_model']:>8} "
                  f"{r['worst_mean_pct']:>12.4f} {r['worst_p5_pct']:>10.4f} "
                  f"{r['min_sla_prob']:>10.3f}")  # fmt: skip
        print("(host ok / rack ok = share of host / rack failures whose pods all restart "
              "elsewhere by the rules; hw % = host failures that were hardware in the trials; "
              "stranded = pods of a tenant with nowhere allowed to restart per failure of one "
              "of its hosts, mean over tenants)")  # fmt: skip
        worst = max(r["analyse_s"] for r in ok)
        print(f"\ntarget <= {TARGET_SECONDS:.0f} s per substrate (analyse_failures): worst "
              f"{worst:.2f} s, total {sum(r['analyse_s'] for r in ok):.2f} s -> "
              f"{'met' if worst <= TARGET_SECONDS else 'NOT met'}; per-event loop check: "
              f"{'PASS' if all(r['loop_ok'] for r in ok) else 'FAIL'}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0 if ok and len(ok) == len(rows) and all(r["loop_ok"] for r in ok) else 1


if __name__ == "__main__":
    sys.exit(main())
