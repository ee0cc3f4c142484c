"""``underlay import prometheus`` at scale: a week of 5-minute usage of ``--pods`` pods
(10,000 by default) from a real Prometheus (Debian's, filled by ``promtool tsdb
create-blocks-from openmetrics``, as in tests/importers/test_prometheus.py).

Pods come in workloads of 5 in 20 namespaces; every fourth workload is rolled out on day
3 (its 5 pods replaced one at a time), so the import folds every 25 pods into 20 replicas (plus one surge slot per
rolled workload).

Measured in one process, in this order:

1. baseline: fetch and parse only: the importer's two range queries (CPU rate and memory),
   in the same chunks, with ``requests`` and ``json`` (no checks, no arrays);
2. the import: every query, the join, the folding, the scenario and its trace written.

Printed: wall time of each and their ratio, and the process's peak RSS after each (the
peak is process-wide and only grows, so the second figure is the larger of the two).
Building the TSDB is set-up, timed apart. Run: ``nice python benchmarks/prometheus_import.py
[--pods N]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from prom_server import STEP_S, WEEK_STEPS, FakePod, Fixture, missing_reason, serve
from underlay.importers.prometheus import connection, prometheus_import
from underlay.importers.prometheus.client import MAX_POINTS, SAMPLES_PER_CHUNK
from underlay.importers.prometheus.queries import cpu_query, memory_query
from underlay.importers.trace_import import write_import

PER_WORKLOAD = 5
NAMESPACES = 20
ROLLOUT = 3 * 288 + 50


def fixture(pods: int, start_s: int) -> tuple[Fixture, str]:
    """The pods (about ``pods`` over the week) and the scenario YAML of their workloads."""
    out: list[FakePod] = []
    replicasets: dict[tuple[str, str], str] = {}
    by_ns: dict[str, list[str]] = {}
    w = 0
    while len(out) < pods:
        ns, name = f"team-{w % NAMESPACES:02d}", f"svc-{w:05d}"
        rolled = w % 4 == 3
        for rs_i, (first, last) in enumerate(
            [(0, ROLLOUT + 1), (ROLLOUT, WEEK_STEPS)] if rolled else [(0, WEEK_STEPS)]
        ):
            rs = f"{name}-{'5d8f7c9b4' if rs_i == 0 else '6b7c8d9f2'}"
            replicasets[(ns, rs)] = name
            for i in range(PER_WORKLOAD):
                shift = 2 * i if rolled else 0  # one at a time
                out.append(
                    FakePod(
                        ns,
                        f"{rs}-p{i:03d}",
                        "ReplicaSet",
                        rs,
                        first + (shift if rs_i else 0),
                        min(WEEK_STEPS, last + (shift if not rs_i else 0)) if rolled else last,
                        cpu_per_day=(0.1 + 0.01 * (w % 7), 0.2),
                        memory_mib=128 + (w % 5) * 64,
                    )
                )
        by_ns.setdefault(ns, []).append(name)
        w += 1
    tenants = "".join(
        f"  - name: {ns}\n    workloads:\n"
        + "".join(
            f"      - {{name: {n}, replicas: {PER_WORKLOAD}, "
            "requests: {cpu: 250m, memory: 512Mi}}\n"
            for n in names
        )
        for ns, names in sorted(by_ns.items())
    )
    scenario = (
        "name: bench\nhardware:\n  host_models:\n    - {name: std, cores: 64, memory: 256Gi}\n"
        f"tenants:\n{tenants}"
    )
    return Fixture(start_s, out, replicasets, pod_level=False), scenario


def baseline(url: str, series: int, start_s: float) -> int:
    """Fetch and parse the two range queries, chunked like the importer; samples seen."""
    points = WEEK_STEPS + 1
    per_chunk = max(1, min(MAX_POINTS, SAMPLES_PER_CHUNK // series, points))
    samples = 0
    with requests.Session() as session:
        for query in (cpu_query(STEP_S), memory_query()):
            for first in range(0, points, per_chunk):
                last = min(points, first + per_chunk) - 1
                params = {
                    "query": query,
                    "start": f"{start_s + first * STEP_S:.3f}",
                    "end": f"{start_s + last * STEP_S:.3f}",
                    "step": str(STEP_S),
                }
                answer = session.get(f"{url}/api/v1/query_range", params=params, timeout=600)
                data = answer.json()
                samples += sum(len(s["values"]) for s in data["data"]["result"])
    return samples


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=10_000, help="pods over the week")
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    start = int(time.time()) // STEP_S * STEP_S - 2 * 3600 - WEEK_STEPS * STEP_S
    fix, scenario_text = fixture(args.pods, start)
    with tempfile.TemporaryDirectory(prefix="prom-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        with serve(fix, folder / "server", timeout_s=1800) as url:
            setup = time.perf_counter() - t0
            print(
                f"{len(fix.pods):,} pods, week of {WEEK_STEPS + 1:,} steps; TSDB set-up {setup:.1f} s"
            )
            t0 = time.perf_counter()
            samples = baseline(url, len(fix.pods), start)
            base = time.perf_counter() - t0
            base_rss = _rss_mib()
            print(
                f"baseline fetch+parse: {base:.1f} s, {samples:,} samples, peak RSS {base_rss:.0f} MiB"
            )
            scenario = folder / "bench.yaml"
            scenario.write_text(scenario_text, encoding="utf-8")
            t0 = time.perf_counter()
            result = prometheus_import(
                scenario,
                connection(url, timeout_s=600),
                trace_file="week.trace.csv",
                range_s=7 * 86400,
                step_s=STEP_S,
                end_s=fix.end_s,
            )
            fetched = time.perf_counter() - t0
            write_import(folder / "week.yaml", result)
            took = time.perf_counter() - t0
            print(
                f"import: {took:.1f} s ({took / base:.2f}x the baseline; of which writing the "
                f"trace {took - fetched:.1f} s), peak RSS {_rss_mib():.0f} MiB; {result.summary}"
            )


if __name__ == "__main__":
    main()
