"""A hybrid fleet at scale (issue 13): placement and the replay of one fleet in three parts
against the pure substrates of the same fleet.

Target: a 1M-pod hybrid fleet (three parts) places and simulates within 1.5x the time of
the slowest pure substrate on the same fleet.

The fleet is ``simulate.py``'s (``placement.py``'s synthetic scenario plus its usage
models, same seed) with one more substrate, ``three-parts``: regulated tenants on
dedicated bare metal, internal tenants on one shared bare-metal cluster, untrusted tenants
in KVM VMs (``cpu_overcommit`` as ``--vm-overcommit``). Each substrate runs in a fresh
subprocess (so ``ru_maxrss`` is its own) through ``simulate.py``'s ``run_one``: the
placement, then the replay, each timed. Printed: the times, hosts, peak RSS, and the
hybrid's place + simulate time over the slowest pure substrate's.

    .venv/bin/python benchmarks/hybrid_fleet.py                      # 1M pods, a day (288 steps)
    .venv/bin/python benchmarks/hybrid_fleet.py --hours 168          # a week
    .venv/bin/python benchmarks/hybrid_fleet.py --pods 100000 --workloads 2000

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import simulate as bench  # the benchmarks folder, just put on the path

HYBRID = "three-parts"
PURE = ("baremetal-dedicated", "baremetal-shared", "vm")
TARGET_RATIO = 1.5


def hybrid(overcommit: float) -> dict[str, Any]:
    """The hybrid substrate: one part per isolation class of the synthetic fleet."""
    vm = {"kind": "vm", "hypervisor": "kvm", "shapes": "auto", "cpu_overcommit": overcommit}
    return {
        "kind": "hybrid",
        "name": HYBRID,
        "parts": [
            {
                "name": "dedicated",
                "substrate": {"kind": "baremetal-dedicated"},
                "isolation": ["regulated"],
            },
            {
                "name": "shared",
                "substrate": {"kind": "baremetal-shared"},
                "isolation": ["internal"],
            },
            {"name": "vms", "substrate": vm, "isolation": ["untrusted"]},
        ],
    }


def child(args: argparse.Namespace) -> None:
    """Place and replay substrate ``args.one`` in this process; print the result as JSON."""
    pure_dict = bench.scenario_dict

    def with_hybrid(a: argparse.Namespace) -> dict[str, Any]:
        data = pure_dict(a)
        data["substrates"].append(hybrid(a.vm_overcommit))
        return data

    bench.scenario_dict = with_hybrid
    out = bench.run_one(args)
    print(json.dumps({k: v for k, v in out.items() if not k.startswith("profile")}))


def spawn(label: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        label,
        "--pods",
        str(args.pods),
        "--workloads",
        str(args.workloads),
        "--tenants",
        str(args.tenants),
        "--seed",
        str(args.seed),
        "--hours",
        str(args.hours),
        "--vm-overcommit",
        str(args.vm_overcommit),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{label}: exit {done.returncode}\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    bench.fleet_arguments(ap, hours=24.0)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per substrate")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.profile, args.ab = None, False  # (run_one reads both: no profile, no A/B here)
    if args.one:
        child(args)
        return 0
    print(
        f"hybrid fleet benchmark: pods={args.pods:,} workloads={args.workloads:,} "
        f"tenants={args.tenants} hours={args.hours:g} seed={args.seed}"
    )
    rows = {}
    for label in (*PURE, HYBRID):
        print(f"  {label} ...", flush=True)
        rows[label] = spawn(label, args)
    print(
        f"\n{'substrate':<22}{'place s':>9}{'simulate s':>12}{'total s':>9}{'hosts':>8}"
        f"{'placed':>11}{'RSS GiB':>9}"
    )
    for label, r in rows.items():
        total = r["place_s"] + r["simulate_s"]
        print(
            f"{label:<22}{r['place_s']:>9.1f}{r['simulate_s']:>12.1f}{total:>9.1f}"
            f"{r['hosts']:>8,}{r['placed']:>11,}{r['rss_peak_mib'] / 1024:>9.2f}"
        )
    slowest = max(PURE, key=lambda k: rows[k]["place_s"] + rows[k]["simulate_s"])
    worst = rows[slowest]["place_s"] + rows[slowest]["simulate_s"]
    mine = rows[HYBRID]["place_s"] + rows[HYBRID]["simulate_s"]
    ratio = mine / worst
    met = "yes" if ratio <= TARGET_RATIO else "NO"
    print(
        f"\nhybrid place + simulate {mine:.1f} s = {ratio:.2f}x the slowest pure substrate "
        f"({slowest}, {worst:.1f} s); target <= {TARGET_RATIO}x: {met}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
