"""The partitioned replay at fleet scale: 1 worker against 2 (or more), and the equality check.

Issue 15, item 3: once placement is fixed the replay of one large fleet splits by groups
of whole hosts across local processes (or Ray actors) with results identical to the
single-process run. For each substrate, in this process:

1. the scenario of ``benchmarks/simulate.py`` (``scenario_dict``: ``placement.py``'s
   ``generate`` plus its usage models; same arguments, same seed), placed once;
2. ``simulate_substrate`` (the engine, one process) timed;
3. ``replay_placement`` with ``--workers`` local processes (default 2) timed, and, with
   ``--ray``, on a local Ray instance of as many CPUs;
4. every figure of the two ``SubstrateSimulation`` compared exactly (``seconds`` aside):
   ``equal`` is yes only if every float and array element is the same;
5. the usage draws of the whole fleet (``ChunkDrawer.draw``: the parent draws every chunk
   once, into shared memory the workers read in place; see
   ``underlay.simulation.partition``), their CPU time in the parent.

Prints per substrate: placed pods, steps, blocks, 1-worker s, N-worker s, speed-up
(1-worker s ÷ N-worker s), CPU seconds of each, the parent's draws s, equal.

    .venv/bin/python benchmarks/partition.py                             # 1M pods x 288 steps
    nice .venv/bin/python benchmarks/partition.py --hours 168 --substrate vm   # x 2,016
    .venv/bin/python benchmarks/partition.py --pods 100000 --workloads 2000 --ray
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replay_baseline.compare import differences
from simulate import fleet_arguments, scenario_dict
from underlay.defaults.catalog import load_defaults
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.pipeline import place as place_one
from underlay.simulation.engine import simulate_substrate
from underlay.simulation.partition import ChunkDrawer, GroupTotals, simulate_groups
from underlay.simulation.partition_groups import block_work, split_blocks
from underlay.simulation.partition_workers import LOCAL, RaySession, process_groups


def run_kind(
    kind: str, scenario: Scenario, defaults: Any, args: argparse.Namespace
) -> dict[str, Any]:
    t0 = time.perf_counter()
    placement = place_one(scenario, defaults, kind)
    place_s = time.perf_counter() - t0
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    one = simulate_substrate(scenario, defaults, placement)
    one_s, one_cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.collect()
    workers_cpu: list[float] = []
    parent_draws: list[float] = []

    def runner(jobs: list[Any], drawer: ChunkDrawer) -> Any:
        for message in process_groups(jobs, drawer):
            if isinstance(message, GroupTotals):
                workers_cpu.append(message.cpu_seconds)
            yield message
        parent_draws.append(drawer.cpu_seconds)

    t0, c0 = time.perf_counter(), time.process_time()
    many = simulate_groups(scenario, defaults, placement, groups=args.workers, runner=runner)
    many_s, parent_cpu = time.perf_counter() - t0, time.process_time() - c0
    diffs = differences(one, many)
    out: dict[str, Any] = {
        "kind": kind,
        "placed": int(placement.placed.sum()),
        "steps": one.steps,
        "place_s": place_s,
        "one_s": one_s,
        "many_s": many_s,
        "one_cpu": one_cpu,
        "parent_cpu": parent_cpu,
        "worker_cpu": max(workers_cpu or [0.0]),
        "parent_draws": sum(parent_draws),
        "load": os.getloadavg()[0],
        "diffs": diffs,
    }
    from underlay.simulation.engine import prepare_replay

    blocks = prepare_replay(scenario, defaults, placement, seed=None).blocks
    out["blocks"] = len(blocks)
    out["groups"] = len(split_blocks([block_work(b) for b in blocks], args.workers))
    if args.ray:
        with RaySession(LOCAL, args.workers) as ray:
            t0 = time.perf_counter()
            on_ray = simulate_groups(scenario, defaults, placement, groups=args.workers, runner=ray)
            out["ray_s"] = time.perf_counter() - t0
        out["diffs"] += [f"ray {d}" for d in differences(one, on_ray)]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    fleet_arguments(ap, hours=24.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--ray", action="store_true", help="also on a local Ray instance")
    ap.add_argument(
        "--substrate",
        action="append",
        choices=SUBSTRATE_KINDS,
        help="substrate(s) to run (default: all four)",
    )
    args = ap.parse_args()
    scenario = Scenario.model_validate(scenario_dict(args))
    defaults = load_defaults(scenario.overrides)
    gc.collect()
    gc.freeze()
    print(
        f"partitioned replay benchmark: pods={args.pods:,} hours={args.hours:g} "
        f"({scenario.simulation.steps} steps) workers={args.workers} seed={args.seed}; "
        f"python {sys.version.split()[0]}, numpy {np.__version__}; "
        f"{len(os.sched_getaffinity(0))} cores",
        flush=True,
    )
    ray_col = f" {'Ray s':>7}" if args.ray else ""
    head = (
        f"{'substrate':<20} {'placed':>9} {'steps':>5} {'blocks':>6} {'1 worker s':>10} "
        f"{f'{args.workers} workers s':>11} {'speed-up':>8}{ray_col} {'1 CPU s':>7} "
        f"{'worker CPU s':>12} {'parent CPU s':>12} {'CPU ratio':>9} {'draws s':>7} "
        f"{'load':>5} {'equal':>5}"
    )
    print(head + "\n" + "-" * len(head), flush=True)
    rows = []
    for kind in args.substrate or list(SUBSTRATE_KINDS):
        r = run_kind(kind, scenario, defaults, args)
        rows.append(r)
        ray_cell = f" {r['ray_s']:>7.1f}" if args.ray else ""
        critical = max(r["worker_cpu"], r["parent_cpu"])
        print(
            f"{r['kind']:<20} {r['placed']:>9,} {r['steps']:>5} {r['blocks']:>6} "
            f"{r['one_s']:>10.1f} {r['many_s']:>11.1f} {r['one_s'] / r['many_s']:>7.2f}x"
            f"{ray_cell} {r['one_cpu']:>7.1f} {r['worker_cpu']:>12.1f} {r['parent_cpu']:>12.1f} "
            f"{r['one_cpu'] / max(critical, 1e-9):>8.2f}x {r['parent_draws']:>7.1f} {r['load']:>5.1f} "
            f"{'yes' if not r['diffs'] else 'NO':>5}",
            flush=True,
        )
        for d in r["diffs"][:5]:
            print(f"    differs: {d}")
    print(
        "(speed-up = 1 worker s / N workers s, wall clock; CPU ratio = 1 worker's CPU s / the "
        "busiest process's CPU s of the N-worker run (the speed-up with a core each); draws s "
        "= the parent's CPU s drawing the whole fleet's usage, once for every worker (included in parent "
        "CPU s); load = the 1-minute "
        "load average at the end; equal = every figure identical)"
    )
    return 0 if all(not r["diffs"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
