"""Where the packing gap is: per cluster, hosts used against the cluster's own LP bound.

For bare-metal substrates of ``placement.py``'s synthetic fleet: each cluster's worker
hosts and its own bound (recorded as each pool is placed), which resource would bind
if pods were divisible (CPU, memory or pod slots, in nodes of one host model), how full
its nodes are in each, and, for the largest cluster, how full its nodes are by host
model (GPU hosts beside their GPU pods) and in deciles.

    .venv/bin/python benchmarks/packing_gap.py --kind baremetal-shared
    .venv/bin/python benchmarks/packing_gap.py --kind baremetal-dedicated --pods 1000000 --workloads 20000

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import placement as bench
from underlay.defaults.catalog import load_defaults
from underlay.pipeline import place as place_one
from underlay.placement.result import WORKER
from underlay.placement.substrates.baremetal import BaremetalBuild


def record_pools(rec: dict[int, dict[str, Any]]) -> None:
    """Wrap BaremetalBuild._workers to record each pool's bound and plain demand."""
    original = BaremetalBuild._workers

    def wrapped(self: BaremetalBuild, owner: int, templates: Any, batches: Any, *a: Any, **k: Any) -> None:  # fmt: skip
        before = self.lower_bound
        original(self, owner, templates, batches, *a, **k)
        t = templates[self.supply.choose(None) or 0]
        plain = [b for b in batches if not b.needs_gpu]
        need = (
            sum(b.replicas * b.cpu_milli for b in plain) / t.cpu_milli,
            sum(b.replicas * b.memory_mib for b in plain) / t.memory_mib,
            sum(b.replicas * b.pod_slots for b in plain) / t.pods,
        )
        rec[owner] = {"bound": self.lower_bound - before, "need": need, "batches": len(batches)}

    BaremetalBuild._workers = wrapped  # type: ignore[method-assign]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pods", type=int, default=100_000)
    ap.add_argument("--workloads", type=int, default=2_000)
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", default="baremetal-shared",
                    choices=["baremetal-dedicated", "baremetal-shared", "sandboxed"])  # fmt: skip
    ap.add_argument("--top", type=int, default=10)
    a = ap.parse_args()
    ns = argparse.Namespace(pods=a.pods, workloads=a.workloads, tenants=a.tenants, seed=a.seed,
                            gpu_share=0.01, no_spread=False, strategy=None)  # fmt: skip
    scenario = bench.build(ns)
    rec: dict[int, dict[str, Any]] = {}
    record_pools(rec)
    t0 = time.perf_counter()
    p = place_one(scenario, load_defaults(scenario.overrides), a.kind)
    print(f"placed in {time.perf_counter() - t0:.1f} s: hosts {len(p.hosts):,}, "
          f"bound {p.lower_bound_hosts:,} (GPU hosts bought for their CPU too: "
          f"{p.lower_bound_hosts_any_gpu:,})")  # fmt: skip
    n = p.nodes
    worker = n.role == WORKER
    rows = []
    for owner, r in rec.items():
        m = worker & (n.cluster == owner)
        used = [n.used_cpu[m].sum() / max(n.alloc_cpu[m].sum(), 1),
                n.used_mem[m].sum() / max(n.alloc_mem[m].sum(), 1),
                n.used_pods[m].sum() / max(n.alloc_pods[m].sum(), 1)]  # fmt: skip
        binds = ("cpu", "memory", "pod slots")[int(np.argmax(r["need"]))]
        rows.append((int(m.sum()) - r["bound"], owner, int(m.sum()), r["bound"], binds, r, used))
    rows.sort(key=lambda x: (-x[0], x[1]))
    by: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for gap, _, hosts, _, binds, _, _ in rows:
        by[binds][0] += 1
        by[binds][1] += hosts
        by[binds][2] += gap
    print(f"{len(rows)} clusters; worker hosts {sum(x[2] for x in rows):,}, "
          f"their bounds {sum(x[3] for x in rows):,}")  # fmt: skip
    for binds, (clusters, hosts, gap) in sorted(by.items()):
        print(
            f"  {binds} would bind: {clusters} clusters, {hosts:,} hosts, {gap:,} over their bounds"
        )
    print(f"{'over':>5} {'cluster':>7} {'hosts':>6} {'bound':>6}  {'binds':<9} "
          f"{'nodes of need cpu/mem/slots':>28}  used cpu/mem/slots")  # fmt: skip
    for gap, owner, hosts, bound, binds, r, used in rows[: a.top]:
        need = "/".join(f"{v:.1f}" for v in r["need"])
        print(
            f"{gap:>5} {owner:>7} {hosts:>6} {bound:>6}  {binds:<9} {need:>28}  "
            + "/".join(f"{u:.2f}" for u in used)
        )
    big = max(rec, key=lambda o: int((worker & (n.cluster == o)).sum()))
    m = worker & (n.cluster == big)
    model = np.asarray(p.hosts.model)[n.host[m]]
    print(f"largest cluster {big}: {int(m.sum()):,} nodes")
    for k in np.unique(model):
        mm = model == k
        print(f"  {p.host_models[k]}: {int(mm.sum()):,} nodes, slots used "
              f"{int(n.used_pods[m][mm].sum()):,} of {int(n.alloc_pods[m][mm].sum()):,}, "
              f"CPU {n.used_cpu[m][mm].sum() / n.alloc_cpu[m][mm].sum():.2f}")  # fmt: skip
    for res in ("cpu", "mem", "pods"):
        share = getattr(n, f"used_{res}")[m] / np.maximum(getattr(n, f"alloc_{res}")[m], 1)
        print(f"  {res:<4} deciles", np.round(np.quantile(share, np.linspace(0, 1, 11)), 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
