"""Sweep throughput: points per second with 1 and 2 local workers (and on Ray, if asked),
against the bare pipeline measured in the same run.

A grid of ``--points`` seeds (``seed: [0, 1, …]``) over an example scenario, each point a
full comparison (placement, replay, analyses, decision), run through ``run_sweep`` into
a fresh DuckDB file per configuration:

1. baseline: ``run_point`` on every job in a loop in this process, no results file — what
   the points cost without the sweep's machinery;
2. ``--workers 1``: the same points through ``run_sweep`` (in this process, each point
   committed to DuckDB as it ends): the ratio to the baseline is the store's overhead;
3. ``--workers 2``: a local process pool (fork server): the speed-up over one worker;
4. with ``--ray``: a Ray instance started here (``--ray local``), two CPUs: Ray's
   overhead per task is its time minus the pool's, per point.

Each configuration's file is checked to hold every point once (points × substrates ×
tenants rows). Run it niced, the machine is shared:

    nice .venv/bin/python benchmarks/sweep.py                      # edge-site, 8 points
    nice .venv/bin/python benchmarks/sweep.py --points 4 --ray
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from underlay.sweeps.grid import load_grid, points
from underlay.sweeps.points import jobs, run_point
from underlay.sweeps.run import SweepSpec, run_sweep

REPO = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    """CPU seconds of this process (not of pool or Ray workers: the fork server's children,
    or Ray's, are not this process's to reap, so they are printed as -)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def _sweep(spec: SweepSpec) -> tuple[float, float]:
    start, cpu = time.perf_counter(), _cpu()
    summary = run_sweep(spec)
    seconds = time.perf_counter() - start
    assert summary.ran == summary.points, summary
    with duckdb.connect(str(spec.db), read_only=True) as con:
        row = con.execute("SELECT count(*), count(DISTINCT point) FROM runs").fetchone()
    assert row is not None and row[0] == row[1] == summary.points, row
    return seconds, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REPO / "examples" / "edge-site.yaml")
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--ray", action="store_true", help="also on a local Ray instance")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grid = folder / "grid.yaml"
        grid.write_text(f"seed: [{', '.join(str(i) for i in range(args.points))}]\n")
        todo = jobs(args.scenario, load_grid(grid), points(load_grid(grid)))
        start, cpu = time.perf_counter(), _cpu()
        for job in todo:
            assert run_point(job).error is None
        base = time.perf_counter() - start
        rows = [("pipeline loop (no store)", (base, _cpu() - cpu))]
        configs: list[tuple[str, int, str | None]] = [
            ("sweep, 1 worker", 1, None),
            ("sweep, 2 local workers", 2, None),
        ]
        if args.ray:
            configs.append(("sweep, Ray local (2 CPUs)", 2, "local"))
        for k, (name, workers, ray) in enumerate(configs):
            db = folder / f"r{k}.duckdb"
            spec = SweepSpec(args.scenario, grid, db, workers=workers, ray=ray)
            rows.append((name, _sweep(spec)))
    print(f"{args.scenario.name}: {args.points} points (seed grid), each a full comparison")
    print(f"{'configuration':<28} {'seconds':>8} {'CPU s':>7} {'points/s':>9} {'vs loop':>8}")
    for k, (name, (seconds, cpu)) in enumerate(rows):
        shown = f"{cpu:7.2f}" if k < 2 else f"{'-':>7}"
        speed = args.points / seconds
        print(f"{name:<28} {seconds:8.2f} {shown} {speed:9.3f} {base / seconds:7.2f}x")
    one, two = rows[1][1][0], rows[2][1][0]
    store = (rows[1][1][1] - rows[0][1][1]) / args.points * 1000
    print(f"2 workers are {one / two:.2f}x 1 worker; the store costs {store:.0f} ms CPU a point")
    if args.ray:
        extra = (rows[3][1][0] - two) / args.points * 1000
        print(f"Ray vs the local pool: {extra:+.0f} ms a point (Ray's start-up included)")


if __name__ == "__main__":
    main()
