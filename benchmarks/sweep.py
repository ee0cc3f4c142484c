"""Sweep throughput: a 1,000-point sweep of the largest bundled example, points per second
with 1 and 2 local workers and on Ray's local instance, against the pipeline run point by
point (the previous engine: no shared evidence) measured in the same run.

The grid (``--grid weights``, the default) is what a team asks: 5 hypervisor overheads ×
2 seeds (10 different fleets to replay) × 100 weightings (cost, isolation, SLA) = 1,000
points. Points that differ only in their weights share one comparison, replay and
analysis (``underlay.sweeps.points``), so the sweep replays 10 fleets and decides 1,000
times. ``--grid seeds`` is the worst case, ``seed: [0, 1, …]``: every point its own fleet.

1. baseline: ``run_point`` (a full comparison, nothing shared) on the first
   ``--baseline`` points in this process, no results file: seconds a point before;
2. ``--workers 1``: every point through ``run_sweep`` in this process, each committed to
   a fresh DuckDB file as it ends;
3. ``--workers 2``: a local process pool (fork server);
4. ``--ray``: a Ray instance started here (``--ray local``, 2 CPUs). Ray's overhead per
   task is its time minus the pool's, divided by the tasks (Ray's start-up included).

Every file is checked to hold each point once, and its documents to equal the other
configurations' (and the baseline's, for the baseline points) byte for byte. The load
average is printed before and after: the machine is shared, run it niced:

    nice .venv/bin/python benchmarks/sweep.py --ray                 # 1,000 points, ~15 min
    nice .venv/bin/python benchmarks/sweep.py --points 100 --baseline 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from underlay.model.loading import load_scenario
from underlay.sweeps.grid import load_grid, points
from underlay.sweeps.points import jobs, run_point
from underlay.sweeps.run import SweepSpec, groups, run_sweep

REPO = Path(__file__).resolve().parents[1]

WEIGHTS_GRID = """\
overrides.hypervisors.kvm.cpu_overhead_percent: [3, 5, 8, 12, 16]
seed: [0, 1]
weights.cost: [0.5, 1, 2, 4, 8]
weights.isolation: [0.5, 1, 2, 4]
weights.sla: [0.5, 1, 2, 4, 8]
"""


def largest_example() -> tuple[Path, int]:
    """The bundled example with the most pods, and its pods."""
    sizes = []
    for path in sorted((REPO / "examples").glob("*.yaml")):
        sc = load_scenario(path)
        pods = sum(w.replicas for t in sc.tenants for c in t.clusters for w in c.workloads)
        sizes.append((pods, path.name, path))
    pods, _, path = max(sizes)
    return path, pods


def _cpu() -> float:
    """CPU seconds of this process (not of pool or Ray workers: the fork server's children,
    or Ray's, are not this process's to reap, so they are printed as -)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def _digests(db: Path) -> dict[int, str]:
    """Each point's document digest in ``db`` (each point there once)."""
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT point, md5(document) FROM runs ORDER BY point").fetchall()
    found = {int(p): str(d) for p, d in rows}
    assert len(found) == len(rows), "a point was committed twice"
    return found


def _sweep(spec: SweepSpec, count: int) -> tuple[float, float, dict[int, str]]:
    start, cpu = time.perf_counter(), _cpu()
    summary = run_sweep(spec)
    seconds = time.perf_counter() - start
    assert summary.ran == summary.points == count and summary.failed == 0, summary
    digests = _digests(spec.db)
    assert sorted(digests) == list(range(count)), "a point is missing"
    return seconds, _cpu() - cpu, digests


def _grid_text(kind: str, count: int) -> str:
    if kind == "seeds":
        return f"seed: [{', '.join(str(i) for i in range(count))}]\n"
    assert count == 1000, "--grid weights is the 1,000-point grid; --grid seeds for others"
    return WEIGHTS_GRID


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, help="default: the largest example")
    parser.add_argument("--grid", choices=("weights", "seeds"), default="weights")
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=20, help="points run one by one")
    parser.add_argument("--ray", action="store_true", help="also on a local Ray instance")
    parser.add_argument("--skip-one", action="store_true", help="leave out --workers 1")
    args = parser.parse_args()
    scenario, pods = (args.scenario, 0) if args.scenario else largest_example()
    load_before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        grid = folder / "grid.yaml"
        grid.write_text(_grid_text(args.grid, args.points))
        todo = jobs(scenario, load_grid(grid), points(load_grid(grid)))
        tasks = len(groups(todo, 2))  # as the pool and Ray (2 CPUs) run them
        run_point(todo[-1])  # warm: imports and caches, as a sweep's first point pays once
        start, cpu = time.perf_counter(), _cpu()
        base_docs = {}
        for job in todo[: args.baseline]:
            result = run_point(job)
            assert result.error is None and result.document is not None
            text = json.dumps(result.document, allow_nan=False)
            base_docs[job.index] = hashlib.md5(text.encode()).hexdigest()
        base = (time.perf_counter() - start) / args.baseline
        base_cpu = (_cpu() - cpu) / args.baseline
        configs: list[tuple[str, int, str | None]] = [
            ("sweep, 1 worker", 1, None),
            ("sweep, 2 local workers", 2, None),
        ]
        if args.skip_one:
            configs.pop(0)
        if args.ray:
            configs.append(("sweep, Ray local (2 CPUs)", 2, "local"))
        rows = []
        for k, (name, workers, ray) in enumerate(configs):
            spec = SweepSpec(scenario, grid, folder / f"r{k}.duckdb", workers=workers, ray=ray)
            seconds, cpu_s, digests = _sweep(spec, len(todo))
            assert all(digests[i] == d for i, d in base_docs.items()), f"{name}: not as alone"
            if rows:
                assert digests == rows[0][3], f"{name}: documents differ from {rows[0][0]}"
            rows.append((name, seconds, cpu_s, digests))
            print(f"  {name}: {seconds:.1f} s (load {_load()})", flush=True)
    shown = f"{scenario.name} ({pods} pods)" if pods else scenario.name
    print(f"{shown}: {len(todo)} points ({args.grid} grid), {tasks} tasks")
    print(f"load average (1/5/15 min) before: {load_before}, after: {_load()}")
    print(f"{'configuration':<34} {'seconds':>8} {'CPU s':>7} {'points/s':>9} {'vs before':>10}")
    print(
        f"{'before: run_point, ' + str(args.baseline) + ' points':<34} "
        f"{base * len(todo):8.0f} {base_cpu * len(todo):7.0f} {1 / base:9.3f} {1:9.2f}x"
        "   (extrapolated from s/point)"
    )
    for name, seconds, cpu_s, _ in rows:
        cpu_shown = f"{cpu_s:7.1f}" if "1 worker" in name else f"{'-':>7}"
        speed = len(todo) / seconds
        print(f"{name:<34} {seconds:8.1f} {cpu_shown} {speed:9.3f} {speed * base:9.2f}x")
    times = {name: seconds for name, seconds, _, _ in rows}
    one, two = times.get("sweep, 1 worker"), times["sweep, 2 local workers"]
    if one:
        print(f"2 workers are {one / two:.2f}x 1 worker")
    if args.ray:
        extra = times["sweep, Ray local (2 CPUs)"] - two
        print(
            f"Ray vs the local pool: {extra:+.1f} s, {extra / tasks * 1000:+.0f} ms a task, "
            f"{extra / len(todo) * 1000:+.1f} ms a point (Ray's start-up included)"
        )
    print("every configuration's documents equal, and equal to run_point's for the baseline")


if __name__ == "__main__":
    main()
