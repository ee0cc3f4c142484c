"""The replay's normal draws: Box–Muller against NumPy's ziggurat, in time and in figures.

The replay's Gaussian noise (each diurnal pod's own, each workload's common) became
Box–Muller in float32, block by block (``underlay.simulation.normals``), in place of
``Generator.standard_normal(dtype=float32)`` (NumPy's ziggurat). The same seed now gives
another realisation of the same model. This script measures both sides of that change in
one process:

1. **time**: one chunk of a million-pod fleet's own noise (``--rows`` noisy pods ×
   32 steps, float32, into a kept array), filled by each generator from the same seed,
   ``--repeat`` alternating runs each; the median ns per deviate and the ratio;
2. **figures**: the fleet of ``benchmarks/simulate.py`` (``scenario_dict``: same
   arguments; smaller by default) placed once per substrate and replayed with each
   generator under ``--seeds`` usage seeds (1, 2, ...): per figure, each generator's mean
   and standard deviation over the seeds, and the difference of the two means in units
   of its standard error (√(sd₁² + sd₂²) / √seeds): a generator that shifted a figure
   would show as |z| well above 2 (with 8 seeds, about one figure in fifteen reaches 2
   by chance).

    .venv/bin/python benchmarks/normal_draws.py                      # 100k pods x 1 day
    .venv/bin/python benchmarks/normal_draws.py --pods 1000000 --workloads 20000 --seeds 3
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from simulate import fleet_arguments, scenario_dict
from underlay.defaults.catalog import Defaults, load_defaults
from underlay.model.scenario import SUBSTRATE_KINDS, Scenario
from underlay.pipeline import place as place_one
from underlay.simulation import usage_models
from underlay.simulation.engine import simulate_substrate
from underlay.simulation.normals import fill_standard_normal
from underlay.simulation.results import SubstrateSimulation

Fill = Callable[[np.random.Generator, np.ndarray[Any, Any]], None]


def ziggurat(rng: np.random.Generator, out: np.ndarray[Any, Any]) -> None:
    """The previous generator: NumPy's float32 ziggurat, as the replay drew before."""
    rng.standard_normal(dtype=np.float32, out=out)


GENERATORS: dict[str, Fill] = {"box-muller": fill_standard_normal, "ziggurat": ziggurat}


def time_fills(rows: int, repeat: int) -> dict[str, float]:
    """Median ns per deviate of each generator filling a (rows × 32) float32 array."""
    out = np.zeros((rows, 32), np.float32)  # faulted in once, as the replay's kept arrays
    times: dict[str, list[float]] = {name: [] for name in GENERATORS}
    for _ in range(repeat):
        for name, fill in GENERATORS.items():
            rng = np.random.default_rng([1, 0])
            started = time.perf_counter()
            fill(rng, out)
            times[name].append((time.perf_counter() - started) / out.size * 1e9)
    return {name: statistics.median(t) for name, t in times.items()}


def figures(sim: SubstrateSimulation) -> dict[str, float]:
    """Fleet figures of a replay: what a decision reads."""
    t = sim.tenants
    demand = sum(x.demand_core_hours for x in t)
    return {
        "unmet % (fleet)": 100 * sum(x.unmet_core_hours for x in t) / max(demand, 1e-9),
        "unmet % (worst tenant)": max(x.unmet_percent for x in t),
        "throttled pod-h": sum(x.throttled_pod_hours for x in t),
        "OOM kills": float(sum(x.oom_kills for x in t)),
        "evictions": float(sum(x.evictions for x in t)),
        "risk % (worst)": max(x.risk_percent for x in t),
        "SLA met % (worst)": min(x.sla_attainment_percent for x in t),
        "latency p95 (worst)": max(x.latency_inflation_p95 for x in t),
        "CPU-ready % (worst)": max(x.cpu_ready_percent for x in t),
        "host util mean": float(np.mean(sim.host_utilisation_mean)),
        "SLATAH %": sim.slatah_percent,
    }


def replay(
    scenario: Scenario, defaults: Defaults, placement: Any, fill: Fill, seed: int
) -> dict[str, float]:
    """The substrate replayed with ``fill`` as the diurnal model's normal draws."""
    before = usage_models.DiurnalUsage.draw

    def draw(self: usage_models.DiurnalUsage, rng: np.random.Generator, out: Any) -> None:
        for values in out:
            fill(rng, values)

    usage_models.DiurnalUsage.draw = draw  # type: ignore[method-assign]
    try:
        return figures(simulate_substrate(scenario, defaults, placement, seed=seed))
    finally:
        usage_models.DiurnalUsage.draw = before  # type: ignore[method-assign]


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    fleet_arguments(ap, hours=24.0)
    ap.set_defaults(pods=100_000, workloads=2_000)
    ap.add_argument("--rows", type=int, default=645_000, help="noisy pods of the timed chunk")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=8, help="usage seeds per generator")
    ap.add_argument("--substrate", action="append", choices=SUBSTRATE_KINDS)
    args = ap.parse_args()
    print(
        f"normal draws benchmark: {args.rows:,} x 32 deviates timed, fleet pods={args.pods:,} "
        f"hours={args.hours:g} fleet seed={args.seed}, usage seeds 1-{args.seeds}; "
        f"numpy {np.__version__}",
        flush=True,
    )
    ns = time_fills(args.rows, args.repeat)
    print(
        f"time per deviate (median of {args.repeat}): box-muller {ns['box-muller']:.2f} ns, "
        f"ziggurat {ns['ziggurat']:.2f} ns: box-muller is "
        f"{ns['ziggurat'] / ns['box-muller']:.2f}x the ziggurat's speed",
        flush=True,
    )
    scenario = Scenario.model_validate(scenario_dict(args))
    defaults = load_defaults(scenario.overrides)
    gc.collect()
    gc.freeze()
    for kind in args.substrate or list(SUBSTRATE_KINDS):
        placement = place_one(scenario, defaults, kind)
        runs = {
            name: [
                replay(scenario, defaults, placement, fill, seed)
                for seed in range(1, args.seeds + 1)
            ]
            for name, fill in GENERATORS.items()
        }
        print(f"\n{kind}:")
        head = f"  {'figure':<24} {'box-muller mean (sd)':>24} {'ziggurat mean (sd)':>24} {'z':>6}"
        print(head + "\n  " + "-" * (len(head) - 2))
        for name in runs["box-muller"][0]:
            bm = [r[name] for r in runs["box-muller"]]
            zig = [r[name] for r in runs["ziggurat"]]
            (m1, s1), (m2, s2) = _mean_sd(bm), _mean_sd(zig)
            se = np.hypot(s1, s2) / np.sqrt(args.seeds)
            z = f"{(m1 - m2) / se:+.2f}" if se > 0 else ("0" if m1 == m2 else "inf")
            print(
                f"  {name:<24} {f'{m1:.4g} ({s1:.2g})':>24} {f'{m2:.4g} ({s2:.2g})':>24} {z:>6}",
                flush=True,
            )
    print(
        f"\n(mean and sd over usage seeds 1-{args.seeds}; z = (box-muller mean - ziggurat "
        "mean) / its standard error; 0 where every run gave the same figure)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
