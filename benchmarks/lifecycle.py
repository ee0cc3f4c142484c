"""The Kubernetes version lifecycle at fleet scale, on every substrate.

Issue target: 500 tenants with several clusters and workloads each, mixed versions, upgrade
cadences and support channels, a 3-year horizon, on all four substrates: ``analyse_lifecycle``
in <= 30 s in total on a 2-core machine.

What it does:

1. generates a synthetic scenario with a seeded NumPy generator (``--seed``): ``--tenants``
   tenants with 1-4 clusters of 2-6 workloads each (replicas heavy-tailed, 1-60; requests
   250m-4 cores, 512Mi-16Gi), wanted versions 1.30-1.36, cadences 3-24 months, channels
   upstream / eks / eks-extended / aks / gke, PodDisruptionBudgets on about half the
   workloads (a few that block drains: ``min_available`` = replicas), dedicated and hosted
   control planes; the fleet is sized by underlay (64-core / 512 GiB hosts);
2. places it on each substrate (timed apart: placement is not the lifecycle's cost), then
   times ``analyse_lifecycle`` on that placement, twice: the first run pays the calendar's
   one-off load, the second is the steady state; both are printed;
3. prints per substrate: seconds, upgrade events, node rolls, pods disrupted and waiting,
   drain hours, forced upgrades, months out of support (summed over tenants), versions per
   host, surge hosts needed (bare metal), clusters without room for surge VMs, workloads whose
   budget blocks drains, and events per second; then the total against the target.

    .venv/bin/python benchmarks/lifecycle.py
    .venv/bin/python benchmarks/lifecycle.py --tenants 2000 --parallel 4

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from underlay.analysis.lifecycle import analyse_lifecycle
from underlay.defaults.catalog import load_defaults
from underlay.defaults.releases import release_calendar
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.pipeline import place as place_one

TARGET_SECONDS = 30.0
VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36")
CADENCES = (3, 4, 6, 12, 18, 24)
CHANNELS = ("upstream", "eks", "eks-extended", "aks", "gke")
CPU = ("250m", "500m", "1", "2", "4")


def generate(tenants: int, seed: int, parallel: int, spare: int) -> dict[str, Any]:
    """The synthetic scenario as a plain dict (see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(tenants):
        clusters = []
        for c in range(int(rng.integers(1, 5))):
            workloads = []
            for w in range(int(rng.integers(2, 7))):
                replicas = int(min(60, max(1, round(rng.lognormal(1.3, 0.9)))))
                cpu = str(rng.choice(CPU))
                workload: dict[str, Any] = {
                    "name": f"w{w}",
                    "replicas": replicas,
                    "requests": {
                        "cpu": cpu,
                        "memory": f"{int(rng.choice([512, 2048, 8192, 16384]))}Mi",
                    },
                }
                u = rng.random()
                if u < 0.02:  # a budget nobody can satisfy: blocks every drain
                    workload["disruption_budget"] = {"min_available": replicas}
                elif u < 0.30:
                    workload["disruption_budget"] = {"max_unavailable": 1}
                elif u < 0.50 and replicas > 1:
                    workload["disruption_budget"] = {"min_available": replicas - 1}
                workloads.append(workload)
            clusters.append(
                {
                    "name": f"c{c}",
                    "control_plane": "hosted" if rng.random() < 0.5 else "dedicated",
                    "workloads": workloads,
                }
            )
        out.append(
            {
                "name": f"t{t:04d}",
                "kubernetes_version": str(rng.choice(VERSIONS)),
                "upgrade_cadence_months": int(rng.choice(CADENCES)),
                "support": str(rng.choice(CHANNELS)),
                "clusters": clusters,
            }
        )
    return {
        "name": "lifecycle-fleet",
        "hardware": {
            "host_models": [{"name": "cpu64", "cores": 64, "memory": "512Gi", "price_usd": 14000}]
        },
        "substrates": [{"kind": k} for k in SUBSTRATE_KINDS],
        "tenants": out,
        "lifecycle": {
            "horizon_years": 3,
            "nodes_in_parallel": parallel,
            "spare_hosts_per_cluster": spare,
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--parallel", type=int, default=1, help="lifecycle.nodes_in_parallel")
    ap.add_argument("--spare", type=int, default=0, help="lifecycle.spare_hosts_per_cluster")
    args = ap.parse_args()

    t0 = time.perf_counter()
    scenario = Scenario.model_validate(generate(args.tenants, args.seed, args.parallel, args.spare))
    defaults = load_defaults(scenario.overrides)
    clusters = sum(len(t.clusters) for t in scenario.tenants)
    workloads = sum(len(c.workloads) for t in scenario.tenants for c in t.clusters)
    pods = sum(w.replicas for t in scenario.tenants for c in t.clusters for w in c.workloads)
    print(
        f"scenario: {len(scenario.tenants)} tenants, {clusters} clusters, {workloads} workloads, "
        f"{pods} pods; built in {time.perf_counter() - t0:.1f} s"
    )
    t0 = time.perf_counter()
    release_calendar()
    print(f"release calendar loaded in {1000 * (time.perf_counter() - t0):.1f} ms")

    header = (
        f"{'substrate':<20} {'place s':>8} {'life s':>7} {'again s':>8} {'hosts':>6} "
        f"{'events':>7} {'rolls':>6} {'pods disr.':>11} {'waiting':>8} {'drain h':>8} "
        f"{'forced':>7} {'mo. out':>8} {'ver/host':>8} {'surge':>6} {'no room':>7} {'blocked':>7} {'events/s':>9}"
    )
    print(header)
    print("-" * len(header))
    total = 0.0
    for kind in SUBSTRATE_KINDS:
        t0 = time.perf_counter()
        placement = place_one(scenario, defaults, kind)
        t_place = time.perf_counter() - t0
        t0 = time.perf_counter()
        life = analyse_lifecycle(scenario, defaults, placement)
        t_life = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = analyse_lifecycle(scenario, defaults, placement)
        t_again = time.perf_counter() - t0
        assert again == life, "same inputs gave a different result"
        total += t_life
        print(
            f"{kind:<20} {t_place:>8.2f} {t_life:>7.2f} {t_again:>8.2f} {len(placement.hosts):>6} "
            f"{life.upgrade_events:>7} {life.node_rolls:>6} {life.pods_disrupted:>11} "
            f"{life.pods_waiting:>8} {life.drain_hours:>8.0f} {life.forced_upgrades:>7} "
            f"{life.months_out_of_support:>8.0f} {life.versions_per_host_max:>8} "
            f"{life.surge_hosts_needed:>6} {life.clusters_without_surge_room:>7} "
            f"{len(life.blocked_drains):>7} "
            f"{life.upgrade_events / max(t_life, 1e-9):>9.0f}"
        )
    verdict = "met" if total <= TARGET_SECONDS else "NOT met"
    print(
        f"\nanalyse_lifecycle, all four substrates: {total:.2f} s "
        f"(target <= {TARGET_SECONDS:.0f} s: {verdict}; {total / TARGET_SECONDS:.3f} of the budget)"
    )


if __name__ == "__main__":
    main()
